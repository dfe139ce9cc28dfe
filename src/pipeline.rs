//! The pipeline: receive → unwrap → adapt → record → reseal → trace → deliver.
//!
//! One function runs one message for every front end. It either returns the message to
//! deliver (or says it was held in quarantine), or a [`Failure`] that the front end turns
//! into an exit code, an SMTP reply or an NDR, always with the same trace id.

use reseal_keystore::Keystore;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::adapt::{self, Bypass, Change, Halt, Working};
use crate::config::{CbcPolicy, Config};
use crate::envelope::Envelope;
use crate::error::Failure;
use crate::mime::address::single_from;
use crate::mime::compose::{content_entity, is_content_field};
use crate::mime::{self, Entity};
use crate::pki;
use crate::policy;
use crate::record::{
    self, Frame, FrameArmor, FrameContent, LineEnds, LostSignature, OriginalSignature,
};
use crate::reseal;
use crate::trace::{self, Trace};
use crate::unwrap::{self, Layer, Technology, UnwrapContext};

/// The gateway: configuration, the services it runs, and the open keystore (if there
/// is one).
pub struct Gateway {
    pub config: Config,
    /// The adaptation services, in the order they run, built from `config.services`.
    pub services: Vec<adapt::Service>,
    pub keystore: Option<Keystore>,
    /// Where recipient keys are looked up, with its cache (`[discovery]`).
    pub discovery: crate::discovery::Discovery,
}

/// Who submitted the message (docs/smtp-extension.md: what a client may request depends on it).
#[derive(Clone, Debug, Default)]
pub struct Submitter {
    /// Admitted by network or authentication: may request bypass.
    pub admitted: bool,
    /// A bypass request made in the SMTP dialog (XOPES-BYPASS).
    pub bypass: Bypass,
    /// Whether the gateway may sign for this submitter's sender (SECURITY.md invariant 6: only
    /// an admitted client, and an authenticated one only for its own senders).
    pub may_sign: bool,
}

/// What happened to a message that went through.
#[derive(Debug)]
pub struct Outcome {
    /// The message to deliver (empty when held).
    pub message: Vec<u8>,
    /// The envelope to deliver with (address mapping may have changed it).
    pub envelope: Envelope,
    pub layers: Vec<Layer>,
    /// The sender the message was signed for, if the gateway signed it.
    pub signed_for: Option<String>,
    /// Whether the sender's original signature was passed on unchanged.
    pub original_signature_kept: bool,
    pub encrypted_to: Vec<String>,
    /// The changes services made (recorded in the modification record).
    pub changes: Vec<Change>,
    /// Set when a service held the message in quarantine.
    pub held: Option<String>,
}

/// The original header block for the record: the message's fields, with its Content-*
/// fields replaced by those of the entity the sender protected (the signed entity, or
/// the content entity), at the place the Content-* fields stood.
fn original_header(top: &Entity<'_>, entity_header: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut placed = false;
    for f in top.fields() {
        if is_content_field(top.field_name(f)) {
            if !placed {
                out.extend_from_slice(entity_header);
                placed = true;
            }
            continue;
        }
        out.extend_from_slice(top.field_raw(f));
    }
    if !placed {
        out.extend_from_slice(entity_header);
    }
    out
}

/// How the record carries the sender's innermost signature (docs/modification-record.md
/// §3.3): the signature and its frame, or why it cannot be carried, and the original
/// entity the record's recipe rebuilds.
fn original_signature(
    u: &unwrap::Unwrapped,
) -> (Option<OriginalSignature>, Option<LostSignature>, &[u8]) {
    let technology = match u.signatures().last().map(|v| v.technology) {
        Some(Technology::Openpgp) => "openpgp".to_owned(),
        _ => "smime".to_owned(),
    };
    let signer = u
        .signatures()
        .last()
        .and_then(|v| v.signer().map(str::to_owned));
    let lost = |reason: &str| LostSignature {
        technology: technology.clone(),
        signer: signer.clone(),
        reason: reason.to_owned(),
    };
    let carried = |frame: Frame| OriginalSignature {
        technology: technology.clone(),
        signer: signer.clone(),
        frame,
    };
    match &u.original {
        None => (None, None, &u.content),
        Some(unwrap::SignedOriginal::Multipart { entity, lf }) => match Frame::of(entity) {
            Some(mut frame) => {
                if *lf {
                    frame.line_ends = Some(LineEnds::Lf);
                }
                (Some(carried(frame)), None, &u.content)
            }
            None => (None, Some(lost(unwrap::LOST_NO_FRAME)), &u.content),
        },
        Some(unwrap::SignedOriginal::Inline { entity }) => {
            // The entity as received is the original entity; the frame adds nothing
            // around its body.
            let mut frame = Frame::new(&header_of(entity), b"", b"");
            frame.content = Some(FrameContent::Body);
            (Some(carried(frame)), None, entity)
        }
        Some(unwrap::SignedOriginal::Message {
            header,
            prefix,
            suffix,
            lf,
        }) => {
            let mut frame = Frame::new(header, prefix, suffix);
            frame.content = Some(FrameContent::Body);
            frame.line_ends = lf.then_some(LineEnds::Lf);
            frame.armor = Some(FrameArmor::Message);
            (Some(carried(frame)), None, &u.content)
        }
        Some(unwrap::SignedOriginal::Lost(reason)) => (None, Some(lost(reason)), &u.content),
    }
}

