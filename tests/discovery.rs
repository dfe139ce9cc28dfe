#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Recipient key discovery (issue 16, docs/discovery.md): a real OpenLDAP `slapd`, started
//! by the test on loopback, holds recipients' certificates; `reseal process` with a
//! keystore that does not hold them encrypts to the one that validates, refuses the ones
//! that do not, escapes the address in the filter (RFC 4515 §3), and answers a directory
//! it cannot reach with a temporary failure, never with plaintext. A local HTTPS server
//! with a test CA serves a Web Key Directory (draft-koch-openpgp-webkey-service), reached
//! through `[discovery.wkd] connect_to`.

mod common;
mod smtp_support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use smtp_support::{Client, Server, Sink, free_port, relay_to};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const BASE: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "secret";

fn slapd_path() -> PathBuf {
    let p = PathBuf::from("/usr/sbin/slapd");
    assert!(
        p.exists() && Path::new("/usr/bin/ldapadd").exists(),
        "slapd/ldapadd are not installed: run scripts/setup.sh (Debian packages slapd, ldap-utils)"
    );
    p
}

/// A private slapd on 127.0.0.1, with its own configuration and mdb database in a
/// temporary folder; stopped when dropped.
struct Slapd {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Slapd {
    fn start() -> Slapd {
        let slapd = slapd_path();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let conf = dir.path().join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 include /etc/ldap/schema/cosine.schema\n\
                 include /etc/ldap/schema/inetorgperson.schema\n\
                 pidfile {pid}\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{BASE}\"\n\
                 rootdn \"{ROOT_DN}\"\n\
                 rootpw {ROOT_PW}\n\
                 directory {db}\n",
                pid = dir.path().join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .unwrap();
        let port = free_port();
        // -d 0: stay in the foreground (the test owns the process), log nothing.
        let child = Command::new(slapd)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{port}/"))
            .args(["-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("slapd.log")).unwrap())
            .spawn()
            .unwrap();
        let mut s = Slapd { child, dir, port };
        s.wait_ready();
        s.add(&format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n"
        ));
        s
    }

    /// Polls until slapd accepts connections (bounded).
    fn wait_ready(&mut self) {
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "slapd exited ({status}):\n{}",
                    std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
                );
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "slapd does not accept connections on 127.0.0.1:{}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    fn add(&self, ldif: &str) {
        let mut c = Command::new("ldapadd");
        c.args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW]);
        let out = run(c, ldif.as_bytes());
        ok(&out, "ldapadd");
    }

    /// An inetOrgPerson `cn` with `mail` and the DER form of the vector certificate
    /// `pem` as userCertificate;binary.
    fn add_person(&self, cn: &str, mail: &str, pem: &str) {
        self.add_with(cn, mail, "userCertificate;binary", &["x509", "-in"], pem);
    }

    /// An inetOrgPerson `cn` with `mail` and, in `attr`, what `openssl <command> <pem>
    /// -outform DER` makes of the vector `pem`.
    fn add_with(&self, cn: &str, mail: &str, attr: &str, command: &[&str], pem: &str) {
        let der = self.dir.path().join(format!("{cn}.der"));
        let out = Command::new("openssl")
            .args(command)
            .arg(v(pem))
            .args(["-outform", "DER", "-out"])
            .arg(&der)
            .output()
            .unwrap();
        ok(&out, "openssl");
        self.add(&format!(
            "dn: cn={cn},{BASE}\nobjectClass: inetOrgPerson\ncn: {cn}\nsn: {cn}\nmail: {mail}\n\
             {attr}:< file://{}\n",
            der.display()
        ));
    }
}

impl Slapd {
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn message(to: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.com>\r\nTo: <{to}>\r\nSubject: discovery\r\n\
         Date: Tue, 03 Jun 2025 10:15:00 +0000\r\nMessage-ID: <discovery@example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nthe figures, for your eyes only\r\n"
    )
    .into_bytes()
}

