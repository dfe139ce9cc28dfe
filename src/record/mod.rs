//! The modification record (docs/modification-record.md): what the gateway
//! changed, bound to what it delivered, signed by the gateway's OPES identity, carried
//! inside the protected layer as two header fields of the delivered entity.
//!
//! It lets a verifier show three things: the delivered message is authentic (the outer
//! signature), the changes are authentic and complete (this record, its signature and
//! its digests of the delivered entity and header), and the original is authentic (the
//! recipes rebuild it byte for byte and the sender's original signature verifies; where
//! a change cannot be undone, the record commits to the original's digest instead).

pub mod binding;
pub mod recipe;
pub mod seal;
pub mod verify;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::adapt::{Change, digest};
use crate::mime::{self, Entity};

pub use recipe::Step;

/// The record's header field.
pub const FIELD: &str = "OPES-Record";
/// The record signature's header field.
pub const SIG_FIELD: &str = "OPES-Record-Signature";
/// Record format version.
pub const VERSION: u32 = 1;
/// The most bytes a record (or its signature) may take when read from a message.
pub const MAX_RECORD: usize = 4 << 20;

/// What a frame puts between its prefix and suffix (docs/modification-record.md §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameContent {
    /// The original entity, header fields included (the first part of a multipart/signed).
    Entity,
    /// The original entity's body only (an inline OpenPGP signature: the signed text).
    Body,
}

/// The line ends of what a frame puts between its prefix and suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnds {
    /// As the original entity has them: CRLF, the MIME canonical form.
    Crlf,
    /// Each CRLF replaced by LF: what a binary-mode OpenPGP signature covers when the
    /// sender signed LF text (RFC 9580 §5.2.1.1, §5.2.4).
    Lf,
}

/// What a frame's prefix, content and suffix are wrapped in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameArmor {
    /// The three are a binary OpenPGP message, written as ASCII Armor ([`crate::crypto::armor::message`]).
    Message,
}

/// The signed entity around the original content: `header` fields of the signed
/// entity, and the body bytes before (`prefix`) and after (`suffix`) the signed part.
///
/// Three optional members (docs/modification-record.md §3.3) describe forms where the
/// sender's signature does not cover the original entity as it is: `content` (absent:
/// the entity), `line_ends` (absent: CRLF) and `armor` (absent: none). A record without
/// them reads as before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub header: String,
    pub prefix: String,
    pub suffix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<FrameContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_ends: Option<LineEnds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub armor: Option<FrameArmor>,
}

impl Frame {
    /// Splits a multipart/signed entity around its first part. `None` for any other
    /// entity (an inline signature cannot be detached from its text).
    pub fn of(signed_entity: &[u8]) -> Option<Frame> {
        let e = Entity::parse(signed_entity).ok()?;
        if !e.content_type().ok()?.is("multipart/signed") {
            return None;
        }
        let mp = e.multipart().ok()?;
        let first = mp.parts.first()?;
        let body_start = e.body_offset();
        Some(Frame {
            header: B64.encode(signed_entity.get(..e.header_end())?),
            prefix: B64.encode(signed_entity.get(body_start..first.start)?),
            suffix: B64.encode(signed_entity.get(first.end..)?),
            content: None,
            line_ends: None,
            armor: None,
        })
    }

    /// A frame from its parts: the signed entity's `header` fields, and the bytes
    /// `prefix` and `suffix` around what `content` names.
    pub fn new(header: &[u8], prefix: &[u8], suffix: &[u8]) -> Frame {
        Frame {
            header: B64.encode(header),
            prefix: B64.encode(prefix),
            suffix: B64.encode(suffix),
            content: None,
            line_ends: None,
            armor: None,
        }
    }

    fn part(s: &str) -> Option<Vec<u8>> {
        B64.decode(s).ok()
    }

    /// The signed entity's header fields.
    pub fn header_bytes(&self) -> Option<Vec<u8>> {
        Frame::part(&self.header)
    }

