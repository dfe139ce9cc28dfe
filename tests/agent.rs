#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `reseal agent`: pipe mode without a key derivation per message (SECURITY.md, "The
//! agent"). `process` uses the agent when it listens in the data folder, needs no
//! passphrase then, answers exactly as it would alone, and falls back to opening the
//! keystore itself when the agent is gone. The agent serves only its own user and only
//! the keystore it holds.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(f: &Fixture, data: &Path) -> Agent {
        let mut c = reseal();
        c.args(["agent", "--keystore"])
            .arg(f.keystore())
            .env("RESEAL_DATA_DIR", data);
        daemon_output(&mut c, "agent");
        let child = c.spawn().unwrap();
        let socket = data.join("agent.sock");
        let t = Instant::now();
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the agent never listened on {}",
                socket.display()
            );
            std::thread::yield_now();
        }
        Agent { child, socket }
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        )
        .unwrap();
        let status = self.child.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `reseal process` for alice → bob with the fixture's keystore and `data` as the data
/// folder; no passphrase unless `pass`.
fn process(
    f: &Fixture,
    data: &Path,
    msg: &[u8],
    pass: bool,
    extra: &[&str],
) -> std::process::Output {
    let mut c = reseal();
    if !pass {
        c.env_remove("RESEAL_PASSPHRASE");
    }
    c.env("RESEAL_DATA_DIR", data)
        .args(["process", "--keystore"])
        .arg(f.keystore())
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ])
        .args(extra);
    run(c, msg)
}

