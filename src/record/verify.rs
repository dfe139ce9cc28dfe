//! `reseal verify`: the recipient's and auditor's check of a delivered message. It
//! decrypts with the given key, checks the outer signature, reads the modification
//! record, checks the record's signature and its binding to what was delivered, rebuilds
//! the original, and checks the sender's original signature over it.
//!
//! It reports every finding as data (docs/verify-json.md); it never trusts the gateway
//! for anything the record's signature and digests do not prove.

use serde::Serialize;
use x509_cert::Certificate;

use super::binding;
use super::seal::Identities;
use super::{Record, detach, original_message};
use crate::adapt::digest;
use crate::mime::{self, Entity};
use crate::sanitize::log_text;
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

/// Where a header field the record does not cover stands (docs/verify-json.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// Above the gateway's Received line: added after the gateway.
    AboveTrace,
    /// The gateway's own Received line.
    Trace,
    /// Content-* and MIME-Version below it: the protective wrapping.
    Wrapping,
    /// No record (or no trace of the gateway) binds the header at all.
    Unbound,
}

/// One header field of the delivered message that the record does not cover.
#[derive(Debug, Clone, Serialize)]
pub struct UncoveredField {
    pub field: String,
    pub place: Place,
    /// Whether it may stand there without lowering the verdict.
    pub allowed: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct HeaderReport {
    /// The record binds the header fields below the gateway's Received line, and that
    /// line is as the gateway wrote it (docs/modification-record.md §3.2).
    pub covered: bool,
    /// Every header field the record does not cover, top down.
    pub uncovered: Vec<UncoveredField>,
    /// Single-instance fields (RFC 5322 §3.6) that appear more than once.
    pub duplicates: Vec<String>,
}

/// The verdict when everything present verifies (docs/verify-json.md).
pub const PASS: &str = "pass";
/// The verdict otherwise: something a signature or the record covers does not verify,
/// the header is ambiguous (a duplicated single-instance field), or the message was
/// altered after the gateway (`altered_after_gateway`).
pub const FAIL: &str = "fail";

/// The verification report (docs/verify-json.md).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub outer: OuterReport,
    pub record: RecordReport,
    pub header: HeaderReport,
    pub original: OriginalReport,
    /// [`PASS`] or [`FAIL`].
    pub verdict: &'static str,
    /// A field a reader may show was added above the gateway's Received line, or text
    /// around the gateway's wrapper (docs/modification-record.md §3.4): the message was
    /// changed after the gateway where nothing signed covers it. The verdict fails.
    pub altered_after_gateway: bool,
    /// Every problem found, each saying where.
    pub problems: Vec<String>,
    /// Findings that do not change the verdict but that a reader should know about
    /// (identity look-alikes, an unprotected header).
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub original_message: Option<Vec<u8>>,
}

impl Report {
    /// A problem that shows the message was altered after the gateway.
    fn altered(&mut self, problem: String) {
        self.problems.push(problem);
        self.altered_after_gateway = true;
    }

    fn finish(&mut self) {
        self.verdict = if self.problems.is_empty() { PASS } else { FAIL };
    }
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
    let pos = fields
        .iter()
        .position(|(n, raw)| binding::is_gateway_received(n, raw, id))?;
    let mut out = Vec::new();
    for (n, raw) in fields.iter().skip(pos + 1) {
        if binding::is_wrapping_field(n) {
            continue;
        }
        out.extend_from_slice(raw);
    }
    Some(out)
}

/// How far the content check got, and what it learnt about the header's binding.
enum Scope {
    /// It stopped before a record could be read (the verdict fails already).
    Unknown,
    /// The delivered message carries no record: nothing binds its header.
    NoRecord,
    /// A record was read.
    Record(Binding),
}

/// What the record says about the header, and what the content check found.
struct Binding {
    /// The record's trace id and time (docs/modification-record.md §2).
    id: String,
    time: String,
    /// The record's signature verified.
    signature_ok: bool,
    /// The delivered header block matched `delivered.header_digest`.
    header_ok: bool,
    /// The record's entity sits inside a wrapper the gateway made (it signed or
    /// encrypted), so the outermost multipart, if any, is the gateway's.
    wrapped: bool,
}

