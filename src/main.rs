#![forbid(unsafe_code)]
//! The `reseal` command: parse the flags, hand the command to its module under `cli/`,
//! and exit with its code (README.md, "Exit codes").

mod cli;

use std::process::ExitCode;

use clap::Parser as _;
use reseal::error::{Kind, exit};

use cli::args::{Cli, Command};
use cli::failed;

fn main() -> ExitCode {
    cli::without_error_backtraces();
    cli::harden();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
    };
    cli::init_logging(matches!(
        cli.command,
        Command::Serve(_) | Command::Milter { .. } | Command::Agent(_)
    ));
    let code = match cli.command {
        Command::Process(args) => cli::process::run(&args).unwrap_or_else(|f| {
            // Refusals are reported inside; what is left is the gateway's own set-up.
            eprintln!("{}", reseal::submission::render(&f, None).one_line());
            reseal::submission::exit_code(&f)
        }),
        Command::Serve(args) => cli::serve::serve(&args).unwrap_or_else(|f| failed("serve", &f)),
        Command::Milter { listen, settings } => {
            cli::serve::milter(&listen, &settings).unwrap_or_else(|f| failed("milter", &f))
        }
        Command::Agent(args) => cli::serve::agent(&args).unwrap_or_else(|f| failed("agent", &f)),
        Command::HashPassword => {
            cli::serve::hash_password().unwrap_or_else(|f| failed("hash-password", &f))
        }
        Command::Keys(cmd) => cli::keys::run(cmd).unwrap_or_else(|f| failed("keys", &f)),
        Command::Verify(args) => cli::verify::run(&args).unwrap_or_else(|f| {
            // A file that is not what it should be is bad input (65, naming the file);
            // anything else is a usage error.
            failed("verify", &f);
            if f.kind == Kind::Malformed {
                exit::DATAERR
            } else {
                2
            }
        }),
        Command::Quarantine(cmd) => {
            cli::quarantine::run(cmd).unwrap_or_else(|f| failed("quarantine", &f))
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
