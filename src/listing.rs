//! `reseal keys list`: what the keystore holds, as public facts only.

use serde::Serialize;

use reseal_keystore::Keystore;

use crate::pki;

#[derive(Debug, Serialize)]
pub struct CertListing {
    pub id: String,
    pub subject: String,
    pub addresses: Vec<String>,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub expired: bool,
    /// What the holder announced it can decrypt (RFC 8551 §2.5.2), and the S/MIME
    /// encryption the gateway therefore chooses for it (crate::capabilities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announced: Option<Announced>,
}

#[derive(Debug, Serialize)]
pub struct Announced {
    pub capabilities: Vec<String>,
    pub signing_time: String,
    /// `aes-256-gcm` / `aes-256-cbc` and `rsa-oaep` / `rsa-pkcs1v15`; absent when none
    /// of the announced ciphers is one the gateway produces.
    pub cipher: Option<&'static str>,
    pub key_transport: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct KeyListing {
    pub id: String,
    pub kind: &'static str,
    pub algorithm: String,
    pub delegations: Vec<String>,
    pub uses: Vec<&'static str>,
    pub certificate: CertListing,
    pub chain: Vec<String>,
    /// The PKCS#11 URI of a key that lives on a token (absent: in the keystore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<reseal_keystore::Revocation>,
}

#[derive(Debug, Serialize)]
pub struct SubkeyListing {
    pub fingerprint: String,
    pub algorithm: String,
    pub flags: Vec<&'static str>,
    pub created: String,
    pub expires: Option<String>,
    pub revoked: bool,
}

#[derive(Debug, Serialize)]
pub struct PgpCertListing {
    pub id: String,
    pub fingerprint: String,
    pub version: u8,
    pub userids: Vec<String>,
    pub created: String,
    pub expires: Option<String>,
    pub expired: bool,
    pub revoked: bool,
    pub subkeys: Vec<SubkeyListing>,
}

#[derive(Debug, Serialize)]
pub struct PgpKeyListing {
    pub id: String,
    pub kind: &'static str,
    pub delegations: Vec<String>,
    pub uses: Vec<&'static str>,
    pub certificate: PgpCertListing,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<reseal_keystore::Revocation>,
}

#[derive(Debug, Serialize)]
pub struct Listing {
    pub keys: Vec<KeyListing>,
    pub certificates: Vec<CertListing>,
    pub trust_anchors: Vec<CertListing>,
    pub openpgp_keys: Vec<PgpKeyListing>,
    pub openpgp_certificates: Vec<PgpCertListing>,
    pub dkim_keys: Vec<DkimListing>,
}

/// A DKIM domain key (docs/dkim.md): whose mail it signs, and under which selector.
#[derive(Debug, Serialize)]
pub struct DkimListing {
    pub id: String,
    pub domain: String,
    pub selector: String,
    pub algorithm: &'static str,
    /// The owner name of its DNS TXT record.
    pub record: String,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn pgp_listing(id: &str, cert: &sequoia_openpgp::Cert) -> PgpCertListing {
    use sequoia_openpgp::policy::StandardPolicy;
    use sequoia_openpgp::types::RevocationStatus;
    let p = StandardPolicy::new();
    let vc = cert.with_policy(&p, None).ok();
    let expires = vc
        .as_ref()
        .and_then(|vc| vc.primary_key().key_expiration_time())
        .map(rfc3339);
    let expired = vc.as_ref().is_none_or(|vc| vc.alive().is_err());
    let revoked = matches!(
        cert.revocation_status(&p, None),
        RevocationStatus::Revoked(_)
    );
    let subkeys = cert
        .keys()
        .subkeys()
        .map(|ka| {
            use sequoia_openpgp::cert::amalgamation::ValidateAmalgamation as _;
            let valid = ka.with_policy(&p, None).ok();
            let mut flags = Vec::new();
            if let Some(f) = valid.as_ref().and_then(|v| v.key_flags()) {
                if f.for_signing() {
                    flags.push("sign");
                }
                if f.for_transport_encryption() || f.for_storage_encryption() {
                    flags.push("encrypt");
                }
                if f.for_authentication() {
                    flags.push("auth");
                }
            }
            SubkeyListing {
                fingerprint: ka.key().fingerprint().to_hex(),
                algorithm: ka.key().pk_algo().to_string(),
                flags,
                created: rfc3339(ka.key().creation_time()),
                expires: valid
                    .as_ref()
                    .and_then(|v| v.key_expiration_time())
                    .map(rfc3339),
                revoked: matches!(ka.revocation_status(&p, None), RevocationStatus::Revoked(_)),
            }
        })
        .collect();
    PgpCertListing {
        id: id.to_owned(),
        fingerprint: cert.fingerprint().to_hex(),
        version: cert.primary_key().key().version(),
        userids: cert
            .userids()
            .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
            .collect(),
        created: rfc3339(cert.primary_key().key().creation_time()),
        expires,
        expired,
        revoked,
        subkeys,
    }
}

fn cert_listing(id: &str, cert: &x509_cert::Certificate, now: u64) -> CertListing {
    let tbs = cert.tbs_certificate();
    let v = tbs.validity();
    let serial: String = tbs
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    CertListing {
        id: id.to_owned(),
        subject: pki::subject(cert),
        addresses: pki::cert_emails(cert),
        serial,
        not_before: v.not_before.to_string(),
        not_after: v.not_after.to_string(),
        expired: now > v.not_after.to_unix_duration().as_secs(),
        announced: None,
    }
}

/// The text listing's line for a revoked key (empty if not revoked).
fn revoked_line(r: Option<&reseal_keystore::Revocation>) -> String {
    r.map(|r| {
        format!(
            "    REVOKED at {} ({}); {}\n",
            rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.time)),
            crate::sanitize::log_text(&r.reason),
            if r.decrypt {
                "still decrypts"
            } else {
                "no longer decrypts"
            }
        )
    })
    .unwrap_or_default()
}

