//! Recipient keys from an LDAP directory (RFC 4511 search, RFC 4515 filters), through
//! ldap3's blocking API. The pipeline runs on a blocking thread (`spawn_blocking` in
//! `serve`, `milter` and `agent`; the main thread in `process`), which is where ldap3's
//! own small runtime may run.
//!
//! Everything the server sends is untrusted: the entries are read from the protocol
//! structure by hand (ldap3's `SearchEntry::construct` panics on a malformed entry),
//! the entry count and each value's size are bounded, and every step has a timeout.

use std::time::Instant;

use ldap3::asn1::{PL, StructureTag};
use ldap3::{LdapConn, LdapConnSettings, Scope, SearchOptions};
use x509_cert::Certificate;
use x509_cert::der::Decode as _;

use super::{Candidates, LookupError};
use crate::config::{AttrKind, LdapConfig};

/// The most values taken from one attribute of one entry.
const MAX_VALUES: usize = 8;
/// The most certificates taken from one PKCS #7 bundle.
const MAX_BUNDLE: usize = 8;
/// The most certificates (X.509 and OpenPGP) taken from one search, over all entries.
const MAX_CANDIDATES: usize = 32;

/// RFC 4515 §3: in an assertion value, `*`, `(`, `)`, `\` and NUL must be written as a
/// backslash and two hex digits. Every other byte outside printable ASCII is escaped the
/// same way (allowed: "any octet may be escaped"), so the filter stays plain ASCII.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'*' | b'(' | b')' | b'\\') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:02x}"));
        }
    }
    out
}

/// The configured filter with every `%s` replaced by the escaped address.
pub fn filter_for(template: &str, address: &str) -> String {
    template.replace("%s", &escape_value(address))
}

fn error(e: ldap3::LdapError) -> LookupError {
    match e {
        ldap3::LdapError::Timeout { .. } => LookupError::Timeout,
        other => LookupError::Failed(other.to_string()),
    }
}

/// Searches the directory for `address`; returns what the entries hold, unvalidated.
pub fn lookup(
    cfg: &LdapConfig,
    password: Option<&str>,
    address: &str,
) -> Result<Candidates, LookupError> {
    let deadline = Instant::now().checked_add(cfg.timeout.saturating_mul(3));
    let settings = LdapConnSettings::new().set_conn_timeout(cfg.timeout);
    let mut conn = LdapConn::with_settings(settings, &cfg.url).map_err(error)?;
    if let Some(dn) = &cfg.bind_dn {
        // RFC 4513 §5.1.2: a simple bind with a DN and a password.
        conn.with_timeout(cfg.timeout)
            .simple_bind(dn, password.unwrap_or_default())
            .map_err(error)?
            .success()
            .map_err(error)?;
    }
    let filter = filter_for(&cfg.filter, address);
    let attrs: Vec<&str> = cfg.attributes.iter().map(|a| a.name.as_str()).collect();
    let limit = i32::try_from(cfg.max_entries).unwrap_or(i32::MAX);
    let secs = i32::try_from(cfg.timeout.as_secs()).unwrap_or(i32::MAX);
    let mut found = Candidates::default();
    let mut entries = 0usize;
    {
        let mut stream = conn
            .with_search_options(SearchOptions::new().sizelimit(limit).timelimit(secs))
            .with_timeout(cfg.timeout)
            .streaming_search(&cfg.base, Scope::Subtree, &filter, attrs)
            .map_err(error)?;
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(LookupError::Timeout);
            }
            let Some(entry) = stream.next().map_err(error)? else {
                break;
            };
            if entry.is_ref() || entry.is_intermediate() {
                continue; // referrals are not followed
            }
            entries = entries.saturating_add(1);
            if entries > cfg.max_entries {
                // The server ignored the sizeLimit: what came is enough.
                entries = cfg.max_entries;
                break;
            }
            read_entry(entry.0, cfg, &mut found);
        }
        if entries < cfg.max_entries {
            // RFC 4511 §4.5.2: sizeLimitExceeded (4) comes with the entries that fit.
            let res = stream.result();
            if res.rc != 0 && res.rc != 4 {
                return Err(LookupError::Failed(format!(
                    "search failed with result code {}",
                    res.rc
                )));
            }
        }
    }
    let _ = conn.unbind();
    found.entries = entries;
    Ok(found)
}