/// Verifies a delivered message.
pub fn verify(message: &[u8], input: &Inputs<'_>) -> Report {
    let mut r = Report::default();
    let message = mime::to_crlf(message).into_owned();
    let scope = check_content(&message, input, &mut r);
    check_header(&message, &scope, &mut r);
    r.finish();
    r
}

/// The outer layers, the record, its binding to the delivered entity and header block,
/// and the original.
fn check_content(message: &[u8], input: &Inputs<'_>, r: &mut Report) -> Scope {
    let from = Entity::parse(message)
        .ok()
        .and_then(|e| crate::mime::address::single_from(&e));
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
    let un = match unwrap::unwrap(message, &ctx) {
        Ok(u) => u,
        Err(f) => {
            r.problems.push(format!("outer: {}", f.text));
            r.outer.reason = Some(f.text);
            return Scope::Unknown;
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
            if let Ok(top) = Entity::parse(message) {
                m = crate::mime::compose::message(&top, &un.content);
            }
            r.original_message = Some(m);
            return Scope::NoRecord;
        }
        Err(e) => {
            r.record.present = true;
            r.problems.push(format!("record: {e}"));
            return Scope::Unknown;
        }
    };
    r.record.present = true;
    let record: Record = match serde_json::from_slice(&carried.json) {
        Ok(rec) => rec,
        Err(e) => {
            r.problems
                .push(format!("record: not a valid record document: {e}"));
            return Scope::Unknown;
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
    let signature_ok = r.record.valid;

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
    let dh = delivered_header(message, &record.id);
    let header_ok = dh
        .as_ref()
        .is_some_and(|h| digest(h) == record.delivered.header_digest);
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
                        let m =
                            original_message(&header, &entity, record.original.signature.as_ref());
                        if m.is_none() {
                            r.problems.push(
                                "original: the record's signature frame does not apply to the \
                                 rebuilt entity"
                                    .into(),
                            );
                        }
                        m
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
            check_original(&orig, input, r);
            if record.original.signature.is_some()
                && !r.original.signed
                && r.original.reason.is_none()
            {
                // The record carries a signature the rebuilt original does not show:
                // never a pass with the signature gone.
                let why = "the record carries the sender's signature, but the rebuilt \
                           original holds none";
                r.original.reason = Some(why.to_owned());
                r.problems.push(format!("original: {why}"));
            }
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
    if let Some(lost) = &record.original.signature_lost {
        // The sender's message was signed, the signature verified at the gateway, and it
        // cannot travel with the original (docs/modification-record.md §3.3).
        let why = format!(
            "the sender's {} signature cannot be carried with the original: {} ({})",
            log_text(&lost.technology),
            log_text(&lost.reason),
            unwrap::lost_reason_text(&lost.reason)
        );
        r.original.signed = true;
        r.original.valid = false;
        r.original.signer = lost.signer.clone();
        r.original.reason = Some(why.clone());
        r.problems.push(format!("original signature: {why}"));
    }
    Scope::Record(Binding {
        id: record.id.clone(),
        time: record.time.clone(),
        signature_ok,
        header_ok,
        wrapped: !un.layers.is_empty(),
    })
}

/// The header fields the record does not cover (docs/modification-record.md §3.2,
/// §3.4): fields above the gateway's Received line may only be trace and authentication
/// fields, the gateway's own Received line must read back exactly as the gateway wrote
/// it, no single-instance field may appear twice, and the gateway's wrapper may carry no
/// added text. Also the identity warnings.
fn check_header(message: &[u8], scope: &Scope, r: &mut Report) {
    let Ok(top) = Entity::parse(message) else {
        return;
    };
    let name = |f: &mime::Field| top.field_name(f);

    // RFC 5322 §3.6: at most one of each, anywhere in the header.
    for single in binding::SINGLE_INSTANCE {
        let n = top.get_all(single).count();
        if n > 1 {
            r.header.duplicates.push((*single).to_owned());
            r.problems.push(format!(
                "header: {single} appears {n} times; RFC 5322 §3.6 allows it once, and readers \
                 would disagree about which one to show"
            ));
        }
    }
    r.warnings
        .extend(binding::identity_warnings(&top, r.outer.signer.as_deref()));

    let unbound = |r: &mut Report| {
        for f in top.fields() {
            r.header.uncovered.push(UncoveredField {
                field: binding::shown_name(name(f)),
                place: Place::Unbound,
                allowed: true,
            });
        }
    };
    let b = match scope {
        Scope::Record(b) => b,
        Scope::NoRecord => {
            unbound(r);
            r.warnings.push(
                "header: there is no modification record, so no signature covers the header \
                 fields (From, To, Subject, ...)"
                    .into(),
            );
            return;
        }
        Scope::Unknown => {
            unbound(r);
            return;
        }
    };
    let fields = top.fields();
    let Some(pos) = fields
        .iter()
        .position(|f| binding::is_gateway_received(name(f), top.field_raw(f), &b.id))
    else {
        // check_content reported the missing trace already.
        unbound(r);
        return;
    };

    // The gateway's own Received line (docs/modification-record.md §3.2).
    let mut trace_ok = true;
    let copies = fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            *i != pos && binding::is_gateway_received(name(f), top.field_raw(f), &b.id)
        })
        .count();
    if copies > 0 {
        trace_ok = false;
        r.problems.push(format!(
            "trace: {} Received lines carry the gateway's trace id {}; it writes one",
            copies + 1,
            log_text(&b.id)
        ));
    }
    let raw = fields
        .get(pos)
        .map(|f| top.field_raw(f))
        .unwrap_or_default();
    match binding::parse_gateway_received(raw) {
        Some(t) if t.id == b.id => match binding::rfc3339(&b.time) {
            Some(time)
                if t.date >= time - binding::TRACE_BEFORE_RECORD
                    && t.date <= time + binding::TRACE_AFTER_RECORD => {}
            Some(_) => {
                trace_ok = false;
                r.problems.push(format!(
                    "trace: the date of the gateway's Received line is not that of the \
                     record (time {})",
                    log_text(&b.time)
                ));
            }
            None => {
                trace_ok = false;
                r.problems.push(format!(
                    "trace: the record's time {} is not an RFC 3339 date-time",
                    log_text(&b.time)
                ));
            }
        },
        _ => {
            trace_ok = false;
            r.problems.push(format!(
                "trace: the gateway's Received line (id {}) was altered: it does not read as \
                 the gateway writes it",
                log_text(&b.id)
            ));
        }
    }
    if !trace_ok {
        r.record.valid = false;
    }

    for (i, f) in fields.iter().enumerate() {
        let n = name(f);
        let shown = binding::shown_name(n);
        if i < pos {
            let allowed = binding::allowed_above_trace(n);
            if !allowed {
                r.altered(format!(
                    "header: {shown} stands above the gateway's Received line: it was added \
                     after the gateway, and the record does not cover it"
                ));
            }
            r.header.uncovered.push(UncoveredField {
                field: shown,
                place: Place::AboveTrace,
                allowed,
            });
        } else if i == pos {
            r.header.uncovered.push(UncoveredField {
                field: shown,
                place: Place::Trace,
                allowed: trace_ok,
            });
        } else if binding::is_wrapping_field(n) {
            r.header.uncovered.push(UncoveredField {
                field: shown,
                place: Place::Wrapping,
                allowed: true,
            });
        }
    }
    r.header.covered = b.signature_ok && b.header_ok && trace_ok;

    // The preamble and epilogue of the gateway's wrapper; inside it, the entity digest
    // covers every byte (docs/modification-record.md §3.4).
    if b.wrapped {
        for p in binding::wrapper_problems(message) {
            r.altered(p);
        }
    }
}

