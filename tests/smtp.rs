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
    assert!(r.starts_with("250 2.0.0"), "{r}");
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
    assert!(r.starts_with("552 5.3.4"), "{r}");
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
    assert!(r.starts_with("250 2.0.0"), "{r}");
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
        assert!(r.starts_with("250 2.0.0"), "{r}");
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
    let t = Instant::now();
    while count_json(&spool) > 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count_json(&spool), 0, "delivered messages leave the spool");
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
    assert!(r.starts_with("250"), "{r}");
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
    assert!(r.starts_with("250"), "{r}");
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
    assert!(r.contains("bypass request refused"), "{r}");
    c.cmd("RSET");
    let r = c.send(
        "alice@example.com",
        &["bob@example.org"],
        &read("msg-plain.eml"),
        " XOPES-BYPASS=*",
    );
    assert!(r.starts_with("250"), "{r}");
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
    assert!(
        c.cmd("AUTH PLAIN AGFsaWNlAHN3b3JkZmlzaA==")
            .starts_with("538 5.7.11")
    );
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
    let mut script = format!("EHLO x\r\nAUTH PLAIN {b64}\r\nMAIL FROM:<alice@example.com> XOPES-BYPASS=*\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n").into_bytes();
    script.extend_from_slice(&read("msg-plain.eml"));
    script.extend_from_slice(b".\r\nQUIT\r\n");
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
    let mut child = s.spawn().unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for part in script.split_inclusive(|&b| b == b'\n') {
            stdin.write_all(part).unwrap();
            if part.starts_with(b"AUTH") || part.starts_with(b"EHLO") || part.starts_with(b"DATA") {
                std::thread::sleep(Duration::from_millis(700));
            }
        }
        std::thread::sleep(Duration::from_millis(1500));
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        log.contains("235 2.7.0") && log.contains("bypass request accepted"),
        "{log}"
    );
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
    assert!(ehlo.starts_with("250"), "{ehlo}");
    let quit = c.cmd("QUIT");
    assert!(quit.starts_with("221"), "{quit}");
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
