//! Reseal: re-sign and re-encrypt the (possibly adapted) content, and put it back under
//! the message's outer header.
//!
//! Never re-signs content whose incoming signature did not verify (that would launder
//! a forgery); the pipeline refuses such mail before it gets here.

pub mod openpgp;
pub mod smime;

use reseal_keystore::Keystore;

use crate::error::Failure;
use crate::mime::compose;
use crate::policy::{Decision, EncryptionPlan, SignWith};

/// Protects `entity` (a CRLF MIME entity) as `decision` says, signing for `sender`, and
/// returns the new entity.
pub fn protect(
    entity: Vec<u8>,
    decision: &Decision<'_>,
    sender: &str,
    ks: Option<&Keystore>,
) -> Result<Vec<u8>, Failure> {
    let mut entity = entity;
    let pgp_signer = |ks: &Keystore, id: &str| {
        ks.openpgp_signer(id, sender).map_err(|e| {
            if e.is_temporary() {
                Failure::key_unavailable(&e)
            } else {
                Failure::policy(format!("Signing refused: {e}"))
            }
        })
    };
    if let Some(EncryptionPlan::Openpgp { recipients }) = &decision.encrypt {
        // OpenPGP: the signature goes inside the encryption (RFC 3156 §6.2).
        let signer = match (decision.sign, ks) {
            (Some(SignWith::Openpgp(k)), Some(ks)) => Some(pgp_signer(ks, &k.id)?),
            _ => None,
        };
        let certs: Vec<_> = recipients.iter().map(|(_, c)| c.clone()).collect();
        let armored = openpgp::encrypt(&entity, &certs, signer)?;
        // The plaintext is not needed while the armor is framed (docs/performance.md,
        // "Memory").
        drop(entity);
        return Ok(compose::pgp_encrypted(armored)?);
    }
    match (decision.sign, ks) {
        (Some(SignWith::Smime(key)), Some(ks)) => {
            let sig = smime::sign_detached(&entity, ks, key, sender)?;
            entity = compose::smime_signed(&entity, &sig)?;
        }
        (Some(SignWith::Openpgp(key)), Some(ks)) => {
            let sig = openpgp::sign_detached(&entity, pgp_signer(ks, &key.id)?)?;
            entity = compose::pgp_signed(&entity, &sig, openpgp::SIGN_HASH)?;
        }
        _ => {}
    }
    if let Some(EncryptionPlan::Smime { recipients, cipher }) = &decision.encrypt {
        let (der, smime_type) = smime::encrypt(&entity, recipients, *cipher)?;
        // The plaintext is not needed while the DER is encoded (docs/performance.md,
        // "Memory").
        drop(std::mem::take(&mut entity));
        entity = compose::pkcs7_mime(&der, smime_type);
    }
    Ok(entity)
}
