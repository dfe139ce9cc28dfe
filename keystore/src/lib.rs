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

mod entry;
mod identity;
mod import;
mod openpgp;
mod ops;
pub mod pem;
mod seal;
mod store;

use std::fmt;
use std::path::{Path, PathBuf};

pub use entry::{Delegation, KeyAlgorithm, Use, Uses};
pub use import::{KeySource, parse_certificates};
pub use openpgp::{OpenpgpCertInfo, OpenpgpKeyInfo, PgpSigner, looks_like_openpgp};
pub use ops::{HashAlg, KeyTransport, SignatureOutput};
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
    #[error("the system random number generator failed")]
    Random,
    #[error("invalid delegation {0:?}: expected user@domain or @domain")]
    BadDelegation(String),
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

/// An open keystore. Secret keys are held parsed, in zeroize-on-drop types, inside
/// `entries`; nothing outside this crate can reach them.
pub struct Keystore {
    dir: PathBuf,
    master: seal::MasterKey,
    keys: Vec<ops::HeldKey>,
    certs: Vec<CertInfo>,
    anchors: Vec<CertInfo>,
    pgp_keys: Vec<openpgp::HeldPgpKey>,
    pgp_certs: Vec<OpenpgpCertInfo>,
    identity: Option<ops::HeldKey>,
    identity_pgp: Option<openpgp::HeldPgpKey>,
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("dir", &self.dir)
            .field("keys", &self.keys.len())
            .field("certs", &self.certs.len())
            .field("anchors", &self.anchors.len())
            .field("openpgp_keys", &self.pgp_keys.len())
            .field("openpgp_certs", &self.pgp_certs.len())
            .finish_non_exhaustive()
    }
}

impl Keystore {
    /// True if `dir` holds a keystore header.
    pub fn exists(dir: &Path) -> bool {
        store::header_path(dir).is_file()
    }

    /// Creates a new keystore sealed under `passphrase`, holding only a fresh OPES
    /// identity named "Reseal OPES identity".
    pub fn init(dir: &Path, passphrase: &SecretString, params: KdfParams) -> Result<(), Error> {
        Keystore::init_with_identity(dir, passphrase, params, "Reseal OPES identity")
    }

    /// As [`Keystore::init`], naming the identity (its certificate's common name).
    pub fn init_with_identity(
        dir: &Path,
        passphrase: &SecretString,
        params: KdfParams,
        identity_name: &str,
    ) -> Result<(), Error> {
        store::init(dir, passphrase, params)?;
        let mut ks = Keystore::open(dir, passphrase)?;
        ks.create_identity(identity_name)
    }

    /// Opens the keystore: derives the master key, checks the passphrase, and opens
    /// every entry. A wrong passphrase or a tampered entry is an error; nothing changes.
    pub fn open(dir: &Path, passphrase: &SecretString) -> Result<Keystore, Error> {
        store::open(dir, passphrase)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Delegated keys (public facts).
    pub fn keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.keys.iter().map(|k| &k.info)
    }

    /// The recipient-certificate directory.
    pub fn certificates(&self) -> &[CertInfo] {
        &self.certs
    }

    /// Trust anchors for verification.
    pub fn trust_anchors(&self) -> &[CertInfo] {
        &self.anchors
    }

    /// The key to sign for `sender`, if one is delegated for it with the `sign` use and
    /// its certificate is valid at `now` (seconds since the epoch). An exact address
    /// delegation wins over a domain delegation.
    pub fn signer_for(&self, sender: &str, now: u64) -> Option<&KeyInfo> {
        let mut best: Option<(&KeyInfo, u8)> = None;
        for k in &self.keys {
            if !k.info.uses.sign || !entry::cert_valid_at(&k.info.certificate, now) {
                continue;
            }
            let rank = k
                .info
                .delegations
                .iter()
                .filter_map(|d| d.rank(sender))
                .max();
            if let Some(rank) = rank
                && best.is_none_or(|(_, r)| rank > r)
            {
                best = Some((&k.info, rank));
            }
        }
        best.map(|(k, _)| k)
    }

    /// Keys that may decrypt a message whose envelope names `parties` (sender and
    /// recipients): those with the `decrypt` use and a delegation covering a party.
    pub fn decryption_keys<'a>(
        &'a self,
        parties: &'a [&'a str],
    ) -> impl Iterator<Item = &'a KeyInfo> + 'a {
        self.keys
            .iter()
            .filter(|k| k.info.uses.decrypt)
            .filter(move |k| {
                parties
                    .iter()
                    .any(|p| k.info.delegations.iter().any(|d| d.covers(p)))
            })
            .map(|k| &k.info)
    }

    fn held(&self, id: &str) -> Result<&ops::HeldKey, Error> {
        self.keys
            .iter()
            .find(|k| k.info.id == id)
            .ok_or_else(|| Error::NoSuchEntry(id.to_owned()))
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