fn header_of(entity: &[u8]) -> Vec<u8> {
    Entity::parse(entity)
        .ok()
        .and_then(|e| entity.get(..e.header_end()).map(<[u8]>::to_vec))
        .unwrap_or_default()
}

/// Whether `m` holds a CR not followed by LF, or an LF not preceded by CR.
pub fn has_bare_newline(m: &[u8]) -> bool {
    memchr::memchr2_iter(b'\r', b'\n', m).any(|i| {
        if m.get(i) == Some(&b'\r') {
            m.get(i + 1) != Some(&b'\n')
        } else {
            i == 0 || m.get(i - 1) != Some(&b'\r')
        }
    })
}

impl Gateway {
    /// Builds the gateway, validating the configured services.
    pub fn new(config: Config, keystore: Option<Keystore>) -> Result<Gateway, Failure> {
        Ok(Gateway {
            services: adapt::services(&config.services)?,
            discovery: crate::discovery::Discovery::new(&config.discovery)?,
            config,
            keystore,
        })
    }

    fn anchors(&self) -> Vec<Certificate> {
        self.keystore.as_ref().map(pki::anchors).unwrap_or_default()
    }

    fn known_certs(&self) -> Vec<Certificate> {
        self.keystore
            .as_ref()
            .map(pki::known_certs)
            .unwrap_or_default()
    }

    /// Runs one message through the pipeline.
    pub fn process(
        &self,
        env: &Envelope,
        raw: &[u8],
        trace: &Trace,
        submitter: &Submitter,
    ) -> Result<Outcome, Failure> {
        if raw.len() > self.config.max_message_bytes {
            return Err(Failure::too_big(self.config.max_message_bytes));
        }
        // The CPU this message costs the pipeline, for the operator and for
        // benches/run.sh (`RESEAL_LOG=reseal::pipeline=debug`): this thread's CPU clock,
        // so waiting and other messages do not count.
        let cpu = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        // Every key operation for this message is recorded with its trace id
        // (keystore key-use log, docs/keys.md).
        let outcome = reseal_keystore::key_log::for_message(&trace.id, || {
            self.run(env, raw, trace, submitter)
        });
        let spent = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        let cpu_us = (i128::from(spent.tv_sec) - i128::from(cpu.tv_sec)) * 1_000_000
            + (i128::from(spent.tv_nsec) - i128::from(cpu.tv_nsec)) / 1_000;
        tracing::debug!(id = %trace.id, cpu_us, ok = outcome.is_ok(), "pipeline CPU");
        let outcome = outcome?;
        // RFC 5321 §2.3.8, RFC 5322 §2.3: CR and LF only as CRLF. A bare one in what
        // leaves (from a decrypted or adapted part) could end DATA early at the next
        // hop (SMTP smuggling): refuse rather than pass it on or alter it silently.
        if has_bare_newline(&outcome.message) {
            return Err(Failure::bare_newline());
        }
        let mut outcome = outcome;
        // DKIM last (RFC 6376 §5): after every adaptation, the re-seal and the trace, so
        // the signature covers the message exactly as it leaves. Only for a submitter the
        // gateway may sign for (SECURITY.md invariant 6): the domain's signature on a
        // stranger's mail that claims the domain would defeat DMARC.
        if outcome.held.is_none()
            && let Some(ks) = &self.keystore
            && ks.dkim_keys().next().is_some()
        {
            if submitter.may_sign {
                let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
                crate::dkim::sign(&mut outcome.message, ks, &self.config.dkim, now)?;
            } else {
                tracing::info!("this submitter may not have mail signed: not DKIM-signing");
            }
        }
        Ok(outcome)
    }

