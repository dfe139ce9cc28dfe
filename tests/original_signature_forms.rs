#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The sender's original OpenPGP signature survives a disclaimer in every form real
//! clients send (issue 13, item 3; docs/modification-record.md §3.3):
//! - PGP/MIME signed and encrypted in one OpenPGP message (RFC 3156 §6.2) the way gpgme
//!   makes it (NeoMutt's gpgme backend, KMail): the entity with LF line ends, signed in
//!   binary mode;
//! - inline PGP, signed and encrypted, in text mode (NeoMutt's classic backend) and in
//!   binary mode;
//! - inline clearsigned text (RFC 9580 §7);
//! - and, where the signature truly cannot travel (binary mode over mixed line ends), a
//!   verdict that fails and a record that says why.
//!
//! Every input is made by gpg here; every original that `reseal verify
//! --extract-original` writes is checked by gpg, without Reseal, as GOOD by alice.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A text with a signature separator (dash-escaped in a cleartext signature) and a
/// "From " line (which gpg dash-escapes too).
const TEXT: &str =
    "Hi Bob,\n\nthe quarterly figures are final.\nFrom here on, please use them.\n-- \nAlice\n";

/// What the disclaimer service appends (common::DISCLAIMER_SERVICE).
const DISCLAIMER: &str = "This e-mail is confidential.";

fn alice_fingerprint() -> String {
    let text = std::fs::read_to_string(pv("FINGERPRINTS.txt")).unwrap();
    text.lines()
        .find(|l| l.split_whitespace().next() == Some("alice"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_owned()
}

/// A throwaway gpg home (short path: the agent's socket lives in it).
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn with(keys: &[&str]) -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        let g = Gpg { home };
        for k in keys {
            ok(
                &g.run(&["--import", &pv(k).display().to_string()], b""),
                "gpg --import",
            );
        }
        g
    }

    /// The sender: alice's secret key, bob's certificate.
    fn alice() -> Gpg {
        Gpg::with(&["alice.sec.asc", "bob.pub.asc"])
    }

    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.home.path())
            .args([
                "--batch",
                "--yes",
                "--status-fd",
                "2",
                "--trust-model",
                "always",
            ])
            .args(args);
        run(c, stdin)
    }

    /// `gpg ARGS` on `input`, which must succeed; returns stdout.
    fn make(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = self.run(args, input);
        ok(&out, &format!("gpg {args:?}"));
        out.stdout
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .status();
    }
}

/// gpg said GOODSIG and VALIDSIG by alice's key, and exited with 0.
fn assert_good_by_alice(out: &Output, what: &str) {
    let status = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what}: gpg exited with {:?}:\n{status}",
        out.status.code()
    );
    assert!(
        status.contains("[GNUPG:] GOODSIG "),
        "{what}: no GOODSIG:\n{status}"
    );
    let valid = status
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("{what}: no VALIDSIG:\n{status}"));
    assert!(
        valid.trim_end().ends_with(&alice_fingerprint()),
        "{what}: signed by {valid}"
    );
}

/// LF to CRLF, as a mail client hands a message to SMTP.
fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

fn header(subject: &str, content: &str) -> String {
    format!(
        "From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: {subject}\n\
         Date: Wed, 02 Dec 2026 10:15:00 +0000\n\
         Message-ID: <{}.20261202101500@example.com>\nMIME-Version: 1.0\n{content}",
        subject.to_ascii_lowercase().replace(' ', "-")
    )
}

/// RFC 3156 §4 multipart/encrypted around an armored OpenPGP message.
fn pgp_mime_encrypted(subject: &str, armored: &[u8]) -> Vec<u8> {
    let m = header(
        subject,
        &format!(
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\n \
             boundary=\"=_gpgme_0001\"\n\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n\
             --=_gpgme_0001\nContent-Type: application/pgp-encrypted\n\
             Content-Description: PGP/MIME version identification\n\nVersion: 1\n\n\
             --=_gpgme_0001\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\
             Content-Disposition: inline; filename=\"encrypted.asc\"\n\n{}\n--=_gpgme_0001--\n",
            String::from_utf8(armored.to_vec()).unwrap().trim_end()
        ),
    );
    crlf(&m).into_bytes()
}

