//! The pieces the `reseal serve` tests share: a next hop that records what it gets, a
//! running server with its log, and a minimal SMTP client.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

/// One transaction the sink received.
#[derive(Clone, Debug, Default)]
pub struct Received {
    pub mail: String,
    pub rcpts: Vec<String>,
    pub data: Vec<u8>,
}

/// A next hop: accepts everything except RCPT addresses in `reject`, and advertises
/// DSN and (optionally) XOPES.
pub struct Sink {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    pub fn start(xopes: bool, reject: &'static [&'static str]) -> Sink {
        Sink::start_on(0, xopes, reject)
    }

    pub fn start_on(port: u16, xopes: bool, reject: &'static [&'static str]) -> Sink {
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

    pub fn wait(&self, n: usize, secs: u64) -> Vec<Received> {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `reseal serve`. Its log (trace level) goes to a file; when a test fails
/// while the server runs, the log is printed, and with transcripts on it is kept for
/// the secrets scan.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn start(f: &Fixture, port: u16, extra: &str) -> Server {
        Server::start_with_env(f, port, extra, &[])
    }

    pub fn config(f: &Fixture, port: u16, extra: &str) -> PathBuf {
        f.config(&format!(
            "keystore = \"{ks}\"\ndata_dir = \"{data}\"\n[opes]\nsystem = \"https://gw.example.com/opes\"\nprivacy_policy = \"https://gw.example.com/privacy\"\n[smtp]\nlisten = \"127.0.0.1:{port}\"\n{extra}",
            ks = f.keystore().display(),
            data = f.dir.path().join("data").display(),
        ))
    }

    pub fn start_with_env(f: &Fixture, port: u16, extra: &str, env: &[(&str, &str)]) -> Server {
        let cfg = Server::config(f, port, extra);
        let log = f.dir.path().join(format!("serve-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut c = reseal();
        c.arg("serve").arg("--config").arg(&cfg);
        c.env("RESEAL_LOG", "trace")
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        c.envs(env.iter().copied());
        let mut child = c.spawn().unwrap();
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "reseal serve exited ({status}) before listening:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "reseal serve did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port, log }
    }

    /// Sends a signal to the server (rustix: no external `kill`, which minimal images
    /// lack).
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid =
            rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// Waits for the server to exit, at most `secs` seconds.
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let t = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "reseal serve did not exit within {secs} s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.keep_log();
        std::mem::forget(self);
    }

    fn keep_log(&self) {
        if let Some(p) = transcript_path("serve") {
            let _ = std::fs::copy(&self.log, p);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(rustix::process::Signal::TERM);
            let t = Instant::now();
            while self.child.try_wait().ok().flatten().is_none() {
                if t.elapsed() > Duration::from_secs(30) {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.keep_log();
        if std::thread::panicking() {
            eprintln!(
                "---- reseal serve log ({}) ----\n{}\n---- end of log ----",
                self.log.display(),
                self.log_text()
            );
        }
    }
}

/// A minimal SMTP client.
pub struct Client {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        Client::connect_from("127.0.0.1", port)
    }

    /// Connects from a given loopback address (127.0.0.2, ...), as another client.
    pub fn connect_from(ip: &str, port: u16) -> Client {
        let s = Client::socket_from(ip, port);
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut c = Client {
            w: s.try_clone().unwrap(),
            r: BufReader::new(s),
        };
        let g = c.reply();
        assert!(g.starts_with("220"), "{g}");
        c
    }

    pub fn reply(&mut self) -> String {
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

    pub fn cmd(&mut self, line: &str) -> String {
        self.w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }

    pub fn send(&mut self, from: &str, rcpts: &[&str], msg: &[u8], mail_params: &str) -> String {
        let r = self.cmd(&format!("MAIL FROM:<{from}>{mail_params}"));
        assert!(r.starts_with("250"), "MAIL: {r}");
        for rc in rcpts {
            let r = self.cmd(&format!("RCPT TO:<{rc}>"));
            assert!(r.starts_with("250"), "RCPT: {r}");
        }
        let r = self.cmd("DATA");
        assert!(r.starts_with("354"), "{r}");
        let mut body = Vec::new();
        // As a real client does: CRLF line ends, dot-stuffing (RFC 5321 §4.5.2).
        for line in msg.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b".") {
                body.push(b'.');
            }
            let text = line
                .strip_suffix(b"\n")
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
            match text {
                Some(t) => {
                    body.extend_from_slice(t);
                    body.extend_from_slice(b"\r\n");
                }
                None => body.extend_from_slice(line),
            }
        }
        if !body.ends_with(b"\r\n") {
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b".\r\n");
        self.w.write_all(&body).unwrap();
        self.reply()
    }

    /// Writes raw bytes.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).unwrap();
    }

    /// A TCP connection from `ip` (a loopback address) to the server.
    pub fn socket_from(ip: &str, port: u16) -> TcpStream {
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let local: std::net::SocketAddr = format!("{ip}:0").parse().unwrap();
        sock.bind(&local.into()).unwrap();
        let remote: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        sock.connect(&remote.into()).unwrap();
        let s: TcpStream = sock.into();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s
    }

    /// Whether the server closed the connection (reads EOF within 10 s).
    pub fn closed(&mut self) -> bool {
        self.r
            .get_ref()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        std::io::Read::read_to_end(&mut self.r, &mut rest).is_ok()
    }
}

pub fn relay_to(port: u16) -> String {
    format!("[relay]\nnext_hop = \"127.0.0.1:{port}\"\nretry_base_secs = 1\nretry_max_secs = 2\n")
}

pub fn count_json(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// Waits (at most 30 s) until the spool under the fixture's data folder holds no entry.
pub fn wait_spool_empty(fixture_dir: &Path) {
    let spool = fixture_dir.join("data/spool");
    let t = Instant::now();
    while count_json(&spool) > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the spool did not empty"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
