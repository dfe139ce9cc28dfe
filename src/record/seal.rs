//! Signing and checking the record with the gateway's OPES identity: a detached CMS
//! SignedData for S/MIME mail, a detached OpenPGP signature for OpenPGP mail.

use std::io::Write as _;

use reseal_keystore::{HashAlg, Keystore};
use sequoia_openpgp as openpgp;
use x509_cert::Certificate;

use crate::error::Failure;
use crate::unwrap::Technology;

fn no_identity(e: impl std::fmt::Display) -> Failure {
    Failure::config(format!(
        "the keystore has no usable OPES identity ({e}); run `reseal keys new-identity`"
    ))
}

/// Signs `json` with the identity matching `tech`.
pub fn sign(ks: &Keystore, tech: Technology, json: &[u8]) -> Result<Vec<u8>, Failure> {
    match tech {
        Technology::Smime => {
            let id = ks
                .identity()
                .ok_or_else(|| no_identity("no X.509 identity"))?;
            crate::reseal::smime::signed_data(json, &id.certificate, &id.chain, |digest| {
                ks.identity_sign_digest(HashAlg::Sha256, digest)
                    .map_err(no_identity)
            })
        }
        Technology::Openpgp => {
            use openpgp::serialize::stream::{Message, Signer};
            let signer = ks.identity_pgp_signer().map_err(no_identity)?;
            let mut out = Vec::new();
            {
                let m = Message::new(&mut out);
                let mut s = Signer::new(m, signer)
                    .and_then(|s| s.hash_algo(openpgp::types::HashAlgorithm::SHA256))
                    .map(|s| s.detached())
                    .and_then(|s| s.build())
                    .map_err(|e| Failure::temporary(format!("cannot sign the record: {e}")))?;
                s.write_all(json)
                    .map_err(|e| Failure::temporary(format!("cannot sign the record: {e}")))?;
                s.finalize()
                    .map_err(|e| Failure::temporary(format!("cannot sign the record: {e}")))?;
            }
            Ok(out)
        }
    }
}

/// The trusted OPES identities a verifier was given.
#[derive(Default)]
pub struct Identities {
    pub x509: Vec<Certificate>,
    pub openpgp: Vec<openpgp::Cert>,
}

impl Identities {
    /// Reads a file holding PEM certificates and/or OpenPGP certificates (what
    /// `reseal keys export-identity` writes).
    pub fn load(data: &[u8]) -> Result<Identities, String> {
        let mut ids = Identities::default();
        let text = String::from_utf8_lossy(data);
        if text.contains("-----BEGIN CERTIFICATE-----") {
            let pem: String = text
                .split_inclusive('\n')
                .scan(false, |inside, line| {
                    if line.starts_with("-----BEGIN CERTIFICATE-----") {
                        *inside = true;
                    }
                    let keep = *inside;
                    if line.starts_with("-----END CERTIFICATE-----") {
                        *inside = false;
                    }
                    Some(if keep { line.to_owned() } else { String::new() })
                })
                .collect();
            ids.x509 =
                reseal_keystore::parse_certificates(pem.as_bytes()).map_err(|e| e.to_string())?;
        } else if !reseal_keystore::looks_like_openpgp(data) {
            ids.x509 = reseal_keystore::parse_certificates(data).map_err(|e| e.to_string())?;
        }
        if let Some(i) = text.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
            use openpgp::parse::Parse as _;
            for c in
                openpgp::cert::CertParser::from_bytes(text.get(i..).unwrap_or_default().as_bytes())
                    .map_err(|e| e.to_string())?
                    .flatten()
            {
                ids.openpgp.push(c);
            }
        } else if reseal_keystore::looks_like_openpgp(data) {
            use openpgp::parse::Parse as _;
            for c in openpgp::cert::CertParser::from_bytes(data)
                .map_err(|e| e.to_string())?
                .flatten()
            {
                ids.openpgp.push(c);
            }
        }
        if ids.x509.is_empty() && ids.openpgp.is_empty() {
            return Err("no certificate found".into());
        }
        Ok(ids)
    }
}

/// Checks the record signature. Returns who signed (subject or fingerprint).
pub fn verify(
    tech: &str,
    signature: &[u8],
    json: &[u8],
    ids: &Identities,
    now: u64,
) -> Result<String, String> {
    match tech {
        "smime" => {
            if ids.x509.is_empty() {
                return Err("no X.509 OPES identity certificate was given (--opes-cert)".into());
            }
            crate::unwrap::smime::verify_with_trusted(signature, json, &ids.x509, now)
                .map(|c| crate::pki::subject(&c))
                .map_err(|r| format!("the record signature is not valid: {r}"))
        }
        "openpgp" => {
            if ids.openpgp.is_empty() {
                return Err("no OpenPGP OPES identity certificate was given (--opes-cert)".into());
            }
            verify_pgp(signature, json, &ids.openpgp)
        }
        other => Err(format!("unknown record technology {other:?}")),
    }
}

fn verify_pgp(signature: &[u8], json: &[u8], certs: &[openpgp::Cert]) -> Result<String, String> {
    use openpgp::parse::Parse as _;
    use openpgp::parse::stream::{
        DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationHelper,
    };
    struct H<'a> {
        certs: &'a [openpgp::Cert],
        signer: Option<String>,
        error: Option<String>,
    }
    impl VerificationHelper for H<'_> {
        fn get_certs(
            &mut self,
            _ids: &[openpgp::KeyHandle],
        ) -> openpgp::Result<Vec<openpgp::Cert>> {
            Ok(self.certs.to_vec())
        }
        fn check(&mut self, structure: MessageStructure<'_>) -> openpgp::Result<()> {
            for layer in structure {
                if let MessageLayer::SignatureGroup { results } = layer {
                    if results.is_empty() {
                        self.error = Some("no signature".into());
                    }
                    for r in results {
                        match r {
                            Ok(g) => self.signer = Some(g.ka.cert().fingerprint().to_hex()),
                            Err(e) => self.error = Some(e.to_string()),
                        }
                    }
                }
            }
            Ok(())
        }
    }
    let p = openpgp::policy::StandardPolicy::new();
    let h = H {
        certs,
        signer: None,
        error: None,
    };
    let mut v = DetachedVerifierBuilder::from_bytes(signature)
        .and_then(|b| b.with_policy(&p, None, h))
        .map_err(|e| format!("the record signature is not valid: {e}"))?;
    v.verify_bytes(json)
        .map_err(|e| format!("the record signature is not valid: {e}"))?;
    let h = v.into_helper();
    match (h.error, h.signer) {
        (None, Some(s)) => Ok(s),
        (Some(e), _) => Err(format!("the record signature is not valid: {e}")),
        (None, None) => Err("the record signature is not valid: no signature".into()),
    }
}
