#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `reseal serve`: the ESMTP dialog, before-queue refusals with trace, the durable spool
//! (kill -9 and restart), relay with DSN and XOPES forwarding, NDRs, and bypass in the
//! dialog. The next hop is a small SMTP sink in this test.

mod common;
mod smtp_support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use smtp_support::*;

/// The start of the reply to a message the gateway took (RFC 5321 §4.2, RFC 3463).
const QUEUED: &str = "250 2.0.0 Ok: queued as ";

#[test]
fn dialog_processes_spools_and_relays() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    let ehlo = c.cmd("EHLO client.example");
    for ext in [
        "PIPELINING",
        "SIZE ",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "XOPES",
    ] {
        assert!(ehlo.contains(ext), "EHLO lacks {ext}: {ehlo}");
    }
    assert!(!ehlo.contains("AUTH"), "no AUTH without TLS: {ehlo}");
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("openssl-sign-then-enc-gcm.eml"),
        " RET=HDRS ENVID=env+2B1",
    );
    assert!(r.starts_with(QUEUED), "{r}");
    c.cmd("QUIT");
    let got = sink.wait(1, 20);
    let m = &got[0];
    assert!(m.mail.contains("<alice@example.com>"), "{}", m.mail);
    assert!(
        m.mail.contains("RET=HDRS") && m.mail.contains("ENVID=env+2B1"),
        "DSN kept: {}",
        m.mail
    );
    assert!(m.rcpts[0].contains("<bob@example.org>"));
    assert!(contains(
        &m.data,
        b"OPES-System: https://gw.example.com/opes; id="
    ));
    let dec = openssl_decrypt(&m.data, "bob").unwrap();
    openssl_verify(&dec).unwrap();
}

#[test]
fn refusals_happen_in_the_dialog_with_trace() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let dlp = "[[service]]\nid = \"https://gw.example.com/opes/dlp\"\nkind = \"dlp\"\naction = \"reject\"\npatterns = [\"builtin:card-number\"]\nconsent = \"sender\"\nbypassable = false\n";
    let srv = Server::start(&f, free_port(), &format!("{}{dlp}", relay_to(sink.port)));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let msg = String::from_utf8(read("msg-plain.eml")).unwrap().replace(
        "Please transfer",
        "Card 4111 1111 1111 1111. Please transfer",
    );
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        msg.as_bytes(),
        "",
    );
    assert!(r.starts_with("554 5.7.1 "), "{r}");
    assert!(
        r.contains("[OPES https://gw.example.com/opes; id=")
            && r.contains("policy=https://gw.example.com/privacy")
            && r.contains("service=https://gw.example.com/opes/dlp"),
        "{r}"
    );
    // Uniform crypto refusal.
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("openssl-enc-gcm-tampered-tag.eml"),
        "",
    );
    assert!(
        r.starts_with("554 5.7.5 The message could not be decrypted or failed an integrity check"),
        "{r}"
    );
    // Limits.
    let r = c.cmd("MAIL FROM:<alice@example.com> SIZE=999999999999");
    assert!(r.starts_with("552 5.3.4 "), "{r}");
    let r = c.cmd(&format!("NOOP {}", "x".repeat(10_000)));
    assert!(r.starts_with("500 5.5.6 Line too long"), "{r}");
    c.cmd("QUIT");
    // Nothing refused may be relayed: a last, acceptable message goes through the same
    // spool and relay; once it is delivered and the spool is empty, the sink holds
    // everything the gateway ever relayed.
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("msg-plain.eml"),
        "",
    );
    assert!(r.starts_with(QUEUED), "{r}");
    sink.wait(1, 30);
    wait_spool_empty(f.dir.path());
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "only the acceptable message was relayed");
    assert!(!contains(&got[0].data, b"4111 1111"));
}

