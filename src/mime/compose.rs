//! Writing MIME: the entities the gateway builds around content it signs or encrypts
//! (RFC 1847 multipart/signed and multipart/encrypted, RFC 8551 §3.2 application/pkcs7-mime,
//! RFC 3156 PGP/MIME), and the split between a message's own header fields and its
//! content entity. Every stage that writes MIME uses these, so a message is put
//! together the same way wherever it is built.

use sequoia_openpgp::types::HashAlgorithm;

use super::Entity;

/// Why an entity could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("the random number generator failed")]
    Random,
    #[error("no boundary that the content does not contain")]
    NoBoundary,
}

/// Content-* fields describe the MIME entity (RFC 2045 §9), not the message.
pub fn is_content_field(name: &str) -> bool {
    name.len() > 8
        && name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("content-"))
}

/// The MIME entity a message carries: its Content-* fields, the empty line, the body.
/// RFC 5322 header fields (From, Subject, ...) stay with the outer message.
pub fn content_entity(top: &Entity<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(top.raw().len());
    for f in top.fields() {
        if is_content_field(top.field_name(f)) {
            out.extend_from_slice(top.field_raw(f));
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(top.body());
    out
}

/// Builds a message: the outer header fields of `original` that describe the message
/// (not its MIME content), `MIME-Version: 1.0`, then `entity`.
pub fn message(original: &Entity<'_>, entity: &[u8]) -> Vec<u8> {
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

/// A random boundary that does not occur in `content` (RFC 2046 §5.1.1).
pub fn boundary_for(content: &[u8]) -> Result<String, ComposeError> {
    for _ in 0..8 {
        let mut r = [0u8; 12];
        getrandom::fill(&mut r).map_err(|_| ComposeError::Random)?;
        let hex: String = r.iter().map(|x| format!("{x:02x}")).collect();
        let b = format!("----=_reseal_{hex}");
        if memchr::memmem::find(content, b.as_bytes()).is_none() {
            return Ok(b);
        }
    }
    Err(ComposeError::NoBoundary)
}

/// S/MIME multipart/signed (RFC 8551 §3.5.3) around `entity` (CRLF) and its detached
/// CMS signature.
pub fn smime_signed(entity: &[u8], signature_der: &[u8]) -> Result<Vec<u8>, ComposeError> {
    let boundary = boundary_for(entity)?;
    let mut out = Vec::with_capacity(entity.len() + signature_der.len() * 2 + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=sha-256; boundary=\"{boundary}\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n--{boundary}\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(entity);
    out.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&super::encode_base64_lines(signature_der));
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// Wraps a DER ContentInfo as an application/pkcs7-mime entity (RFC 8551 §3.2).
pub fn pkcs7_mime(der: &[u8], smime_type: &str) -> Vec<u8> {
    let mut out = format!(
        "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\nContent-Description: S/MIME Encrypted Message\r\n\r\n"
    )
    .into_bytes();
    super::encode_base64_lines_into(der, &mut out);
    out
}

/// `micalg` for an OpenPGP hash (RFC 3156 §5: "pgp-" + the lower-case hash name).
pub fn pgp_micalg(h: HashAlgorithm) -> String {
    format!(
        "pgp-{}",
        h.to_string().to_ascii_lowercase().replace('-', "")
    )
}

/// RFC 3156 §5 multipart/signed around `entity` (CRLF) and an armored signature.
pub fn pgp_signed(
    entity: &[u8],
    armored_sig: &[u8],
    hash: HashAlgorithm,
) -> Result<Vec<u8>, ComposeError> {
    let boundary = boundary_for(entity)?;
    let mut out = Vec::with_capacity(entity.len() + armored_sig.len() + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; micalg={}; protocol=\"application/pgp-signature\";\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is an OpenPGP/MIME signed message (RFC 3156)\r\n--{boundary}\r\n",
            pgp_micalg(hash)
        )
        .as_bytes(),
    );
    out.extend_from_slice(entity);
    out.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\nContent-Description: OpenPGP digital signature\r\nContent-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&super::to_crlf(armored_sig));
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// RFC 3156 §4 multipart/encrypted around an armored OpenPGP message.
pub fn pgp_encrypted(armored: Vec<u8>) -> Result<Vec<u8>, ComposeError> {
    let boundary = boundary_for(&armored)?;
    let header = format!(
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is an OpenPGP/MIME encrypted message (RFC 3156)\r\n--{boundary}\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
    );
    // The armor stays in its own buffer (which grows in place), the parts around it are
    // added: a large message is not copied (docs/performance.md, "Memory").
    let mut out = super::to_crlf_owned(armored);
    out.splice(0..0, header.bytes());
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keeps_message_fields_and_replaces_content_fields() {
        let m = b"Received: x\r\nFrom: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nSubject: s\r\n\r\nbody\r\n";
        let e = Entity::parse(m).unwrap();
        let out = message(&e, b"Content-Type: application/pkcs7-mime\r\n\r\nXYZ\r\n");
        assert_eq!(
            out,
            b"Received: x\r\nFrom: a@b.c\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime\r\n\r\nXYZ\r\n"
        );
    }

    #[test]
    fn micalg_names() {
        assert_eq!(pgp_micalg(HashAlgorithm::SHA256), "pgp-sha256");
        assert_eq!(pgp_micalg(HashAlgorithm::SHA512), "pgp-sha512");
    }

    #[test]
    fn boundary_is_not_in_content() {
        let b = boundary_for(b"text").unwrap();
        assert!(b.starts_with("----=_reseal_") && b.len() == 13 + 24);
    }
}