    fn run(
        &self,
        env: &Envelope,
        raw: &[u8],
        trace: &Trace,
        submitter: &Submitter,
    ) -> Result<Outcome, Failure> {
        // A pipe's input may have LF line ends (to_crlf makes them CRLF); a bare CR is
        // refused (RFC 5322 §2.3), as `reseal serve` refuses bare CR and LF in DATA.
        let message = mime::to_crlf(raw);
        if has_bare_newline(&message) {
            return Err(Failure::bare_newline());
        }
        let top = Entity::parse(&message)?;
        if top.fields().is_empty() {
            return Err(mime::MimeError::NoHeaders.into());
        }
        let from = single_from(&top);
        let now_dt = OffsetDateTime::now_utc();
        let now = u64::try_from(now_dt.unix_timestamp()).unwrap_or(0);
        let ks = self.keystore.as_ref();

        // Unwrap.
        let ctx = UnwrapContext {
            keystore: ks,
            // A delegated key decrypts only for the envelope sender it acts for, and
            // only for a submitter admitted for that sender (like signing, rule 6):
            // otherwise anyone could add a delegated
            // user as a recipient and have the gateway decrypt that user's mail to them.
            parties: if submitter.may_sign && !env.mail_from.is_empty() {
                vec![env.mail_from.clone()]
            } else {
                Vec::new()
            },
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
            trial_decryption: false,
        };
        let (mut unwrapped, foreign) = match unwrap::unwrap_entity(&top, &ctx) {
            // Encrypted to others only, and the operator lets that through: the
            // ciphertext goes on unopened, neither signed nor re-encrypted; services
            // see it as one part they cannot read (docs/architecture.md).
            Err(f)
                if f.is_foreign_encryption()
                    && self.config.foreign_encryption
                        == crate::config::ForeignEncryption::Passthrough =>
            {
                tracing::info!("encrypted to others only: passed through unopened");
                let content = content_entity(&top);
                (
                    unwrap::Unwrapped {
                        content: content.into(),
                        layers: Vec::new(),
                        signed_entity: None,
                        original: None,
                    },
                    true,
                )
            }
            r => (r?, false),
        };

        // A signature that does not verify is never re-signed or passed on: refusing is
        // the only way not to launder a forgery (SECURITY.md invariant 5).
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

        // RFC 8551 §2.7.1: remember what verified S/MIME signers announced they can
        // decrypt (every signature here verified), for mail to them
        // (crate::capabilities).
        // Read from disk only when a message needs it (an S/MIME signature to learn
        // from, an S/MIME recipient to choose for).
        let mut capabilities = crate::capabilities::Lazy::new(&self.config.keystore);
        if ks.is_some()
            && let Some(entity) = unwrapped.signed_entity.as_ref()
            && unwrapped
                .signatures()
                .any(|v| v.technology == Technology::Smime)
        {
            capabilities.learn_from_signed_entity(entity, now_dt);
        }

        // Adapt.
        let mut header = Vec::new();
        for f in top.fields() {
            let n = top.field_name(f);
            if !is_content_field(n) && !n.eq_ignore_ascii_case("MIME-Version") {
                header.extend_from_slice(top.field_raw(f));
            }
        }
        let mut w = Working {
            header,
            // The services' own copy to change; with no services there is nothing to
            // copy for.
            entity: if self.services.is_empty() {
                Vec::new()
            } else {
                unwrapped.content.to_vec()
            },
            envelope: env.clone(),
        };
        let mut bypass = submitter.bypass.clone();
        for f in top.get_all("OPES-Bypass") {
            bypass.merge(&Bypass::parse(&mime::unfold(top.field_value(f))));
        }
        let actx = adapt::Context {
            admitted: submitter.admitted,
            bypass,
            system: &self.config.opes_system,
        };
        let (changes, notes) = match adapt::run(&self.services, &mut w, &actx) {
            Ok(r) => r,
            // adapt::run turns a service failure into its on_failure already.
            Err(Halt::Reject(f) | Halt::Failed(f)) => return Err(f),
            Err(Halt::Quarantine { service, reason }) => {
                crate::quarantine::hold(
                    &self.config.quarantine_dir,
                    &trace.id,
                    env,
                    raw,
                    &service,
                    &reason,
                )?;
                return Ok(Outcome {
                    message: Vec::new(),
                    envelope: env.clone(),
                    layers: unwrapped.layers,
                    signed_for: None,
                    original_signature_kept: false,
                    encrypted_to: Vec::new(),
                    changes: Vec::new(),
                    held: Some(trace.id.clone()),
                });
            }
        };
        let via: Vec<String> = notes
            .iter()
            .filter(|n| n.decision != adapt::Decision::NoChange)
            .map(|n| trace::via_entry(trace, n))
            .collect();
        let env = w.envelope.clone();
        let from_after = Entity::parse(&w.header)
            .ok()
            .and_then(|e| single_from(&e))
            .or(from);

        // Decide: encryption first (it fixes the technology), then the signature.
        let incoming = unwrapped.layers.first().map(|l| match l {
            Layer::Encrypted { technology, .. } => *technology,
            Layer::Signed(v) => v.technology,
        });
        let facts = policy::Facts {
            mail_from: &env.mail_from,
            from: from_after.as_deref(),
            rcpts: &env.rcpts,
            incoming,
            arrived_encrypted: unwrapped.was_encrypted(),
            now,
            capabilities: ks.map(|_| &capabilities),
        };
        let encrypt = if foreign {
            None
        } else {
            policy::plan_encryption(&self.config, ks, &self.discovery, &facts)?
        };
        let signer = if foreign {
            None
        } else if submitter.may_sign {
            policy::signer(
                &self.config,
                ks,
                &facts,
                encrypt.as_ref().map(|e| e.technology()),
            )
        } else {
            tracing::info!("this submitter may not have mail signed: not signing");
            None
        };
        let encrypted_to: Vec<String> = encrypt.as_ref().map(|p| p.addresses()).unwrap_or_default();
        let rcpt = match env.rcpts.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };

