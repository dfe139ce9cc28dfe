//! The whole unwrap (`reseal::unwrap::unwrap`) on a raw message, as the pipeline calls
//! it: CRLF-canonical input, From taken from the message, no keystore, the test root as
//! trust anchor and the test certificates as the directory. Nothing can decrypt without
//! a key, so a result with an encrypted layer is a finding too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::unwrap::{self, Layer};
use reseal_fuzz::context;

fuzz_target!(
    init: reseal_fuzz::allow_caught_panics(),
    |data: &[u8]| {
        let msg = reseal::mime::to_crlf(data);
        let ctx = context(&msg, None);
        if let Ok(u) = unwrap::unwrap(&msg, &ctx) {
            assert!(
                !u.layers
                    .iter()
                    .any(|l| matches!(l, Layer::Encrypted { .. })),
                "a layer was decrypted without any key"
            );
            for v in u.signatures() {
                let _ = (v.valid(), v.reason(), v.signer());
            }
        }
    }
);
