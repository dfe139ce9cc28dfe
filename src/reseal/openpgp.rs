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

fn internal(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::temporary(format!(
        "internal error while building OpenPGP ({what}): {e}"
    ))
}

/// The hash the gateway signs with (RFC 9580 §9.5: SHA-256 or stronger; gpg 2.2 reads it).
pub const SIGN_HASH: HashAlgorithm = HashAlgorithm::SHA256;

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
    // Written straight into its armor (RFC 3156 §4), ours rather than sequoia's armor
    // writer, which encodes a byte at a time; the CRC24 line is written for GnuPG 2.2
    // (crate::crypto::armor).
    let mut out = crate::crypto::armor::MessageWriter::with_capacity(entity.len());
    {
        let m = Message::new(&mut out);
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
        // In pieces: sequoia's partial-body writer hands a single large write on as one
        // chunk as big as the largest power of two in it, which its encryptor then holds a
        // second time (docs/performance.md, "Memory").
        for piece in entity.chunks(1 << 20) {
            w.write_all(piece).map_err(|e| internal("write", e))?;
        }
        w.finalize().map_err(|e| internal("finalize", e))?;
    }
    Ok(out.finish())
}