#[test]
fn process_uses_the_agent_and_falls_back_without_it() {
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let agent = Agent::start(&f, &data);
    // No passphrase: only the agent can have unlocked the keystore.
    let out = process(&f, &data, &read("msg-plain.eml"), false, &[]);
    ok(&out, "process through the agent");
    let signed = openssl_verify(&openssl_decrypt(&out.stdout, "bob").unwrap()).unwrap();
    assert!(contains(&signed, b"Content-Type"));
    // Forced past the agent, the passphrase is needed again.
    let out = process(&f, &data, &read("msg-plain.eml"), false, &["--no-agent"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    // SIGTERM: the agent exits 0 and takes its socket with it; process unlocks itself.
    assert_eq!(agent.stop().code(), Some(0));
    assert!(!data.join("agent.sock").exists());
    let out = process(&f, &data, &read("msg-plain.eml"), false, &[]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    ok(
        &process(&f, &data, &read("msg-plain.eml"), true, &[]),
        "process alone",
    );
}

#[test]
fn refusals_through_the_agent_are_the_refusals_of_process_alone() {
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let _agent = Agent::start(&f, &data);
    for (name, code) in [
        ("openssl-enc-garbage.eml", 65),
        ("openssl-enc-gcm-tampered-tag.eml", 77),
        ("openssl-signed-tampered-sig.eml", 77),
    ] {
        let via = process(&f, &data, &read(name), false, &[]);
        let alone = process(&f, &data, &read(name), true, &["--no-agent"]);
        assert_eq!(via.status.code(), Some(code), "{name}: {}", stderr(&via));
        assert_eq!(
            alone.status.code(),
            Some(code),
            "{name}: {}",
            stderr(&alone)
        );
        assert_eq!(
            reply_without_trace(&via),
            reply_without_trace(&alone),
            "{name}"
        );
        assert!(stderr(&via).contains("[OPES "), "{}", stderr(&via));
    }
}

#[test]
fn the_agent_serves_only_its_keystore_and_its_user() {
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let agent = Agent::start(&f, &data);
    // A process that meant another keystore is refused, not served with this one.
    let other = Fixture::new();
    let mut c = reseal();
    c.env_remove("RESEAL_PASSPHRASE")
        .env("RESEAL_DATA_DIR", &data)
        .args(["process", "--keystore"])
        .arg(other.keystore())
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ]);
    let out = run(c, &read("msg-plain.eml"));
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("agent: it holds the keystore"),
        "{}",
        stderr(&out)
    );

    // Another user: let `nobody` reach the socket through the file system, so that only
    // the peer-credential check stands in the way. The agent closes the connection
    // without a word; its own user (root here) gets an answer to the same bytes.
    use std::os::unix::fs::PermissionsExt as _;
    for p in [f.dir.path(), data.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    // Prints how many bytes of answer came; a reset is no answer.
    let probe = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ntry:\n  s.sendall(b'{}\\n')\n  n=len(s.recv(4096))\nexcept (ConnectionResetError, BrokenPipeError):\n  n=0\nprint(n)";
    let answered = |as_nobody: bool| -> usize {
        let mut c = if as_nobody {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "/usr/bin/python3",
            ]);
            c
        } else {
            Command::new("/usr/bin/python3")
        };
        let out = c
            .args(["-c", probe])
            .arg(&agent.socket)
            .stderr(Stdio::piped())
            .output()
            .expect("python3 and setpriv (util-linux) run");
        assert!(
            out.status.success(),
            "probe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    assert!(answered(false) > 0, "the agent's own user gets an answer");
    assert_eq!(answered(true), 0, "another user got an answer");
}

/// `reseal-pipe`, the fast-starting `reseal process` for pipe(8): through the agent it
/// needs no passphrase and answers as `process` does; without an agent, or with
/// arguments it does not read itself, it is `reseal process`.
#[test]
fn reseal_pipe_uses_the_agent_or_becomes_process() {
    let f = Fixture::new();
    let data = f.dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let pipe = |msg: &[u8], pass: bool, extra: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_reseal-pipe"));
        c.env("RESEAL_PASSPHRASE", PASS);
        if !pass {
            c.env_remove("RESEAL_PASSPHRASE");
        }
        c.env("RESEAL_DATA_DIR", &data)
            .arg("--keystore")
            .arg(f.keystore())
            .args([
                "--mail-from",
                "alice@example.com",
                "--rcpt",
                "bob@example.org",
            ])
            .args(extra);
        run(c, msg)
    };
    let agent = Agent::start(&f, &data);
    // It talks to the agent itself: while it waits for its input it is still
    // reseal-pipe, not a `reseal process` it became.
    let mut child = Command::new(env!("CARGO_BIN_EXE_reseal-pipe"))
        .env_remove("RESEAL_PASSPHRASE")
        .env("RESEAL_DATA_DIR", &data)
        .arg("--keystore")
        .arg(f.keystore())
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let t = Instant::now();
    // Blocked in read(0, ...): /proc/PID/syscall starts with "0 0x0".
    while !std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .unwrap_or_default()
        .starts_with("0 0x0 ")
    {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "never waited for input"
        );
        std::thread::yield_now();
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        exe.file_name().unwrap(),
        "reseal-pipe",
        "it became {}",
        exe.display()
    );
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&read("msg-plain.eml")).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    ok(&out, "reseal-pipe through the agent");
    openssl_verify(&openssl_decrypt(&out.stdout, "bob").unwrap()).unwrap();
    // A refusal: the code and the reply of `reseal process` alone.
    let via = pipe(&read("openssl-enc-gcm-tampered-tag.eml"), false, &[]);
    let alone = process(
        &f,
        &data,
        &read("openssl-enc-gcm-tampered-tag.eml"),
        true,
        &["--no-agent"],
    );
    assert_eq!(via.status.code(), Some(77), "{}", stderr(&via));
    assert_eq!(reply_without_trace(&via), reply_without_trace(&alone));
    // An argument it does not read itself: it is `reseal process`, which refuses it.
    let out = pipe(b"", false, &["--bogus"]);
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    // No agent: `reseal process`, which needs the passphrase.
    assert_eq!(agent.stop().code(), Some(0));
    let out = pipe(&read("msg-plain.eml"), false, &[]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    ok(
        &pipe(&read("msg-plain.eml"), true, &[]),
        "reseal-pipe without an agent",
    );
}
