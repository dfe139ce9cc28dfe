#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Adaptation services, the modification record and `reseal verify`, for S/MIME and
//! OpenPGP: the delivered message verifies with the peers, the extracted original
//! verifies with the peers and equals the original byte for byte, irreversible changes
//! report their committed digest, and any tampering is caught and located.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const HEAD: &str = OPES_HEAD;

const DISCLAIMER: &str = DISCLAIMER_SERVICE;

fn fixture() -> Fixture {
    Fixture::with_openpgp()
}

fn identity(f: &Fixture) -> PathBuf {
    f.identity()
}

struct Verified {
    code: i32,
    report: serde_json::Value,
    original: Option<Vec<u8>>,
}

fn verify(f: &Fixture, msg: &[u8], extra: &[&str]) -> Verified {
    let orig = f.dir.path().join("original.eml");
    let _ = std::fs::remove_file(&orig);
    let mut c = reseal();
    c.args(["verify", "--json", "--trust"])
        .arg(v("ca.pem"))
        .arg("--opes-cert")
        .arg(identity(f))
        .arg("--extract-original")
        .arg(&orig)
        .args(extra);
    let out = run(c, msg);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    Verified {
        code: out.status.code().unwrap_or(-1),
        report,
        original: std::fs::read(&orig).ok(),
    }
}

fn smime_key_args() -> Vec<String> {
    vec![
        "--key".into(),
        v("bob.key").display().to_string(),
        "--cert".into(),
        v("bob.pem").display().to_string(),
    ]
}

fn pgp_key_args() -> Vec<String> {
    vec![
        "--openpgp-key".into(),
        pv("bob.sec.asc").display().to_string(),
        "--cert".into(),
        pv("alice.pub.asc").display().to_string(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// One reversible service through S/MIME: delivered verifies with openssl, the record
/// is valid, the extracted original is the input byte for byte and openssl verifies it.
fn smime_reversible(service: &str, input: &[u8], check: impl Fn(&[u8])) {
    let f = fixture();
    let cfg = f.config(&format!(
        "{HEAD}\n[policy]\ntechnology = \"smime\"\n{service}"
    ));
    let out = f.process(input, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, "process");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    let content = openssl_verify(&dec).unwrap();
    check(&content);
    let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
    assert_eq!(r.code, 0, "{:#}", r.report);
    assert_eq!(r.report["verdict"], "pass");
    assert_eq!(r.report["outer"]["valid"], true);
    assert_eq!(r.report["record"]["valid"], true);
    assert_eq!(r.report["original"]["reconstructible"], true);
    let signed = contains(input, b"multipart/signed") || contains(input, b"pkcs7-mime");
    assert_eq!(r.report["original"]["signed"], signed);
    assert_eq!(r.report["original"]["valid"], signed);
    let original = r.original.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&original),
        String::from_utf8_lossy(input),
        "extracted original"
    );
    if signed {
        openssl_verify(&original).unwrap();
    }
}

#[test]
fn smime_disclaimer_round_trip() {
    smime_reversible(DISCLAIMER, &read("openssl-signed-plain.eml"), |c| {
        assert!(contains(c, b"This e-mail is confidential."));
    });
    // 8bit and quoted-printable bodies keep their encoding.
    smime_reversible(DISCLAIMER, &read("openssl-signed-8bit.eml"), |c| {
        assert!(contains(c, "Grüße".as_bytes()) || contains(c, b"8bit"));
        assert!(contains(c, b"This e-mail is confidential."));
    });
    smime_reversible(DISCLAIMER, &read("openssl-signed-qp.eml"), |c| {
        assert!(contains(c, b"quoted-printable"));
    });
    // Both sides of multipart/alternative.
    smime_reversible(DISCLAIMER, &read("msg-html.eml"), |c| {
        assert!(contains(c, b"This e-mail is confidential."));
        assert!(contains(c, b"reseal-disclaimer"), "HTML side");
    });
}

#[test]
fn smime_subject_tag_and_headers_round_trip() {
    let svc = TAG_AND_HEADERS_SERVICES;
    let f = fixture();
    let cfg = f.config(&format!("{HEAD}{svc}"));
    let input = read("openssl-sign-then-enc-gcm.eml");
    let out = f.process(
        &input,
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    let h = header_block(&out.stdout);
    assert!(
        h.contains("Subject: [Example Corp] Quarterly figures"),
        "{h}"
    );
    assert!(h.contains("X-Classification: internal"));
    assert!(!h.contains("Message-ID"));
    let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
    assert_eq!(r.report["verdict"], "pass", "{:#}", r.report);
    // A bare private key (no certificate) is tried on every recipient.
    let bare = verify(
        &f,
        &out.stdout,
        &["--key", &v("bob.key").display().to_string()],
    );
    assert_eq!(bare.report["verdict"], "pass", "{:#}", bare.report);
    // The original of an encrypted message is the decrypted signed message under its
    // original header.
    let original = r.original.unwrap();
    let h = header_block(&original);
    assert!(
        h.contains("Subject: Quarterly figures\r\n")
            && h.contains("Message-ID: <openssl-sign-then-enc-gcm"),
        "{h}"
    );
    assert!(h.contains("multipart/signed"), "{h}");
    openssl_verify(&original).unwrap();
    // Byte for byte, against what openssl decrypts from the input (encrypted to alice).
    let dec = openssl_decrypt(&input, "alice").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&original),
        String::from_utf8_lossy(&original_of_encrypted(&input, &dec)),
        "the original of an encrypted message"
    );
}

