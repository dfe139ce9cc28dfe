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

use std::sync::Arc;

use crate::Error;
use crate::entry::{Delegation, HashAlg, Uses};
use crate::rsa_ossl::RsaKey;

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
    /// Its RSA secret (sub)keys, held by OpenSSL with their CRT parameters: every RSA
    /// private operation runs there ([`RsaKey::from_openpgp`]), not in sequoia's back-end.
    rsa: Vec<(openpgp::Fingerprint, Arc<RsaKey>)>,
}

/// The most bytes an OpenPGP key file to import may have.
pub(crate) const MAX_KEY_FILE: usize = 1 << 20;

pub(crate) fn policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

pub(crate) fn pgp_id(cert: &Cert) -> String {
    format!("pgp-{}", cert.fingerprint().to_hex().to_ascii_lowercase())
}

/// Refuses keys below the algorithm floor (SECURITY.md invariant 7). Public so that a
/// certificate found by key discovery meets the same floor as an imported one.
pub fn check_algorithms(cert: &Cert) -> Result<(), Error> {
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
        let rsa = tsk
            .keys()
            .secret()
            .filter_map(|ka| {
                let key = ka.key();
                let mpi::PublicKey::RSA { e, n } = key.mpis() else {
                    return None;
                };
                let key::SecretKeyMaterial::Unencrypted(secret) = key.secret() else {
                    return None;
                };
                let held = secret.map(|m| match m {
                    mpi::SecretKeyMaterial::RSA { d, p, q, u } => RsaKey::from_openpgp(
                        n.value(),
                        e.value(),
                        d.value(),
                        p.value(),
                        q.value(),
                        u.value(),
                    ),
                    _ => None,
                })?;
                Some((key.fingerprint(), Arc::new(held)))
            })
            .collect();
        Ok(HeldPgpKey { info, tsk, rsa })
    }

    /// The OpenSSL-held form of RSA (sub)key `fpr`, if it is one.
    pub(crate) fn rsa(&self, fpr: &openpgp::Fingerprint) -> Option<&Arc<RsaKey>> {
        self.rsa.iter().find(|(f, _)| f == fpr).map(|(_, k)| k)
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
        if let Some(rsa) = self.rsa(&ka.key().fingerprint()) {
            return Ok(PgpSigner {
                public: ka.key().parts_as_public().clone().role_into_unspecified(),
                with: SignWith::Rsa(rsa.clone()),
            });
        }
        let keypair = ka
            .key()
            .clone()
            .into_keypair()
            .map_err(|_| Error::Operation)?;
        Ok(PgpSigner {
            public: keypair.public().clone(),
            with: SignWith::Keypair(Box::new(keypair)),
        })
    }
}

/// A signer for one sender, handed out by [`Keystore::openpgp_signer`]. It implements
/// sequoia's `Signer`; the secret never leaves this type.
pub struct PgpSigner {
    public: Key<key::PublicParts, key::UnspecifiedRole>,
    with: SignWith,
}

enum SignWith {
    /// RSA, in OpenSSL with CRT ([`HeldPgpKey::rsa`]).
    Rsa(Arc<RsaKey>),
    /// Every other algorithm, through sequoia.
    Keypair(Box<openpgp::crypto::KeyPair>),
}

impl std::fmt::Debug for PgpSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgpSigner")
            .field("key", &self.public.fingerprint().to_hex())
            .finish_non_exhaustive()
    }
}

impl openpgp::crypto::Signer for PgpSigner {
    fn public(&self) -> &Key<key::PublicParts, key::UnspecifiedRole> {
        &self.public
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
        match &mut self.with {
            SignWith::Keypair(keypair) => keypair.sign(hash_algo, digest),
            // RFC 9580 §5.2.3.1 (via RFC 8017 §8.2): RSASSA-PKCS1-v1_5 over the digest.
            SignWith::Rsa(rsa) => {
                let hash = match hash_algo {
                    HashAlgorithm::SHA256 => HashAlg::Sha256,
                    HashAlgorithm::SHA384 => HashAlg::Sha384,
                    HashAlgorithm::SHA512 => HashAlg::Sha512,
                    other => {
                        return Err(openpgp::Error::InvalidOperation(format!(
                            "no RSA signature with {other}"
                        ))
                        .into());
                    }
                };
                let s = rsa.sign_pkcs1v15(hash, digest)?;
                Ok(mpi::Signature::RSA {
                    s: mpi::MPI::new(&s),
                })
            }
        }
    }
}

/// Decrypts a PKESK with an RSA key held in OpenSSL (RFC 9580 §5.1.4: EME-PKCS1-v1_5).
/// Decoding uses implicit rejection ([`RsaKey::decrypt_pkcs1v15`]): a bad padding gives
/// a synthetic session key, which the PKESK's checksum then refuses like any wrong key,
/// so the failure looks the same (SECURITY.md invariant 3).
pub(crate) struct RsaDecryptor<'a> {
    pub(crate) public: Key<key::PublicParts, key::UnspecifiedRole>,
    pub(crate) rsa: &'a RsaKey,
}