/// A text/plain message whose whole body is `armored` (inline PGP).
fn inline(subject: &str, action: &str, armored: &[u8]) -> Vec<u8> {
    let m = header(
        subject,
        &format!(
            "Content-Type: text/plain; charset=us-ascii; x-action={action}\n\
             Content-Transfer-Encoding: 7bit\n\n{}",
            String::from_utf8(armored.to_vec()).unwrap()
        ),
    );
    crlf(&m).into_bytes()
}

/// The gateway with alice's delegated key, bob's certificate and a disclaimer service,
/// encrypting OpenPGP.
fn gateway() -> (Fixture, PathBuf) {
    let f = Fixture::with_openpgp();
    let cfg = f.config(&format!(
        "{OPES_HEAD}\n[policy]\ntechnology = \"openpgp\"\n{DISCLAIMER_SERVICE}"
    ));
    (f, cfg)
}

/// Runs the message through the gateway and checks that it was delivered: bob's gpg
/// decrypts it, finds the disclaimer, and verifies the gateway's signature (alice's
/// delegated key).
fn deliver(f: &Fixture, cfg: &Path, input: &[u8]) -> Vec<u8> {
    let out = f.process(input, "alice@example.com", &["bob@example.org"], Some(cfg));
    ok(&out, "reseal process");
    let e = reseal::mime::Entity::parse(&out.stdout).unwrap();
    assert!(
        e.content_type().unwrap().is("multipart/encrypted"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mp = e.multipart().unwrap();
    let armored = reseal::mime::Entity::parse(&out.stdout[mp.parts[1].clone()])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned();
    let bob = Gpg::with(&["bob.sec.asc", "alice.pub.asc"]);
    let dec = bob.run(&["--decrypt"], &armored);
    assert_good_by_alice(&dec, "bob decrypts what was delivered");
    assert!(
        contains(&dec.stdout, DISCLAIMER.as_bytes()),
        "no disclaimer in what was delivered"
    );
    out.stdout
}

struct Verified {
    report: serde_json::Value,
    original: Option<Vec<u8>>,
}

/// `reseal verify --json --extract-original` as bob.
fn verify(f: &Fixture, delivered: &[u8]) -> Verified {
    let orig = f.dir.path().join("original.eml");
    let _ = std::fs::remove_file(&orig);
    let mut c = reseal();
    c.args(["verify", "--json", "--opes-cert"])
        .arg(f.identity())
        .arg("--openpgp-key")
        .arg(pv("bob.sec.asc"))
        .arg("--cert")
        .arg(pv("alice.pub.asc"))
        .arg("--extract-original")
        .arg(&orig);
    let out = run(c, delivered);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    let code = out.status.code();
    let pass = report["verdict"] == "pass";
    assert_eq!(code, Some(if pass { 0 } else { 1 }), "{report:#}");
    Verified {
        report,
        original: std::fs::read(&orig).ok(),
    }
}

/// The verdict passes and the original signature is reported valid, by alice.
fn assert_original_valid(r: &Verified, what: &str) {
    let rep = &r.report;
    assert_eq!(rep["verdict"], "pass", "{what}: {rep:#}");
    assert_eq!(rep["outer"]["valid"], true, "{what}: {rep:#}");
    assert_eq!(rep["record"]["valid"], true, "{what}: {rep:#}");
    assert_eq!(rep["original"]["reconstructible"], true, "{what}: {rep:#}");
    assert_eq!(rep["original"]["signed"], true, "{what}: {rep:#}");
    assert_eq!(rep["original"]["valid"], true, "{what}: {rep:#}");
    assert_eq!(
        rep["original"]["signer"], "alice@example.com",
        "{what}: {rep:#}"
    );
}

/// The record the delivered message carries, as JSON (bob decrypts with gpg).
fn record_json(delivered: &[u8]) -> serde_json::Value {
    let e = reseal::mime::Entity::parse(delivered).unwrap();
    let mp = e.multipart().unwrap();
    let armored = reseal::mime::Entity::parse(&delivered[mp.parts[1].clone()])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned();
    let bob = Gpg::with(&["bob.sec.asc", "alice.pub.asc"]);
    let plain = bob.make(&["--decrypt"], &armored);
    let carried = reseal::record::detach(&reseal::mime::to_crlf(&plain)).unwrap();
    serde_json::from_slice(&carried.json).unwrap()
}

/// NeoMutt's gpgme backend, KMail, Thunderbird with gpgme: the MIME entity with LF line
/// ends, signed in binary mode and encrypted in one OpenPGP message (RFC 3156 §6.2).
#[test]
fn gpgme_pgp_mime_binary_lf_signature_survives_a_disclaimer() {
    let alice = Gpg::alice();
    let entity = format!(
        "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n\n{TEXT}"
    );
    let armored = alice.make(
        &[
            "--sign",
            "--encrypt",
            "--armor",
            "-u",
            "alice@example.com",
            "-r",
            "alice@example.com",
            "-r",
            "bob@example.org",
        ],
        entity.as_bytes(),
    );
    let input = pgp_mime_encrypted("Figures gpgme", &armored);
    let (f, cfg) = gateway();
    let delivered = deliver(&f, &cfg, &input);
    let r = verify(&f, &delivered);
    assert_original_valid(&r, "gpgme PGP/MIME");
    let rec = record_json(&delivered);
    assert_eq!(
        rec["original"]["signature"]["frame"]["line_ends"], "lf",
        "{rec:#}"
    );
    // The original is a multipart/signed whose first part is what alice signed, byte for
    // byte (LF); gpg checks the signature over it without Reseal.
    let original = r.original.expect("original written");
    let e = reseal::mime::Entity::parse(&original).unwrap();
    assert!(e.content_type().unwrap().is("multipart/signed"));
    assert!(header_block(&original).contains("Subject: Figures gpgme\r\n"));
    let mp = e.multipart().unwrap();
    let signed = &original[mp.parts[0].clone()];
    assert_eq!(
        String::from_utf8_lossy(signed),
        entity,
        "the signed part is the entity as alice signed it"
    );
    let sig = reseal::mime::Entity::parse(&original[mp.parts[1].clone()])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned();
    let verifier = Gpg::with(&["alice.pub.asc"]);
    let dir = verifier.home.path().to_owned();
    std::fs::write(dir.join("sig.asc"), &sig).unwrap();
    std::fs::write(dir.join("signed"), signed).unwrap();
    let out = verifier.run(
        &[
            "--verify",
            &dir.join("sig.asc").display().to_string(),
            &dir.join("signed").display().to_string(),
        ],
        b"",
    );
    assert_good_by_alice(&out, "gpg --verify on the extracted original");
}

/// Inline PGP signed and encrypted: in text mode (NeoMutt's classic backend,
/// `--textmode`) and in binary mode. The signature covers the text only; the original
/// is written as an inline signed message that gpg verifies as it is.
#[test]
fn inline_signed_and_encrypted_survives_a_disclaimer() {
    let alice = Gpg::alice();
    for mode in ["--textmode", "--no-textmode"] {
        let armored = alice.make(
            &[
                "--sign",
                "--encrypt",
                "--armor",
                mode,
                "-u",
                "alice@example.com",
                "-r",
                "alice@example.com",
                "-r",
                "bob@example.org",
            ],
            TEXT.as_bytes(),
        );
        let input = inline("Figures inline", "pgp-encrypted", &armored);
        let (f, cfg) = gateway();
        let delivered = deliver(&f, &cfg, &input);
        let r = verify(&f, &delivered);
        assert_original_valid(&r, mode);
        let original = r.original.expect("original written");
        let h = header_block(&original);
        assert!(h.contains("Subject: Figures inline\r\n"), "{mode}: {h}");
        assert!(h.contains("Content-Type: text/plain"), "{mode}: {h}");
        assert!(
            contains(&original, b"\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n"),
            "{mode}: {}",
            String::from_utf8_lossy(&original)
        );
        assert!(!contains(&original, DISCLAIMER.as_bytes()), "{mode}");
        // gpg verifies the original message file as it is, and gives alice's text back.
        let verifier = Gpg::with(&["alice.pub.asc"]);
        let path = verifier.home.path().join("original.eml");
        std::fs::write(&path, &original).unwrap();
        let out = verifier.run(&["--verify", &path.display().to_string()], b"");
        assert_good_by_alice(&out, &format!("{mode}: gpg --verify original.eml"));
        let out = verifier.run(&["--decrypt", &path.display().to_string()], b"");
        assert_good_by_alice(&out, &format!("{mode}: gpg --decrypt original.eml"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
            TEXT,
            "{mode}"
        );
    }
}

/// Inline clearsigned text (RFC 9580 §7): the original is the message as alice sent it,
/// armor and dash-escapes included, byte for byte, and gpg verifies it as it is.
#[test]
fn inline_clearsigned_survives_a_disclaimer() {
    let alice = Gpg::alice();
    let clearsigned = alice.make(&["--clearsign", "-u", "alice@example.com"], TEXT.as_bytes());
    assert!(contains(&clearsigned, b"\n- -- \n"), "gpg dash-escapes");
    let input = inline("Figures clearsigned", "pgp-signed", &clearsigned);
    let (f, cfg) = gateway();
    let delivered = deliver(&f, &cfg, &input);
    let r = verify(&f, &delivered);
    assert_original_valid(&r, "clearsigned");
    let rec = record_json(&delivered);
    assert_eq!(
        rec["original"]["signature"]["frame"]["content"], "body",
        "{rec:#}"
    );
    let original = r.original.expect("original written");
    assert_eq!(
        String::from_utf8_lossy(&original),
        String::from_utf8_lossy(&input),
        "the original is what alice sent, byte for byte"
    );
    let verifier = Gpg::with(&["alice.pub.asc"]);
    let path = verifier.home.path().join("original.eml");
    std::fs::write(&path, &original).unwrap();
    let out = verifier.run(&["--verify", &path.display().to_string()], b"");
    assert_good_by_alice(&out, "gpg --verify original.eml");
}

/// A binary-mode signature over an entity whose line ends mix CRLF and LF: the
/// canonical (CRLF) message cannot give the signed bytes back. The message is still
/// delivered, but the record says why the signature could not be carried and the
/// verdict fails.
#[test]
fn a_signature_that_cannot_be_carried_fails_the_verdict_with_its_reason() {
    let alice = Gpg::alice();
    let entity =
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nHi Bob,\nmixed line ends.\r\nAlice\n";
    let armored = alice.make(
        &[
            "--sign",
            "--encrypt",
            "--armor",
            "-u",
            "alice@example.com",
            "-r",
            "alice@example.com",
        ],
        entity.as_bytes(),
    );
    let input = pgp_mime_encrypted("Figures mixed", &armored);
    let (f, cfg) = gateway();
    let delivered = deliver(&f, &cfg, &input);
    let r = verify(&f, &delivered);
    let rep = &r.report;
    assert_eq!(rep["verdict"], "fail", "{rep:#}");
    assert_eq!(rep["record"]["valid"], true, "{rep:#}");
    assert_eq!(rep["original"]["signed"], true, "{rep:#}");
    assert_eq!(rep["original"]["valid"], false, "{rep:#}");
    assert_eq!(rep["original"]["signer"], "alice@example.com", "{rep:#}");
    let reason = rep["original"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("binary-signature-mixed-line-ends"),
        "{reason}"
    );
    assert!(
        rep["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("original signature:")),
        "{rep:#}"
    );
    let rec = record_json(&delivered);
    assert!(rec["original"]["signature"].is_null(), "{rec:#}");
    assert_eq!(
        rec["original"]["signature_lost"],
        serde_json::json!({
            "technology": "openpgp",
            "signer": "alice@example.com",
            "reason": "binary-signature-mixed-line-ends"
        }),
        "{rec:#}"
    );
}
