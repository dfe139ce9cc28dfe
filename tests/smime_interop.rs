#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Interop both ways with real S/MIME tools: what openssl and gpgsm make, `reseal
//! process` opens; what Reseal makes, `openssl cms` (and gpgsm) decrypt and verify.

mod common;

use common::*;

/// The plain message each vector was made from (its inner entity is what the sender
/// signed/encrypted, and what the recipient must get back byte for byte).
fn source_of(vector: &str) -> &'static str {
    match vector {
        v if v.contains("8bit") => "msg-8bit.eml",
        v if v.contains("-qp") => "msg-qp.eml",
        v if v.contains("attach") => "msg-attach.eml",
        _ => "msg-plain.eml",
    }
}

/// Processes `vector` from `from` to bob; asserts that bob can decrypt the result with
/// openssl, that it verifies against the test root, and that the content is what the
/// sender wrote. Returns the decrypted entity.
fn round_trip(f: &Fixture, vector: &str, from: &str, expect_signer: &str) -> Vec<u8> {
    let input = read(vector);
    let out = f.process(&input, from, &["bob@example.org"], None);
    ok(&out, vector);
    let msg = out.stdout;
    let headers = header_block(&msg);
    assert!(
        headers.starts_with("Received: by "),
        "{vector}: Received first:\n{headers}"
    );
    assert!(
        headers.contains("\r\nOPES-System: "),
        "{vector}: OPES-System:\n{headers}"
    );
    // bob announced nothing: the default every client opens (crate::capabilities).
    assert!(
        headers.contains("smime-type=enveloped-data"),
        "{vector}: default output is EnvelopedData:\n{headers}"
    );
    let dec = openssl_decrypt(&msg, "bob")
        .unwrap_or_else(|e| panic!("{vector}: bob cannot decrypt: {e}"));
    let content =
        openssl_verify(&dec).unwrap_or_else(|e| panic!("{vector}: openssl does not verify: {e}"));
    let signer = openssl_signer_emails(&dec, f.dir.path());
    assert_eq!(signer, expect_signer, "{vector}: signer");
    let want = inner_entity(&read(source_of(vector)));
    assert_eq!(
        String::from_utf8_lossy(&content),
        String::from_utf8_lossy(&want),
        "{vector}: delivered content differs from what the sender wrote"
    );
    dec
}

#[test]
fn openssl_and_gpgsm_messages_are_resealed_and_open_in_openssl() {
    let f = Fixture::new();
    for vector in [
        "msg-plain.eml",
        "msg-8bit.eml",
        "msg-qp.eml",
        "msg-attach.eml",
        "openssl-signed-plain.eml",
        "openssl-signed-8bit.eml",
        "openssl-signed-qp.eml",
        "openssl-signed-attach.eml",
        "openssl-signed-sha512.eml",
        "openssl-signed-opaque.eml",
        "openssl-enc-gcm.eml",
        "openssl-enc-gcm128.eml",
        "openssl-sign-then-enc-cbc.eml",
        "openssl-sign-then-enc-gcm.eml",
        "openssl-sign-then-enc-attach.eml",
        "openssl-enc-then-sign.eml",
        "gpgsm-signed.eml",
        "gpgsm-sign-then-enc.eml",
    ] {
        // Alice's delegated key re-signs: the signer bob sees is alice.
        round_trip(&f, vector, "alice@example.com", "alice@example.com");
    }
}

#[test]
fn signatures_of_senders_without_a_delegated_key_pass_through_intact() {
    // The gateway has no key for bob, carol or dave: their valid original signatures
    // reach the recipient unchanged (RSA-3072 + intermediate, ECDSA P-256, RSA-PSS).
    let f = Fixture::new();
    for (vector, from) in [
        ("openssl-signed-sha384-bob.eml", "bob@example.org"),
        ("openssl-signed-ecdsa-carol.eml", "carol@example.com"),
        ("openssl-signed-pss-dave.eml", "dave@example.com"),
        ("openssl-signed-pss-saltdigest-dave.eml", "dave@example.com"),
    ] {
        let out = f.process(&read(vector), from, &["bob@example.org"], None);
        ok(&out, vector);
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap_or_else(|e| panic!("{vector}: {e}"));
        openssl_verify(&dec).unwrap_or_else(|e| panic!("{vector}: {e}"));
        assert_eq!(openssl_signer_emails(&dec, f.dir.path()), from, "{vector}");
    }
}

#[test]
fn several_recipients_each_decrypt() {
    let f = Fixture::new();
    let out = f.process(
        &read("openssl-enc-gcm.eml"),
        "alice@example.com",
        &["bob@example.org", "erin@example.net"],
        None,
    );
    ok(&out, "multi");
    for who in ["bob", "erin"] {
        let dec = openssl_decrypt(&out.stdout, who).unwrap_or_else(|e| panic!("{who}: {e}"));
        openssl_verify(&dec).unwrap_or_else(|e| panic!("{who}: {e}"));
    }
    // Two recipients: the Received line names neither (RFC 5321 §7.2).
    assert!(!header_block(&out.stdout).contains("for <"));
}

