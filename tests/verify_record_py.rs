#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The auditor's kit (issue 17): tools/verify-record.py, a second implementation of
//! docs/modification-record.md §4 in Python with openssl and gpg, runs beside
//! `reseal verify` on every record these tests produce, and the two must agree: on the
//! record's signature, its binding, the trace, the rebuilt original (byte for byte) and
//! the sender's signature over it. Every service kind, both technologies, and tampering
//! that both must catch.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Debian's python3 (the kit needs only the standard library); a pyenv one may be first
/// on PATH.
fn python() -> Command {
    let debian = Path::new("/usr/bin/python3");
    Command::new(if debian.exists() {
        debian
    } else {
        Path::new("python3")
    })
}

fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/verify-record.py")
}

/// Both verifiers' findings on one delivered message.
struct Both {
    py: Value,
    py_code: i32,
    py_original: Option<Vec<u8>>,
    rs: Value,
    rs_code: i32,
    rs_original: Option<Vec<u8>>,
}

fn is_openpgp(msg: &[u8]) -> bool {
    contains(header_block(msg).as_bytes(), b"application/pgp-")
        || contains(msg, b"-----BEGIN PGP MESSAGE-----")
}

/// What the recipient decrypts, with openssl or gpg alone; `None` for a message that
/// is signed only.
fn decrypt(msg: &[u8]) -> Option<Vec<u8>> {
    let h = header_block(msg);
    if h.contains("application/pkcs7-mime") {
        Some(openssl_decrypt(msg, "bob").unwrap())
    } else if h.contains("multipart/encrypted") {
        let begin = b"-----BEGIN PGP MESSAGE-----";
        let end = b"-----END PGP MESSAGE-----";
        let s = msg.windows(begin.len()).position(|w| w == begin).unwrap();
        let e = msg.windows(end.len()).position(|w| w == end).unwrap() + end.len();
        let (dec, status) = gpg::Gpg::for_bob().decrypt(&msg[s..e]);
        assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
        Some(dec)
    } else {
        None
    }
}

/// Runs tools/verify-record.py and `reseal verify` on `msg`.
fn both(f: &Fixture, msg: &[u8]) -> Both {
    both_trusting(f, msg, &f.identity(), &v("ca.pem"), &pv("alice.pub.asc"))
}

/// [`both`], with the record's signature checked against `identity` alone, and the
/// senders' signatures against `ca` (S/MIME) and `sender` (OpenPGP) alone.
fn both_trusting(f: &Fixture, msg: &[u8], identity: &Path, ca: &Path, sender: &Path) -> Both {
    let dir = f.dir.path();
    let message = f.tmp("delivered.eml", msg);
    let (py_orig, rs_orig) = (dir.join("py-original.eml"), dir.join("rs-original.eml"));
    let _ = std::fs::remove_file(&py_orig);
    let _ = std::fs::remove_file(&rs_orig);

    let mut c = python();
    c.arg(tool()).arg("--message").arg(&message);
    if let Some(dec) = decrypt(msg) {
        c.arg("--decrypted").arg(f.tmp("decrypted.mime", &dec));
    }
    c.arg("--opes-cert")
        .arg(identity)
        .arg("--ca")
        .arg(ca)
        .arg("--sender-pgp")
        .arg(sender)
        .arg("--write-original")
        .arg(&py_orig)
        .arg("--json");
    let py = run(c, b"");
    let py_json: Value = serde_json::from_slice(&py.stdout).unwrap_or_else(|e| {
        panic!(
            "verify-record.py printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&py.stdout),
            stderr(&py)
        )
    });

    let mut c = reseal();
    c.args(["verify", "--json", "--trust"])
        .arg(ca)
        .arg("--opes-cert")
        .arg(identity)
        .arg("--extract-original")
        .arg(&rs_orig);
    if is_openpgp(msg) {
        c.arg("--openpgp-key")
            .arg(pv("bob.sec.asc"))
            .arg("--cert")
            .arg(sender);
    } else {
        c.arg("--key")
            .arg(v("bob.key"))
            .arg("--cert")
            .arg(v("bob.pem"));
    }
    let rs = run(c, msg);
    let rs_json: Value = serde_json::from_slice(&rs.stdout).unwrap_or_else(|e| {
        panic!(
            "reseal verify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&rs.stdout)
        )
    });
    Both {
        py: py_json,
        py_code: py.status.code().unwrap_or(-1),
        py_original: std::fs::read(&py_orig).ok(),
        rs: rs_json,
        rs_code: rs.status.code().unwrap_or(-1),
        rs_original: std::fs::read(&rs_orig).ok(),
    }
}

