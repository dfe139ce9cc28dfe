//! DKIM domain keys (RFC 6376; RFC 8463 for Ed25519): one signing key per sender domain,
//! with the selector its public key is published under.
//!
//! Like every other key here, the private key never leaves this crate: the keystore
//! signs the SHA-256 digest the main crate computed over the canonicalised header fields
//! (RFC 6376 §3.7), and hands out only public facts ([`DkimKeyInfo`]). The operation takes
//! the digest, not the key, so that a PKCS#11 token can take its place.
//!
//! - `rsa-sha256` (RFC 6376 §3.3.1): RSASSA-PKCS1-v1_5 with SHA-256 over the digest, on
//!   OpenSSL (`rsa_ossl`), RSA-2048 at least (RFC 8301 §3.2 wants 1024 from verifiers and
//!   recommends 2048 to signers; the keystore's floor for every RSA key is 2048).
//! - `ed25519-sha256` (RFC 8463 §3): PureEdDSA (RFC 8032) over the 32-octet SHA-256
//!   digest, on OpenSSL.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use zeroize::Zeroizing;

use crate::Error;
use crate::entry::{Body, HashAlg, TokenRef, short_id};
use crate::import::{MIN_RSA_BITS, to_pkcs8};
use crate::pkcs11::TokenKey;
use crate::rsa_ossl::RsaKey;

/// The largest RSA modulus accepted for DKIM: its public key still fits a DNS TXT record
/// that common resolvers serve (RFC 8301 §3.2 asks verifiers for up to 4096 bits).
const MAX_RSA_BITS: u32 = 4096;

/// A DKIM signing algorithm (RFC 6376 §3.3, RFC 8463 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DkimAlgorithm {
    RsaSha256,
    Ed25519Sha256,
}

