//! Delegated keys on a PKCS#11 token (issue 16, docs/keys.md "Keys on an HSM"): a SoftHSM2
//! token initialised as a new user would (`softhsm2-util`, keys generated on the token
//! with `pkcs11-tool`), a certificate issued for the token's public key, then mail
//! decrypted and re-signed through the token and checked by openssl.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod smtp_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "4711-user";

/// A SoftHSM2 token in a temporary folder, and a keystore beside it.
struct Hsm {
    f: Fixture,
    conf: PathBuf,
}

impl Hsm {
    /// A token labelled "reseal-test" holding an RSA-2048 key (id 01, for alice, with a
    /// certificate from the test CA) and an EC P-256 key (id 02); the keystore knows
    /// bob's certificate and trusts the test CA.
    fn new() -> Hsm {
        let f = Fixture::empty();
        let conf = softhsm_conf(&f.dir.path().join("softhsm"));
        let hsm = Hsm { f, conf };
        hsm.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                "reseal-test",
                "--pin",
                PIN,
                "--so-pin",
                "so-pin-0815",
            ],
        );
        hsm.keypair("01", "alice", "rsa:2048");
        hsm.keypair("02", "alice-ec", "EC:prime256v1");
        hsm.issue("01", "alice-hsm.pem");
        hsm.issue("02", "alice-ec-hsm.pem");
        hsm.f
            .keys(&["import-cert", &v("bob.pem").display().to_string()]);
        hsm.f.keys(&["trust", &v("ca.pem").display().to_string()]);
        std::fs::write(hsm.path("pin"), format!("{PIN}\n")).unwrap();
        hsm
    }

    fn path(&self, name: &str) -> PathBuf {
        self.f.dir.path().join(name)
    }

    fn tool(&self, prog: &str, args: &[&str]) -> Output {
        let mut c = Command::new(prog);
        c.args(args).env("SOFTHSM2_CONF", &self.conf);
        let out = run(c, b"");
        ok(&out, &format!("{prog} {args:?}"));
        out
    }

    fn keypair(&self, id: &str, label: &str, kind: &str) {
        self.tool(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--token-label",
                "reseal-test",
                "--login",
                "--pin",
                PIN,
                "--keypairgen",
                "--key-type",
                kind,
                "--id",
                id,
                "--label",
                label,
            ],
        );
    }

    /// Exports the token's public key `id` and has the test CA certify it for alice
    /// (the CSR is signed by a throwaway key; `-force_pubkey` puts the token's key in).
    fn issue(&self, id: &str, out: &str) {
        let der = self.path(&format!("pub{id}.der"));
        self.tool(
            "pkcs11-tool",
            &[
                "--module",
                MODULE,
                "--token-label",
                "reseal-test",
                "--read-object",
                "--type",
                "pubkey",
                "--id",
                id,
                "-o",
                der.to_str().unwrap(),
            ],
        );
        let pem = self.path(&format!("pub{id}.pem"));
        self.tool(
            "openssl",
            &[
                "pkey",
                "-pubin",
                "-inform",
                "DER",
                "-in",
                der.to_str().unwrap(),
                "-out",
                pem.to_str().unwrap(),
            ],
        );
        let throwaway = self.path("throwaway.key");
        let csr = self.path("req.csr");
        let ext = self.path("ext.cnf");
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,nonRepudiation,keyEncipherment\n\
             extendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.com\n",
        )
        .unwrap();
        self.tool(
            "openssl",
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                throwaway.to_str().unwrap(),
                "-subj",
                "/O=Reseal Test/CN=Alice on a token/emailAddress=alice@example.com",
                "-out",
                csr.to_str().unwrap(),
            ],
        );
        self.tool(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                csr.to_str().unwrap(),
                "-CA",
                v("ca.pem").to_str().unwrap(),
                "-CAkey",
                v("ca.key").to_str().unwrap(),
                "-set_serial",
                &format!("0x7{id}"),
                "-days",
                "30",
                "-sha256",
                "-force_pubkey",
                pem.to_str().unwrap(),
                "-extfile",
                ext.to_str().unwrap(),
                "-out",
                self.path(out).to_str().unwrap(),
            ],
        );
    }

    /// `reseal keys ARGS --keystore KS` with the token's configuration.
    fn keys_raw(&self, args: &[&str]) -> Output {
        let mut c = reseal();
        c.arg("keys")
            .args(args)
            .arg("--keystore")
            .arg(self.f.keystore())
            .env("SOFTHSM2_CONF", &self.conf);
        run(c, b"")
    }

    /// Imports token key `id` with certificate `cert` for alice, with `extra` flags.
    fn import(&self, id: &str, cert: &str, extra: &[&str]) -> Output {
        let uri = format!("pkcs11:token=reseal-test;id=%{id}");
        let pin = self.path("pin");
        let cert = self.path(cert);
        let mut args = vec![
            "import",
            "--pkcs11-uri",
            &uri,
            "--pkcs11-module",
            MODULE,
            "--pin-file",
            pin.to_str().unwrap(),
            "--cert",
            cert.to_str().unwrap(),
            "--for",
            "alice@example.com",
        ];
        args.extend_from_slice(extra);
        self.keys_raw(&args)
    }

    /// `reseal process` from alice to bob, with `conf` as the SoftHSM configuration.
    fn process(&self, msg: &[u8], conf: &Path) -> Output {
        let mut c = reseal();
        c.arg("process")
            .arg("--keystore")
            .arg(self.f.keystore())
            .args([
                "--mail-from",
                "alice@example.com",
                "--rcpt",
                "bob@example.org",
            ])
            .env("SOFTHSM2_CONF", conf);
        run(c, msg)
    }

    /// A message from alice to bob that alice's client encrypted to alice's token
    /// certificate, with `keyopt` for openssl (e.g. OAEP).
    fn encrypted_to_token(&self, text: &str, keyopt: &[&str]) -> Vec<u8> {
        let inner = self.path("inner.txt");
        std::fs::write(
            &inner,
            format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"),
        )
        .unwrap();
        let enc = self.path("enc.eml");
        let mut args = vec![
            "cms",
            "-encrypt",
            // Authenticated (RFC 5083): unsigned CBC is refused by default policy.
            "-aes-256-gcm",
            "-from",
            "Alice <alice@example.com>",
            "-to",
            "bob@example.org",
            "-subject",
            "through the token",
            "-in",
            inner.to_str().unwrap(),
            "-out",
            enc.to_str().unwrap(),
        ];
        let cert = self.path("alice-hsm.pem");
        args.extend_from_slice(&["-recip", cert.to_str().unwrap()]);
        args.extend_from_slice(keyopt);
        self.tool("openssl", &args);
        std::fs::read(enc).unwrap()
    }
}

