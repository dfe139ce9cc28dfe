//! The `disclaimer` service: append a text to the message's text body, insert an HTML
//! version before `</body>` in its HTML body (both sides of a multipart/alternative), or
//! add a text part when the message has no text body at all.

use super::{Change, Halt, Service, Working, digest, unreadable};
use crate::mime::tree::{self, Part, Splice};

/// The parts that make up the message's readable body: the root text part, both sides
/// of a multipart/alternative, or the first such body inside multipart/mixed/related.
fn body_parts(p: &Part) -> Vec<&Part> {
    if p.children.is_empty() {
        let readable = (p.is_text("plain") || p.is_text("html")) && !p.attachment;
        return if readable { vec![p] } else { Vec::new() };
    }
    if p.content_type.is("multipart/alternative") {
        return p.children.iter().flat_map(body_parts).collect();
    }
    if p.content_type.is("multipart/signed") || p.content_type.is("multipart/encrypted") {
        return Vec::new();
    }
    p.children
        .iter()
        .map(body_parts)
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn default_html(text: &str) -> String {
    format!(
        "<p class=\"reseal-disclaimer\">{}</p>",
        html_escape(text)
            .replace("\r\n", "<br>")
            .replace('\n', "<br>")
    )
}

/// Appends `text` after the body text, separated by an empty line.
fn append_text(body: &str, text: &str) -> String {
    let mut s = body.to_owned();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(&text.replace("\r\n", "\n").replace('\n', "\r\n"));
    s.push_str("\r\n");
    s
}

/// Inserts `html` before the last `</body>` (case-insensitive), or appends it.
fn insert_html(body: &str, html: &str) -> String {
    let lower = body.to_ascii_lowercase();
    match lower.rfind("</body>") {
        Some(i) => {
            let mut s = String::with_capacity(body.len() + html.len() + 2);
            s.push_str(body.get(..i).unwrap_or(body));
            s.push_str(html);
            s.push_str("\r\n");
            s.push_str(body.get(i..).unwrap_or_default());
            s
        }
        None => append_text(body, html),
    }
}

pub fn apply(
    s: &Service,
    w: &mut Working,
    text: &str,
    html: Option<&str>,
) -> Result<Vec<Change>, Halt> {
    let root = tree::parse(&w.entity).map_err(|e| unreadable("disclaimer", "the message", e))?;
    let html = html
        .map(str::to_owned)
        .unwrap_or_else(|| default_html(text));
    let parts = body_parts(&root);
    // Every body part is edited, or none is: a text part in a charset or encoding we
    // cannot write back safely sends the disclaimer into a part of its own instead, so
    // that no version of the body a reader may pick goes without it.
    let mut edits = Vec::new();
    for p in &parts {
        let Some(t) = tree::decode_text(&w.entity, p) else {
            break;
        };
        let new_text = if p.is_text("html") {
            insert_html(&t.text, &html)
        } else {
            append_text(&t.text, text)
        };
        let Some(bytes) = tree::encode_text_part(&w.entity, p, &t, &new_text) else {
            break;
        };
        edits.push((p, bytes));
    }
    if edits.len() < parts.len() {
        edits.clear();
    }
    let mut splices = Vec::new();
    let mut changes = Vec::new();
    for (p, bytes) in edits {
        let before = w.entity.get(p.range.clone()).unwrap_or_default();
        changes.push(Change {
            service: s.id.clone(),
            kind: "disclaimer".into(),
            place: format!("body:{}", p.path),
            before: digest(before),
            after: digest(&bytes),
            reversible: true,
        });
        splices.push(Splice {
            range: p.range.clone(),
            bytes,
        });
    }
    if !splices.is_empty() {
        w.entity = tree::apply_splices(&w.entity, &splices);
        return Ok(changes);
    }
    // No text body we can edit: add a text part (RFC 2046 §5.1.3 multipart/mixed).
    let before = w.entity.clone();
    let part = format!(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}\r\n",
        text.replace("\r\n", "\n").replace('\n', "\r\n")
    );
    if root.content_type.is("multipart/mixed")
        && let Some(b) = root.content_type.param("boundary")
    {
        // Insert a new last part before the close delimiter.
        let close = format!("\r\n--{b}--");
        let Some(pos) = w
            .entity
            .windows(close.len())
            .rposition(|win| win == close.as_bytes())
        else {
            return Err(unreadable(
                "disclaimer",
                "the message",
                "the multipart/mixed body has no close delimiter",
            ));
        };
        let insert = format!("\r\n--{b}\r\n{}", part.trim_end_matches("\r\n"));
        w.entity = tree::apply_splices(
            &w.entity,
            &[Splice {
                range: pos..pos,
                bytes: insert.into_bytes(),
            }],
        );
    } else {
        let boundary =
            crate::mime::compose::boundary_for(&w.entity).map_err(|e| Halt::Reject(e.into()))?;
        let mut e = format!(
            "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n"
        )
        .into_bytes();
        e.extend_from_slice(&w.entity);
        e.extend_from_slice(format!("\r\n--{boundary}\r\n{part}\r\n--{boundary}--\r\n").as_bytes());
        w.entity = e;
    }
    Ok(vec![Change {
        service: s.id.clone(),
        kind: "disclaimer".into(),
        place: "entity".into(),
        before: digest(&before),
        after: digest(&w.entity),
        reversible: true,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_insertion() {
        assert_eq!(
            insert_html("<html><BODY>x</Body></html>", "<p>D</p>"),
            "<html><BODY>x<p>D</p>\r\n</Body></html>"
        );
        assert_eq!(append_text("Hi\r\n", "D"), "Hi\r\n\r\nD\r\n");
        assert_eq!(append_text("Hi", "D"), "Hi\r\n\r\nD\r\n");
    }
}
