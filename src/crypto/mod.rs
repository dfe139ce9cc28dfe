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
use std::sync::LazyLock;

use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::md::{Md, MdRef};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;
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

/// A public key from a certificate, held by OpenSSL: every public-key operation (RSA
/// and ECDSA verification, RSA key transport) runs there, several times faster than
/// the pure-Rust crates on this path (docs/performance.md, "Profiles"). The key is read
/// with OpenSSL's plain DER readers (RSAPublicKey, an EC point): its generic key decoder
/// (`d2i_PUBKEY` in OpenSSL 3) costs more than the operation itself.
pub struct PublicKey(KeyKind);

enum KeyKind {
    Rsa(Rsa<Public>),
    Ec(EcKey<Public>),
}

/// The curves Reseal accepts (SECURITY.md invariant 7), built once.
static P256: LazyLock<Option<EcGroup>> =
    LazyLock::new(|| EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).ok());
static P384: LazyLock<Option<EcGroup>> =
    LazyLock::new(|| EcGroup::from_curve_name(Nid::SECP384R1).ok());

impl PublicKey {
    fn rsa(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, SigError> {
        if spki.algorithm.oid != oid::RSA_ENCRYPTION {
            return Err(SigError::BadKey);
        }
        // RFC 3279 §2.3.1: the BIT STRING holds the RSAPublicKey.
        let der = spki.subject_public_key.as_bytes().ok_or(SigError::BadKey)?;
        Rsa::public_key_from_der_pkcs1(der)
            .map(|k| PublicKey(KeyKind::Rsa(k)))
            .map_err(|_| SigError::BadKey)
    }

    fn ec(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, SigError> {
        if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
            return Err(SigError::BadKey);
        }
        let curve: der::asn1::ObjectIdentifier = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|a| a.decode_as().ok())
            .ok_or(SigError::BadKey)?;
        let group = match curve {
            oid::P256 => P256.as_ref(),
            oid::P384 => P384.as_ref(),
            other => return Err(SigError::Unsupported(oid::name(&other))),
        }
        .ok_or(SigError::BadKey)?;
        // RFC 5480 §2.2: the BIT STRING holds the point (SEC 1 §2.3.3). OpenSSL refuses a
        // point off the curve as it reads it; on these prime-order curves (cofactor 1)
        // that and not being the point at infinity make a valid public key (SEC 1
        // §3.2.2.1), without the full key check's scalar multiplication per message.
        let bytes = spki.subject_public_key.as_bytes().ok_or(SigError::BadKey)?;
        let mut ctx = BigNumContext::new().map_err(|_| SigError::BadKey)?;
        let point = EcPoint::from_bytes(group, bytes, &mut ctx).map_err(|_| SigError::BadKey)?;
        if point.is_infinity(group) {
            return Err(SigError::BadKey);
        }
        let key = EcKey::from_public_key(group, &point).map_err(|_| SigError::BadKey)?;
        Ok(PublicKey(KeyKind::Ec(key)))
    }

    /// Encrypts `cek` with RSAES-PKCS1-v1_5 (RFC 8017 §7.2) or, with `oaep`,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1, RFC 4055 §4.1).
    pub fn rsa_encrypt(&self, cek: &[u8], oaep: bool) -> Result<Vec<u8>, SigError> {
        let KeyKind::Rsa(rsa) = &self.0 else {
            return Err(SigError::BadKey);
        };
        let op = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
            let size = usize::try_from(rsa.size()).unwrap_or(0);
            if !oaep {
                let mut out = vec![0u8; size];
                let n = rsa.public_encrypt(cek, &mut out, Padding::PKCS1)?;
                out.truncate(n);
                return Ok(out);
            }
            // OAEP with SHA-256 only through the EVP interface.
            let pkey = PKey::from_rsa(rsa.clone())?;
            let mut ctx = PkeyCtx::new(&pkey)?;
            ctx.encrypt_init()?;
            ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
            ctx.set_rsa_oaep_md(Md::sha256())?;
            ctx.set_rsa_mgf1_md(Md::sha256())?;
            let mut out = Vec::with_capacity(size);
            ctx.encrypt_to_vec(cek, &mut out)?;
            Ok(out)
        };
        op().map_err(|_| SigError::BadKey)
    }
}

fn md(h: HashAlg) -> Result<&'static MdRef, SigError> {
    match h {
        HashAlg::Sha256 => Ok(Md::sha256()),
        HashAlg::Sha384 => Ok(Md::sha384()),
        HashAlg::Sha512 => Ok(Md::sha512()),
        HashAlg::Sha1 => Err(SigError::Weak("SHA-1".into())),
    }
}

