//! What lies inside the encryption: the fuzzer's bytes are the packet stream that an
//! attacker encrypts to the gateway's key (literal data, compressed data, one-pass
//! signatures and signatures, nested messages, compression bombs, ...). The harness
//! encrypts them to alice's certificate (SEIPDv1 with MDC, or SEIPDv2 when the first
//! byte is odd) and unwraps the PGP/MIME message with alice's key, so every input
//! reaches the code behind the integrity check that mutating ciphertext never reaches.
#![no_main]

use std::io::Write as _;

use libfuzzer_sys::fuzz_target;
use reseal::unwrap::{self, Layer};
use reseal_fuzz::reseal_keystore::sequoia_openpgp as openpgp;
use reseal_fuzz::{context, pgp_keystore, pgp_mime_encrypted, pki};

use openpgp::KeyHandle;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Encryptor, Message, Recipient};
use openpgp::types::{AEADAlgorithm, Features};

fn encrypt(packets: &[u8], seipd_v2: bool) -> Vec<u8> {
    let p = StandardPolicy::new();
    let alice = &pki().pgp_certs[0];
    let recipients = alice
        .keys()
        .with_policy(&p, None)
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .map(|ka| {
            if seipd_v2 {
                // A v6 PKESK names the key by fingerprint (RFC 9580 §5.1.2).
                Recipient::new(
                    Features::sequoia(),
                    KeyHandle::from(ka.key().fingerprint()),
                    ka.key(),
                )
            } else {
                Recipient::from(ka)
            }
        });
    let mut sink = Vec::new();
    let mut e = Encryptor::for_recipients(Message::new(&mut sink), recipients);
    if seipd_v2 {
        e = e.aead_algo(AEADAlgorithm::default());
    }
    let mut w = e.build().expect("encryptor");
    w.write_all(packets).expect("write");
    w.finalize().expect("finalize");
    sink
}

fuzz_target!(
    init: reseal_fuzz::allow_caught_panics(),
    |input: &[u8]| {
        let Some((&mode, packets)) = input.split_first() else {
            return;
        };
        let ks = pgp_keystore();
        let msg = pgp_mime_encrypted(&encrypt(packets, mode & 1 == 1));
        let ctx = context(&msg, Some(ks));
        let result = unwrap::unwrap(&msg, &ctx);
        if std::env::var_os("RESEAL_FUZZ_DEBUG").is_some() {
            eprintln!(
                "{:?}",
                result.as_ref().map(|u| &u.layers).map_err(|f| &f.text)
            );
        }
        if let Ok(u) = result {
            // Whatever came out was decrypted by us and is integrity-protected.
            assert!(u.layers.iter().any(|l| matches!(
                l,
                Layer::Encrypted {
                    authenticated: true,
                    ..
                }
            )));
        }
    }
);