#[test]
fn address_map_covers_envelope_headers_and_trace() {
    let svc = ADDRESS_MAP_SERVICE;
    let f = fixture();
    let cfg = f.config(&format!("{HEAD}{svc}"));
    let msg = String::from_utf8(read("msg-plain.eml"))
        .unwrap()
        .replace(
            "Alice <alice@example.com>",
            "Alice <alice@corp.example.local>",
        )
        .replace("To: Bob", "Reply-To: alice@corp.example.local\r\nTo: Bob");
    let out = f.process(
        msg.as_bytes(),
        "alice@corp.example.local",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    let h = header_block(&out.stdout);
    assert!(
        !h.contains("corp.example.local"),
        "every header mapped:\n{h}"
    );
    assert!(
        h.contains("From: Alice <alice@example.com>") && h.contains("Reply-To: alice@example.com")
    );
    // The envelope was mapped too: the key delegated for alice@example.com signed it.
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    openssl_verify(&dec).unwrap();
    assert_eq!(
        openssl_signer_emails(&dec, f.dir.path()),
        "alice@example.com"
    );
    let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
    assert_eq!(r.report["verdict"], "pass", "{:#}", r.report);
    let changes = r.report["record"]["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["place"] == "envelope:mail-from"));
    assert!(changes.iter().any(|c| c["place"] == "header:reply-to"));
    assert_eq!(
        r.original.unwrap(),
        msg.as_bytes(),
        "the original, with internal addresses"
    );
}

#[test]
fn irreversible_changes_commit_to_the_original_digest() {
    let svc = format!("{DLP_REDACT_SERVICE}{ATTACHMENTS_REMOVE_SERVICE}");
    let f = fixture();
    let cfg = f.config(&format!("{HEAD}{svc}"));
    for (input, kind) in [
        (read("openssl-signed-plain.eml"), "dlp"),
        (read("openssl-signed-attach.eml"), "attachments"),
    ] {
        let out = f.process(
            &input,
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        );
        ok(&out, kind);
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
        let content = openssl_verify(&dec).unwrap();
        if kind == "dlp" {
            assert!(contains(&content, b"[REDACTED]") && !contains(&content, b"12345"));
        } else {
            assert!(contains(&content, b"report.pdf was removed by policy"));
        }
        let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
        assert_eq!(r.code, 0, "{:#}", r.report);
        assert_eq!(r.report["original"]["reconstructible"], false);
        assert_eq!(
            r.report["original"]["digest"],
            reseal::adapt::digest(&input)
        );
        let changes = r.report["record"]["changes"].as_array().unwrap();
        assert!(
            changes
                .iter()
                .any(|c| c["kind"] == kind && c["reversible"] == false),
            "{changes:?}"
        );
        assert!(r.original.is_none(), "no original can be extracted");
    }
}

#[test]
fn dlp_reject_and_quarantine() {
    let f = fixture();
    let reject = r#"
[[service]]
id = "https://gw.example.com/opes/dlp"
kind = "dlp"
action = "reject"
patterns = ["builtin:card-number"]
consent = "sender"
bypassable = false
"#;
    let msg = String::from_utf8(read("msg-plain.eml")).unwrap().replace(
        "Please transfer",
        "Card 4111 1111 1111 1111. Please transfer",
    );
    let cfg = f.config(&format!("{HEAD}{reject}"));
    let out = f.process(
        msg.as_bytes(),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    assert_eq!(out.status.code(), Some(77));
    let err = stderr(&out);
    assert!(err.starts_with("554 5.7.1 "), "{err}");
    assert!(
        err.contains("https://gw.example.com/opes")
            && err.contains("service=https://gw.example.com/opes/dlp")
            && err.contains("policy=https://gw.example.com/privacy"),
        "{err}"
    );
    // A number that fails the Luhn check passes.
    let ok_msg = msg.replace("4111 1111 1111 1111", "4111 1111 1111 1112");
    ok(
        &f.process(
            ok_msg.as_bytes(),
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        ),
        "luhn",
    );

    let quarantine = reject.replace("\"reject\"", "\"quarantine\"");
    let toml = format!(
        "data_dir = \"{}\"\n{HEAD}{quarantine}",
        f.dir.path().join("data").display()
    );
    let cfg = f.config(&toml);
    let out = f.process(
        msg.as_bytes(),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "quarantine");
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("Held in quarantine"),
        "{}",
        stderr(&out)
    );
    let mut c = reseal();
    c.args(["quarantine", "list", "--json", "--config"])
        .arg(&cfg);
    let list = run(c, b"");
    ok(&list, "list");
    let held: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(held.as_array().unwrap().len(), 1);
    let id = held[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(held[0]["service"], "https://gw.example.com/opes/dlp");
    let mut c = reseal();
    c.args(["quarantine", "release", "--config"])
        .arg(&cfg)
        .arg(&id);
    c.env("RESEAL_KEYSTORE", f.keystore());
    let toml2 = format!("keystore = \"{}\"\n{toml}", f.keystore().display());
    let cfg2 = f.config(&toml2);
    let mut c = reseal();
    c.args(["quarantine", "release", "--config"])
        .arg(&cfg2)
        .arg(&id);
    let rel = run(c, b"");
    ok(&rel, "release");
    let dec = openssl_decrypt(&rel.stdout, "bob").unwrap();
    assert!(contains(
        &openssl_verify(&dec).unwrap(),
        b"4111 1111 1111 1111"
    ));
    let mut c = reseal();
    c.args(["quarantine", "list", "--json", "--config"])
        .arg(&cfg2);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&run(c, b"").stdout).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn openpgp_record_and_original_verify_with_gpg() {
    let f = fixture();
    let cfg = f.config(&format!(
        "{HEAD}\n[policy]\ntechnology = \"openpgp\"\n{DISCLAIMER}"
    ));
    for vector in [
        "gpg-pgpmime-signed.eml",
        "gpg-pgpmime-signed-encrypted.eml",
        "sq-pgpmime-signed.eml",
    ] {
        let input = std::fs::read(pv(vector)).unwrap();
        let out = f.process(
            &input,
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        );
        ok(&out, vector);
        let r = verify(&f, &out.stdout, &strs(&pgp_key_args()));
        assert_eq!(r.report["verdict"], "pass", "{vector}: {:#}", r.report);
        assert_eq!(r.report["outer"]["technology"], "openpgp");
        assert_eq!(r.report["record"]["valid"], true);
        let original = r.original.unwrap();
        if vector.contains("encrypted") {
            // Signed inside the encryption (RFC 3156 §6.2): the original is its detached
            // equivalent (docs/modification-record.md §3.3), so the bytes to compare are
            // the header outside the Content-* fields and the signed entity, against what
            // gpg decrypts from the input (encrypted to alice) without Reseal.
            let g = gpg::Gpg::for_bob();
            let mut c = g.cmd();
            c.arg("--import").arg(pv("alice.sec.asc"));
            ok(&run(c, b""), "gpg --import alice.sec.asc");
            let (dec, status) = g.decrypt(&armored_message(&input));
            assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
            let (orig_fields, _) = header_fields(&original);
            let (input_fields, _) = header_fields(&input);
            // The Content-* fields are the wrapper's (a new boundary); every other
            // field, and where the Content-* fields stand, is the input's.
            let not_content = |fs: Vec<String>| -> Vec<String> {
                let mut out: Vec<String> = Vec::new();
                for f in fs {
                    let f = if f.to_ascii_lowercase().starts_with("content-") {
                        "<Content-* fields>".to_owned()
                    } else {
                        f
                    };
                    if out.last() != Some(&f) {
                        out.push(f);
                    }
                }
                out
            };
            assert_eq!(
                not_content(orig_fields),
                not_content(input_fields),
                "{vector}: the original header, byte for byte"
            );
            let e = reseal::mime::Entity::parse(&original).unwrap();
            let mp = e.multipart().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&original[mp.parts[0].clone()]),
                String::from_utf8_lossy(&dec),
                "{vector}: the signed entity, byte for byte"
            );
        } else {
            assert_eq!(original, input, "{vector}: byte for byte");
        }
        // gpg checks the original signature itself, without Reseal.
        let e = reseal::mime::Entity::parse(&original).unwrap();
        let mp = e.multipart().unwrap();
        let signed = &original[mp.parts[0].clone()];
        let sig = reseal::mime::Entity::parse(&original[mp.parts[1].clone()])
            .unwrap()
            .decoded_body()
            .unwrap()
            .into_owned();
        gpg_verify_detached(&sig, signed, f.dir.path());
    }
}

fn gpg_verify_detached(sig: &[u8], data: &[u8], dir: &Path) {
    let home = tempfile::Builder::new()
        .prefix("g")
        .tempdir_in("/tmp")
        .unwrap();
    let run_gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home.path())
            .args(["--batch", "--status-fd", "1"])
            .args(args);
        run(c, b"")
    };
    ok(
        &run_gpg(&["--import", &pv("alice.pub.asc").display().to_string()]),
        "gpg import",
    );
    let s = dir.join("orig.sig");
    let d = dir.join("orig.data");
    std::fs::write(&s, sig).unwrap();
    std::fs::write(&d, data).unwrap();
    let out = run_gpg(&[
        "--verify",
        &s.display().to_string(),
        &d.display().to_string(),
    ]);
    let status = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home.path())
        .args(["--kill", "all"])
        .status();
    assert!(
        status.contains("GOODSIG") && status.contains("VALIDSIG"),
        "{status}"
    );
}

