//! X.509 for S/MIME: the addresses a certificate speaks for, and certification-path
//! validation to a configured trust anchor (RFC 5280 §6, profiled by RFC 8550).
//!
//! rustls-webpki does not match rfc822Name and fails closed on rfc822 name constraints,
//! and x509-verify is on the previous RustCrypto generation, so the path check lives
//! here, small and strict: signatures, validity times, basicConstraints and path length,
//! keyUsage, extendedKeyUsage (emailProtection, RFC 8550 §4.4.4), and no unknown critical
//! extension. Name constraints are not processed, so a path through a constrained CA is
//! refused rather than half-checked. Revocation is not checked (no CRL/OCSP fetching);
//! SECURITY.md says so.

use der::Encode as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use crate::crypto::{self, oid};

/// The longest certification path we build (leaf, intermediates, anchor).
const MAX_PATH: usize = 8;

/// What the end-entity certificate is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Sign,
    Encrypt,
}

/// Why a certificate is not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no path to a trust anchor (issuer {0})")]
    Untrusted(String),
    #[error("certificate {0} has expired")]
    Expired(String),
    #[error("certificate {0} is not yet valid")]
    NotYetValid(String),
    #[error("certificate {0} is not a CA but issued another certificate")]
    NotCa(String),
    #[error("path length constraint of {0} exceeded")]
    PathLength(String),
    #[error("certificate {subject} has an unsupported critical extension {oid}")]
    UnknownCritical { subject: String, oid: String },
    #[error("certificate {0} carries name constraints, which are not supported")]
    NameConstraints(String),
    #[error("certificate {0} is not valid for e-mail protection (extendedKeyUsage)")]
    NoEmailProtection(String),
    #[error("certificate {0} keyUsage does not allow this use")]
    KeyUsage(String),
    #[error("certificate {subject}: {reason}")]
    Signature { subject: String, reason: String },
    #[error("certificate {0} has a malformed extension")]
    Malformed(String),
}

/// A readable subject for messages.
pub fn subject(cert: &Certificate) -> String {
    let s = cert.tbs_certificate().subject().to_string();
    if s.is_empty() {
        "(empty subject)".into()
    } else {
        s
    }
}

