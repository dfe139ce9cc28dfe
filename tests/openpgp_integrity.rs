#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Integrity before limits (issue 12, item 4). An OpenPGP message whose plaintext
//! decompresses past the limit used to get the size refusal (5.3.4) even when its
//! encryption container was tampered with: sequoia checks the MDC (RFC 9580 §5.13.1) or
//! the final AEAD tag (§5.13.2) only at the end of the container, after everything inside
//! has been decompressed. That told an attacker something about plaintext he had
//! malleated. Now the container is checked on its own, before anything inside it is
//! inflated: a tampered one gets the uniform 554 5.7.5 whatever its size (SECURITY.md, "Invariants"
//! rule 3), an intact one over the limit still gets 5.3.4, and the check costs one pass
//! over the ciphertext, never the decompression of the bomb.
//!
//! The bombs are made here: with the sequoia library (SEIPDv1 and SEIPDv2) and with gpg
//! (SEIPDv1, its indeterminate-length compressed packet), then tampered with.

mod common;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use openpgp::cert::prelude::*;
use openpgp::packet::{Body, SEIP};
use openpgp::parse::Parse as _;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::Serialize as _;
use openpgp::serialize::SerializeInto as _;
use openpgp::serialize::stream::{ArbitraryWriter, Compressor, Encryptor, LiteralWriter, Message};
use openpgp::types::{AEADAlgorithm, CompressionAlgorithm, CompressionLevel, SymmetricAlgorithm};
use openpgp::{Packet, PacketPile, Profile};
use reseal_keystore::sequoia_openpgp as openpgp;

const UNIFORM: &str = "554 5.7.5 The message could not be decrypted or failed an integrity check";
/// `limits.max_message_bytes` in these tests: also the most plaintext a layer may give.
const LIMIT: usize = 200_000;
/// Plaintext of every bomb: 80 times the limit, some 16 KB once compressed.
const BOMB: usize = 16 << 20;

/// A keystore with alice's OpenPGP key delegated for alice, and a config with the small
/// limit.
fn fixture() -> (Fixture, PathBuf) {
    let f = Fixture::empty();
    f.import_openpgp_for_alice("alice.sec.asc");
    let cfg = f.config(&format!("[limits]\nmax_message_bytes = {LIMIT}\n"));
    (f, cfg)
}

/// The literal data of every bomb: a MIME entity, then zeros, then `tail` bytes that do
/// not compress (xorshift), so that the end of the ciphertext lies that far after the
/// part that inflates past the limit.
fn bomb_plaintext(tail: usize) -> Vec<u8> {
    bomb_plaintext_of(BOMB, tail)
}

fn bomb_plaintext_of(size: usize, tail: usize) -> Vec<u8> {
    let mut p = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n".to_vec();
    p.resize(size, b'0');
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    p.extend((0..tail).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x.to_le_bytes()[0]
    }));
    p
}

fn alice() -> Cert {
    Cert::from_file(pv("alice.pub.asc")).unwrap()
}

/// zlib level 9 of [`bomb_plaintext`] in a literal data packet, in a compressed data
/// packet, in a SEIPD to `to` (v1 for a v4 certificate; v2 with OCB when `aead`), binary.
fn sequoia_bomb(to: &Cert, aead: bool, tail: usize) -> Vec<u8> {
    sequoia_bomb_of(to, aead, &bomb_plaintext(tail))
}

fn sequoia_bomb_of(to: &Cert, aead: bool, plaintext: &[u8]) -> Vec<u8> {
    let p = StandardPolicy::new();
    let recipients: Vec<_> = to
        .keys()
        .with_policy(&p, None)
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .collect();
    assert!(!recipients.is_empty(), "no encryption key");
    let mut out = Vec::new();
    let m = Message::new(&mut out);
    let mut e = Encryptor::for_recipients(m, recipients).symmetric_algo(SymmetricAlgorithm::AES256);
    if aead {
        e = e.aead_algo(AEADAlgorithm::OCB);
    }
    let m = e.build().unwrap();
    let m = Compressor::new(m)
        .algo(CompressionAlgorithm::Zlib)
        .level(CompressionLevel::best())
        .build()
        .unwrap();
    let mut w = LiteralWriter::new(m).build().unwrap();
    w.write_all(plaintext).unwrap();
    w.finalize().unwrap();
    out
}

