//! Recipient key discovery (issue 16): the sources named in `[discovery] order` (the
//! directory, LDAP in `ldap`, the Web Key Directory in `wkd`) are asked in turn for a
//! recipient's S/MIME certificate and OpenPGP certificate, and the first source that
//! supplies a usable key wins (docs/discovery.md).
//!
//! A discovered key is checked before use exactly as an imported one is when it is
//! chosen (`policy::recipient_cert`, `policy::recipient_pgp_cert`): the address, the
//! validity now, the key usage, the algorithm floor; and because nobody curated it, an
//! X.509 certificate must also chain to one of the keystore's trust anchors
//! (`pki::validate`, RFC 5280 §6). Lookups are cached per process with a TTL for answers
//! and a shorter one for "nothing found"; a lookup that fails (timeout, server down) is
//! not cached and is reported, so that a recipient for whom encryption is required gets
//! a temporary failure rather than plaintext.

pub mod ldap;
pub mod wkd;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reseal_keystore::Keystore;
use sequoia_openpgp::Cert;
use sequoia_openpgp::parse::Parse as _;
use sequoia_openpgp::policy::StandardPolicy;
use x509_cert::Certificate;

pub use crate::config::{DiscoveryConfig, Source};

use crate::error::Failure;
use crate::pki;
use crate::sanitize::log_text;

/// The most OpenPGP certificates taken from one answer.
const MAX_OPENPGP: usize = 8;
/// The largest OpenPGP answer parsed.
const MAX_OPENPGP_BYTES: usize = 1 << 20;

/// After a failed lookup, that server is not asked again for this long: each lookup in
/// that time fails at once, the same way (closed), so that a message with many
/// recipients, or a busy `serve`, does not wait out the timeout once per recipient.
const HOLD_AFTER_FAILURE: std::time::Duration = std::time::Duration::from_secs(30);

/// What one lookup returned, not yet validated.
#[derive(Debug, Default)]
pub struct Candidates {
    pub x509: Vec<Certificate>,
    pub openpgp: Vec<Cert>,
    /// Entries (LDAP) the answer held.
    pub entries: usize,
    /// Values that were too large or could not be read.
    pub skipped: usize,
}

impl Candidates {
    fn is_empty(&self) -> bool {
        self.x509.is_empty() && self.openpgp.is_empty()
    }
}

/// Why a lookup gave no answer (as opposed to answering "nothing").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

/// OpenPGP certificates in `data` (armored or binary), bounded; `None` if unreadable.
pub(crate) fn parse_openpgp(data: &[u8]) -> Option<Vec<Cert>> {
    if data.len() > MAX_OPENPGP_BYTES {
        return None;
    }
    let parser = sequoia_openpgp::cert::CertParser::from_bytes(data).ok()?;
    let certs: Vec<Cert> = parser
        .take(MAX_OPENPGP)
        .filter_map(Result::ok)
        .map(Cert::strip_secret_key_material)
        .collect();
    (!certs.is_empty()).then_some(certs)
}

struct Cached {
    stored: Instant,
    expires: Instant,
    value: Arc<Candidates>,
}

/// Answers per (source, address), each until its TTL runs out; at most `max` of them,
/// the oldest going first.
struct Cache {
    map: HashMap<(Source, String), Cached>,
    max: usize,
}

impl Cache {
    fn get(&mut self, key: &(Source, String), now: Instant) -> Option<Arc<Candidates>> {
        match self.map.get(key) {
            Some(c) if now < c.expires => Some(Arc::clone(&c.value)),
            Some(_) => {
                self.map.remove(key);
                None
            }
            None => None,
        }
    }

    fn put(&mut self, key: (Source, String), value: Arc<Candidates>, ttl: std::time::Duration) {
        if self.max == 0 || ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        self.map.retain(|_, c| c.expires > now);
        while self.map.len() >= self.max {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, c)| c.stored)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
        self.map.insert(
            key,
            Cached {
                stored: now,
                expires,
                value,
            },
        );
    }
}

/// The keys found for one recipient, and where.
#[derive(Default)]
pub struct RecipientKeys {
    pub smime: Option<Certificate>,
    pub pgp: Option<Cert>,
    /// The source that supplied them.
    pub source: Option<Source>,
    /// A source that could not be asked (its name and why), when no key was found.
    pub failed: Option<(Source, LookupError)>,
}

/// The discovery sources with their cache: one per gateway, shared by its threads.
pub struct Discovery {
    config: DiscoveryConfig,
    ldap_password: Option<zeroize::Zeroizing<String>>,
    /// Servers that failed recently, (source, domain for WKD), until when, and why.
    held: Mutex<HashMap<(Source, String), (Instant, LookupError)>>,
    /// HTTPS for WKD, when `order` names it.
    wkd_tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("order", &self.config.order)
            .finish_non_exhaustive()
    }
}

