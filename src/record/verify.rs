//! `reseal verify`: the recipient's and auditor's check of a delivered message. It
//! decrypts with the given key, checks the outer signature, reads the modification
//! record, checks the record's signature and its binding to what was delivered, rebuilds
//! the original, and checks the sender's original signature over it.
//!
//! It reports every finding as data (docs/verify-json.md); it never trusts the gateway
//! for anything the record's signature and digests do not prove.

use serde::Serialize;
use x509_cert::Certificate;

use super::seal::Identities;
use super::{Record, detach, original_message};
use crate::adapt::digest;
use crate::mime::{self, Entity};
use crate::unwrap::{self, Layer, Technology, UnwrapContext};

#[derive(Debug, Default, Serialize)]
pub struct OuterReport {
    pub encrypted: bool,
    pub signed: bool,
    pub valid: bool,
    pub signer: Option<String>,
    pub technology: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ChangeReport {
    pub service: String,
    pub kind: String,
    pub place: String,
    pub reversible: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct RecordReport {
    pub present: bool,
    pub valid: bool,
    pub system: Option<String>,
    pub id: Option<String>,
    pub signer: Option<String>,
    pub changes: Vec<ChangeReport>,
}

#[derive(Debug, Default, Serialize)]
pub struct OriginalReport {
    pub reconstructible: bool,
    pub digest: Option<String>,
    pub signed: bool,
    pub valid: bool,
    pub signer: Option<String>,
    pub reason: Option<String>,
}

/// The verification report (docs/verify-json.md).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub outer: OuterReport,
    pub record: RecordReport,
    pub original: OriginalReport,
    /// "pass" or "fail".
    pub verdict: &'static str,
    /// Every problem found, each saying where.
    pub problems: Vec<String>,
    #[serde(skip)]
    pub original_message: Option<Vec<u8>>,
}

/// What the verifier was given.
pub struct Inputs<'a> {
    pub keystore: Option<&'a reseal_keystore::Keystore>,
    pub parties: Vec<String>,
    pub anchors: Vec<Certificate>,
    pub known_certs: Vec<Certificate>,
    pub pgp_certs: Vec<sequoia_openpgp::Cert>,
    pub identities: Identities,
    pub now: u64,
    pub max_bytes: usize,
}

fn tech_name(t: Technology) -> String {
    match t {
        Technology::Smime => "smime".into(),
        Technology::Openpgp => "openpgp".into(),
    }
}

/// Splits a header block into raw fields.
fn field_list(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    crate::adapt::headers_fields(header)
}

/// The delivered header block below the gateway's Received line for trace `id`, without
/// Content-* and MIME-Version: what `Delivered::header_digest` covers.
pub fn delivered_header(message: &[u8], id: &str) -> Option<Vec<u8>> {
    let e = Entity::parse(message).ok()?;
    let header = message.get(..e.header_end())?;
    let fields = field_list(header);
    let needle = format!(" id {id}");
    let pos = fields.iter().position(|(n, raw)| {
        n.eq_ignore_ascii_case("Received") && {
            let v = mime::unfold(raw);
            v.contains("(Reseal ")
                && v.split([';', '\t', ' ']).any(|t| t == id)
                && v.contains(&needle)
        }
    })?;
    let mut out = Vec::new();
    for (n, raw) in fields.iter().skip(pos + 1) {
        if unwrap::is_content_field(n) || n.eq_ignore_ascii_case("MIME-Version") {
            continue;
        }
        out.extend_from_slice(raw);
    }
    Some(out)
}