#[test]
fn acknowledged_mail_survives_kill_9_and_an_absent_next_hop() {
    let f = Fixture::new();
    let hop = free_port(); // nothing listens there yet
    let port = free_port();
    let srv = Server::start(&f, port, &relay_to(hop));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    for _ in 0..3 {
        let r = c.send(
            "alice@example.com",
            &["bob@example.org"],
            &read("msg-plain.eml"),
            "",
        );
        assert!(r.starts_with(QUEUED), "{r}");
    }
    drop(c);
    srv.kill9();
    let spool = f.dir.path().join("data/spool");
    assert_eq!(count_json(&spool), 3, "acknowledged messages are on disk");
    // The next hop comes back, and so does the gateway.
    let sink = Sink::start_on(hop, false, &[]);
    let _srv = Server::start(&f, port, &relay_to(hop));
    let got = sink.wait(3, 30);
    assert_eq!(got.len(), 3);
    for m in &got {
        openssl_decrypt(&m.data, "bob").unwrap();
    }
    wait_spool_empty(f.dir.path());
    assert_eq!(sink.got.lock().unwrap().len(), 3, "each delivered once");
}

#[test]
fn permanent_failure_at_the_next_hop_bounces_with_trace() {
    let f = Fixture::new();
    let sink = Sink::start(false, &["nobody@example.org"]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.send(
        "alice@example.com",
        &["nobody@example.org"],
        &read("msg-plain.eml"),
        "",
    );
    assert!(r.starts_with(QUEUED), "{r}");
    let got = sink.wait(1, 20);
    let ndr = &got[0];
    assert!(
        ndr.mail.starts_with("MAIL FROM:<> "),
        "an NDR is sent from the null sender: {}",
        ndr.mail
    );
    assert!(
        ndr.rcpts[0].contains("<alice@example.com>"),
        "to the reverse path"
    );
    let text = String::from_utf8_lossy(&ndr.data);
    assert!(
        text.contains("multipart/report; report-type=delivery-status"),
        "{text}"
    );
    assert!(text.contains("message/delivery-status"));
    assert!(
        text.contains("X-OPES-System: https://gw.example.com/opes; id="),
        "{text}"
    );
    assert!(
        text.contains("Final-Recipient: rfc822; nobody@example.org")
            && text.contains("Status: 5.1.1")
    );
    assert!(
        text.contains("OPES System: https://gw.example.com/opes"),
        "human part names the system"
    );
    // Without RET=FULL only the header comes back.
    assert!(text.contains("text/rfc822-headers") && text.contains("Subject: Quarterly figures"));
    assert!(!text.contains("transfer 100 EUR"), "headers only");
}

#[test]
fn bypass_in_the_dialog_for_admitted_clients_only_and_forwarded() {
    let f = Fixture::new();
    let sink = Sink::start(true, &[]);
    let svc = "[[service]]\nid = \"https://gw.example.com/opes/disclaimer\"\nkind = \"disclaimer\"\ntext = \"DISCLAIMER-TEXT\"\nbypassable = true\n";
    let srv = Server::start(&f, free_port(), &format!("{}{svc}", relay_to(sink.port)));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("msg-plain.eml"),
        " XOPES-BYPASS=*",
    );
    assert!(r.starts_with(QUEUED), "{r}");
    let got = sink.wait(1, 20);
    let dec = openssl_decrypt(&got[0].data, "bob").unwrap();
    assert!(
        !contains(&dec, b"DISCLAIMER-TEXT"),
        "bypass honoured for an admitted client"
    );
    assert!(contains(&got[0].data, b"status=bypassed"));
    // RFC 3897 §4.3: forwarded to a next hop that speaks XOPES.
    assert!(got[0].mail.contains("XOPES-BYPASS=*"), "{}", got[0].mail);
    drop(c);
    drop(srv);

    // A client that is not admitted: the request is refused, and traced.
    let sink2 = Sink::start(false, &[]);
    let srv = Server::start(
        &f,
        free_port(),
        &format!("admit_networks = []\n{}{svc}", relay_to(sink2.port)),
    );
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.cmd("MAIL FROM:<alice@example.com> XOPES-BYPASS=*");
    assert_eq!(
        r, "250 2.1.0 Sender OK; bypass request refused: client not admitted\r\n",
        "the transaction goes on without bypass"
    );
    assert_eq!(c.cmd("RSET"), "250 2.0.0 OK\r\n");
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("msg-plain.eml"),
        " XOPES-BYPASS=*",
    );
    assert!(r.starts_with(QUEUED), "{r}");
    let got = sink2.wait(1, 20);
    assert!(contains(&got[0].data, b"status=bypass-refused"), "traced");
    assert!(contains(&got[0].data, b"submitter not admitted"));
    // And an unadmitted client gets no signature from a delegated key (SECURITY.md invariant 6).
    let dec = openssl_decrypt(&got[0].data, "bob").unwrap();
    assert!(contains(&dec, b"DISCLAIMER-TEXT"));
    assert!(
        !contains(&dec, b"multipart/signed"),
        "no signing oracle for anonymous clients"
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let mut srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let t = Instant::now();
    srv.signal(rustix::process::Signal::TERM);
    let status = srv.wait_exit(10);
    assert!(status.success(), "{status:?}");
    assert!(t.elapsed() < Duration::from_secs(10));
}

