#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! S/MIME algorithm choice (RFC 8551 §2.7.1): what a recipient announced (learned from
//! verified signed mail, and from `keys import-cert` of a signed message) comes first,
//! then the operator's policy, then a default every client opens — checked with gpgsm
//! 2.2, the S/MIME engine of KMail, Mutt/NeoMutt (gpgme), notmuch and Claws.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::gpgsm::Gpgsm;

use common::*;

/// The content encryption and key transport of an S/MIME message, as openssl prints
/// them.
fn algorithms(f: &Fixture, msg: &[u8]) -> String {
    let top = reseal::mime::Entity::parse(msg).unwrap();
    let der = top.decoded_body().unwrap().into_owned();
    let p = f.tmp("enc.p7m", &der);
    let mut c = Command::new("openssl");
    c.args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&p);
    let out = run(c, b"");
    ok(&out, "openssl cms -cmsout -print");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cbc_pkcs1(print: &str) -> bool {
    print.contains("aes-256-cbc") && print.contains("rsaEncryption") && !print.contains("OAEP")
}

/// Reseal's output to carol (no certificate): signed by alice, not encrypted.
fn signed_by_alice(f: &Fixture) -> Vec<u8> {
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["carol@example.com"],
        None,
    );
    ok(&out, "signed only");
    out.stdout
}

#[test]
fn the_default_output_opens_in_gpgsm() {
    let f = Fixture::new();
    let out = f.process(
        &read("msg-attach.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    let print = algorithms(&f, &out.stdout);
    assert!(
        cbc_pkcs1(&print),
        "not AES-256-CBC with PKCS#1 v1.5:\n{print}"
    );
    let g = Gpgsm::new(&["bob"]);
    let inner = g
        .decrypt(&f, &out.stdout)
        .unwrap_or_else(|e| panic!("gpgsm cannot decrypt the default output: {e}"));
    let inner = reseal::mime::to_crlf(&inner).into_owned();
    let status = g.verify(&f, &inner);
    assert!(
        status.contains("[GNUPG:] GOODSIG") && status.contains("alice@example.com"),
        "gpgsm does not find alice's signature good:\n{status}"
    );
}

/// Reseal's own signed output announces what Reseal decrypts (AES-256-GCM first, and
/// RSAES-OAEP); imported with `keys import-cert`, that list decides for alice before
/// the policy does, while bob (nothing announced) gets the policy, and a message to
/// both gets what both read.
#[test]
fn what_a_recipient_announced_comes_before_policy_and_default() {
    let f = Fixture::new();
    let signed = signed_by_alice(&f);
    let file = f.tmp("signed-by-alice.eml", &signed);
    let imported = f.keys(&["import-cert", &file.display().to_string()]);
    assert!(String::from_utf8_lossy(&imported.stdout).starts_with("cert-"));
    let list = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let alice = j["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["addresses"][0] == "alice@example.com")
        .unwrap_or_else(|| panic!("alice's certificate was not imported: {j:#}"));
    assert_eq!(alice["announced"]["cipher"], "aes-256-gcm", "{alice:#}");
    assert_eq!(alice["announced"]["key_transport"], "rsa-oaep", "{alice:#}");
    let text = String::from_utf8_lossy(&f.keys(&["list"]).stdout).into_owned();
    assert!(text.contains("announced ("), "{text}");

    // The operator asks for CBC with PKCS#1 v1.5 for everyone: alice's announcement
    // still decides for her (Rule 1); bob gets the policy.
    let cfg = f.config("[policy]\ncipher = \"aes-256-cbc\"\nkey_transport = \"rsa-pkcs1v15\"\n");
    let to = |rcpts: &[&str]| {
        let out = f.process(
            &read("msg-plain.eml"),
            "alice@example.com",
            rcpts,
            Some(&cfg),
        );
        ok(&out, &format!("to {rcpts:?}"));
        algorithms(&f, &out.stdout)
    };
    let a = to(&["alice@example.com"]);
    assert!(
        a.contains("aes-256-gcm") && a.contains("rsaesOaep"),
        "alice announced GCM and OAEP:\n{a}"
    );
    assert!(cbc_pkcs1(&to(&["bob@example.org"])), "bob: the policy");
    let both = to(&["alice@example.com", "bob@example.org"]);
    assert!(
        both.contains("aes-256-cbc"),
        "one message both read:\n{both}"
    );
    assert!(both.contains("rsaesOaep"), "alice's key transport:\n{both}");
}

/// A signed message whose signature does not verify teaches nothing and imports
/// nothing (RFC 8551 §2.7.1); a file that is no certificate names itself, exit 65.
#[test]
fn an_unverified_announcement_is_refused() {
    let f = Fixture::new();
    let signed = signed_by_alice(&f);
    let tampered = String::from_utf8_lossy(&signed).replacen(
        "Please transfer 100 EUR",
        "Please transfer 900 EUR",
        1,
    );
    let file = f.tmp("tampered.eml", tampered.as_bytes());
    let out = f.keys_raw(&["import-cert", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("tampered.eml"), "{}", stderr(&out));
    let cache: PathBuf = f.keystore().join("capabilities.json");
    assert!(
        !cache.exists() || !std::fs::read_to_string(&cache).unwrap().contains("1.2.840"),
        "learned from an unverified message"
    );
    let bad = f.tmp("notes.txt", b"Subject: hello\r\n\r\nnot a certificate\r\n");
    let out = f.keys_raw(&["import-cert", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
}

/// A detached signature file (.p7s, as clients attach it) teaches what its signer
/// announced: openssl's signer announces AES-256-CBC first, so bob gets CBC even where
/// the policy asks for GCM; a .p7s whose signature does not verify is refused, named.
#[test]
fn a_detached_signature_file_teaches_too() {
    let f = Fixture::new();
    let data = f.tmp("note.txt", b"any content\r\n");
    let p7s = f.dir.path().join("bob.p7s");
    let mut c = Command::new("openssl");
    c.args(["cms", "-sign", "-binary", "-outform", "DER", "-signer"])
        .arg(v("bob.pem"))
        .arg("-inkey")
        .arg(v("bob.key"))
        .arg("-certfile")
        .arg(v("ica.pem"))
        .arg("-in")
        .arg(&data)
        .arg("-out")
        .arg(&p7s);
    ok(&run(c, b""), "openssl cms -sign");
    f.keys(&["import-cert", &p7s.display().to_string()]);
    let list = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let bob = j["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["addresses"][0] == "bob@example.org")
        .unwrap();
    assert_eq!(bob["announced"]["cipher"], "aes-256-cbc", "{bob:#}");
    let cfg = f.config("[policy]\ncipher = \"aes-256-gcm\"\nkey_transport = \"rsa-oaep\"\n");
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, "to bob");
    assert!(cbc_pkcs1(&algorithms(&f, &out.stdout)), "bob announced CBC");

    // The last bytes of the file are the signature value: flip one.
    let mut bad = std::fs::read(&p7s).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let badp = f.tmp("tampered.p7s", &bad);
    let out = f.keys_raw(&["import-cert", &badp.display().to_string()]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tampered.p7s") && stderr(&out).contains("does not verify"),
        "{}",
        stderr(&out)
    );
}
