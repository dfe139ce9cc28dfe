//! The whole unwrap on a raw message with a keystore that holds alice's OpenPGP key
//! (delegated for alice@example.com, a party of the envelope) and the OpenPGP
//! certificates of `vectors/openpgp` as the directory: PGP/MIME encrypted and signed,
//! inline PGP, and the S/MIME paths next to them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::unwrap;
use reseal_fuzz::{context, pgp_keystore};

fuzz_target!(
    init: reseal_fuzz::allow_caught_panics(),
    |data: &[u8]| {
        let msg = reseal::mime::to_crlf(data);
        let ctx = context(&msg, Some(pgp_keystore()));
        if let Ok(u) = unwrap::unwrap(&msg, &ctx) {
            for v in u.signatures() {
                let _ = (v.valid(), v.reason(), v.signer());
            }
        }
    }
);
