//! The `dlp` service: regex rules plus a built-in card-number rule (Luhn-checked) over
//! every part a reader can read as text. Redaction cannot be undone by a recipe: the
//! record commits to the original's digest and the compliance archive keeps the original.
//!
//! Fail closed (docs/architecture.md, "Services"). Each leaf is read the way a reader
//! could read it:
//! - text parts decoded (transfer encoding, then charset); a charset we do not know or
//!   bytes that do not decode are scanned as bytes (a card number is ASCII digits in
//!   every ASCII-compatible charset);
//! - any part holding NUL bytes is scanned as UTF-16 (both byte orders) as well;
//! - embedded messages (message/rfc822, message/global) are parsed and scanned part by
//!   part, nested up to [`super::MAX_NESTED_MESSAGES`] deep;
//! - every other part as its decoded bytes, except content whose leading bytes say it
//!   is an image or a compressed container (PNG, JPEG, GIF, WebP, PDF, ZIP and the
//!   Office formats built on it, gzip, ...), where digits in the raw bytes mean nothing
//!   and the text inside is compressed: DLP does not open documents (use a callout to
//!   a content scanner for those; docs/architecture.md).
//!
//! A tree it cannot parse (too deep, too many parts, broken headers) and a part it
//! cannot decode (bad base64) are failures ([`Halt::Failed`]), and so is a redaction
//! in a part that cannot be written back in its own charset and encoding.

use regex::bytes::Regex;

use super::{
    Action, Change, Halt, Service, Working, attached_place, digest, is_attached_message,
    open_attached, unreadable,
};
use crate::error::Failure;
use crate::mime::tree::{self, Splice};

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub regex: Regex,
    pub luhn: bool,
}

#[derive(Clone, Debug)]
pub struct Params {
    pub action: Action,
    pub rules: Vec<Rule>,
    pub replacement: String,
}

/// 13 to 19 ASCII digits, optionally grouped by spaces or dashes. ASCII-only (`(?-u)`):
/// the same in bytes of any ASCII-compatible charset, invalid UTF-8 included.
const CARD: &str = r"(?-u)\b[0-9](?:[ -]?[0-9]){12,18}\b";

/// The Luhn check (ISO/IEC 7812-1).
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if !i.is_multiple_of(2) {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

fn build(re: &str) -> Result<Regex, String> {
    regex::bytes::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 22)
        .build()
        .map_err(|e| format!("bad pattern {re:?}: {e}"))
}

/// The keys of a `kind = "dlp"` service table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    action: Option<String>,
    patterns: Option<Vec<String>>,
    replacement: Option<String>,
}

impl Params {
    pub(crate) fn from_spec(r: Spec) -> Result<Params, String> {
        let action = match r.action.as_deref() {
            Some("redact") => Action::Redact,
            Some("reject") | None => Action::Reject,
            Some("quarantine") => Action::Quarantine,
            Some(o) => {
                return Err(format!(
                    "dlp action = {o:?}: expected redact, reject or quarantine"
                ));
            }
        };
        let mut rules = Vec::new();
        for p in r.patterns.iter().flatten() {
            if p == "builtin:card-number" {
                rules.push(Rule {
                    name: p.clone(),
                    regex: build(CARD)?,
                    luhn: true,
                });
            } else if let Some(b) = p.strip_prefix("builtin:") {
                return Err(format!("unknown built-in pattern {b:?}"));
            } else {
                let re = p.strip_prefix("regex:").unwrap_or(p);
                rules.push(Rule {
                    name: p.clone(),
                    regex: build(re)?,
                    luhn: false,
                });
            }
        }
        if rules.is_empty() {
            return Err("dlp needs patterns".into());
        }
        Ok(Params {
            action,
            rules,
            replacement: r.replacement.unwrap_or_else(|| "[REDACTED]".into()),
        })
    }
}

