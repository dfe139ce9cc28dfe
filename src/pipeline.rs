//! The pipeline: receive → unwrap → (adapt → record) → reseal → trace → deliver.
//!
//! One function runs one message for every front end. It either returns the message to
//! deliver, or a [`Failure`] that the front end turns into an exit code, an SMTP reply or
//! an NDR, always with the same trace id.

use reseal_keystore::Keystore;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::config::{CbcPolicy, Config};
use crate::envelope::Envelope;
use crate::error::Failure;
use crate::mime::{self, Entity};
use crate::policy;
use crate::reseal;
use crate::trace::{self, Trace};
use crate::unwrap::{self, Layer, UnwrapContext};

/// The gateway: configuration plus the open keystore (if there is one).
pub struct Gateway {
    pub config: Config,
    pub keystore: Option<Keystore>,
}

/// What happened to a message that went through.
#[derive(Debug)]
pub struct Outcome {
    pub message: Vec<u8>,
    pub layers: Vec<Layer>,
    /// The sender the message was signed for, if the gateway signed it.
    pub signed_for: Option<String>,
    /// Whether the sender's original signature was passed on unchanged.
    pub original_signature_kept: bool,
    pub encrypted_to: Vec<String>,
}

impl Gateway {
    fn anchors(&self) -> Vec<Certificate> {
        self.keystore
            .iter()
            .flat_map(|k| k.trust_anchors().iter().map(|a| a.certificate.clone()))
            .collect()
    }

    fn known_certs(&self) -> Vec<Certificate> {
        let Some(ks) = &self.keystore else {
            return Vec::new();
        };
        ks.certificates()
            .iter()
            .map(|c| c.certificate.clone())
            .chain(ks.keys().flat_map(|k| {
                std::iter::once(k.certificate.clone()).chain(k.chain.iter().cloned())
            }))
            .collect()
    }

    /// Runs one message through the pipeline.
    pub fn process(&self, env: &Envelope, raw: &[u8], trace: &Trace) -> Result<Outcome, Failure> {
        if raw.len() > self.config.max_message_bytes {
            return Err(Failure::policy(format!(
                "Message size exceeds the limit of {} bytes",
                self.config.max_message_bytes
            ))
            .with_status("5.3.4"));
        }
        let message = mime::to_crlf(raw);
        let top = Entity::parse(&message)?;
        if top.fields().is_empty() {
            return Err(mime::MimeError::NoHeaders.into());
        }
        let from = unwrap::single_from(&top);
        let now_dt = OffsetDateTime::now_utc();
        let now = u64::try_from(now_dt.unix_timestamp()).unwrap_or(0);
        let ks = self.keystore.as_ref();

        // Unwrap.
        let ctx = UnwrapContext {
            keystore: ks,
            parties: env.parties(),
            from: from.clone(),
            now,
            anchors: self.anchors(),
            known_certs: self.known_certs(),
            allow_cbc: self.config.cbc == CbcPolicy::RequireSignature,
            pgp_certs: ks
                .map(|k| {
                    k.openpgp_certificates()
                        .iter()
                        .map(|c| c.cert.clone())
                        .collect()
                })
                .unwrap_or_default(),
            max_plaintext: self.config.max_message_bytes,
        };
        let unwrapped = unwrap::unwrap(&message, &ctx)?;

        // A signature that does not verify is never re-signed or passed on: refusing is
        // the only way not to launder a forgery (DESIGN §3 rule 5).
        for v in unwrapped.signatures() {
            if !v.valid() {
                let reason = v.reason().unwrap_or(unwrap::Reason::NoSigner);
                tracing::info!("incoming signature not accepted: {reason}");
                return Err(if reason.is_integrity() {
                    Failure::crypto()
                } else {
                    Failure::policy(format!(
                        "Incoming signature not accepted: {reason}; the gateway will not re-sign it"
                    ))
                });
            }
        }

        // Decide what to do: encryption first (it fixes the technology), then the
        // signature in the same technology.
        let incoming = unwrapped.layers.first().map(|l| match l {
            Layer::Encrypted { technology, .. } => *technology,
            Layer::Signed(v) => v.technology,
        });
        let facts = policy::Facts {
            mail_from: &env.mail_from,
            from: from.as_deref(),
            rcpts: &env.rcpts,
            incoming,
            arrived_encrypted: unwrapped.was_encrypted(),
            now,
        };
        let encrypt = policy::plan_encryption(&self.config, ks, &facts)?;
        let signer = policy::signer(
            &self.config,
            ks,
            &facts,
            encrypt.as_ref().map(|e| e.technology()),
        );
        let encrypted_to: Vec<String> = encrypt.as_ref().map(|p| p.addresses()).unwrap_or_default();

        let nothing_to_do = !unwrapped.was_encrypted() && signer.is_none() && encrypt.is_none();
        let (body_message, original_signature_kept) = if nothing_to_do {
            // Nothing to decrypt, sign or encrypt: the message (plain, or carrying only
            // valid signatures) stays byte-identical apart from the trace.
            (message.to_vec(), !unwrapped.layers.is_empty())
        } else {
            let (entity, kept) = match (&signer, &unwrapped.signed_entity) {
                (Some(_), _) => (unwrapped.content.clone(), false),
                // No key to re-sign with, but a valid original signature over the very
                // content we deliver: pass it on untouched.
                (None, Some(signed)) => (signed.clone(), true),
                (None, None) => (unwrapped.content.clone(), false),
            };
            let decision = policy::Decision {
                sign: signer,
                encrypt,
            };
            let protected = reseal::protect(entity, &decision, &env.mail_from, ks)?;
            (reseal::compose(&top, &protected), kept)
        };

        let rcpt = match env.rcpts.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let out = trace::apply(&body_message, trace, rcpt, now_dt)?;
        Ok(Outcome {
            message: out,
            layers: unwrapped.layers,
            signed_for: signer.map(|_| env.mail_from.clone()),
            original_signature_kept,
            encrypted_to,
        })
    }
}