/// swaks as the client: STARTTLS and AUTH PLAIN, then a bypass request that is honoured
/// for the authenticated client even though its network is not admitted.
#[test]
fn authenticated_client_over_tls_with_swaks() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let dir = f.dir.path();
    let mut c = Command::new("openssl");
    c.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-keyout",
    ])
    .arg(dir.join("tls.key"))
    .arg("-out")
    .arg(dir.join("tls.pem"));
    ok(&run(c, b""), "openssl req");
    let mut h = reseal();
    h.arg("hash-password");
    let hash = run(h, b"swordfish\n");
    ok(&hash, "hash-password");
    let hash = String::from_utf8(hash.stdout).unwrap();
    std::fs::write(
        dir.join("users"),
        format!("alice:{}:alice@example.com\n", hash.trim()),
    )
    .unwrap();
    let svc = "[[service]]\nid = \"https://gw.example.com/opes/disclaimer\"\nkind = \"disclaimer\"\ntext = \"DISCLAIMER-TEXT\"\nbypassable = true\n";
    let extra = format!(
        "admit_networks = []\ntls_cert = \"{}\"\ntls_key = \"{}\"\nusers_file = \"{}\"\n{}{svc}",
        dir.join("tls.pem").display(),
        dir.join("tls.key").display(),
        dir.join("users").display(),
        relay_to(sink.port)
    );
    let srv = Server::start(&f, free_port(), &extra);
    let msg = f.tmp("msg.eml", &read("msg-plain.eml"));
    // Plain-text AUTH is refused before TLS.
    let mut c = Client::connect(srv.port);
    let ehlo = c.cmd("EHLO x");
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    let r = c.cmd("AUTH PLAIN AGFsaWNlAHN3b3JkZmlzaA==");
    assert!(r.starts_with("538 5.7.11 "), "{r}");
    drop(c);
    let mut s = Command::new("swaks");
    s.args([
        "--server",
        &format!("127.0.0.1:{}", srv.port),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "swordfish",
    ])
    .args([
        "--from",
        "alice@example.com",
        "--to",
        "bob@example.org",
        "--data",
    ])
    .arg(format!("@{}", msg.display()));
    let out = run(s, b"");
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "swaks failed:\n{log}\n{}",
        stderr(&out)
    );
    assert!(log.contains("235 2.7.0"), "{log}");
    let got = sink.wait(1, 20);
    let dec = openssl_decrypt(&got[0].data, "bob").unwrap();
    assert!(
        contains(&dec, b"DISCLAIMER-TEXT"),
        "no bypass was requested"
    );
    assert!(
        contains(&dec, b"multipart/signed"),
        "signed for the authenticated client's own sender"
    );

    // The same client asks for bypass in the dialog (this swaks cannot add MAIL
    // parameters, so openssl s_client carries the session).
    let b64 = "AGFsaWNlAHN3b3JkZmlzaA=="; // \0alice\0swordfish
    let mut s = Command::new("openssl");
    s.args([
        "s_client",
        "-quiet",
        "-ign_eof",
        "-starttls",
        "smtp",
        "-connect",
        &format!("127.0.0.1:{}", srv.port),
    ]);
    s.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut tls = TlsDialog::start(s);
    // Each command waits for the reply to the one before it (no pacing by the clock).
    let ehlo = tls.cmd(b"EHLO x\r\n");
    assert!(
        ehlo.contains("250-AUTH") || ehlo.contains("250 AUTH"),
        "{ehlo}"
    );
    assert!(
        tls.cmd(format!("AUTH PLAIN {b64}\r\n").as_bytes())
            .starts_with("235 2.7.0 ")
    );
    let mail = tls.cmd(b"MAIL FROM:<alice@example.com> XOPES-BYPASS=*\r\n");
    assert_eq!(
        mail,
        "250 2.1.0 Sender OK; bypass request accepted for bypassable services\r\n"
    );
    assert_eq!(
        tls.cmd(b"RCPT TO:<bob@example.org>\r\n"),
        "250 2.1.5 Recipient OK\r\n"
    );
    assert!(tls.cmd(b"DATA\r\n").starts_with("354 "));
    let mut body = read("msg-plain.eml");
    body.extend_from_slice(b".\r\n");
    let r = tls.cmd(&body);
    assert!(r.starts_with(QUEUED), "{r}");
    assert!(tls.cmd(b"QUIT\r\n").starts_with("221 2.0.0 "));
    tls.finish();
    let got = sink.wait(2, 20);
    let dec = openssl_decrypt(&got[1].data, "bob").unwrap();
    assert!(
        !contains(&dec, b"DISCLAIMER-TEXT"),
        "bypass honoured for the authenticated client"
    );
    assert!(contains(&got[1].data, b"status=bypassed"));
}

