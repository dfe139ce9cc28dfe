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
}

#[derive(Debug, Serialize)]
pub struct Listing {
    pub keys: Vec<KeyListing>,
    pub certificates: Vec<CertListing>,
    pub trust_anchors: Vec<CertListing>,
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
    }
}

/// Builds the listing of an open keystore.
pub fn keys_listing(ks: &Keystore) -> Listing {
    let now = reseal_keystore::now();
    Listing {
        keys: ks
            .keys()
            .map(|k| KeyListing {
                id: k.id.clone(),
                kind: "smime",
                algorithm: k.algorithm.to_string(),
                delegations: k.delegations.iter().map(|d| d.to_string()).collect(),
                uses: k
                    .uses
                    .to_list()
                    .iter()
                    .map(|u| match u {
                        reseal_keystore::Use::Sign => "sign",
                        reseal_keystore::Use::Decrypt => "decrypt",
                    })
                    .collect(),
                certificate: cert_listing(&k.id, &k.certificate, now),
                chain: k.chain.iter().map(pki::subject).collect(),
            })
            .collect(),
        certificates: ks
            .certificates()
            .iter()
            .map(|c| cert_listing(&c.id, &c.certificate, now))
            .collect(),
        trust_anchors: ks
            .trust_anchors()
            .iter()
            .map(|c| cert_listing(&c.id, &c.certificate, now))
            .collect(),
    }
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
            s.push_str(&cert_line(&k.certificate));
        }
        s.push_str(&format!("certificates ({}):\n", self.certificates.len()));
        for c in &self.certificates {
            s.push_str(&format!("  {}\n", c.id));
            s.push_str(&cert_line(c));
        }
        s.push_str(&format!("trust anchors ({}):\n", self.trust_anchors.len()));
        for c in &self.trust_anchors {
            s.push_str(&format!("  {}\n", c.id));
            s.push_str(&cert_line(c));
        }
        s
    }
}