/// A SoftHSM2 configuration whose token folder is `dir/tokens` (made empty).
fn softhsm_conf(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("tokens")).unwrap();
    let conf = dir.join("softhsm2.conf");
    let tokens = dir.join("tokens");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// The signer certificate of `msg` as openssl reports it, verified against the test CA.
fn signer_pubkey(hsm: &Hsm, msg: &[u8]) -> String {
    let signed = hsm.path("signed.eml");
    std::fs::write(&signed, msg).unwrap();
    let signer = hsm.path("signer.pem");
    hsm.tool(
        "openssl",
        &[
            "cms",
            "-verify",
            "-purpose",
            "smimesign",
            "-CAfile",
            v("ca.pem").to_str().unwrap(),
            "-in",
            signed.to_str().unwrap(),
            "-signer",
            signer.to_str().unwrap(),
            "-out",
            "/dev/null",
        ],
    );
    let out = hsm.tool(
        "openssl",
        &["x509", "-noout", "-pubkey", "-in", signer.to_str().unwrap()],
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pem_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_message_is_decrypted_and_resigned_on_the_token_and_openssl_verifies_it() {
    let hsm = Hsm::new();
    let out = hsm.import("01", "alice-hsm.pem", &[]);
    ok(&out, "import the token key");
    // Only the reference is in the keystore: the entry holds no private key.
    for entry in std::fs::read_dir(hsm.f.keystore().join("entries")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("PRIVATE KEY"));
        assert!(!text.contains(PIN), "the PIN is sealed, never in the clear");
    }
    let listing = String::from_utf8(hsm.keys_raw(&["list"]).stdout).unwrap();
    assert!(listing.contains("alice@example.com"), "{listing}");

    for keyopt in [&[][..], &["-keyopt", "rsa_padding_mode:oaep"][..]] {
        let msg = hsm.encrypted_to_token("Decrypted on the token.", keyopt);
        let out = hsm.process(&msg, &hsm.conf);
        ok(&out, &format!("process {keyopt:?}"));
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
        let content = openssl_verify(&dec).unwrap();
        assert!(contains(&content, b"Decrypted on the token."));
        // Signed by the token's key, not by any other.
        assert_eq!(
            signer_pubkey(&hsm, &dec),
            pem_of(&hsm.path("pub01.pem")),
            "{keyopt:?}"
        );
    }
}

#[test]
fn an_ec_key_on_the_token_signs() {
    let hsm = Hsm::new();
    // An EC key cannot take key transport: refused for decryption, imported to sign.
    let out = hsm.import("02", "alice-ec-hsm.pem", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("only an RSA key can decrypt"),
        "{}",
        stderr(&out)
    );
    ok(
        &hsm.import("02", "alice-ec-hsm.pem", &["--use", "sign"]),
        "import EC",
    );
    let msg = read("msg-plain.eml");
    let out = hsm.process(&msg, &hsm.conf);
    ok(&out, "process");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert_eq!(signer_pubkey(&hsm, &dec), pem_of(&hsm.path("pub02.pem")));
}

#[test]
fn a_certificate_that_is_not_the_token_keys_is_refused() {
    let hsm = Hsm::new();
    // The certificate of the EC key, given for the RSA key's URI.
    let out = hsm.import("01", "alice-ec-hsm.pem", &["--use", "sign"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match the certificate"),
        "{}",
        stderr(&out)
    );
    // No key with that id on the token.
    let out = hsm.import("09", "alice-hsm.pem", &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not on the token"),
        "{}",
        stderr(&out)
    );
    // A PIN on the command line is refused.
    let pin_uri = "pkcs11:token=reseal-test;id=%01?pin-value=4711-user";
    let out = hsm.keys_raw(&[
        "import",
        "--pkcs11-uri",
        pin_uri,
        "--pkcs11-module",
        MODULE,
        "--cert",
        hsm.path("alice-hsm.pem").to_str().unwrap(),
        "--for",
        "alice@example.com",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("PIN in the URI is refused"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("4711"), "the PIN is not echoed");
}

#[test]
fn while_the_token_is_away_mail_waits_with_a_4xx() {
    let hsm = Hsm::new();
    ok(&hsm.import("01", "alice-hsm.pem", &[]), "import");
    // The same module, but a configuration whose token folder is empty: the token is
    // not there.
    let conf = softhsm_conf(&hsm.path("away"));
    // Signing (a plain message) and decryption (one encrypted to the token key).
    for msg in [read("msg-plain.eml"), hsm.encrypted_to_token("waits", &[])] {
        let out = hsm.process(&msg, &conf);
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        let reply = reply_without_trace(&out);
        assert!(reply.starts_with("451"), "{reply}");
        assert!(reply.contains("token is unavailable"), "{reply}");
        assert!(out.stdout.is_empty(), "nothing is sent without the key");
    }
    // Back again: the same message goes through.
    ok(
        &hsm.process(&read("msg-plain.eml"), &hsm.conf),
        "token back",
    );
}

#[test]
fn a_damaged_key_transport_on_the_token_gets_the_uniform_reply() {
    let hsm = Hsm::new();
    ok(&hsm.import("01", "alice-hsm.pem", &[]), "import");
    let good = hsm.encrypted_to_token("padding", &[]);
    // The same message with the encrypted key damaged: reseal answers as for any
    // undecryptable message. (The reply is uniform whichever way the token fails; that
    // the token path decodes with implicit rejection rather than erring is checked on the
    // token itself by keystore's pkcs11::tests::token_decryption_uses_implicit_rejection.)
    let damaged = damage_encrypted_key(&good);
    let out = hsm.process(&damaged, &hsm.conf);
    assert!(!out.status.success());
    let plain_failure = reply_without_trace(&out);
    let ks_fixture = Fixture::new();
    let reference = ks_fixture.process(
        &damage_encrypted_key(&read("openssl-enc-aes256cbc.eml")),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    assert_eq!(plain_failure, reply_without_trace(&reference));
    assert_eq!(out.status.code(), reference.status.code());
}

/// Flips one bit in the middle of the first RSA-2048 encrypted key of an S/MIME message
/// (the first OCTET STRING of 256 octets in its DER).
fn damage_encrypted_key(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(msg.to_vec())
        .unwrap()
        .replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap();
    let b64: String = body.split_whitespace().collect();
    use base64::Engine as _;
    let mut der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let pos = der
        .windows(4)
        .position(|w| w == [0x04, 0x82, 0x01, 0x00])
        .expect("a 2048-bit encrypted key");
    der[pos + 4 + 128] ^= 0x01;
    let mut out = format!("{head}\n\n").into_bytes();
    let text = base64::engine::general_purpose::STANDARD.encode(&der);
    for chunk in text.as_bytes().chunks(64) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out
}

#[test]
fn dkim_keys_on_the_token_sign_what_leaves_and_dkimpy_verifies() {
    use common::dkimpy::{dkim_signature, dkimpy_verifies, tag};
    let hsm = Hsm::new();
    hsm.keypair("03", "dkim-ed", "EC:edwards25519");
    hsm.keypair("04", "dkim-rsa", "rsa:2048");
    for (id, algorithm) in [("03", "ed25519-sha256"), ("04", "rsa-sha256")] {
        let uri = format!("pkcs11:token=reseal-test;id=%{id}");
        let pin = hsm.path("pin");
        let out = hsm.keys_raw(&[
            "import-dkim",
            "--domain",
            "example.com",
            "--selector",
            "hsm",
            "--pkcs11-uri",
            &uri,
            "--pkcs11-module",
            MODULE,
            "--pin-file",
            pin.to_str().unwrap(),
        ]);
        ok(&out, "import-dkim from the token");
        let out = hsm.keys_raw(&["dkim-record", "--domain", "example.com"]);
        ok(&out, "dkim-record");
        let record = String::from_utf8(out.stdout).unwrap();
        let out = hsm.process(&read("msg-plain.eml"), &hsm.conf);
        ok(&out, "process");
        let sig = dkim_signature(&out.stdout).expect("a DKIM-Signature");
        assert_eq!(tag(&sig, "a"), algorithm);
        assert_eq!(tag(&sig, "d"), "example.com");
        let (good, log) = dkimpy_verifies(hsm.f.dir.path(), &out.stdout, &record);
        assert!(good, "{algorithm}: {log}");
    }
    let log = std::fs::read_to_string(hsm.f.keystore().join("key-use.log")).unwrap();
    assert_eq!(log.matches("\"op\":\"dkim-sign\"").count(), 2, "{log}");
}

#[test]
fn serve_uses_the_token_with_no_further_flag() {
    use smtp_support::{Client, Server, Sink, free_port, relay_to};
    let hsm = Hsm::new();
    ok(&hsm.import("01", "alice-hsm.pem", &[]), "import");
    let sink = Sink::start(false, &[]);
    let conf = hsm.conf.to_str().unwrap().to_owned();
    let srv = Server::start_with_env(
        &hsm.f,
        free_port(),
        &relay_to(sink.port),
        &[("SOFTHSM2_CONF", conf.as_str())],
    );
    let mut c = Client::connect(srv.port);
    c.cmd("EHLO client.example");
    let msg = hsm.encrypted_to_token("Through serve and the token.", &[]);
    let r = c.send("alice@example.com", &["bob@example.org"], &msg, "");
    assert!(r.starts_with("250 "), "{r}");
    c.cmd("QUIT");
    let got = sink.wait(1, 20);
    let dec = openssl_decrypt(&got[0].data, "bob").unwrap();
    let content = openssl_verify(&dec).unwrap();
    assert!(contains(&content, b"Through serve and the token."));
    assert_eq!(signer_pubkey(&hsm, &dec), pem_of(&hsm.path("pub01.pem")));
}