fn uses_names(u: reseal_keystore::Uses) -> Vec<&'static str> {
    u.to_list()
        .iter()
        .map(|u| match u {
            reseal_keystore::Use::Sign => "sign",
            reseal_keystore::Use::Decrypt => "decrypt",
        })
        .collect()
}

/// Builds the listing of an open keystore.
pub fn keys_listing(ks: &Keystore) -> Listing {
    keys_listing_with(ks, &crate::capabilities::Cache::default())
}

/// [`keys_listing`], with what recipients announced (`capabilities`).
pub fn keys_listing_with(ks: &Keystore, capabilities: &crate::capabilities::Cache) -> Listing {
    let now = reseal_keystore::now();
    let announced = |c: &x509_cert::Certificate| {
        capabilities.get(c).map(|e| {
            let choice = e.choice();
            Announced {
                capabilities: e.names(),
                signing_time: time::OffsetDateTime::from_unix_timestamp(e.signing_time)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default(),
                cipher: choice.map(|(c, _)| c.as_str()),
                key_transport: choice.map(|(_, k)| k.as_str()),
            }
        })
    };
    Listing {
        keys: ks
            .keys()
            .map(|k| KeyListing {
                id: k.id.clone(),
                kind: "smime",
                algorithm: k.algorithm.to_string(),
                delegations: k.delegations.iter().map(|d| d.to_string()).collect(),
                uses: uses_names(k.uses),
                certificate: cert_listing(&k.id, &k.certificate, now),
                chain: k.chain.iter().map(pki::subject).collect(),
                token: ks.token_uri(&k.id).map(str::to_owned),
                revoked: ks.revocation(&k.id).cloned(),
            })
            .collect(),
        certificates: ks
            .certificates()
            .iter()
            .map(|c| CertListing {
                announced: announced(&c.certificate),
                ..cert_listing(&c.id, &c.certificate, now)
            })
            .collect(),
        trust_anchors: ks
            .trust_anchors()
            .iter()
            .map(|c| cert_listing(&c.id, &c.certificate, now))
            .collect(),
        openpgp_keys: ks
            .openpgp_keys()
            .map(|k| PgpKeyListing {
                id: k.id.clone(),
                kind: "openpgp",
                delegations: k.delegations.iter().map(|d| d.to_string()).collect(),
                uses: uses_names(k.uses),
                certificate: pgp_listing(&k.id, &k.cert),
                revoked: ks.revocation(&k.id).cloned(),
            })
            .collect(),
        openpgp_certificates: ks
            .openpgp_certificates()
            .iter()
            .map(|c| pgp_listing(&c.id, &c.cert))
            .collect(),
        dkim_keys: ks
            .dkim_keys()
            .map(|k| DkimListing {
                id: k.id.clone(),
                domain: k.domain.clone(),
                selector: k.selector.clone(),
                algorithm: k.algorithm.tag(),
                record: k.record_name(),
            })
            .collect(),
    }
}

/// A certificate or key that expires within the window `keys expire-check` was given,
/// or has expired already.
#[derive(Debug, Serialize)]
pub struct Expiry {
    /// `key` (a delegated S/MIME key's certificate), `chain`, `certificate`,
    /// `trust-anchor`, `identity`, `openpgp-key`, `openpgp-certificate`,
    /// `openpgp-identity`.
    pub kind: &'static str,
    pub id: String,
    /// The subject, or the OpenPGP key's fingerprint.
    pub name: String,
    pub expires: String,
    pub expired: bool,
}

