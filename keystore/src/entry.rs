//! The public half of keystore entries: delegations, uses, algorithms, and the JSON body
//! each entry file carries (and seals as associated data).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;

use crate::Error;

/// Who a key acts for: one address (`alice@example.com`) or a whole domain (`@example.com`).
/// Stored lower-cased; matching is case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Delegation(String);

impl Delegation {
    /// How well this delegation covers `addr`: 2 for the exact address, 1 for its
    /// domain, `None` if it does not cover it.
    pub fn rank(&self, addr: &str) -> Option<u8> {
        let addr = addr.trim().to_ascii_lowercase();
        let (_, domain) = addr.rsplit_once('@')?;
        if let Some(d) = self.0.strip_prefix('@') {
            (d == domain).then_some(1)
        } else {
            (self.0 == addr).then_some(2)
        }
    }

    pub fn covers(&self, addr: &str) -> bool {
        self.rank(addr).is_some()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Delegation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim().to_ascii_lowercase();
        let bad = || Error::BadDelegation(s.to_owned());
        let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        let local_ok = !local.contains('@')
            && !local
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
        if domain_ok && local_ok {
            Ok(Delegation(t))
        } else {
            Err(bad())
        }
    }
}

impl TryFrom<String> for Delegation {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Delegation> for String {
    fn from(d: Delegation) -> String {
        d.0
    }
}

impl fmt::Display for Delegation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One permitted use of a delegated key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Sign,
    Decrypt,
}

/// The set of permitted uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uses {
    pub sign: bool,
    pub decrypt: bool,
}

impl Uses {
    pub const BOTH: Uses = Uses {
        sign: true,
        decrypt: true,
    };

    pub fn from_list(list: &[Use]) -> Uses {
        Uses {
            sign: list.contains(&Use::Sign),
            decrypt: list.contains(&Use::Decrypt),
        }
    }

    pub fn to_list(self) -> Vec<Use> {
        let mut v = Vec::new();
        if self.sign {
            v.push(Use::Sign);
        }
        if self.decrypt {
            v.push(Use::Decrypt);
        }
        v
    }
}

impl FromStr for Use {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "sign" => Ok(Use::Sign),
            "decrypt" => Ok(Use::Decrypt),
            other => Err(format!("unknown use {other:?} (expected sign or decrypt)")),
        }
    }
}

/// The algorithm of a delegated key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    Rsa { bits: u32 },
    EcP256,
    EcP384,
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyAlgorithm::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyAlgorithm::EcP256 => f.write_str("ECDSA P-256"),
            KeyAlgorithm::EcP384 => f.write_str("ECDSA P-384"),
        }
    }
}

/// Where a key on a PKCS#11 token is: its RFC 7512 URI and the module's path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRef {
    pub(crate) uri: String,
    pub(crate) module: String,
}

/// A delegated key's revocation (`reseal keys revoke`): it never signs again; it still
/// decrypts (mail sent to it before) only if `decrypt` is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    /// Seconds since the epoch.
    pub time: u64,
    pub reason: String,
    pub decrypt: bool,
}

impl Revocation {
    /// The uses left to a key with this revocation.
    pub(crate) fn restrict(&self, uses: Uses) -> Uses {
        Uses {
            sign: false,
            decrypt: uses.decrypt && self.decrypt,
        }
    }
}