        let nothing_to_do = changes.is_empty()
            && !unwrapped.was_encrypted()
            && signer.is_none()
            && encrypt.is_none();
        if nothing_to_do {
            // Nothing to decrypt, change, sign or encrypt: the message (plain, or carrying
            // only valid signatures) stays byte-identical apart from the trace.
            let out = trace::apply(&message, trace, rcpt, now_dt, &via)?;
            return Ok(Outcome {
                message: out,
                envelope: env,
                original_signature_kept: !unwrapped.layers.is_empty(),
                layers: unwrapped.layers,
                signed_for: None,
                encrypted_to,
                changes,
                held: None,
            });
        }

        // Trace the outer header now: the record binds the header as it will leave.
        let traced = trace::apply(&w.header, trace, rcpt, now_dt, &via)?;
        let received_len = trace.received(rcpt, now_dt).len();
        let delivered_header = traced.get(received_len..).unwrap_or_default().to_vec();

        let (entity, kept) = if changes.is_empty() {
            // Nothing changed: what leaves is the content as unwrapped. The services'
            // copy is used if it is byte for byte the same; otherwise the content itself,
            // taken out of the unwrapped views (no copy when nothing else shares it).
            let worked = std::mem::take(&mut w.entity);
            match (&signer, &unwrapped.signed_entity) {
                // No key to re-sign with, but a valid original signature over the very
                // content we deliver: pass it on untouched.
                (None, Some(signed)) => (signed.to_vec(), true),
                _ if !worked.is_empty() && worked == unwrapped.content => (worked, false),
                _ => {
                    drop(worked);
                    unwrapped.signed_entity = None;
                    unwrapped.original = None;
                    (Vec::from(std::mem::take(&mut unwrapped.content)), false)
                }
            }
        } else {
            // Record.
            let (signature, signature_lost, original_entity) = original_signature(&unwrapped);
            let entity_header = match &signature {
                Some(s) => s.frame.header_bytes().unwrap_or_default(),
                None => header_of(&unwrapped.content),
            };
            let original_header = original_header(&top, &entity_header);
            let tech = encrypt
                .as_ref()
                .map(|e| e.technology())
                .or(signer.map(|s| s.technology()))
                .or(incoming)
                .unwrap_or(Technology::Smime);
            let rec = record::build(record::Inputs {
                trace,
                technology: tech,
                original_header: &original_header,
                original_entity,
                signature,
                signature_lost,
                delivered_header: &delivered_header,
                delivered_entity: &w.entity,
                changes: changes.clone(),
            });
            let json = serde_json::to_vec(&rec)
                .map_err(|e| Failure::temporary(format!("cannot encode the record: {e}")))?;
            let ks = ks.ok_or_else(|| {
                Failure::config(
                    "services changed the message but there is no keystore to sign the record",
                )
            })?;
            let sig = record::seal::sign(ks, tech, &json)?;
            let attached = record::attach(&w.entity, &json, &sig);
            drop(std::mem::take(&mut w.entity));
            (attached, false)
        };
        // Only the layers are still needed: the unwrapped views (which may share one
        // large buffer) go before the sealing makes its copies (docs/performance.md,
        // "Memory").
        let unwrap::Unwrapped {
            layers,
            content,
            signed_entity,
            original,
        } = unwrapped;
        drop((content, signed_entity, original));

        let decision = policy::Decision {
            sign: signer,
            encrypt,
        };
        let protected = reseal::protect(entity, &decision, &env.mail_from, ks)?;
        // The header goes in front of the sealed entity in its own buffer (which grows in
        // place) rather than the entity being copied behind the header.
        let mut out = protected;
        out.splice(
            0..0,
            traced
                .iter()
                .chain(b"MIME-Version: 1.0\r\n".iter())
                .copied(),
        );
        Ok(Outcome {
            message: out,
            envelope: env.clone(),
            layers,
            signed_for: signer.map(|_| env.mail_from.clone()),
            original_signature_kept: kept,
            encrypted_to,
            changes,
            held: None,
        })
    }
}