/// The e-mail addresses a certificate speaks for: subjectAltName rfc822Name entries, and
/// the legacy emailAddress attribute of the subject (RFC 8550 §3), lower-cased.
pub fn cert_emails(cert: &Certificate) -> Vec<String> {
    let tbs = cert.tbs_certificate();
    let mut out = Vec::new();
    if let Ok(Some((_, san))) = tbs.get_extension::<SubjectAltName>() {
        for gn in san.0 {
            if let GeneralName::Rfc822Name(s) = gn {
                out.push(s.as_str().to_ascii_lowercase());
            }
        }
    }
    for atv in tbs.subject().iter() {
        if atv.oid == oid::EMAIL_ADDRESS
            && let Ok(s) = atv.value.decode_as::<der::asn1::Ia5String>()
        {
            let s = s.as_str().to_ascii_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The subjectKeyIdentifier, if present.
pub fn ski(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, s)| s.0.as_bytes().to_vec())
}

/// Does `cert` have this issuer and serial number (CMS IssuerAndSerialNumber)?
pub fn is_issuer_serial(cert: &Certificate, issuer: &Name, serial: &SerialNumber) -> bool {
    let tbs = cert.tbs_certificate();
    tbs.serial_number() == serial && der_eq(tbs.issuer(), issuer)
}

fn der_eq<T: der::Encode>(a: &T, b: &T) -> bool {
    match (a.to_der(), b.to_der()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn time_check(cert: &Certificate, now: u64) -> Result<(), PathError> {
    let v = cert.tbs_certificate().validity();
    if now < v.not_before.to_unix_duration().as_secs() {
        return Err(PathError::NotYetValid(subject(cert)));
    }
    if now > v.not_after.to_unix_duration().as_secs() {
        return Err(PathError::Expired(subject(cert)));
    }
    Ok(())
}

const KNOWN_EXTENSIONS: &[der::asn1::ObjectIdentifier] = &[
    oid::CE_SUBJECT_KEY_IDENTIFIER,
    oid::CE_KEY_USAGE,
    oid::CE_SUBJECT_ALT_NAME,
    oid::CE_ISSUER_ALT_NAME,
    oid::CE_BASIC_CONSTRAINTS,
    oid::CE_CRL_DISTRIBUTION_POINTS,
    oid::CE_CERTIFICATE_POLICIES,
    oid::CE_POLICY_CONSTRAINTS,
    oid::CE_AUTHORITY_KEY_IDENTIFIER,
    oid::CE_EXT_KEY_USAGE,
    oid::CE_INHIBIT_ANY_POLICY,
    oid::PE_AUTHORITY_INFO_ACCESS,
];

fn extension_check(cert: &Certificate) -> Result<(), PathError> {
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        if ext.extn_id == oid::CE_NAME_CONSTRAINTS {
            return Err(PathError::NameConstraints(subject(cert)));
        }
        if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id) {
            return Err(PathError::UnknownCritical {
                subject: subject(cert),
                oid: ext.extn_id.to_string(),
            });
        }
    }
    Ok(())
}

fn malformed(cert: &Certificate) -> PathError {
    PathError::Malformed(subject(cert))
}

/// Checks that `issuer` may issue certificates with `below` intermediates under it.
fn ca_check(issuer: &Certificate, below: usize) -> Result<(), PathError> {
    let tbs = issuer.tbs_certificate();
    let bc = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| malformed(issuer))?;
    match bc {
        Some((_, bc)) if bc.ca => {
            if let Some(max) = bc.path_len_constraint
                && below > usize::from(max)
            {
                return Err(PathError::PathLength(subject(issuer)));
            }
        }
        _ => return Err(PathError::NotCa(subject(issuer))),
    }
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|_| malformed(issuer))?
        && !ku.key_cert_sign()
    {
        return Err(PathError::KeyUsage(subject(issuer)));
    }
    Ok(())
}

/// A trust anchor is trusted by configuration (RFC 5280 §6.1.1 (d)): a v1 root without
/// basicConstraints is accepted, as OpenSSL does; but an anchor that says it is *not* a
/// CA, or whose keyUsage forbids certificate signing, or whose path length is exceeded,
/// is not.
fn anchor_check(anchor: &Certificate, below: usize) -> Result<(), PathError> {
    let has_bc = anchor
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .map_err(|_| malformed(anchor))?
        .is_some();
    if has_bc {
        ca_check(anchor, below)
    } else {
        Ok(())
    }
}

/// End-entity checks for e-mail use.
fn leaf_check(leaf: &Certificate, purpose: Purpose) -> Result<(), PathError> {
    let tbs = leaf.tbs_certificate();
    // RFC 8550 §4.4.4: if extendedKeyUsage is present it must allow emailProtection
    // (or anyExtendedKeyUsage).
    if let Some((_, eku)) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|_| malformed(leaf))?
        && !eku
            .0
            .iter()
            .any(|o| *o == oid::KP_EMAIL_PROTECTION || *o == oid::ANY_EXTENDED_KEY_USAGE)
    {
        return Err(PathError::NoEmailProtection(subject(leaf)));
    }
    // RFC 8550 §4.4.2: keyUsage, when present, must allow the operation.
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|_| malformed(leaf))?
    {
        let ok = match purpose {
            Purpose::Sign => ku.digital_signature() || ku.non_repudiation(),
            Purpose::Encrypt => ku.key_encipherment() || ku.key_agreement(),
        };
        if !ok {
            return Err(PathError::KeyUsage(subject(leaf)));
        }
    }
    Ok(())
}

