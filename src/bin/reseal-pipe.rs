#![forbid(unsafe_code)]
//! `reseal-pipe`: `reseal process` for Postfix's pipe(8), made to start fast.
//!
//! It takes the arguments of `reseal process`. When `reseal agent` listens for the
//! configuration they name, it hands the message to the agent and prints what `reseal
//! process` would print, with the same exit code. Otherwise, and for anything it does not
//! understand itself, it executes `reseal process` (the `reseal` beside it) with the same
//! arguments, before it has read any input. It parses its arguments and the
//! configuration and opens no keystore, so it starts in about half the time of the
//! whole program (docs/performance.md), which pipe mode pays for every message.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

/// The arguments of `reseal process` this program reads; anything else goes to
/// `reseal process` untouched.
#[derive(Default)]
struct Args {
    config: Option<PathBuf>,
    keystore: Option<PathBuf>,
    mail_from: Option<String>,
    rcpts: Vec<String>,
}

fn parse(args: &[OsString]) -> Option<Args> {
    let mut out = Args::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str()?;
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (a, None),
        };
        let mut value = || -> Option<String> {
            match &inline {
                Some(v) => Some(v.clone()),
                None => it.next()?.to_str().map(str::to_owned),
            }
        };
        match name {
            "--config" => out.config = Some(PathBuf::from(value()?)),
            "--keystore" => out.keystore = Some(PathBuf::from(value()?)),
            // The agent holds the keystore unlocked: the passphrase is not needed, but
            // `reseal process` takes the flag, so it is accepted.
            "--passphrase-file" => {
                value()?;
            }
            "--mail-from" => out.mail_from = Some(value()?),
            "--rcpt" => out.rcpts.push(value()?),
            _ => return None,
        }
    }
    out.mail_from.as_ref()?;
    Some(out)
}

/// Replaces this process with `reseal process ARGS`.
fn exec_process(args: &[OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    let reseal = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("reseal")))
        .unwrap_or_else(|| PathBuf::from("reseal"));
    let err = std::process::Command::new(&reseal)
        .arg("process")
        .args(args)
        .exec();
    eprintln!(
        "451 4.3.0 reseal-pipe: cannot run {}: {err}",
        reseal.display()
    );
    ExitCode::from(75)
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some(parsed) = parse(&args) else {
        return exec_process(&args);
    };
    // Everything that can go wrong before the message is read is left to `reseal
    // process`, which reports it with its trace.
    let Ok((config, _)) =
        reseal::config::resolve(parsed.config.as_deref(), parsed.keystore.as_deref())
    else {
        return exec_process(&args);
    };
    let mail_from = parsed.mail_from.unwrap_or_default();
    let Ok(env) = reseal::Envelope::new(&mail_from, &parsed.rcpts) else {
        return exec_process(&args);
    };
    let Some(stream) = reseal::agent::connect(&config.data_dir) else {
        return exec_process(&args);
    };
    // From here on the input is being read: no second attempt, whatever happens.
    let max = config.max_message_bytes;
    let mut input = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        eprintln!("451 4.3.0 cannot read the message: {e}");
        return ExitCode::from(75);
    }
    match reseal::agent::request(stream, &config.keystore, &env, &input, max) {
        Ok((answer, message)) => {
            if let Some(r) = &answer.reply {
                eprintln!("{}", reseal::sanitize::log_text(r));
            }
            if answer.exit == 0 && !message.is_empty() {
                let mut out = std::io::stdout().lock();
                if let Err(e) = out.write_all(&message).and_then(|()| out.flush()) {
                    eprintln!("451 4.3.0 cannot write the message: {e}");
                    return ExitCode::from(75);
                }
            }
            ExitCode::from(u8::try_from(answer.exit).unwrap_or(75))
        }
        Err(f) => {
            eprintln!("{}", reseal::submission::render(&f, None).one_line());
            ExitCode::from(u8::try_from(reseal::submission::exit_code(&f)).unwrap_or(75))
        }
    }
}
