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

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// One transaction the sink received.
#[derive(Clone, Debug, Default)]
struct Received {
    mail: String,
    rcpts: Vec<String>,
    data: Vec<u8>,
}

/// A next hop: accepts everything except RCPT addresses in `reject`, and advertises
/// DSN and (optionally) XOPES.
struct Sink {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    fn start(xopes: bool, reject: &'static [&'static str]) -> Sink {
        Sink::start_on(0, xopes, reject)
    }

    fn start_on(port: u16, xopes: bool, reject: &'static [&'static str]) -> Sink {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let g = g.clone();
                std::thread::spawn(move || sink_session(s, xopes, reject, &g));
            }
        });
        Sink { port, got }
    }

    fn wait(&self, n: usize, secs: u64) -> Vec<Received> {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(secs) {
            let v = self.got.lock().unwrap().clone();
            if v.len() >= n {
                return v;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "sink got {} messages, wanted {n}",
            self.got.lock().unwrap().len()
        );
    }
}

fn sink_session(s: TcpStream, xopes: bool, reject: &[&str], got: &Mutex<Vec<Received>>) {
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let mut cur = Received::default();
    let _ = w.write_all(b"220 sink ESMTP\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let up = line.to_ascii_uppercase();
        let reply: String = if up.starts_with("EHLO") {
            format!(
                "250-sink\r\n250-DSN\r\n250-8BITMIME\r\n{}250 SIZE 100000000\r\n",
                if xopes { "250-XOPES\r\n" } else { "" }
            )
        } else if up.starts_with("MAIL") {
            cur = Received {
                mail: line.trim().to_owned(),
                ..Received::default()
            };
            "250 ok\r\n".into()
        } else if up.starts_with("RCPT") {
            if reject.iter().any(|a| line.contains(a)) {
                "550 5.1.1 no such user here\r\n".into()
            } else {
                cur.rcpts.push(line.trim().to_owned());
                "250 ok\r\n".into()
            }
        } else if up.starts_with("DATA") {
            let _ = w.write_all(b"354 go\r\n");
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            cur.data = data;
            got.lock().unwrap().push(cur.clone());
            "250 queued\r\n".into()
        } else if up.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n");
            return;
        } else {
            "250 ok\r\n".into()
        };
        let _ = w.write_all(reply.as_bytes());
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `reseal serve`.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(f: &Fixture, port: u16, extra: &str) -> Server {
        Server::start_with_env(f, port, extra, &[])
    }

    fn start_with_env(f: &Fixture, port: u16, extra: &str, env: &[(&str, &str)]) -> Server {
        let cfg = f.config(&format!(
            "keystore = \"{ks}\"\ndata_dir = \"{data}\"\n[opes]\nsystem = \"https://gw.example.com/opes\"\nprivacy_policy = \"https://gw.example.com/privacy\"\n[smtp]\nlisten = \"127.0.0.1:{port}\"\n{extra}",
            ks = f.keystore().display(),
            data = f.dir.path().join("data").display(),
        ));
        let mut c = reseal();
        c.arg("serve").arg("--config").arg(&cfg);
        c.envs(env.iter().copied());
        daemon_output(&mut c, "serve");
        let child = c.spawn().unwrap();
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "reseal serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::forget(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// A minimal SMTP client.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut c = Client {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        };
        let g = c.reply();
        assert!(g.starts_with("220"), "{g}");
        c
    }

    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).unwrap();
            all.push_str(&l);
            if l.len() < 4 || l.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        self.w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }

    fn send(&mut self, from: &str, rcpts: &[&str], msg: &[u8], mail_params: &str) -> String {
        let r = self.cmd(&format!("MAIL FROM:<{from}>{mail_params}"));
        assert!(r.starts_with("250"), "MAIL: {r}");
        for rc in rcpts {
            let r = self.cmd(&format!("RCPT TO:<{rc}>"));
            assert!(r.starts_with("250"), "RCPT: {r}");
        }
        let r = self.cmd("DATA");
        assert!(r.starts_with("354"), "{r}");
        let mut body = Vec::new();
        for line in msg.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                body.push(b'.');
            }
            body.extend_from_slice(line);
        }
        if !body.ends_with(b"\r\n") {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b".\r\n");
        self.w.write_all(&body).unwrap();
        self.reply()
    }
}

fn relay_to(port: u16) -> String {
    format!("[relay]\nnext_hop = \"127.0.0.1:{port}\"\nretry_base_secs = 1\nretry_max_secs = 2\n")
}

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
    assert!(r.starts_with("500 5.5.2"), "{r}");
    c.cmd("QUIT");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        sink.got.lock().unwrap().is_empty(),
        "nothing refused may be relayed"
    );
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

fn count_json(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
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
    // And an unadmitted client gets no signature from a delegated key (DESIGN §3 rule 6).
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
    Command::new("kill")
        .arg("-TERM")
        .arg(srv.child.id().to_string())
        .status()
        .unwrap();
    let status = srv.child.wait().unwrap();
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

/// DESIGN §3 rule 6 in the dialog: a client authenticated for alice gets no signature
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

/// DESIGN §3 rule 8: no core file can carry key material out of `reseal serve`.
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
