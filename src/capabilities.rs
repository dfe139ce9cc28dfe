//! What S/MIME recipients announced they can decrypt (RFC 8551 §2.5.2, §2.7.1).
//!
//! A signed S/MIME message may carry the signer's SMIMECapabilities: the content
//! encryption algorithms (and key transports, such as RSAES-OAEP) its client reads, most
//! preferred first. The gateway learns them from every verified signed message it sees
//! and from `reseal keys import-cert` of a signed message, and keeps them per
//! certificate with the signing time of the message that announced them, as §2.7.1
//! prescribes: a list is replaced only by one from a newer signing time; a signing time
//! far in the future, or an unverified signature, is never accepted.
//!
//! Choosing for a recipient (docs/architecture.md, "Choosing S/MIME algorithms"):
//! 1. what the recipient announced (§2.7.1.1, Rule 1): the first capability in its list
//!    that the gateway can produce (AES-256-GCM or AES-256-CBC); RSAES-OAEP when announced;
//! 2. else the operator's `[policy]` `cipher` / `key_transport` (for all recipients or a
//!    domain);
//! 3. else AES-256-CBC EnvelopedData with RSAES-PKCS1-v1_5: the one form every S/MIME
//!    client opens, gpgsm 2.2 (and with it KMail, Mutt/NeoMutt with gpgme, notmuch,
//!    Claws) included. RFC 8551 §2.7.1.2 (Rule 2) would take AES-256-GCM, which gpgsm 2.2
//!    cannot read; the output is always signed inside, which is what protects its
//!    integrity (SECURITY.md, "Default S/MIME encryption").
//!
//! The cache is a JSON file beside the keystore (`capabilities.json`); it holds only
//! public facts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use der::Encode as _;
use der::asn1::ObjectIdentifier;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::crypto::alg::{Cipher, KeyTransportChoice};
use crate::crypto::oid;

/// The cache of a keystore folder, read from disk the first time it is needed.
pub struct Lazy {
    dir: PathBuf,
    cell: std::cell::OnceCell<Cache>,
}

impl Lazy {
    pub fn new(keystore: &Path) -> Lazy {
        Lazy {
            dir: keystore.to_path_buf(),
            cell: std::cell::OnceCell::new(),
        }
    }

    pub fn get(&self) -> &Cache {
        self.cell.get_or_init(|| Cache::load(&self.dir))
    }

    /// [`Cache::learn_from_signed_entity`], saving the cache when it changed.
    pub fn learn_from_signed_entity(&mut self, entity: &[u8], now: OffsetDateTime) {
        let mut cache = self.cell.take().unwrap_or_else(|| Cache::load(&self.dir));
        if cache.learn_from_signed_entity(entity, now)
            && let Err(e) = cache.save(&self.dir)
        {
            tracing::warn!("cannot save what the signer announced: {e}");
        }
        self.cell = std::cell::OnceCell::from(cache);
    }
}

/// The file in the keystore folder.
pub const FILE: &str = "capabilities.json";
/// Most capabilities kept per certificate.
const MAX_CAPABILITIES: usize = 64;
/// Most certificates in the cache.
const MAX_ENTRIES: usize = 100_000;
/// How far a signing time may lie in the future (clock skew) and still be accepted.
const MAX_SKEW_SECS: i64 = 24 * 3600;

/// What one certificate's holder announced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The certificate's addresses, for `reseal keys list`.
    pub addresses: Vec<String>,
    /// The signing time of the message that announced them (Unix seconds).
    pub signing_time: i64,
    /// The announced capability OIDs, most preferred first, dotted.
    pub capabilities: Vec<String>,
}

impl Entry {
    /// The choice Rule 1 makes from this list, if the gateway can produce one of its
    /// ciphers.
    pub fn choice(&self) -> Option<(Cipher, KeyTransportChoice)> {
        let cipher = self.capabilities.iter().find_map(|c| {
            if *c == oid::AES256_GCM.to_string() {
                Some(Cipher::Aes256Gcm)
            } else if *c == oid::AES256_CBC.to_string() {
                Some(Cipher::Aes256Cbc)
            } else {
                None
            }
        })?;
        let kt = if self
            .capabilities
            .iter()
            .any(|c| *c == oid::RSAES_OAEP.to_string())
        {
            KeyTransportChoice::RsaOaep
        } else {
            KeyTransportChoice::RsaPkcs1v15
        };
        Some((cipher, kt))
    }

