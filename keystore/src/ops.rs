//! Private-key operations: sign a digest, unwrap a content-encryption key. Each checks
//! the key's delegation and uses before it touches the key.
//!
//! All private-key arithmetic goes through here, so that a PKCS#11 token can replace the
//! in-memory providers without touching the pipeline: RSA runs on OpenSSL
//! (`rsa_ossl`, chosen by measurement, docs/performance.md), ECDSA on RustCrypto.

use der::Decode as _;
use pkcs8::DecodePrivateKey as _;

use crate::entry::{HashAlg, KeyAlgorithm};
use crate::{Error, KeyInfo};

/// An RSA key-transport scheme (RFC 8551 §2.3, RFC 8017).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyTransport {
    RsaPkcs1v15,
    /// RSAES-OAEP with the given hash and MGF1 hash, empty label (RFC 3560).
    RsaOaep {
        hash: HashAlg,
        mgf_hash: HashAlg,
    },
}

/// A signature made by a delegated key.
#[derive(Clone, Debug)]
pub struct SignatureOutput {
    /// The algorithm the signature is made with.
    pub algorithm: KeyAlgorithm,
    /// RSA: the PKCS#1 v1.5 signature. ECDSA: the DER `Ecdsa-Sig-Value`.
    pub bytes: Vec<u8>,
}

pub(crate) enum SecretKey {
    Rsa(Box<crate::rsa_ossl::RsaKey>),
    P256(Box<p256::ecdsa::SigningKey>),
    P384(Box<p384::ecdsa::SigningKey>),
    /// On a PKCS#11 token: only a reference is held here.
    Token(Box<crate::pkcs11::TokenKey>),
}

/// A key held in memory: public info plus the parsed secret (zeroized on drop by the
/// RustCrypto types).
pub(crate) struct HeldKey {
    pub(crate) info: KeyInfo,
    pub(crate) secret: SecretKey,
}

pub(crate) const OID_RSA: const_oid::ObjectIdentifier = const_oid::db::rfc5912::RSA_ENCRYPTION;
pub(crate) const OID_EC: const_oid::ObjectIdentifier = const_oid::db::rfc5912::ID_EC_PUBLIC_KEY;
pub(crate) const OID_P256: const_oid::ObjectIdentifier = const_oid::db::rfc5912::SECP_256_R_1;
pub(crate) const OID_P384: const_oid::ObjectIdentifier = const_oid::db::rfc5912::SECP_384_R_1;

/// Identifies the algorithm of a PKCS#8 key without keeping any secret part.
pub(crate) fn pkcs8_algorithm(pkcs8: &[u8]) -> Result<KeyAlgorithm, Error> {
    let pki = pkcs8::PrivateKeyInfoRef::from_der(pkcs8)
        .map_err(|_| Error::Import("the private key is not valid PKCS#8".into()))?;
    let alg = &pki.algorithm;
    if alg.oid == OID_RSA {
        let key = crate::rsa_ossl::RsaKey::from_pkcs8(pkcs8, true)
            .ok_or_else(|| Error::Import("the RSA private key is invalid".into()))?;
        Ok(KeyAlgorithm::Rsa { bits: key.bits() })
    } else if alg.oid == OID_EC {
        let curve = alg
            .parameters_oid()
            .map_err(|_| Error::Import("EC key without a named curve".into()))?;
        if curve == OID_P256 {
            Ok(KeyAlgorithm::EcP256)
        } else if curve == OID_P384 {
            Ok(KeyAlgorithm::EcP384)
        } else {
            Err(Error::Import(format!("unsupported EC curve {curve}")))
        }
    } else {
        Err(Error::Import(format!(
            "unsupported private-key algorithm {}",
            alg.oid
        )))
    }
}

impl HeldKey {
    pub(crate) fn from_pkcs8(info: KeyInfo, pkcs8: &[u8]) -> Result<HeldKey, Error> {
        let corrupt = |reason| Error::Corrupt {
            what: info.id.clone(),
            reason,
        };
        let secret = match info.algorithm {
            KeyAlgorithm::Rsa { .. } => SecretKey::Rsa(Box::new(
                crate::rsa_ossl::RsaKey::from_pkcs8(pkcs8, false)
                    .ok_or_else(|| corrupt("bad RSA key"))?,
            )),
            KeyAlgorithm::EcP256 => SecretKey::P256(Box::new(
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
                    .map_err(|_| corrupt("bad P-256 key"))?,
            )),
            KeyAlgorithm::EcP384 => SecretKey::P384(Box::new(
                p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8)
                    .map_err(|_| corrupt("bad P-384 key"))?,
            )),
        };
        Ok(HeldKey { info, secret })
    }
}

impl HeldKey {
    /// Signs a digest with no delegation check: callers inside this crate do that.
    pub(crate) fn sign_raw(&self, hash: HashAlg, digest: &[u8]) -> Result<SignatureOutput, Error> {
        if digest.len() != hash.output_len() {
            return Err(Error::Operation);
        }
        let bytes = match &self.secret {
            SecretKey::Rsa(key) => key.sign_pkcs1v15(hash, digest)?,
            SecretKey::P256(key) => {
                use p256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p256::ecdsa::DerSignature =
                    key.sign_prehash(digest).map_err(|_| Error::Operation)?;
                sig.as_bytes().to_vec()
            }
            SecretKey::P384(key) => {
                use p384::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p384::ecdsa::DerSignature =
                    key.sign_prehash(digest).map_err(|_| Error::Operation)?;
                sig.as_bytes().to_vec()
            }
            SecretKey::Token(key) => key.sign(hash, digest)?,
        };
        Ok(SignatureOutput {
            algorithm: self.info.algorithm,
            bytes,
        })
    }
}