/// A configuration: encryption required for everyone, keys from `order`, LDAP at `url`
/// (the default attributes: userCertificate;binary, userSMIMECertificate, pgpKey).
fn config(f: &Fixture, order: &str, url: &str) -> PathBuf {
    f.config(&format!(
        "{OPES_HEAD}\n[policy]\nencrypt = \"required\"\n\n[discovery]\norder = [{order}]\n\n\
         [discovery.ldap]\nurl = \"{url}\"\nbase = \"{BASE}\"\nfilter = \"(mail=%s)\"\n\
         timeout_secs = 2\n"
    ))
}

/// `reseal process` from alice to `rcpt`, logging at `log`.
fn process(f: &Fixture, cfg: &Path, rcpt: &str, log: &str) -> Output {
    process_to(f, cfg, &[rcpt], log)
}

/// `reseal process` from alice to `rcpts` (the message addressed to the first).
fn process_to(f: &Fixture, cfg: &Path, rcpts: &[&str], log: &str) -> Output {
    let mut c = reseal();
    c.arg("process")
        .arg("--keystore")
        .arg(f.keystore())
        .arg("--config")
        .arg(cfg)
        .args(["--mail-from", "alice@example.com"])
        .env("RESEAL_LOG", log);
    for r in rcpts {
        c.arg("--rcpt").arg(r);
    }
    let out = run(c, &message(rcpts.first().copied().unwrap_or_default()));
    keep_transcript("discovery", &out.stdout, &out.stderr);
    out
}

#[test]
fn a_certificate_in_ldap_encrypts_with_no_import() {
    let ldap = Slapd::start();
    ldap.add_person("Dave", "dave@example.com", "dave.pem");
    // The fixture holds alice, bob and erin, and trusts the test root; not dave.
    let f = Fixture::new();
    let listed = f.keys(&["list"]);
    assert!(
        !contains(&listed.stdout, b"dave"),
        "the keystore must not hold dave"
    );

    // The directory alone (the default): no key, refused.
    let cfg = config(&f, "\"directory\"", &ldap.url());
    let out = process(&f, &cfg, "dave@example.com", "info");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));

    let cfg = config(&f, "\"directory\", \"ldap\"", &ldap.url());
    let out = process(&f, &cfg, "dave@example.com", "reseal=info");
    ok(&out, "process with LDAP discovery");
    let plain = openssl_decrypt(&out.stdout, "dave").expect("encrypted to dave");
    assert!(contains(&plain, b"the figures, for your eyes only"));
    // The choice is traced: which source supplied the key.
    let err = stderr(&out);
    assert!(
        err.contains("recipient key chosen") && err.contains("source=\"ldap\"")
            || err.contains("source=ldap"),
        "{err}"
    );
}

#[test]
fn a_pkcs7_bundle_in_user_smime_certificate_is_read() {
    let ldap = Slapd::start();
    // RFC 2798 §2.8: a certs-only SignedData (openssl crl2pkcs7 -nocrl).
    ldap.add_with(
        "Dave",
        "dave@example.com",
        "userSMIMECertificate",
        &["crl2pkcs7", "-nocrl", "-certfile"],
        "dave.pem",
    );
    let f = Fixture::new();
    let cfg = config(&f, "\"ldap\"", &ldap.url());
    let out = process(&f, &cfg, "dave@example.com", "info");
    ok(&out, "process with a userSMIMECertificate");
    assert!(openssl_decrypt(&out.stdout, "dave").is_ok());
}

