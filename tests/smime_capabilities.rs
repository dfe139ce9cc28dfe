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

/// A gpgsm home with bob's key (PKCS#12 in the legacy form gpgsm 2.2 reads) and the
/// test CA trusted.
struct Gpgsm {
    home: tempfile::TempDir,
}

impl Gpgsm {
    fn new() -> Gpgsm {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("gpgsm.conf"), "disable-crl-checks\n").unwrap();
        std::fs::write(
            home.path().join("gpg-agent.conf"),
            "allow-loopback-pinentry\n",
        )
        .unwrap();
        let g = Gpgsm { home };
        let p12 = g.home.path().join("bob.p12");
        let mut c = Command::new("openssl");
        c.args(["pkcs12", "-export", "-in"])
            .arg(v("bob.pem"))
            .arg("-inkey")
            .arg(v("bob.key"))
            .args([
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
                "-passout",
                "pass:",
                "-out",
            ])
            .arg(&p12);
        ok(&run(c, b""), "openssl pkcs12 -export");
        let mut c = g.cmd();
        c.args([
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--import",
        ])
        .arg(&p12);
        ok(&run(c, b""), "gpgsm --import bob.p12");
        let mut c = g.cmd();
        c.arg("--import").arg(v("ca.pem"));
        ok(&run(c, b""), "gpgsm --import ca.pem");
        // Trust the CA for signing ("S"), relaxed (no CRL or chain-model checks).
        let mut c = Command::new("openssl");
        c.args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(v("ca.pem"));
        let out = run(c, b"");
        let fpr: String = String::from_utf8_lossy(&out.stdout)
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .replace(':', "");
        std::fs::write(
            g.home.path().join("trustlist.txt"),
            format!("{fpr} S relax\n"),
        )
        .unwrap();
        let mut c = Command::new("gpgconf");
        c.env("GNUPGHOME", g.home.path())
            .args(["--reload", "gpg-agent"]);
        let _ = run(c, b"");
        g
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("gpgsm");
        c.env("GNUPGHOME", self.home.path()).arg("--batch");
        c
    }

    /// `gpgsm --decrypt` of the message's CMS object.
    fn decrypt(&self, f: &Fixture, msg: &[u8]) -> Result<Vec<u8>, String> {
        let top = reseal::mime::Entity::parse(msg).unwrap();
        let p = f.tmp("for-gpgsm.p7m", &top.decoded_body().unwrap());
        let mut c = self.cmd();
        c.args([
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--decrypt",
        ])
        .arg(&p);
        let out = run(c, b"");
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(stderr(&out))
        }
    }

    /// `gpgsm --verify` of a multipart/signed entity: the status lines.
    fn verify(&self, f: &Fixture, entity: &[u8]) -> String {
        let e = reseal::mime::Entity::parse(entity).unwrap();
        let mp = e.multipart().unwrap();
        let content = entity.get(mp.parts[0].clone()).unwrap();
        let sig = reseal::mime::Entity::parse(entity.get(mp.parts[1].clone()).unwrap())
            .unwrap()
            .decoded_body()
            .unwrap()
            .into_owned();
        let sp = f.tmp("sig.p7s", &sig);
        let cp = f.tmp("content", content);
        let mut c = self.cmd();
        c.args(["--status-fd", "1", "--verify"]).arg(&sp).arg(&cp);
        String::from_utf8_lossy(&run(c, b"").stdout).into_owned()
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let mut c = Command::new("gpgconf");
        c.env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"]);
        let _ = c.output();
    }
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
    let g = Gpgsm::new();
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