/// Whether a report names a problem at `place` (`record signature`, `trace`, ...).
fn problem_at(report: &Value, place: &str) -> bool {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p.as_str().unwrap().starts_with(&format!("{place}:")))
}

/// The two verifiers agree, field by field, on everything the kit checks.
fn assert_agree(b: &Both, what: &str) {
    let ctx = format!(
        "{what}\nverify-record.py: {:#}\nreseal verify: {:#}",
        b.py, b.rs
    );
    assert_eq!(b.py["verdict"], b.rs["verdict"], "verdict: {ctx}");
    assert_eq!(b.py_code, b.rs_code, "exit status: {ctx}");
    assert_eq!(
        b.py["record"]["present"], b.rs["record"]["present"],
        "{ctx}"
    );
    assert_eq!(
        b.py["record"]["valid"], b.rs["record"]["valid"],
        "record.valid: {ctx}"
    );
    for place in [
        "record signature",
        "record binding",
        "trace",
        "header",
        "wrapper",
        "original signature",
    ] {
        assert_eq!(
            problem_at(&b.py, place),
            problem_at(&b.rs, place),
            "a problem at {place}: {ctx}"
        );
    }
    if b.rs["record"]["valid"] == true {
        assert_eq!(b.py["record"]["id"], b.rs["record"]["id"], "{ctx}");
        assert_eq!(b.py["record"]["system"], b.rs["record"]["system"], "{ctx}");
        let kinds = |r: &Value, key: &str| -> Vec<Value> {
            r["record"]["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[key].clone())
                .collect()
        };
        for key in ["service", "kind", "place", "reversible"] {
            assert_eq!(
                kinds(&b.py, key),
                kinds(&b.rs, key),
                "changes[].{key}: {ctx}"
            );
        }
        for key in ["reconstructible", "digest", "signed", "valid"] {
            assert_eq!(
                b.py["original"][key], b.rs["original"][key],
                "original.{key}: {ctx}"
            );
        }
        assert_eq!(
            b.py_original.as_deref().map(String::from_utf8_lossy),
            b.rs_original.as_deref().map(String::from_utf8_lossy),
            "the rebuilt originals, byte for byte: {what}"
        );
    }
}

fn config(f: &Fixture, technology: &str, services: &str) -> PathBuf {
    f.config(&format!(
        "{OPES_HEAD}\n[policy]\ntechnology = \"{technology}\"\n{services}"
    ))
}

/// Delivers `input` to `rcpt` through `services` and checks that both verifiers pass
/// it and agree; returns the delivered message and the findings.
fn deliver_and_agree(
    f: &Fixture,
    technology: &str,
    services: &str,
    input: &[u8],
    mail_from: &str,
    rcpt: &str,
    what: &str,
) -> (Vec<u8>, Both) {
    let cfg = config(f, technology, services);
    let out = f.process(input, mail_from, &[rcpt], Some(&cfg));
    ok(&out, what);
    let b = both(f, &out.stdout);
    assert_agree(&b, what);
    assert_eq!(b.py["verdict"], "pass", "{what}: {:#}", b.py);
    assert_eq!(b.py["record"]["present"], true, "{what}");
    (out.stdout, b)
}

fn reversible(b: &Both, _input: &[u8], what: &str) {
    assert_eq!(
        b.py["original"]["reconstructible"], true,
        "{what}: {:#}",
        b.py
    );
    let signed = b.py["original"]["signed"] == true;
    assert_eq!(b.py["original"]["valid"], signed, "{what}");
    // openssl checks an S/MIME original the kit wrote on its own, as an auditor would.
    let original = b
        .py_original
        .as_deref()
        .expect("the kit wrote the original");
    if signed && header_block(original).contains("application/pkcs7") {
        openssl_verify(original).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

/// Delivers each (technology, (services, vector)) from alice to bob, checks that both
/// verifiers pass and agree, then runs `check` on the findings and the input.
fn services_agree<'a>(
    cases: impl Iterator<Item = (&'a str, (&'a str, PathBuf))>,
    check: impl Fn(&Both, &[u8], &str),
) {
    let f = Fixture::with_openpgp();
    for (technology, (services, vector)) in cases {
        let input = std::fs::read(&vector).unwrap();
        let kinds: Vec<&str> = services.lines().filter(|l| l.starts_with("kind")).collect();
        let what = format!("{technology}, {}, {kinds:?}", vector.display());
        let (_, b) = deliver_and_agree(
            &f,
            technology,
            services,
            &input,
            "alice@example.com",
            "bob@example.org",
            &what,
        );
        check(&b, &input, &what);
    }
}

/// Every reversible service, over every form of the sender's signature in the vectors:
/// both verifiers pass, rebuild the same original and find the sender's signature valid.
#[test]
fn reversible_services_agree_for_both_technologies() {
    let (d, t) = (DISCLAIMER_SERVICE, TAG_AND_HEADERS_SERVICES);
    let smime = [
        (d, v("openssl-signed-plain.eml")),
        (d, v("openssl-sign-then-enc-cbc.eml")),
        (d, v("openssl-signed-8bit.eml")),
        (d, v("openssl-signed-qp.eml")),
        (d, v("openssl-signed-opaque.eml")),
        (d, v("msg-html.eml")),
        (t, v("openssl-sign-then-enc-gcm.eml")),
        (t, v("openssl-signed-plain.eml")),
    ]
    .map(|case| ("smime", case));
    let openpgp = [
        (d, pv("gpg-pgpmime-signed.eml")),
        (d, pv("gpg-pgpmime-signed-encrypted.eml")),
        (d, pv("sq-pgpmime-signed.eml")),
        (d, pv("sq-pgpmime-signed-encrypted.eml")),
        (d, pv("rnp-pgpmime-signed-encrypted.eml")),
        (d, pv("gpg-inline-clearsigned.eml")),
        (d, pv("gpg-inline-encrypted.eml")),
        (t, pv("gpg-pgpmime-signed.eml")),
        (t, pv("msg-plain.eml")),
    ]
    .map(|case| ("openpgp", case));
    services_agree(smime.into_iter().chain(openpgp), reversible);
}

/// The address map changes the envelope and the header; the original holds the internal
/// addresses, byte for byte.
#[test]
fn address_map_agrees_for_both_technologies() {
    let f = Fixture::with_openpgp();
    for (technology, vectors) in [("smime", vectors()), ("openpgp", pv(""))] {
        let msg = String::from_utf8(std::fs::read(vectors.join("msg-plain.eml")).unwrap())
            .unwrap()
            .replace(
                "Alice <alice@example.com>",
                "Alice <alice@corp.example.local>",
            )
            .replace("To: Bob", "Reply-To: alice@corp.example.local\r\nTo: Bob");
        let what = format!("{technology} address-map");
        let (_, b) = deliver_and_agree(
            &f,
            technology,
            ADDRESS_MAP_SERVICE,
            msg.as_bytes(),
            "alice@corp.example.local",
            "bob@example.org",
            &what,
        );
        reversible(&b, msg.as_bytes(), &what);
        assert_eq!(b.py_original.as_deref(), Some(msg.as_bytes()), "{what}");
    }
}

/// DLP redaction and attachment removal cannot be undone: both verifiers report the
/// record's commitment to the original, and neither writes an original.
fn irreversible(b: &Both, input: &[u8], what: &str) {
    assert_eq!(b.py["original"]["reconstructible"], false, "{what}");
    assert_eq!(
        b.py["original"]["digest"],
        reseal::adapt::digest(input),
        "{what}"
    );
    assert!(b.py_original.is_none(), "{what}");
}

/// DLP redaction, attachment removal and a callout's modification cannot be undone:
/// both verifiers report the record's commitment to the original, and neither writes
/// an original.
#[test]
fn irreversible_services_agree() {
    let cases = ["smime", "openpgp"].into_iter().flat_map(|technology| {
        [
            (DLP_REDACT_SERVICE, v("openssl-signed-plain.eml")),
            (ATTACHMENTS_REMOVE_SERVICE, v("openssl-signed-attach.eml")),
            (DLP_REDACT_SERVICE, pv("gpg-pgpmime-signed.eml")),
        ]
        .map(|case| (technology, case))
    });
    services_agree(cases, irreversible);
    let f = Fixture::with_openpgp();
    for technology in ["smime", "openpgp"] {
        let (port, server) = http_server(
            b"HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nConnection: close\r\n\r\n\
              From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\n\
              Subject: Quarterly figures\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n\
              Cleaned by the scanner.\r\n",
        );
        let callout = format!(
            "[[service]]\nid = \"https://gw.example.com/opes/scan\"\nkind = \"callout\"\n\
             url = \"http://127.0.0.1:{port}/scan\"\ntimeout_ms = 5000\non_failure = \"reject\"\n"
        );
        let input = read("openssl-signed-plain.eml");
        let what = format!("{technology} callout");
        let (_, b) = deliver_and_agree(
            &f,
            technology,
            &callout,
            &input,
            "alice@example.com",
            "bob@example.org",
            &what,
        );
        server.join().unwrap();
        irreversible(&b, &input, &what);
        assert!(
            contains(
                &b.py["record"]["changes"].to_string().into_bytes(),
                b"callout"
            ),
            "{what}"
        );
    }
}

/// The record's base64 JSON, re-encoded after `edit`, in 72-character chunks.
fn edit_record(msg: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(msg.to_vec()).unwrap();
    let start = text.find("OPES-Record:").unwrap();
    let end = start + text[start..].find("OPES-Record-Signature:").unwrap();
    let old: String = text[start + 12..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut doc: Value = serde_json::from_slice(&b64.decode(old).unwrap()).unwrap();
    edit(&mut doc);
    let new = b64.encode(serde_json::to_vec(&doc).unwrap());
    let chunks: Vec<&str> = new
        .as_bytes()
        .chunks(72)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{}OPES-Record:\r\n {}\r\n{}",
        &text[..start],
        chunks.join("\r\n "),
        &text[end..]
    )
    .into_bytes()
}

fn replace(msg: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} in the message");
    text.replacen(from, to, 1).into_bytes()
}