#[test]
fn an_unreachable_directory_is_a_temporary_failure_not_plaintext() {
    let f = Fixture::new();
    // A port nobody listens on: the connection is refused.
    let port = free_port();
    let cfg = config(
        &f,
        "\"directory\", \"ldap\"",
        &format!("ldap://127.0.0.1:{port}"),
    );
    let out = process(&f, &cfg, "dave@example.com", "info");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing may be delivered");
    let err = stderr(&out);
    assert!(err.contains("\n451 4.3.0 "), "a temporary failure: {err}");
    assert!(err.contains("key lookup failed"), "{err}");
    assert!(err.contains("<dave@example.com>"), "{err}");

    // A server that accepts and never answers: the timeout, again temporary.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let cfg = config(&f, "\"ldap\"", &format!("ldap://127.0.0.1:{port}"));
    let t = Instant::now();
    // Two recipients: the second is not made to wait out the timeout again (the server
    // is held after its failure), and fails the same way.
    let out = process_to(
        &f,
        &cfg,
        &["dave@example.com", "frank@example.com"],
        "reseal=debug",
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "bounded by the timeout"
    );
    assert_eq!(err.matches("lookup failed source").count(), 2, "{err}");
    assert_eq!(
        err.matches("held after a recent failure").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("<dave@example.com> (ldap timed out), <frank@example.com> (ldap timed out)"),
        "{err}"
    );
    drop(silent);

    // A recipient whose key the directory holds does not need the LDAP server.
    let out = process(
        &f,
        &cfg_with_directory_first(&f, port),
        "bob@example.org",
        "info",
    );
    ok(&out, "bob from the directory");
    assert!(openssl_decrypt(&out.stdout, "bob").is_ok());
}

#[test]
fn a_hostile_ldap_server_is_a_failed_lookup() {
    let f = Fixture::new();
    // Answers every request with an empty SEQUENCE, then a huge length: not an LDAP
    // message. ldap3 must not take the gateway down; the lookup fails, closed.
    for answer in [
        &b"\x30\x00"[..],
        &b"\x30\x84\x7f\xff\xff\xff\x02\x01\x01"[..],
    ] {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let answer = answer.to_vec();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(&answer);
                // Hold the connection until the client gives up.
                let _ = s.read(&mut buf);
            }
        });
        let cfg = config(&f, "\"ldap\"", &format!("ldap://127.0.0.1:{port}"));
        let out = process(&f, &cfg, "dave@example.com", "info");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(75), "{err}");
        assert!(out.stdout.is_empty());
        assert!(err.contains("\n451 4.3.0 "), "{err}");
    }
}

#[test]
fn a_failed_lookup_matters_only_where_encryption_is_required() {
    let f = Fixture::new();
    let down = format!("ldap://127.0.0.1:{}", free_port());
    let cfg = f.config(&format!(
        "{OPES_HEAD}\n[policy]\nencrypt = \"if-possible\"\n\
         [policy.domain.\"example.org\"]\nencrypt = \"required\"\n\n\
         [discovery]\norder = [\"directory\", \"ldap\"]\n\n\
         [discovery.ldap]\nurl = \"{down}\"\nbase = \"{BASE}\"\ntimeout_secs = 2\n"
    ));
    // if-possible alone: no key could be found, so plaintext, as without discovery.
    let out = process(&f, &cfg, "dave@example.com", "info");
    ok(&out, "if-possible with the directory down");
    assert!(contains(&out.stdout, b"the figures, for your eyes only"));
    // With bob (required, in the directory): the one message must be encrypted to
    // both, and dave's key could not be looked up: temporary, not a refusal.
    let out = process_to(&f, &cfg, &["bob@example.org", "dave@example.com"], "info");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("<dave@example.com> (ldap failed)"), "{err}");
    assert!(out.stdout.is_empty());
}

fn cfg_with_directory_first(f: &Fixture, port: u16) -> PathBuf {
    config(
        f,
        "\"directory\", \"ldap\"",
        &format!("ldap://127.0.0.1:{port}"),
    )
}

