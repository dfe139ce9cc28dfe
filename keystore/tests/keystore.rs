#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The keystore's own guarantees: sealing, passphrase, tamper detection, delegation
//! enforced at the operation, and no secret in Debug or error text.

use std::path::PathBuf;

use reseal_keystore::{
    Delegation, Error, HashAlg, KdfParams, KeySource, KeyTransport, Keystore, SecretString, Uses,
};

fn v(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors/smime")
        .join(name)
}

fn pass() -> SecretString {
    SecretString::from("s3cret passphrase".to_owned())
}

fn new_store() -> (tempfile::TempDir, Keystore) {
    let dir = tempfile::tempdir().unwrap();
    let ks = dir.path().join("ks");
    Keystore::init(&ks, &pass(), KdfParams::FLOOR).unwrap();
    let store = Keystore::open(&ks, &pass()).unwrap();
    (dir, store)
}

fn import_alice(store: &mut Keystore, uses: Uses) -> String {
    let der = std::fs::read(v("alice.p12")).unwrap();
    let pw = SecretString::from(std::fs::read_to_string(v("alice.p12.pass")).unwrap());
    store
        .import_key(
            KeySource::Pkcs12 {
                der: &der,
                password: &pw,
            },
            vec!["alice@example.com".parse().unwrap()],
            uses,
        )
        .unwrap()
}

#[test]
fn wrong_passphrase_is_refused_and_changes_nothing() {
    let (dir, mut store) = new_store();
    import_alice(&mut store, Uses::BOTH);
    let ks = dir.path().join("ks");
    let snapshot = |p: &std::path::Path| {
        let mut v: Vec<(String, Vec<u8>)> = walk(p);
        v.sort();
        v
    };
    let before = snapshot(&ks);
    let e = Keystore::open(&ks, &SecretString::from("nope".to_owned())).unwrap_err();
    assert!(matches!(e, Error::WrongPassphrase), "{e}");
    assert_eq!(e.to_string(), "wrong passphrase for the keystore");
    assert_eq!(before, snapshot(&ks));
    assert!(matches!(
        Keystore::init(&ks, &pass(), KdfParams::FLOOR),
        Err(Error::AlreadyExists(_))
    ));
}

fn walk(p: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn files_are_private_and_hold_no_plaintext_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let (dir, mut store) = new_store();
    import_alice(&mut store, Uses::BOTH);
    let key_pem = std::fs::read_to_string(v("alice.key")).unwrap();
    // Any 40-character run of the key's base64 would betray the plaintext key.
    let lines: Vec<&str> = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (path, data) in walk(&dir.path().join("ks")) {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path}");
        let text = String::from_utf8_lossy(&data);
        for l in &lines {
            assert!(
                !text.contains(&l[..40.min(l.len())]),
                "{path} contains key material"
            );
        }
    }
    let mode = std::fs::metadata(dir.path().join("ks"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o700);
    // Debug shows no secret either.
    let dbg = format!("{store:?} {:?}", store.keys().collect::<Vec<_>>());
    for l in &lines {
        assert!(!dbg.contains(&l[..20.min(l.len())]));
    }
}

#[test]
fn edited_delegations_break_the_seal() {
    let (dir, mut store) = new_store();
    let id = import_alice(&mut store, Uses::BOTH);
    let path = dir.path().join("ks/entries").join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("alice@example.com", "@example.com")).unwrap();
    let e = Keystore::open(&dir.path().join("ks"), &pass()).unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains(&id));
}

#[test]
fn delegation_is_enforced_by_the_keystore_itself() {
    let (_dir, mut store) = new_store();
    let id = import_alice(&mut store, Uses::BOTH);
    let digest = [7u8; 32];
    assert!(
        store
            .sign_digest(&id, "alice@example.com", HashAlg::Sha256, &digest)
            .is_ok()
    );
    let e = store
        .sign_digest(&id, "bob@example.com", HashAlg::Sha256, &digest)
        .unwrap_err();
    assert!(matches!(e, Error::NotDelegated { .. }), "{e}");
    // SHA-1 signatures are never made.
    assert!(
        store
            .sign_digest(&id, "alice@example.com", HashAlg::Sha1, &[0u8; 20])
            .is_err()
    );
    let e = store
        .unwrap_cek(
            &id,
            &["mallory@evil.test"],
            KeyTransport::RsaPkcs1v15,
            &[0u8; 256],
            32,
        )
        .unwrap_err();
    assert!(matches!(e, Error::NotDelegated { .. }), "{e}");
    assert!(
        store
            .signer_for("alice@example.com", reseal_keystore::now())
            .is_some()
    );
    assert!(
        store
            .signer_for("carol@example.com", reseal_keystore::now())
            .is_none()
    );
}

