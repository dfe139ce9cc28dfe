#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! RFC 9580 v6 keys and SEIPDv2 (AEAD). No Debian peer makes them (gpg 2.2, sq 0.27 and
//! rnp 0.16 are v4-only; see vectors/README.md), so this test makes them with the
//! sequoia library and checks Reseal's output with it, independently of the pipeline.

mod common;

use std::io::{Read as _, Write as _};

use common::*;
use openpgp::cert::prelude::*;
use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse as _;
use openpgp::parse::stream::*;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto as _;
use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message, Signer};
use openpgp::types::{AEADAlgorithm, SymmetricAlgorithm};
use openpgp::{KeyHandle, Profile};
use sequoia_openpgp as openpgp;

fn v6(uid: &str) -> Cert {
    CertBuilder::general_purpose(Some(uid))
        .set_profile(Profile::RFC9580)
        .unwrap()
        .generate()
        .unwrap()
        .0
}

struct H<'a> {
    key: &'a Cert,
    signer: &'a Cert,
    structure: Vec<String>,
    good: bool,
}

impl VerificationHelper for H<'_> {
    fn get_certs(&mut self, _: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(vec![self.signer.clone()])
    }
    fn check(&mut self, s: MessageStructure<'_>) -> openpgp::Result<()> {
        for l in s {
            match l {
                MessageLayer::Encryption {
                    sym_algo,
                    aead_algo,
                } => self.structure.push(format!("enc {sym_algo} {aead_algo:?}")),
                MessageLayer::SignatureGroup { results } => {
                    self.good = results.iter().all(|r| r.is_ok()) && !results.is_empty();
                }
                MessageLayer::Compression { .. } => {}
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for H<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _: &[SKESK],
        sym: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        let p = StandardPolicy::new();
        for ka in self
            .key
            .keys()
            .with_policy(&p, None)
            .for_transport_encryption()
            .secret()
        {
            let mut kp = ka.key().clone().into_keypair()?;
            for pk in pkesks {
                if let Some((a, sk)) = pk.decrypt(&mut kp, sym)
                    && decrypt(a, &sk)
                {
                    return Ok(None);
                }
            }
        }
        Err(anyhow::anyhow!("no key"))
    }
}

/// Signs and encrypts `data` to `to` with `signer`, forcing SEIPDv2 (OCB).
fn seipdv2(data: &[u8], to: &Cert, signer: &Cert) -> Vec<u8> {
    let p = StandardPolicy::new();
    let recipients: Vec<_> = to
        .keys()
        .with_policy(&p, None)
        .for_transport_encryption()
        .collect();
    let kp = signer
        .keys()
        .with_policy(&p, None)
        .for_signing()
        .secret()
        .next()
        .unwrap()
        .key()
        .clone()
        .into_keypair()
        .unwrap();
    let mut out = Vec::new();
    let m = Message::new(&mut out);
    let m = Encryptor::for_recipients(m, recipients)
        .aead_algo(AEADAlgorithm::OCB)
        .symmetric_algo(SymmetricAlgorithm::AES256)
        .build()
        .unwrap();
    let m = Signer::new(m, kp).unwrap().build().unwrap();
    let mut w = LiteralWriter::new(m).build().unwrap();
    w.write_all(data).unwrap();
    w.finalize().unwrap();
    out
}

fn armor(binary: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Message).unwrap();
    w.write_all(binary).unwrap();
    w.finalize().unwrap();
    out
}

fn pgp_mime(armored: &[u8]) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: v6\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    m.extend_from_slice(&reseal::mime::to_crlf(armored));
    m.extend_from_slice(b"\r\n--b--\r\n");
    m
}

fn armored_part(msg: &[u8]) -> Vec<u8> {
    let e = reseal::mime::Entity::parse(msg).unwrap();
    let mp = e.multipart().unwrap();
    reseal::mime::Entity::parse(&msg[mp.parts[1].clone()])
        .unwrap()
        .decoded_body()
        .unwrap()
        .into_owned()
}

