#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Opaque S/MIME signatures as streaming signers write them: the eContent as a BER
//! constructed OCTET STRING of 4096-byte chunks with indefinite lengths (X.690 §8.7.3),
//! from `gpgsm --sign` and `openssl cms -sign -nodetach -stream`, on their own and
//! inside a streamed encryption to the gateway. Each goes through with alice's
//! signature carried on, and bob reads exactly what alice signed.

mod common;

use std::process::Command;

use base64::Engine as _;
use common::gpgsm::Gpgsm;
use common::*;

/// msg-attach.eml split into alice's header fields (no Content-*, no MIME-Version) and
/// the entity she signs.
fn parts() -> (String, Vec<u8>) {
    let raw = read("msg-attach.eml");
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut outer = String::new();
    let mut inner = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-") {
            inner.push_str(line);
            inner.push_str("\r\n");
        } else if !lower.starts_with("mime-version") {
            outer.push_str(line);
            outer.push_str("\r\n");
        }
    }
    inner.push_str("\r\n");
    inner.push_str(body);
    (outer, inner.into_bytes())
}

/// A message carrying the CMS object `der` as application/pkcs7-mime.
fn pkcs7_message(outer: &str, smime_type: &str, der: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "{outer}MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n{}\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

/// `openssl cms` with `args` over `input`, DER out, then `recipients` (certificate
/// files, which openssl wants last).
fn openssl_cms(f: &Fixture, args: &[&str], input: &[u8], recipients: &[&str]) -> Vec<u8> {
    let p = f.tmp("cms-in", input);
    let mut c = Command::new("openssl");
    c.arg("cms")
        .args(args)
        .arg("-in")
        .arg(&p)
        .args(["-outform", "DER"])
        .args(recipients);
    let out = run(c, b"");
    ok(&out, &format!("openssl cms {args:?}"));
    out.stdout
}

fn sign_streamed(f: &Fixture, entity: &[u8]) -> Vec<u8> {
    let cert = v("alice.pem").display().to_string();
    let key = v("alice.key").display().to_string();
    openssl_cms(
        f,
        &[
            "-sign",
            "-binary",
            "-nodetach",
            "-stream",
            "-signer",
            &cert,
            "-inkey",
            &key,
        ],
        entity,
        &[],
    )
}

/// The signed entity in a streamed AES-256-GCM encryption to alice (the gateway's key).
fn encrypt_streamed(f: &Fixture, entity: &[u8]) -> Vec<u8> {
    let cert = v("alice.pem").display().to_string();
    openssl_cms(
        f,
        &["-encrypt", "-binary", "-stream", "-aes-256-gcm"],
        entity,
        &[&cert],
    )
}

/// Whether `der` holds an indefinite-length constructed OCTET STRING (0x24 0x80): the
/// vector is what the test means it to be.
fn chunked(der: &[u8]) -> bool {
    der.windows(4).any(|w| w == [0x24, 0x80, 0x04, 0x82])
}

/// Through the gateway to bob: delivered, alice's signature verifies in openssl, and
/// bob reads exactly `entity`; then again through a disclaimer service, where `reseal
/// verify` passes with alice's original signature valid, and openssl verifies the
/// extracted original as it is.
fn check(f: &Fixture, msg: &[u8], entity: &[u8], what: &str) {
    check_plain(f, msg, entity, what);
    let cfg = f.config(&format!("{OPES_HEAD}{DISCLAIMER_SERVICE}"));
    let out = f.process(msg, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, &format!("{what}, disclaimer"));
    let orig = f.dir.path().join("original.eml");
    let _ = std::fs::remove_file(&orig);
    let mut c = reseal();
    c.args(["verify", "--json", "--trust"])
        .arg(v("ca.pem"))
        .arg("--opes-cert")
        .arg(f.identity())
        .arg("--key")
        .arg(v("bob.key"))
        .arg("--cert")
        .arg(v("bob.pem"))
        .arg("--extract-original")
        .arg(&orig);
    let r = run(c, &out.stdout);
    let report: serde_json::Value =
        serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", stderr(&r)));
    assert_eq!(report["verdict"], "pass", "{what}: {report:#}");
    assert_eq!(report["original"]["valid"], true, "{what}: {report:#}");
    let original = std::fs::read(&orig).unwrap_or_else(|e| panic!("{what}: {e}"));
    let content = openssl_verify(&original)
        .unwrap_or_else(|e| panic!("{what}: openssl does not verify the original: {e}"));
    assert_eq!(
        String::from_utf8_lossy(&content),
        String::from_utf8_lossy(entity),
        "{what}: the original is not what alice signed"
    );
}

fn check_plain(f: &Fixture, msg: &[u8], entity: &[u8], what: &str) {
    let out = f.process(msg, "alice@example.com", &["bob@example.org"], None);
    ok(&out, what);
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap_or_else(|e| panic!("{what}: {e}"));
    let content = openssl_verify(&dec).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        openssl_signer_emails(&dec, f.dir.path()),
        "alice@example.com",
        "{what}"
    );
    assert_eq!(
        String::from_utf8_lossy(&content),
        String::from_utf8_lossy(entity),
        "{what}: bob does not read what alice signed"
    );
}

#[test]
fn openssl_streamed_opaque_signatures_go_through() {
    let f = Fixture::new();
    let (outer, entity) = parts();
    let signed = sign_streamed(&f, &entity);
    assert!(chunked(&signed), "openssl did not chunk the eContent");
    check(
        &f,
        &pkcs7_message(&outer, "signed-data", &signed),
        &entity,
        "openssl -stream, opaque",
    );
    let signed_entity = pkcs7_message("", "signed-data", &signed);
    let enc = encrypt_streamed(&f, &signed_entity);
    check(
        &f,
        &pkcs7_message(&outer, "authEnveloped-data", &enc),
        &entity,
        "openssl -stream, opaque inside GCM",
    );
}

#[test]
fn gpgsm_opaque_signatures_go_through() {
    let f = Fixture::new();
    let g = Gpgsm::new(&["alice"]);
    let (outer, entity) = parts();
    let signed = g.sign_opaque("alice@example.com", &entity);
    assert!(chunked(&signed), "gpgsm did not chunk the eContent");
    check(
        &f,
        &pkcs7_message(&outer, "signed-data", &signed),
        &entity,
        "gpgsm --sign",
    );
    let enc = encrypt_streamed(&f, &pkcs7_message("", "signed-data", &signed));
    check(
        &f,
        &pkcs7_message(&outer, "authEnveloped-data", &enc),
        &entity,
        "gpgsm --sign inside GCM",
    );
}