    /// What the frame wraps the original entity into (docs/modification-record.md
    /// §3.3): the body of the original message.
    pub fn wrap(&self, entity: &[u8]) -> Option<Vec<u8>> {
        let inner: &[u8] = match self.content {
            None | Some(FrameContent::Entity) => entity,
            Some(FrameContent::Body) => Entity::parse(entity).ok()?.body(),
        };
        let inner = match self.line_ends {
            None | Some(LineEnds::Crlf) => std::borrow::Cow::Borrowed(inner),
            Some(LineEnds::Lf) => std::borrow::Cow::Owned(mime::crlf_to_lf(inner)),
        };
        let mut out = Frame::part(&self.prefix)?;
        out.extend_from_slice(&inner);
        out.extend_from_slice(&Frame::part(&self.suffix)?);
        Some(match self.armor {
            None => out,
            Some(FrameArmor::Message) => crate::crypto::armor::message(&out),
        })
    }
}

/// The original signature, as it can be re-attached to the rebuilt original.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalSignature {
    /// "smime" or "openpgp".
    pub technology: String,
    /// The signer's address, as verified when the gateway received the message.
    pub signer: Option<String>,
    pub frame: Frame,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// SHA-256 of the original message as the sender sent it (header, empty line, body).
    pub digest: String,
    /// SHA-256 of the original content entity (the signed part).
    pub entity_digest: String,
    /// SHA-256 of the original header block.
    pub header_digest: String,
    pub signature: Option<OriginalSignature>,
    /// Set when the sender's message carried a signature that verified but that the
    /// rebuilt original cannot carry (`signature` is then null). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_lost: Option<LostSignature>,
}

/// A verified original signature that cannot travel with the rebuilt original, and why
/// (docs/modification-record.md §3.3). A verifier fails the verdict on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostSignature {
    /// "smime" or "openpgp".
    pub technology: String,
    /// The signer's address, as verified when the gateway received the message.
    pub signer: Option<String>,
    /// A named reason ([`crate::unwrap::LOST_MIXED_LINE_ENDS`], [`crate::unwrap::LOST_NO_FRAME`]).
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// SHA-256 of the delivered content entity without the record's two fields.
    pub entity_digest: String,
    /// SHA-256 of each leaf part of the delivered entity, by section path, so a
    /// verifier can say which part changed.
    pub parts: Vec<(String, String)>,
    /// SHA-256 of the delivered header block below the gateway's Received line, without
    /// Content-* and MIME-Version fields (those belong to the protective wrapping).
    pub header_digest: String,
}

/// How to rebuild the original from what was delivered. `null` means "cannot be
/// rebuilt" (an irreversible change happened there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipe {
    pub h: Option<Vec<Step>>,
    pub b: Option<Vec<Step>>,
}

/// The record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub v: u32,
    /// The OPES System's agent URI.
    pub system: String,
    /// The trace id: the same as in the Received and OPES-System fields.
    pub id: String,
    pub time: String,
    pub policy: String,
    /// "smime" or "openpgp": how the record is signed.
    pub technology: String,
    pub original: Original,
    pub delivered: Delivered,
    pub changes: Vec<Change>,
    pub recipe: Recipe,
}

/// What `build` needs.
pub struct Inputs<'a> {
    pub trace: &'a crate::trace::Trace,
    pub technology: crate::unwrap::Technology,
    /// The original header block, each field CRLF-terminated, no empty line.
    pub original_header: &'a [u8],
    /// The original content entity.
    pub original_entity: &'a [u8],
    pub signature: Option<OriginalSignature>,
    pub signature_lost: Option<LostSignature>,
    /// The delivered header block (as `Delivered::header_digest` describes it).
    pub delivered_header: &'a [u8],
    /// The delivered content entity, without the record.
    pub delivered_entity: &'a [u8],
    pub changes: Vec<Change>,
}

/// The original message bytes from its parts (see docs/modification-record.md §3.3).
pub fn original_message(
    header: &[u8],
    entity: &[u8],
    signature: Option<&OriginalSignature>,
) -> Option<Vec<u8>> {
    let mut m = header.to_vec();
    m.extend_from_slice(b"\r\n");
    match signature {
        Some(s) => m.extend_from_slice(&s.frame.wrap(entity)?),
        None => {
            let e = Entity::parse(entity).ok()?;
            m.extend_from_slice(e.body());
        }
    }
    Some(m)
}