#[test]
fn ldap_certificates_that_do_not_validate_are_not_used() {
    let ldap = Slapd::start();
    // Issued by a CA the keystore does not trust, for an address in the keystore.
    ldap.add_person("Mallory", "alice@example.com", "mallory.pem");
    // Expired (2021), by the trusted root.
    ldap.add_person("Expired", "expired@example.com", "expired.pem");
    // Valid and trusted, but for dave: published under another address.
    ldap.add_person("Wrong", "wrong@example.com", "dave.pem");
    let f = Fixture::new();
    let cfg = config(&f, "\"ldap\"", &ldap.url());
    for rcpt in [
        "alice@example.com",
        "expired@example.com",
        "wrong@example.com",
    ] {
        // The server did answer with the entry: the refusal is the validation's.
        refused_without_key(&f, &cfg, rcpt, 1);
    }
}

/// `rcpt` is refused for want of a key (554, nothing delivered) after the LDAP server
/// answered with `entries` entries.
fn refused_without_key(f: &Fixture, cfg: &Path, rcpt: &str, entries: usize) {
    let out = process(f, cfg, rcpt, "reseal=debug");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(77), "{rcpt}: {err}");
    assert!(out.stdout.is_empty(), "{rcpt}: nothing may be delivered");
    assert!(
        err.contains(&format!("entries={entries} ")),
        "{rcpt}: {err}"
    );
    assert!(
        err.contains("\n554 5.7.1 ") && err.contains(&format!("<{rcpt}>")),
        "{err}"
    );
}

#[test]
fn the_address_is_escaped_in_the_filter() {
    let ldap = Slapd::start();
    ldap.add_person("Dave", "dave@example.com", "dave.pem");
    let f = Fixture::new();
    let cfg = config(&f, "\"ldap\"", &ldap.url());
    // Unescaped, `(mail=*@example.com)` would match dave's entry (a substring filter)
    // and `(mail=dave@example.com)(cn=*)` would not be one filter.
    for rcpt in [
        "*@example.com",
        "d*e@example.com",
        "dave@example.com)(cn=*@example.com",
    ] {
        refused_without_key(&f, &cfg, rcpt, 0);
    }
}

#[test]
fn serve_keeps_ldap_answers_in_its_cache() {
    let mut ldap = Slapd::start();
    ldap.add_person("Dave", "dave@example.com", "dave.pem");
    let f = Fixture::new();
    let sink = Sink::start(false, &[]);
    let port = free_port();
    let server = Server::start(
        &f,
        port,
        &format!(
            "{}[policy]\nencrypt = \"required\"\n[discovery]\norder = [\"directory\", \"ldap\"]\n\
             [discovery.ldap]\nurl = \"{}\"\nbase = \"{BASE}\"\ntimeout_secs = 2\n",
            relay_to(sink.port),
            ldap.url()
        ),
    );
    let mut c = Client::connect(port);
    c.cmd("EHLO client.example.com");
    let mut send_to_dave = || {
        let r = c.send(
            "alice@example.com",
            &["dave@example.com"],
            &message("dave@example.com"),
            "",
        );
        assert!(r.starts_with("250"), "{r}\n{}", server.log_text());
    };
    send_to_dave();
    // The directory goes away: the second message is encrypted from the cached answer
    // (ldap3's runtime inside the server's blocking pool, and the cache, both work).
    ldap.stop();
    send_to_dave();
    let got = sink.wait(2, 20);
    assert_eq!(got.len(), 2);
    for m in &got {
        let plain = openssl_decrypt(&m.data, "dave").expect("encrypted to dave");
        assert!(contains(&plain, b"the figures, for your eyes only"));
    }
    let log = server.log_text();
    assert!(log.contains("key discovery: cached answer"), "{log}");
    server.kill9();
}

// ---- WKD (draft-koch-openpgp-webkey-service) ----

/// carol@example.com's path for the advanced or the direct method (draft §3.1).
fn carol_path(advanced: bool) -> String {
    let hash = wkd_hash("carol");
    if advanced {
        format!("/.well-known/openpgpkey/example.com/hu/{hash}?l=carol")
    } else {
        format!("/.well-known/openpgpkey/hu/{hash}?l=carol")
    }
}