/// Byte ranges in `text` that a rule matches.
fn matches(rules: &[Rule], text: &[u8]) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    for r in rules {
        for m in r.regex.find_iter(text) {
            if r.luhn {
                let digits: Vec<u8> = m
                    .as_bytes()
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_digit)
                    .collect();
                if !(13..=19).contains(&digits.len()) || !luhn(&digits) {
                    continue;
                }
            }
            out.push((m.range(), r.name.clone()));
        }
    }
    out.sort_by_key(|(r, _)| r.start);
    // Drop overlaps (keep the first).
    let mut merged: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for (r, n) in out {
        if merged.last().is_some_and(|(l, _)| r.start < l.end) {
            continue;
        }
        merged.push((r, n));
    }
    merged
}

/// The first rule that matches `bytes` read as bytes, or (when they hold NUL bytes,
/// as UTF-16 text does) as UTF-16 in either byte order.
fn first_in_bytes(rules: &[Rule], bytes: &[u8]) -> Option<String> {
    if let Some((_, rule)) = matches(rules, bytes).into_iter().next() {
        return Some(rule);
    }
    if !bytes.contains(&0) {
        return None;
    }
    [encoding_rs::UTF_16LE, encoding_rs::UTF_16BE]
        .into_iter()
        .find_map(|enc| {
            let (text, _) = enc.decode_without_bom_handling(bytes);
            matches(rules, text.as_bytes())
                .into_iter()
                .next()
                .map(|(_, rule)| rule)
        })
}

/// Leading bytes of content whose digits mean nothing to a text rule: images and
/// compressed containers (their text, if any, is compressed).
const OPAQUE_MAGIC: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
];

fn is_opaque(bytes: &[u8]) -> bool {
    OPAQUE_MAGIC.iter().any(|m| bytes.starts_with(m))
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
}

/// S/MIME enveloped data (RFC 8551 §3.2: `smime-type` other than signed-data, or none),
/// PGP/MIME encrypted data (RFC 3156 §4), or an armored OpenPGP message (RFC 9580 §6.2).
fn is_encrypted(ct: &crate::mime::ContentType, body: &[u8]) -> bool {
    let pkcs7 = ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime");
    let signed_only = ct
        .param("smime-type")
        .is_some_and(|t| t.eq_ignore_ascii_case("signed-data"));
    (pkcs7 && !signed_only)
        || ct.is("application/pgp-encrypted")
        || memchr::memmem::find(body, b"-----BEGIN PGP MESSAGE-----").is_some()
}

/// The text an HTML reader shows, roughly: tags removed (an element boundary such as
/// `<br>` or `</p>` becomes a space, inline ones like `<b>` vanish), numeric character
/// references and the common named ones decoded (HTML Living Standard §13.2.5.72-80).
/// Rough on purpose: it only has to keep digits a reader would see next to each other.
fn html_text(html: &str) -> String {
    const BLOCK: &[&str] = &[
        "br", "p", "div", "tr", "td", "th", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    ];
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let Some(end) = rest.find('>') else {
                out.push_str(rest);
                break;
            };
            let tag = rest
                .get(1..end)
                .unwrap_or_default()
                .trim_start_matches('/')
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if BLOCK.contains(&tag.as_str()) {
                out.push(' ');
            }
            rest = rest.get(end + 1..).unwrap_or_default();
        } else if c == '&' {
            let end = rest.get(..12).and_then(|h| h.find(';'));
            let decoded = end.and_then(|e| {
                let name = rest.get(1..e)?;
                let ch = if let Some(n) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                    char::from_u32(u32::from_str_radix(n, 16).ok()?)
                } else if let Some(n) = name.strip_prefix('#') {
                    char::from_u32(n.parse().ok()?)
                } else {
                    match name {
                        "nbsp" | "ensp" | "emsp" | "thinsp" => Some(' '),
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        "hyphen" | "dash" | "ndash" => Some('-'),
                        _ => None,
                    }
                }?;
                Some((ch, e + 1))
            });
            match decoded {
                Some((ch, len)) => {
                    out.push(ch);
                    rest = rest.get(len..).unwrap_or_default();
                }
                None => {
                    out.push('&');
                    rest = rest.get(1..).unwrap_or_default();
                }
            }
        } else {
            out.push(c);
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
    }
    out
}