    /// The announced algorithms by name, for `keys list`.
    pub fn names(&self) -> Vec<String> {
        self.capabilities
            .iter()
            .map(|c| {
                c.parse::<ObjectIdentifier>()
                    .map_or_else(|_| c.clone(), |o| oid::name(&o))
            })
            .collect()
    }
}

/// The cache: certificate fingerprint (SHA-256 of its DER, hex) to what was announced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Cache {
    #[serde(default)]
    pub entries: BTreeMap<String, Entry>,
}

/// The cache file for the keystore folder `keystore`.
pub fn path(keystore: &Path) -> PathBuf {
    keystore.join(FILE)
}

/// SHA-256 fingerprint of a certificate, hex.
pub fn fingerprint(cert: &Certificate) -> Option<String> {
    let der = cert.to_der().ok()?;
    Some(
        crate::crypto::hash(crate::crypto::HashAlg::Sha256, &der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

impl Cache {
    /// Reads the cache of the keystore folder. A missing file is an empty cache; an
    /// unreadable one too, with a warning (it holds nothing that cannot be learned
    /// again, and the choice then falls back to policy and the default).
    pub fn load(keystore: &Path) -> Cache {
        let p = path(keystore);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!("{}: ignored: {e}", p.display());
                Cache::default()
            }),
            Err(_) => Cache::default(),
        }
    }

    /// Writes the cache atomically (a temporary file renamed over the old one).
    pub fn save(&self, keystore: &Path) -> std::io::Result<()> {
        let p = path(keystore);
        let tmp = keystore.join(format!(".{FILE}.{}.tmp", std::process::id()));
        let data = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, &p)
    }

    /// What the holder of `cert` announced, if known.
    pub fn get(&self, cert: &Certificate) -> Option<&Entry> {
        self.entries.get(&fingerprint(cert)?)
    }

    /// RFC 8551 §2.7.1: records `capabilities`, announced by the holder of `cert` in a
    /// message signed at `signing_time` whose signature the caller verified, unless the
    /// cache already holds a list from a signing time at least as new, or the time lies
    /// far in the future. Returns whether the cache changed.
    pub fn learn(
        &mut self,
        cert: &Certificate,
        capabilities: &[ObjectIdentifier],
        signing_time: OffsetDateTime,
        now: OffsetDateTime,
    ) -> bool {
        let t = signing_time.unix_timestamp();
        if t > now.unix_timestamp().saturating_add(MAX_SKEW_SECS) || capabilities.is_empty() {
            return false;
        }
        let Some(fp) = fingerprint(cert) else {
            return false;
        };
        if self.entries.get(&fp).is_some_and(|e| e.signing_time >= t) {
            return false;
        }
        if !self.entries.contains_key(&fp) && self.entries.len() >= MAX_ENTRIES {
            return false;
        }
        self.entries.insert(
            fp,
            Entry {
                addresses: crate::pki::cert_emails(cert),
                signing_time: t,
                capabilities: capabilities
                    .iter()
                    .take(MAX_CAPABILITIES)
                    .map(ToString::to_string)
                    .collect(),
            },
        );
        true
    }

    /// Learns from every SignerInfo of the S/MIME signed entity `entity` (a
    /// multipart/signed or an application/pkcs7-mime signed-data entity) whose
    /// signature the caller verified. Returns whether the cache changed.
    pub fn learn_from_signed_entity(&mut self, entity: &[u8], now: OffsetDateTime) -> bool {
        let Some(der) = signature_der(entity) else {
            return false;
        };
        let Ok(crate::unwrap::smime::CmsObject::Signed(sd)) = crate::unwrap::smime::parse(&der)
        else {
            return false;
        };
        let certs = crate::unwrap::smime::certificates(&sd);
        let mut changed = false;
        for si in sd.signer_infos.0.iter().take(16) {
            let Some((caps, time)) = announced(si) else {
                continue;
            };
            let Some(cert) = crate::unwrap::smime::find_signer_cert(si, &certs) else {
                continue;
            };
            changed |= self.learn(cert, &caps, time, now);
        }
        changed
    }
}

