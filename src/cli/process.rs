//! `reseal process`: one message through the pipeline, from stdin to stdout, for
//! Postfix's pipe(8) and for trying the gateway by hand. A refusal is written to stderr
//! as the SMTP reply the gateway would have sent, with its trace, and the exit code
//! follows sysexits (README.md, "Exit codes").

use std::io::{Read as _, Write as _};

use reseal::error::exit;
use reseal::{Envelope, Failure, Gateway};

use super::args::ProcessArgs;
use super::settings::Settings;

/// `reseal process`: one message from stdin to stdout.
pub fn run(args: &ProcessArgs) -> Result<i32, Failure> {
    let settings = Settings::resolve(&args.settings)?;
    let trace = reseal::trace::Trace::new(&settings.config)?;
    let report = |f: &Failure| {
        // The SMTP reply we would have sent, with trace (RFC 4902 §3.1).
        eprintln!("{}", reseal::submission::render(f, Some(&trace)).one_line());
        reseal::submission::exit_code(f)
    };
    let env = match Envelope::new(&args.mail_from, &args.rcpts) {
        Ok(e) => e,
        Err(f) => return Ok(report(&f)),
    };
    let max = settings.config.max_message_bytes;
    let mut input = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        return Ok(report(&Failure::temporary(format!(
            "cannot read the message: {e}"
        ))));
    }
    // `reseal agent` holds the keystore unlocked: no key derivation per message.
    if !args.no_agent {
        let config = &settings.config;
        match reseal::agent::call(&config.data_dir, &config.keystore, &env, &input, max) {
            Ok(Some((answer, message))) => {
                if let Some(r) = &answer.reply {
                    eprintln!("{}", reseal::sanitize::log_text(r));
                }
                if answer.exit == exit::OK && !message.is_empty() {
                    return Ok(write_out(&message).unwrap_or_else(|f| report(&f)));
                }
                return Ok(answer.exit);
            }
            Ok(None) => {}
            Err(f) => return Ok(report(&f)),
        }
    }
    let keystore = match settings.keystore_if_present(false) {
        Ok(k) => k,
        Err(f) => return Ok(report(&f)),
    };
    let config = settings.config;
    let gateway = Gateway::new(config, keystore)?;
    // The same submission policy as serve and milter: the local caller is admitted
    // when `admission.process_admitted` says so (crate::submission).
    let policy = reseal::submission::Policy::with_users(&gateway.config, Vec::new());
    let submitter = policy
        .admit(&reseal::submission::Client {
            pipe: true,
            ..Default::default()
        })
        .submitter(&env.mail_from, Default::default());
    match gateway.process(&env, &input, &trace, &submitter) {
        Ok(outcome) if outcome.held.is_some() => {
            eprintln!("{}", reseal::submission::held(&trace).one_line());
            Ok(exit::OK)
        }
        Ok(outcome) => Ok(write_out(&outcome.message).unwrap_or_else(|f| report(&f))),
        Err(f) => Ok(report(&f)),
    }
}

/// Writes the processed message to stdout.
fn write_out(message: &[u8]) -> Result<i32, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(message)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::temporary(format!("cannot write the message: {e}")))?;
    Ok(exit::OK)
}
