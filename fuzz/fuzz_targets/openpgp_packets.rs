//! OpenPGP packet streams straight from the fuzzer, without having to find a valid MIME
//! wrapper first. The first byte picks where they go:
//! 0: the data part of a PGP/MIME multipart/encrypted message (RFC 3156 §4), unwrapped
//!    with alice's key; 1: the whole body of a text/plain message (inline PGP);
//! 2: `unwrap::openpgp::verify_detached` as the signature over the first part of
//!    `gpg-pgpmime-signed.eml` (so that vector's own signature verifies).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reseal::unwrap;
use reseal_fuzz::{
    base64_entity, context, message_around, pgp_keystore, pgp_mime_encrypted, vector_part,
};

fn signed_part() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| vector_part("openpgp/gpg-pgpmime-signed.eml", 0))
}

fuzz_target!(
    init: reseal_fuzz::allow_caught_panics(),
    |input: &[u8]| {
        let Some((&mode, data)) = input.split_first() else {
            return;
        };
        let ks = pgp_keystore();
        match mode % 3 {
            0 => {
                let msg = pgp_mime_encrypted(data);
                let _ = unwrap::unwrap(&msg, &context(&msg, Some(ks)));
            }
            1 => {
                let msg = message_around(&base64_entity("text/plain; charset=utf-8", data));
                let _ = unwrap::unwrap(&msg, &context(&msg, Some(ks)));
            }
            _ => {
                let ctx = context(&message_around(b"\r\n"), Some(ks));
                let v = unwrap::openpgp::verify_detached(data, signed_part(), &ctx);
                let _ = (v.valid(), v.reason(), v.signer());
            }
        }
    }
);