/// Verifies a delivered message.
pub fn verify(message: &[u8], input: &Inputs<'_>) -> Report {
    let mut r = Report::default();
    let message = mime::to_crlf(message).into_owned();
    let from = Entity::parse(&message)
        .ok()
        .and_then(|e| unwrap::single_from(&e));
    let ctx = UnwrapContext {
        keystore: input.keystore,
        parties: input.parties.clone(),
        from,
        now: input.now,
        anchors: input.anchors.clone(),
        known_certs: input.known_certs.clone(),
        allow_cbc: true,
        pgp_certs: input.pgp_certs.clone(),
        max_plaintext: input.max_bytes,
        trial_decryption: true,
    };
    let un = match unwrap::unwrap(&message, &ctx) {
        Ok(u) => u,
        Err(f) => {
            r.problems.push(format!("outer: {}", f.text));
            r.outer.reason = Some(f.text);
            r.verdict = "fail";
            return r;
        }
    };
    // Outer layers.
    for l in &un.layers {
        match l {
            Layer::Encrypted { technology, .. } => {
                r.outer.encrypted = true;
                r.outer
                    .technology
                    .get_or_insert_with(|| tech_name(*technology));
            }
            Layer::Signed(v) => {
                r.outer
                    .technology
                    .get_or_insert_with(|| tech_name(v.technology));
                if !r.outer.signed {
                    r.outer.signed = true;
                    r.outer.valid = v.valid();
                    r.outer.signer = v.signer().map(str::to_owned);
                } else {
                    r.outer.valid &= v.valid();
                }
                if let Some(reason) = v.reason() {
                    r.outer.reason.get_or_insert_with(|| reason.to_string());
                    r.problems.push(format!("outer signature: {reason}"));
                }
            }
        }
    }
    if !r.outer.signed {
        r.problems
            .push("outer: the delivered message is not signed".into());
    }

    // The record.
    let carried = match detach(&un.content) {
        Ok(c) => c,
        Err(super::ReadError::Absent) => {
            // No changes were recorded: the delivered content is the original.
            r.original = OriginalReport {
                reconstructible: true,
                digest: Some(digest(&un.content)),
                signed: r.outer.signed,
                valid: r.outer.valid,
                signer: r.outer.signer.clone(),
                reason: None,
            };
            let mut m = Vec::new();
            if let Ok(top) = Entity::parse(&message) {
                m = crate::reseal::compose(&top, &un.content);
            }
            r.original_message = Some(m);
            r.verdict = if r.problems.is_empty() {
                "pass"
            } else {
                "fail"
            };
            return r;
        }
        Err(e) => {
            r.record.present = true;
            r.problems.push(format!("record: {e}"));
            r.verdict = "fail";
            return r;
        }
    };
    r.record.present = true;
    let record: Record = match serde_json::from_slice(&carried.json) {
        Ok(rec) => rec,
        Err(e) => {
            r.problems
                .push(format!("record: not a valid record document: {e}"));
            r.verdict = "fail";
            return r;
        }
    };
    r.record.system = Some(record.system.clone());
    r.record.id = Some(record.id.clone());
    r.record.changes = record
        .changes
        .iter()
        .map(|c| ChangeReport {
            service: c.service.clone(),
            kind: c.kind.clone(),
            place: c.place.clone(),
            reversible: c.reversible,
        })
        .collect();
    match super::seal::verify(
        &record.technology,
        &carried.signature,
        &carried.json,
        &input.identities,
        input.now,
    ) {
        Ok(signer) => {
            r.record.valid = true;
            r.record.signer = Some(signer);
        }
        Err(e) => r.problems.push(format!("record signature: {e}")),
    }

    // Binding to what was delivered.
    if digest(&carried.entity) != record.delivered.entity_digest {
        r.record.valid = false;
        let now_parts = super::part_digests(&carried.entity);
        let mut places: Vec<String> = record
            .delivered
            .parts
            .iter()
            .filter(|(p, d)| !now_parts.iter().any(|(q, e)| q == p && e == d))
            .map(|(p, _)| format!("body:{p}"))
            .collect();
        if places.is_empty() {
            places.push("entity".into());
        }
        r.problems.push(format!(
            "record binding: the delivered content differs from what the record covers (at {})",
            places.join(", ")
        ));
    }
    let dh = delivered_header(&message, &record.id);
    match &dh {
        Some(h) if digest(h) == record.delivered.header_digest => {}
        Some(_) => {
            r.record.valid = false;
            r.problems.push(
                "record binding: the delivered header fields differ from what the record covers"
                    .into(),
            );
        }
        None => {
            r.record.valid = false;
            r.problems.push(format!(
                "record binding: no Received line of this gateway with id {} in the header",
                record.id
            ));
        }
    }

    // The original.
    r.original.digest = Some(record.original.digest.clone());
    let rebuilt = match (&record.recipe.h, &record.recipe.b, &dh) {
        (Some(h), Some(b), Some(dh)) => {
            let header = super::recipe::apply(dh, h);
            let entity = super::recipe::apply(&carried.entity, b);
            match (header, entity) {
                (Some(header), Some(entity)) => {
                    if digest(&entity) != record.original.entity_digest {
                        r.problems.push(
                            "original: the rebuilt entity does not match the record's digest"
                                .into(),
                        );
                        None
                    } else if digest(&header) != record.original.header_digest {
                        r.problems.push(
                            "original: the rebuilt header does not match the record's digest"
                                .into(),
                        );
                        None
                    } else {
                        original_message(&header, &entity, record.original.signature.as_ref())
                    }
                }
                _ => {
                    r.problems.push(
                        "original: the recipe does not apply to the delivered message".into(),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    match rebuilt {
        Some(orig) if digest(&orig) == record.original.digest => {
            r.original.reconstructible = true;
            check_original(&orig, input, &mut r);
            r.original_message = Some(orig);
        }
        Some(_) => r
            .problems
            .push("original: the rebuilt message does not match the record's digest".into()),
        None => {
            r.original.reconstructible = false;
            r.original.signed = record.original.signature.is_some();
            r.original.signer = record
                .original
                .signature
                .as_ref()
                .and_then(|s| s.signer.clone());
            r.original.reason = Some(
                "an irreversible change was made; the record commits to the original's digest"
                    .into(),
            );
        }
    }
    r.verdict = if r.problems.is_empty() {
        "pass"
    } else {
        "fail"
    };
    r
}

/// Checks the sender's original signature over the rebuilt original.
fn check_original(orig: &[u8], input: &Inputs<'_>, r: &mut Report) {
    let from = Entity::parse(orig)
        .ok()
        .and_then(|e| unwrap::single_from(&e));
    let ctx = UnwrapContext {
        keystore: None,
        parties: Vec::new(),
        from,
        now: input.now,
        anchors: input.anchors.clone(),
        known_certs: input.known_certs.clone(),
        allow_cbc: false,
        pgp_certs: input.pgp_certs.clone(),
        max_plaintext: input.max_bytes,
        trial_decryption: true,
    };
    match unwrap::unwrap(orig, &ctx) {
        Ok(u) => {
            let sigs: Vec<_> = u.signatures().collect();
            r.original.signed = !sigs.is_empty();
            r.original.valid = r.original.signed && sigs.iter().all(|v| v.valid());
            r.original.signer = sigs.first().and_then(|v| v.signer().map(str::to_owned));
            if let Some(reason) = sigs.iter().find_map(|v| v.reason()) {
                r.original.reason = Some(reason.to_string());
                r.problems.push(format!("original signature: {reason}"));
            }
        }
        Err(f) => {
            r.original.reason = Some(f.text.clone());
            r.problems.push(format!("original: {}", f.text));
        }
    }
}
