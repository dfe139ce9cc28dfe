#![forbid(unsafe_code)]
//! `reseal-keystore`: the only place where Reseal's private key bytes live.
//!
//! The keystore is a folder. `keystore.json` holds the Argon2id parameters, the salt and a
//! sealed check value; `entries/<id>.json` holds one key, recipient certificate or trust
//! anchor each. Every entry is sealed with AES-256-GCM under the passphrase-derived master
//! key: secret keys are the ciphertext, and the public part (certificate, delegations,
//! uses) is the associated data, so an entry whose delegations were edited on disk no
//! longer opens. Files are written 0600, atomically.
//!
//! The keystore hands out *operations*, never keys: sign a digest for a sender the key is
//! delegated for, unwrap a content-encryption key for a message whose parties the key is
//! delegated for. Nothing in this crate formats secret bytes into a log, a `Debug` or an
//! error text.

mod dkim;
mod entry;
mod identity;
mod import;
pub mod key_log;
mod keystore;
mod openpgp;
mod ops;
pub mod pem;
mod pkcs11;
mod rsa_ossl;
mod seal;
mod store;

use std::fmt;
use std::path::PathBuf;

pub use dkim::{DkimAlgorithm, DkimKeyInfo, domain_name as dkim_domain_name};
pub use entry::{Delegation, HashAlg, KeyAlgorithm, Revocation, Use, Uses};
pub use import::KeySource;
pub use keystore::Keystore;
pub use openpgp::{
    OpenpgpCertInfo, OpenpgpKeyInfo, PgpSigner, check_algorithms as check_openpgp_algorithms,
    looks_like_openpgp,
};
pub use ops::{KeyTransport, SignatureOutput};
pub use pem::parse_certificates;
pub use pkcs11::Pkcs11Uri;
pub use seal::KdfParams;
pub use secrecy::SecretString;
pub use sequoia_openpgp;
pub use x509_cert::Certificate;

/// Everything that can go wrong in the keystore. No variant carries secret bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no keystore at {0} (run `reseal keys init` first)")]
    NotFound(PathBuf),
    #[error("a keystore already exists at {0}")]
    AlreadyExists(PathBuf),
    #[error("wrong passphrase for the keystore")]
    WrongPassphrase,
    #[error("keystore entry {what} is corrupt or was tampered with: {reason}")]
    Corrupt { what: String, reason: &'static str },
    #[error("keystore I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot import: {0}")]
    Import(String),
    #[error("the PKCS#12 file could not be opened (wrong password or unsupported format)")]
    Pkcs12,
    #[error("no entry with id {0}")]
    NoSuchEntry(String),
    #[error("entry {0} is already in the keystore")]
    Duplicate(String),
    #[error("key {key} is not delegated for {party}")]
    NotDelegated { key: String, party: String },
    #[error("key {key} may not be used to {operation}")]
    UseNotAllowed {
        key: String,
        operation: &'static str,
    },
    #[error("key {0} cannot perform this operation")]
    Unsupported(String),
    #[error("the private-key operation failed")]
    Operation,
    /// The key's PKCS#11 token is away, broken or refusing the PIN: a temporary
    /// failure (the message waits), never a reason to send without the key.
    #[error("the key's token is unavailable: {0}")]
    TokenUnavailable(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("invalid delegation {0:?}: expected user@domain or @domain")]
    BadDelegation(String),
}

impl Error {
    /// A failure of the moment, not of the message or the key: the token is away, the
    /// disk (the key-use log) refuses a write, the random generator failed. The message
    /// waits (4xx); it is never sent without the operation.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            Error::TokenUnavailable(_) | Error::Io { .. } | Error::Random
        )
    }
}

/// A key held in the keystore, as the rest of Reseal sees it: public facts only.
#[derive(Clone)]
pub struct KeyInfo {
    pub id: String,
    pub algorithm: KeyAlgorithm,
    pub certificate: Certificate,
    pub chain: Vec<Certificate>,
    pub delegations: Vec<Delegation>,
    pub uses: Uses,
    pub created: u64,
}

impl fmt::Debug for KeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyInfo")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("delegations", &self.delegations)
            .field("uses", &self.uses)
            .finish_non_exhaustive()
    }
}

/// A public certificate entry: a recipient certificate or a trust anchor.
#[derive(Clone, Debug)]
pub struct CertInfo {
    pub id: String,
    pub certificate: Certificate,
    pub created: u64,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
