//! Delegated OpenPGP keys (RFC 9580, v4 and v6): import, and the two operations the
//! pipeline needs, each checked against the key's delegation: decrypt a PKESK into a
//! session key, and a signer handle for one sender.
//!
//! The transferable secret key is sealed like every other entry. In memory it is a
//! sequoia `Cert` whose secret parts are `Protected` (zeroized on drop, encrypted in
//! memory by sequoia). The signer handed out wraps a `KeyPair` in a type of this crate,
//! so the caller can sign with it but cannot read the secret back out.

use openpgp::Cert;
use openpgp::crypto::{Password, SessionKey, mpi};
use openpgp::packet::{Key, PKESK, key};
use openpgp::parse::Parse as _;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::{HashAlgorithm, PublicKeyAlgorithm, SymmetricAlgorithm};
use secrecy::{ExposeSecret as _, SecretString};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use crate::entry::{Body, Delegation, Uses};
use crate::{Error, Keystore, now};

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
    tsk: Cert,
}

/// The most bytes an OpenPGP key file to import may have.
const MAX_KEY_FILE: usize = 1 << 20;

fn policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

pub(crate) fn pgp_id(cert: &Cert) -> String {
    format!("pgp-{}", cert.fingerprint().to_hex().to_ascii_lowercase())
}