/// Signed-only delivery (carol has no certificate), so the delivered bytes can be
/// edited: each edit fails both verifiers, at the same place.
#[test]
fn tampering_fails_both() {
    let f = Fixture::with_openpgp();
    for (technology, input) in [
        ("smime", read("openssl-signed-plain.eml")),
        (
            "openpgp",
            std::fs::read(pv("gpg-pgpmime-signed.eml")).unwrap(),
        ),
    ] {
        let services = format!("{DISCLAIMER_SERVICE}{TAG_AND_HEADERS_SERVICES}");
        let (msg, _) = deliver_and_agree(
            &f,
            technology,
            &services,
            &input,
            "alice@example.com",
            "carol@example.com",
            &format!("{technology} signed only"),
        );
        assert!(!header_block(&msg).contains("pkcs7-mime"));
        let text = String::from_utf8(msg.clone()).unwrap();
        let received = text.lines().next().unwrap().to_owned();
        assert!(received.starts_with("Received: by "), "{received}");
        let id = received.rsplit(' ').next().unwrap();
        let date = text.lines().nth(2).unwrap().trim();
        let above = |field: &str| [format!("{field}\r\n").as_bytes(), &msg].concat();
        // (what, the edited message, where both must fail; None: both must pass)
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            (
                "a change's kind",
                edit_record(&msg, |d| d["changes"][0]["kind"] = "headers".into()),
                Some("record signature"),
            ),
            (
                "a recipe step",
                edit_record(&msg, |d| {
                    d["recipe"]["b"] = serde_json::json!([{"c": [1, 2]}])
                }),
                Some("record signature"),
            ),
            (
                "the delivered body",
                replace(&msg, "Hi Bob", "Hi Rob"),
                Some("record binding"),
            ),
            (
                "a header field below the trace",
                replace(&msg, "\r\nTo: Bob", "\r\nTo: Rob"),
                Some("record binding"),
            ),
            (
                "the gateway's Received field",
                replace(&msg, &received, &received.replace(" id ", " (relayed) id ")),
                Some("trace"),
            ),
            (
                "a second gateway Received field above",
                above(&format!(
                    "Received: by gw2 (Reseal 9.9) id {id};\r\n\t{date}"
                )),
                Some("trace"),
            ),
            (
                "a later hop's Received field that reuses the id",
                above(&format!(
                    "Received: from gw by mx with ESMTP id {id};\r\n\t{date}"
                )),
                None,
            ),
            (
                "a Reply-To above the trace",
                above("Reply-To: eve@example.net"),
                Some("header"),
            ),
            (
                "the wrapper's preamble",
                replace(
                    &msg,
                    "signed message",
                    "signed message. Click http://x.test",
                ),
                Some("wrapper"),
            ),
        ];
        for (edit, tampered, place) in cases {
            let what = format!("{technology}: {edit}");
            let b = both(&f, &tampered);
            assert_agree(&b, &what);
            match place {
                Some(place) => {
                    assert_eq!(b.py["verdict"], "fail", "{what}: {:#}", b.py);
                    assert_eq!(b.py_code, 1, "{what}");
                    assert!(problem_at(&b.py, place), "{what} at {place}: {:#}", b.py);
                }
                None => assert_eq!(b.py["verdict"], "pass", "{what}: {:#}", b.py),
            }
        }
    }
}