impl Discovery {
    /// Builds the sources; reads the LDAP bind password if one is configured.
    pub fn new(config: &DiscoveryConfig) -> Result<Discovery, Failure> {
        let ldap_password = match config.ldap.as_ref().and_then(|l| l.password_file.as_ref()) {
            Some(p) => Some(crate::config::read_secret_file(p)?),
            None => None,
        };
        let wkd_tls = config.wkd.as_ref().map(wkd::tls_config).transpose()?;
        Ok(Discovery {
            config: config.clone(),
            ldap_password,
            wkd_tls,
            held: Mutex::new(HashMap::new()),
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                max: config.cache_entries,
            }),
        })
    }

    /// Asks the network source `source` about `addr`, through the cache.
    fn lookup(&self, source: Source, addr: &str) -> Result<Arc<Candidates>, LookupError> {
        let key = (source, addr.to_owned());
        if let Ok(mut c) = self.cache.lock()
            && let Some(hit) = c.get(&key, Instant::now())
        {
            tracing::debug!(source = source.as_str(), "key discovery: cached answer");
            return Ok(hit);
        }
        // The server a lookup goes to: LDAP's one, or the recipient's domain for WKD.
        let server = match source {
            Source::Wkd => crate::mime::address::domain(addr).to_owned(),
            _ => String::new(),
        };
        let server = (source, server);
        if let Ok(h) = self.held.lock()
            && let Some((until, e)) = h.get(&server)
            && Instant::now() < *until
        {
            tracing::debug!(
                source = source.as_str(),
                "key discovery: not asked, held after a recent failure"
            );
            return Err(e.clone());
        }
        let found = self.ask(source, addr).inspect_err(|e| {
            if let (Ok(mut h), Some(until)) = (
                self.held.lock(),
                Instant::now().checked_add(HOLD_AFTER_FAILURE),
            ) {
                h.retain(|_, (u, _)| *u > Instant::now());
                h.insert(server, (until, e.clone()));
            }
        })?;
        tracing::debug!(
            source = source.as_str(),
            entries = found.entries,
            certificates = found.x509.len(),
            openpgp = found.openpgp.len(),
            skipped = found.skipped,
            "key discovery: answer"
        );
        let ttl = if found.is_empty() {
            self.config.negative_ttl
        } else {
            self.config.cache_ttl
        };
        let found = Arc::new(found);
        if let Ok(mut c) = self.cache.lock() {
            c.put(key, Arc::clone(&found), ttl);
        }
        Ok(found)
    }

    /// Asks the network source `source` about `addr`.
    fn ask(&self, source: Source, addr: &str) -> Result<Candidates, LookupError> {
        Ok(match source {
            Source::Directory => Candidates::default(),
            Source::Ldap => {
                let cfg = self
                    .config
                    .ldap
                    .as_ref()
                    .ok_or_else(|| LookupError::Failed("not configured".into()))?;
                let password = self.ldap_password.as_ref().map(|p| p.as_str());
                // ldap3 runs on its own runtime; should it panic on what a server sent,
                // that is a failed lookup, not a dead gateway thread.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    ldap::lookup(cfg, password, addr)
                }))
                .unwrap_or_else(|_| Err(LookupError::Failed("the LDAP client failed".into())))?
            }
            Source::Wkd => match (&self.config.wkd, &self.wkd_tls) {
                (Some(cfg), Some(tls)) => wkd::lookup(cfg, tls, addr)?,
                _ => return Err(LookupError::Failed("not configured".into())),
            },
        })
    }

    /// The recipient's keys from the first source, in the configured order, that has a
    /// usable one. `smime` and `pgp` say which technologies the recipient's policy allows.
    pub fn find(
        &self,
        ks: Option<&Keystore>,
        addr: &str,
        smime: bool,
        pgp: bool,
        now: u64,
    ) -> RecipientKeys {
        let mut failed = None;
        for &source in &self.config.order {
            if source == Source::Wkd && !pgp {
                continue; // WKD holds OpenPGP certificates only
            }
            let (s, p) = match source {
                Source::Directory => (
                    ks.filter(|_| smime)
                        .and_then(|k| recipient_cert(k, addr, now)),
                    ks.filter(|_| pgp).and_then(|k| recipient_pgp_cert(k, addr)),
                ),
                _ => match self.lookup(source, addr) {
                    Ok(c) => (
                        smime.then(|| discovered_cert(ks, &c, addr, now)).flatten(),
                        pgp.then(|| discovered_pgp(&c, addr)).flatten(),
                    ),
                    Err(e) => {
                        tracing::warn!(
                            source = source.as_str(),
                            recipient = %log_text(addr),
                            error = %log_text(&e.to_string()),
                            "key discovery: lookup failed"
                        );
                        failed.get_or_insert((source, e));
                        continue;
                    }
                },
            };
            if s.is_some() || p.is_some() {
                tracing::info!(
                    source = source.as_str(),
                    recipient = %log_text(addr),
                    smime = s.is_some(),
                    openpgp = p.is_some(),
                    "recipient key chosen"
                );
                return RecipientKeys {
                    smime: s,
                    pgp: p,
                    source: Some(source),
                    failed: None,
                };
            }
        }
        RecipientKeys {
            failed,
            ..RecipientKeys::default()
        }
    }
}

