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
//! it cannot reach with a temporary failure, never with plaintext.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BASE: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Slapd { child, dir, port };
        s.wait_ready();
        s.add(&format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n"
        ));
        s
    }

    /// Polls until slapd accepts connections (bounded).
    fn wait_ready(&self) {
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
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
        let der = self.dir.path().join(format!("{cn}.der"));
        let out = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(v(pem))
            .arg("-out")
            .arg(&der)
            .output()
            .unwrap();
        ok(&out, "openssl x509");
        self.add(&format!(
            "dn: cn={cn},{BASE}\nobjectClass: inetOrgPerson\ncn: {cn}\nsn: {cn}\nmail: {mail}\n\
             userCertificate;binary:< file://{}\n",
            der.display()
        ));
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// A configuration: encryption required for everyone, keys from `order`, LDAP at `url`.
fn config(f: &Fixture, order: &str, url: &str) -> PathBuf {
    f.config(&format!(
        "{OPES_HEAD}\n[policy]\nencrypt = \"required\"\n\n[discovery]\norder = [{order}]\n\n\
         [discovery.ldap]\nurl = \"{url}\"\nbase = \"{BASE}\"\nfilter = \"(mail=%s)\"\n\
         attributes = [\"userCertificate;binary\"]\ntimeout_secs = 2\n"
    ))
}

/// `reseal process` from alice to `rcpt`, logging at `log`.
fn process(f: &Fixture, cfg: &Path, rcpt: &str, log: &str) -> Output {
    let mut c = reseal();
    c.arg("process")
        .arg("--keystore")
        .arg(f.keystore())
        .arg("--config")
        .arg(cfg)
        .args(["--mail-from", "alice@example.com", "--rcpt", rcpt])
        .env("RESEAL_LOG", log);
    let out = run(c, &message(rcpt));
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
    let out = process(&f, &cfg, "dave@example.com", "info");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "bounded by the timeout"
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