/// The RSA public key of `spki`, checked against the size floor.
pub fn rsa_public(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, SigError> {
    let key = PublicKey::rsa(spki)?;
    if let KeyKind::Rsa(rsa) = &key.0 {
        let bits = usize::try_from(rsa.n().num_bits()).map_err(|_| SigError::BadKey)?;
        if bits < MIN_RSA_BITS {
            return Err(SigError::Weak(format!("RSA-{bits}")));
        }
    }
    Ok(key)
}

/// The DER prefix of a DigestInfo (RFC 8017 §9.2, note 1) for each hash we accept.
fn digest_info_prefix(h: HashAlg) -> Result<&'static [u8], SigError> {
    match h {
        HashAlg::Sha256 => Ok(&[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ]),
        HashAlg::Sha384 => Ok(&[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ]),
        HashAlg::Sha512 => Ok(&[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ]),
        HashAlg::Sha1 => Err(SigError::Weak("SHA-1".into())),
    }
}

/// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.2) over a digest: the signature must be exactly
/// the modulus long (step 1), and what the public operation gives back, once OpenSSL
/// has checked the type 1 padding, must be exactly the DigestInfo of `digest` (steps
/// 3-4: compared whole, as the RFC recommends, not parsed).
fn rsa_pkcs1_verify(
    key: &PublicKey,
    h: HashAlg,
    digest: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let KeyKind::Rsa(rsa) = &key.0 else {
        return Err(SigError::BadKey);
    };
    let prefix = digest_info_prefix(h)?;
    let size = usize::try_from(rsa.size()).map_err(|_| SigError::BadKey)?;
    if sig.len() != size {
        return Err(SigError::Invalid);
    }
    let mut out = vec![0u8; size];
    let n = rsa
        .public_decrypt(sig, &mut out, Padding::PKCS1)
        .map_err(|_| SigError::Invalid)?;
    let got = out.get(..n).ok_or(SigError::Invalid)?;
    if got.len() == prefix.len() + digest.len() && got.starts_with(prefix) && got.ends_with(digest)
    {
        Ok(())
    } else {
        Err(SigError::Invalid)
    }
}

fn rsa_pss_verify(
    key: &PublicKey,
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
    // The salt must have exactly the stated length (RFC 8017 §9.1.2 step 10).
    let salt_len = p.salt_len.unwrap_or(20);
    if salt_len > 1024 {
        return Err(SigError::Invalid);
    }
    let salt_len = i32::try_from(salt_len).map_err(|_| SigError::Invalid)?;
    let md = md(h)?;
    let KeyKind::Rsa(rsa) = &key.0 else {
        return Err(SigError::BadKey);
    };
    let digest = hash(h, msg);
    let op = || -> Result<bool, openssl::error::ErrorStack> {
        let pkey = PKey::from_rsa(rsa.clone())?;
        let mut ctx = PkeyCtx::new(&pkey)?;
        ctx.verify_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
        ctx.set_signature_md(md)?;
        ctx.set_rsa_mgf1_md(md)?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt_len))?;
        ctx.verify(&digest, sig)
    };
    match op() {
        Ok(true) => Ok(()),
        _ => Err(SigError::Invalid),
    }
}