#[test]
fn v6_keys_and_seipdv2_both_ways() {
    let alice = v6("Alice <alice@example.com>");
    let bob = v6("Bob <bob@example.org>");
    let f = Fixture::empty();
    let ak = f.tmp(
        "alice-v6.sec.asc",
        &alice.as_tsk().armored().to_vec().unwrap(),
    );
    let bc = f.tmp("bob-v6.pub.asc", &bob.armored().to_vec().unwrap());
    f.keys(&[
        "import",
        "--openpgp",
        &ak.display().to_string(),
        "--for",
        "alice@example.com",
    ]);
    f.keys(&["import-cert", &bc.display().to_string()]);
    let list = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(j["openpgp_keys"][0]["certificate"]["version"], 6);

    // In: SEIPDv2 signed by alice's v6 key, to alice.
    let inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\nv6 and AEAD all the way.\r\n";
    let msg = pgp_mime(&armor(&seipdv2(inner, &alice, &alice)));
    let out = f.process(&msg, "alice@example.com", &["bob@example.org"], None);
    ok(&out, "process SEIPDv2");

    // Out: bob opens it with the library; SEIPDv2 because bob's v6 cert advertises it,
    // and alice's v6 signature verifies.
    let p = StandardPolicy::new();
    let h = H {
        key: &bob,
        signer: &alice,
        structure: Vec::new(),
        good: false,
    };
    let armored = armored_part(&out.stdout);
    let mut d = DecryptorBuilder::from_bytes(&armored)
        .unwrap()
        .with_policy(&p, None, h)
        .unwrap();
    let mut plain = Vec::new();
    d.read_to_end(&mut plain).unwrap();
    let h = d.into_helper();
    assert_eq!(plain, inner);
    assert!(h.good, "alice's signature must verify");
    assert_eq!(h.structure, vec!["enc AES-256 Some(OCB)".to_owned()]);

    // Truncated or altered AEAD chunks: the uniform failure, nothing released.
    let reference = {
        let smime = Fixture::new();
        reply_without_trace(&smime.process(
            &read("openssl-enc-gcm-tampered-tag.eml"),
            "alice@example.com",
            &["bob@example.org"],
            None,
        ))
    };
    let good = seipdv2(inner, &alice, &alice);
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 20] ^= 0x01;
    for (what, bad) in [
        ("truncated by 16", good[..good.len() - 16].to_vec()),
        ("truncated to half", good[..good.len() / 2].to_vec()),
        ("flipped tag byte", flipped),
    ] {
        let out = f.process(
            &pgp_mime(&armor(&bad)),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        assert_eq!(out.status.code(), Some(77), "{what}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}");
        assert_eq!(reply_without_trace(&out), reference, "{what}");
    }
}

#[test]
fn oversized_and_garbage_packets_are_refused_without_panic() {
    let f = Fixture::empty();
    let alice = v6("Alice <alice@example.com>");
    let ak = f.tmp(
        "alice-v6.sec.asc",
        &alice.as_tsk().armored().to_vec().unwrap(),
    );
    f.keys(&[
        "import",
        "--openpgp",
        &ak.display().to_string(),
        "--for",
        "alice@example.com",
    ]);
    // A literal data packet (new format, tag 11) claiming 2^32-1 bytes, then 100 bytes.
    let mut huge = vec![0xCB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, b'b', 0];
    huge.extend_from_slice(&[0u8; 100]);
    // A PKESK with an absurd length, and pure noise.
    let mut bogus_pkesk = vec![0xC1, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0x06];
    bogus_pkesk.extend_from_slice(&[0x42; 64]);
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| i.wrapping_mul(2654435761).to_le_bytes()[1])
        .collect();
    for (what, data) in [
        ("huge literal", huge),
        ("bogus PKESK", bogus_pkesk),
        ("noise", noise),
    ] {
        let out = f.process(
            &pgp_mime(&armor(&data)),
            "alice@example.com",
            &["bob@example.org"],
            None,
        );
        assert_eq!(out.status.code(), Some(77), "{what}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{what}");
    }
}