/// The JSON body of an entry file; it is the AEAD's associated data, byte for byte.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Body {
    SmimeKey {
        id: String,
        algorithm: KeyAlgorithm,
        certificate: String,
        chain: Vec<String>,
        #[serde(rename = "for")]
        delegations: Vec<Delegation>,
        uses: Vec<Use>,
        created: u64,
        /// Set by `keys revoke`: the key no longer signs (and decrypts only if kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revoked: Option<Revocation>,
    },
    /// A delegated S/MIME key that lives on a PKCS#11 token: the sealed plaintext is the
    /// implicit-rejection secret and the PIN (`pkcs11::seal_secret`), never the key.
    TokenKey {
        id: String,
        algorithm: KeyAlgorithm,
        certificate: String,
        chain: Vec<String>,
        #[serde(rename = "for")]
        delegations: Vec<Delegation>,
        uses: Vec<Use>,
        created: u64,
        /// The RFC 7512 URI of the private key (no PIN in it).
        uri: String,
        /// The path of the PKCS#11 module that reaches the token.
        module: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revoked: Option<Revocation>,
    },
    Certificate {
        id: String,
        certificate: String,
        created: u64,
    },
    TrustAnchor {
        id: String,
        certificate: String,
        created: u64,
    },
    /// A delegated OpenPGP key: the armored public certificate here; the transferable
    /// secret key is the sealed plaintext.
    OpenpgpKey {
        id: String,
        certificate: String,
        #[serde(rename = "for")]
        delegations: Vec<Delegation>,
        uses: Vec<Use>,
        created: u64,
        /// Set by `keys revoke`: the key no longer signs (and decrypts only if kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revoked: Option<Revocation>,
    },
    /// The gateway's X.509 OPES identity (its key is the sealed plaintext).
    Identity {
        id: String,
        algorithm: KeyAlgorithm,
        certificate: String,
        chain: Vec<String>,
        created: u64,
    },
    /// The gateway's OpenPGP OPES identity (its TSK is the sealed plaintext).
    IdentityPgp {
        id: String,
        certificate: String,
        created: u64,
    },
    /// An OpenPGP recipient certificate (armored).
    OpenpgpCert {
        id: String,
        certificate: String,
        created: u64,
    },
    /// A DKIM domain key (dkim.rs): algorithm `rsa-sha256` or `ed25519-sha256`, the
    /// base64 `p=` key data; the PKCS#8 private key is the sealed plaintext, or, for a
    /// key on a PKCS#11 token (`token`), the token secret (`pkcs11::seal_secret`).
    DkimKey {
        id: String,
        domain: String,
        selector: String,
        algorithm: String,
        public_key: String,
        created: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<TokenRef>,
    },
}

impl Body {
    pub(crate) fn id(&self) -> &str {
        match self {
            Body::SmimeKey { id, .. }
            | Body::TokenKey { id, .. }
            | Body::Certificate { id, .. }
            | Body::TrustAnchor { id, .. }
            | Body::OpenpgpKey { id, .. }
            | Body::Identity { id, .. }
            | Body::IdentityPgp { id, .. }
            | Body::OpenpgpCert { id, .. }
            | Body::DkimKey { id, .. } => id,
        }
    }
}

pub(crate) fn cert_to_b64(cert: &Certificate) -> Result<String, Error> {
    let der = cert
        .to_der()
        .map_err(|e| Error::Import(format!("certificate encoding: {e}")))?;
    Ok(B64.encode(der))
}

pub(crate) fn cert_from_b64(s: &str, what: &str) -> Result<Certificate, Error> {
    let corrupt = |reason| Error::Corrupt {
        what: what.to_owned(),
        reason,
    };
    let der = B64.decode(s).map_err(|_| corrupt("bad base64"))?;
    Certificate::from_der(&der).map_err(|_| corrupt("bad certificate"))
}

/// Validity check on the certificate's notBefore/notAfter.
pub(crate) fn cert_valid_at(cert: &Certificate, now: u64) -> bool {
    let v = cert.tbs_certificate().validity();
    let nb = v.not_before.to_unix_duration().as_secs();
    let na = v.not_after.to_unix_duration().as_secs();
    nb <= now && now <= na
}

/// A short, stable identifier for a public key or certificate: `prefix-<16 hex>` over
/// SHA-256 of the DER.
pub(crate) fn short_id(prefix: &str, der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(der);
    let mut s = String::with_capacity(prefix.len() + 17);
    s.push_str(prefix);
    s.push('-');
    for b in d.iter().take(8) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A hash algorithm, for signatures and RSA-OAEP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha1 => 20,
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegation_matching() {
        let a: Delegation = "Alice@Example.com".parse().unwrap();
        assert_eq!(a.rank("alice@example.COM"), Some(2));
        assert_eq!(a.rank("bob@example.com"), None);
        let d: Delegation = "@example.com".parse().unwrap();
        assert_eq!(d.rank("bob@EXAMPLE.com"), Some(1));
        assert_eq!(d.rank("bob@sub.example.com"), None);
        assert_eq!(d.rank("bob@example.com.evil"), None);
        assert!(d.rank("no-at-sign").is_none());
    }

    #[test]
    fn bad_delegations_are_refused() {
        for s in [
            "",
            "alice",
            "@",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
        ] {
            assert!(s.parse::<Delegation>().is_err(), "{s:?}");
        }
    }
}