#[test]
fn uses_are_enforced() {
    let (_dir, mut store) = new_store();
    let id = import_alice(
        &mut store,
        Uses {
            sign: true,
            decrypt: false,
        },
    );
    let e = store
        .unwrap_cek(
            &id,
            &["alice@example.com"],
            KeyTransport::RsaPkcs1v15,
            &[0u8; 256],
            32,
        )
        .unwrap_err();
    assert!(matches!(e, Error::UseNotAllowed { .. }), "{e}");
    assert_eq!(store.decryption_keys(&["alice@example.com"]).count(), 0);
}

/// SECURITY.md invariant 3: a bad key-transport ciphertext yields a key of the right length,
/// not an error (implicit rejection), so the failure surfaces as the uniform integrity
/// error at the content layer.
#[test]
fn bad_key_transport_gives_a_random_key_not_an_error() {
    let (_dir, mut store) = new_store();
    let id = import_alice(&mut store, Uses::BOTH);
    for scheme in [
        KeyTransport::RsaPkcs1v15,
        KeyTransport::RsaOaep {
            hash: HashAlg::Sha256,
            mgf_hash: HashAlg::Sha256,
        },
        KeyTransport::RsaOaep {
            hash: HashAlg::Sha1,
            mgf_hash: HashAlg::Sha1,
        },
    ] {
        let a = store
            .unwrap_cek(&id, &["alice@example.com"], scheme, &[1u8; 256], 32)
            .unwrap();
        let b = store
            .unwrap_cek(&id, &["alice@example.com"], scheme, &[1u8; 256], 32)
            .unwrap();
        assert_eq!(a.len(), 32);
        if scheme != KeyTransport::RsaPkcs1v15 {
            // OAEP failures get fresh random keys.
            assert_ne!(a.as_slice(), b.as_slice());
        }
    }
}

#[test]
fn imports_every_key_format() {
    let (_dir, mut store) = new_store();
    let pw = SecretString::from(std::fs::read_to_string(v("alice.p12.pass")).unwrap());
    let legacy = std::fs::read(v("alice-legacy.p12")).unwrap();
    let id = store
        .import_key(
            KeySource::Pkcs12 {
                der: &legacy,
                password: &pw,
            },
            vec!["@example.com".parse().unwrap()],
            Uses::BOTH,
        )
        .unwrap();
    assert!(store.keys().any(|k| k.id == id));
    // Wrong PKCS#12 password: a clear error, no secret in it.
    let e = store
        .import_key(
            KeySource::Pkcs12 {
                der: &std::fs::read(v("alice.p12")).unwrap(),
                password: &SecretString::from("x".to_owned()),
            },
            vec!["alice@example.com".parse().unwrap()],
            Uses::BOTH,
        )
        .unwrap_err();
    assert!(matches!(e, Error::Pkcs12), "{e}");
    for (key, cert, for_) in [
        ("bob.rsa.pem", "bob.pem", "bob@example.org"),
        ("carol.ec.pem", "carol.pem", "carol@example.com"),
        ("dave.key", "dave.pem", "dave@example.com"),
    ] {
        let k = std::fs::read(v(key)).unwrap();
        let c = std::fs::read(v(cert)).unwrap();
        let chain = std::fs::read(v("ica.pem")).unwrap();
        store
            .import_key(
                KeySource::Pem {
                    key: &k,
                    cert: &c,
                    chain: Some(&chain),
                },
                vec![for_.parse::<Delegation>().unwrap()],
                Uses::BOTH,
            )
            .unwrap_or_else(|e| panic!("{key}: {e}"));
    }
    assert_eq!(store.keys().count(), 4);
    // A key that does not match its certificate is refused.
    let e = store
        .import_key(
            KeySource::Pem {
                key: &std::fs::read(v("erin.key")).unwrap(),
                cert: &std::fs::read(v("alice.pem")).unwrap(),
                chain: None,
            },
            vec!["erin@example.net".parse().unwrap()],
            Uses::BOTH,
        )
        .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    // Domain delegation covers the domain; exact address wins over domain.
    assert_eq!(
        store
            .signer_for("zed@example.com", reseal_keystore::now())
            .map(|k| k.id.clone()),
        Some(id)
    );
    let carol = store
        .signer_for("carol@example.com", reseal_keystore::now())
        .unwrap();
    assert_eq!(carol.delegations[0].as_str(), "carol@example.com");
    // Remove.
    let first = store.keys().next().unwrap().id.clone();
    store.remove(&first).unwrap();
    assert_eq!(store.keys().count(), 3);
    assert!(matches!(
        store.remove("../keystore"),
        Err(Error::NoSuchEntry(_))
    ));
}