/// Whether `data` looks like a mail message (header fields first) rather than a
/// certificate file (PEM or DER).
pub fn looks_like_message(data: &[u8]) -> bool {
    let head = data.get(..data.len().min(4096)).unwrap_or_default();
    !reseal_keystore::pem::is_pem(data)
        && head.first().is_some_and(u8::is_ascii_alphabetic)
        && head.iter().position(|&b| b == b':').is_some_and(|i| {
            head.get(..i)
                .is_some_and(|n| n.iter().all(|&b| b.is_ascii_graphic()))
        })
}

/// `reseal keys import-cert` of a signed S/MIME message: verifies it as the gateway
/// verifies incoming mail (the signer's chain to a trust anchor of `store`, the signer
/// speaking for the single From address), and returns the signer certificates and what
/// they announced, learned into `cache`. A message whose signature does not verify
/// teaches nothing (RFC 8551 §2.7.1) and is an error.
pub fn from_signed_message(
    store: &reseal_keystore::Keystore,
    cache: &mut Cache,
    message: &[u8],
    max_bytes: usize,
) -> Result<Vec<Certificate>, crate::Failure> {
    let message = crate::mime::to_crlf(message);
    let top = crate::mime::Entity::parse(&message)?;
    let now_dt = OffsetDateTime::now_utc();
    let ctx = crate::unwrap::UnwrapContext {
        keystore: None,
        parties: Vec::new(),
        from: crate::mime::address::single_from(&top),
        now: u64::try_from(now_dt.unix_timestamp()).unwrap_or(0),
        anchors: crate::pki::anchors(store),
        known_certs: crate::pki::known_certs(store),
        allow_cbc: false,
        pgp_certs: Vec::new(),
        max_plaintext: max_bytes,
        trial_decryption: false,
    };
    let unwrapped = crate::unwrap::unwrap(&message, &ctx)?;
    let mut smime = unwrapped
        .signatures()
        .filter(|v| v.technology == crate::unwrap::Technology::Smime)
        .peekable();
    if smime.peek().is_none() {
        return Err(crate::Failure::malformed(
            "The message carries no S/MIME signature",
        ));
    }
    if let Some(reason) = smime.find_map(|v| v.reason()) {
        return Err(crate::Failure::policy(format!(
            "The message's signature does not verify: {reason}"
        )));
    }
    let entity = unwrapped
        .signed_entity
        .as_deref()
        .ok_or_else(|| crate::Failure::malformed("The signed entity holds more than cleartext"))?;
    let der = signature_der(entity)
        .ok_or_else(|| crate::Failure::malformed("The signature part cannot be read"))?;
    let crate::unwrap::smime::CmsObject::Signed(sd) = crate::unwrap::smime::parse(&der)? else {
        return Err(crate::Failure::malformed(
            "The signature is not signed-data",
        ));
    };
    let certs = crate::unwrap::smime::certificates(&sd);
    let mut signers = Vec::new();
    for si in sd.signer_infos.0.iter().take(16) {
        if let Some(c) = crate::unwrap::smime::find_signer_cert(si, &certs) {
            if let Some((caps, time)) = announced(si) {
                cache.learn(c, &caps, time, now_dt);
            }
            signers.push(c.clone());
        }
    }
    Ok(signers)
}