impl DkimAlgorithm {
    /// The signature's `a=` tag (RFC 6376 §3.5).
    pub fn tag(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa-sha256",
            DkimAlgorithm::Ed25519Sha256 => "ed25519-sha256",
        }
    }

    /// The key record's `k=` tag (RFC 6376 §3.6.1, RFC 8463 §4).
    pub fn key_type(self) -> &'static str {
        match self {
            DkimAlgorithm::RsaSha256 => "rsa",
            DkimAlgorithm::Ed25519Sha256 => "ed25519",
        }
    }

    fn from_tag(s: &str) -> Option<DkimAlgorithm> {
        match s {
            "rsa-sha256" => Some(DkimAlgorithm::RsaSha256),
            "ed25519-sha256" => Some(DkimAlgorithm::Ed25519Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for DkimAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A DKIM key as the rest of Reseal sees it: public facts only.
#[derive(Clone, Debug)]
pub struct DkimKeyInfo {
    pub id: String,
    /// The signing domain (`d=`), lower-case ASCII.
    pub domain: String,
    /// The selector (`s=`), lower-case ASCII.
    pub selector: String,
    pub algorithm: DkimAlgorithm,
    /// The `p=` key data: for RSA the DER SubjectPublicKeyInfo (RFC 6376 §3.6.1 names
    /// the bare RSAPublicKey, but the SubjectPublicKeyInfo is what keys are published as
    /// and what verifiers read), for Ed25519 the 32 raw octets (RFC 8463 §4).
    pub public_key: Vec<u8>,
    pub created: u64,
}

impl DkimKeyInfo {
    /// The owner name of the key record (RFC 6376 §3.6.2.1), fully qualified.
    pub fn record_name(&self) -> String {
        format!("{}._domainkey.{}.", self.selector, self.domain)
    }

    /// The key record's text (RFC 6376 §3.6.1), before any splitting into strings.
    pub fn record_text(&self) -> String {
        format!(
            "v=DKIM1; k={}; p={}",
            self.algorithm.key_type(),
            B64.encode(&self.public_key)
        )
    }
}

/// A DKIM key held in memory. OpenSSL clears the key when it is freed.
pub(crate) struct HeldDkimKey {
    pub(crate) info: DkimKeyInfo,
    secret: DkimSecret,
}

enum DkimSecret {
    Rsa(Box<RsaKey>),
    Ed25519(PKey<Private>),
    /// On a PKCS#11 token (`keys import-dkim --pkcs11-uri`): the reference only.
    Token(Box<TokenKey>, TokenRef),
}

/// A signing domain as DNS names it (RFC 6376 §3.5 `d=` is a domain-name; RFC 5321
/// §4.1.2 Domain): dot-separated LDH labels of 1 to 63 octets, at most 253 in all, at
/// least two labels. Lower-cased; `None` if it is not one (a U-label must come as its
/// A-label, `xn--...`).
pub fn domain_name(s: &str) -> Option<String> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    (d.len() <= 253 && d.contains('.') && labels_ok(&d)).then_some(d)
}

/// A selector (RFC 6376 §3.1: sub-domain *( "." sub-domain )), lower-cased.
pub fn selector_name(s: &str) -> Option<String> {
    let d = s.trim().to_ascii_lowercase();
    (d.len() <= 63 && labels_ok(&d)).then_some(d)
}

fn labels_ok(d: &str) -> bool {
    d.split('.').all(|l| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    })
}

/// Reads an unencrypted PEM private key (PKCS#8, or PKCS#1 for RSA) for `domain` and
/// `selector`: the key, and its PKCS#8 encoding to seal.
pub(crate) fn read_key(
    domain: &str,
    selector: &str,
    key_pem: &[u8],
) -> Result<(HeldDkimKey, Zeroizing<Vec<u8>>), Error> {
    let pkey = PKey::private_key_from_pem(key_pem)
        .map_err(|_| Error::Import("the key file is not an unencrypted PEM private key".into()))?;
    let pkcs8 = to_pkcs8(&pkey)?;
    let info = new_info(domain, selector, &pkey)?;
    let held = HeldDkimKey::new(info, &pkcs8, true)
        .ok_or_else(|| Error::Import("the DKIM private key is invalid".into()))?;
    Ok((held, pkcs8))
}

/// The public facts of a new key for `domain` (a domain name) and `selector`: its
/// algorithm, its `p=` data and its id (one key may serve several domains: the id names
/// the pair).
pub(crate) fn new_info<T: HasPublic>(
    domain: &str,
    selector: &str,
    pkey: &PKeyRef<T>,
) -> Result<DkimKeyInfo, Error> {
    let domain = domain_name(domain).ok_or_else(|| {
        Error::Import("the DKIM domain is not a domain name (LDH labels, A-labels)".into())
    })?;
    let selector = selector_name(selector).ok_or_else(|| {
        Error::Import("the DKIM selector is not a DNS label sequence (RFC 6376 §3.1)".into())
    })?;
    let (algorithm, public_key) = public_facts(pkey)?;
    let mut named = domain.as_bytes().to_vec();
    named.push(0);
    named.extend_from_slice(&public_key);
    Ok(DkimKeyInfo {
        id: short_id("dkim", &named),
        domain,
        selector,
        algorithm,
        public_key,
        created: crate::now(),
    })
}

/// The algorithm and the `p=` data of a key; an unsupported or too small key is refused.
fn public_facts<T: HasPublic>(pkey: &PKeyRef<T>) -> Result<(DkimAlgorithm, Vec<u8>), Error> {
    let encode = |_| Error::Import("the public key cannot be encoded".into());
    match pkey.id() {
        Id::RSA => {
            let bits = pkey.bits();
            if bits < MIN_RSA_BITS {
                return Err(Error::Import(format!(
                    "RSA-{bits} is below the {MIN_RSA_BITS}-bit floor"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(Error::Import(format!(
                    "RSA-{bits} is above {MAX_RSA_BITS} bits, more than DKIM verifiers must \
                     accept (RFC 8301 §3.2)"
                )));
            }
            Ok((
                DkimAlgorithm::RsaSha256,
                pkey.public_key_to_der().map_err(encode)?,
            ))
        }
        Id::ED25519 => Ok((
            DkimAlgorithm::Ed25519Sha256,
            pkey.raw_public_key().map_err(encode)?,
        )),
        _ => Err(Error::Import(
            "a DKIM key is RSA (rsa-sha256) or Ed25519 (ed25519-sha256, RFC 8463)".into(),
        )),
    }
}

/// The public facts of a `dkim-key` entry, and where its key is if it is on a token.
pub(crate) fn info_from_entry(body: Body) -> Result<DkimKeyInfo, Error> {
    let Body::DkimKey {
        id,
        domain,
        selector,
        algorithm,
        public_key,
        created,
        token: _,
    } = body
    else {
        return Err(Error::Operation);
    };
    let corrupt = |reason| Error::Corrupt {
        what: id.clone(),
        reason,
    };
    let algorithm =
        DkimAlgorithm::from_tag(&algorithm).ok_or_else(|| corrupt("bad DKIM algorithm"))?;
    let public_key = B64.decode(&public_key).map_err(|_| corrupt("bad base64"))?;
    let (Some(domain), Some(selector)) = (domain_name(&domain), selector_name(&selector)) else {
        return Err(corrupt("bad DKIM domain or selector"));
    };
    let info = DkimKeyInfo {
        id: id.clone(),
        domain,
        selector,
        algorithm,
        public_key,
        created,
    };
    Ok(info)
}

impl HeldDkimKey {
    /// The key from its PKCS#8 form; with `check`, OpenSSL also checks an RSA key's
    /// consistency (done once, at import, as for S/MIME keys).
    fn new(info: DkimKeyInfo, pkcs8: &[u8], check: bool) -> Option<HeldDkimKey> {
        let secret = match info.algorithm {
            DkimAlgorithm::RsaSha256 => {
                DkimSecret::Rsa(Box::new(RsaKey::from_pkcs8(pkcs8, check)?))
            }
            DkimAlgorithm::Ed25519Sha256 => {
                let pkey = PKey::private_key_from_pkcs8(pkcs8).ok()?;
                (pkey.id() == Id::ED25519).then_some(())?;
                DkimSecret::Ed25519(pkey)
            }
        };
        Some(HeldDkimKey { info, secret })
    }

    /// A key on a PKCS#11 token.
    pub(crate) fn on_token(info: DkimKeyInfo, key: TokenKey, at: TokenRef) -> HeldDkimKey {
        HeldDkimKey {
            info,
            secret: DkimSecret::Token(Box::new(key), at),
        }
    }

    /// The key of a `dkim-key` entry read back from disk (its seal already verified).
    pub(crate) fn from_entry(body: Body, pkcs8: &[u8]) -> Result<HeldDkimKey, Error> {
        let info = info_from_entry(body)?;
        let what = info.id.clone();
        HeldDkimKey::new(info, pkcs8, false).ok_or(Error::Corrupt {
            what,
            reason: "bad DKIM key",
        })
    }

    /// The entry body that stores this key (its PKCS#8 form is the sealed plaintext).
    pub(crate) fn body(&self) -> Body {
        let i = &self.info;
        Body::DkimKey {
            id: i.id.clone(),
            domain: i.domain.clone(),
            selector: i.selector.clone(),
            algorithm: i.algorithm.tag().to_owned(),
            public_key: B64.encode(&i.public_key),
            created: i.created,
            token: match &self.secret {
                DkimSecret::Token(_, at) => Some(at.clone()),
                _ => None,
            },
        }
    }

    /// Signs the SHA-256 digest of the data to sign (RFC 6376 §3.7), returning the
    /// signature octets for `b=`.
    pub(crate) fn sign_sha256(&self, digest: &[u8]) -> Result<Vec<u8>, Error> {
        if digest.len() != HashAlg::Sha256.output_len() {
            return Err(Error::Operation);
        }
        match &self.secret {
            DkimSecret::Rsa(key) => key.sign_pkcs1v15(HashAlg::Sha256, digest),
            // RFC 8463 §3: the Ed25519 signature is over the hash, not the data.
            DkimSecret::Ed25519(pkey) => openssl::sign::Signer::new_without_digest(pkey)
                .and_then(|mut s| s.sign_oneshot_to_vec(digest))
                .map_err(|_| Error::Operation),
            DkimSecret::Token(key, _) => match self.info.algorithm {
                DkimAlgorithm::RsaSha256 => key.sign(HashAlg::Sha256, digest),
                DkimAlgorithm::Ed25519Sha256 => key.sign_eddsa(digest),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(domain_name("Example.COM.").as_deref(), Some("example.com"));
        assert_eq!(selector_name("s2026").as_deref(), Some("s2026"));
        assert_eq!(selector_name("a.b").as_deref(), Some("a.b"));
        for bad in [
            "",
            "example",
            "exa mple.com",
            "-a.com",
            "a..com",
            "bücher.de",
            "a_b.com",
        ] {
            assert!(domain_name(bad).is_none(), "{bad:?}");
        }
        for bad in ["", "a;b", "a=b", "a b", "x\r\ny"] {
            assert!(selector_name(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn ed25519_key_signs_the_digest() {
        let pkey = PKey::generate_ed25519().unwrap();
        let pem = pkey.private_key_to_pem_pkcs8().unwrap();
        let (held, pkcs8) = read_key("example.com", "sel", &pem).unwrap();
        assert_eq!(held.info.algorithm, DkimAlgorithm::Ed25519Sha256);
        assert_eq!(held.info.public_key.len(), 32);
        let digest = [7u8; 32];
        let sig = held.sign_sha256(&digest).unwrap();
        let public = PKey::public_key_from_raw_bytes(&held.info.public_key, Id::ED25519).unwrap();
        let mut v = openssl::sign::Verifier::new_without_digest(&public).unwrap();
        assert!(v.verify_oneshot(&sig, &digest).unwrap());
        // Read back from its entry, it is the same key.
        let again = HeldDkimKey::from_entry(held.body(), &pkcs8).unwrap();
        assert_eq!(again.info.public_key, held.info.public_key);
        assert!(held.sign_sha256(&[0u8; 20]).is_err());
    }

    #[test]
    fn small_and_other_keys_are_refused() {
        let rsa = PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
        let pem = rsa.private_key_to_pem_pkcs8().unwrap();
        assert!(read_key("example.com", "sel", &pem).is_err());
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let pem = PKey::from_ec_key(ec)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        assert!(read_key("example.com", "sel", &pem).is_err());
    }
}