/// Checks the sender's original signature over the rebuilt original.
fn check_original(orig: &[u8], input: &Inputs<'_>, r: &mut Report) {
    let from = Entity::parse(orig)
        .ok()
        .and_then(|e| crate::mime::address::single_from(&e));
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn verdicts() {
        let mut r = Report::default();
        r.finish();
        assert_eq!(r.verdict, PASS);
        assert!(!r.altered_after_gateway);
        r.altered("header: X-Note stands above".into());
        r.finish();
        assert_eq!(r.verdict, FAIL);
        assert!(r.altered_after_gateway);
    }

    const ID: &str = "a7aefc7740600a61cead5dd4";

    /// A delivered header as the gateway writes it: its Received line, its OPES field,
    /// the sender's fields, the wrapping. The record's time is a second later.
    fn delivered(above: &str) -> (Vec<u8>, Scope) {
        let t = crate::trace::Trace {
            system: "https://gw.example.com/opes".into(),
            privacy_policy: "https://gw.example.com/privacy".into(),
            hostname: "gw.example.com".into(),
            id: ID.into(),
        };
        let now = time::OffsetDateTime::from_unix_timestamp(1_795_833_488).unwrap();
        let m = format!(
            "{above}{}OPES-System: {}\r\nFrom: Alice <alice@example.com>\r\nSubject: s\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
            t.received(Some("carol@example.com"), now),
            t.system_entry()
        );
        (
            m.into_bytes(),
            Scope::Record(binding("2026-11-28T02:38:09.5Z")),
        )
    }

    fn binding(time: &str) -> Binding {
        Binding {
            id: ID.into(),
            time: time.into(),
            signature_ok: true,
            header_ok: true,
            wrapped: true,
        }
    }

    fn header(above: &str) -> Report {
        let (m, scope) = delivered(above);
        let mut r = Report::default();
        check_header(&m, &scope, &mut r);
        r.finish();
        r
    }

    #[test]
    fn what_the_record_does_not_cover() {
        let r = header("Received: from mx by mail; Sat, 28 Nov 2026 02:40:00 +0000\r\n");
        assert_eq!(r.verdict, PASS, "{:?}", r.problems);
        assert!(r.header.covered);
        let u: Vec<(&str, Place, bool)> = r
            .header
            .uncovered
            .iter()
            .map(|u| (u.field.as_str(), u.place, u.allowed))
            .collect();
        assert_eq!(
            u,
            [
                ("Received", Place::AboveTrace, true),
                ("Received", Place::Trace, true),
                ("MIME-Version", Place::Wrapping, true),
                ("Content-Type", Place::Wrapping, true),
            ]
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn fields_above_the_trace_that_a_reader_shows() {
        for (above, duplicate) in [
            ("reply-to: <x@evil.test>\r\n", false),
            ("X-Spam-Flag: NO\r\n", false),
            ("Subject: URGENT\r\n", true),
            ("From: Alice <alice@example.com>\r\n", true),
        ] {
            let r = header(above);
            assert_eq!(r.verdict, FAIL, "{above}");
            assert!(r.altered_after_gateway, "{above}");
            assert_eq!(r.header.duplicates.len(), usize::from(duplicate), "{above}");
            assert_eq!(r.problems.len(), 1 + usize::from(duplicate), "{above}");
            let name = above.split(':').next().unwrap();
            assert!(
                r.problems
                    .iter()
                    .any(|p| p.starts_with(&format!("header: {name} stands above"))),
                "{above}: {:?}",
                r.problems
            );
            assert!(!r.header.uncovered[0].allowed);
        }
    }

    #[test]
    fn the_trace_must_read_back() {
        let (m, scope) = delivered("");
        let text = String::from_utf8(m).unwrap();
        for (from, to) in [
            ("Received: by ", "Received: from x by "),
            ("(Reseal ", "(Reseal  "),
            ("02:38:08", "01:30:00"),
        ] {
            let bad = text.replacen(from, to, 1);
            let mut r = Report::default();
            check_header(bad.as_bytes(), &scope, &mut r);
            r.finish();
            assert_eq!(r.verdict, FAIL, "{to}");
            assert!(!r.header.covered && !r.record.valid, "{to}");
            assert!(r.problems.iter().any(|p| p.starts_with("trace:")), "{to}");
            assert!(!r.altered_after_gateway, "{to}: a plain failure");
        }
        let mut r = Report::default();
        check_header(
            text.as_bytes(),
            &Scope::Record(binding("yesterday")),
            &mut r,
        );
        assert!(r.problems.iter().any(|p| p.contains("not an RFC 3339")));
    }

    #[test]
    fn without_a_record_nothing_is_bound() {
        let m = b"From: a@example.com\r\nDate: x\r\nDate: y\r\nSubject: s\r\n\r\nbody\r\n";
        let mut r = Report::default();
        check_header(m, &Scope::NoRecord, &mut r);
        r.finish();
        assert_eq!(r.verdict, FAIL);
        assert_eq!(r.header.duplicates, ["Date"]);
        assert!(!r.header.covered);
        assert!(!r.altered_after_gateway);
        assert!(
            r.header
                .uncovered
                .iter()
                .all(|u| u.place == Place::Unbound && u.allowed)
        );
        assert_eq!(r.header.uncovered.len(), 4);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.contains("no modification record"))
        );
    }
}