/// What the scan of one leaf found: the rule, and the decoded text when the part is a
/// text part that can be written back (for redaction).
struct Found {
    rule: String,
    text: Option<tree::Text>,
}

/// Scans the leaf `part` of `buf`. `place` names it for a failure; `nested` counts the
/// embedded messages around it.
fn scan_leaf(
    rules: &[Rule],
    buf: &[u8],
    part: &tree::Part,
    place: &str,
    nested: usize,
) -> Result<Option<Found>, Halt> {
    let bytes = buf.get(part.range.clone()).unwrap_or_default();
    let e = crate::mime::Entity::parse(bytes).map_err(|e| unreadable("dlp", place, e))?;
    // Unknown transfer encodings come back as they are: scanned as bytes (RFC 2045 §6.4).
    let decoded = e.decoded_body().map_err(|e| unreadable("dlp", place, e))?;
    let ct = &part.content_type;
    // Ciphertext a reader may be able to open (an encrypted attachment, a message
    // passed through unopened) is content DLP cannot read: a failure, never "clean".
    if is_encrypted(ct, &decoded) {
        return Err(unreadable("dlp", place, "it is encrypted"));
    }
    if is_attached_message(ct) {
        let inner = open_attached("dlp", place, &decoded, nested)?;
        for leaf in inner.leaves() {
            let at = attached_place(place, leaf);
            if let Some(f) = scan_leaf(rules, &decoded, leaf, &at, nested + 1)? {
                // Found inside an embedded message: it cannot be redacted in place.
                return Ok(Some(Found {
                    rule: f.rule,
                    text: None,
                }));
            }
        }
        return Ok(None);
    }
    let text = ct.mime_type.starts_with("text/");
    if text && let Some(t) = tree::decode_text(buf, part) {
        if let Some((_, rule)) = matches(rules, t.text.as_bytes()).into_iter().next() {
            return Ok(Some(Found {
                rule,
                text: Some(t),
            }));
        }
        // HTML as a reader sees it: tags gone, character references decoded, so that
        // `4111&#32;1111...` or `4111<b></b>1111...` is the number it shows. Found only
        // there, it cannot be redacted in the source.
        if ct.is("text/html")
            && let Some((_, rule)) = matches(rules, html_text(&t.text).as_bytes())
                .into_iter()
                .next()
        {
            return Ok(Some(Found { rule, text: None }));
        }
        // Decoded cleanly; the bytes may still hold what a reader sees as UTF-16.
        if !decoded.contains(&0) {
            return Ok(None);
        }
    }
    // A reader shows a text part as text, whatever its first bytes look like.
    if !text && is_opaque(&decoded) {
        return Ok(None);
    }
    Ok(first_in_bytes(rules, &decoded).map(|rule| Found { rule, text: None }))
}

