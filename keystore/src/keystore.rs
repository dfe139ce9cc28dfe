//! The [`Keystore`] type and everything it does, in one place. The formats it reads
//! and the operations it runs are the helpers of the modules beside it: `store` (the
//! folder on disk), `seal` (the master key), `entry` (what an entry holds), `ops`
//! (S/MIME private-key operations), `import` (PKCS#12 and PEM), `identity` (the OPES
//! identity), `openpgp` (OpenPGP keys), `pem` (PEM and certificate files). None of them
//! names the type, so the modules form no cycle.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use der::Encode as _;
use openpgp::Cert;
use openpgp::crypto::{Password, SessionKey};
use openpgp::packet::PKESK;
use openpgp::parse::Parse as _;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::SymmetricAlgorithm;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use secrecy::{ExposeSecret as _, SecretString};
use sequoia_openpgp as openpgp;
use serde_json::value::RawValue;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::dkim::{self, DkimKeyInfo};
use crate::entry::{
    self, Body, Delegation, HashAlg, KeyAlgorithm, Revocation, TokenRef, Uses, cert_from_b64,
    cert_to_b64, short_id,
};

use crate::identity::{PGP_ID, X509_ID, gen_err, new_pgp, new_x509};
use crate::import::{KeySource, MIN_RSA_BITS, spki_der, to_pkcs8, x509_to_cert};
use crate::key_log::KeyLog;
use crate::openpgp::{
    self as pgp, HeldPgpKey, MAX_KEY_FILE, OpenpgpCertInfo, OpenpgpKeyInfo, PgpSigner,
    RsaDecryptor, check_algorithms, parse_cert, pgp_id, policy,
};
use crate::ops::{self, HeldKey, KeyTransport, SecretKey, SignatureOutput, pkcs8_algorithm};
use crate::pem::parse_certificates;
use crate::pkcs11::{self, Pkcs11Uri, TokenKey};
use crate::seal::{self, KdfParams};
use crate::store::{self, EntryFile, entry_aad, io, read_bounded, write_atomic};
use crate::{CertInfo, Error, KeyInfo, now};

/// An open keystore. Secret keys are held parsed, in zeroize-on-drop types, inside
/// `entries`; nothing outside this crate can reach them.
pub struct Keystore {
    dir: PathBuf,
    master: seal::MasterKey,
    kdf: KdfParams,
    /// The folder of entries sealed under `master` (the header names it).
    entries: PathBuf,
    keys: Vec<ops::HeldKey>,
    certs: Vec<CertInfo>,
    anchors: Vec<CertInfo>,
    pgp_keys: Vec<pgp::HeldPgpKey>,
    pgp_certs: Vec<OpenpgpCertInfo>,
    identity: Option<ops::HeldKey>,
    identity_pgp: Option<pgp::HeldPgpKey>,
    dkim: Vec<dkim::HeldDkimKey>,
    /// PKCS#11 tokens holding delegated keys, one session pool each.
    tokens: Vec<Arc<pkcs11::Token>>,
    /// Revoked delegated keys, by id.
    revoked: Vec<(String, Revocation)>,
    /// Every private-key operation and every change is recorded here first.
    key_log: KeyLog,
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
    // ---- Opening and reading (helpers in lib.rs) ----

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
        let unlocked = store::unlock(dir, passphrase)?;
        let mut ks = Keystore {
            dir: dir.to_owned(),
            master: unlocked.master,
            kdf: unlocked.kdf,
            entries: unlocked.entries,
            keys: Vec::new(),
            certs: Vec::new(),
            anchors: Vec::new(),
            pgp_keys: Vec::new(),
            pgp_certs: Vec::new(),
            identity: None,
            identity_pgp: None,
            dkim: Vec::new(),
            tokens: Vec::new(),
            revoked: Vec::new(),
            key_log: KeyLog::new(dir),
        };
        for path in store::entry_files(&ks.entries)? {
            ks.load_entry(&path)?;
        }
        Ok(ks)
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
        best_delegated(
            sender,
            self.keys
                .iter()
                .filter(|k| k.info.uses.sign && entry::cert_valid_at(&k.info.certificate, now))
                .map(|k| (&k.info, k.info.delegations.as_slice())),
        )
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

    // ---- Entries on disk (helpers in store.rs) ----