/// Whether an OpenPGP certificate has a usable encryption subkey, now.
pub fn has_encryption_key(cert: &Cert) -> bool {
    let p = StandardPolicy::new();
    cert.with_policy(&p, None).is_ok_and(|vc| {
        vc.alive().is_ok()
            && vc
                .keys()
                .for_transport_encryption()
                .alive()
                .revoked(false)
                .next()
                .is_some()
    })
}

/// The directory source. The S/MIME certificate from the directory for `addr`: one that names the address, is
/// valid now, and allows key encipherment. The one that expires last wins.
pub fn recipient_cert(ks: &Keystore, addr: &str, now: u64) -> Option<Certificate> {
    ks.certificates()
        .iter()
        .map(|c| &c.certificate)
        .chain(ks.keys().map(|k| &k.certificate))
        .filter(|c| pki::cert_emails(c).iter().any(|e| e == addr))
        .filter(|c| pki::check_recipient(c, now).is_ok())
        .max_by_key(|c| c.tbs_certificate().validity().not_after.to_unix_duration())
        .cloned()
}

/// The OpenPGP certificate from the directory for `addr`: a valid user ID with that
/// address and a usable encryption subkey. The most recently created key wins.
pub fn recipient_pgp_cert(ks: &Keystore, addr: &str) -> Option<Cert> {
    best_pgp(
        ks.openpgp_certificates()
            .iter()
            .map(|c| &c.cert)
            .chain(ks.openpgp_keys().map(|k| &k.cert)),
        addr,
    )
}

/// Of `certs`, those with a valid user ID for `addr` and a usable encryption subkey;
/// the most recently created one wins.
fn best_pgp<'c>(certs: impl Iterator<Item = &'c Cert>, addr: &str) -> Option<Cert> {
    certs
        .filter(|c| {
            crate::unwrap::openpgp::cert_addresses(c)
                .iter()
                .any(|e| e == addr)
        })
        .filter(|c| has_encryption_key(c))
        .max_by_key(|c| c.primary_key().key().creation_time())
        .cloned()
}

/// A discovered X.509 certificate for `addr`: it names the address, and validates for
/// e-mail encryption now on a path to one of the keystore's trust anchors, through the
/// other certificates of the answer or those the keystore knows. The one that expires
/// last wins.
fn discovered_cert(
    ks: Option<&Keystore>,
    found: &Candidates,
    addr: &str,
    now: u64,
) -> Option<Certificate> {
    let ks = ks?;
    let anchors = pki::anchors(ks);
    let mut intermediates = found.x509.clone();
    intermediates.extend(pki::known_certs(ks));
    found
        .x509
        .iter()
        .filter(|c| pki::cert_emails(c).iter().any(|e| e == addr))
        .filter(
            |c| match pki::validate(c, &intermediates, &anchors, now, pki::Purpose::Encrypt) {
                Ok(_) => true,
                Err(e) => {
                    tracing::info!(
                        recipient = %log_text(addr),
                        reason = %log_text(&e.to_string()),
                        "key discovery: certificate not accepted"
                    );
                    false
                }
            },
        )
        .max_by_key(|c| c.tbs_certificate().validity().not_after.to_unix_duration())
        .cloned()
}

/// A discovered OpenPGP certificate for `addr`: the checks of an imported one (the
/// algorithm floor) and of choosing one (a valid user ID with the address, a usable
/// encryption subkey). The most recently created key wins.
fn discovered_pgp(found: &Candidates, addr: &str) -> Option<Cert> {
    best_pgp(
        found
            .openpgp
            .iter()
            .filter(|c| reseal_keystore::check_openpgp_algorithms(c).is_ok()),
        addr,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::time::Duration;

    fn some() -> Arc<Candidates> {
        Arc::new(Candidates {
            entries: 1,
            ..Candidates::default()
        })
    }

    #[test]
    fn cache_expires_and_evicts_the_oldest() {
        let mut c = Cache {
            map: HashMap::new(),
            max: 2,
        };
        let k = |a: &str| (Source::Ldap, a.to_owned());
        c.put(k("a"), some(), Duration::from_secs(60));
        c.put(k("b"), some(), Duration::from_secs(60));
        c.put(k("c"), some(), Duration::from_secs(60));
        assert!(c.get(&k("a"), Instant::now()).is_none());
        assert!(c.get(&k("b"), Instant::now()).is_some());
        assert!(c.get(&k("c"), Instant::now()).is_some());
        let later = Instant::now() + Duration::from_secs(61);
        assert!(c.get(&k("b"), later).is_none());
        // A zero TTL keeps nothing.
        c.put(k("d"), some(), Duration::ZERO);
        assert!(c.get(&k("d"), Instant::now()).is_none());
    }
}