impl openpgp::crypto::Decryptor for RsaDecryptor<'_> {
    fn public(&self) -> &Key<key::PublicParts, key::UnspecifiedRole> {
        &self.public
    }

    fn decrypt(
        &mut self,
        ciphertext: &mpi::Ciphertext,
        _plaintext_len: Option<usize>,
    ) -> openpgp::Result<openpgp::crypto::SessionKey> {
        let mpi::Ciphertext::RSA { c } = ciphertext else {
            return Err(openpgp::Error::InvalidOperation("not an RSA ciphertext".into()).into());
        };
        // An MPI drops leading zero octets; the RSA input is k octets (RFC 8017 §7.2.2).
        let k = self.rsa.octets();
        let value = c.value();
        let pad = k
            .checked_sub(value.len())
            .ok_or_else(|| openpgp::Error::InvalidOperation("ciphertext too long".into()))?;
        let mut block = zeroize::Zeroizing::new(vec![0u8; k]);
        block
            .get_mut(pad..)
            .ok_or_else(|| openpgp::Error::InvalidOperation("ciphertext".into()))?
            .copy_from_slice(value);
        let plain = self.rsa.decrypt_pkcs1v15(&block)?;
        Ok(openpgp::crypto::SessionKey::from(&plain[..]))
    }
}

#[cfg(test)]
mod tests {
    use openpgp::cert::{CertBuilder, CipherSuite};
    use openpgp::crypto::{Decryptor as _, SessionKey, Signer as _};
    use openpgp::packet::PKESK;
    use openpgp::packet::pkesk::PKESK3;
    use openpgp::serialize::SerializeInto as _;
    use openpgp::types::SymmetricAlgorithm;

    use super::*;

    /// An OpenPGP RSA key runs in OpenSSL with CRT parameters built from p, q and u
    /// (RFC 9580 §5.5.5.1): its PKCS#1 v1.5 signatures are byte for byte those of
    /// sequoia's own n, e, d operation (the scheme is deterministic, so a wrong CRT
    /// parameter would show), they verify, and a PKESK decrypts to the session key;
    /// a damaged one yields no key rather than an error path of its own.
    #[test]
    fn rsa_keys_run_in_openssl_with_crt() {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::RSA3k)
            .add_userid("r@example.org")
            .add_signing_subkey()
            .add_transport_encryption_subkey()
            .generate()
            .unwrap();
        let info = OpenpgpKeyInfo {
            id: pgp_id(&cert),
            cert: cert.clone().strip_secret_key_material(),
            delegations: Vec::new(),
            uses: Uses::BOTH,
            created: 0,
        };
        let held = HeldPgpKey::from_tsk(info, &cert.as_tsk().to_vec().unwrap()).unwrap();
        assert_eq!(held.rsa.len(), 3, "primary, signing and encryption key");
        // The CRT parameters are right (OpenSSL would fall back to the slow path, and
        // still sign correctly, if they were not).
        assert!(held.rsa.iter().all(|(_, k)| k.consistent()));

        let mut signer = held.signer().unwrap();
        assert!(matches!(signer.with, SignWith::Rsa(_)));
        let digest = [7u8; 32];
        let ours = signer.sign(HashAlgorithm::SHA256, &digest).unwrap();
        let p = policy();
        let vc = cert.with_policy(&p, None).unwrap();
        let signing = vc.keys().for_signing().secret().next().unwrap();
        let mut reference = signing.key().clone().into_keypair().unwrap();
        assert_eq!(
            ours,
            reference.sign(HashAlgorithm::SHA256, &digest).unwrap()
        );
        signing
            .key()
            .verify(&ours, HashAlgorithm::SHA256, &digest)
            .unwrap();
        assert!(signer.sign(HashAlgorithm::SHA1, &[0; 20]).is_err());

        let enc = vc
            .keys()
            .for_transport_encryption()
            .secret()
            .next()
            .unwrap();
        let rsa = held.rsa(&enc.key().fingerprint()).unwrap();
        let public = enc.key().parts_as_public().clone().role_into_unspecified();
        let sk = SessionKey::new(32).unwrap();
        let pkesk = PKESK3::for_recipient(SymmetricAlgorithm::AES256, &sk, enc.key()).unwrap();
        let mut dec = RsaDecryptor {
            public: public.clone(),
            rsa,
        };
        let (algo, got) = PKESK::from(pkesk.clone()).decrypt(&mut dec, None).unwrap();
        assert_eq!(
            (algo, &got[..]),
            (Some(SymmetricAlgorithm::AES256), &sk[..])
        );
        // A damaged ciphertext: implicit rejection gives some key, the checksum refuses it.
        let mpi::Ciphertext::RSA { c } = pkesk.esk() else {
            panic!("not RSA")
        };
        let mut bad = c.value().to_vec();
        bad[10] ^= 1;
        let bad = mpi::Ciphertext::RSA {
            c: mpi::MPI::new(&bad),
        };
        assert!(dec.decrypt(&bad, None).is_ok());
        let damaged = PKESK3::new(
            pkesk.recipient().cloned(),
            PublicKeyAlgorithm::RSAEncryptSign,
            bad,
        )
        .unwrap();
        assert!(PKESK::from(damaged).decrypt(&mut dec, None).is_none());
    }
}