/// Any one-byte change to the delivered content or to the record, and any dropped record
/// entry, makes verify fail and say where.
#[test]
fn tampering_is_caught_and_located() {
    let f = fixture();
    let svc = format!(
        "{DISCLAIMER}\n[[service]]\nid = \"https://gw.example.com/opes/tag\"\nkind = \"subject-tag\"\ntag = \"[Ext]\"\n"
    );
    let cfg = f.config(&format!("{HEAD}{svc}"));
    // carol has no certificate: the delivered message is signed only, so bytes can be
    // changed without breaking a decryption first.
    let out = f.process(
        &read("openssl-signed-plain.eml"),
        "alice@example.com",
        &["carol@example.com"],
        Some(&cfg),
    );
    ok(&out, "process");
    let good = out.stdout;
    assert_eq!(verify(&f, &good, &[]).report["verdict"], "pass");

    let text = String::from_utf8(good.clone()).unwrap();
    // 1. One byte of the delivered body.
    let body_tampered = text.replacen("quarterly figures", "quarterly fiGures", 1);
    assert_ne!(body_tampered, text);
    let r = verify(&f, body_tampered.as_bytes(), &[]);
    assert_eq!(r.code, 1);
    let problems = r.report["problems"].to_string();
    assert!(problems.contains("body:1"), "must say where: {problems}");
    // 2. One byte of the record.
    let start = text.find("OPES-Record:").unwrap() + 40;
    let mut rec = text.clone().into_bytes();
    rec[start] = if rec[start] == b'A' { b'B' } else { b'A' };
    let r = verify(&f, &rec, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.report["problems"].to_string().contains("record"),
        "{:#}",
        r.report
    );
    // 3. A record with one change entry dropped (re-encoded, so only the signature
    // can tell).
    let dropped = drop_first_change(&good);
    let r = verify(&f, &dropped, &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.report["problems"]
            .to_string()
            .contains("record signature"),
        "{:#}",
        r.report
    );
    // 4. A changed outer header the record covers.
    let hdr = text.replacen(
        "Subject: [Ext] Quarterly figures",
        "Subject: [Ext] Quarterly figures!",
        1,
    );
    let r = verify(&f, hdr.as_bytes(), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.report["problems"].to_string().contains("header"),
        "{:#}",
        r.report
    );
    // 5. The record stripped: the outer signature no longer covers the content.
    let stripped = strip_record(&good);
    let r = verify(&f, &stripped, &[]);
    assert_eq!(r.code, 1, "{:#}", r.report);
}

