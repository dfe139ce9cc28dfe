//! Policy: whether to sign, whether and how to encrypt, with which technology, for one
//! envelope.
//!
//! The rules live here as plain functions of the configuration, the keystore and the
//! envelope, so that they can be tested without crypto.

use reseal_keystore::{KeyInfo, Keystore, OpenpgpKeyInfo};
use sequoia_openpgp::Cert;
use x509_cert::Certificate;

use crate::config::{Config, EncryptMode, TechnologyChoice};
use crate::crypto::alg::{Cipher, KeyTransportChoice};
use crate::discovery::{Discovery, LookupError, RecipientKeys, Source};
use crate::error::Failure;
use crate::unwrap::Technology;

/// One S/MIME recipient of an encrypted message: whom the reseal stage encrypts to.
pub struct SmimeRecipient {
    pub address: String,
    pub certificate: Certificate,
    pub key_transport: KeyTransportChoice,
}

/// What to encrypt to.
pub enum EncryptionPlan {
    Smime {
        recipients: Vec<SmimeRecipient>,
        cipher: Cipher,
    },
    Openpgp {
        /// (address, certificate) per recipient.
        recipients: Vec<(String, Cert)>,
    },
}

impl EncryptionPlan {
    pub fn addresses(&self) -> Vec<String> {
        match self {
            EncryptionPlan::Smime { recipients, .. } => {
                recipients.iter().map(|r| r.address.clone()).collect()
            }
            EncryptionPlan::Openpgp { recipients } => {
                recipients.iter().map(|(a, _)| a.clone()).collect()
            }
        }
    }

    pub fn technology(&self) -> Technology {
        match self {
            EncryptionPlan::Smime { .. } => Technology::Smime,
            EncryptionPlan::Openpgp { .. } => Technology::Openpgp,
        }
    }
}

/// The delegated key to sign with.
#[derive(Clone, Copy, Debug)]
pub enum SignWith<'k> {
    Smime(&'k KeyInfo),
    Openpgp(&'k OpenpgpKeyInfo),
}

impl SignWith<'_> {
    pub fn technology(&self) -> Technology {
        match self {
            SignWith::Smime(_) => Technology::Smime,
            SignWith::Openpgp(_) => Technology::Openpgp,
        }
    }
}

/// What policy needs to know about one message.
pub struct Facts<'a> {
    /// Envelope sender, normalised ("" for the null sender).
    pub mail_from: &'a str,
    /// The message's single From addr-spec, if there is one.
    pub from: Option<&'a str>,
    /// Envelope recipients, normalised.
    pub rcpts: &'a [String],
    /// The technology of the message's outermost layer, if it had one.
    pub incoming: Option<Technology>,
    pub arrived_encrypted: bool,
    /// Seconds since the epoch.
    pub now: u64,
    /// What S/MIME recipients announced they can decrypt (crate::capabilities).
    pub capabilities: Option<&'a crate::capabilities::Lazy>,
}

/// The decision for one message.
pub struct Decision<'k> {
    pub sign: Option<SignWith<'k>>,
    pub encrypt: Option<EncryptionPlan>,
}

/// A lookup failure in words fit for a reply: never the server's own text.
fn kind_of(e: &LookupError) -> &'static str {
    match e {
        LookupError::Timeout => "timed out",
        LookupError::Failed(_) => "failed",
    }
}

fn allows(choice: TechnologyChoice, t: Technology) -> bool {
    match choice {
        TechnologyChoice::Auto => true,
        TechnologyChoice::Smime => t == Technology::Smime,
        TechnologyChoice::Openpgp => t == Technology::Openpgp,
    }
}

/// Preference order: the technology the message arrived in, then S/MIME, then OpenPGP.
fn preference(incoming: Option<Technology>) -> [Technology; 2] {
    match incoming {
        Some(Technology::Openpgp) => [Technology::Openpgp, Technology::Smime],
        _ => [Technology::Smime, Technology::Openpgp],
    }
}