/// Does `issuer` plausibly issue `cert`: names match, and key identifiers agree when
/// both are present.
fn may_issue(issuer: &Certificate, cert: &Certificate) -> bool {
    if !der_eq(
        issuer.tbs_certificate().subject(),
        cert.tbs_certificate().issuer(),
    ) {
        return false;
    }
    let aki = cert
        .tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()));
    match (aki, ski(issuer)) {
        (Some(a), Some(s)) => a == s,
        _ => true,
    }
}

fn check_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), PathError> {
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|_| malformed(cert))?;
    let sig = cert.signature().as_bytes().ok_or_else(|| malformed(cert))?;
    crypto::verify(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        sig,
    )
    .map_err(|e| PathError::Signature {
        subject: subject(cert),
        reason: e.to_string(),
    })
}

/// Validates `leaf` for e-mail `purpose` at `now` (seconds since the epoch), building a
/// path through `intermediates` to one of `anchors`. Returns the path, leaf first.
pub fn validate(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    now: u64,
    purpose: Purpose,
) -> Result<Vec<Certificate>, PathError> {
    extension_check(leaf)?;
    leaf_check(leaf, purpose)?;
    time_check(leaf, now)?;
    if anchors.iter().any(|a| der_eq(a, leaf)) {
        // A directly trusted end-entity certificate.
        return Ok(vec![leaf.clone()]);
    }
    let mut path = vec![leaf.clone()];
    let mut last_err = PathError::Untrusted(leaf.tbs_certificate().issuer().to_string());
    if extend(&mut path, intermediates, anchors, now, &mut last_err) {
        Ok(path)
    } else {
        Err(last_err)
    }
}

/// Depth-first path extension; returns true once `path` ends at an anchor.
fn extend(
    path: &mut Vec<Certificate>,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    now: u64,
    err: &mut PathError,
) -> bool {
    let Some(cert) = path.last().cloned() else {
        return false;
    };
    if path.len() >= MAX_PATH {
        return false;
    }
    // Intermediates between this issuer and the leaf.
    let below = path.len().saturating_sub(1);
    for anchor in anchors.iter().filter(|a| may_issue(a, &cert)) {
        let r = check_signature(&cert, anchor)
            .and_then(|()| time_check(anchor, now))
            .and_then(|()| anchor_check(anchor, below));
        match r {
            Ok(()) => {
                path.push(anchor.clone());
                return true;
            }
            Err(e) => *err = e,
        }
    }
    for ica in intermediates.iter().filter(|c| may_issue(c, &cert)) {
        if path.iter().any(|p| der_eq(p, ica)) {
            continue; // a loop
        }
        let r = check_signature(&cert, ica)
            .and_then(|()| time_check(ica, now))
            .and_then(|()| extension_check(ica))
            .and_then(|()| ca_check(ica, below));
        match r {
            Ok(()) => {
                path.push(ica.clone());
                if extend(path, intermediates, anchors, now, err) {
                    return true;
                }
                path.pop();
            }
            Err(e) => *err = e,
        }
    }
    false
}

/// Checks a recipient certificate from the directory before encrypting to it: valid
/// now, usable for e-mail encryption, no unknown critical extension. (The directory is
/// curated by the operator, so no path to an anchor is demanded.)
pub fn check_recipient(cert: &Certificate, now: u64) -> Result<(), PathError> {
    extension_check(cert)?;
    leaf_check(cert, Purpose::Encrypt)?;
    time_check(cert, now)
}
/// The keystore's trust anchors.
pub fn anchors(ks: &reseal_keystore::Keystore) -> Vec<Certificate> {
    ks.trust_anchors()
        .iter()
        .map(|a| a.certificate.clone())
        .collect()
}

/// Certificates the keystore knows (the directory, delegated keys and their chains):
/// for finding signers and intermediates, never trusted by themselves.
pub fn known_certs(ks: &reseal_keystore::Keystore) -> Vec<Certificate> {
    ks.certificates()
        .iter()
        .map(|c| c.certificate.clone())
        .chain(
            ks.keys().flat_map(|k| {
                std::iter::once(k.certificate.clone()).chain(k.chain.iter().cloned())
            }),
        )
        .collect()
}
