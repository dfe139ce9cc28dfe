//! Reseal: re-sign and re-encrypt the (possibly adapted) content, and put it back under
//! the message's outer header.
//!
//! Never re-signs content whose incoming signature did not verify (that would launder
//! a forgery); the pipeline refuses such mail before it gets here.

pub mod openpgp;
pub mod smime;

use reseal_keystore::Keystore;

use crate::error::Failure;
use crate::mime::Entity;
use crate::policy::{Decision, EncryptionPlan, SignWith};
use crate::unwrap::is_content_field;

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
        ks.openpgp_signer(id, sender)
            .map_err(|e| Failure::policy(format!("Signing refused: {e}")))
    };
    if let Some(EncryptionPlan::Openpgp { recipients }) = &decision.encrypt {
        // OpenPGP: the signature goes inside the encryption (RFC 3156 §6.2).
        let signer = match (decision.sign, ks) {
            (Some(SignWith::Openpgp(k)), Some(ks)) => Some(pgp_signer(ks, &k.id)?),
            _ => None,
        };
        let certs: Vec<_> = recipients.iter().map(|(_, c)| c.clone()).collect();
        let armored = openpgp::encrypt(&entity, &certs, signer)?;
        return openpgp::multipart_encrypted(&armored);
    }
    match (decision.sign, ks) {
        (Some(SignWith::Smime(key)), Some(ks)) => {
            let sig = smime::sign_detached(&entity, ks, key, sender)?;
            entity = smime::multipart_signed(&entity, &sig)?;
        }
        (Some(SignWith::Openpgp(key)), Some(ks)) => {
            let sig = openpgp::sign_detached(&entity, pgp_signer(ks, &key.id)?)?;
            entity = openpgp::multipart_signed(&entity, &sig, openpgp::SIGN_HASH)?;
        }
        _ => {}
    }
    if let Some(EncryptionPlan::Smime { recipients, cipher }) = &decision.encrypt {
        let (der, smime_type) = smime::encrypt(&entity, recipients, *cipher)?;
        entity = smime::pkcs7_mime(&der, smime_type);
    }
    Ok(entity)
}

/// Builds the outgoing message: the outer header fields of `original` that describe the
/// message (not its MIME content), `MIME-Version: 1.0`, then `entity`.
pub fn compose(original: &Entity<'_>, entity: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.header_end() + entity.len() + 32);
    for f in original.fields() {
        let name = original.field_name(f);
        if is_content_field(name) || name.eq_ignore_ascii_case("MIME-Version") {
            continue;
        }
        out.extend_from_slice(original.field_raw(f));
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(entity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_keeps_message_fields_and_replaces_content_fields() {
        let m = b"Received: x\r\nFrom: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nSubject: s\r\n\r\nbody\r\n";
        let e = Entity::parse(m).unwrap();
        let out = compose(&e, b"Content-Type: application/pkcs7-mime\r\n\r\nXYZ\r\n");
        assert_eq!(
            out,
            b"Received: x\r\nFrom: a@b.c\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime\r\n\r\nXYZ\r\n"
        );
    }
}