/// `reseal keys import-cert signature.p7s`: a detached S/MIME signature (DER, or PEM
/// `PKCS7`/`CMS`) without its content. Each signer's signature over its signed
/// attributes is verified and its certificate validated to a trust anchor of `store`;
/// then what it announced is learned into `cache`. Returns `Ok(None)` when `data` is
/// not a signed-data with signers (a certificate or a `.p7b` bundle: imported as such).
pub fn from_signature_file(
    store: &reseal_keystore::Keystore,
    cache: &mut Cache,
    data: &[u8],
) -> Result<Option<Vec<Certificate>>, crate::Failure> {
    let der = if reseal_keystore::pem::is_pem(data) {
        match reseal_keystore::pem::blocks(data).ok().and_then(|b| {
            b.into_iter()
                .find(|b| b.label == "PKCS7" || b.label == "CMS")
        }) {
            Some(b) => b.der,
            None => return Ok(None),
        }
    } else {
        data.to_vec()
    };
    let Ok(crate::unwrap::smime::CmsObject::Signed(sd)) = crate::unwrap::smime::parse(&der) else {
        return Ok(None);
    };
    if sd.signer_infos.0.is_empty() {
        return Ok(None);
    }
    let now_dt = OffsetDateTime::now_utc();
    let now = u64::try_from(now_dt.unix_timestamp()).unwrap_or(0);
    let anchors = crate::pki::anchors(store);
    let mut certs = crate::unwrap::smime::certificates(&sd);
    certs.extend(crate::pki::known_certs(store));
    let mut signers = Vec::new();
    for si in sd.signer_infos.0.iter().take(16) {
        let cert = crate::unwrap::smime::find_signer_cert(si, &certs)
            .ok_or_else(|| crate::Failure::policy("The signer's certificate is not in the file"))?;
        crate::unwrap::smime::verify_signed_attributes(si, cert)
            .map_err(|r| crate::Failure::policy(format!("The signature does not verify: {r}")))?;
        crate::pki::validate(cert, &certs, &anchors, now, crate::pki::Purpose::Sign)
            .map_err(|e| crate::Failure::policy(format!("The signer is not trusted: {e}")))?;
        if let Some((caps, time)) = announced(si) {
            cache.learn(cert, &caps, time, now_dt);
        }
        signers.push(cert.clone());
    }
    Ok(Some(signers))
}

/// The CMS signature of a signed entity, DER or BER as received.
fn signature_der(entity: &[u8]) -> Option<Vec<u8>> {
    let e = crate::mime::Entity::parse(entity).ok()?;
    let ct = e.content_type().ok()?;
    if ct.is("multipart/signed") {
        let mp = e.multipart().ok()?;
        let r = mp.parts.get(1)?;
        let part = crate::mime::Entity::parse(entity.get(r.clone())?).ok()?;
        return part.decoded_body().ok().map(|b| b.into_owned());
    }
    e.decoded_body().ok().map(|b| b.into_owned())
}

/// The capabilities and signing time a SignerInfo announces in its signed attributes
/// (RFC 8551 §2.5.2: SMIMECapabilities ::= SEQUENCE OF SMIMECapability, each an OID
/// with optional parameters; RFC 5652 §11.3 signing-time).
pub fn announced(
    si: &cms::signed_data::SignerInfo,
) -> Option<(Vec<ObjectIdentifier>, OffsetDateTime)> {
    let attrs = si.signed_attrs.as_ref()?;
    let one = |id: ObjectIdentifier| {
        let mut it = attrs.iter().filter(|a| a.oid == id);
        let a = it.next()?;
        (it.next().is_none() && a.values.len() == 1)
            .then(|| a.values.iter().next())
            .flatten()
    };
    let caps: Vec<spki::AlgorithmIdentifierOwned> =
        one(oid::ATTR_SMIME_CAPABILITIES)?.decode_as().ok()?;
    let time: x509_cert::time::Time = one(oid::ATTR_SIGNING_TIME)?.decode_as().ok()?;
    let secs = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    let time = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some((
        caps.into_iter()
            .take(MAX_CAPABILITIES)
            .map(|c| c.oid)
            .collect(),
        time,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(caps: &[ObjectIdentifier]) -> Entry {
        Entry {
            addresses: Vec::new(),
            signing_time: 0,
            capabilities: caps.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn rule_1_takes_the_first_cipher_the_gateway_can_produce() {
        let e = entry(&[oid::AES128_GCM, oid::AES256_CBC, oid::AES256_GCM]);
        assert_eq!(
            e.choice(),
            Some((Cipher::Aes256Cbc, KeyTransportChoice::RsaPkcs1v15))
        );
        let e = entry(&[oid::AES256_GCM, oid::RSAES_OAEP]);
        assert_eq!(
            e.choice(),
            Some((Cipher::Aes256Gcm, KeyTransportChoice::RsaOaep))
        );
        assert_eq!(entry(&[oid::AES128_CBC, oid::DES_EDE3_CBC]).choice(), None);
    }
}