/// Rewrites the OPES-Record field with its first change removed.
fn drop_first_change(msg: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8(msg.to_vec()).unwrap();
    let start = text.find("OPES-Record:").unwrap();
    let end = start + text[start..].find("OPES-Record-Signature:").unwrap();
    let b64: String = text[start + 12..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let json = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    v["changes"].as_array_mut().unwrap().remove(0);
    let new = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&v).unwrap());
    format!("{}OPES-Record: {new}\r\n{}", &text[..start], &text[end..]).into_bytes()
}

fn strip_record(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec()).unwrap();
    let start = text.find("OPES-Record:").unwrap();
    let sig = start + text[start..].find("OPES-Record-Signature:").unwrap();
    let after = sig + text[sig..].find("\r\nContent-").unwrap() + 2;
    format!("{}{}", &text[..start], &text[after..]).into_bytes()
}

#[test]
fn bypass_is_honoured_only_when_allowed_and_always_traced() {
    let f = fixture();
    let svc = r#"
[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "DISCLAIMER-TEXT"
bypassable = true
[[service]]
id = "https://gw.example.com/opes/tag"
kind = "subject-tag"
tag = "[Ext]"
bypassable = false
"#;
    let with_bypass = |value: &str| {
        [
            format!("OPES-Bypass: {value}\r\n").into_bytes(),
            read("msg-plain.eml"),
        ]
        .concat()
    };
    let cfg = f.config(&format!("{HEAD}{svc}"));
    for value in [
        "*",
        "https://gw.example.com/opes/disclaimer",
        "https://unknown.example/whatever",
    ] {
        let out = f.process(
            &with_bypass(value),
            "alice@example.com",
            &["bob@example.org"],
            Some(&cfg),
        );
        ok(&out, value);
        let h = header_block(&out.stdout);
        let via = h.split("OPES-Via:").nth(1).unwrap_or_default();
        assert!(
            via.contains("opes/disclaimer; id=") && via.contains("status=bypassed"),
            "{value}: {h}"
        );
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
        assert!(
            !contains(&dec, b"DISCLAIMER-TEXT"),
            "{value}: disclaimer bypassed"
        );
        if value != "https://gw.example.com/opes/disclaimer" {
            // The tag is not bypassable: applied, and the refusal says why.
            assert!(h.contains("Subject: [Ext]"), "{h}");
            assert!(
                via.contains(
                    "status=bypass-refused; consent=sender; reason=\"service not bypassable\""
                ),
                "{h}"
            );
        }
    }
    // A submitter that is not admitted gets no bypass at all, and is told so.
    let cfg = f.config(&format!(
        "{HEAD}\n[admission]\nprocess_admitted = false\n{svc}"
    ));
    let out = f.process(
        &with_bypass("*"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "not admitted");
    let h = header_block(&out.stdout);
    assert!(h.contains("reason=\"submitter not admitted\""), "{h}");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(contains(&dec, b"DISCLAIMER-TEXT"));
}

#[test]
fn identity_export_and_replacement() {
    let f = fixture();
    let out = f.keys(&["export-identity"]);
    let pem = String::from_utf8(out.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(pem.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    // openssl reads it as a certificate.
    let mut c = Command::new("openssl");
    c.args(["x509", "-noout", "-subject"]);
    let o = run(c, pem.as_bytes());
    ok(&o, "openssl x509");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Reseal OPES identity"));
    // Replace the X.509 identity with one issued by the organisation's CA (erin's key
    // and certificate stand in for it): records then verify against the CA.
    f.keys(&[
        "import-identity",
        "--key",
        &v("erin.key").display().to_string(),
        "--cert",
        &v("erin.pem").display().to_string(),
    ]);
    let cfg = f.config(&format!("{HEAD}{DISCLAIMER}"));
    let out = f.process(
        &read("openssl-signed-plain.eml"),
        "alice@example.com",
        &["carol@example.com"],
        Some(&cfg),
    );
    ok(&out, "process");
    let mut c = reseal();
    c.args(["verify", "--json", "--trust"])
        .arg(v("ca.pem"))
        .arg("--opes-cert")
        .arg(v("ca.pem"));
    let o = run(c, &out.stdout);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["record"]["valid"], true, "{r:#}");
    assert!(r["record"]["signer"].as_str().unwrap().contains("Erin"));
}

#[test]
fn callout_verdicts_and_failure_policies() {
    let f = fixture();
    let svc = |url: &str, on_failure: &str| {
        format!(
            "{HEAD}\n[[service]]\nid = \"https://gw.example.com/opes/scan\"\nkind = \"callout\"\nurl = \"{url}\"\ntimeout_ms = 2000\non_failure = \"{on_failure}\"\nbypassable = false\n"
        )
    };
    // Blocked by the server: refused with trace naming the service.
    let (port, h) = http_server(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 15\r\nConnection: close\r\n\r\nvirus EICAR-Test");
    let cfg = f.config(&svc(&format!("http://127.0.0.1:{port}/scan"), "reject"));
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    h.join().unwrap();
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("service=https://gw.example.com/opes/scan"),
        "{}",
        stderr(&out)
    );
    // Modified by the server: delivered, recorded as irreversible.
    let (port, h) = http_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nConnection: close\r\n\r\nFrom: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: Quarterly figures\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nCleaned by the scanner.\r\n",
    );
    let cfg = f.config(&svc(&format!("http://127.0.0.1:{port}/scan"), "reject"));
    let out = f.process(
        &read("openssl-signed-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    h.join().unwrap();
    ok(&out, "modified");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(contains(
        &openssl_verify(&dec).unwrap(),
        b"Cleaned by the scanner."
    ));
    let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
    assert_eq!(r.report["verdict"], "pass", "{:#}", r.report);
    assert_eq!(r.report["original"]["reconstructible"], false);
    // Unreachable: `reject` is a temporary failure that says the service failed; `pass`
    // delivers, traced `status=failed`.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = f.config(&svc(&format!("http://127.0.0.1:{dead}/scan"), "reject"));
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("451 "), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("service=https://gw.example.com/opes/scan; status=failed]"),
        "{}",
        stderr(&out)
    );
    let cfg = f.config(&svc(&format!("http://127.0.0.1:{dead}/scan"), "pass"));
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "on_failure = pass");
    assert!(
        header_block(&out.stdout).contains("opes/scan; id="),
        "{}",
        header_block(&out.stdout)
    );
    assert!(header_block(&out.stdout).contains("status=failed"));
}

/// An opaque signature (signed-data) is carried as its detached equivalent: the rebuilt
/// original is a multipart/signed that openssl verifies (not byte-identical to the
/// opaque input, which docs/modification-record.md §3.3 says).
#[test]
fn opaque_original_signature_survives_as_detached() {
    let f = fixture();
    let cfg = f.config(&format!("{HEAD}{DISCLAIMER}"));
    let out = f.process(
        &read("openssl-signed-opaque.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    let r = verify(&f, &out.stdout, &strs(&smime_key_args()));
    assert_eq!(r.report["verdict"], "pass", "{:#}", r.report);
    assert_eq!(r.report["original"]["valid"], true);
    let original = r.original.unwrap();
    assert!(header_block(&original).contains("multipart/signed"));
    let content = openssl_verify(&original).unwrap();
    assert_eq!(content, inner_entity(&read("msg-plain.eml")));
}

// ---------------------------------------------------------------------------------------
// The record's signature, checked by the peers alone (docs/modification-record.md §1, §4
// step 3): openssl for S/MIME mail, gpg for OpenPGP mail, never `reseal verify`.

/// The one value of each of `OPES-Record` and `OPES-Record-Signature` in the header of
/// the entity that carries them, unfolded and base64-decoded: (record JSON, signature).
fn record_and_signature(entity: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(entity);
    let head = &text[..text.find("\r\n\r\n").expect("a header block")];
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            fields.last_mut().expect("no leading fold").1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("a header field");
            fields.push((name.to_ascii_lowercase(), value.to_owned()));
        }
    }
    let one = |name: &str| -> Vec<u8> {
        let values: Vec<&String> = fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(values.len(), 1, "exactly one {name}:\n{head}");
        let b64: String = values[0].chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("{name} is not base64: {e}"))
    };
    (one("opes-record"), one("opes-record-signature"))
}

/// `openssl cms -verify` of a detached CMS signature over `data`, with `anchor` as the
/// only trust anchor; returns the signer certificate (PEM) on success, the error if not.
fn openssl_verify_detached(
    sig_der: &[u8],
    data: &[u8],
    anchor: &Path,
    dir: &Path,
) -> Result<String, String> {
    let s = dir.join("record.sig.der");
    let d = dir.join("record.json");
    let signer = dir.join("record.signer.pem");
    let _ = std::fs::remove_file(&signer);
    std::fs::write(&s, sig_der).unwrap();
    std::fs::write(&d, data).unwrap();
    let mut c = Command::new("openssl");
    c.args([
        "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
    ])
    .arg(&s)
    .arg("-content")
    .arg(&d)
    .arg("-CAfile")
    .arg(anchor)
    .arg("-signer")
    .arg(&signer)
    .args(["-out", "/dev/null"]);
    let out = run(c, b"");
    if out.status.success() {
        Ok(std::fs::read_to_string(&signer).unwrap())
    } else {
        Err(stderr(&out))
    }
}

/// The DER bytes of the first certificate in a PEM file.
fn cert_der(pem: &[u8]) -> Vec<u8> {
    let mut c = Command::new("openssl");
    c.args(["x509", "-outform", "DER"]);
    let out = run(c, pem);
    ok(&out, "openssl x509");
    out.stdout
}

#[test]
fn smime_record_signature_verifies_with_openssl_alone() {
    let f = fixture();
    let cfg = f.config(&format!(
        "{HEAD}\n[policy]\ntechnology = \"smime\"\n{DISCLAIMER}"
    ));
    let out = f.process(
        &read("openssl-signed-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    // bob decrypts; the delivered entity is the first part of the multipart/signed.
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    let e = reseal::mime::Entity::parse(&dec).unwrap();
    let mp = e.multipart().expect("multipart/signed");
    let (record, sig) = record_and_signature(&dec[mp.parts[0].clone()]);
    let doc: serde_json::Value = serde_json::from_slice(&record).unwrap();
    assert_eq!(doc["technology"], "smime", "{doc:#}");
    let x509 = f.keys(&["export-identity", "--format", "x509"]).stdout;
    let anchor = f.tmp("opes-identity.pem", &x509);
    let dir = f.dir.path();
    let signer = openssl_verify_detached(&sig, &record, &anchor, dir)
        .unwrap_or_else(|e| panic!("openssl rejects the record signature: {e}"));
    assert_eq!(
        cert_der(signer.as_bytes()),
        cert_der(&x509),
        "the record is signed by the gateway's OPES identity"
    );
    // Not by just anyone: the test CA (alice's, bob's) is no anchor for it.
    assert!(openssl_verify_detached(&sig, &record, &v("ca.pem"), dir).is_err());
    // A tampered record fails.
    let tampered = String::from_utf8(record.clone())
        .unwrap()
        .replacen("\"kind\":\"disclaimer\"", "\"kind\":\"disclaimeR\"", 1)
        .into_bytes();
    assert_ne!(tampered, record);
    let err = openssl_verify_detached(&sig, &tampered, &anchor, dir).unwrap_err();
    assert!(
        err.contains("content verify error") || err.contains("digest"),
        "{err}"
    );
}

#[test]
fn openpgp_record_signature_verifies_with_gpg_alone() {
    let f = fixture();
    let cfg = f.config(&format!(
        "{HEAD}\n[policy]\ntechnology = \"openpgp\"\n{DISCLAIMER}"
    ));
    let out = f.process(
        &std::fs::read(pv("gpg-pgpmime-signed.eml")).unwrap(),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    // bob decrypts with gpg; what he decrypts is the delivered entity (signed inside
    // the encryption, RFC 3156 §6.2).
    let bob = gpg::Gpg::for_bob();
    let (dec, status) = bob.decrypt(&armored_message(&out.stdout));
    assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
    let (record, sig) = record_and_signature(&dec);
    let doc: serde_json::Value = serde_json::from_slice(&record).unwrap();
    assert_eq!(doc["technology"], "openpgp", "{doc:#}");
    // A throwaway home that knows only the gateway's OpenPGP identity.
    let home = tempfile::Builder::new()
        .prefix("g")
        .tempdir_in("/tmp")
        .unwrap();
    let gpg = |args: &[&str], stdin: &[u8]| {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home.path())
            .args(["--batch", "--status-fd", "1"])
            .args(args);
        run(c, stdin)
    };
    let pgp = f.keys(&["export-identity", "--format", "openpgp"]).stdout;
    ok(&gpg(&["--import"], &pgp), "gpg --import the OPES identity");
    let listed = gpg(&["--with-colons", "--fingerprint", "--list-keys"], b"");
    let identity_fpr = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .expect("the identity's fingerprint")
        .to_owned();
    let dir = f.dir.path();
    let s = dir.join("record.sig");
    let d = dir.join("record.json");
    let verify = |data: &[u8]| {
        std::fs::write(&s, &sig).unwrap();
        std::fs::write(&d, data).unwrap();
        let out = gpg(
            &[
                "--verify",
                &s.display().to_string(),
                &d.display().to_string(),
            ],
            b"",
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, status) = verify(&record);
    assert_eq!(code, Some(0), "{status}");
    assert!(status.contains("[GNUPG:] GOODSIG "), "{status}");
    let validsig = status
        .lines()
        .find(|l| l.starts_with("[GNUPG:] VALIDSIG "))
        .unwrap_or_else(|| panic!("no VALIDSIG: {status}"));
    // VALIDSIG <fpr of the signing key> ... <primary key fpr> (the last field).
    assert!(
        validsig.contains(&identity_fpr),
        "signed by the gateway's OPES identity {identity_fpr}: {validsig}"
    );
    // A tampered record fails.
    let tampered = String::from_utf8(record.clone())
        .unwrap()
        .replacen("\"kind\":\"disclaimer\"", "\"kind\":\"disclaimeR\"", 1)
        .into_bytes();
    assert_ne!(tampered, record);
    let (code, status) = verify(&tampered);
    assert_ne!(code, Some(0), "{status}");
    assert!(
        status.contains("[GNUPG:] BADSIG ") && !status.contains("GOODSIG"),
        "{status}"
    );
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home.path())
        .args(["--kill", "all"])
        .status();
}

/// The ASCII-armored OpenPGP message inside a PGP/MIME message.
fn armored_message(msg: &[u8]) -> Vec<u8> {
    let begin = b"-----BEGIN PGP MESSAGE-----";
    let end = b"-----END PGP MESSAGE-----";
    let s = msg
        .windows(begin.len())
        .position(|w| w == begin)
        .expect("an armored message");
    let e = msg
        .windows(end.len())
        .position(|w| w == end)
        .expect("its end")
        + end.len();
    msg[s..e].to_vec()
}

/// The original of a message that was encrypted around a signed entity, as
/// docs/modification-record.md §3.3 defines it: the received header with its Content-*
/// fields replaced, where they stood, by the decrypted entity's, then the decrypted
/// entity's body. `decrypted` is what the peer tool decrypted, independently of Reseal.
fn original_of_encrypted(input: &[u8], decrypted: &[u8]) -> Vec<u8> {
    let split = header_fields;
    let is_content = |f: &String| f.to_ascii_lowercase().starts_with("content-");
    let (outer, _) = split(input);
    let (inner, body) = split(decrypted);
    assert!(inner.iter().all(is_content), "{inner:?}");
    let at = outer.iter().position(is_content).expect("Content-Type");
    let mut fields: Vec<String> = outer.iter().filter(|f| !is_content(f)).cloned().collect();
    for (i, f) in inner.into_iter().enumerate() {
        fields.insert(at + i, f);
    }
    let mut out = fields.join("\r\n").into_bytes();
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(&body);
    out
}

/// A message's header fields (each with its folds, CRLF inside) and its body.
fn header_fields(m: &[u8]) -> (Vec<String>, Vec<u8>) {
    let end = m
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(m[..end].to_vec()).unwrap();
    let mut fields: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = fields.last_mut().unwrap();
            last.push_str("\r\n");
            last.push_str(line);
        } else {
            fields.push(line.to_owned());
        }
    }
    (fields, m[end + 4..].to_vec())
}