pub fn apply(s: &Service, w: &mut Working, p: &Params) -> Result<Vec<Change>, Halt> {
    // RFC 2046 §5.1: a tree we cannot walk (too deep, too many parts) is a failure,
    // never "nothing found".
    let root = tree::parse(&w.entity).map_err(|e| unreadable("dlp", "the message", e))?;
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for part in root.leaves() {
        let place = format!("body:{}", part.path);
        let Some(found) = scan_leaf(&p.rules, &w.entity, part, &place, 0)? else {
            continue;
        };
        let rule = found.rule;
        match p.action {
            Action::Reject | Action::Remove => {
                return Err(Halt::Reject(
                    Failure::policy(format!(
                        "The message contains data the sender's policy forbids (rule {rule})"
                    ))
                    .with_service(&s.id),
                ));
            }
            Action::Quarantine => {
                return Err(Halt::Quarantine {
                    service: s.id.clone(),
                    reason: format!("DLP rule {rule} matched"),
                });
            }
            Action::Redact => {
                let cannot = |why: &str| {
                    unreadable("dlp", &place, format!("rule {rule} matched, but {why}"))
                };
                let Some(t) = found.text else {
                    return Err(cannot(
                        "the part cannot be redacted in place (not text in a known charset)",
                    ));
                };
                let found = matches(&p.rules, t.text.as_bytes());
                let mut new = String::with_capacity(t.text.len());
                let mut pos = 0;
                for (r, _) in &found {
                    new.push_str(t.text.get(pos..r.start).unwrap_or_default());
                    new.push_str(&p.replacement);
                    pos = r.end;
                }
                new.push_str(t.text.get(pos..).unwrap_or_default());
                let Some(bytes) = tree::encode_text_part(&w.entity, part, &t, &new) else {
                    return Err(cannot("the redacted text cannot be encoded like the part"));
                };
                changes.push(Change {
                    service: s.id.clone(),
                    kind: "dlp".into(),
                    place: place.clone(),
                    before: digest(w.entity.get(part.range.clone()).unwrap_or_default()),
                    after: digest(&bytes),
                    reversible: false,
                });
                splices.push(Splice {
                    range: part.range.clone(),
                    bytes,
                });
            }
        }
    }
    if !splices.is_empty() {
        w.entity = tree::apply_splices(&w.entity, &splices);
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_need_the_luhn_check() {
        let rules = vec![Rule {
            name: "builtin:card-number".into(),
            regex: build(CARD).unwrap(),
            luhn: true,
        }];
        assert_eq!(matches(&rules, b"card 4111 1111 1111 1111 ok").len(), 1);
        assert_eq!(matches(&rules, b"card 4111-1111-1111-1111").len(), 1);
        assert!(
            matches(&rules, b"order 4111 1111 1111 1112").is_empty(),
            "fails Luhn"
        );
        assert!(matches(&rules, b"phone 0049 30 1234567").is_empty());
        assert!(luhn(b"79927398713"));
    }

    fn card_rules() -> Vec<Rule> {
        vec![Rule {
            name: "builtin:card-number".into(),
            regex: build(CARD).unwrap(),
            luhn: true,
        }]
    }

    #[test]
    fn card_numbers_are_found_in_bytes_that_are_not_utf8() {
        let rules = card_rules();
        assert_eq!(
            matches(&rules, b"caf\xe9 \xff 4111 1111 1111 1111 \xfe").len(),
            1
        );
        let utf16le: Vec<u8> = "x 4111111111111111 y"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let utf16be: Vec<u8> = "x 4111111111111111 y"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert!(matches(&rules, &utf16le).is_empty(), "not as plain bytes");
        assert!(first_in_bytes(&rules, &utf16le).is_some());
        assert!(first_in_bytes(&rules, &utf16be).is_some());
    }

    #[test]
    fn html_is_read_as_a_reader_sees_it() {
        let rules = card_rules();
        for html in [
            "<p>Card 4111&#32;1111&#x20;1111&nbsp;1111</p>",
            "<p>Card 4111<b></b>1111<span>1111</span>1111</p>",
            "<p>Card &#52;111 1111 1111 1111</p>",
        ] {
            assert_eq!(
                matches(&rules, html_text(html).as_bytes()).len(),
                1,
                "{html}"
            );
        }
        // Block boundaries separate: two numbers in two cells are not one.
        assert!(
            matches(
                &rules,
                html_text("<td>4111 1111</td><td>1111 1111</td>").as_bytes()
            )
            .is_empty()
        );
        assert_eq!(html_text("a &unknown; & b"), "a &unknown; & b");
    }

    #[test]
    fn only_images_and_containers_are_opaque() {
        assert!(is_opaque(b"%PDF-1.7\n"));
        assert!(is_opaque(b"PK\x03\x04rest"));
        assert!(is_opaque(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!is_opaque(b"name,card\r\n"));
        assert!(!is_opaque(b"RIFF\0\0\0\0WAVE"));
    }
}
