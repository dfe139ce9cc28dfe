#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The SMTP front end as an attacker tries it (docs/smtp-extension.md, src/smtp/line.rs,
//! src/smtp/fairness.rs): SMTP smuggling, over-long lines, reply injection through a
//! certificate name, one client flooding the listener, and SIGTERM while a message is
//! in flight.

mod common;
mod smtp_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use smtp_support::*;

/// What a smuggled second transaction looks like: alice's address, with the session
/// of a client that may not sign for her.
const SMUGGLED: &[u8] = b"MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nFrom: alice@example.com\r\nTo: bob@example.org\r\nSubject: smuggled\r\n\r\nPay the attacker.\r\n.\r\n";

/// A session that may not sign for alice: admit_networks is empty, so 127.0.0.1 is not
/// admitted (and there is no login).
fn strict_server(f: &Fixture, sink: &Sink) -> Server {
    Server::start(
        f,
        free_port(),
        &format!("admit_networks = []\n{}", relay_to(sink.port)),
    )
}

#[test]
fn smuggled_transactions_never_run() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = strict_server(&f, &sink);
    // Each end-of-data variant that some MTA accepts (SEC Consult, 2023).
    for variant in [&b"\n.\n"[..], b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"] {
        let mut c = Client::connect(srv.port);
        c.cmd("EHLO client.example");
        assert!(c.cmd("MAIL FROM:<eve@example.net>").starts_with("250"));
        assert!(c.cmd("RCPT TO:<bob@example.org>").starts_with("250"));
        assert!(c.cmd("DATA").starts_with("354"));
        let mut body =
            b"From: eve@example.net\r\nTo: bob@example.org\r\nSubject: first\r\n\r\nhello".to_vec();
        body.extend_from_slice(variant);
        body.extend_from_slice(SMUGGLED);
        c.raw(&body);
        let r = c.reply();
        let shown = String::from_utf8_lossy(variant).escape_debug().to_string();
        assert!(
            r.starts_with("554 5.6.0 Message contains a bare CR or LF"),
            "{shown}: {r}"
        );
        assert!(
            c.closed(),
            "{shown}: the connection stays open after a bare newline"
        );
    }
    // A message whose DATA really ends is taken. Once it is relayed and the spool is
    // empty, the sink holds everything the gateway ever relayed: that one message, and
    // nothing from alice.
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.send(
        "eve@example.net",
        &["bob@example.org"],
        b"From: eve@example.net\r\nTo: bob@example.org\r\nSubject: fine\r\n\r\nhello\r\n",
        "",
    );
    assert!(r.starts_with("250 2.0.0"), "{r}");
    sink.wait(1, 30);
    wait_spool_empty(f.dir.path());
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        got.iter().map(|g| &g.mail).collect::<Vec<_>>()
    );
    assert!(got[0].mail.contains("eve@example.net"), "{}", got[0].mail);
    assert!(!contains(&got[0].data, b"multipart/signed"));
}

