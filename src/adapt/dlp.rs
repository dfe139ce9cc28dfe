//! The `dlp` service: regex rules plus a built-in card-number rule (Luhn-checked) over
//! decoded text parts and text attachments. Redaction cannot be undone by a recipe: the
//! record commits to the original's digest and the compliance archive keeps the original.

use regex::bytes::Regex;

use super::{Action, Change, Halt, Service, Working, digest};
use crate::config::RawService;
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

/// 13 to 19 digits, optionally grouped by spaces or dashes.
const CARD: &str = r"\b\d(?:[ -]?\d){12,18}\b";

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

impl Params {
    pub(crate) fn from_raw(r: &RawService) -> Result<Params, String> {
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
            replacement: r.replacement.clone().unwrap_or_else(|| "[REDACTED]".into()),
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

pub fn apply(s: &Service, w: &mut Working, p: &Params) -> Result<Option<Vec<Change>>, Halt> {
    let Ok(root) = tree::parse(&w.entity) else {
        return Ok(Some(Vec::new()));
    };
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for part in root.leaves() {
        if !part.content_type.mime_type.starts_with("text/") {
            continue;
        }
        let Some(t) = tree::decode_text(&w.entity, part) else {
            continue;
        };
        let found = matches(&p.rules, t.text.as_bytes());
        let Some((_, rule)) = found.first() else {
            continue;
        };
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
                let mut new = String::with_capacity(t.text.len());
                let mut pos = 0;
                for (r, _) in &found {
                    new.push_str(t.text.get(pos..r.start).unwrap_or_default());
                    new.push_str(&p.replacement);
                    pos = r.end;
                }
                new.push_str(t.text.get(pos..).unwrap_or_default());
                let Some(bytes) = tree::encode_text_part(&w.entity, part, &t, &new) else {
                    continue;
                };
                changes.push(Change {
                    service: s.id.clone(),
                    kind: "dlp".into(),
                    place: format!("body:{}", part.path),
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
    Ok(Some(changes))
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
}
