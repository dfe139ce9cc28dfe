//! `reseal quarantine`: the messages a service held (list, release, drop). A release
//! runs the message through the pipeline again with the holding service bypassed, out
//! of band (RFC 4902 §3.2).

use std::io::Write as _;

use reseal::error::exit;
use reseal::sanitize::log_text;
use reseal::{Envelope, Failure, Gateway};

use super::args::QuarantineCommand;
use super::settings::Settings;

pub fn run(cmd: QuarantineCommand) -> Result<i32, Failure> {
    match cmd {
        QuarantineCommand::List { settings, json } => {
            let config = Settings::resolve(&settings)?.config;
            let held = reseal::quarantine::list(&config.quarantine_dir)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&held).unwrap_or_default()
                );
            } else {
                for h in held {
                    // Addresses and reasons came from outside: cleaned for the terminal.
                    println!(
                        "{}  {}  from <{}> to <{}>  {} ({})",
                        log_text(&h.id),
                        log_text(&h.time),
                        log_text(&h.mail_from),
                        log_text(&h.rcpts.join(">, <")),
                        log_text(&h.reason),
                        log_text(&h.service)
                    );
                }
            }
            Ok(exit::OK)
        }
        QuarantineCommand::Drop { settings, id } => {
            let config = Settings::resolve(&settings)?.config;
            reseal::quarantine::drop_held(&config.quarantine_dir, &id)?;
            println!("dropped {id}");
            Ok(exit::OK)
        }
        QuarantineCommand::Release { settings, id } => {
            let settings = Settings::resolve(&settings)?;
            let (held, message) = reseal::quarantine::get(&settings.config.quarantine_dir, &id)?;
            let keystore = settings.keystore_if_present(false)?;
            let config = settings.config;
            let env = Envelope::new(&held.mail_from, &held.rcpts)?;
            let trace = reseal::trace::Trace::new(&config)?;
            let qdir = config.quarantine_dir.clone();
            // The operator's release is an out-of-band bypass of the holding service
            // (RFC 4902 §3.2); every other service still runs.
            let mut gateway = Gateway::new(config, keystore)?;
            gateway.services.retain(|s| s.id != held.service);
            let outcome = gateway.process(
                &env,
                &message,
                &trace,
                &reseal::pipeline::Submitter {
                    admitted: true,
                    bypass: Default::default(),
                    may_sign: true,
                },
            )?;
            std::io::stdout()
                .lock()
                .write_all(&outcome.message)
                .map_err(|e| Failure::temporary(e.to_string()))?;
            reseal::quarantine::drop_held(&qdir, &id)?;
            Ok(exit::OK)
        }
    }
}