/// Refuses keys below the algorithm floor (SECURITY.md invariant 7).
fn check_algorithms(cert: &Cert) -> Result<(), Error> {
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
    keypair: openpgp::crypto::KeyPair,
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

impl Keystore {
    /// Imports a transferable secret key (armored or binary, v4 or v6). A protected key
    /// is unlocked with `password`; the keystore's seal then replaces that protection.
    pub fn import_openpgp(
        &mut self,
        data: &[u8],
        password: Option<&SecretString>,
        delegations: Vec<Delegation>,
        uses: Uses,
    ) -> Result<String, Error> {
        if delegations.is_empty() {
            return Err(Error::Import(
                "at least one --for delegation is needed".into(),
            ));
        }
        let cert = parse_cert(data)?;
        if !cert.is_tsk() {
            return Err(Error::Import(
                "the OpenPGP file holds no secret key (use import-cert for certificates)".into(),
            ));
        }
        // Unlock every protected secret key.
        let mut unlocked = Vec::new();
        for ka in cert.keys().secret() {
            use openpgp::cert::amalgamation::key::PrimaryKey as _;
            let primary = ka.primary();
            let key = ka.key().clone();
            if key.has_unencrypted_secret() {
                continue;
            }
            let pw = password.ok_or_else(|| {
                Error::Import(
                    "the OpenPGP key is passphrase-protected: give --openpgp-password-file".into(),
                )
            })?;
            let pw = Password::from(pw.expose_secret());
            let key = key
                .decrypt_secret(&pw)
                .map_err(|_| Error::Import("the OpenPGP key passphrase is wrong".into()))?;
            unlocked.push(if primary {
                openpgp::Packet::from(key.role_into_primary())
            } else {
                openpgp::Packet::from(key.role_into_subordinate())
            });
        }
        let cert = if unlocked.is_empty() {
            cert
        } else {
            cert.insert_packets(unlocked)
                .map(|(c, _)| c)
                .map_err(|e| Error::Import(format!("cannot unlock the key: {e}")))?
        };
        check_algorithms(&cert)?;
        let p = policy();
        let vc = cert.with_policy(&p, None).map_err(|e| {
            Error::Import(format!(
                "the key is not valid under the standard policy: {e}"
            ))
        })?;
        if uses.sign
            && vc
                .keys()
                .for_signing()
                .unencrypted_secret()
                .next()
                .is_none()
        {
            return Err(Error::Import("the key has no usable signing key".into()));
        }
        if uses.decrypt
            && vc
                .keys()
                .for_transport_encryption()
                .unencrypted_secret()
                .next()
                .is_none()
        {
            return Err(Error::Import(
                "the key has no usable encryption subkey".into(),
            ));
        }
        let id = pgp_id(&cert);
        if self.has_entry(&id) {
            return Err(Error::Duplicate(id));
        }
        let public = cert.clone().strip_secret_key_material();
        let armored = String::from_utf8(
            public
                .armored()
                .to_vec()
                .map_err(|_| Error::Import("cannot encode the certificate".into()))?,
        )
        .map_err(|_| Error::Operation)?;
        let tsk = Zeroizing::new(
            cert.as_tsk()
                .to_vec()
                .map_err(|_| Error::Import("cannot encode the key".into()))?,
        );
        let created = now();
        let body = Body::OpenpgpKey {
            id: id.clone(),
            certificate: armored,
            delegations: delegations.clone(),
            uses: uses.to_list(),
            created,
        };
        let info = OpenpgpKeyInfo {
            id: id.clone(),
            cert: public,
            delegations,
            uses,
            created,
        };
        let held = HeldPgpKey::from_tsk(info, &tsk)?;
        self.write_entry(&body, &tsk)?;
        self.pgp_keys.push(held);
        Ok(id)
    }

    /// Adds an OpenPGP certificate (or several, concatenated) to the directory.
    pub(crate) fn import_openpgp_certs(&mut self, data: &[u8]) -> Result<Vec<String>, Error> {
        use openpgp::cert::CertParser;
        if data.len() > 16 * MAX_KEY_FILE {
            return Err(Error::Import("certificate file too large".into()));
        }
        let mut ids = Vec::new();
        for cert in CertParser::from_bytes(data)
            .map_err(|e| Error::Import(format!("not an OpenPGP certificate: {e}")))?
        {
            let cert = cert.map_err(|e| Error::Import(format!("bad OpenPGP certificate: {e}")))?;
            let cert = cert.strip_secret_key_material();
            check_algorithms(&cert)?;
            let id = format!(
                "pgpcert-{}",
                cert.fingerprint().to_hex().to_ascii_lowercase()
            );
            if self.has_entry(&id) {
                // Refresh: a newer copy may carry new signatures (revocations, expiry).
                self.remove(&id)?;
            }
            let armored = String::from_utf8(
                cert.armored()
                    .to_vec()
                    .map_err(|_| Error::Import("cannot encode the certificate".into()))?,
            )
            .map_err(|_| Error::Operation)?;
            let created = now();
            self.write_entry(
                &Body::OpenpgpCert {
                    id: id.clone(),
                    certificate: armored,
                    created,
                },
                &[],
            )?;
            self.pgp_certs.push(OpenpgpCertInfo {
                id: id.clone(),
                cert,
                created,
            });
            ids.push(id);
        }
        if ids.is_empty() {
            return Err(Error::Import("no OpenPGP certificate found".into()));
        }
        Ok(ids)
    }

    /// Delegated OpenPGP keys.
    pub fn openpgp_keys(&self) -> impl Iterator<Item = &OpenpgpKeyInfo> {
        self.pgp_keys.iter().map(|k| &k.info)
    }

    /// OpenPGP certificates in the directory.
    pub fn openpgp_certificates(&self) -> &[OpenpgpCertInfo] {
        &self.pgp_certs
    }

    /// The OpenPGP key to sign for `sender`: delegated for it, with the `sign` use and
    /// an alive signing key. Exact address beats domain.
    pub fn openpgp_signer_for(&self, sender: &str) -> Option<&OpenpgpKeyInfo> {
        let p = policy();
        let mut best: Option<(&OpenpgpKeyInfo, u8)> = None;
        for k in &self.pgp_keys {
            if !k.info.uses.sign {
                continue;
            }
            let usable = k
                .tsk
                .with_policy(&p, None)
                .map(|vc| {
                    vc.keys()
                        .for_signing()
                        .alive()
                        .revoked(false)
                        .unencrypted_secret()
                        .next()
                        .is_some()
                })
                .unwrap_or(false);
            if !usable {
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

    /// A signer with key `key_id` for `sender`. The delegation is checked here, in the
    /// keystore (SECURITY.md invariant 6).
    pub fn openpgp_signer(&self, key_id: &str, sender: &str) -> Result<PgpSigner, Error> {
        let k = self
            .pgp_keys
            .iter()
            .find(|k| k.info.id == key_id)
            .ok_or_else(|| Error::NoSuchEntry(key_id.to_owned()))?;
        if !k.info.uses.sign {
            return Err(Error::UseNotAllowed {
                key: key_id.to_owned(),
                operation: "sign",
            });
        }
        if !k.info.delegations.iter().any(|d| d.covers(sender)) {
            return Err(Error::NotDelegated {
                key: key_id.to_owned(),
                party: sender.to_owned(),
            });
        }
        let p = policy();
        let vc = k
            .tsk
            .with_policy(&p, None)
            .map_err(|_| Error::Unsupported(key_id.to_owned()))?;
        let ka = vc
            .keys()
            .for_signing()
            .alive()
            .revoked(false)
            .unencrypted_secret()
            .next()
            .ok_or_else(|| Error::Unsupported(key_id.to_owned()))?;
        let keypair = ka
            .key()
            .clone()
            .into_keypair()
            .map_err(|_| Error::Operation)?;
        Ok(PgpSigner { keypair })
    }

    /// Delegated OpenPGP keys that may decrypt for a message whose envelope names
    /// `parties`.
    pub fn openpgp_decryption_keys<'a>(
        &'a self,
        parties: &'a [&'a str],
    ) -> impl Iterator<Item = &'a OpenpgpKeyInfo> + 'a {
        self.pgp_keys
            .iter()
            .filter(|k| k.info.uses.decrypt)
            .filter(move |k| {
                parties
                    .iter()
                    .any(|p| k.info.delegations.iter().any(|d| d.covers(p)))
            })
            .map(|k| &k.info)
    }

    /// Decrypts `pkesk` with key `key_id` for a message whose envelope names `parties`.
    /// Returns `None` for every failure alike (SECURITY.md invariant 3); a delegation or use
    /// violation is an error, since it depends on public facts only.
    pub fn openpgp_decrypt_pkesk(
        &self,
        key_id: &str,
        parties: &[&str],
        pkesk: &PKESK,
        sym_algo: Option<SymmetricAlgorithm>,
    ) -> Result<Option<(Option<SymmetricAlgorithm>, SessionKey)>, Error> {
        let k = self
            .pgp_keys
            .iter()
            .find(|k| k.info.id == key_id)
            .ok_or_else(|| Error::NoSuchEntry(key_id.to_owned()))?;
        if !k.info.uses.decrypt {
            return Err(Error::UseNotAllowed {
                key: key_id.to_owned(),
                operation: "decrypt",
            });
        }
        if !parties
            .iter()
            .any(|p| k.info.delegations.iter().any(|d| d.covers(p)))
        {
            return Err(Error::NotDelegated {
                key: key_id.to_owned(),
                party: parties.join(", "),
            });
        }
        let p = policy();
        let Ok(vc) = k.tsk.with_policy(&p, None) else {
            return Ok(None);
        };
        // Old messages stay decryptable: an expired or rotated encryption subkey may
        // still open mail sent to it, so do not filter on liveness here.
        for ka in vc
            .keys()
            .for_transport_encryption()
            .for_storage_encryption()
            .unencrypted_secret()
        {
            let matches = match pkesk.recipient() {
                None => true, // wildcard recipient
                Some(h) => h.aliases(openpgp::KeyHandle::from(ka.key().fingerprint())),
            };
            if !matches {
                continue;
            }
            let Ok(mut keypair) = ka.key().clone().into_keypair() else {
                continue;
            };
            if let Some(r) = pkesk.decrypt(&mut keypair, sym_algo) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}
