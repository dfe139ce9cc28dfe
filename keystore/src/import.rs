//! Importing keys and certificates.
//!
//! PKCS#12 goes through the `openssl` crate. Why: the `pkcs12` and `p12-keystore` crates
//! pin a `cms` prerelease that conflicts with the one we build on, and `p12` reads only
//! the legacy (3DES/SHA-1) format, while OpenSSL 3 writes AES-256-CBC/PBKDF2 by default.
//! OpenSSL reads both (the legacy provider is loaded for RC2-40 files), and the crate is
//! in the tree anyway for sequoia's OpenSSL back-end. PEM private keys (PKCS#8, PKCS#1,
//! SEC1) go through the same path so that one parser handles every format; the result
//! is immediately re-encoded as PKCS#8 into a zeroizing buffer and the OpenSSL object is
//! freed (OpenSSL clears key material on free).

use der::{Decode as _, Encode as _};
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use secrecy::{ExposeSecret as _, SecretString};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::entry::{Body, Delegation, KeyAlgorithm, Uses, cert_to_b64, short_id};
use crate::ops::{HeldKey, pkcs8_algorithm};
use crate::{CertInfo, Error, KeyInfo, Keystore, now};

/// Where a key to import comes from.
pub enum KeySource<'a> {
    /// A PKCS#12 file and its password.
    Pkcs12 {
        der: &'a [u8],
        password: &'a SecretString,
    },
    /// A PEM private key (PKCS#8, PKCS#1 or SEC1), its certificate and optional chain.
    Pem {
        key: &'a [u8],
        cert: &'a [u8],
        chain: Option<&'a [u8]>,
    },
    /// A PEM private key alone: a throwaway self-signed certificate stands in for its
    /// certificate (for `reseal verify`, which then tries the key on every recipient).
    PemKeyOnly { key: &'a [u8] },
}

/// The minimum RSA modulus we accept (SECURITY.md invariant 7, RFC 8551 §2.3).
const MIN_RSA_BITS: u32 = 2048;

fn to_pkcs8(pkey: &PKey<Private>) -> Result<Zeroizing<Vec<u8>>, Error> {
    pkey.private_key_to_pkcs8()
        .map(Zeroizing::new)
        .map_err(|_| Error::Import("the private key cannot be re-encoded".into()))
}

fn x509_to_cert(x: &openssl::x509::X509Ref) -> Result<Certificate, Error> {
    let der = x
        .to_der()
        .map_err(|_| Error::Import("certificate encoding".into()))?;
    Certificate::from_der(&der).map_err(|e| Error::Import(format!("certificate: {e}")))
}

/// Parses certificates as operators have them: PEM with any text around the blocks and
/// base64 lines of any length (RFC 7468 §3, [`crate::pem`]), bundles of several blocks,
/// PKCS#7 certificate bundles (`.p7b`/`.p7c`, RFC 5652 §5.1 `certificates`, in PEM or
/// DER), or one DER certificate. Blocks that hold no certificate (a private key in the
/// same file) are passed over; a file with no certificate at all is an error.
pub fn parse_certificates(data: &[u8]) -> Result<Vec<Certificate>, Error> {
    let mut certs = Vec::new();
    if crate::pem::is_pem(data) {
        for b in crate::pem::blocks(data)? {
            match b.label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => certs.push(
                    Certificate::from_der(&b.der)
                        .map_err(|e| Error::Import(format!("PEM certificate: {e}")))?,
                ),
                "PKCS7" | "CMS" => certs.extend(pkcs7_certificates(&b.der)?),
                _ => {}
            }
        }
    } else {
        match Certificate::from_der(data) {
            Ok(c) => certs.push(c),
            Err(e) => match pkcs7_certificates(data) {
                Ok(found) => certs.extend(found),
                Err(_) => return Err(Error::Import(format!("DER certificate: {e}"))),
            },
        }
    }
    if certs.is_empty() {
        return Err(Error::Import("no certificate found".into()));
    }
    Ok(certs)
}

/// The certificates of a PKCS#7/CMS SignedData (a certificate bundle, RFC 5652 §5.1).
fn pkcs7_certificates(der: &[u8]) -> Result<Vec<Certificate>, Error> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let ci =
        ContentInfo::from_der(der).map_err(|e| Error::Import(format!("PKCS#7 bundle: {e}")))?;
    if ci.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(Error::Import("PKCS#7 bundle: not signed-data".into()));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| Error::Import(format!("PKCS#7 bundle: {e}")))?;
    Ok(sd
        .certificates
        .map(|set| {
            set.0
                .into_vec()
                .into_iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

fn spki_der(cert: &Certificate) -> Result<Vec<u8>, Error> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Error::Import("certificate public key".into()))
}

impl Keystore {
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
}
