#![forbid(unsafe_code)]
//! What the fuzz targets share: the test vectors, verification contexts built the way
//! the pipeline builds them, and a keystore holding alice's OpenPGP key.
//!
//! Everything here is set up once per process; a target's per-input work is only what
//! the gateway itself would do with an untrusted message. Set-up may panic (a broken
//! vector is not a finding); the code under test must not.

use std::path::PathBuf;
use std::sync::OnceLock;

use reseal::mime::Entity;
use reseal::mime::address::single_from;
use reseal::unwrap::UnwrapContext;
use reseal_keystore::sequoia_openpgp as openpgp;
use reseal_keystore::{Certificate, KdfParams, Keystore, SecretString, Uses};

pub use reseal;
pub use reseal_keystore;

/// The most bytes a decrypted or decompressed layer may produce under fuzzing. Smaller
/// than the gateway's 64 MiB default, so that a compression bomb costs milliseconds; the
/// bound is enforced by the same code either way.
pub const MAX_PLAINTEXT: usize = 1 << 20;

/// The envelope parties the contexts use: alice sends to bob.
pub const PARTIES: [&str; 2] = ["alice@example.com", "bob@example.org"];

/// The repository's `vectors/` folder.
pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Reads a vector, e.g. `read("smime/ca.pem")`.
pub fn read(rel: &str) -> Vec<u8> {
    let p = vectors().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fuzz set-up: cannot read {}: {e}", p.display()))
}

/// "Now" for certificate and key validity, fixed for the life of the process so that a
/// run is reproducible within itself.
pub fn now() -> u64 {
    static NOW: OnceLock<u64> = OnceLock::new();
    *NOW.get_or_init(reseal_keystore::now)
}

/// Trust anchors, directory certificates and OpenPGP certificates from `vectors/`.
pub struct Pki {
    pub anchors: Vec<Certificate>,
    pub known_certs: Vec<Certificate>,
    pub pgp_certs: Vec<openpgp::Cert>,
}

fn certs(rel: &str) -> Vec<Certificate> {
    reseal_keystore::parse_certificates(&read(rel))
        .unwrap_or_else(|e| panic!("fuzz set-up: {rel}: {e}"))
}

/// The PKI the contexts trust: `smime/ca.pem` as the only anchor; the other test
/// certificates (including the intermediate and the evil CA) as the directory.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        use openpgp::parse::Parse as _;
        let mut known_certs = Vec::new();
        for name in [
            "alice", "bob", "ica", "carol", "dave", "erin", "mallory", "expired", "evil-ca",
        ] {
            known_certs.extend(certs(&format!("smime/{name}.pem")));
        }
        let pgp_certs = [
            "alice",
            "alice-rsa",
            "bob",
            "carol",
            "dave",
            "expired",
            "revoked",
            "mallory",
        ]
        .iter()
        .map(|n| {
            openpgp::Cert::from_bytes(&read(&format!("openpgp/{n}.pub.asc")))
                .unwrap_or_else(|e| panic!("fuzz set-up: openpgp/{n}.pub.asc: {e}"))
        })
        .collect();
        Pki {
            anchors: certs("smime/ca.pem"),
            known_certs,
            pgp_certs,
        }
    })
}

/// An unwrap context as the pipeline builds one for `message` (From taken from the
/// message), with `keystore` for decryption, or none.
pub fn context<'a>(message: &[u8], keystore: Option<&'a Keystore>) -> UnwrapContext<'a> {
    let pki = pki();
    UnwrapContext {
        keystore,
        parties: PARTIES.iter().map(|s| (*s).to_owned()).collect(),
        from: Entity::parse(message).ok().and_then(|e| single_from(&e)),
        now: now(),
        anchors: pki.anchors.clone(),
        known_certs: pki.known_certs.clone(),
        // Let CBC EnvelopedData reach the decryption code; the CBC rule is still checked
        // on whatever comes out.
        allow_cbc: true,
        pgp_certs: pki.pgp_certs.clone(),
        max_plaintext: MAX_PLAINTEXT,
        trial_decryption: false,
    }
}

/// A keystore holding alice's OpenPGP key (Curve25519, sign + decrypt, delegated for
/// alice@example.com), made once per process at the KDF floor. Its folder is removed
/// again as soon as it is open: the keys are held in memory.
pub fn pgp_keystore() -> &'static Keystore {
    static KS: OnceLock<Keystore> = OnceLock::new();
    KS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("reseal-fuzz-ks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pass = SecretString::from("fuzz keystore passphrase".to_owned());
        Keystore::init(&dir, &pass, KdfParams::FLOOR).expect("fuzz set-up: keystore init");
        let mut ks = Keystore::open(&dir, &pass).expect("fuzz set-up: keystore open");
        ks.import_openpgp(
            &read("openpgp/alice.sec.asc"),
            None,
            vec!["alice@example.com".parse().expect("delegation")],
            Uses::BOTH,
        )
        .expect("fuzz set-up: import alice.sec.asc");
        let _ = std::fs::remove_dir_all(&dir);
        ks
    })
}

/// The bytes of part `index` (0-based) of the multipart root of a vector message,
/// exactly as they sit between the boundaries.
pub fn vector_part(rel: &str, index: usize) -> Vec<u8> {
    let msg = reseal::mime::to_crlf(&read(rel)).into_owned();
    let e = Entity::parse(&msg).expect("fuzz set-up: vector parses");
    let mp = e.multipart().expect("fuzz set-up: vector is multipart");
    let r = mp
        .parts
        .get(index)
        .expect("fuzz set-up: part exists")
        .clone();
    msg.get(r).expect("fuzz set-up: part range").to_vec()
}

/// A message around `entity` (Content-* fields, empty line, body), from alice to bob.
pub fn message_around(entity: &[u8]) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\n\
Subject: fuzz\r\nMessage-ID: <fuzz@example.com>\r\nMIME-Version: 1.0\r\n"
        .to_vec();
    m.extend_from_slice(entity);
    m
}

/// An entity whose body is `data`, base64-encoded so that any bytes survive.
pub fn base64_entity(content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut e =
        format!("Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n")
            .into_bytes();
    e.extend_from_slice(&reseal::mime::encode_base64_lines(data));
    e
}

/// A PGP/MIME multipart/encrypted message (RFC 3156 §4) whose data part is `data`.
pub fn pgp_mime_encrypted(data: &[u8]) -> Vec<u8> {
    const B: &str = "=-fuzz-b0undary-=";
    let mut e = format!(
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n \
boundary=\"{B}\"\r\n\r\n--{B}\r\nContent-Type: application/pgp-encrypted\r\n\r\n\
Version: 1\r\n\r\n--{B}\r\n"
    )
    .into_bytes();
    e.extend_from_slice(&base64_entity("application/octet-stream", data));
    e.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
    message_around(&e)
}

/// libfuzzer-sys aborts in its panic hook, before a panic can be caught. Reseal catches
/// panics of sequoia-openpgp on purpose (`unwrap::openpgp::guarded`, after a truncated
/// SEIPD packet made sequoia 2.4.2 panic) and refuses the message like any other broken
/// one. Targets that reach sequoia call this in their `init:` so that such a caught
/// panic counts as the refusal it is. A panic that nothing catches still ends the run:
/// libfuzzer-sys's entry point aborts when one unwinds out of the target.
pub fn allow_caught_panics() {
    // `take_hook` puts the standard hook (print the message, return) back in place.
    drop(std::panic::take_hook());
}
