//! Mail addresses: reading addr-specs out of address fields (RFC 5322 §3.4) and
//! normalising envelope addresses for comparison.

use mail_parser::{Address, MessageParser};

/// An address normalised for comparison: trimmed, angle brackets removed, lower-cased.
/// (Local parts are case-sensitive in theory, RFC 5321 §2.4; every mail system we
/// interoperate with treats them case-insensitively, and so do certificates' rfc822Name
/// matches in practice.)
pub fn normalize(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_ascii_lowercase()
}

/// Reads every addr-spec from one address-list field value (raw, possibly folded).
/// Group members count as addresses. Returns an empty list for unparsable input.
pub fn addr_specs(raw_value: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = mailboxes(raw_value).into_iter().map(|(_, a)| a).collect();
    out.retain(|a| is_plausible(a));
    out
}

/// The mailboxes of one address-list field value: (display name, normalised address),
/// group members included. The field is parsed in isolation, so that no other header
/// field can influence it; unparsable input gives an empty list.
pub fn mailboxes(raw_value: &[u8]) -> Vec<(String, String)> {
    let mut buf = Vec::with_capacity(raw_value.len() + 16);
    buf.extend_from_slice(b"From:");
    buf.extend_from_slice(raw_value);
    buf.extend_from_slice(b"\r\n\r\n");
    let Some(msg) = MessageParser::new().parse_headers(&buf) else {
        return Vec::new();
    };
    let one = |a: &mail_parser::Addr<'_>| {
        a.address.as_ref().map(|addr| {
            (
                a.name.as_deref().unwrap_or_default().to_owned(),
                normalize(addr),
            )
        })
    };
    match msg.from() {
        Some(Address::List(list)) => list.iter().filter_map(one).collect(),
        Some(Address::Group(groups)) => groups
            .iter()
            .flat_map(|g| g.addresses.iter().filter_map(one))
            .collect(),
        None => Vec::new(),
    }
}

/// A minimal sanity check: one `@`, non-empty local part and a dotted domain.
pub fn is_plausible(addr: &str) -> bool {
    match addr.rsplit_once('@') {
        Some((l, d)) => {
            !l.is_empty()
                && !d.is_empty()
                && !d.contains('@')
                && !addr
                    .bytes()
                    .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        }
        None => false,
    }
}

/// The domain of an address, lower-cased.
pub fn domain(addr: &str) -> &str {
    addr.rsplit_once('@').map_or("", |(_, d)| d)
}

/// The single From addr-spec of a message (RFC 5322 §3.6.2 allows a list; we count only a
/// message with exactly one From field holding exactly one mailbox).
pub fn single_from(top: &super::Entity<'_>) -> Option<String> {
    let mut fields = top.get_all("From");
    let f = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    let addrs = addr_specs(top.field_value(f));
    match addrs.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_addr_specs() {
        assert_eq!(
            addr_specs(b" Alice <Alice@Example.com>"),
            vec!["alice@example.com"]
        );
        assert_eq!(
            addr_specs(b" \"bob@example.org\" <mallory@evil.test>"),
            vec!["mallory@evil.test"]
        );
        assert_eq!(addr_specs(b" a@x.org, b@y.org").len(), 2);
        assert!(addr_specs(b" undisclosed-recipients:;").is_empty());
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize(" <A@B.C> "), "a@b.c");
        assert_eq!(domain("a@b.c"), "b.c");
        assert!(!is_plausible("nobody"));
    }
}
