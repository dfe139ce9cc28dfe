#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Every content cipher and key transport the peers produce decrypts to the exact entity
//! the sender encrypted. (The pipeline refuses unsigned CBC by policy, SECURITY.md invariant 2;
//! this checks the decryption underneath that policy.)

mod common;

use common::*;
use reseal::mime::Entity;
use reseal::mime::compose::content_entity;
use reseal::unwrap::UnwrapContext;
use reseal::unwrap::smime::{self, CmsObject};
use reseal_keystore::{KdfParams, KeySource, Keystore, SecretString, Uses};

fn keystore(dir: &std::path::Path) -> Keystore {
    let pass = SecretString::from("p".repeat(12));
    let ks = dir.join("ks");
    Keystore::init(&ks, &pass, KdfParams::FLOOR).unwrap();
    let mut store = Keystore::open(&ks, &pass).unwrap();
    let pw = SecretString::from(std::fs::read_to_string(v("alice.p12.pass")).unwrap());
    store
        .import_key(
            KeySource::Pkcs12 {
                der: &read("alice.p12"),
                password: &pw,
            },
            vec!["alice@example.com".parse().unwrap()],
            Uses::BOTH,
        )
        .unwrap();
    store
}

#[test]
fn every_cipher_and_key_transport_decrypts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = keystore(dir.path());
    let ctx = UnwrapContext {
        keystore: Some(&store),
        parties: vec!["alice@example.com".into(), "bob@example.org".into()],
        from: Some("alice@example.com".into()),
        now: reseal_keystore::now(),
        anchors: Vec::new(),
        known_certs: Vec::new(),
        allow_cbc: true,
        pgp_certs: Vec::new(),
        max_plaintext: 1 << 20,
        trial_decryption: false,
    };
    let want = inner_entity(&read("msg-plain.eml"));
    for (vector, cipher, authenticated) in [
        ("openssl-enc-aes128cbc.eml", "AES-128-CBC", false),
        ("openssl-enc-aes192cbc.eml", "AES-192-CBC", false),
        ("openssl-enc-aes256cbc.eml", "AES-256-CBC", false),
        ("openssl-enc-oaep.eml", "AES-256-CBC", false),
        ("openssl-enc-oaep-sha256.eml", "AES-256-CBC", false),
        ("openssl-enc-multi.eml", "AES-256-CBC", false),
        ("gpgsm-enc.eml", "AES-128-CBC", false),
        ("openssl-enc-gcm.eml", "AES-256-GCM", true),
        ("openssl-enc-gcm128.eml", "AES-128-GCM", true),
    ] {
        let msg = read(vector);
        let top = Entity::parse(&msg).unwrap();
        let entity = content_entity(&top);
        let der = Entity::parse(&entity).unwrap().decoded_body().unwrap();
        let d = match smime::parse(&der).unwrap() {
            CmsObject::Enveloped(ed) => smime::decrypt_enveloped(&ed, &ctx),
            CmsObject::AuthEnveloped(aed) => smime::decrypt_auth_enveloped(&aed, &ctx),
            CmsObject::Signed(_) => panic!("{vector}: not encrypted"),
        }
        .unwrap_or_else(|f| panic!("{vector}: {f}"));
        let pt = reseal::mime::to_crlf(&d.plaintext).into_owned();
        assert_eq!(pt, want, "{vector}");
        assert_eq!(d.cipher, cipher, "{vector}");
        assert_eq!(d.authenticated, authenticated, "{vector}");
    }
    // A party the key is not delegated for cannot use it.
    let ctx = UnwrapContext {
        parties: vec!["mallory@evil.test".into()],
        ..ctx
    };
    let msg = read("openssl-enc-gcm.eml");
    let entity = content_entity(&Entity::parse(&msg).unwrap());
    let der = Entity::parse(&entity).unwrap().decoded_body().unwrap();
    let CmsObject::AuthEnveloped(aed) = smime::parse(&der).unwrap() else {
        panic!()
    };
    assert!(smime::decrypt_auth_enveloped(&aed, &ctx).is_err());
}
