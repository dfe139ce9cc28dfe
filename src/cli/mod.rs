//! The `reseal` command line, ripgrep style: `main` parses ([`args`]) and dispatches;
//! [`settings`] resolves flags, environment and configuration in one order; each command
//! lives in its own module. Failures become exit codes and messages at this edge, by
//! the rules of `reseal::error` (README.md, "Exit codes").

pub mod args;
pub mod keys;
pub mod process;
pub mod quarantine;
pub mod serve;
pub mod settings;
pub mod verify;

/// Logging to stderr, filtered by `RESEAL_LOG`. Long-running modes log at info; in pipe
/// mode stderr carries the one-line reply, so only errors by default.
pub fn init_logging(daemon: bool) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESEAL_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if daemon { "info" } else { "error" })
            }),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a log file or the journal gets plain
        // text (and `key=value` fields that tools can match).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // A panic inside the OpenPGP library on hostile input is caught and answered as a
    // refusal (unwrap::openpgp::guarded); keep it out of the one-line stderr reply.
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| l.file().to_owned())
            .unwrap_or_default();
        if loc.contains("sequoia-openpgp") || loc.contains("buffered-reader") {
            tracing::debug!("library panic caught: {info}");
        } else {
            tracing::error!("internal error: {info}");
        }
    }));
}

/// A command's failure on stderr, `reseal COMMAND: text`, and its exit code.
pub fn failed(command: &str, f: &reseal::Failure) -> i32 {
    eprintln!("reseal {command}: {}", f.text);
    reseal::submission::exit_code(f)
}

/// Makes sure no library error captures a backtrace, whatever `RUST_BACKTRACE` says.
///
/// sequoia-openpgp reports parse failures as `anyhow::Error`, and anyhow captures a
/// `std::backtrace::Backtrace` for each one when `RUST_LIB_BACKTRACE` (or, failing that,
/// `RUST_BACKTRACE`) is set and not "0". Sequoia's junk recovery builds one or two errors
/// per byte it skips, so a 17 KB encrypted message found by the fuzzer (`openpgp_packets`,
/// tests/corpus/fuzz-regressions/) made 20 s of CPU with backtraces on and 0.25 s
/// without: a denial of service wherever an operator leaves `RUST_BACKTRACE=1` set.
/// The variable can only be set for a process that has not started yet (`set_var` is
/// unsafe), so we re-execute ourselves once with `RUST_LIB_BACKTRACE=0`: same pid, same
/// arguments and descriptors. Panic backtraces still follow `RUST_BACKTRACE`.
pub fn without_error_backtraces() {
    let lib = std::env::var_os("RUST_LIB_BACKTRACE");
    let wanted = match &lib {
        Some(v) => v != "0",
        None => std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0"),
    };
    if !wanted {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    use std::os::unix::process::CommandExt as _;
    // `exec` only returns on failure; then we go on with backtraces as they were.
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env("RUST_LIB_BACKTRACE", "0")
        .exec();
    eprintln!("reseal: could not re-execute without error backtraces: {err}");
}

/// Process hardening for every command, before anything else runs: no core dumps, and
/// not dumpable (no ptrace by the same user), so that key material never lands in a core
/// file or another process (SECURITY.md, invariant 8).
pub fn harden() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