/// A SEIPDv1 to alice whose MDC is intact but whose deflate stream is broken 64 bytes
/// before its end, that is, some megabytes of output after the limit. Only an
/// implementation that inflates past the limit can tell.
fn bomb_broken_after_the_limit() -> Vec<u8> {
    // The compressed data packet's body, made on its own.
    let mut compressed = Vec::new();
    {
        let m = Message::new(&mut compressed);
        let m = Compressor::new(m)
            .algo(CompressionAlgorithm::Zlib)
            .level(CompressionLevel::best())
            .build()
            .unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(&bomb_plaintext(0)).unwrap();
        w.finalize().unwrap();
    }
    let mut body = packet_body(&compressed);
    assert!(body.len() > 1000, "the bomb is {} bytes", body.len());
    let n = body.len();
    // The first byte is the algorithm; the rest is the zlib stream. Break its end.
    for b in &mut body[n - 64..n - 32] {
        *b ^= 0x55;
    }
    let p = StandardPolicy::new();
    let a = alice();
    let recipients: Vec<_> = a
        .keys()
        .with_policy(&p, None)
        .supported()
        .for_transport_encryption()
        .collect();
    let mut out = Vec::new();
    let m = Message::new(&mut out);
    let m = Encryptor::for_recipients(m, recipients)
        .symmetric_algo(SymmetricAlgorithm::AES256)
        .build()
        .unwrap();
    let mut w = ArbitraryWriter::new(m, openpgp::packet::Tag::CompressedData).unwrap();
    w.write_all(&body).unwrap();
    w.finalize().unwrap();
    out
}

/// The body of the one new-format packet in `packet`, partial body lengths joined
/// (RFC 9580 §4.2.1). (The packet parser would inflate a compressed data packet.)
fn packet_body(packet: &[u8]) -> Vec<u8> {
    assert_eq!(packet[0] & 0xC0, 0xC0, "not a new-format packet");
    let mut i = 1;
    let mut body = Vec::new();
    loop {
        let o = usize::from(packet[i]);
        let (len, header, last) = match o {
            0..=191 => (o, 1, true),
            192..=223 => (((o - 192) << 8) + usize::from(packet[i + 1]) + 192, 2, true),
            224..=254 => (1 << (o & 0x1F), 1, false),
            _ => (
                u32::from_be_bytes(packet[i + 1..i + 5].try_into().unwrap()) as usize,
                5,
                true,
            ),
        };
        body.extend_from_slice(&packet[i + header..i + header + len]);
        i += header + len;
        if last {
            break;
        }
    }
    assert_eq!(i, packet.len(), "one packet expected");
    body
}

/// The same bomb made by gpg (`--compress-algo zlib --compress-level 9`): SEIPDv1 with
/// an MDC, partial body lengths, an indeterminate-length compressed data packet.
fn gpg_bomb() -> Vec<u8> {
    let home = tempfile::Builder::new()
        .prefix("gi")
        .tempdir_in("/tmp")
        .unwrap();
    let gpg = || {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", home.path())
            .args(["--batch", "--yes", "--quiet"]);
        c
    };
    let mut c = gpg();
    c.arg("--import").arg(pv("alice.pub.asc"));
    ok(&run(c, b""), "gpg --import");
    let mut c = gpg();
    c.args([
        "--trust-model",
        "always",
        "--compress-algo",
        "zlib",
        "--compress-level",
        "9",
        "--cipher-algo",
        "AES256",
        "--recipient",
        "alice@example.com",
        "--encrypt",
    ]);
    let out = run(c, &bomb_plaintext(0));
    ok(&out, "gpg --encrypt");
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", home.path())
        .args(["--kill", "all"])
        .status();
    out.stdout
}

/// The last ciphertext byte flipped. The SEIPD is the last packet, so this is the last
/// byte of the MDC's SHA-1 (v1; CFB: only that byte changes) or of the final AEAD tag
/// (v2).
fn flip_last(binary: &[u8]) -> Vec<u8> {
    let mut b = binary.to_vec();
    *b.last_mut().unwrap() ^= 0x01;
    b
}