/// SECURITY.md invariant 6 in the dialog: a client authenticated for alice gets no signature
/// when it sends as carol, even though the keystore holds a key for carol.
#[test]
fn no_signature_for_a_sender_the_client_was_not_admitted_for() {
    let f = Fixture::new();
    f.keys(&[
        "import",
        "--key",
        &v("carol.ec.pem").display().to_string(),
        "--cert",
        &v("carol.pem").display().to_string(),
        "--for",
        "carol@example.com",
    ]);
    let sink = Sink::start(false, &[]);
    let dir = f.dir.path();
    let mut c = Command::new("openssl");
    c.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-keyout",
    ])
    .arg(dir.join("tls.key"))
    .arg("-out")
    .arg(dir.join("tls.pem"));
    ok(&run(c, b""), "openssl req");
    let mut h = reseal();
    h.arg("hash-password");
    let hash = String::from_utf8(run(h, b"pw\n").stdout).unwrap();
    std::fs::write(
        dir.join("users"),
        format!("alice:{}:alice@example.com\n", hash.trim()),
    )
    .unwrap();
    let extra = format!(
        "admit_networks = []\ntls_cert = \"{}\"\ntls_key = \"{}\"\nusers_file = \"{}\"\n{}",
        dir.join("tls.pem").display(),
        dir.join("tls.key").display(),
        dir.join("users").display(),
        relay_to(sink.port)
    );
    let srv = Server::start(&f, free_port(), &extra);
    let msg = String::from_utf8(read("msg-plain.eml"))
        .unwrap()
        .replace("Alice <alice@example.com>", "Carol <carol@example.com>");
    let m = f.tmp("carol.eml", msg.as_bytes());
    let mut s = Command::new("swaks");
    s.args([
        "--server",
        &format!("127.0.0.1:{}", srv.port),
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice",
        "--auth-password",
        "pw",
    ])
    .args([
        "--from",
        "carol@example.com",
        "--to",
        "bob@example.org",
        "--data",
    ])
    .arg(format!("@{}", m.display()));
    let out = run(s, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let got = sink.wait(1, 20);
    let dec = openssl_decrypt(&got[0].data, "bob").unwrap();
    assert!(
        !contains(&dec, b"multipart/signed"),
        "alice's login may not have carol's mail signed"
    );
}

/// With `RUST_BACKTRACE=1` in its environment, `reseal` re-executes itself with
/// `RUST_LIB_BACKTRACE=0` (same pid): no `anyhow::Error` built while parsing hostile
/// OpenPGP data captures a backtrace, which made a 17 KB message cost 20 s of CPU (see
/// `junk_after_the_literal_packet_is_bounded` in tests/openpgp.rs).
#[test]
fn serve_never_captures_error_backtraces() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start_with_env(
        &f,
        free_port(),
        &relay_to(sink.port),
        &[("RUST_BACKTRACE", "1")],
    );
    let environ = std::fs::read(format!("/proc/{}/environ", srv.child.id())).unwrap();
    let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    assert!(
        vars.contains(&&b"RUST_BACKTRACE=1"[..]),
        "panic backtraces stay as asked"
    );
    assert!(
        vars.contains(&&b"RUST_LIB_BACKTRACE=0"[..]),
        "serve runs without RUST_LIB_BACKTRACE=0"
    );
    // And the server that re-executed itself works.
    let mut c = Client::connect(srv.port);
    let ehlo = c.cmd("EHLO client.example.com");
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    let quit = c.cmd("QUIT");
    assert!(quit.starts_with("221 2.0.0"), "{quit}");
}

