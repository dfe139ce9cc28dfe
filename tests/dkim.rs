#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! DKIM signing of the final message (RFC 6376; RFC 8463), checked by an independent
//! verifier: Debian's dkimpy (python3-dkim), fed the TXT record that
//! `reseal keys dkim-record` prints instead of DNS.

mod common;
mod smtp_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::dkimpy::{dkim_signature, dkimpy_verifies, tag};
use common::*;
use smtp_support::{Client, Server, Sink, free_port, relay_to};

/// A fresh private key from `openssl genpkey`: "RSA" (2048 bits) or "ED25519".
fn genkey(f: &Fixture, alg: &str) -> PathBuf {
    let p = f.dir.path().join(format!("dkim-{alg}.pem"));
    let mut c = Command::new("openssl");
    c.args(["genpkey", "-algorithm", alg]);
    if alg == "RSA" {
        c.args(["-pkeyopt", "rsa_keygen_bits:2048"]);
    }
    let out = c.arg("-out").arg(&p).output().unwrap();
    assert!(out.status.success(), "openssl genpkey {alg}");
    p
}

fn import_dkim_raw(f: &Fixture, domain: &str, selector: &str, key: &Path) -> Output {
    let key = key.display().to_string();
    f.keys_raw(&[
        "import-dkim",
        "--domain",
        domain,
        "--selector",
        selector,
        "--key",
        &key,
    ])
}

fn import_dkim(f: &Fixture, domain: &str, selector: &str, key: &Path) {
    ok(&import_dkim_raw(f, domain, selector, key), "import-dkim");
}

fn record(f: &Fixture, domain: &str) -> String {
    let out = f.keys(&["dkim-record", "--domain", domain]);
    String::from_utf8(out.stdout).unwrap()
}

const PLAIN: &[u8] = b"From: Alice <alice@example.com>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: Quarterly figures\r\n\
Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <dkim-test-1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
The figures are attached in spirit.\r\n\
Second line with  double  spaces.\r\n";

/// The disclaimer service, so that the message is adapted, recorded and re-sealed
/// (S/MIME-signed for alice and encrypted to bob) before it is DKIM-signed.
fn adapting_config(f: &Fixture, extra: &str) -> PathBuf {
    f.config(&format!(
        "{OPES_HEAD}\n[policy]\ntechnology = \"smime\"\n{DISCLAIMER_SERVICE}\n{extra}"
    ))
}

/// Breaks one character of the body, far from the header.
fn tamper_body(msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    let body = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let at = body + (m.len() - body) / 2;
    let i = (at..m.len())
        .find(|&i| m[i].is_ascii_alphanumeric())
        .unwrap();
    m[i] = if m[i] == b'A' { b'B' } else { b'A' };
    m
}

