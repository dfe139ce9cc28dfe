//! Policy: whether to sign, whether and how to encrypt, for one envelope.
//!
//! The rules live here as plain functions of the configuration, the keystore and the
//! envelope, so that they can be tested without crypto.

use reseal_keystore::{KeyInfo, Keystore};
use x509_cert::Certificate;

use crate::config::{Cipher, Config, EncryptMode};
use crate::error::Failure;
use crate::pki;
use crate::reseal::smime::Recipient;

/// The recipient certificate from the directory for `addr`: one that names the address,
/// is valid now, and allows key encipherment. The one that expires last wins.
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

/// What to encrypt to.
pub struct EncryptionPlan {
    pub recipients: Vec<Recipient>,
    pub cipher: Cipher,
}

/// Decides encryption for the envelope recipients `rcpts` (normalised).
///
/// One message goes to all recipients, so it is encrypted only when every recipient
/// can read it. A recipient whose policy is `required` and who has no certificate makes
/// the message refused, naming that recipient. With `preserve_encryption`, mail that
/// arrived encrypted is treated as `required` for everyone: the gateway never turns
/// a sender's encrypted mail into plaintext.
pub fn plan_encryption(
    config: &Config,
    ks: Option<&Keystore>,
    rcpts: &[String],
    arrived_encrypted: bool,
    now: u64,
) -> Result<Option<EncryptionPlan>, Failure> {
    let mut recipients = Vec::new();
    let mut missing_required = Vec::new();
    let mut never = Vec::new();
    let mut all_have_certs = true;
    let mut cipher = Cipher::Aes256Gcm;
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
        match ks.and_then(|k| recipient_cert(k, r, now)) {
            Some(cert) => {
                if p.cipher == Cipher::Aes256Cbc {
                    // The weakest reader decides for the single message.
                    cipher = Cipher::Aes256Cbc;
                }
                recipients.push(Recipient {
                    address: r.clone(),
                    certificate: cert,
                    key_transport: p.key_transport,
                });
            }
            None => {
                all_have_certs = false;
                if mode == EncryptMode::Required {
                    missing_required.push(r.clone());
                }
            }
        }
    }
    if !missing_required.is_empty() {
        return Err(Failure::policy(format!(
            "Encryption is required but there is no usable certificate for <{}>",
            missing_required.join(">, <")
        )));
    }
    if !never.is_empty() {
        if recipients.is_empty() {
            return Ok(None);
        }
        // Some recipients must get plaintext and others want encryption: one message
        // cannot satisfy both.
        return Err(Failure::policy(format!(
            "Recipients <{}> must not receive encrypted mail, but the others must: send them separately",
            never.join(">, <")
        )));
    }
    if !all_have_certs || recipients.is_empty() {
        return Ok(None);
    }
    Ok(Some(EncryptionPlan { recipients, cipher }))
}

/// The key to sign with for this envelope, applying DESIGN §3 rule 6: a key delegated
/// for the envelope sender, and only where the message's single From equals the
/// envelope sender. The keystore re-checks the delegation when it signs.
pub fn signer<'k>(
    config: &Config,
    ks: Option<&'k Keystore>,
    mail_from: &str,
    from: Option<&str>,
    rcpts: &[String],
    now: u64,
) -> Option<&'k KeyInfo> {
    let ks = ks?;
    if mail_from.is_empty() {
        return None;
    }
    let wanted = rcpts.is_empty() || rcpts.iter().any(|r| config.policy_for(r).sign);
    if !wanted {
        return None;
    }
    if from != Some(mail_from) {
        tracing::info!("From does not equal the envelope sender: not signing");
        return None;
    }
    ks.signer_for(mail_from, now)
}
