//! The `attachments` service: remove (replace by a short text notice) or reject
//! attachments by MIME type, file-name extension or size. Removal cannot be undone by a
//! recipe: the record commits to the original's digest.
//!
//! Fail closed (docs/architecture.md, "Services"): a tree it cannot walk, or a part
//! whose size it must know but cannot decode, is a failure ([`Halt::Failed`]). Every
//! name a part gives counts (Content-Disposition `filename` and Content-Type `name`,
//! RFC 2231 and RFC 2047 forms decoded). An attached message (message/rfc822,
//! message/global) is opened: a forbidden attachment inside it condemns the whole
//! attached message.

use super::{
    Action, Change, Halt, Service, Working, attached_place, digest, is_attached_message,
    open_attached, unreadable,
};
use crate::error::Failure;
use crate::mime::tree::{self, Splice};

#[derive(Clone, Debug)]
pub struct Params {
    pub action: Action,
    pub types: Vec<String>,
    pub extensions: Vec<String>,
    pub max_size: Option<usize>,
    pub notice: String,
}

/// The keys of a `kind = "attachments"` service table.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Spec {
    action: Option<String>,
    types: Option<Vec<String>>,
    extensions: Option<Vec<String>>,
    max_size: Option<usize>,
    notice: Option<String>,
}

impl Params {
    pub(crate) fn from_spec(r: Spec) -> Result<Params, String> {
        let action = match r.action.as_deref() {
            Some("remove") | None => Action::Remove,
            Some("reject") => Action::Reject,
            Some(o) => {
                return Err(format!(
                    "attachments action = {o:?}: expected remove or reject"
                ));
            }
        };
        let p = Params {
            action,
            types: r
                .types
                .unwrap_or_default()
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            extensions: r
                .extensions
                .unwrap_or_default()
                .iter()
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            max_size: r.max_size,
            notice: r
                .notice
                .unwrap_or_else(|| "The attachment {name} was removed by policy.".into()),
        };
        if p.types.is_empty() && p.extensions.is_empty() && p.max_size.is_none() {
            return Err("attachments needs types, extensions or max_size".into());
        }
        Ok(p)
    }
}

fn type_matches(rule: &str, mime: &str) -> bool {
    match rule.strip_suffix("/*") {
        Some(prefix) => mime.split('/').next() == Some(prefix),
        None => rule == mime,
    }
}

/// The first part of `part` (itself, or inside an attached message) that a rule
/// forbids: its name for the notice.
fn forbidden(
    p: &Params,
    buf: &[u8],
    part: &tree::Part,
    place: &str,
    nested: usize,
) -> Result<Option<String>, Halt> {
    let shown = part.filename.clone().unwrap_or_else(|| "(unnamed)".into());
    let ct = &part.content_type;
    let by_type = p.types.iter().any(|t| type_matches(t, &ct.mime_type));
    let by_name = part.names.iter().any(|n| {
        n.rsplit_once('.')
            .is_some_and(|(_, e)| p.extensions.contains(&e.trim().to_ascii_lowercase()))
    });
    let message = is_attached_message(ct);
    if (part.attachment || message) && (by_type || by_name) {
        return Ok(Some(shown));
    }
    let needs_body = (part.attachment && p.max_size.is_some()) || message;
    if !needs_body {
        return Ok(None);
    }
    let e = crate::mime::Entity::parse(buf.get(part.range.clone()).unwrap_or_default())
        .map_err(|e| unreadable("attachments", place, e))?;
    let body = e
        .decoded_body()
        .map_err(|e| unreadable("attachments", place, e))?;
    if part.attachment && p.max_size.is_some_and(|m| body.len() > m) {
        return Ok(Some(shown));
    }
    if message {
        let inner = open_attached("attachments", place, &body, nested)?;
        for leaf in inner.leaves() {
            let at = attached_place(place, leaf);
            if let Some(name) = forbidden(p, &body, leaf, &at, nested + 1)? {
                return Ok(Some(format!("{name} in the attached message {shown}")));
            }
        }
    }
    Ok(None)
}

pub fn apply(s: &Service, w: &mut Working, p: &Params) -> Result<Vec<Change>, Halt> {
    let root = tree::parse(&w.entity).map_err(|e| unreadable("attachments", "the message", e))?;
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for part in root.leaves() {
        let place = format!("body:{}", part.path);
        let Some(name) = forbidden(p, &w.entity, part, &place, 0)? else {
            continue;
        };
        if p.action == Action::Reject {
            return Err(Halt::Reject(
                Failure::policy(format!(
                    "The attachment {:?} is not allowed by policy",
                    crate::sanitize::reply_text(&name)
                ))
                .with_service(&s.id),
            ));
        }
        let notice = crate::sanitize::line_text(&p.notice.replace("{name}", &name));
        let bytes = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nContent-Description: attachment removed by policy\r\n\r\n{notice}\r\n"
        )
        .into_bytes();
        changes.push(Change {
            service: s.id.clone(),
            kind: "attachments".into(),
            place,
            before: digest(w.entity.get(part.range.clone()).unwrap_or_default()),
            after: digest(&bytes),
            reversible: false,
        });
        splices.push(Splice {
            range: part.range.clone(),
            bytes,
        });
    }
    if !splices.is_empty() {
        w.entity = tree::apply_splices(&w.entity, &splices);
    }
    Ok(changes)
}