/// Leaf digests of an entity, by section path.
pub fn part_digests(entity: &[u8]) -> Vec<(String, String)> {
    match mime::tree::parse(entity) {
        Ok(t) => t
            .leaves()
            .iter()
            .map(|p| {
                (
                    p.path.clone(),
                    digest(entity.get(p.range.clone()).unwrap_or_default()),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Builds the record.
pub fn build(i: Inputs<'_>) -> Record {
    let body_reversible = !i
        .changes
        .iter()
        .any(|c| !c.reversible && (c.place.starts_with("body") || c.place == "entity"));
    let header_reversible = !i
        .changes
        .iter()
        .any(|c| !c.reversible && c.place.starts_with("header"));
    let b = if body_reversible {
        recipe::diff(i.delivered_entity, i.original_entity)
    } else {
        None
    };
    let h = if header_reversible {
        recipe::diff(i.delivered_header, i.original_header)
    } else {
        None
    };
    let original_msg = original_message(i.original_header, i.original_entity, i.signature.as_ref())
        .unwrap_or_default();
    Record {
        v: VERSION,
        system: i.trace.system.clone(),
        id: i.trace.id.clone(),
        time: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        policy: i.trace.privacy_policy.clone(),
        technology: match i.technology {
            crate::unwrap::Technology::Smime => "smime".into(),
            crate::unwrap::Technology::Openpgp => "openpgp".into(),
        },
        original: Original {
            digest: digest(&original_msg),
            entity_digest: digest(i.original_entity),
            header_digest: digest(i.original_header),
            signature: i.signature,
            signature_lost: i.signature_lost,
        },
        delivered: Delivered {
            entity_digest: digest(i.delivered_entity),
            parts: part_digests(i.delivered_entity),
            header_digest: digest(i.delivered_header),
        },
        changes: i.changes,
        recipe: Recipe { h, b },
    }
}

/// Folds a base64 value into a header field (RFC 5322 §2.2.3), 76 columns.
fn fold(name: &str, value: &str) -> Vec<u8> {
    let mut out = format!("{name}:").into_bytes();
    for chunk in value.as_bytes().chunks(72) {
        out.extend_from_slice(b"\r\n ");
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The delivered entity: the record fields first, then the entity.
pub fn attach(entity: &[u8], record_json: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = fold(FIELD, &B64.encode(record_json));
    out.extend_from_slice(&fold(SIG_FIELD, &B64.encode(signature)));
    out.extend_from_slice(entity);
    out
}

/// What a delivered entity carries: the record JSON, its signature, and the entity
/// without the two fields.
pub struct Carried {
    pub json: Vec<u8>,
    pub signature: Vec<u8>,
    pub entity: Vec<u8>,
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("no modification record")]
    Absent,
    #[error("the modification record fields are malformed: {0}")]
    Malformed(&'static str),
}

/// Finds and removes the record fields. Exactly one of each is required.
pub fn detach(entity: &[u8]) -> Result<Carried, ReadError> {
    let e = Entity::parse(entity).map_err(|_| ReadError::Malformed("entity"))?;
    let rec: Vec<_> = e.get_all(FIELD).collect();
    let sig: Vec<_> = e.get_all(SIG_FIELD).collect();
    if rec.is_empty() && sig.is_empty() {
        return Err(ReadError::Absent);
    }
    let ([r], [s]) = (rec.as_slice(), sig.as_slice()) else {
        return Err(ReadError::Malformed(
            "exactly one OPES-Record and one OPES-Record-Signature are required",
        ));
    };
    let decode = |f: &mime::Field| -> Result<Vec<u8>, ReadError> {
        let v: Vec<u8> = e
            .field_value(f)
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if v.len() > MAX_RECORD {
            return Err(ReadError::Malformed("record too large"));
        }
        B64.decode(&v).map_err(|_| ReadError::Malformed("base64"))
    };
    let json = decode(r)?;
    let signature = decode(s)?;
    let mut rest = Vec::with_capacity(entity.len());
    let mut pos = 0;
    let mut ranges = vec![r.raw.clone(), s.raw.clone()];
    ranges.sort_by_key(|x| x.start);
    for range in ranges {
        rest.extend_from_slice(entity.get(pos..range.start).unwrap_or_default());
        pos = range.end;
    }
    rest.extend_from_slice(entity.get(pos..).unwrap_or_default());
    Ok(Carried {
        json,
        signature,
        entity: rest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attach_detach_round_trip() {
        let e = b"Content-Type: text/plain\r\n\r\nhello\r\n";
        let json = br#"{"v":1}"#.repeat(30);
        let d = attach(e, &json, b"sig-bytes");
        let c = detach(&d).unwrap();
        assert_eq!(c.entity, e);
        assert_eq!(c.json, json);
        assert_eq!(c.signature, b"sig-bytes");
        assert_eq!(detach(e).err(), Some(ReadError::Absent));
        let twice = [d.as_slice(), b""].concat();
        let twice = attach(&twice, b"x", b"y");
        assert!(matches!(detach(&twice), Err(ReadError::Malformed(_))));
    }

    #[test]
    fn frame_of_multipart_signed() {
        let m = b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=b\r\n\r\npre\r\n--b\r\nSIGNED\r\n--b\r\nSIG\r\n--b--\r\n";
        let f = Frame::of(m).unwrap();
        let rebuilt = [
            Frame::part(&f.header).unwrap(),
            b"\r\n".to_vec(),
            Frame::part(&f.prefix).unwrap(),
            b"SIGNED".to_vec(),
            Frame::part(&f.suffix).unwrap(),
        ]
        .concat();
        assert_eq!(rebuilt, m);
        assert!(Frame::of(b"Content-Type: text/plain\r\n\r\nx").is_none());
        // Without the optional members, wrapping is prefix, entity, suffix.
        assert_eq!(
            f.wrap(b"SIGNED").unwrap(),
            m.get(e_body_start(m)..).unwrap()
        );
    }

    fn e_body_start(m: &[u8]) -> usize {
        Entity::parse(m).unwrap().body_offset()
    }

    #[test]
    fn frame_forms() {
        let entity = b"Content-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n";
        let mut f = Frame::new(b"Content-Type: x\r\n", b"<", b">");
        assert_eq!(f.wrap(entity).unwrap(), [b"<", &entity[..], b">"].concat());
        f.line_ends = Some(LineEnds::Lf);
        assert_eq!(
            f.wrap(entity).unwrap(),
            b"<Content-Type: text/plain\n\nline 1\nline 2\n>"
        );
        f.content = Some(FrameContent::Body);
        assert_eq!(f.wrap(entity).unwrap(), b"<line 1\nline 2\n>");
        f.armor = Some(FrameArmor::Message);
        assert_eq!(
            f.wrap(entity).unwrap(),
            crate::crypto::armor::message(b"<line 1\nline 2\n>")
        );
        assert_eq!(mime::crlf_to_lf(b"a\r\nb\rc\nd\r"), b"a\nb\rc\nd\r");
    }

    #[test]
    fn optional_members_are_absent_unless_used() {
        let f = Frame::new(b"h", b"p", b"s");
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"{"header":"aA==","prefix":"cA==","suffix":"cw=="}"#);
        // A frame of an earlier gateway reads as before.
        let old: Frame = serde_json::from_str(&json).unwrap();
        assert_eq!(old, f);
        let new: Frame = serde_json::from_str(
            r#"{"header":"","prefix":"","suffix":"","content":"body","line_ends":"lf","armor":"message"}"#,
        )
        .unwrap();
        assert_eq!(new.content, Some(FrameContent::Body));
        assert_eq!(new.line_ends, Some(LineEnds::Lf));
        assert_eq!(new.armor, Some(FrameArmor::Message));
        assert!(
            serde_json::from_str::<Frame>(
                r#"{"header":"","prefix":"","suffix":"","line_ends":"cr"}"#
            )
            .is_err()
        );
        let o: Original = serde_json::from_str(
            r#"{"digest":"d","entity_digest":"e","header_digest":"h","signature":null}"#,
        )
        .unwrap();
        assert_eq!(o.signature_lost, None);
        assert!(
            !serde_json::to_string(&o)
                .unwrap()
                .contains("signature_lost")
        );
    }
}