#[test]
fn rsa_3072_signing_key_and_pem_import() {
    // dave's RSA-3072 key, imported as PEM, signs dave's plain mail.
    let f = Fixture::new();
    f.keys(&[
        "import",
        "--key",
        &v("dave.key").display().to_string(),
        "--cert",
        &v("dave.pem").display().to_string(),
        "--for",
        "dave@example.com",
        "--use",
        "sign",
    ]);
    let msg = String::from_utf8(read("msg-plain.eml"))
        .unwrap()
        .replace("Alice <alice@example.com>", "Dave <dave@example.com>");
    let out = f.process(
        msg.as_bytes(),
        "dave@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "dave");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    openssl_verify(&dec).unwrap();
    assert_eq!(
        openssl_signer_emails(&dec, f.dir.path()),
        "dave@example.com"
    );
}

#[test]
fn sign_only_when_the_recipient_has_no_certificate() {
    let f = Fixture::new();
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["carol@example.com"],
        None,
    );
    ok(&out, "sign only");
    let h = header_block(&out.stdout);
    assert!(h.contains("multipart/signed"), "{h}");
    let content = openssl_verify(&out.stdout).unwrap();
    assert_eq!(content, inner_entity(&read("msg-plain.eml")));
}

#[test]
fn lf_only_input_is_canonicalised() {
    let f = Fixture::new();
    let lf: Vec<u8> = read("msg-plain.eml")
        .into_iter()
        .filter(|&b| b != b'\r')
        .collect();
    let out = f.process(&lf, "alice@example.com", &["bob@example.org"], None);
    ok(&out, "lf");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert_eq!(
        openssl_verify(&dec).unwrap(),
        inner_entity(&read("msg-plain.eml"))
    );
}

#[test]
fn cbc_and_pkcs1v15_output_for_configured_domains() {
    let f = Fixture::new();
    let cfg = f.config(
        r#"
        [policy.domain."example.org"]
        cipher = "aes-256-cbc"
        key_transport = "rsa-pkcs1v15"
        "#,
    );
    let out = f.process(
        &read("msg-attach.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "cbc");
    assert!(header_block(&out.stdout).contains("smime-type=enveloped-data"));
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert_eq!(
        openssl_verify(&dec).unwrap(),
        inner_entity(&read("msg-attach.eml"))
    );
}

/// gpgsm (libksba/libgcrypt) as the recipient's client: it does neither GCM nor OAEP,
/// so the domain is configured for AES-CBC + PKCS#1 v1.5.
#[test]
fn gpgsm_decrypts_and_verifies_resealed_mail() {
    let f = Fixture::new();
    let cfg = f.config(
        r#"
        [policy.domain."example.org"]
        cipher = "aes-256-cbc"
        key_transport = "rsa-pkcs1v15"
        "#,
    );
    let out = f.process(
        &read("openssl-enc-gcm.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "process");
    let gpg = common::gpgsm::Gpgsm::new(&["bob"]);
    let dec = gpg
        .decrypt(&f, &out.stdout)
        .unwrap_or_else(|e| panic!("gpgsm --decrypt: {e}"));
    // The decrypted entity is multipart/signed; gpgsm verifies the detached signature.
    let status = gpg.verify(&f, &dec);
    assert!(
        status.contains("GOODSIG") && status.contains("VALIDSIG"),
        "{status}"
    );
    let e = reseal::mime::Entity::parse(&dec).unwrap();
    let mp = e.multipart().unwrap();
    let signed = &dec[mp.parts[0].clone()];
    assert_eq!(signed, inner_entity(&read("msg-plain.eml")).as_slice());
}

/// A message made by openssl during the test (not a stored vector), signed without
/// embedding the certificate (`-nocerts`): the signer is found in the keystore's
/// directory, and the chain still has to reach the trust anchor.
#[test]
fn fresh_openssl_message_signed_without_certificates() {
    let f = Fixture::new();
    let inner = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nFresh text \xc3\xa4\xc3\xb6\xc3\xbc made during the test.\r\n";
    let inner_path = f.tmp("inner.txt", inner);
    let signed = f.dir.path().join("signed.eml");
    let mut c = std::process::Command::new("openssl");
    c.args(["cms", "-sign", "-nocerts", "-md", "sha256", "-signer"])
        .arg(v("alice.pem"))
        .arg("-inkey")
        .arg(v("alice.key"))
        .arg("-in")
        .arg(&inner_path)
        .arg("-out")
        .arg(&signed);
    ok(&run(c, b""), "openssl sign");
    let enc = f.dir.path().join("enc.eml");
    let mut c = std::process::Command::new("openssl");
    c.args([
        "cms",
        "-encrypt",
        "-aes-256-gcm",
        "-from",
        "Alice <alice@example.com>",
        "-to",
        "bob@example.org",
        "-subject",
        "fresh",
        "-in",
    ])
    .arg(&signed)
    .arg("-out")
    .arg(&enc)
    .arg(v("alice.pem"));
    ok(&run(c, b""), "openssl encrypt");
    let out = f.process(
        &std::fs::read(&enc).unwrap(),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    let content = openssl_verify(&dec).unwrap();
    assert!(contains(&content, "Fresh text äöü".as_bytes()));
}