/// SECURITY.md invariant 8: no core file can carry key material out of `reseal serve`.
#[test]
fn serve_disables_core_dumps() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", srv.child.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert!(
        core.split_whitespace().filter(|w| *w == "0").count() >= 2,
        "{core}"
    );
}

/// Not only the daemons: `process` (which unlocks the keystore too) disables core dumps
/// before it reads anything (SECURITY.md, invariant 8).
#[test]
fn process_disables_core_dumps_too() {
    let mut child = reseal()
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .args([
            "process",
            "--mail-from",
            "a@example.com",
            "--rcpt",
            "b@example.org",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The process waits for its message on stdin; its limit must drop to 0 and stay.
    let t = Instant::now();
    let limits = loop {
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap()
            .to_owned();
        if core.split_whitespace().filter(|w| *w == "0").count() >= 2 {
            break core;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "process never disabled core dumps: {core}"
        );
        std::thread::yield_now();
    };
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.code().is_some(), "{limits}: {status:?}");
}

/// An SMTP dialog over `openssl s_client -starttls smtp`: each command is written once
/// the reply to the one before it has been read. A reader thread hands over what
/// s_client prints; every wait has a deadline and fails loudly.
struct TlsDialog {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
    log: String,
}

impl TlsDialog {
    fn start(mut cmd: Command) -> TlsDialog {
        use std::io::BufRead as _;
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(l) = line else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        TlsDialog {
            child,
            stdin,
            lines,
            log: String::new(),
        }
    }

    /// Writes `bytes` and returns the whole reply (CRLF line ends) that follows.
    fn cmd(&mut self, bytes: &[u8]) -> String {
        self.stdin.as_mut().unwrap().write_all(bytes).unwrap();
        self.stdin.as_mut().unwrap().flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut reply = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|e| {
                panic!(
                    "no complete reply from s_client ({e}); so far:\n{}{reply}",
                    self.log
                )
            });
            let line = line.trim_end_matches('\r').to_owned();
            reply.push_str(&line);
            reply.push_str("\r\n");
            self.log.push_str(&line);
            self.log.push('\n');
            if line.len() >= 4 && line.as_bytes()[3] == b' ' {
                return reply;
            }
        }
    }

    /// Closes s_client's stdin and waits for it to end.
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "s_client did not end:\n{}",
                self.log
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsDialog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the server's log holds `what` `n` times (bounded).
fn wait_for_log(srv: &Server, what: &str, n: usize) {
    let t = Instant::now();
    while srv.log_text().matches(what).count() < n {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no {what:?} in the log:\n{}",
            srv.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reloads_the_keystore_without_downtime() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let send = |n: usize| {
        let mut c = Client::connect(srv.port);
        c.cmd("EHLO client.example");
        let r = c.send(
            "alice@example.com",
            &["bob@example.org"],
            &read("msg-plain.eml"),
            "",
        );
        assert!(r.starts_with(QUEUED), "{r}");
        c.cmd("QUIT");
        let got = sink.wait(n, 20);
        openssl_decrypt(&got[n - 1].data, "bob").unwrap()
    };
    // Signed by alice's key as loaded at start.
    openssl_verify(&send(1)).unwrap();
    // The operator revokes the key while the server runs: nothing changes until the
    // reload.
    let list: serde_json::Value =
        serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    let id = list["keys"][0]["id"].as_str().unwrap().to_owned();
    f.keys(&["revoke", &id, "--reason", "renewed"]);
    openssl_verify(&send(2)).unwrap();
    srv.signal(rustix::process::Signal::HUP);
    wait_for_log(&srv, "SIGHUP: configuration and keystore reloaded", 1);
    assert!(openssl_verify(&send(3)).is_err(), "signed by a revoked key");
    // A reload that fails (an entry damaged on disk) keeps the running gateway.
    let entries = f.keystore().join("entries");
    let entry = std::fs::read_dir(&entries)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&entry, b"{\"damaged\": true}").unwrap();
    srv.signal(rustix::process::Signal::HUP);
    wait_for_log(
        &srv,
        "SIGHUP: reload failed, the running configuration stays",
        1,
    );
    // Still serving, with the keystore it had.
    assert!(openssl_verify(&send(4)).is_err());
}
