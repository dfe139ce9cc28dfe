//! Reseal: re-sign and re-encrypt the (possibly adapted) content, and put it back under
//! the message's outer header.
//!
//! Never re-signs content whose incoming signature did not verify (that would launder
//! a forgery); the pipeline refuses such mail before it gets here.

pub mod smime;

use reseal_keystore::{KeyInfo, Keystore};

use crate::error::Failure;
use crate::mime::Entity;
use crate::policy::EncryptionPlan;
use crate::unwrap::is_content_field;

/// What to do to the content.
pub struct Plan<'a> {
    /// Sign with this delegated key, for this sender.
    pub sign: Option<(&'a KeyInfo, &'a str)>,
    pub encrypt: Option<EncryptionPlan>,
}

/// Protects `entity` (a CRLF MIME entity) as `plan` says and returns the new entity.
pub fn protect(
    entity: Vec<u8>,
    plan: &Plan<'_>,
    ks: Option<&Keystore>,
) -> Result<Vec<u8>, Failure> {
    let mut entity = entity;
    if let (Some((key, sender)), Some(ks)) = (plan.sign, ks) {
        let sig = smime::sign_detached(&entity, ks, key, sender)?;
        entity = smime::multipart_signed(&entity, &sig)?;
    }
    if let Some(enc) = &plan.encrypt {
        let (der, smime_type) = smime::encrypt(&entity, &enc.recipients, enc.cipher)?;
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