/// The packets of `binary` with the SEIPD's encrypted body passed through `f`, written
/// back with definite lengths. `as_sed` writes the result as a Symmetrically Encrypted
/// Data packet (tag 9, RFC 9580 §5.7) instead.
fn rewrite_seipd(binary: &[u8], f: impl Fn(&[u8]) -> Vec<u8>, as_sed: bool) -> Vec<u8> {
    let pile = PacketPile::from_bytes(binary).unwrap();
    let mut out = Vec::new();
    let mut seen = false;
    for p in pile.into_children() {
        match p {
            Packet::SEIP(SEIP::V1(mut s)) => {
                seen = true;
                let Body::Unprocessed(ct) = s.body() else {
                    panic!("SEIPD body not kept encrypted");
                };
                let ct = f(ct);
                if as_sed {
                    // New-format header, tag 9, five-octet length (RFC 9580 §4.2.1).
                    out.push(0xC0 | 9);
                    out.push(0xFF);
                    out.extend_from_slice(&u32::try_from(ct.len()).unwrap().to_be_bytes());
                    out.extend_from_slice(&ct);
                } else {
                    s.set_body(Body::Unprocessed(ct));
                    Packet::SEIP(SEIP::V1(s)).serialize(&mut out).unwrap();
                }
            }
            other => other.serialize(&mut out).unwrap(),
        }
    }
    assert!(seen, "no SEIPDv1 packet");
    out
}

/// RFC 3156 §4 around an armored `binary`.
fn pgp_mime(binary: &[u8]) -> Vec<u8> {
    let mut armored = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut armored, openpgp::armor::Kind::Message).unwrap();
    w.write_all(binary).unwrap();
    w.finalize().unwrap();
    let mut m = b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: bomb\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    m.extend_from_slice(&reseal::mime::to_crlf(&armored));
    m.extend_from_slice(b"\r\n--b--\r\n");
    m
}

/// Runs `reseal process` on the bomb; returns the reply line without its trace.
fn process(f: &Fixture, cfg: &std::path::Path, binary: &[u8], what: &str) -> String {
    let msg = pgp_mime(binary);
    assert!(msg.len() < LIMIT, "the bomb message is {} bytes", msg.len());
    let start = std::time::Instant::now();
    let out = f.process(&msg, "alice@example.com", &["bob@example.org"], Some(cfg));
    assert_eq!(out.status.code(), Some(77), "{what}: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "{what}: released output");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{what}: took {:?}",
        start.elapsed()
    );
    reply_without_trace(&out)
}

fn assert_uniform(reply: &str, what: &str) {
    assert_eq!(
        reply, UNIFORM,
        "{what}: integrity must come before the limit"
    );
}

fn assert_size_refusal(reply: &str, what: &str) {
    assert!(
        reply.starts_with("554 5.3.4 ") && reply.contains("exceeds the limit"),
        "{what}: an intact bomb is refused for its size: {reply}"
    );
}

/// The control: an intact bomb, made by sequoia and by gpg, is refused for its size.
#[test]
fn intact_compression_bomb_gets_the_size_refusal() {
    let (f, cfg) = fixture();
    for (what, bomb) in [
        ("sequoia SEIPDv1", sequoia_bomb(&alice(), false, 0)),
        ("gpg SEIPDv1", gpg_bomb()),
    ] {
        assert_size_refusal(&process(&f, &cfg, &bomb, what), what);
    }
}

/// RFC 9580 §5.13.1 (RFC 4880 §5.13, §5.14): the MDC is the last 20 octets of the SEIPDv1
/// plaintext; flipping the last ciphertext octet breaks it and nothing else. The
/// decompressed content is the same as the intact bomb's, far past the limit: the reply
/// must be the uniform integrity failure all the same.
#[test]
fn compression_bomb_with_a_flipped_mdc_gets_the_uniform_failure() {
    let (f, cfg) = fixture();
    for (what, bomb) in [
        ("sequoia SEIPDv1", sequoia_bomb(&alice(), false, 0)),
        ("gpg SEIPDv1", gpg_bomb()),
    ] {
        let what = format!("{what}, MDC flipped");
        assert_uniform(&process(&f, &cfg, &flip_last(&bomb), &what), &what);
    }
}