#[test]
fn bare_cr_never_leaves_the_gateway() {
    // Content that would smuggle at the next hop (`\r.\r`) is refused by the pipeline,
    // whatever front end it came through; here through `reseal process`.
    let f = Fixture::new();
    let msg = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: x\r\n\r\nhello\r.\rMAIL FROM:<alice@example.com>\r\n";
    let out = f.process(msg, "alice@example.com", &["bob@example.org"], None);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(
        reply_line_without_trace(&out.stderr)
            .starts_with("554 5.6.0 Message contains a bare CR or LF"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_long_data_line_is_refused_whole_never_cut() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let mut msg =
        b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: long\r\n\r\n".to_vec();
    msg.extend(std::iter::repeat_n(b'A', 3 << 19)); // 1.5 MiB on one line
    msg.extend_from_slice(b"\r\nend\r\n");
    let r = c.send("alice@example.com", &["bob@example.org"], &msg, "");
    assert!(
        r.starts_with("552 5.3.4 Message has a line longer than"),
        "{r}"
    );
    // The session goes on in step: the next command gets its own reply.
    assert!(c.cmd("NOOP").starts_with("250 2.0.0 OK"));
    // A short message after it is taken; it is the only thing ever relayed.
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
    assert_eq!(got.len(), 1);
    assert!(!contains(&got[0].data, b"AAAAAAAAAAAAAAAA"));
}

/// A certificate for `email` (which may hold any bytes) issued by the test CA, made
/// with openssl; returns (cert, key) paths.
fn cert_with_email(f: &Fixture, email: &[u8]) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = f.dir.path();
    let key = dir.join("odd.key");
    let csr = dir.join("odd.csr");
    let cert = dir.join("odd.pem");
    let mut c = Command::new("openssl");
    c.args([
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Odd",
    ])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&csr);
    ok(&run(c, b""), "openssl req");
    // subjectAltName as raw DER: SEQUENCE { [1] IA5String email } (RFC 5280 §4.2.1.6),
    // so that CR and LF can be in it.
    let mut name = vec![0x81, u8::try_from(email.len()).unwrap()];
    name.extend_from_slice(email);
    let mut san = vec![0x30, u8::try_from(name.len()).unwrap()];
    san.extend_from_slice(&name);
    let hex: String = san.iter().map(|b| format!("{b:02X}")).collect();
    let ext = dir.join("odd.ext");
    std::fs::write(
        &ext,
        format!(
            "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = emailProtection\nsubjectAltName = DER:{hex}\n"
        ),
    )
    .unwrap();
    let mut c = Command::new("openssl");
    c.args(["x509", "-req", "-days", "30", "-set_serial", "4242"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(v("ca.pem"))
        .arg("-CAkey")
        .arg(v("ca.key"))
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert);
    ok(&run(c, b""), "openssl x509");
    (cert, key)
}

#[test]
fn a_certificate_name_cannot_inject_a_reply() {
    let f = Fixture::new();
    let (cert, key) = cert_with_email(&f, b"eve@example.com\r\n250 2.0.0 Ok: queued as FORGED");
    let plain = f.tmp(
        "plain.eml",
        b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n",
    );
    // openssl signs the message as its entity; the header goes on top.
    let mut c = Command::new("openssl");
    c.args(["cms", "-sign", "-md", "sha256"])
        .arg("-signer")
        .arg(&cert)
        .arg("-inkey")
        .arg(&key)
        .arg("-in")
        .arg(&plain);
    let signed = run(c, b"");
    ok(&signed, "openssl cms -sign");
    let mut msg = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n".to_vec();
    msg.extend_from_slice(&mime_crlf(&signed.stdout));
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let r = c.send("alice@example.com", &["bob@example.org"], &msg, "");
    assert!(
        r.starts_with("554 5.7.1 Incoming signature not accepted"),
        "{r}"
    );
    assert_eq!(r.matches("\r\n").count(), 1, "one reply line: {r:?}");
    // The address is lower-cased as addresses are; its CR LF became spaces.
    assert!(
        r.contains("eve@example.com  250 2.0.0 ok: queued as forged"),
        "{r:?}"
    );
    // The client and the server are still in step.
    assert!(c.cmd("NOOP").starts_with("250 2.0.0 OK"));
    assert!(c.cmd("QUIT").starts_with("221"));
}

/// LF → CRLF for openssl's output (it writes LF line ends on Unix).
fn mime_crlf(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + b.len() / 40);
    for (i, &x) in b.iter().enumerate() {
        if x == b'\n' && (i == 0 || b[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(x);
    }
    out
}

const PER_CLIENT: &str = "421 4.7.0 Too many connections from your address, try again later\r\n";
const BUSY: &str = "421 4.3.2 Too many connections, try again later\r\n";

/// Opens `n` idle sessions from `ip`; returns (held sessions, how many got `refusal`,
/// the exact 421 line expected for each one turned away).
fn flood(ip: &str, port: u16, n: usize, refusal: &str) -> (Vec<Client>, usize) {
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..n {
        let s = Client::socket_from(ip, port);
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut greeting = String::new();
        r.read_line(&mut greeting).unwrap();
        if greeting.starts_with("220 ") {
            held.push(Client { r, w: s });
        } else {
            assert_eq!(greeting, refusal);
            // 421 and the connection is closed (RFC 5321 §3.8).
            let mut rest = Vec::new();
            r.read_to_end(&mut rest).unwrap();
            refused += 1;
        }
    }
    (held, refused)
}

#[test]
fn one_address_cannot_lock_out_everyone() {
    // Default limits: 20 sessions per client address.
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let (held, refused) = flood("127.0.0.1", srv.port, 150, PER_CLIENT);
    assert_eq!(held.len(), 20);
    assert_eq!(refused, 130);
    let mut other = Client::connect_from("127.0.0.2", srv.port);
    assert!(other.cmd("EHLO other.example").starts_with("250"));
    drop(held);

    // Without a per-client limit, the reserve still keeps room for new addresses.
    let f = Fixture::new();
    let srv = Server::start(
        &f,
        free_port(),
        &format!(
            "max_connections = 50\nmax_connections_per_client = 50\nreserved_connections = 5\n{}",
            relay_to(sink.port)
        ),
    );
    let (held, refused) = flood("127.0.0.1", srv.port, 60, BUSY);
    assert_eq!((held.len(), refused), (45, 15));
    let mut other = Client::connect_from("127.0.0.2", srv.port);
    assert!(other.cmd("EHLO other.example").starts_with("250"));
    drop(held);
}

#[test]
fn idle_sessions_are_cut_short_under_stress() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let srv = Server::start(
        &f,
        free_port(),
        &format!(
            "max_connections = 10\nmax_connections_per_client = 10\nreserved_connections = 0\nstress_timeout_secs = 1\n{}",
            relay_to(sink.port)
        ),
    );
    // Every slot taken by idle sessions: a new client is turned away at first...
    let (held, refused) = flood("127.0.0.1", srv.port, 10, BUSY);
    assert_eq!(refused, 0);
    let (_, turned_away) = flood("127.0.0.2", srv.port, 1, BUSY);
    assert_eq!(turned_away, 1);
    // ...but 8 of 10 is stress: idle sessions get 1 s instead of the 300 s read
    // timeout, and are cut until the server is out of stress, so a slot frees up
    // within seconds, not minutes.
    let t = Instant::now();
    loop {
        let (got, _) = flood("127.0.0.2", srv.port, 1, BUSY);
        if !got.is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no slot was freed");
    }
    assert!(t.elapsed() < Duration::from_secs(30));
    // The slot was freed by a cut session, which was told why before it let go (more
    // may be cut by now; how many depends on timing).
    let mut cut = 0;
    for c in &held {
        c.w.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 128];
        if let Ok(n) = (&c.w).read(&mut buf)
            && buf[..n].starts_with(b"421 4.4.2")
        {
            cut += 1;
        }
    }
    assert!(cut >= 1, "no idle session was told it was cut");
}

