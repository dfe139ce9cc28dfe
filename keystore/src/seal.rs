//! The seal: a master key derived from the operator's passphrase with Argon2id, and
//! AES-256-GCM over every entry of the keystore.
//!
//! This module owns the master key. It never hands the key out; it seals and opens byte
//! strings with it. Nothing here may log, format or return key bytes.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// Argon2id cost parameters, stored in the keystore header so they can be raised later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// OWASP's recommended Argon2id floor (19 MiB, 2 passes, 1 lane): about 40 ms here,
    /// paid once per `process` invocation and once at `serve` start-up.
    pub const DEFAULT: KdfParams = KdfParams {
        m_kib: 19 * 1024,
        t: 2,
        p: 1,
    };

    /// The smallest parameters we accept when opening a keystore. A header edited down
    /// to trivial costs is refused rather than trusted.
    pub const FLOOR: KdfParams = KdfParams {
        m_kib: 8 * 1024,
        t: 1,
        p: 1,
    };

    /// The largest parameters we accept, so that a hostile header cannot exhaust memory.
    const CEILING: KdfParams = KdfParams {
        m_kib: 4 * 1024 * 1024,
        t: 64,
        p: 16,
    };

    pub fn check(&self) -> Result<(), Error> {
        let ok = (Self::FLOOR.m_kib..=Self::CEILING.m_kib).contains(&self.m_kib)
            && (Self::FLOOR.t..=Self::CEILING.t).contains(&self.t)
            && (Self::FLOOR.p..=Self::CEILING.p).contains(&self.p);
        if ok {
            Ok(())
        } else {
            Err(Error::Corrupt {
                what: "keystore.json".into(),
                reason: "key-derivation parameters outside the accepted range",
            })
        }
    }
}

/// The key that seals every entry. Zeroized on drop; no `Debug`.
pub(crate) struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    pub(crate) fn derive(
        passphrase: &SecretString,
        salt: &[u8],
        params: KdfParams,
    ) -> Result<Self, Error> {
        params.check()?;
        let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
            .map_err(|_| Error::Corrupt {
                what: "keystore.json".into(),
                reason: "invalid key-derivation parameters",
            })?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(
                passphrase.expose_secret().as_bytes(),
                salt,
                out.as_mut_slice(),
            )
            .map_err(|_| Error::Corrupt {
                what: "keystore.json".into(),
                reason: "key derivation failed",
            })?;
        Ok(MasterKey(out))
    }

    fn cipher(&self) -> Aes256Gcm {
        // Borrow the key in place, so no unzeroized copy is made on the stack.
        let key: &aes_gcm::Key<Aes256Gcm> = (&*self.0).into();
        Aes256Gcm::new(key)
    }

    /// Seals `plaintext`, binding `aad`. Returns nonce || ciphertext || tag.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| Error::Random)?;
        let ct = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| Error::Random)?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens what [`MasterKey::seal`] made. Any failure is `None`: the caller decides
    /// whether that means a wrong passphrase or a tampered entry.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (nonce, ct) = sealed.split_at_checked(12)?;
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pass: &str) -> MasterKey {
        MasterKey::derive(
            &SecretString::from(pass.to_owned()),
            b"0123456789abcdef",
            KdfParams::FLOOR,
        )
        .unwrap()
    }

    #[test]
    fn seal_round_trip_binds_aad() {
        let k = key("correct horse");
        let s = k.seal(b"entry-a", b"secret bytes").unwrap();
        assert_eq!(k.open(b"entry-a", &s).unwrap().as_slice(), b"secret bytes");
        assert!(k.open(b"entry-b", &s).is_none(), "aad must be bound");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(k.open(b"entry-a", &t).is_none(), "tag must be checked");
        assert!(key("wrong").open(b"entry-a", &s).is_none());
        assert!(k.open(b"entry-a", &s[..5]).is_none());
    }

    #[test]
    fn hostile_kdf_params_are_refused() {
        let p = KdfParams {
            m_kib: u32::MAX,
            t: 1,
            p: 1,
        };
        assert!(p.check().is_err());
        let p = KdfParams {
            m_kib: 8,
            t: 1,
            p: 1,
        };
        assert!(p.check().is_err());
    }
}
