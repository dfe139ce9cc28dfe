#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Unsigned headers under CBC (issue 12). When the received message is AES-CBC around a
//! multipart/signed, the first 16 plaintext bytes are the start of the multipart/signed
//! entity's header, and the IV alone decides them: P1 = D(C1) XOR IV, so flipping an IV
//! bit flips the same plaintext bit and garbles nothing else. No signature covers those
//! bytes (RFC 1847 §2.1 signs the first body part only).
//!
//! The decision (SECURITY.md, "Unsigned bytes under CBC"): after a CBC layer nothing
//! outside the signed part leaves the gateway or enters the modification record; the
//! multipart/signed wrapper is rebuilt from the verified part and signature. So for every
//! IV variant: either the uniform 554 5.7.5, or accepted with exactly what the untouched
//! message gives: the same delivered entity (pass-through), the same re-signed content
//! and wrapper (re-signing), the same original frame in the record (a service changed
//! the message).
//!
//! The messages are made here with openssl: `cms -sign` (alice), then `cms -encrypt
//! -aes-256-cbc` to alice, then the IV is found in the DER (the OCTET STRING parameter
//! after the id-aes256-CBC OID 2.16.840.1.101.3.4.1.42, RFC 3565 §4.1) and changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use common::*;

const UNIFORM: &str = "554 5.7.5 The message could not be decrypted or failed an integrity check";
const SECRET: &str = "Please transfer 100 EUR to account 12345.";
/// DER of OBJECT IDENTIFIER 2.16.840.1.101.3.4.1.42 (id-aes256-CBC), then the IV's
/// OCTET STRING header (RFC 3565 §4.1: the parameter is the 16-octet IV).
const AES256_CBC_IV: &[u8] = &[
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A, 0x04, 0x10,
];

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// What the CBC layer decrypts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inner {
    /// `openssl cms -sign` output as it is: `MIME-Version: 1.0` first, so the first
    /// block is "MIME-Version: 1.".
    Smime,
    /// The same without the MIME-Version line (as vectors/make-smime.sh nests it): the
    /// first block is "Content-Type: mu".
    SmimeNoMimeVersion,
    /// gpg's PGP/MIME multipart/signed by alice (vectors/openpgp/gpg-pgpmime-signed.eml).
    PgpMime,
    /// gpg's inline cleartext signature by alice in a text/plain body.
    InlinePgp,
}