/// `entity` signed (binary mode) and encrypted by alice with gpg, the way gpgme-based
/// clients send PGP/MIME (RFC 3156 §6.2).
fn gpgme_message(entity: &str) -> Vec<u8> {
    // bob's home, with alice's secret key added: she signs, and encrypts to both (the
    // gateway decrypts with her delegated key).
    let g = gpg::Gpg::for_bob();
    let mut c = g.cmd();
    c.arg("--import").arg(pv("alice.sec.asc"));
    ok(&run(c, b""), "gpg --import alice.sec.asc");
    // Her key by fingerprint: alice-rsa has her address too.
    let fingerprints = std::fs::read_to_string(pv("FINGERPRINTS.txt")).unwrap();
    let alice = fingerprints
        .lines()
        .find_map(|l| l.strip_prefix("alice "))
        .unwrap()
        .trim();
    let mut c = g.cmd();
    c.args(["--trust-model", "always", "--sign", "--encrypt", "--armor"])
        .args(["-u", alice, "-r", alice, "-r", "bob@example.org"]);
    let out = run(c, entity.as_bytes());
    ok(&out, "gpg --sign --encrypt");
    let armored = String::from_utf8(out.stdout).unwrap();
    format!(
        "From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: LF\n\
         Date: Wed, 02 Dec 2026 10:15:00 +0000\nMessage-ID: <lf@example.com>\nMIME-Version: 1.0\n\
         Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\n\n\
         --b1\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n\
         --b1\nContent-Type: application/octet-stream\n\n{armored}--b1--\n"
    )
    .replace('\n', "\r\n")
    .into_bytes()
}

