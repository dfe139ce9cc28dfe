#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! What the logs look like to an operator whose logs go to a file or the journal: plain
//! text (no terminal colour codes, which would also split `key=value` fields), and at
//! `reseal::pipeline=debug` one line per message with the pipeline's own CPU time
//! (docs/performance.md reads it).

mod common;

use common::*;

#[test]
fn logs_are_plain_text_with_the_pipeline_cpu_per_message() {
    let f = Fixture::new();
    let mut c = reseal();
    c.env("RESEAL_LOG", "warn,reseal::pipeline=debug")
        .arg("process")
        .arg("--no-agent")
        .arg("--keystore")
        .arg(f.keystore())
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ]);
    let out = run(c, &read("msg-plain.eml"));
    ok(&out, "reseal process");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains('\u{1b}'), "escape codes in the log: {log:?}");
    let line = log
        .lines()
        .find(|l| l.contains("pipeline CPU"))
        .unwrap_or_else(|| panic!("no pipeline CPU line in {log:?}"));
    let cpu: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cpu_us="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no cpu_us=N field in {line:?}"));
    assert!(cpu > 0, "{line}");
    assert!(line.contains("ok=true"), "{line}");
}
