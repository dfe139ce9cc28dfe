//! Public-key and symmetric primitives Reseal uses outside the keystore: hashing,
//! signature verification, and content encryption. No private key ever reaches here.
//!
//! Algorithm floor (SECURITY.md invariant 7, RFC 8551 §2): SHA-256/384/512 only (SHA-1 and MD5
//! signatures are refused), RSA ≥ 2048 bits, ECDSA on P-256/P-384, AES-CBC accepted on
//! input, AES-GCM preferred.

pub mod alg;
pub mod armor;
pub mod oid;
pub mod sym;

use der::{Decode as _, Encode as _};
pub use reseal_keystore::HashAlg;
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// Why a signature did not verify. These become verdict reasons, never panics.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    #[error("weak algorithm refused: {0}")]
    Weak(String),
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    #[error("unusable public key")]
    BadKey,
    #[error("signature does not verify")]
    Invalid,
}

/// RSASSA-PSS-params (RFC 4055 §3.1). Absent fields take the SHA-1 defaults, which we
/// refuse; the salt length is an INTEGER (openssl uses up to the modulus size).
#[derive(der::Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_len: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer: Option<u8>,
}

/// The smallest RSA modulus we accept anywhere (RFC 8551 §2.3, SECURITY.md invariant 7).
pub const MIN_RSA_BITS: usize = 2048;

pub fn hash(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlg::Sha1 => sha1::Sha1::digest(data).to_vec(),
        HashAlg::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => sha2::Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => sha2::Sha512::digest(data).to_vec(),
    }
}

/// Maps a digest AlgorithmIdentifier OID to a hash we accept for signatures.
pub fn signature_digest(o: &der::asn1::ObjectIdentifier) -> Result<HashAlg, SigError> {
    match *o {
        oid::SHA256 => Ok(HashAlg::Sha256),
        oid::SHA384 => Ok(HashAlg::Sha384),
        oid::SHA512 => Ok(HashAlg::Sha512),
        oid::SHA1 | oid::MD5 => Err(SigError::Weak(oid::name(o))),
        _ => Err(SigError::Unsupported(oid::name(o))),
    }
}

/// Any digest OID we can compute (SHA-1 included, for OAEP/MGF1 parameters only).
pub fn any_digest(o: &der::asn1::ObjectIdentifier) -> Option<HashAlg> {
    match *o {
        oid::SHA1 => Some(HashAlg::Sha1),
        oid::SHA256 => Some(HashAlg::Sha256),
        oid::SHA384 => Some(HashAlg::Sha384),
        oid::SHA512 => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// The RSA public key of `spki`, checked against the size floor.
pub fn rsa_public(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::PublicKey, SigError> {
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::traits::PublicKeyParts as _;
    let der = spki.to_der().map_err(|_| SigError::BadKey)?;
    let key = rsa::PublicKey::from_public_key_der(&der).map_err(|_| SigError::BadKey)?;
    if key.size() * 8 < MIN_RSA_BITS {
        return Err(SigError::Weak(format!("RSA-{}", key.size() * 8)));
    }
    Ok(key)
}

fn rsa_pkcs1_verify(
    key: &rsa::PublicKey,
    h: HashAlg,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let r = match h {
        HashAlg::Sha256 => key.pkcs1v15_verify_prehash::<sha2::Sha256>(digest, sig),
        HashAlg::Sha384 => key.pkcs1v15_verify_prehash::<sha2::Sha384>(digest, sig),
        HashAlg::Sha512 => key.pkcs1v15_verify_prehash::<sha2::Sha512>(digest, sig),
        HashAlg::Sha1 => return Err(SigError::Weak("SHA-1".into())),
    };
    r.map_err(|_| SigError::Invalid)
}

fn rsa_pss_verify(
    key: &rsa::PublicKey,
    params: Option<&der::Any>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    // RFC 4055 §3.1: RSASSA-PSS-params; absent fields default to SHA-1, which we refuse.
    let params = params.ok_or_else(|| SigError::Weak("RSASSA-PSS with SHA-1 defaults".into()))?;
    let der = params.to_der().map_err(|_| SigError::Invalid)?;
    let p = PssParams::from_der(&der)
        .map_err(|_| SigError::Unsupported("RSASSA-PSS parameters".into()))?;
    let hash_oid = p
        .hash
        .as_ref()
        .map(|h| h.oid)
        .ok_or_else(|| SigError::Weak("RSASSA-PSS with SHA-1".into()))?;
    let h = signature_digest(&hash_oid)?;
    let mgf = p
        .mask_gen
        .as_ref()
        .ok_or_else(|| SigError::Weak("MGF1 with SHA-1".into()))?;
    if mgf.oid != oid::MGF1 {
        return Err(SigError::Unsupported(oid::name(&mgf.oid)));
    }
    let mgf_hash: der::asn1::ObjectIdentifier = mgf
        .parameters
        .as_ref()
        .and_then(|a| a.decode_as::<AlgorithmIdentifierOwned>().ok())
        .map(|a| a.oid)
        .ok_or_else(|| SigError::Weak("MGF1 with SHA-1".into()))?;
    if signature_digest(&mgf_hash)? != h {
        return Err(SigError::Unsupported("PSS with different MGF1 hash".into()));
    }
    // RFC 4055 §3.1: trailerField must be 1 (0xBC).
    if p.trailer.unwrap_or(1) != 1 {
        return Err(SigError::Unsupported("PSS trailer field".into()));
    }
    // openssl's default is the maximum salt length (e.g. 350 bytes for RSA-3072), so
    // the length is an INTEGER well beyond a byte; the default is 20 (RFC 4055 §3.1).
    let salt_len = usize::try_from(p.salt_len.unwrap_or(20)).map_err(|_| SigError::Invalid)?;
    if salt_len > 1024 {
        return Err(SigError::Invalid);
    }
    let salt = Some(salt_len);
    let digest = hash(h, msg);
    let r = match h {
        HashAlg::Sha256 => key.verify(
            rsa::pss::Pss {
                blinded: false,
                digest: sha2::Sha256::new(),
                salt_len: salt,
            },
            &digest,
            sig,
        ),
        HashAlg::Sha384 => key.verify(
            rsa::pss::Pss {
                blinded: false,
                digest: sha2::Sha384::new(),
                salt_len: salt,
            },
            &digest,
            sig,
        ),
        HashAlg::Sha512 => key.verify(
            rsa::pss::Pss {
                blinded: false,
                digest: sha2::Sha512::new(),
                salt_len: salt,
            },
            &digest,
            sig,
        ),
        HashAlg::Sha1 => return Err(SigError::Weak("SHA-1".into())),
    };
    r.map_err(|_| SigError::Invalid)
}

fn ecdsa_verify(
    spki: &SubjectPublicKeyInfoOwned,
    h: HashAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    use p256::pkcs8::DecodePublicKey as _;
    let der = spki.to_der().map_err(|_| SigError::BadKey)?;
    let curve: der::asn1::ObjectIdentifier = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|a| a.decode_as().ok())
        .ok_or(SigError::BadKey)?;
    let digest = hash(h, msg);
    match curve {
        oid::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&der)
                .map_err(|_| SigError::BadKey)?;
            let s = p256::ecdsa::DerSignature::from_bytes(sig).map_err(|_| SigError::Invalid)?;
            key.verify_prehash(&digest, &s)
                .map_err(|_| SigError::Invalid)
        }
        oid::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(&der)
                .map_err(|_| SigError::BadKey)?;
            let s = p384::ecdsa::DerSignature::from_bytes(sig).map_err(|_| SigError::Invalid)?;
            key.verify_prehash(&digest, &s)
                .map_err(|_| SigError::Invalid)
        }
        other => Err(SigError::Unsupported(oid::name(&other))),
    }
}