    /// Reads and opens one entry file: its id, its body and its sealed secret (empty
    /// for public entries). A seal that does not verify, or a body that names another
    /// id than the file, is corruption.
    fn open_entry(&self, path: &Path) -> Result<(String, Body, Zeroizing<Vec<u8>>), Error> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let corrupt = |reason| Error::Corrupt {
            what: name.clone(),
            reason,
        };
        let raw = read_bounded(path)?;
        let file: EntryFile<'_> =
            serde_json::from_slice(&raw).map_err(|_| corrupt("unreadable entry"))?;
        let body_bytes = file.body.get().as_bytes();
        let sealed = B64.decode(&file.seal).map_err(|_| corrupt("bad seal"))?;
        let secret = self
            .master
            .open(&entry_aad(&name, body_bytes), &sealed)
            .ok_or_else(|| corrupt("seal does not verify"))?;
        let body: Body =
            serde_json::from_str(file.body.get()).map_err(|_| corrupt("unreadable body"))?;
        if body.id() != name {
            return Err(corrupt("entry id does not match its file name"));
        }
        Ok((name, body, secret))
    }

    fn load_entry(&mut self, path: &Path) -> Result<(), Error> {
        let (name, body, secret) = self.open_entry(path)?;
        let corrupt = |reason| Error::Corrupt {
            what: name.clone(),
            reason,
        };
        match body {
            Body::SmimeKey {
                id,
                algorithm,
                certificate,
                chain,
                delegations,
                uses,
                created,
                revoked,
            } => {
                let uses = self.note_revocation(&id, revoked, Uses::from_list(&uses));
                let info = key_info(
                    id,
                    algorithm,
                    &certificate,
                    &chain,
                    delegations,
                    uses,
                    created,
                )?;
                let held = HeldKey::from_pkcs8(info, &secret)?;
                self.keys.push(held);
            }
            Body::TokenKey {
                id,
                algorithm,
                certificate,
                chain,
                delegations,
                uses,
                created,
                uri,
                module,
                revoked,
            } => {
                let uses = self.note_revocation(&id, revoked, Uses::from_list(&uses));
                let info = key_info(
                    id,
                    algorithm,
                    &certificate,
                    &chain,
                    delegations,
                    uses,
                    created,
                )?;
                let kind = pkcs11::KeyKind::of(algorithm);
                let key = self.stored_token_key(&name, &uri, &module, &secret, kind)?;
                self.keys.push(HeldKey {
                    info,
                    secret: SecretKey::Token(Box::new(key)),
                });
            }
            Body::Certificate {
                id,
                certificate,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                self.certs.push(CertInfo {
                    id,
                    certificate,
                    created,
                });
            }
            Body::TrustAnchor {
                id,
                certificate,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                self.anchors.push(CertInfo {
                    id,
                    certificate,
                    created,
                });
            }
            Body::OpenpgpKey {
                id,
                certificate,
                delegations,
                uses,
                created,
                revoked,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                let uses = self.note_revocation(&id, revoked, Uses::from_list(&uses));
                let info = crate::OpenpgpKeyInfo {
                    id,
                    cert,
                    delegations,
                    uses,
                    created,
                };
                self.pgp_keys
                    .push(pgp::HeldPgpKey::from_tsk(info, &secret)?);
            }
            Body::Identity {
                id,
                algorithm,
                certificate,
                chain,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                let chain = chain
                    .iter()
                    .map(|c| cert_from_b64(c, &id))
                    .collect::<Result<_, _>>()?;
                let info = KeyInfo {
                    id,
                    algorithm,
                    certificate,
                    chain,
                    delegations: Vec::new(),
                    uses: Uses {
                        sign: true,
                        decrypt: false,
                    },
                    created,
                };
                self.identity = Some(HeldKey::from_pkcs8(info, &secret)?);
            }
            Body::IdentityPgp {
                id,
                certificate,
                created,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                let info = crate::OpenpgpKeyInfo {
                    id,
                    cert,
                    delegations: Vec::new(),
                    uses: Uses {
                        sign: true,
                        decrypt: false,
                    },
                    created,
                };
                self.identity_pgp = Some(pgp::HeldPgpKey::from_tsk(info, &secret)?);
            }
            Body::OpenpgpCert {
                id,
                certificate,
                created,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                self.pgp_certs
                    .push(crate::OpenpgpCertInfo { id, cert, created });
            }
            body @ Body::DkimKey { .. } => {
                let at = match &body {
                    Body::DkimKey { token, .. } => token.clone(),
                    _ => None,
                };
                let held = match at {
                    None => dkim::HeldDkimKey::from_entry(body, &secret)?,
                    Some(at) => {
                        let info = dkim::info_from_entry(body)?;
                        let kind = dkim_token_kind(&info);
                        let key =
                            self.stored_token_key(&name, &at.uri, &at.module, &secret, kind)?;
                        dkim::HeldDkimKey::on_token(info, key, at)
                    }
                };
                self.dkim.push(held);
            }
        }
        Ok(())
    }

    /// Seals and writes one entry. `secret` is empty for public entries: the seal then
    /// only authenticates the body.
    pub(crate) fn write_entry(&self, body: &Body, secret: &[u8]) -> Result<(), Error> {
        write_sealed(&self.master, &self.entries, body, secret)
    }

    pub(crate) fn has_entry(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.info.id == id)
            || self.certs.iter().any(|c| c.id == id)
            || self.anchors.iter().any(|c| c.id == id)
            || self.pgp_keys.iter().any(|k| k.info.id == id)
            || self.pgp_certs.iter().any(|c| c.id == id)
            || self.dkim.iter().any(|k| k.info.id == id)
    }

    /// Removes an entry by id, from disk and from memory.
    pub fn remove(&mut self, id: &str) -> Result<(), Error> {
        if !valid_id(id) || !self.has_entry(id) {
            return Err(Error::NoSuchEntry(id.to_owned()));
        }
        let path = self.entries.join(format!("{id}.json"));
        fs::remove_file(&path).map_err(io(&path))?;
        fs::File::open(&self.entries)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.entries))?;
        self.forget(id);
        self.key_log.record(id, "remove")
    }

    /// Records a loaded key's revocation, and returns the uses it leaves.
    fn note_revocation(&mut self, id: &str, revoked: Option<Revocation>, uses: Uses) -> Uses {
        match revoked {
            Some(r) => {
                let left = r.restrict(uses);
                self.revoked.push((id.to_owned(), r));
                left
            }
            None => uses,
        }
    }

    /// Where delegated key `id`'s private half is: `None` in the keystore, or the
    /// RFC 7512 URI of its PKCS#11 token.
    pub fn token_uri(&self, id: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|k| k.info.id == id)
            .and_then(|k| match &k.secret {
                SecretKey::Token(t) => Some(t.uri.as_str()),
                _ => None,
            })
    }

    /// The revocation of delegated key `id`, if it was revoked.
    pub fn revocation(&self, id: &str) -> Option<&Revocation> {
        self.revoked.iter().find(|(k, _)| k == id).map(|(_, r)| r)
    }

    // ---- Lifecycle: rewrite, rotate, revoke, delegate ----

    /// Changes entry `id`'s public body with `edit`, re-seals it (its secret unchanged)
    /// and loads it again. The file is replaced atomically (`write_atomic`).
    fn rewrite_entry(
        &mut self,
        id: &str,
        edit: impl FnOnce(&mut Body) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if !valid_id(id) || !self.has_entry(id) {
            return Err(Error::NoSuchEntry(id.to_owned()));
        }
        let path = self.entries.join(format!("{id}.json"));
        let (_, mut body, secret) = self.open_entry(&path)?;
        edit(&mut body)?;
        self.write_entry(&body, &secret)?;
        self.forget(id);
        self.load_entry(&path)
    }

    /// Seals the whole keystore under a new passphrase (and `kdf`, or the current cost
    /// parameters). Every entry is opened under the old key, so a damaged one stops the
    /// rotation before anything changes; the switch is one atomic header replacement
    /// (`store::rotate`).
    pub fn rotate_passphrase(
        &mut self,
        new: &SecretString,
        kdf: Option<KdfParams>,
    ) -> Result<(), Error> {
        let kdf = kdf.unwrap_or(self.kdf);
        kdf.check()?;
        let files = store::entry_files(&self.entries)?;
        let mut opened = Vec::with_capacity(files.len());
        for path in &files {
            let (_, body, secret) = self.open_entry(path)?;
            opened.push((body, secret));
        }
        let unlocked = store::rotate(&self.dir, &self.entries, new, kdf, |master, fresh| {
            for (body, secret) in &opened {
                write_sealed(master, fresh, body, secret)?;
            }
            Ok(())
        })?;
        self.master = unlocked.master;
        self.kdf = unlocked.kdf;
        self.entries = unlocked.entries;
        self.key_log.record("-", "rotate-passphrase")
    }

    /// Revokes delegated key `id` (S/MIME, token or OpenPGP): it never signs again, and
    /// decrypts mail sent to it before only if `keep_decrypt`.
    pub fn revoke(&mut self, id: &str, reason: &str, keep_decrypt: bool) -> Result<(), Error> {
        let r = Revocation {
            time: now(),
            reason: reason.to_owned(),
            decrypt: keep_decrypt,
        };
        self.rewrite_entry(id, |body| match body {
            Body::SmimeKey { revoked, .. }
            | Body::TokenKey { revoked, .. }
            | Body::OpenpgpKey { revoked, .. } => {
                *revoked = Some(r);
                Ok(())
            }
            _ => Err(Error::Unsupported(id.to_owned())),
        })?;
        self.key_log.record(id, "revoke")
    }

    /// Adds (`add`) and removes (`remove`) the addresses or domains delegated key `id`
    /// acts for. A key is never left acting for nobody: remove the key instead.
    pub fn delegate(
        &mut self,
        id: &str,
        add: &[Delegation],
        remove: &[Delegation],
    ) -> Result<(), Error> {
        self.rewrite_entry(id, |body| match body {
            Body::SmimeKey { delegations, .. }
            | Body::TokenKey { delegations, .. }
            | Body::OpenpgpKey { delegations, .. } => {
                if let Some(d) = remove.iter().find(|d| !delegations.contains(d)) {
                    return Err(Error::NotDelegated {
                        key: id.to_owned(),
                        party: d.to_string(),
                    });
                }
                delegations.retain(|d| !remove.contains(d));
                for d in add {
                    if !delegations.contains(d) {
                        delegations.push(d.clone());
                    }
                }
                if delegations.is_empty() {
                    return Err(Error::Refused(
                        "a key must act for someone: remove the key instead",
                    ));
                }
                Ok(())
            }
            _ => Err(Error::Unsupported(id.to_owned())),
        })?;
        self.key_log.record(id, "delegate")
    }

    /// Drops entry `id` from memory.
    fn forget(&mut self, id: &str) {
        self.keys.retain(|k| k.info.id != id);
        self.certs.retain(|c| c.id != id);
        self.anchors.retain(|c| c.id != id);
        self.pgp_keys.retain(|k| k.info.id != id);
        self.pgp_certs.retain(|c| c.id != id);
        self.dkim.retain(|k| k.info.id != id);
        self.revoked.retain(|(k, _)| k != id);
    }

    // ---- Private-key operations (S/MIME) (helpers in ops.rs) ----

    /// Signs `digest` (already hashed with `hash`) with key `key_id` on behalf of
    /// `sender`. The keystore itself refuses a sender the key is not delegated for
    /// (SECURITY.md invariant 6: never a signing oracle).
    pub fn sign_digest(
        &self,
        key_id: &str,
        sender: &str,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<SignatureOutput, Error> {
        let k = self.held(key_id)?;
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
        self.key_log.record(key_id, "sign")?;
        k.sign_raw(hash, digest)
    }

    /// Unwraps a content-encryption key of `cek_len` bytes that was encrypted to key
    /// `key_id` with `scheme`, for a message whose envelope names `parties`.
    ///
    /// SECURITY.md invariant 3 (no padding oracle): once the delegation checks pass, this
    /// never reports *why* an unwrap failed. A ciphertext that does not decrypt, or that
    /// decrypts to a key of the wrong length, yields a random key of `cek_len` bytes
    /// (RSA implicit rejection, extended to OAEP and to the length check), so that every
    /// failure surfaces later, at the content layer, as one and the same integrity error.
    pub fn unwrap_cek(
        &self,
        key_id: &str,
        parties: &[&str],
        scheme: KeyTransport,
        encrypted_key: &[u8],
        cek_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let k = self.held(key_id)?;
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
        if !(16..=64).contains(&cek_len) {
            return Err(Error::Operation);
        }
        self.key_log.record(key_id, "decrypt")?;
        let mut random = Zeroizing::new(vec![0u8; cek_len]);
        getrandom::fill(random.as_mut_slice()).map_err(|_| Error::Random)?;
        let result = match (&k.secret, scheme) {
            // Implicit rejection (rsa_ossl): bad padding gives a synthetic key, not an error.
            (SecretKey::Rsa(key), KeyTransport::RsaPkcs1v15) => key.decrypt_pkcs1v15(encrypted_key),
            (SecretKey::Rsa(key), KeyTransport::RsaOaep { hash, mgf_hash }) => {
                key.decrypt_oaep(hash, mgf_hash, encrypted_key)
            }
            (SecretKey::Token(key), KeyTransport::RsaPkcs1v15) => {
                key.decrypt_pkcs1v15(encrypted_key)
            }
            (SecretKey::Token(key), KeyTransport::RsaOaep { hash, mgf_hash }) => {
                key.decrypt_oaep(hash, mgf_hash, encrypted_key)
            }
            _ => return Err(Error::Unsupported(key_id.to_owned())),
        };
        // A token that is away is a temporary failure of the message, reported as such:
        // it says nothing about the ciphertext (every operation fails alike).
        if let Err(Error::TokenUnavailable(why)) = result {
            return Err(Error::TokenUnavailable(why));
        }
        let plain = result.unwrap_or_default();
        // Select without branching on secret-dependent data where we can: the length is
        // public after implicit rejection only in a statistical sense, so we always
        // build the output from both candidates.
        let ok = u8::from(plain.len() == cek_len);
        let mask = 0u8.wrapping_sub(ok);
        let mut out = Zeroizing::new(vec![0u8; cek_len]);
        for (i, o) in out.iter_mut().enumerate() {
            let p = plain.get(i).copied().unwrap_or(0);
            let r = random.get(i).copied().unwrap_or(0);
            *o = (p & mask) | (r & !mask);
        }
        Ok(out)
    }

    // ---- Importing keys and certificates (helpers in import.rs) ----

    /// Imports a delegated key. Returns the new entry's id.
    pub fn import_key(
        &mut self,
        source: KeySource<'_>,
        delegations: Vec<Delegation>,
        uses: Uses,
    ) -> Result<String, Error> {
        if delegations.is_empty() {
            return Err(Error::Import(
                "at least one --for delegation is needed".into(),
            ));
        }
        if !uses.sign && !uses.decrypt {
            return Err(Error::Import("a key needs at least one use".into()));
        }
        let (pkcs8, cert, chain) = match source {
            KeySource::Pkcs12 { der, password } => {
                let pass = password.expose_secret();
                if pass.contains('\0') {
                    return Err(Error::Pkcs12);
                }
                // RC2-40 (the old OpenSSL default for the certificate bag) lives in the
                // legacy provider; keep the default provider as fallback.
                let _legacy = openssl::provider::Provider::try_load(None, "legacy", true).ok();
                let p12 = Pkcs12::from_der(der).map_err(|_| Error::Pkcs12)?;
                let parsed = p12.parse2(pass).map_err(|_| Error::Pkcs12)?;
                let pkey = parsed
                    .pkey
                    .ok_or_else(|| Error::Import("the PKCS#12 file holds no private key".into()))?;
                let cert = parsed
                    .cert
                    .ok_or_else(|| Error::Import("the PKCS#12 file holds no certificate".into()))?;
                let mut chain = Vec::new();
                if let Some(ca) = parsed.ca {
                    for c in &ca {
                        chain.push(x509_to_cert(c)?);
                    }
                }
                (to_pkcs8(&pkey)?, x509_to_cert(&cert)?, chain)
            }
            KeySource::Pem { key, cert, chain } => {
                let pkey = PKey::private_key_from_pem(key).map_err(|_| {
                    Error::Import("the key file is not an unencrypted PEM private key".into())
                })?;
                let mut certs = parse_certificates(cert)?;
                let leaf = certs.remove(0);
                if let Some(c) = chain {
                    certs.extend(parse_certificates(c)?);
                }
                (to_pkcs8(&pkey)?, leaf, certs)
            }
            KeySource::PemKeyOnly { key } => {
                let pkey = PKey::private_key_from_pem(key).map_err(|_| {
                    Error::Import("the key file is not an unencrypted PEM private key".into())
                })?;
                let cert = crate::identity::self_signed(&pkey, "reseal verify key")?;
                (to_pkcs8(&pkey)?, cert, Vec::new())
            }
        };

        // The key must belong to the certificate.
        let key_spki = {
            let pkey = PKey::private_key_from_pkcs8(&pkcs8)
                .map_err(|_| Error::Import("the private key is invalid".into()))?;
            pkey.public_key_to_der()
                .map_err(|_| Error::Import("the public key cannot be encoded".into()))?
        };
        let cert_spki = spki_der(&cert)?;
        if key_spki != cert_spki {
            return Err(Error::Import(
                "the private key does not match the certificate".into(),
            ));
        }
        let algorithm = pkcs8_algorithm(&pkcs8)?;
        if let KeyAlgorithm::Rsa { bits } = algorithm
            && bits < MIN_RSA_BITS
        {
            return Err(Error::Import(format!(
                "RSA-{bits} is below the {MIN_RSA_BITS}-bit floor"
            )));
        }
        let id = short_id("smime", &cert_spki);
        if self.has_entry(&id) {
            return Err(Error::Duplicate(id));
        }
        let created = now();
        let body = Body::SmimeKey {
            id: id.clone(),
            algorithm,
            certificate: cert_to_b64(&cert)?,
            chain: chain.iter().map(cert_to_b64).collect::<Result<_, _>>()?,
            delegations: delegations.clone(),
            uses: uses.to_list(),
            created,
            revoked: None,
        };
        let info = KeyInfo {
            id: id.clone(),
            algorithm,
            certificate: cert,
            chain,
            delegations,
            uses,
            created,
        };
        // Parse before writing, so that a key we cannot use is never stored.
        let held = HeldKey::from_pkcs8(info, &pkcs8)?;
        self.write_entry(&body, &pkcs8)?;
        self.keys.push(held);
        self.key_log.record(&id, "import")?;
        Ok(id)
    }

    /// The key `uri` on the token that `module` reaches, sharing the token's session pool
    /// with the other keys on it.
    /// The token key of a stored entry (`name`): its recorded URI and module, and its
    /// sealed secret (the implicit-rejection secret and the PIN, which
    /// `RESEAL_PKCS11_PIN` overrides).
    fn stored_token_key(
        &mut self,
        name: &str,
        uri: &str,
        module: &str,
        secret: &[u8],
        kind: pkcs11::KeyKind,
    ) -> Result<TokenKey, Error> {
        let corrupt = |reason| Error::Corrupt {
            what: name.to_owned(),
            reason,
        };
        let uri: Pkcs11Uri = uri.parse().map_err(|_| corrupt("bad PKCS#11 URI"))?;
        let (ir, pin) = pkcs11::open_secret(secret).ok_or_else(|| corrupt("bad token secret"))?;
        let pin = pkcs11::pin_from_env().unwrap_or(pin);
        Ok(self.token_key_of(Path::new(module), &uri, pin, kind, ir))
    }

    fn token_key_of(
        &mut self,
        module: &Path,
        uri: &Pkcs11Uri,
        pin: SecretString,
        kind: pkcs11::KeyKind,
        ir: Zeroizing<[u8; 32]>,
    ) -> TokenKey {
        let token = match self.tokens.iter().find(|t| t.is(module, uri)) {
            Some(t) => Arc::clone(t),
            None => {
                let t = Arc::new(pkcs11::Token::new(module.to_owned(), uri, pin));
                self.tokens.push(Arc::clone(&t));
                t
            }
        };
        TokenKey::new(token, uri, kind, ir)
    }

    /// Imports a delegated S/MIME key that lives on a PKCS#11 token: records the
    /// reference (RFC 7512 `uri`, the `module` that reaches the token), the certificate
    /// and the delegations; seals the PIN. The key must be on the token and belong to
    /// the certificate: a test signature made on the token is verified with the
    /// certificate's public key before anything is stored. Returns the new entry's id.
    #[allow(clippy::too_many_arguments)]
    pub fn import_token_key(
        &mut self,
        uri: &Pkcs11Uri,
        module: &Path,
        pin: &SecretString,
        cert_pem: &[u8],
        chain_pem: Option<&[u8]>,
        delegations: Vec<Delegation>,
        uses: Uses,
    ) -> Result<String, Error> {
        if delegations.is_empty() {
            return Err(Error::Import(
                "at least one --for delegation is needed".into(),
            ));
        }
        if !uses.sign && !uses.decrypt {
            return Err(Error::Import("a key needs at least one use".into()));
        }
        let mut certs = parse_certificates(cert_pem)?;
        let cert = certs.remove(0);
        if let Some(c) = chain_pem {
            certs.extend(parse_certificates(c)?);
        }
        let cert_spki = spki_der(&cert)?;
        let public = PKey::public_key_from_der(&cert_spki)
            .map_err(|_| Error::Import("the certificate's public key is unreadable".into()))?;
        let algorithm = crate::import::public_algorithm(&public)?;
        if let KeyAlgorithm::Rsa { bits } = algorithm
            && bits < MIN_RSA_BITS
        {
            return Err(Error::Import(format!(
                "RSA-{bits} is below the {MIN_RSA_BITS}-bit floor"
            )));
        }
        if uses.decrypt && !matches!(algorithm, KeyAlgorithm::Rsa { .. }) {
            return Err(Error::Import(
                "only an RSA key can decrypt (key transport): import an EC key with --use sign"
                    .into(),
            ));
        }
        let id = short_id("smime", &cert_spki);
        if self.has_entry(&id) {
            return Err(Error::Duplicate(id));
        }
        let mut ir = Zeroizing::new([0u8; 32]);
        getrandom::fill(ir.as_mut_slice()).map_err(|_| Error::Random)?;
        let kind = pkcs11::KeyKind::of(algorithm);
        let key = self.token_key_of(module, uri, pin.clone(), kind, ir.clone());
        // The key must be on the token and belong to the certificate.
        if !key.has_certificate_type()? {
            return Err(Error::Import(
                "the token's key does not match the certificate (another algorithm)".into(),
            ));
        }
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(
            b"reseal: does this token key match its certificate?",
        )
        .into();
        let sig = key.sign(HashAlg::Sha256, &digest)?;
        if !crate::import::verifies(&public, &digest, &sig) {
            return Err(Error::Import(
                "the token's key does not match the certificate".into(),
            ));
        }
        let created = now();
        let body = Body::TokenKey {
            id: id.clone(),
            algorithm,
            certificate: cert_to_b64(&cert)?,
            chain: certs.iter().map(cert_to_b64).collect::<Result<_, _>>()?,
            delegations: delegations.clone(),
            uses: uses.to_list(),
            created,
            uri: uri.to_string(),
            module: module
                .to_str()
                .ok_or_else(|| Error::Import("the module path is not UTF-8".into()))?
                .to_owned(),
            revoked: None,
        };
        self.write_entry(&body, &pkcs11::seal_secret(&ir, pin))?;
        self.keys.push(HeldKey {
            info: KeyInfo {
                id: id.clone(),
                algorithm,
                certificate: cert,
                chain: certs,
                delegations,
                uses,
                created,
            },
            secret: SecretKey::Token(Box::new(key)),
        });
        self.key_log.record(&id, "import-token")?;
        Ok(id)
    }

    /// Adds recipient certificates to the directory: X.509 (PEM or DER) or OpenPGP
    /// (armored or binary). Returns their ids.
    pub fn import_certificates(&mut self, data: &[u8]) -> Result<Vec<String>, Error> {
        if crate::openpgp::looks_like_openpgp(data) {
            self.import_openpgp_certs(data)
        } else {
            self.import_public(data, false)
        }
    }

    /// Adds trust anchors. Returns their ids.
    pub fn add_trust_anchors(&mut self, data: &[u8]) -> Result<Vec<String>, Error> {
        self.import_public(data, true)
    }

    fn import_public(&mut self, data: &[u8], anchor: bool) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        for cert in parse_certificates(data)? {
            let der = cert
                .to_der()
                .map_err(|_| Error::Import("certificate encoding".into()))?;
            let id = short_id(if anchor { "ca" } else { "cert" }, &der);
            if self.has_entry(&id) {
                // Re-importing the same certificate is harmless.
                ids.push(id);
                continue;
            }
            let created = now();
            let body = if anchor {
                Body::TrustAnchor {
                    id: id.clone(),
                    certificate: cert_to_b64(&cert)?,
                    created,
                }
            } else {
                Body::Certificate {
                    id: id.clone(),
                    certificate: cert_to_b64(&cert)?,
                    created,
                }
            };
            self.write_entry(&body, &[])?;
            let info = CertInfo {
                id: id.clone(),
                certificate: cert,
                created,
            };
            if anchor {
                self.anchors.push(info);
            } else {
                self.certs.push(info);
            }
            ids.push(id);
        }
        Ok(ids)
    }

    // ---- The OPES identity (helpers in identity.rs) ----

    /// Creates the gateway's OPES identity (X.509 and OpenPGP), replacing any existing one.
    pub fn create_identity(&mut self, name: &str) -> Result<(), Error> {
        let (pkcs8, cert) = new_x509(name)?;
        self.store_x509_identity(&pkcs8, cert, Vec::new())?;
        let pgp = new_pgp(name)?;
        let tsk = Zeroizing::new(pgp.as_tsk().to_vec().map_err(|_| gen_err("encode"))?);
        let public = pgp.clone().strip_secret_key_material();
        let armored = String::from_utf8(public.armored().to_vec().map_err(|_| gen_err("encode"))?)
            .map_err(|_| gen_err("encode"))?;
        let created = now();
        self.write_entry(
            &Body::IdentityPgp {
                id: PGP_ID.to_owned(),
                certificate: armored,
                created,
            },
            &tsk,
        )?;
        let info = OpenpgpKeyInfo {
            id: PGP_ID.to_owned(),
            cert: public,
            delegations: Vec::new(),
            uses: Uses {
                sign: true,
                decrypt: false,
            },
            created,
        };
        self.identity_pgp = Some(HeldPgpKey::from_tsk(info, &tsk)?);
        Ok(())
    }

    /// Replaces the X.509 identity with a key and certificate (and chain) issued by the
    /// organisation's CA.
    pub fn import_identity(
        &mut self,
        key_pem: &[u8],
        cert_pem: &[u8],
        chain_pem: Option<&[u8]>,
    ) -> Result<(), Error> {
        let pkey = PKey::private_key_from_pem(key_pem).map_err(|_| {
            Error::Import("the key file is not an unencrypted PEM private key".into())
        })?;
        let pkcs8 = Zeroizing::new(
            pkey.private_key_to_pkcs8()
                .map_err(|_| Error::Import("the private key cannot be re-encoded".into()))?,
        );
        let mut certs = parse_certificates(cert_pem)?;
        let cert = certs.remove(0);
        if let Some(c) = chain_pem {
            certs.extend(parse_certificates(c)?);
        }
        let key_spki = pkey
            .public_key_to_der()
            .map_err(|_| Error::Import("the public key cannot be encoded".into()))?;
        let cert_spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
            .map_err(|_| Error::Import("certificate public key".into()))?;
        if key_spki != cert_spki {
            return Err(Error::Import(
                "the private key does not match the certificate".into(),
            ));
        }
        self.store_x509_identity(&pkcs8, cert, certs)
    }

    fn store_x509_identity(
        &mut self,
        pkcs8: &[u8],
        cert: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<(), Error> {
        let algorithm = pkcs8_algorithm(pkcs8)?;
        if let KeyAlgorithm::Rsa { bits } = algorithm
            && bits < 2048
        {
            return Err(Error::Import(format!(
                "RSA-{bits} is below the 2048-bit floor"
            )));
        }
        let created = now();
        let body = Body::Identity {
            id: X509_ID.to_owned(),
            algorithm,
            certificate: cert_to_b64(&cert)?,
            chain: chain.iter().map(cert_to_b64).collect::<Result<_, _>>()?,
            created,
        };
        let info = KeyInfo {
            id: X509_ID.to_owned(),
            algorithm,
            certificate: cert,
            chain,
            delegations: Vec::new(),
            uses: Uses {
                sign: true,
                decrypt: false,
            },
            created,
        };
        let held = HeldKey::from_pkcs8(info, pkcs8)?;
        self.write_entry(&body, pkcs8)?;
        self.identity = Some(held);
        Ok(())
    }

    /// The X.509 identity certificate and its chain.
    pub fn identity(&self) -> Option<&KeyInfo> {
        self.identity.as_ref().map(|h| &h.info)
    }

    /// The OpenPGP identity certificate.
    pub fn identity_pgp(&self) -> Option<&Cert> {
        self.identity_pgp.as_ref().map(|h| &h.info.cert)
    }

    /// Signs a digest with the X.509 identity key (for a modification record).
    pub fn identity_sign_digest(
        &self,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<SignatureOutput, Error> {
        let id = self
            .identity
            .as_ref()
            .ok_or_else(|| Error::NoSuchEntry(X509_ID.to_owned()))?;
        self.key_log.record(X509_ID, "record-sign")?;
        id.sign_raw(hash, digest)
    }

    /// A signer for the OpenPGP identity key (for a modification record).
    pub fn identity_pgp_signer(&self) -> Result<PgpSigner, Error> {
        let id = self
            .identity_pgp
            .as_ref()
            .ok_or_else(|| Error::NoSuchEntry(PGP_ID.to_owned()))?;
        self.key_log.record(PGP_ID, "record-sign")?;
        id.signer()
    }

    // ---- OpenPGP keys and certificates (helpers in openpgp.rs) ----

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
            revoked: None,
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
        self.key_log.record(&id, "import")?;
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
        let usable = |k: &&HeldPgpKey| {
            k.info.uses.sign
                && k.tsk.with_policy(&p, None).is_ok_and(|vc| {
                    vc.keys()
                        .for_signing()
                        .alive()
                        .revoked(false)
                        .unencrypted_secret()
                        .next()
                        .is_some()
                })
        };
        best_delegated(
            sender,
            self.pgp_keys
                .iter()
                .filter(usable)
                .map(|k| (&k.info, k.info.delegations.as_slice())),
        )
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
        self.key_log.record(key_id, "sign")?;
        k.signer()
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
        self.key_log.record(key_id, "decrypt")?;
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
            let decrypted = match k.rsa(&ka.key().fingerprint()) {
                Some(rsa) => pkesk.decrypt(
                    &mut RsaDecryptor {
                        public: ka.key().parts_as_public().clone().role_into_unspecified(),
                        rsa,
                    },
                    sym_algo,
                ),
                None => {
                    let Ok(mut keypair) = ka.key().clone().into_keypair() else {
                        continue;
                    };
                    pkesk.decrypt(&mut keypair, sym_algo)
                }
            };
            if let Some(r) = decrypted {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

impl Keystore {
    // ---- DKIM domain keys (helpers in dkim.rs) ----

    /// Imports the DKIM key of `domain`, published under `selector`, from an unencrypted
    /// PEM private key (RSA-2048 to 4096, or Ed25519). A domain has one DKIM key: an
    /// earlier one for the same domain is replaced (publish the new record first).
    /// Returns the new entry's id.
    pub fn import_dkim(
        &mut self,
        domain: &str,
        selector: &str,
        key_pem: &[u8],
    ) -> Result<String, Error> {
        let (held, pkcs8) = dkim::read_key(domain, selector, key_pem)?;
        let id = held.info.id.clone();
        self.replace_dkim(held, &pkcs8)?;
        self.key_log.record(&id, "import-dkim")?;
        Ok(id)
    }

    /// Imports the DKIM key of `domain` (published under `selector`) that lives on a
    /// PKCS#11 token: RSA (2048 to 4096 bits) or Ed25519 (`CKK_EC_EDWARDS`). The public
    /// key is read from the token's public key object, and a test signature made on the
    /// token must verify with it before anything is stored. An earlier key for the
    /// domain is replaced, as with [`Keystore::import_dkim`].
    pub fn import_dkim_token(
        &mut self,
        domain: &str,
        selector: &str,
        uri: &Pkcs11Uri,
        module: &Path,
        pin: &SecretString,
    ) -> Result<String, Error> {
        use cryptoki::object::KeyType;
        let mut ir = Zeroizing::new([0u8; 32]);
        getrandom::fill(ir.as_mut_slice()).map_err(|_| Error::Random)?;
        // The kind first, from the token, then the key with its kind.
        let probe = self.token_key_of(module, uri, pin.clone(), pkcs11::KeyKind::Ecdsa, ir.clone());
        let kind = match probe.type_on_token()? {
            Some(t) if t == KeyType::EC_EDWARDS => pkcs11::KeyKind::Ed25519,
            Some(t) if t == KeyType::RSA => pkcs11::KeyKind::Rsa { k: 0 },
            _ => {
                return Err(Error::Import(
                    "a DKIM key on a token is RSA or Ed25519 (CKK_EC_EDWARDS)".into(),
                ));
            }
        };
        let key = self.token_key_of(module, uri, pin.clone(), kind, ir.clone());
        let public = key.public_key()?;
        let info = dkim::new_info(domain, selector, &public)?;
        let kind = dkim_token_kind(&info);
        let key = self.token_key_of(module, uri, pin.clone(), kind, ir.clone());
        let at = TokenRef {
            uri: uri.to_string(),
            module: module
                .to_str()
                .ok_or_else(|| Error::Import("the module path is not UTF-8".into()))?
                .to_owned(),
        };
        let held = dkim::HeldDkimKey::on_token(info, key, at);
        // The key must be on the token and be the one its public key object says.
        let digest: [u8; 32] =
            <sha2::Sha256 as sha2::Digest>::digest(b"reseal: does this DKIM key sign?").into();
        let sig = held.sign_sha256(&digest)?;
        let good = match held.info.algorithm {
            dkim::DkimAlgorithm::RsaSha256 => crate::import::verifies(&public, &digest, &sig),
            dkim::DkimAlgorithm::Ed25519Sha256 => {
                openssl::sign::Verifier::new_without_digest(&public)
                    .and_then(|mut v| v.verify_oneshot(&sig, &digest))
                    .unwrap_or(false)
            }
        };
        if !good {
            return Err(Error::Import(
                "the token's DKIM key does not match its public key".into(),
            ));
        }
        let id = held.info.id.clone();
        self.replace_dkim(held, &pkcs11::seal_secret(&ir, pin))?;
        self.key_log.record(&id, "import-dkim-token")?;
        Ok(id)
    }

    /// Stores `held` as its domain's one DKIM key, removing an earlier one.
    fn replace_dkim(&mut self, held: dkim::HeldDkimKey, secret: &[u8]) -> Result<(), Error> {
        let id = held.info.id.clone();
        let old: Vec<String> = self
            .dkim
            .iter()
            .filter(|k| k.info.domain == held.info.domain || k.info.id == id)
            .map(|k| k.info.id.clone())
            .collect();
        for o in old.iter().filter(|o| **o != id) {
            self.remove(o)?;
        }
        self.write_entry(&held.body(), secret)?;
        self.dkim.retain(|k| k.info.id != id);
        self.dkim.push(held);
        Ok(())
    }

    /// The DKIM keys (public facts).
    pub fn dkim_keys(&self) -> impl Iterator<Item = &DkimKeyInfo> {
        self.dkim.iter().map(|k| &k.info)
    }

    /// The DKIM key for signing domain `domain` (compared case-insensitively), if any.
    pub fn dkim_key_for(&self, domain: &str) -> Option<&DkimKeyInfo> {
        self.dkim
            .iter()
            .find(|k| k.info.domain.eq_ignore_ascii_case(domain))
            .map(|k| &k.info)
    }

    /// Signs, with the DKIM key of `domain`, the SHA-256 `digest` of the data a DKIM
    /// signature covers (RFC 6376 §3.7): the octets of its `b=` tag. A domain with no
    /// key is an error; the keystore signs only for the domain the key was imported for.
    pub fn dkim_sign(&self, domain: &str, digest: &[u8]) -> Result<Vec<u8>, Error> {
        let key = self
            .dkim
            .iter()
            .find(|k| k.info.domain.eq_ignore_ascii_case(domain))
            .ok_or_else(|| Error::NoSuchEntry(format!("DKIM key for {domain}")))?;
        self.key_log.record(&key.info.id, "dkim-sign")?;
        key.sign_sha256(digest)
    }
}

/// The token key kind of a DKIM key (its RSA modulus length from its public key).
fn dkim_token_kind(info: &DkimKeyInfo) -> pkcs11::KeyKind {
    match info.algorithm {
        dkim::DkimAlgorithm::Ed25519Sha256 => pkcs11::KeyKind::Ed25519,
        dkim::DkimAlgorithm::RsaSha256 => pkcs11::KeyKind::Rsa {
            k: PKey::public_key_from_der(&info.public_key)
                .map(|p| p.size())
                .unwrap_or(0),
        },
    }
}

/// Seals `body` and `secret` under `master` into the entries folder `entries`.
fn write_sealed(
    master: &seal::MasterKey,
    entries: &Path,
    body: &Body,
    secret: &[u8],
) -> Result<(), Error> {
    let id = body.id();
    let body_json = serde_json::to_string(body).map_err(|_| Error::Operation)?;
    let sealed = master.seal(&entry_aad(id, body_json.as_bytes()), secret)?;
    let raw = RawValue::from_string(body_json).map_err(|_| Error::Operation)?;
    let file = EntryFile {
        body: &raw,
        seal: B64.encode(sealed),
    };
    let json = serde_json::to_vec(&file).map_err(|_| Error::Operation)?;
    write_atomic(&entries.join(format!("{id}.json")), &json)
}

/// An entry id: letters, digits, '-' and '_' (never a path).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The public facts of a delegated key entry.
fn key_info(
    id: String,
    algorithm: KeyAlgorithm,
    certificate: &str,
    chain: &[String],
    delegations: Vec<Delegation>,
    uses: Uses,
    created: u64,
) -> Result<KeyInfo, Error> {
    Ok(KeyInfo {
        certificate: cert_from_b64(certificate, &id)?,
        chain: chain
            .iter()
            .map(|c| cert_from_b64(c, &id))
            .collect::<Result<_, _>>()?,
        id,
        algorithm,
        delegations,
        uses,
        created,
    })
}

/// The candidate whose delegation fits `sender` best: an exact address beats a domain;
/// on a tie the first one wins.
fn best_delegated<'a, T>(
    sender: &str,
    candidates: impl Iterator<Item = (&'a T, &'a [Delegation])>,
) -> Option<&'a T> {
    let mut best: Option<(&T, u8)> = None;
    for (k, delegations) in candidates {
        let rank = delegations.iter().filter_map(|d| d.rank(sender)).max();
        if let Some(rank) = rank
            && best.is_none_or(|(_, r)| rank > r)
        {
            best = Some((k, rank));
        }
    }
    best.map(|(k, _)| k)
}