/// A binary signature over LF text travels with `"line_ends": "lf"`; over mixed line
/// ends it cannot, and the record says so (`signature_lost`): both verifiers rebuild the
/// same original, and both fail the second.
#[test]
fn binary_signatures_over_lf_and_mixed_line_ends_agree() {
    let f = Fixture::with_openpgp();
    let head = "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n";
    for (body, lost) in [
        ("Hi Bob,\n\nthe figures.\n-- \nAlice\n", false),
        ("Hi Bob,\r\n\nthe figures.\n-- \nAlice\n", true),
    ] {
        let input = gpgme_message(&format!("{head}{body}"));
        let what = format!("binary signature, lost: {lost}");
        let cfg = config(&f, "openpgp", DISCLAIMER_SERVICE);
        let out = f.process(
            &input,
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        );
        ok(&out, &what);
        let b = both(&f, &out.stdout);
        assert_agree(&b, &what);
        assert_eq!(b.py["original"]["reconstructible"], true, "{what}");
        assert_eq!(b.py["original"]["signed"], true, "{what}");
        assert_eq!(b.py["original"]["valid"], !lost, "{what}: {:#}", b.py);
        assert_eq!(
            b.py["verdict"],
            if lost { "fail" } else { "pass" },
            "{what}"
        );
        assert_eq!(problem_at(&b.py, "original signature"), lost, "{what}");
        if !lost {
            // The signed part as alice signed it, with LF line ends ("line_ends": "lf").
            let original = b.py_original.as_deref().unwrap();
            assert!(contains(original, body.as_bytes()), "{what}");
        }
    }
}