#[test]
fn rsa_and_ed25519_signatures_of_a_resealed_message_verify() {
    let f = Fixture::new();
    let cfg = adapting_config(&f, "");
    for (alg, selector, a) in [
        ("RSA", "rsa2026", "rsa-sha256"),
        ("ED25519", "ed2026", "ed25519-sha256"),
    ] {
        // The second import replaces the domain's first key.
        import_dkim(&f, "example.com", selector, &genkey(&f, alg));
        let rec = record(&f, "example.com");
        assert!(
            rec.starts_with(&format!(
                "{selector}._domainkey.example.com. IN TXT \"v=DKIM1; k="
            )),
            "{rec}"
        );
        let out = f.process(PLAIN, "alice@example.com", &["bob@example.org"], Some(&cfg));
        ok(&out, "process");
        let msg = &out.stdout;
        // It was re-sealed: encrypted to bob, and the trace is in the signed header.
        assert!(
            String::from_utf8_lossy(msg).contains("application/pkcs7-mime"),
            "not re-sealed"
        );
        let sig = dkim_signature(msg).expect("a DKIM-Signature");
        assert_eq!(tag(&sig, "a"), a);
        assert_eq!(tag(&sig, "d"), "example.com");
        assert_eq!(tag(&sig, "s"), selector);
        assert_eq!(tag(&sig, "c"), "relaxed/relaxed");
        assert!(tag(&sig, "t").parse::<u64>().unwrap() > 1_700_000_000);
        // RFC 6376 §5.4.2: From, To, Subject once more than they occur.
        let h: Vec<String> = tag(&sig, "h")
            .split(':')
            .map(|n| n.trim().to_ascii_lowercase())
            .collect();
        for (name, n) in [("from", 2), ("to", 2), ("subject", 2), ("date", 1)] {
            assert_eq!(
                h.iter().filter(|x| *x == name).count(),
                n,
                "{name} in {h:?}"
            );
        }
        for name in ["message-id", "mime-version", "content-type"] {
            assert!(h.iter().any(|x| x == name), "{name} in {h:?}");
        }
        let (pass, log) = dkimpy_verifies(f.dir.path(), msg, &rec);
        assert!(pass, "{alg}: dkimpy rejects the signature:\n{log}");
        // The DKIM-Signature sits above the gateway's Received line, outside the header
        // the modification record binds: bob's `reseal verify` still passes.
        let mut c = reseal();
        c.args(["verify", "--json", "--trust"]).arg(v("ca.pem"));
        c.arg("--opes-cert").arg(f.identity());
        c.arg("--key")
            .arg(v("bob.key"))
            .arg("--cert")
            .arg(v("bob.pem"));
        let out = run(c, msg);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["verdict"], "pass", "{report:#}");

        // A changed body fails; so does a From or a Subject added above the signed one
        // (the oversigning: a verifier takes fields bottom-up, so without it the added
        // field would not be covered).
        let (pass, log) = dkimpy_verifies(f.dir.path(), &tamper_body(msg), &rec);
        assert!(!pass, "{alg}: a tampered body verifies:\n{log}");
        for field in [
            "From: Mallory <ceo@example.com>",
            "Subject: Urgent: wire the money",
        ] {
            let mut added = format!("{field}\r\n").into_bytes();
            added.extend_from_slice(msg);
            let (pass, log) = dkimpy_verifies(f.dir.path(), &added, &rec);
            assert!(!pass, "{alg}: an added {field:?} verifies:\n{log}");
        }
    }
    // Only one key for the domain is left: the second.
    let list = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let keys = j["dkim_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{j}");
    assert_eq!(keys[0]["domain"], "example.com");
    assert_eq!(keys[0]["selector"], "ed2026");
    assert_eq!(keys[0]["algorithm"], "ed25519-sha256");
    assert!(!String::from_utf8_lossy(&list.stdout).contains("PRIVATE"));
}

