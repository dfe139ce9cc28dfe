//! The `attachments` service: remove (replace by a short text notice) or reject
//! attachments by MIME type, file-name extension or size. Removal cannot be undone by a
//! recipe: the record commits to the original's digest.

use super::{Action, Change, Halt, Service, Working, digest};
use crate::config::RawService;
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

impl Params {
    pub(crate) fn from_raw(r: &RawService) -> Result<Params, String> {
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
                .clone()
                .unwrap_or_default()
                .iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            extensions: r
                .extensions
                .clone()
                .unwrap_or_default()
                .iter()
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            max_size: r.max_size,
            notice: r
                .notice
                .clone()
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

pub fn apply(s: &Service, w: &mut Working, p: &Params) -> Result<Option<Vec<Change>>, Halt> {
    let Ok(root) = tree::parse(&w.entity) else {
        return Ok(Some(Vec::new()));
    };
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for part in root.leaves() {
        if !part.attachment {
            continue;
        }
        let name = part.filename.clone().unwrap_or_else(|| "(unnamed)".into());
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let size = crate::mime::Entity::parse(w.entity.get(part.range.clone()).unwrap_or_default())
            .ok()
            .and_then(|e| e.decoded_body().ok().map(|b| b.len()))
            .unwrap_or(0);
        let hit = p
            .types
            .iter()
            .any(|t| type_matches(t, &part.content_type.mime_type))
            || ext.as_ref().is_some_and(|e| p.extensions.contains(e))
            || p.max_size.is_some_and(|m| size > m);
        if !hit {
            continue;
        }
        if p.action == Action::Reject {
            return Err(Halt::Reject(
                Failure::policy(format!("The attachment {name:?} is not allowed by policy"))
                    .with_service(&s.id),
            ));
        }
        let notice = p.notice.replace("{name}", &name).replace(['\r', '\n'], " ");
        let bytes = format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nContent-Description: attachment removed by policy\r\n\r\n{notice}\r\n"
        )
        .into_bytes();
        changes.push(Change {
            service: s.id.clone(),
            kind: "attachments".into(),
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
    if !splices.is_empty() {
        w.entity = tree::apply_splices(&w.entity, &splices);
    }
    Ok(Some(changes))
}