/// A CBC EnvelopedData to alice around an `Inner`, as DER, and where its IV is.
struct Base {
    der: Vec<u8>,
    iv_at: usize,
    /// The first 16 bytes of the CBC plaintext.
    first_block: Vec<u8>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The entity to encrypt, as a client would give it to `openssl cms -encrypt`.
fn inner_bytes(dir: &Path, inner: Inner) -> Vec<u8> {
    match inner {
        Inner::Smime | Inner::SmimeNoMimeVersion => {
            std::fs::write(
                dir.join("inner.txt"),
                format!("Content-Type: text/plain; charset=us-ascii\r\n\r\n{SECRET}\r\n"),
            )
            .unwrap();
            let alice_pem = v("alice.pem").display().to_string();
            let alice_key = v("alice.key").display().to_string();
            openssl(
                dir,
                &[
                    "cms",
                    "-sign",
                    "-signer",
                    &alice_pem,
                    "-inkey",
                    &alice_key,
                    "-md",
                    "sha256",
                    "-in",
                    "inner.txt",
                    "-out",
                    "signed.eml",
                ],
            );
            let mut signed = std::fs::read(dir.join("signed.eml")).unwrap();
            assert!(
                signed.starts_with(b"MIME-Version: 1.0"),
                "openssl output changed"
            );
            if inner == Inner::SmimeNoMimeVersion {
                let nl = signed.iter().position(|&b| b == b'\n').unwrap();
                signed.drain(..=nl);
                assert!(signed.starts_with(b"Content-Type: multipart/signed"));
            }
            signed
        }
        Inner::PgpMime => inner_entity(&std::fs::read(pv("gpg-pgpmime-signed.eml")).unwrap()),
        Inner::InlinePgp => inner_entity(&std::fs::read(pv("gpg-inline-clearsigned.eml")).unwrap()),
    }
}

fn base(f: &Fixture, inner: Inner) -> Base {
    let dir = f.dir.path().join(format!("{inner:?}"));
    std::fs::create_dir_all(&dir).unwrap();
    let plaintext = inner_bytes(&dir, inner);
    std::fs::write(dir.join("entity.eml"), &plaintext).unwrap();
    let alice_pem = v("alice.pem").display().to_string();
    openssl(
        &dir,
        &[
            "cms",
            "-encrypt",
            "-aes-256-cbc",
            "-binary",
            "-in",
            "entity.eml",
            "-outform",
            "DER",
            "-out",
            "enc.der",
            &alice_pem,
        ],
    );
    let der = std::fs::read(dir.join("enc.der")).unwrap();
    let found: Vec<usize> = der
        .windows(AES256_CBC_IV.len())
        .enumerate()
        .filter(|(_, w)| *w == AES256_CBC_IV)
        .map(|(i, _)| i + AES256_CBC_IV.len())
        .collect();
    let [iv_at] = found.as_slice() else {
        panic!("not one id-aes256-CBC with a 16-octet IV in the DER: {found:?}");
    };
    Base {
        der,
        iv_at: *iv_at,
        // As encrypted (openssl writes its header lines with LF; the gateway makes them
        // CRLF after decrypting).
        first_block: plaintext[..16].to_vec(),
    }
}

/// The message around an EnvelopedData with the IV XORed with `delta`.
fn message(base: &Base, delta: &[u8; 16]) -> Vec<u8> {
    let mut der = base.der.clone();
    for (i, d) in delta.iter().enumerate() {
        der[base.iv_at + i] ^= d;
    }
    let mut m = b"From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\nSubject: CBC\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7m\r\n\r\n".to_vec();
    m.extend_from_slice(&reseal::mime::encode_base64_lines(&der));
    m
}

/// Every single-bit flip of the IV (128 variants: each flips one bit of the first
/// plaintext block), and chosen rewrites of the whole first block: an attacker who
/// knows it (it is the predictable start of a header) can make it anything.
fn variants(base: &Base) -> Vec<(String, [u8; 16])> {
    let mut out = Vec::new();
    for bit in 0..128 {
        let mut d = [0u8; 16];
        d[bit / 8] = 1 << (bit % 8);
        out.push((format!("IV bit {bit}"), d));
    }
    let chosen: &[&[u8; 16]] = if base.first_block.starts_with(b"MIME-Version") {
        // "MIME-Version: 1." + "0\n..." becomes an inner Subject (shown as a protected
        // header by some clients), a Content-ID, a changed case.
        &[
            b"Subject: pwnd\nX:",
            b"Content-ID:<a>.1",
            b"mime-version: 1.",
        ]
    } else {
        // "Content-Type: mu" + "ltipart/signed; ...".
        &[
            b"content-type: Mu",
            b"Content-Type:\tmu",
            b"CONTENT-TYPE: MU",
        ]
    };
    for c in chosen {
        let mut d = [0u8; 16];
        for i in 0..16 {
            d[i] = base.first_block[i] ^ c[i];
        }
        out.push((
            format!("first block {:?}", String::from_utf8_lossy(&c[..])),
            d,
        ));
    }
    out
}

/// The entity bob decrypts from an output of `reseal process`.
fn bob_reads(out: &[u8]) -> Vec<u8> {
    openssl_decrypt(out, "bob").unwrap_or_else(|e| panic!("bob cannot decrypt: {e}"))
}

/// The header block of an entity, and the entity's parts (RFC 2046 §5.1.1).
fn split(entity: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let e = reseal::mime::Entity::parse(entity).unwrap();
    let header = entity[..e.header_end()].to_vec();
    let parts = e
        .multipart()
        .unwrap()
        .parts
        .iter()
        .map(|r| entity[r.clone()].to_vec())
        .collect();
    (header, parts)
}

/// The decoded OPES-Record of a delivered entity.
fn record(entity: &[u8]) -> serde_json::Value {
    let e = reseal::mime::Entity::parse(entity).unwrap();
    let f = e.get_all("OPES-Record").next().expect("no OPES-Record");
    let text: String = String::from_utf8_lossy(e.field_value(f))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    serde_json::from_slice(&b64().decode(text).unwrap()).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Route {
    /// `[policy] sign = false`: the signed entity is passed on as received, before this
    /// fix with its wrapper header verbatim.
    PassThrough,
    /// The default: the gateway re-signs the signed part.
    Resign,
    /// A service changes the message: the record carries the original's frame.
    Record,
}

/// No re-signing, and a service that changes the message, so a record is made.
const RECORD_TOML: &str = r#"
[opes]
system = "https://gw.example.com/opes"
privacy_policy = "https://gw.example.com/privacy"

[policy]
sign = false

[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "Example Corp: this e-mail is confidential."
consent = "sender"
"#;

fn config(f: &Fixture, route: Route) -> Option<PathBuf> {
    let toml = match route {
        Route::Resign => return None,
        Route::PassThrough => "[policy]\nsign = false\n".to_owned(),
        Route::Record => RECORD_TOML.to_owned(),
    };
    let p = f.dir.path().join(format!("{route:?}.toml"));
    std::fs::write(&p, toml).unwrap();
    Some(p)
}

/// What must be the same for the untouched message and every accepted variant.
fn observed(route: Route, out: &[u8]) -> Vec<u8> {
    let seen = bob_reads(out);
    match route {
        // The whole delivered entity, byte for byte.
        Route::PassThrough => seen,
        // The gateway's own signature is new each time (signing time) and its boundary
        // random: the re-signed part, and the wrapper header with the boundary masked.
        Route::Resign => {
            let (header, parts) = split(&seen);
            let e = reseal::mime::Entity::parse(&seen).unwrap();
            let boundary = e
                .content_type()
                .unwrap()
                .param("boundary")
                .unwrap()
                .to_owned();
            let mut v = String::from_utf8(header)
                .unwrap()
                .replace(&boundary, "BOUNDARY")
                .into_bytes();
            v.extend_from_slice(b"\r\n=== first part ===\r\n");
            v.extend_from_slice(&parts[0]);
            v
        }
        // The record's account of the original: its frame (the signed entity around the
        // signed part) and its digests.
        Route::Record => {
            let r = record(&seen);
            serde_json::to_vec_pretty(&r["original"]).unwrap()
        }
    }
}

/// `Fixture::new()` (alice's S/MIME key and certificate, bob's certificate, the CA) and
/// alice's OpenPGP keys, whose certificates check a PGP signature.
fn fixture() -> Fixture {
    let f = Fixture::new();
    for key in ["alice.sec.asc", "alice-rsa.sec.asc"] {
        f.import_openpgp_for_alice(key);
    }
    f
}

/// gpg's verdict on a detached signature by alice.
fn gpg_verifies(sig: &[u8], data: &[u8]) -> bool {
    let home = tempfile::Builder::new()
        .prefix("gc")
        .tempdir_in("/tmp")
        .unwrap();
    let gpg = || {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home.path())
            .args(["--batch", "--status-fd", "2"]);
        c
    };
    for k in ["alice.pub.asc", "alice-rsa.pub.asc"] {
        let mut c = gpg();
        c.arg("--import").arg(pv(k));
        ok(&run(c, b""), "gpg --import");
    }
    let (s, d) = (home.path().join("sig.asc"), home.path().join("data"));
    std::fs::write(&s, sig).unwrap();
    std::fs::write(&d, data).unwrap();
    let mut c = gpg();
    c.arg("--verify").arg(&s).arg(&d);
    let out = run(c, b"");
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home.path())
        .args(["--kill", "all"])
        .status();
    out.status.success() && contains(&out.stderr, b"[GNUPG:] GOODSIG ")
}

/// What the gateway passes on (`[policy] sign = false`) is its own wrapper around the
/// signed part: no received header field (no MIME-Version), no preamble, a signature
/// part it wrote, and the signature still verifies with the peers.
fn assert_rebuilt(entity: &[u8], inner: Inner) {
    let (header, parts) = split(entity);
    let header = String::from_utf8(header).unwrap();
    let (want_header, want_part) = if inner == Inner::PgpMime {
        (
            "Content-Type: multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\";\r\n\tboundary=\"=_reseal_",
            "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\n",
        )
    } else {
        (
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=\"sha-256\";\r\n\tboundary=\"=_reseal_",
            "Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7s\r\n\r\n",
        )
    };
    assert!(header.starts_with(want_header), "{header}");
    assert_eq!(header.matches(':').count(), 1, "one field: {header}");
    let e = reseal::mime::Entity::parse(entity).unwrap();
    let b = e
        .content_type()
        .unwrap()
        .param("boundary")
        .unwrap()
        .to_owned();
    assert!(
        entity[e.body_offset()..].starts_with(format!("--{b}\r\n").as_bytes()),
        "no preamble"
    );
    assert!(
        entity.ends_with(format!("--{b}--\r\n").as_bytes()),
        "no epilogue"
    );
    assert_eq!(parts.len(), 2);
    assert!(
        parts[1].starts_with(want_part.as_bytes()),
        "{}",
        String::from_utf8_lossy(&parts[1])
    );
    if inner == Inner::PgpMime {
        let sig = reseal::mime::Entity::parse(&parts[1]).unwrap();
        assert!(
            gpg_verifies(sig.body(), &parts[0]),
            "gpg does not verify the passed-on signature"
        );
    } else {
        let verified = openssl_verify(entity).expect("the delivered signature verifies");
        assert!(contains(&verified, SECRET.as_bytes()));
    }
}

fn check(route: Route, inner: Inner) {
    let f = fixture();
    let cfg = config(&f, route);
    let base = base(&f, inner);
    let run = |delta: &[u8; 16]| {
        f.process(
            &message(&base, delta),
            "alice@example.com",
            &["bob@example.org"],
            cfg.as_deref(),
        )
    };
    let out = run(&[0; 16]);
    ok(&out, "the untouched message");
    let reference = observed(route, &out.stdout);
    match route {
        Route::PassThrough => assert_rebuilt(&reference, inner),
        Route::Resign => {
            let signed = bob_reads(&out.stdout);
            openssl_verify(&signed).expect("the gateway's signature verifies");
            assert_eq!(
                openssl_signer_emails(&signed, f.dir.path()),
                "alice@example.com"
            );
        }
        Route::Record => {}
    }
    let mut accepted = 0;
    let mut refused = 0;
    let mut bad = Vec::new();
    for (what, delta) in variants(&base) {
        let out = run(&delta);
        match out.status.code() {
            Some(0) => {
                accepted += 1;
                let seen = observed(route, &out.stdout);
                if seen != reference {
                    bad.push(format!(
                        "{what}: accepted, and what is delivered differs from the untouched message's:\n{}\n--- instead of ---\n{}",
                        String::from_utf8_lossy(&seen),
                        String::from_utf8_lossy(&reference)
                    ));
                }
            }
            Some(77) => {
                refused += 1;
                if reply_without_trace(&out) != UNIFORM || !out.stdout.is_empty() {
                    bad.push(format!("{what}: refused otherwise: {}", stderr(&out)));
                }
            }
            other => bad.push(format!("{what}: exit {other:?}: {}", stderr(&out))),
        }
    }
    eprintln!("{route:?}, {inner:?}: {accepted} accepted, {refused} refused");
    assert!(
        bad.is_empty(),
        "{} variant(s):\n{}",
        bad.len(),
        bad.join("\n")
    );
    // Some flips leave a header that still parses (a letter's case, the MIME-Version
    // line): the property above must have been exercised, not only refusals.
    assert!(accepted > 0, "no variant was accepted: nothing was checked");
}

#[test]
fn iv_flips_change_nothing_that_is_passed_on() {
    check(Route::PassThrough, Inner::Smime);
    check(Route::PassThrough, Inner::SmimeNoMimeVersion);
}

#[test]
fn iv_flips_change_nothing_that_is_re_signed() {
    check(Route::Resign, Inner::Smime);
}

#[test]
fn iv_flips_change_nothing_in_the_record() {
    check(Route::Record, Inner::Smime);
}

/// S/MIME CBC around a PGP/MIME signature (RFC 3156 §5): the same rule, the wrapper
/// rebuilt with the signature packets re-armored.
#[test]
fn iv_flips_change_nothing_around_a_pgp_mime_signature() {
    check(Route::PassThrough, Inner::PgpMime);
}

/// An inline (cleartext) OpenPGP signature covers the text but not the text/plain
/// header whose charset and transfer encoding say what the text is. Directly inside
/// CBC that header is the attacker's, so no signature covers the whole entity: refused
/// with the uniform reply, untouched or not.
#[test]
fn inline_pgp_signature_directly_inside_cbc_is_refused() {
    let f = fixture();
    let base = base(&f, Inner::InlinePgp);
    for (what, delta) in [("untouched".to_owned(), [0u8; 16])]
        .into_iter()
        .chain(variants(&base).into_iter().step_by(9))
    {
        let out = f.process(
            &message(&base, &delta),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        assert_eq!(out.status.code(), Some(77), "{what}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}");
        assert_eq!(reply_without_trace(&out), UNIFORM, "{what}");
    }
}
