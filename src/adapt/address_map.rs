//! The `address-map` service: internal ↔ external addresses, applied consistently to the
//! envelope and every header field that carries an address (RFC 4902 §5.6).

use super::headers::{fields, join};
use super::{Change, Halt, Service, Working, digest};

/// Fields whose values carry addresses that must follow the map.
const ADDRESS_FIELDS: &[&str] = &[
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "return-path",
    "resent-from",
    "resent-sender",
    "resent-reply-to",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "disposition-notification-to",
    "return-receipt-to",
    "mail-followup-to",
    "mail-reply-to",
    "errors-to",
];

fn is_boundary(b: Option<&u8>) -> bool {
    match b {
        None => true,
        Some(c) => !(c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.@".contains(c)),
    }
}

/// Replaces every whole-address occurrence of a mapped address in `value`.
fn map_value(value: &[u8], map: &[(String, String)]) -> Vec<u8> {
    let lower = value.to_ascii_lowercase();
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    'outer: while i < value.len() {
        for (from, to) in map {
            let f = from.as_bytes();
            if lower.get(i..i + f.len()) == Some(f)
                && is_boundary(if i == 0 { None } else { value.get(i - 1) })
                && is_boundary(value.get(i + f.len()))
            {
                out.extend_from_slice(to.as_bytes());
                i += f.len();
                continue 'outer;
            }
        }
        if let Some(&b) = value.get(i) {
            out.push(b);
        }
        i += 1;
    }
    out
}

fn lookup<'m>(map: &'m [(String, String)], addr: &str) -> Option<&'m str> {
    map.iter().find(|(f, _)| f == addr).map(|(_, t)| t.as_str())
}

pub fn apply(s: &Service, w: &mut Working, map: &[(String, String)]) -> Result<Vec<Change>, Halt> {
    let mut changes = Vec::new();
    let mk = |place: String, before: &[u8], after: &[u8]| Change {
        service: s.id.clone(),
        kind: "address-map".into(),
        place,
        before: digest(before),
        after: digest(after),
        reversible: true,
    };
    // Envelope.
    if let Some(t) = lookup(map, &w.envelope.mail_from) {
        changes.push(mk(
            "envelope:mail-from".into(),
            w.envelope.mail_from.as_bytes(),
            t.as_bytes(),
        ));
        w.envelope.mail_from = t.to_owned();
    }
    let before_rcpts = w.envelope.rcpts.join(",");
    let mut rcpts: Vec<String> = Vec::new();
    for r in &w.envelope.rcpts {
        let m = lookup(map, r)
            .map(str::to_owned)
            .unwrap_or_else(|| r.clone());
        if !rcpts.contains(&m) {
            rcpts.push(m);
        }
    }
    if rcpts != w.envelope.rcpts {
        changes.push(mk(
            "envelope:rcpt".into(),
            before_rcpts.as_bytes(),
            rcpts.join(",").as_bytes(),
        ));
        w.envelope.rcpts = rcpts;
    }
    // Header fields.
    let mut f = fields(&w.header);
    let mut touched: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for (n, raw) in f.iter_mut() {
        let lower = n.to_ascii_lowercase();
        if !ADDRESS_FIELDS.contains(&lower.as_str()) {
            continue;
        }
        let new = map_value(raw, map);
        if new != *raw {
            touched.push((lower, raw.clone(), new.clone()));
            *raw = new;
        }
    }
    for (n, before, after) in &touched {
        changes.push(mk(format!("header:{n}"), before, after));
    }
    w.header = join(&f);
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_whole_addresses_only() {
        let map = vec![(
            "alice@corp.local".to_owned(),
            "alice@example.com".to_owned(),
        )];
        assert_eq!(
            map_value(
                b"From: Alice <Alice@corp.local>, malice@corp.local\r\n",
                &map
            ),
            b"From: Alice <alice@example.com>, malice@corp.local\r\n"
        );
        assert_eq!(
            map_value(b"To: alice@corp.local.evil\r\n", &map),
            b"To: alice@corp.local.evil\r\n"
        );
    }
}