/// Reads one SearchResultEntry (RFC 4511 §4.5.2: [APPLICATION 4] SEQUENCE { objectName,
/// attributes PartialAttributeList }) without trusting its shape.
fn read_entry(entry: StructureTag, cfg: &LdapConfig, found: &mut Candidates) {
    let Some(mut parts) = entry.match_id(4).and_then(StructureTag::expect_constructed) else {
        return;
    };
    // parts: [objectName, attributes]
    let Some(attrs) = (parts.len() == 2)
        .then(|| parts.pop())
        .flatten()
        .and_then(StructureTag::expect_constructed)
    else {
        return;
    };
    for pa in attrs.into_iter().take(32) {
        let Some(mut pa) = pa.expect_constructed() else {
            continue;
        };
        if pa.len() != 2 {
            continue;
        }
        let (Some(vals), Some(name)) = (pa.pop(), pa.pop()) else {
            continue;
        };
        let Some(name) = name.expect_primitive() else {
            continue;
        };
        // RFC 4512 §2.5: the type before any option; a server may answer
        // `userCertificate` to a request for `userCertificate;binary` (RFC 4522 §2).
        let base = |n: &[u8]| n.split(|&b| b == b';').next().unwrap_or_default().to_vec();
        let name = base(&name);
        let Some(kind) = cfg
            .attributes
            .iter()
            .find(|a| base(a.name.as_bytes()).eq_ignore_ascii_case(&name))
            .map(|a| a.kind)
        else {
            continue;
        };
        let PL::C(vals) = vals.payload else {
            continue;
        };
        for v in vals.into_iter().take(MAX_VALUES) {
            let PL::P(bytes) = v.payload else {
                continue;
            };
            if bytes.len() > cfg.max_value_bytes {
                found.skipped = found.skipped.saturating_add(1);
                continue;
            }
            take_value(kind, &bytes, found);
        }
    }
}

fn take_value(kind: AttrKind, bytes: &[u8], found: &mut Candidates) {
    if found.x509.len().saturating_add(found.openpgp.len()) >= MAX_CANDIDATES {
        found.skipped = found.skipped.saturating_add(1);
        return;
    }
    match kind {
        AttrKind::X509 => match Certificate::from_der(bytes) {
            Ok(c) => found.x509.push(c),
            Err(_) => found.skipped = found.skipped.saturating_add(1),
        },
        AttrKind::Pkcs7 => match crate::unwrap::smime::parse(bytes) {
            Ok(crate::unwrap::smime::CmsObject::Signed(sd)) => {
                let certs = crate::unwrap::smime::certificates(&sd);
                found.x509.extend(certs.into_iter().take(MAX_BUNDLE));
            }
            _ => found.skipped = found.skipped.saturating_add(1),
        },
        AttrKind::Openpgp => match super::parse_openpgp(bytes) {
            Some(certs) => found.openpgp.extend(certs),
            None => found.skipped = found.skipped.saturating_add(1),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn rfc4515_escapes() {
        assert_eq!(escape_value("bob@example.org"), "bob@example.org");
        assert_eq!(
            escape_value("*)(uid=*))(|(uid=*"),
            "\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a"
        );
        assert_eq!(escape_value("a\\b\0c"), "a\\5cb\\00c");
        assert_eq!(escape_value("j\u{f6}rg"), "j\\c3\\b6rg");
        assert_eq!(
            filter_for("(&(objectClass=inetOrgPerson)(mail=%s))", "x*@y"),
            "(&(objectClass=inetOrgPerson)(mail=x\\2a@y))"
        );
        // The escaped filter is one well-formed filter.
        assert!(ldap3::parse_filter(filter_for("(mail=%s)", "a)(cn=*")).is_ok());
    }
}
