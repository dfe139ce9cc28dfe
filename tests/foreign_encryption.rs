#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Mail encrypted to someone else (docs/architecture.md): refused by default with a reply
//! that tells the sender what to do; with `foreign_encryption = "passthrough"`, delivered
//! unopened, neither signed nor re-encrypted, still subject to fail-closed services.

mod common;

use common::*;

const TO_BOB_ONLY: &str = "openssl-enc-to-bob-only.eml";

fn body_of(msg: &[u8]) -> Vec<u8> {
    let e = reseal::mime::Entity::parse(msg).unwrap();
    e.decoded_body().unwrap().into_owned()
}

#[test]
fn refused_by_default_with_a_reply_that_says_what_to_do() {
    let f = Fixture::new();
    let out = f.process(
        &read(TO_BOB_ONLY),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    let r = stderr(&out);
    assert!(
        r.starts_with("554 5.7.1 The message is encrypted, but not to a key the gateway holds"),
        "{r}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn passthrough_delivers_the_ciphertext_unopened() {
    let f = Fixture::new();
    let cfg = f.config(&format!(
        "{OPES_HEAD}[policy]\nforeign_encryption = \"passthrough\"\n"
    ));
    let input = read(TO_BOB_ONLY);
    let out = f.process(
        &input,
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "passthrough");
    let header = header_block(&out.stdout);
    assert!(header.starts_with("Received: by "), "{header}");
    assert!(header.contains("OPES-System: "), "{header}");
    assert!(
        header.contains("application/pkcs7-mime") && !header.contains("multipart/signed"),
        "not signed, still the original protection:\n{header}"
    );
    assert_eq!(
        body_of(&out.stdout),
        body_of(&input),
        "the ciphertext is passed on byte for byte"
    );
    let plain = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(contains(&plain, b"transfer 100 EUR"), "bob reads it");

    // A DLP service cannot read it: fail closed.
    let cfg = f.config(&format!(
        "{OPES_HEAD}[policy]\nforeign_encryption = \"passthrough\"\n\
         [[service]]\nid = \"https://gw.example.com/opes/dlp\"\nkind = \"dlp\"\n\
         patterns = [\"builtin:card-number\"]\naction = \"reject\"\n"
    ));
    let out = f.process(
        &input,
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    let r = stderr(&out);
    assert_eq!(out.status.code(), Some(65), "{r}");
    assert!(
        r.contains("cannot inspect body:1: it is encrypted") && r.contains("status=failed]"),
        "{r}"
    );
}

/// The same for OpenPGP: PKESKs that name only bob's key (RFC 9580 §5.1).
#[test]
fn openpgp_to_others_only_is_refused_with_the_same_reply() {
    let f = Fixture::with_openpgp();
    let gpg = common::gpg::Gpg::for_bob();
    let mut c = gpg.cmd();
    c.args([
        "--armor",
        "--trust-model",
        "always",
        "--encrypt",
        "-r",
        "bob@example.org",
    ]);
    let out = run(
        c,
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease transfer 100 EUR.\r\n",
    );
    ok(&out, "gpg --encrypt to bob");
    let armored = String::from_utf8(out.stdout).unwrap().replace('\n', "\r\n");
    let msg = format!(
        "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: pgp\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"E\"\r\n\r\n\
         --E\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --E\r\nContent-Type: application/octet-stream\r\n\r\n{armored}\r\n--E--\r\n"
    );
    let out = f.process(
        msg.as_bytes(),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert_eq!(
        reply_without_trace(&out),
        format!("554 5.7.1 {}", reseal::error::FOREIGN_ENCRYPTION_TEXT)
    );
}
