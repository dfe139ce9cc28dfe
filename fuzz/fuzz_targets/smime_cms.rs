//! The CMS border: `unwrap::smime::parse` on DER/BER, then what the unwrap code does with
//! each kind of object, with no keystore and `vectors/smime/ca.pem` as the trust anchor:
//! SignedData is verified (certificate chain, signer attributes, signature), detached
//! over the first part of `openssl-signed-plain.eml` so that its own signature verifies;
//! EnvelopedData and AuthEnvelopedData go through the decryption entry points, which
//! must fail uniformly without a key.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reseal::unwrap::smime::{self, CmsObject};
use reseal_fuzz::{context, now, pki, vector_part};

fn detached_content() -> &'static [u8] {
    static C: OnceLock<Vec<u8>> = OnceLock::new();
    C.get_or_init(|| vector_part("smime/openssl-signed-plain.eml", 0))
}

fuzz_target!(|data: &[u8]| {
    let ctx = context(b"From: Alice <alice@example.com>\r\n\r\n", None);
    match smime::parse(data) {
        Ok(CmsObject::Signed(sd)) => {
            let _ = smime::certificates(&sd);
            let v = match smime::econtent(&sd) {
                Some(content) => smime::verify_signed(&sd, &content, false, &ctx),
                None => smime::verify_signed(&sd, detached_content(), true, &ctx),
            };
            let _ = (v.valid(), v.reason(), v.signer());
            let _ = smime::verify_with_trusted(data, detached_content(), &pki().anchors, now());
        }
        Ok(CmsObject::Enveloped(ed)) => {
            assert!(
                smime::decrypt_enveloped(&ed, &ctx).is_err(),
                "EnvelopedData decrypted without a key"
            );
        }
        Ok(CmsObject::AuthEnveloped(aed)) => {
            assert!(
                smime::decrypt_auth_enveloped(&aed, &ctx).is_err(),
                "AuthEnvelopedData decrypted without a key"
            );
        }
        Err(_) => {}
    }
});