#[test]
fn the_header_from_domain_signs_not_the_envelope() {
    let f = Fixture::empty();
    import_dkim(&f, "example.com", "sel", &genkey(&f, "ED25519"));
    let rec = record(&f, "example.com");
    // The envelope sender is a bounce address at another domain; From is example.com.
    let out = f.process(
        PLAIN,
        "bounces@lists.example.net",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    let sig = dkim_signature(&out.stdout).expect("a DKIM-Signature");
    assert_eq!(tag(&sig, "d"), "example.com");
    let (pass, log) = dkimpy_verifies(f.dir.path(), &out.stdout, &rec);
    assert!(pass, "{log}");

    // From a domain with no key: no signature, and the message still goes.
    let other = String::from_utf8_lossy(PLAIN).replace("alice@example.com", "alice@example.net");
    let out = f.process(
        other.as_bytes(),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    assert!(dkim_signature(&out.stdout).is_none());

    // A From domain that is not an ASCII DNS name: not signed, and logged as such.
    let odd = String::from_utf8_lossy(PLAIN).replace("alice@example.com", "alice@b\u{fc}cher.de");
    let mut c = reseal();
    c.env("RESEAL_LOG", "info").arg("process");
    c.arg("--keystore").arg(f.keystore());
    c.args([
        "--mail-from",
        "alice@example.com",
        "--rcpt",
        "bob@example.org",
    ]);
    let out = run(c, odd.as_bytes());
    ok(&out, "process");
    assert!(dkim_signature(&out.stdout).is_none());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("not DKIM-signing"), "{log}");
}

#[test]
fn a_domain_can_be_switched_off_and_a_stranger_is_not_signed_for() {
    let f = Fixture::empty();
    import_dkim(&f, "example.com", "sel", &genkey(&f, "RSA"));
    let cfg = f.config("[dkim]\ndisabled_domains = [\"Example.COM\"]\n");
    let out = f.process(PLAIN, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, "process");
    assert!(dkim_signature(&out.stdout).is_none());
    // Another domain listed: example.com is signed again.
    let cfg = f.config("[dkim]\ndisabled_domains = [\"example.org\"]\n");
    let out = f.process(PLAIN, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, "process");
    assert!(dkim_signature(&out.stdout).is_some());
    // A submitter the gateway may not sign for gets no DKIM signature either.
    let cfg = f.config("[admission]\nprocess_admitted = false\n");
    let out = f.process(PLAIN, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, "process");
    assert!(dkim_signature(&out.stdout).is_none());
    // A list entry that is not a domain is a configuration error.
    let cfg = f.config("[dkim]\ndisabled_domains = [\"not a domain\"]\n");
    let out = f.process(PLAIN, "alice@example.com", &["bob@example.org"], Some(&cfg));
    assert!(!out.status.success());
}

#[test]
fn dkim_record_splits_long_text_and_import_refuses_bad_input() {
    let f = Fixture::empty();
    import_dkim(&f, "Example.COM", "s1", &genkey(&f, "RSA"));
    let rec = record(&f, "example.com");
    let strings: Vec<&str> = rec.split('"').skip(1).step_by(2).collect();
    assert!(
        strings.len() >= 2,
        "an RSA-2048 record needs two strings: {rec}"
    );
    assert!(strings.iter().all(|s| s.len() <= 255), "{rec}");
    assert!(strings[0].starts_with("v=DKIM1; k=rsa; p=MII"), "{rec}");
    let ed = genkey(&f, "ED25519");
    for (domain, selector) in [
        ("example", "s1"),
        ("exa mple.com", "s1"),
        ("example.com", "a;b"),
    ] {
        let out = import_dkim_raw(&f, domain, selector, &ed);
        assert!(!out.status.success(), "{domain} {selector}");
    }
    // An EC key is not a DKIM key type.
    let ec = f.dir.path().join("ec.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&ec)
        .output()
        .unwrap();
    assert!(made.status.success());
    let out = import_dkim_raw(&f, "example.org", "s1", &ec);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RSA") && !err.contains("PRIVATE"), "{err}");
    // No key for a domain: dkim-record says so.
    assert!(
        !f.keys_raw(&["dkim-record", "--domain", "example.org"])
            .status
            .success()
    );
}

/// `reseal serve`: what the next hop receives over SMTP (spooled, relayed,
/// dot-stuffed and unstuffed) carries a signature that verifies.
#[test]
fn relayed_mail_is_signed() {
    let f = Fixture::new();
    import_dkim(&f, "example.com", "relay", &genkey(&f, "ED25519"));
    let rec = record(&f, "example.com");
    let sink = Sink::start(false, &[]);
    let srv = Server::start(&f, free_port(), &relay_to(sink.port));
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    // A body line that starts with a dot is stuffed on both hops.
    let mut msg = PLAIN.to_vec();
    msg.extend_from_slice(b".leading dot\r\n");
    let r = c.send("alice@example.com", &["bob@example.org"], &msg, "");
    assert!(r.starts_with("250 "), "{r}");
    c.cmd("QUIT");
    let got = sink.wait(1, 20);
    let data = &got[0].data;
    assert_eq!(tag(&dkim_signature(data).unwrap(), "s"), "relay");
    let (pass, log) = dkimpy_verifies(f.dir.path(), data, &rec);
    assert!(pass, "{log}");
    drop(srv);
}
