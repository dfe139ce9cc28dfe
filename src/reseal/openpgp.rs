//! OpenPGP output: PGP/MIME multipart/signed (RFC 3156 §5) and multipart/encrypted with
//! the signature inside the encryption (§6.2), so that `gpg --decrypt` reports
//! GOODSIG/VALIDSIG and `sq decrypt --signer-cert` verifies in one step.
//!
//! Encryption is AES-256, SEIPDv2 (AEAD) when every recipient's certificate advertises
//! it and SEIPDv1 with MDC otherwise (sequoia's choice, RFC 9580 §5.13).

use std::io::Write as _;

use openpgp::Cert;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Recipient, Signer};
use openpgp::types::{DataFormat, HashAlgorithm, SymmetricAlgorithm};
use reseal_keystore::PgpSigner;
use sequoia_openpgp as openpgp;

use crate::error::Failure;
use crate::reseal::smime::boundary_for;

fn internal(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::temporary(format!(
        "internal error while building OpenPGP ({what}): {e}"
    ))
}

/// The hash the gateway signs with (RFC 9580 §9.5: SHA-256 or stronger; gpg 2.2 reads it).
pub const SIGN_HASH: HashAlgorithm = HashAlgorithm::SHA256;

/// `micalg` for a hash (RFC 3156 §5: "pgp-" + the lower-case hash name).
pub fn micalg(h: HashAlgorithm) -> String {
    format!(
        "pgp-{}",
        h.to_string().to_ascii_lowercase().replace('-', "")
    )
}

/// An armored detached signature over `entity`.
pub fn sign_detached(entity: &[u8], signer: PgpSigner) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    {
        let m = Message::new(&mut out);
        let m = Armorer::new(m)
            .kind(openpgp::armor::Kind::Signature)
            .build()
            .map_err(|e| internal("armor", e))?;
        let mut s = Signer::new(m, signer)
            .map_err(|e| internal("signer", e))?
            .hash_algo(SIGN_HASH)
            .map_err(|e| internal("hash", e))?
            .detached()
            .build()
            .map_err(|e| internal("signer", e))?;
        s.write_all(entity).map_err(|e| internal("sign", e))?;
        s.finalize().map_err(|e| internal("sign", e))?;
    }
    Ok(out)
}

/// RFC 3156 §5 multipart/signed around `entity` (CRLF) and an armored signature.
pub fn multipart_signed(
    entity: &[u8],
    armored_sig: &[u8],
    hash: HashAlgorithm,
) -> Result<Vec<u8>, Failure> {
    let boundary = boundary_for(entity)?;
    let mut out = Vec::with_capacity(entity.len() + armored_sig.len() + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/signed; micalg={}; protocol=\"application/pgp-signature\";\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is an OpenPGP/MIME signed message (RFC 3156)\r\n--{boundary}\r\n",
            micalg(hash)
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
    out.extend_from_slice(&crate::mime::to_crlf(armored_sig));
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok(out)
}

/// The usable encryption subkeys of a recipient certificate, now.
pub fn has_encryption_key(cert: &Cert) -> bool {
    let p = StandardPolicy::new();
    cert.with_policy(&p, None).is_ok_and(|vc| {
        vc.alive().is_ok()
            && vc
                .keys()
                .for_transport_encryption()
                .alive()
                .revoked(false)
                .next()
                .is_some()
    })
}

/// Encrypts `entity` to `recipients` (AES-256), signing inside when `signer` is given,
/// and returns the armored OpenPGP message.
pub fn encrypt(
    entity: &[u8],
    recipients: &[Cert],
    signer: Option<PgpSigner>,
) -> Result<Vec<u8>, Failure> {
    let p = StandardPolicy::new();
    let mut valid = Vec::new();
    for c in recipients {
        valid.push(
            c.with_policy(&p, None)
                .map_err(|e| internal("recipient", e))?,
        );
    }
    let mut keys: Vec<Recipient<'_>> = Vec::new();
    for vc in &valid {
        let before = keys.len();
        for ka in vc.keys().for_transport_encryption().alive().revoked(false) {
            keys.push(ka.into());
        }
        if keys.len() == before {
            return Err(Failure::policy(format!(
                "The OpenPGP certificate {} has no usable encryption key",
                vc.fingerprint()
            )));
        }
    }
    let mut out = Vec::new();
    {
        let m = Message::new(&mut out);
        let m = Armorer::new(m).build().map_err(|e| internal("armor", e))?;
        let m = Encryptor::for_recipients(m, keys)
            .symmetric_algo(SymmetricAlgorithm::AES256)
            .build()
            .map_err(|e| internal("encrypt", e))?;
        let m = match signer {
            Some(s) => Signer::new(m, s)
                .map_err(|e| internal("signer", e))?
                .hash_algo(SIGN_HASH)
                .map_err(|e| internal("hash", e))?
                .build()
                .map_err(|e| internal("signer", e))?,
            None => m,
        };
        let mut w = LiteralWriter::new(m)
            .format(DataFormat::Binary)
            .build()
            .map_err(|e| internal("literal", e))?;
        w.write_all(entity).map_err(|e| internal("write", e))?;
        w.finalize().map_err(|e| internal("finalize", e))?;
    }
    Ok(out)
}

/// RFC 3156 §4 multipart/encrypted around an armored OpenPGP message.
pub fn multipart_encrypted(armored: &[u8]) -> Result<Vec<u8>, Failure> {
    let boundary = boundary_for(armored)?;
    let mut out = Vec::with_capacity(armored.len() + 512);
    out.extend_from_slice(
        format!(
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is an OpenPGP/MIME encrypted message (RFC 3156)\r\n--{boundary}\r\nContent-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\nContent-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(&crate::mime::to_crlf(armored));
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
    fn micalg_names() {
        assert_eq!(micalg(HashAlgorithm::SHA256), "pgp-sha256");
        assert_eq!(micalg(HashAlgorithm::SHA512), "pgp-sha512");
    }
}