/// z-base-32(SHA-1(local)), computed with the openssl CLI and a table (independent of
/// the gateway's code).
fn wkd_hash(local: &str) -> String {
    let mut c = Command::new("openssl");
    c.args(["dgst", "-sha1", "-binary"]);
    let digest = run(c, local.as_bytes()).stdout;
    let alphabet = b"ybndrfg8ejkmcpqxot1uwisza345h769";
    let bits: Vec<u8> = digest
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    bits.chunks(5)
        .map(|c| {
            let v = c.iter().fold(0usize, |a, b| (a << 1) | usize::from(*b));
            char::from(alphabet[v])
        })
        .collect()
}

/// A test CA and a server certificate for `names`, made with the openssl CLI.
struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    fn new(names: &[&str]) -> TestPki {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        // One openssl command, its arguments separated by spaces.
        let sh = |args: &str| {
            let args: Vec<&str> = args.split_whitespace().collect();
            let out = Command::new("openssl")
                .args(&args)
                .current_dir(dir.path())
                .output()
                .unwrap();
            ok(&out, &format!("openssl {args:?}"));
        };
        let new_key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
        sh(&format!(
            "req -x509 {new_key} -keyout ca.key -out ca.pem -days 2 -subj /CN=WKD-Test-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
        ));
        sh(&format!(
            "req {new_key} -keyout srv.key -out srv.csr -subj /CN=wkd"
        ));
        let san: Vec<String> = names.iter().map(|n| format!("DNS:{n}")).collect();
        std::fs::write(
            p("ext"),
            format!(
                "subjectAltName={}\nextendedKeyUsage=serverAuth\n",
                san.join(",")
            ),
        )
        .unwrap();
        sh(
            "x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
            -days 2 -extfile ext",
        );
        TestPki { dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(self.dir.path().join("srv.pem"))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(self.dir.path().join("srv.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        )
    }
}

/// An HTTPS server on 127.0.0.1 that answers GET `path` with `body` (404 otherwise), and
/// records the request targets and Host fields it saw.
struct WkdServer {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl WkdServer {
    fn start(pki: &TestPki, path: String, body: Vec<u8>) -> WkdServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let cfg = pki.server_config();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(tcp) = s else { return };
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&cfg)) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                if req.is_empty() {
                    continue; // no request came (the client refused the handshake)
                }
                let text = String::from_utf8_lossy(&req).into_owned();
                let target = text.split(' ').nth(1).unwrap_or_default().to_owned();
                let host = text
                    .lines()
                    .find_map(|l| l.strip_prefix("Host: "))
                    .unwrap_or_default()
                    .to_owned();
                log.lock().unwrap().push(format!("{host} {target}"));
                let reply = if target == path {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&body);
                    r
                } else {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                };
                let _ = tls.write_all(&reply);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        WkdServer { port, seen }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// Encryption required; keys from the directory, then WKD, with `connect_to` entries.
fn wkd_config(f: &Fixture, ca: Option<&Path>, connect_to: &[(&str, String)]) -> PathBuf {
    let map: Vec<String> = connect_to
        .iter()
        .map(|(h, a)| format!("\"{h}\" = \"{a}\""))
        .collect();
    let ca = ca.map_or(String::new(), |p| {
        format!("ca_file = \"{}\"\n", p.display())
    });
    f.config(&format!(
        "{OPES_HEAD}\n[policy]\nencrypt = \"required\"\n\n[discovery]\n\
         order = [\"directory\", \"wkd\"]\n\n[discovery.wkd]\ntimeout_secs = 5\n{ca}\
         connect_to = {{ {} }}\n",
        map.join(", ")
    ))
}

/// Decrypts the PGP/MIME message with carol's secret key (sq).
fn sq_decrypt_as_carol(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(msg);
    let begin = text
        .find("-----BEGIN PGP MESSAGE-----")
        .expect("a PGP message");
    let end = text.find("-----END PGP MESSAGE-----").unwrap() + 25;
    let mut c = Command::new("sq");
    c.args(["decrypt", "--recipient-key"])
        .arg(pv("carol.sec.asc"));
    let out = run(c, text[begin..end].as_bytes());
    ok(&out, "sq decrypt");
    out.stdout
}

#[test]
fn a_key_in_wkd_encrypts_with_no_import() {
    let pki = TestPki::new(&["openpgpkey.example.com", "example.com"]);
    let carol = std::fs::read(pv("carol.pub.pgp")).unwrap();
    let server = WkdServer::start(&pki, carol_path(true), carol);
    let f = Fixture::new();
    let cfg = wkd_config(
        &f,
        Some(&pki.ca()),
        &[("openpgpkey.example.com", server.addr())],
    );
    let out = process(&f, &cfg, "carol@example.com", "reseal=info");
    ok(&out, "process with WKD");
    let plain = sq_decrypt_as_carol(&out.stdout);
    assert!(contains(&plain, b"the figures, for your eyes only"));
    let err = stderr(&out);
    assert!(
        err.contains("recipient key chosen") && err.contains("wkd"),
        "{err}"
    );
    assert_eq!(
        server.seen(),
        vec![format!("openpgpkey.example.com {}", carol_path(true))]
    );
}

#[test]
fn wkd_falls_back_to_the_direct_method_only_without_the_advanced_host() {
    let pki = TestPki::new(&["openpgpkey.example.com", "example.com"]);
    let carol = std::fs::read(pv("carol.pub.pgp")).unwrap();
    let server = WkdServer::start(&pki, carol_path(false), carol);
    let f = Fixture::new();
    // The advanced host refuses connections (nobody listens there): the direct method.
    let closed = format!("127.0.0.1:{}", free_port());
    let cfg = wkd_config(
        &f,
        Some(&pki.ca()),
        &[
            ("openpgpkey.example.com", closed),
            ("example.com", server.addr()),
        ],
    );
    let out = process(&f, &cfg, "carol@example.com", "info");
    ok(&out, "process with WKD, direct method");
    assert!(contains(
        &sq_decrypt_as_carol(&out.stdout),
        b"the figures, for your eyes only"
    ));
    assert_eq!(
        server.seen(),
        vec![format!("example.com {}", carol_path(false))]
    );

    // The advanced host answers 404: no key, and the direct method is not asked.
    let cfg = wkd_config(
        &f,
        Some(&pki.ca()),
        &[
            ("openpgpkey.example.com", server.addr()),
            ("example.com", server.addr()),
        ],
    );
    let out = process(&f, &cfg, "carol@example.com", "info");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert_eq!(server.seen().len(), 2, "{:?}", server.seen());
}

#[test]
fn wkd_keys_that_do_not_fit_are_not_used_and_tls_is_checked() {
    let pki = TestPki::new(&["openpgpkey.example.com"]);
    // bob's certificate published under carol's hash: no user ID for carol.
    let bob = std::fs::read(pv("bob.pub.asc")).unwrap();
    let server = WkdServer::start(&pki, carol_path(true), bob);
    let f = Fixture::new();
    let routes = [("openpgpkey.example.com", server.addr())];
    let cfg = wkd_config(&f, Some(&pki.ca()), &routes);
    let out = process(&f, &cfg, "carol@example.com", "info");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(server.seen().len(), 1);

    // A server whose certificate does not chain to a trusted root: a failed lookup,
    // so a temporary failure for a required recipient, and nothing delivered.
    let cfg = wkd_config(&f, None, &routes);
    let out = process(&f, &cfg, "carol@example.com", "info");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("\n451 4.3.0 ") && err.contains("wkd failed"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    // A recipient who takes S/MIME only is not looked up in WKD (OpenPGP only), so the
    // broken server does not matter: no key, refused.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[discovery]",
        "[policy.domain.\"example.com\"]\ntechnology = \"smime\"\n\n[discovery]",
    );
    let cfg = f.config(&text);
    let out = process(&f, &cfg, "carol@example.com", "info");
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert_eq!(server.seen().len(), 1, "WKD was asked: {:?}", server.seen());
}