/// Decides encryption for the envelope recipients `rcpts` (normalised).
///
/// One message goes to all recipients, so it is encrypted only when every recipient can
/// read it, in one common technology. A recipient whose policy is `required` and who
/// has no usable key makes the message refused, naming that recipient. With
/// `preserve_encryption`, mail that arrived encrypted is treated as `required` for
/// everyone: the gateway never turns a sender's encrypted mail into plaintext.
pub fn plan_encryption(
    config: &Config,
    ks: Option<&Keystore>,
    discovery: &Discovery,
    facts: &Facts<'_>,
) -> Result<Option<EncryptionPlan>, Failure> {
    let Facts {
        rcpts,
        incoming,
        arrived_encrypted,
        now,
        capabilities,
        ..
    } = *facts;
    struct Want {
        addr: String,
        required: bool,
        smime: Option<Certificate>,
        pgp: Option<Cert>,
        cipher: Cipher,
        kt: KeyTransportChoice,
        /// A key source that could not be asked, when no key was found.
        failed: Option<(Source, LookupError)>,
    }
    let mut wants = Vec::new();
    let mut never = Vec::new();
    for r in rcpts {
        let p = config.policy_for(r);
        let mode = match p.encrypt {
            EncryptMode::IfPossible if arrived_encrypted && config.preserve_encryption => {
                EncryptMode::Required
            }
            m => m,
        };
        if mode == EncryptMode::Never {
            never.push(r.clone());
            continue;
        }
        // The sources of `[discovery] order`, the directory by default (crate::discovery).
        let RecipientKeys {
            smime, pgp, failed, ..
        } = discovery.find(
            ks,
            r,
            allows(p.technology, Technology::Smime),
            allows(p.technology, Technology::Openpgp),
            now,
        );
        // RFC 8551 §2.7.1: what the recipient announced (Rule 1), then the operator's
        // policy, then the default every S/MIME client reads (crate::capabilities).
        let announced = smime
            .as_ref()
            .and_then(|c| capabilities.and_then(|k| k.get().get(c)))
            .and_then(crate::capabilities::Entry::choice);
        let (cipher, kt) = announced.unwrap_or((
            p.cipher.unwrap_or(Cipher::Aes256Cbc),
            p.key_transport.unwrap_or(KeyTransportChoice::RsaPkcs1v15),
        ));
        wants.push(Want {
            addr: r.clone(),
            required: mode == EncryptMode::Required,
            smime,
            pgp,
            cipher,
            kt,
            failed,
        });
    }
    // A lookup that failed is not "no key": when encryption is required (for anyone:
    // one message serves every recipient, so each one then needs a key), a recipient
    // without a key, for whom a source could not be asked, is a temporary failure, so
    // that the message is tried again rather than refused or sent in clear.
    let any_required = wants.iter().any(|w| w.required);
    let unreachable: Vec<String> = wants
        .iter()
        .filter(|w| any_required && w.smime.is_none() && w.pgp.is_none())
        .filter_map(|w| {
            w.failed
                .as_ref()
                .map(|(s, e)| format!("<{}> ({} {})", w.addr, s.as_str(), kind_of(e)))
        })
        .collect();
    if !unreachable.is_empty() {
        return Err(Failure::temporary(format!(
            "Encryption is required but the key lookup failed for {}: try again later",
            unreachable.join(", ")
        )));
    }
    let missing: Vec<&str> = wants
        .iter()
        .filter(|w| w.required && w.smime.is_none() && w.pgp.is_none())
        .map(|w| w.addr.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Failure::policy(format!(
            "Encryption is required but there is no usable certificate or key for <{}>",
            missing.join(">, <")
        )));
    }
    if !never.is_empty() && !wants.is_empty() && wants.iter().any(|w| w.required) {
        return Err(Failure::policy(format!(
            "Recipients <{}> must not receive encrypted mail, but the others must: send them separately",
            never.join(">, <")
        )));
    }
    if wants.is_empty() || !never.is_empty() {
        return Ok(None);
    }
    for tech in preference(incoming) {
        match tech {
            Technology::Smime if wants.iter().all(|w| w.smime.is_some()) => {
                let cipher = if wants.iter().any(|w| w.cipher == Cipher::Aes256Cbc) {
                    // The weakest reader decides for the single message.
                    Cipher::Aes256Cbc
                } else {
                    Cipher::Aes256Gcm
                };
                let recipients = wants
                    .iter()
                    .filter_map(|w| {
                        w.smime.clone().map(|certificate| SmimeRecipient {
                            address: w.addr.clone(),
                            certificate,
                            key_transport: w.kt,
                        })
                    })
                    .collect();
                return Ok(Some(EncryptionPlan::Smime { recipients, cipher }));
            }
            Technology::Openpgp if wants.iter().all(|w| w.pgp.is_some()) => {
                let recipients = wants
                    .iter()
                    .filter_map(|w| w.pgp.clone().map(|c| (w.addr.clone(), c)))
                    .collect();
                return Ok(Some(EncryptionPlan::Openpgp { recipients }));
            }
            _ => {}
        }
    }
    // Every recipient has some key, but no single technology covers them all.
    if wants.iter().any(|w| w.required) {
        let smime_less: Vec<&str> = wants
            .iter()
            .filter(|w| w.smime.is_none())
            .map(|w| w.addr.as_str())
            .collect();
        return Err(Failure::policy(format!(
            "Encryption is required but no single technology reaches every recipient (no S/MIME certificate for <{}>): send them separately",
            smime_less.join(">, <")
        )));
    }
    Ok(None)
}

/// The key to sign with, applying SECURITY.md invariant 6: a key delegated for the envelope
/// sender, and only where the message's single From equals the envelope sender. The
/// keystore re-checks the delegation when it signs. `tech` forces the technology (the
/// encryption's); otherwise the recipients' policies, then the incoming message's
/// technology, then S/MIME before OpenPGP.
pub fn signer<'k>(
    config: &Config,
    ks: Option<&'k Keystore>,
    facts: &Facts<'_>,
    tech: Option<Technology>,
) -> Option<SignWith<'k>> {
    let Facts {
        mail_from,
        from,
        rcpts,
        incoming,
        now,
        ..
    } = *facts;
    let ks = ks?;
    if mail_from.is_empty() {
        return None;
    }
    let policies: Vec<_> = rcpts.iter().map(|r| config.policy_for(r)).collect();
    if !policies.is_empty() && !policies.iter().any(|p| p.sign) {
        return None;
    }
    if from != Some(mail_from) {
        tracing::info!("From does not equal the envelope sender: not signing");
        return None;
    }
    let order: Vec<Technology> = match tech {
        Some(t) => vec![t],
        None => {
            let all = |t| policies.iter().all(|p| allows(p.technology, t));
            preference(incoming)
                .into_iter()
                .filter(|t| all(*t))
                .collect()
        }
    };
    for t in order {
        let found = match t {
            Technology::Smime => ks.signer_for(mail_from, now).map(SignWith::Smime),
            Technology::Openpgp => ks.openpgp_signer_for(mail_from).map(SignWith::Openpgp),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}
