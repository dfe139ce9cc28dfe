//! Delegated OpenPGP keys (RFC 9580, v4 and v6): import, and the two operations the
//! pipeline needs, each checked against the key's delegation: decrypt a PKESK into a
//! session key, and a signer handle for one sender.
//!
//! The transferable secret key is sealed like every other entry. In memory it is a
//! sequoia `Cert` whose secret parts are `Protected` (zeroized on drop, encrypted in
//! memory by sequoia). The signer handed out wraps a `KeyPair` in a type of this crate,
//! so the caller can sign with it but cannot read the secret back out.

use openpgp::Cert;
use openpgp::crypto::mpi;
use openpgp::packet::{Key, key};
use openpgp::parse::Parse as _;
use openpgp::policy::StandardPolicy;
use openpgp::types::{HashAlgorithm, PublicKeyAlgorithm};
use sequoia_openpgp as openpgp;

use crate::Error;
use crate::entry::{Delegation, Uses};

/// A delegated OpenPGP key, as the rest of Reseal sees it (public facts only).
#[derive(Clone)]
pub struct OpenpgpKeyInfo {
    pub id: String,
    /// The public certificate (no secret parts).
    pub cert: Cert,
    pub delegations: Vec<Delegation>,
    pub uses: Uses,
    pub created: u64,
}

impl std::fmt::Debug for OpenpgpKeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenpgpKeyInfo")
            .field("id", &self.id)
            .field("fingerprint", &self.cert.fingerprint().to_hex())
            .field("delegations", &self.delegations)
            .finish_non_exhaustive()
    }
}

/// A recipient certificate (OpenPGP) in the directory.
#[derive(Clone, Debug)]
pub struct OpenpgpCertInfo {
    pub id: String,
    pub cert: Cert,
    pub created: u64,
}

pub(crate) struct HeldPgpKey {
    pub(crate) info: OpenpgpKeyInfo,
    pub(crate) tsk: Cert,
}

/// The most bytes an OpenPGP key file to import may have.
pub(crate) const MAX_KEY_FILE: usize = 1 << 20;

pub(crate) fn policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

pub(crate) fn pgp_id(cert: &Cert) -> String {
    format!("pgp-{}", cert.fingerprint().to_hex().to_ascii_lowercase())
}

/// Refuses keys below the algorithm floor (SECURITY.md invariant 7).
pub(crate) fn check_algorithms(cert: &Cert) -> Result<(), Error> {
    for k in cert.keys() {
        let key = k.key();
        #[allow(deprecated)]
        let weak = match key.pk_algo() {
            PublicKeyAlgorithm::RSAEncryptSign
            | PublicKeyAlgorithm::RSAEncrypt
            | PublicKeyAlgorithm::RSASign => key.mpis().bits().unwrap_or(0) < 2048,
            PublicKeyAlgorithm::DSA
            | PublicKeyAlgorithm::ElGamalEncrypt
            | PublicKeyAlgorithm::ElGamalEncryptSign => true,
            _ => false,
        };
        if weak {
            return Err(Error::Import(format!(
                "key {} uses {} below the algorithm floor",
                key.fingerprint(),
                key.pk_algo()
            )));
        }
    }
    Ok(())
}

/// Parses a (possibly armored) certificate, bounded in size.
pub(crate) fn parse_cert(data: &[u8]) -> Result<Cert, Error> {
    if data.len() > MAX_KEY_FILE {
        return Err(Error::Import("OpenPGP key file too large".into()));
    }
    Cert::from_bytes(data).map_err(|e| Error::Import(format!("not an OpenPGP certificate: {e}")))
}

/// Is this an OpenPGP file (armored or binary) rather than X.509?
pub fn looks_like_openpgp(data: &[u8]) -> bool {
    let t = data.trim_ascii_start();
    if t.starts_with(b"-----BEGIN PGP") {
        return true;
    }
    // Binary: a packet header with the high bit set, tagged Public-Key (6) or
    // Secret-Key (5), in the old (0x98-0x9b, 0x94-0x97) or new (0xc6, 0xc5) format.
    matches!(t.first(), Some(0x94..=0x9b) | Some(0xc5) | Some(0xc6))
}

impl HeldPgpKey {
    pub(crate) fn from_tsk(info: OpenpgpKeyInfo, tsk_bytes: &[u8]) -> Result<HeldPgpKey, Error> {
        let tsk = Cert::from_bytes(tsk_bytes).map_err(|_| Error::Corrupt {
            what: info.id.clone(),
            reason: "bad OpenPGP key",
        })?;
        Ok(HeldPgpKey { info, tsk })
    }
}

impl HeldPgpKey {
    /// A signer over this key's alive signing key; callers check delegations.
    pub(crate) fn signer(&self) -> Result<PgpSigner, Error> {
        let p = policy();
        let unsupported = || Error::Unsupported(self.info.id.clone());
        let vc = self.tsk.with_policy(&p, None).map_err(|_| unsupported())?;
        let ka = vc
            .keys()
            .for_signing()
            .alive()
            .revoked(false)
            .unencrypted_secret()
            .next()
            .ok_or_else(unsupported)?;
        let keypair = ka
            .key()
            .clone()
            .into_keypair()
            .map_err(|_| Error::Operation)?;
        Ok(PgpSigner { keypair })
    }
}

/// A signer for one sender, handed out by [`Keystore::openpgp_signer`]. It implements
/// sequoia's `Signer`; the secret never leaves this type.
pub struct PgpSigner {
    pub(crate) keypair: openpgp::crypto::KeyPair,
}

impl std::fmt::Debug for PgpSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgpSigner")
            .field("key", &self.keypair.public().fingerprint().to_hex())
            .finish_non_exhaustive()
    }
}

impl openpgp::crypto::Signer for PgpSigner {
    fn public(&self) -> &Key<key::PublicParts, key::UnspecifiedRole> {
        self.keypair.public()
    }

    fn acceptable_hashes(&self) -> &[HashAlgorithm] {
        // SECURITY.md invariant 7: never SHA-1.
        &[
            HashAlgorithm::SHA512,
            HashAlgorithm::SHA384,
            HashAlgorithm::SHA256,
        ]
    }

    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        self.keypair.sign(hash_algo, digest)
    }
}
