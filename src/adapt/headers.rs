//! The `headers` and `subject-tag` services: edits of the outer header fields.
//!
//! Trace fields are off limits: existing Received lines are never changed (RFC 5321
//! §4.4), and OPES trace fields belong to the OPES System (RFC 4236 §4).

use super::{Change, Halt, Service, Working, digest};
use crate::mime::Entity;

/// Header fields no service may add, remove or replace.
const PROTECTED: &[&str] = &[
    "received",
    "opes-system",
    "opes-via",
    "opes-record",
    "opes-record-signature",
    "mime-version",
];

#[derive(Clone, Debug, Default)]
pub struct Params {
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
    pub replace: Vec<(String, String)>,
}

fn check_name(n: &str) -> Result<String, String> {
    let n = n.trim();
    let ok = !n.is_empty() && n.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !ok {
        return Err(format!("{n:?} is not a header field name"));
    }
    let lower = n.to_ascii_lowercase();
    if PROTECTED.contains(&lower.as_str()) || lower.starts_with("content-") {
        return Err(format!("the {n} field may not be edited by a service"));
    }
    Ok(n.to_owned())
}

fn check_value(v: &str) -> Result<String, String> {
    if v.contains(['\r', '\n', '\0']) {
        return Err("header values must be one line".into());
    }
    Ok(v.trim().to_owned())
}

/// The keys of a `kind = "headers"` service table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    add: Option<Vec<String>>,
    remove: Option<Vec<String>>,
    replace: Option<std::collections::BTreeMap<String, String>>,
}

impl Params {
    pub(crate) fn from_spec(r: Spec) -> Result<Params, String> {
        let mut p = Params::default();
        for a in r.add.iter().flatten() {
            let (n, v) = a
                .split_once(':')
                .ok_or_else(|| format!("add entry {a:?} must be \"Name: value\""))?;
            p.add.push((check_name(n)?, check_value(v)?));
        }
        for n in r.remove.iter().flatten() {
            p.remove.push(check_name(n)?);
        }
        for (n, v) in r.replace.iter().flatten() {
            p.replace.push((check_name(n)?, check_value(v)?));
        }
        if p.add.is_empty() && p.remove.is_empty() && p.replace.is_empty() {
            return Err("headers needs add, remove or replace".into());
        }
        Ok(p)
    }
}

/// The outer header as (name, raw field) pairs.
pub(crate) fn fields(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    match Entity::parse(header) {
        Ok(e) => e
            .fields()
            .iter()
            .map(|f| (e.field_name(f).to_owned(), e.field_raw(f).to_vec()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub(crate) fn join(fields: &[(String, Vec<u8>)]) -> Vec<u8> {
    fields
        .iter()
        .flat_map(|(_, raw)| raw.iter().copied())
        .collect()
}

fn instances(fields: &[(String, Vec<u8>)], name: &str) -> Vec<u8> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, r)| r.iter().copied())
        .collect()
}

fn change(s: &Service, kind: &str, name: &str, before: &[u8], after: &[u8]) -> Change {
    Change {
        service: s.id.clone(),
        kind: kind.into(),
        place: format!("header:{}", name.to_ascii_lowercase()),
        before: digest(before),
        after: digest(after),
        reversible: true,
    }
}

/// Adds, removes and replaces outer header fields.
pub fn apply(s: &Service, w: &mut Working, p: &Params) -> Result<Vec<Change>, Halt> {
    let mut f = fields(&w.header);
    let mut names: Vec<String> = Vec::new();
    let mut before_all: Vec<(String, Vec<u8>)> = Vec::new();
    let mut touch = |name: &str, f: &[(String, Vec<u8>)], names: &mut Vec<String>| {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.to_owned());
            before_all.push((name.to_owned(), instances(f, name)));
        }
    };
    for n in &p.remove {
        touch(n, &f, &mut names);
        f.retain(|(fname, _)| !fname.eq_ignore_ascii_case(n));
    }
    for (n, v) in &p.replace {
        touch(n, &f, &mut names);
        let raw = format!("{n}: {v}\r\n").into_bytes();
        let mut found = false;
        for (fname, r) in f.iter_mut() {
            if fname.eq_ignore_ascii_case(n) {
                *r = raw.clone();
                found = true;
            }
        }
        if !found {
            f.push((n.clone(), raw));
        }
    }
    for (n, v) in &p.add {
        touch(n, &f, &mut names);
        f.push((n.clone(), format!("{n}: {v}\r\n").into_bytes()));
    }
    let new = join(&f);
    if new == w.header {
        return Ok(Vec::new());
    }
    let changes = before_all
        .iter()
        .filter_map(|(n, before)| {
            let after = instances(&f, n);
            (after != *before).then(|| change(s, "headers", n, before, &after))
        })
        .collect();
    w.header = new;
    Ok(changes)
}

/// Prefixes the Subject with `tag` (once: an already tagged subject is left alone).
pub fn subject_tag(s: &Service, w: &mut Working, tag: &str) -> Result<Vec<Change>, Halt> {
    let mut f = fields(&w.header);
    let before = instances(&f, "Subject");
    let mut found = false;
    for (n, raw) in f.iter_mut() {
        if !n.eq_ignore_ascii_case("Subject") || found {
            continue;
        }
        found = true;
        let value = raw.get(n.len() + 1..).unwrap_or_default();
        let unfolded = crate::mime::unfold(value);
        if unfolded.starts_with(tag) {
            return Ok(Vec::new());
        }
        let trimmed = value.strip_prefix(b" ").unwrap_or(value);
        let mut new = format!("{n}: {tag} ").into_bytes();
        new.extend_from_slice(trimmed);
        *raw = new;
    }
    if !found {
        f.push(("Subject".into(), format!("Subject: {tag}\r\n").into_bytes()));
    }
    let after = instances(&f, "Subject");
    w.header = join(&f);
    Ok(vec![change(s, "subject-tag", "subject", &before, &after)])
}