/// Everything in the keystore whose validity ends before `now + within` seconds: X.509
/// notAfter (RFC 5280 §4.1.2.5), OpenPGP key expiration (RFC 9580 §5.2.3.13) of each
/// primary key and subkey that the policy still accepts.
pub fn expiring(ks: &Keystore, now: u64, within: u64) -> Vec<Expiry> {
    let limit = now.saturating_add(within);
    let mut out = Vec::new();
    let mut x509 = |kind: &'static str, id: &str, cert: &x509_cert::Certificate| {
        let not_after = cert.tbs_certificate().validity().not_after;
        let at = not_after.to_unix_duration().as_secs();
        if at <= limit {
            out.push(Expiry {
                kind,
                id: id.to_owned(),
                name: pki::subject(cert),
                expires: not_after.to_string(),
                expired: at <= now,
            });
        }
    };
    for k in ks.keys() {
        x509("key", &k.id, &k.certificate);
        for c in &k.chain {
            x509("chain", &k.id, c);
        }
    }
    for c in ks.certificates() {
        x509("certificate", &c.id, &c.certificate);
    }
    for c in ks.trust_anchors() {
        x509("trust-anchor", &c.id, &c.certificate);
    }
    if let Some(k) = ks.identity() {
        x509("identity", &k.id, &k.certificate);
    }
    let mut pgp = |kind: &'static str, id: &str, cert: &sequoia_openpgp::Cert| {
        use sequoia_openpgp::policy::StandardPolicy;
        let p = StandardPolicy::new();
        let Ok(vc) = cert.with_policy(&p, None) else {
            return;
        };
        for ka in vc.keys() {
            let Some(t) = ka.key_expiration_time() else {
                continue;
            };
            let at = t
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if at <= limit {
                out.push(Expiry {
                    kind,
                    id: id.to_owned(),
                    name: ka.key().fingerprint().to_hex(),
                    expires: rfc3339(t),
                    expired: at <= now,
                });
            }
        }
    };
    for k in ks.openpgp_keys() {
        pgp("openpgp-key", &k.id, &k.cert);
    }
    for c in ks.openpgp_certificates() {
        pgp("openpgp-certificate", &c.id, &c.cert);
    }
    if let Some(c) = ks.identity_pgp() {
        pgp("openpgp-identity", "identity", c);
    }
    out
}

impl Listing {
    /// A human-readable table.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let cert_line = |c: &CertListing| {
            format!(
                "    subject: {}\n    addresses: {}\n    valid: {} .. {}{}\n",
                c.subject,
                c.addresses.join(", "),
                c.not_before,
                c.not_after,
                if c.expired { "  EXPIRED" } else { "" }
            )
        };
        s.push_str(&format!("keys ({}):\n", self.keys.len()));
        for k in &self.keys {
            s.push_str(&format!(
                "  {}  {} {}\n    for: {}\n    uses: {}\n",
                k.id,
                k.kind,
                k.algorithm,
                k.delegations.join(", "),
                k.uses.join(",")
            ));
            if let Some(t) = &k.token {
                s.push_str(&format!(
                    "    on the token: {}\n",
                    crate::sanitize::log_text(t)
                ));
            }
            s.push_str(&revoked_line(k.revoked.as_ref()));
            s.push_str(&cert_line(&k.certificate));
        }
        s.push_str(&format!("certificates ({}):\n", self.certificates.len()));
        for c in &self.certificates {
            s.push_str(&format!("  {}\n", c.id));
            s.push_str(&cert_line(c));
            if let Some(a) = &c.announced {
                s.push_str(&format!(
                    "    announced ({}): {}; chosen: {} with {}\n",
                    a.signing_time,
                    a.capabilities.join(", "),
                    a.cipher.unwrap_or("policy or default"),
                    a.key_transport.unwrap_or("policy or default"),
                ));
            }
        }
        s.push_str(&format!("trust anchors ({}):\n", self.trust_anchors.len()));
        for c in &self.trust_anchors {
            s.push_str(&format!("  {}\n", c.id));
            s.push_str(&cert_line(c));
        }
        let pgp_lines = |c: &PgpCertListing| {
            let mut t = format!(
                "    fingerprint: {} (v{})\n    user ids: {}\n    created: {}  expires: {}{}{}\n",
                c.fingerprint,
                c.version,
                c.userids.join("; "),
                c.created,
                c.expires.as_deref().unwrap_or("never"),
                if c.expired { "  EXPIRED" } else { "" },
                if c.revoked { "  REVOKED" } else { "" },
            );
            for sk in &c.subkeys {
                t.push_str(&format!(
                    "    subkey {} {} [{}] expires {}{}\n",
                    sk.fingerprint,
                    sk.algorithm,
                    sk.flags.join(","),
                    sk.expires.as_deref().unwrap_or("never"),
                    if sk.revoked { " REVOKED" } else { "" }
                ));
            }
            t
        };
        s.push_str(&format!("openpgp keys ({}):\n", self.openpgp_keys.len()));
        for k in &self.openpgp_keys {
            s.push_str(&format!(
                "  {}  openpgp\n    for: {}\n    uses: {}\n",
                k.id,
                k.delegations.join(", "),
                k.uses.join(",")
            ));
            s.push_str(&revoked_line(k.revoked.as_ref()));
            s.push_str(&pgp_lines(&k.certificate));
        }
        s.push_str(&format!(
            "openpgp certificates ({}):\n",
            self.openpgp_certificates.len()
        ));
        for c in &self.openpgp_certificates {
            s.push_str(&format!("  {}\n", c.id));
            s.push_str(&pgp_lines(c));
        }
        s.push_str(&format!("dkim keys ({}):\n", self.dkim_keys.len()));
        for k in &self.dkim_keys {
            s.push_str(&format!(
                "  {}  {} d={} s={}\n    record: {}\n",
                k.id, k.algorithm, k.domain, k.selector, k.record
            ));
        }
        s
    }
}