/// An HTTP callout that holds the message until the test says so: a message that is
/// in the pipeline for as long as the test wants.
fn held_callout() -> (String, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (arrived_tx, arrived) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        arrived_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        let mut w = s;
        w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    });
    (format!("http://127.0.0.1:{port}/scan"), arrived, go)
}

#[test]
fn sigterm_lets_the_message_in_flight_finish_and_delivers_it() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let (url, arrived, go) = held_callout();
    let svc = format!(
        "[[service]]\nid = \"https://gw.example.com/opes/scan\"\nkind = \"callout\"\nurl = \"{url}\"\ntimeout_ms = 60000\n"
    );
    let mut srv = Server::start(&f, free_port(), &format!("{}{svc}", relay_to(sink.port)));
    let port = srv.port;
    let client = std::thread::spawn(move || {
        let mut c = Client::connect(port);
        c.cmd("EHLO client.example");
        c.send(
            "alice@example.com",
            &["bob@example.org"],
            &read("msg-plain.eml"),
            "",
        )
    });
    // The message is in the pipeline (at the callout) when SIGTERM arrives.
    arrived.recv_timeout(Duration::from_secs(60)).unwrap();
    srv.signal(rustix::process::Signal::TERM);
    let t = Instant::now();
    while !srv.log_text().contains("shutting down") {
        assert!(t.elapsed() < Duration::from_secs(30), "{}", srv.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    // The listening socket is closed before "shutting down" is logged: a connection
    // made after SIGTERM is refused at once, so the client tries again elsewhere.
    let late = std::net::TcpStream::connect(("127.0.0.1", port));
    assert_eq!(
        late.as_ref().map_err(std::io::Error::kind).err(),
        Some(std::io::ErrorKind::ConnectionRefused),
        "a connection after SIGTERM was accepted"
    );
    go.send(()).unwrap();
    let reply = client.join().unwrap();
    assert!(reply.starts_with("250 2.0.0 Ok: queued as "), "{reply}");
    let status = srv.wait_exit(60);
    assert_eq!(status.code(), Some(0), "{status:?}");
    // Acknowledged, so delivered (by the last relay pass before exit), exactly once: the
    // gateway has exited, so the sink holds everything it will ever get.
    let got = sink.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "delivered exactly once");
    assert!(contains(
        &got[0].data,
        b"OPES-System: https://gw.example.com/opes; id="
    ));
    assert_eq!(count_json(&f.dir.path().join("data/spool")), 0);
}

#[test]
fn sigterm_during_data_never_acknowledges() {
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let mut srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    assert!(c.cmd("MAIL FROM:<alice@example.com>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<bob@example.org>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    c.raw(b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: half\r\n\r\nhalf a mess");
    srv.signal(rustix::process::Signal::TERM);
    let r = c.reply();
    assert!(r.starts_with("421 4.3.2"), "{r}");
    assert!(srv.wait_exit(60).success());
    let spool = f.dir.path().join("data/spool");
    assert_eq!(count_json(&spool), 0, "nothing unacknowledged is kept");
    assert_eq!(
        std::fs::read_dir(spool.join("tmp")).unwrap().count(),
        0,
        "the partial message is removed"
    );
    assert!(sink.got.lock().unwrap().is_empty());
}