/// ECDSA (RFC 5758 §3.2) on P-256 or P-384 only. The signature is the DER
/// ECDSA-Sig-Value (RFC 3279 §2.2.3), read strictly: it must encode back to the very
/// same bytes (no trailing data, no non-minimal integers).
fn ecdsa_verify(
    spki: &SubjectPublicKeyInfoOwned,
    h: HashAlg,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let key = PublicKey::ec(spki)?;
    let KeyKind::Ec(ec) = &key.0 else {
        return Err(SigError::BadKey);
    };
    let parsed = EcdsaSig::from_der(sig).map_err(|_| SigError::Invalid)?;
    if parsed.to_der().map_err(|_| SigError::Invalid)? != sig {
        return Err(SigError::Invalid);
    }
    match parsed.verify(&hash(h, msg), ec) {
        Ok(true) => Ok(()),
        _ => Err(SigError::Invalid),
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

#[cfg(test)]
mod tests {
    use openssl::ec::EcKey;
    use openssl::hash::MessageDigest;
    use openssl::pkey::{PKey, Private};
    use openssl::sign::Signer;

    use super::*;

    fn spki(key: &PKey<Private>) -> SubjectPublicKeyInfoOwned {
        SubjectPublicKeyInfoOwned::from_der(&key.public_key_to_der().unwrap()).unwrap()
    }

    fn alg(o: der::asn1::ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: o,
            parameters: None,
        }
    }

    /// Signatures made by OpenSSL's signer verify; a changed message, a changed
    /// signature, a stated digest that disagrees, and a signature with a byte more are
    /// refused (RFC 8017 §8.2.2, RFC 5758 §3.2, RFC 3279 §2.2.3).
    #[test]
    fn rsa_and_ecdsa_signatures_verify_strictly() {
        let msg = b"the signed attributes";
        let rsa = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let ec = PKey::from_ec_key(EcKey::generate(P256.as_ref().unwrap()).unwrap()).unwrap();
        for (key, sig_oid) in [(&rsa, oid::SHA256_WITH_RSA), (&ec, oid::ECDSA_SHA256)] {
            let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
            let sig = signer.sign_oneshot_to_vec(msg).unwrap();
            let spki = spki(key);
            assert_eq!(verify(&spki, &alg(sig_oid), None, msg, &sig), Ok(()));
            assert_eq!(
                verify(&spki, &alg(sig_oid), Some(HashAlg::Sha256), msg, &sig),
                Ok(())
            );
            assert_eq!(
                verify(&spki, &alg(sig_oid), None, b"another text", &sig),
                Err(SigError::Invalid)
            );
            let mut bad = sig.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert_eq!(
                verify(&spki, &alg(sig_oid), None, msg, &bad),
                Err(SigError::Invalid)
            );
            assert_eq!(
                verify(&spki, &alg(sig_oid), Some(HashAlg::Sha384), msg, &sig),
                Err(SigError::Invalid)
            );
            let mut longer = sig.clone();
            longer.push(0);
            assert_eq!(
                verify(&spki, &alg(sig_oid), None, msg, &longer),
                Err(SigError::Invalid)
            );
        }
        // rsaEncryption in the SignerInfo, with the digest stated beside it.
        let mut signer = Signer::new(MessageDigest::sha384(), &rsa).unwrap();
        let sig = signer.sign_oneshot_to_vec(msg).unwrap();
        let spki_rsa = spki(&rsa);
        assert_eq!(
            verify(
                &spki_rsa,
                &alg(oid::RSA_ENCRYPTION),
                Some(HashAlg::Sha384),
                msg,
                &sig
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &spki_rsa,
                &alg(oid::RSA_ENCRYPTION),
                Some(HashAlg::Sha256),
                msg,
                &sig
            ),
            Err(SigError::Invalid)
        );
    }

    /// The floor: RSA below 2048 bits and curves other than P-256/P-384 are refused
    /// before any verification (SECURITY.md invariant 7).
    #[test]
    fn weak_keys_are_refused() {
        let small = PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
        assert!(matches!(rsa_public(&spki(&small)), Err(SigError::Weak(_))));
        let k1 = EcGroup::from_curve_name(Nid::SECP256K1).unwrap();
        let other = PKey::from_ec_key(EcKey::generate(&k1).unwrap()).unwrap();
        assert!(matches!(
            verify(
                &spki(&other),
                &alg(oid::ECDSA_SHA256),
                None,
                b"m",
                &[0x30, 0]
            ),
            Err(SigError::Unsupported(_))
        ));
        // A P-256 key that is the point at infinity (with it, anyone could make a
        // signature that verifies), and one off the curve.
        let ec = PKey::from_ec_key(EcKey::generate(P256.as_ref().unwrap()).unwrap()).unwrap();
        let mut off = spki(&ec).subject_public_key.as_bytes().unwrap().to_vec();
        let last = off.len() - 1;
        off[last] ^= 1;
        for point in [vec![0u8], off] {
            let mut bad = spki(&ec);
            bad.subject_public_key = der::asn1::BitString::from_bytes(&point).unwrap();
            assert_eq!(
                verify(&bad, &alg(oid::ECDSA_SHA256), None, b"m", &[0x30, 0]),
                Err(SigError::BadKey)
            );
        }
    }

    /// RSA key transport round-trips through the private key, in both paddings.
    #[test]
    fn rsa_key_transport_opens_with_the_private_key() {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        let key = rsa_public(&spki(&pkey)).unwrap();
        let cek = [9u8; 32];
        let pkcs1 = key.rsa_encrypt(&cek, false).unwrap();
        let mut out = vec![0u8; 256];
        let n = rsa
            .private_decrypt(&pkcs1, &mut out, Padding::PKCS1)
            .unwrap();
        assert_eq!(&out[..n], cek);
        let oaep = key.rsa_encrypt(&cek, true).unwrap();
        let mut ctx = PkeyCtx::new(&pkey).unwrap();
        ctx.decrypt_init().unwrap();
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(Md::sha256()).unwrap();
        ctx.set_rsa_mgf1_md(Md::sha256()).unwrap();
        let mut plain = Vec::new();
        ctx.decrypt_to_vec(&oaep, &mut plain).unwrap();
        assert_eq!(plain, cek);
    }
}