/// The sender's original signature is checked, not assumed: against an anchor that did
/// not issue alice's certificate, or another sender's OpenPGP key, both verifiers report
/// the original as rebuilt but its signature as not valid.
#[test]
fn the_original_signature_is_checked_against_the_given_anchors() {
    let f = Fixture::with_openpgp();
    let wrong_ca = v("evil-ca.pem");
    for (technology, input) in [
        ("smime", read("openssl-signed-plain.eml")),
        (
            "openpgp",
            std::fs::read(pv("gpg-pgpmime-signed.eml")).unwrap(),
        ),
    ] {
        let cfg = config(&f, technology, DISCLAIMER_SERVICE);
        // Signed only (carol has no certificate): nothing to decrypt, so the anchors
        // bear on the signatures alone.
        let out = f.process(
            &input,
            "alice@example.com",
            &["carol@example.com"],
            Some(&cfg),
        );
        ok(&out, technology);
        let b = both_trusting(
            &f,
            &out.stdout,
            &f.identity(),
            &wrong_ca,
            &pv("carol.pub.asc"),
        );
        assert_agree(&b, technology);
        assert_eq!(b.py["record"]["valid"], true, "{technology}: {:#}", b.py);
        assert_eq!(b.py["original"]["reconstructible"], true, "{technology}");
        assert_eq!(b.py["original"]["signed"], true, "{technology}");
        assert_eq!(b.py["original"]["valid"], false, "{technology}: {:#}", b.py);
        assert!(problem_at(&b.py, "original signature"), "{technology}");
    }
}

/// The record's signature is checked against the gateway's identity, not merely for
/// being a signature: against another gateway's identity, both verifiers find the
/// record invalid.
#[test]
fn a_record_checked_against_another_identity_fails_both() {
    let f = Fixture::with_openpgp();
    let other_gateway = Fixture::with_openpgp();
    let other = other_gateway.identity();
    for technology in ["smime", "openpgp"] {
        let cfg = config(&f, technology, DISCLAIMER_SERVICE);
        let input = read("openssl-signed-plain.eml");
        let out = f.process(
            &input,
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        );
        ok(&out, technology);
        let b = both_trusting(&f, &out.stdout, &other, &v("ca.pem"), &pv("alice.pub.asc"));
        assert_agree(&b, technology);
        assert_eq!(b.py["record"]["valid"], false, "{technology}: {:#}", b.py);
        assert_eq!(b.py["verdict"], "fail", "{technology}");
        assert!(
            problem_at(&b.py, "record signature"),
            "{technology}: {:#}",
            b.py
        );
    }
}
