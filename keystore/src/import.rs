//! Importing keys and certificates.
//!
//! PKCS#12 goes through the `openssl` crate. Why: the `pkcs12` and `p12-keystore` crates
//! pin a `cms` prerelease that conflicts with the one we build on, and `p12` reads only
//! the legacy (3DES/SHA-1) format, while OpenSSL 3 writes AES-256-CBC/PBKDF2 by default.
//! OpenSSL reads both (the legacy provider is loaded for RC2-40 files), and the crate is
//! in the tree anyway for sequoia's OpenSSL back-end. PEM private keys (PKCS#8, PKCS#1,
//! SEC1) go through the same path so that one parser handles every format; the result
//! is immediately re-encoded as PKCS#8 into a zeroizing buffer and the OpenSSL object is
//! freed (OpenSSL clears key material on free).

use der::{Decode as _, Encode as _};
use openssl::pkey::{PKey, Private};
use secrecy::SecretString;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::Error;
use crate::entry::KeyAlgorithm;

/// Where a key to import comes from.
pub enum KeySource<'a> {
    /// A PKCS#12 file and its password.
    Pkcs12 {
        der: &'a [u8],
        password: &'a SecretString,
    },
    /// A PEM private key (PKCS#8, PKCS#1 or SEC1), its certificate and optional chain.
    Pem {
        key: &'a [u8],
        cert: &'a [u8],
        chain: Option<&'a [u8]>,
    },
    /// A PEM private key alone: a throwaway self-signed certificate stands in for its
    /// certificate (for `reseal verify`, which then tries the key on every recipient).
    PemKeyOnly { key: &'a [u8] },
}

/// The minimum RSA modulus we accept (SECURITY.md invariant 7, RFC 8551 §2.3).
pub(crate) const MIN_RSA_BITS: u32 = 2048;

pub(crate) fn to_pkcs8(pkey: &PKey<Private>) -> Result<Zeroizing<Vec<u8>>, Error> {
    pkey.private_key_to_pkcs8()
        .map(Zeroizing::new)
        .map_err(|_| Error::Import("the private key cannot be re-encoded".into()))
}

pub(crate) fn x509_to_cert(x: &openssl::x509::X509Ref) -> Result<Certificate, Error> {
    let der = x
        .to_der()
        .map_err(|_| Error::Import("certificate encoding".into()))?;
    Certificate::from_der(&der).map_err(|e| Error::Import(format!("certificate: {e}")))
}

pub(crate) fn spki_der(cert: &Certificate) -> Result<Vec<u8>, Error> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Error::Import("certificate public key".into()))
}

/// The algorithm of a public key, as the keystore names it.
pub(crate) fn public_algorithm(
    public: &PKey<openssl::pkey::Public>,
) -> Result<KeyAlgorithm, Error> {
    use openssl::nid::Nid;
    use openssl::pkey::Id;
    match public.id() {
        Id::RSA => Ok(KeyAlgorithm::Rsa {
            bits: public.bits(),
        }),
        Id::EC => {
            let curve = public.ec_key().ok().and_then(|k| k.group().curve_name());
            match curve {
                Some(Nid::X9_62_PRIME256V1) => Ok(KeyAlgorithm::EcP256),
                Some(Nid::SECP384R1) => Ok(KeyAlgorithm::EcP384),
                _ => Err(Error::Import("unsupported EC curve".into())),
            }
        }
        _ => Err(Error::Import("unsupported public-key algorithm".into())),
    }
}

/// True if `sig` is a valid signature by `public` over the SHA-256 `digest`: RSA
/// PKCS#1 v1.5 or ECDSA (DER).
pub(crate) fn verifies(public: &PKey<openssl::pkey::Public>, digest: &[u8], sig: &[u8]) -> bool {
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(public)?;
        ctx.verify_init()?;
        if public.id() == openssl::pkey::Id::RSA {
            ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
        }
        ctx.set_signature_md(openssl::md::Md::sha256())?;
        ctx.verify(digest, sig)
    };
    check().unwrap_or(false)
}