/// Verifies `sig` over `msg` with the key in `spki`, for the signature algorithm
/// `sig_alg`. `digest_alg` is the separately stated digest (CMS SignerInfo
/// digestAlgorithm); where the signature algorithm names its own hash, the two must
/// agree.
pub fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    sig_alg: &AlgorithmIdentifierOwned,
    digest_alg: Option<HashAlg>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let fixed = |h: HashAlg| -> Result<HashAlg, SigError> {
        match digest_alg {
            Some(d) if d != h => Err(SigError::Invalid),
            _ => Ok(h),
        }
    };
    match sig_alg.oid {
        oid::RSA_ENCRYPTION => {
            let h = digest_alg
                .ok_or_else(|| SigError::Unsupported("rsaEncryption without digest".into()))?;
            rsa_pkcs1_verify(&rsa_public(spki)?, h, &hash(h, msg), sig)
        }
        oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA => {
            let h = fixed(match sig_alg.oid {
                oid::SHA256_WITH_RSA => HashAlg::Sha256,
                oid::SHA384_WITH_RSA => HashAlg::Sha384,
                _ => HashAlg::Sha512,
            })?;
            rsa_pkcs1_verify(&rsa_public(spki)?, h, &hash(h, msg), sig)
        }
        oid::RSASSA_PSS => {
            rsa_pss_verify(&rsa_public(spki)?, sig_alg.parameters.as_ref(), msg, sig)
        }
        oid::ECDSA_SHA256 => ecdsa_verify(spki, fixed(HashAlg::Sha256)?, msg, sig),
        oid::ECDSA_SHA384 => ecdsa_verify(spki, fixed(HashAlg::Sha384)?, msg, sig),
        oid::ECDSA_SHA512 => ecdsa_verify(spki, fixed(HashAlg::Sha512)?, msg, sig),
        // Some writers put id-ecPublicKey in the SignerInfo (as for rsaEncryption).
        oid::EC_PUBLIC_KEY => {
            let h = digest_alg
                .ok_or_else(|| SigError::Unsupported("ecPublicKey without digest".into()))?;
            ecdsa_verify(spki, h, msg, sig)
        }
        oid::SHA1_WITH_RSA | oid::MD5_WITH_RSA | oid::ECDSA_SHA1 => {
            Err(SigError::Weak(oid::name(&sig_alg.oid)))
        }
        other => Err(SigError::Unsupported(oid::name(&other))),
    }
}

/// Fills `buf` from the operating system's random source.
pub fn random(buf: &mut [u8]) -> Result<(), crate::error::Failure> {
    getrandom::fill(buf)
        .map_err(|_| crate::error::Failure::temporary("random number generator failed"))
}

/// A random lower-case hex string of `n` bytes of entropy.
pub fn random_hex(n: usize) -> Result<String, crate::error::Failure> {
    let mut b = vec![0u8; n];
    random(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