/// The bomb without its MDC: the SEIPDv1 ciphertext cut before the MDC packet (CFB lets
/// an attacker cut the end cleanly), and the ciphertext re-tagged as SED (tag 9, which
/// has no integrity protection at all). Both get the uniform failure.
#[test]
fn compression_bomb_without_an_mdc_gets_the_uniform_failure() {
    let (f, cfg) = fixture();
    let cut = |ct: &[u8]| ct[..ct.len() - 22].to_vec();
    for (what, bomb) in [
        ("sequoia", sequoia_bomb(&alice(), false, 0)),
        ("gpg", gpg_bomb()),
    ] {
        // The rewrite itself keeps an intact bomb intact.
        let same = rewrite_seipd(&bomb, |ct| ct.to_vec(), false);
        assert_size_refusal(
            &process(&f, &cfg, &same, &format!("{what}, rewritten")),
            what,
        );
        let what_cut = format!("{what}: SEIPDv1 without its MDC packet");
        let reply = process(&f, &cfg, &rewrite_seipd(&bomb, cut, false), &what_cut);
        assert_uniform(&reply, &what_cut);
        let what_sed = format!("{what}: re-tagged as SED");
        let reply = process(
            &f,
            &cfg,
            &rewrite_seipd(&bomb, |ct| ct.to_vec(), true),
            &what_sed,
        );
        assert_uniform(&reply, &what_sed);
    }
}

/// RFC 9580 §5.13.2: a SEIPDv2 bomb (OCB, sequoia's 4 KiB chunks: the first chunk alone
/// inflates past the limit) with its final authentication tag flipped. Every chunk still
/// authenticates; only the final tag, checked at the end of the container, does not. 100
/// KB that do not compress put the end of the container beyond what the decompressor
/// reads ahead, so that without the integrity pass the limit is met before the final tag.
#[test]
fn seipdv2_bomb_with_a_bad_final_tag_gets_the_uniform_failure() {
    let alice = CertBuilder::general_purpose(Some("Alice <alice@example.com>"))
        .set_profile(Profile::RFC9580)
        .unwrap()
        .generate()
        .unwrap()
        .0;
    let f = Fixture::empty();
    let key = f.tmp(
        "alice-v6.sec.asc",
        &alice.as_tsk().armored().to_vec().unwrap(),
    );
    f.keys(&[
        "import",
        "--openpgp",
        &key.display().to_string(),
        "--for",
        "alice@example.com",
    ]);
    let cfg = f.config(&format!("[limits]\nmax_message_bytes = {LIMIT}\n"));
    let bomb = sequoia_bomb(&alice, true, 100_000);
    assert!(
        bomb.len() > 100_000,
        "the ciphertext must span several chunks: {} bytes",
        bomb.len()
    );
    assert_size_refusal(
        &process(&f, &cfg, &bomb, "SEIPDv2 intact"),
        "SEIPDv2 intact",
    );
    let what = "SEIPDv2, final tag flipped";
    assert_uniform(&process(&f, &cfg, &flip_last(&bomb), what), what);
}

/// The integrity check reads the ciphertext, never the decompressed stream: a bomb whose
/// MDC is intact but whose deflate stream breaks megabytes after the limit is refused for
/// its size. (An implementation that inflated to the end to reach the MDC would meet the
/// broken stream and answer otherwise, after doing the work a bomb asks for.)
#[test]
fn the_integrity_check_never_inflates_past_the_limit() {
    let (f, cfg) = fixture();
    let what = "intact MDC, deflate broken after the limit";
    assert_size_refusal(
        &process(&f, &cfg, &bomb_broken_after_the_limit(), what),
        what,
    );
}

/// Integrity first, then parsing: a tampered container is refused before one byte inside
/// it is inflated. The limit here is 192 MiB and the process may use 256 MiB of address
/// space: refusing the tampered bomb only at the limit would mean holding 192 MiB of its
/// plaintext, twice (sequoia's buffer, then ours), and the run would die for memory
/// instead of answering.
#[test]
fn a_tampered_bomb_is_refused_before_anything_inside_is_inflated() {
    const BIG_LIMIT: usize = 192 << 20;
    const ADDRESS_SPACE_KIB: usize = 256 << 10;
    let (f, _) = fixture();
    let cfg = f.config(&format!("[limits]\nmax_message_bytes = {BIG_LIMIT}\n"));
    let bomb = sequoia_bomb_of(
        &alice(),
        false,
        &bomb_plaintext_of(BIG_LIMIT + (32 << 20), 0),
    );
    let msg = pgp_mime(&flip_last(&bomb));
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_reseal"))
        .arg("process")
        .arg("--keystore")
        .arg(f.keystore())
        .arg("--config")
        .arg(&cfg)
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ])
        .env("RESEAL_PASSPHRASE", PASS)
        .env_remove("RESEAL_LOG");
    let r = run_with_deadline(c, &msg, std::time::Duration::from_secs(60));
    assert_eq!(
        r.status.and_then(|s| s.code()),
        Some(77),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(r.stdout.is_empty());
    assert_eq!(reply_line_without_trace(&r.stderr), UNIFORM);
}
