//! Non-delivery reports (RFC 3464, RFC 6522 multipart/report) for mail the gateway
//! accepted and could not deliver. RFC 4902 §3.1: an NDR caused by OPES processing or
//! relayed through it must carry the OPES trace, so the human-readable part names the
//! OPES System and its services, and the per-message fields carry `X-OPES-System` and
//! `X-OPES-Via`. The returned content is the message as received, or only its header:
//! never decrypted plaintext.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

use crate::mime::{self, Entity};
use crate::trace::rfc5322_date;

/// The host of a `host:port` or `[v6]:port` next hop.
fn mta_name(next_hop: &str) -> &str {
    if let Some(rest) = next_hop.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match next_hop.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => next_hop,
    }
}

/// One failed recipient.
pub struct Failed<'a> {
    pub address: &'a str,
    pub orcpt: Option<&'a str>,
    /// RFC 3463 status, e.g. "5.1.1".
    pub status: String,
    /// The remote reply or our reason.
    pub diagnostic: String,
}

/// What the report needs.
pub struct Report<'a> {
    pub hostname: &'a str,
    pub reverse_path: &'a str,
    pub id: &'a str,
    pub envid: Option<&'a str>,
    pub arrival: time::OffsetDateTime,
    pub next_hop: &'a str,
    pub failed: Vec<Failed<'a>>,
    /// The message as received by the gateway.
    pub received: &'a [u8],
    /// The processed message (its trace fields are copied into the report).
    pub processed: &'a [u8],
    /// RET=FULL: return the whole message as received; otherwise its header only.
    pub ret_full: bool,
}

/// Extracts the status code from a reply like "550 5.1.1 text".
pub fn status_of(reply: &str, permanent: bool) -> String {
    let mut it = reply.split_whitespace();
    let _code = it.next();
    match it.next() {
        Some(s)
            if s.split('.').count() == 3
                && s.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) =>
        {
            s.to_owned()
        }
        _ if permanent => "5.0.0".into(),
        _ => "4.0.0".into(),
    }
}

/// Text from outside (a next hop's reply, trace fields) for one line of the NDR: cleaned
/// in the one place that does it (`crate::sanitize`), and bounded.
fn one_line(s: &str) -> String {
    crate::sanitize::reply_text(s).chars().take(900).collect()
}

/// The transfer encoding declared for a part written as is: `7bit`, or `8bit` when it
/// holds 8-bit bytes (an SMTPUTF8 address, a message received with 8BITMIME).
fn identity_encoding(body: &[u8]) -> &'static str {
    if body.is_ascii() { "7bit" } else { "8bit" }
}

/// Builds the NDR message: a `multipart/report; report-type=delivery-status` (RFC 6522)
/// of a text part, a `message/delivery-status` part (RFC 3464 §2) and the returned
/// content (`message/rfc822` for RET=FULL, else `text/rfc822-headers`), assembled by
/// `mail-builder`. The text part gets whatever transfer encoding `mail-builder` picks
/// for it; the other two carry fields and a message that must stay readable as they
/// are, so they are written unencoded (RFC 2046 §5.2.1 forbids encoding message/rfc822).
pub fn build(r: &Report<'_>) -> Vec<u8> {
    let processed = mime::to_crlf(r.processed);
    let top = Entity::parse(&processed).ok();
    let field = |name: &str| top.as_ref().and_then(|t| t.get(name)).unwrap_or_default();
    let system = field("OPES-System");
    let via = field("OPES-Via");

    // Human-readable part, with the OPES trace (RFC 4902 §3.1).
    let mut text = format!(
        "This is the OPES mail gateway at {}.\r\n\r\nYour message could not be delivered to the following recipients:\r\n\r\n",
        r.hostname
    );
    for f in &r.failed {
        text.push_str(&format!(
            "  <{}>: {}\r\n",
            f.address,
            one_line(&f.diagnostic)
        ));
    }
    text.push_str("\r\nThe message passed through this OPES System and its services:\r\n");
    text.push_str(&format!("  OPES System: {}\r\n", one_line(&system)));
    if !via.is_empty() {
        for e in via.split(",\r\n").flat_map(|s| s.split(", ")) {
            text.push_str(&format!("  OPES service: {}\r\n", one_line(e.trim())));
        }
    }
    text.push_str("The privacy policy and the operator's contact are at the policy URI above.\r\n");

    // Machine-readable part: per-message fields, then one block per recipient.
    let mut status = String::new();
    status.push_str(&format!("Reporting-MTA: dns; {}\r\n", r.hostname));
    status.push_str(&format!("X-OPES-System: {}\r\n", one_line(&system)));
    if !via.is_empty() {
        status.push_str(&format!("X-OPES-Via: {}\r\n", one_line(&via)));
    }
    if let Some(e) = r.envid {
        status.push_str(&format!("Original-Envelope-Id: {}\r\n", one_line(e)));
    }
    status.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(r.arrival)));
    for f in &r.failed {
        status.push_str("\r\n");
        status.push_str(&format!("Final-Recipient: rfc822; {}\r\n", f.address));
        if let Some(o) = f.orcpt {
            // RFC 3464 §2.3.1: address-type ";" generic-address.
            let o = if o.contains(';') {
                o.to_owned()
            } else {
                format!("rfc822;{o}")
            };
            status.push_str(&format!("Original-Recipient: {}\r\n", one_line(&o)));
        }
        status.push_str(&format!("Action: failed\r\nStatus: {}\r\n", f.status));
        // RFC 3464 §2.3.5: an MTA name of type "dns" is a host name, without a port.
        status.push_str(&format!("Remote-MTA: dns; {}\r\n", mta_name(r.next_hop)));
        status.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            one_line(&f.diagnostic)
        ));
    }

    // The returned content: as received, never the decrypted plaintext.
    let received = mime::to_crlf(r.received);
    let returned = if r.ret_full {
        let mut whole = received.into_owned();
        if !whole.ends_with(b"\r\n") {
            whole.extend_from_slice(b"\r\n");
        }
        let cte = identity_encoding(&whole);
        MimePart::new("message/rfc822", whole).transfer_encoding(cte)
    } else {
        let end = Entity::parse(&received)
            .map(|e| e.header_end())
            .unwrap_or(0);
        let header = received.get(..end).unwrap_or_default().to_vec();
        let cte = identity_encoding(&header);
        MimePart::new("text/rfc822-headers", header).transfer_encoding(cte)
    };

    let cte = identity_encoding(status.as_bytes());
    // The Content-Type is written as is (mail-builder would quote every parameter value),
    // so the report type reads `report-type=delivery-status` as before; mail-builder takes
    // the boundary from it.
    let report = MimePart::raw(vec![
        MimePart::new(
            ContentType::new("text/plain").attribute("charset", "utf-8"),
            text,
        )
        .header("Content-Description", Raw::new("Notification")),
        // As bytes, so that no charset parameter is added: the type defines none.
        MimePart::new("message/delivery-status", status.into_bytes()).transfer_encoding(cte),
        returned,
    ])
    .header(
        "Content-Type",
        Raw::new(format!(
            "multipart/report; report-type=delivery-status;\r\n\tboundary=\"reseal-dsn-{}\"",
            r.id
        )),
    );
    let mut out = Vec::new();
    MessageBuilder::new()
        .from(Address::new_address(
            Some("Mail Delivery System"),
            format!("MAILER-DAEMON@{}", r.hostname),
        ))
        .to(Address::new_address(None::<&str>, r.reverse_path))
        .subject("Undelivered Mail Returned to Sender")
        .date(Date::new(time::OffsetDateTime::now_utc().unix_timestamp()))
        .message_id(format!("{}.dsn@{}", r.id, r.hostname))
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(report)
        .serialize(&mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn report_carries_trace_and_no_body_by_default() {
        let processed = b"Received: by gw\r\nOPES-System: https://gw/opes; id=1; policy=https://gw/p\r\nOPES-Via: https://gw/opes; id=1, https://gw/opes/dlp; status=applied\r\nFrom: a@b.c\r\n\r\nsecret plaintext\r\n";
        let received = b"From: a@b.c\r\nSubject: s\r\n\r\nBODY-AS-RECEIVED\r\n";
        let r = Report {
            hostname: "gw.example.com",
            reverse_path: "a@b.c",
            id: "abc",
            envid: Some("E1"),
            arrival: time::OffsetDateTime::UNIX_EPOCH,
            next_hop: "127.0.0.1:10026",
            failed: vec![Failed {
                address: "x@y.z",
                orcpt: None,
                status: status_of("550 5.1.1 no such user", true),
                diagnostic: "550 5.1.1 no such user".into(),
            }],
            received,
            processed,
            ret_full: false,
        };
        let out = String::from_utf8(build(&r)).unwrap();
        assert!(out.contains("multipart/report; report-type=delivery-status"));
        assert!(out.contains("X-OPES-System: https://gw/opes; id=1"));
        assert!(out.contains("X-OPES-Via: "));
        assert!(out.contains("Status: 5.1.1"));
        assert!(out.contains("Remote-MTA: dns; 127.0.0.1\r\n"), "{out}");
        assert!(out.contains("OPES service: https://gw/opes/dlp"));
        assert!(out.contains("Subject: s") && !out.contains("BODY-AS-RECEIVED"));
        assert!(!out.contains("secret plaintext"));
        assert!(
            out.contains("\r\nAuto-Submitted: auto-replied\r\n"),
            "{out}"
        );
        assert!(
            out.contains("\r\nMessage-ID: <abc.dsn@gw.example.com>\r\n"),
            "{out}"
        );
        assert!(out.contains("\r\nTo: <a@b.c>\r\n"), "{out}");
        let e = Entity::parse(out.as_bytes()).unwrap();
        let ct = e.content_type().unwrap();
        assert_eq!(ct.param("report-type"), Some("delivery-status"));
        let parts = e.multipart().unwrap().parts;
        assert_eq!(parts.len(), 3);
        let part = |i: usize| Entity::parse(&out.as_bytes()[parts[i].clone()]).unwrap();
        assert!(part(0).content_type().unwrap().is("text/plain"));
        let status = part(1);
        assert!(status.content_type().unwrap().is("message/delivery-status"));
        let fields = String::from_utf8(status.decoded_body().unwrap().into_owned()).unwrap();
        assert!(
            fields.starts_with("Reporting-MTA: dns; gw.example.com\r\n"),
            "{fields}"
        );
        assert!(
            fields.contains(
                "\r\n\r\nFinal-Recipient: rfc822; x@y.z\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            ),
            "{fields}"
        );
        assert!(fields.contains("Original-Envelope-Id: E1\r\n"), "{fields}");
        let returned = part(2);
        assert!(returned.content_type().unwrap().is("text/rfc822-headers"));
        assert_eq!(returned.body(), b"From: a@b.c\r\nSubject: s\r\n");
        let full = String::from_utf8(build(&Report {
            ret_full: true,
            ..r
        }))
        .unwrap();
        assert!(full.contains("BODY-AS-RECEIVED") && !full.contains("secret plaintext"));
        let e = Entity::parse(full.as_bytes()).unwrap();
        let parts = e.multipart().unwrap().parts;
        assert_eq!(parts.len(), 3);
        let returned = Entity::parse(&full.as_bytes()[parts[2].clone()]).unwrap();
        assert!(returned.content_type().unwrap().is("message/rfc822"));
        assert_eq!(returned.body(), received);
    }

    #[test]
    fn remote_mta_is_a_host_name() {
        assert_eq!(mta_name("127.0.0.1:10026"), "127.0.0.1");
        assert_eq!(mta_name("mx.example.com:25"), "mx.example.com");
        assert_eq!(mta_name("[::1]:10026"), "::1");
        assert_eq!(mta_name("mx.example.com"), "mx.example.com");
        assert_eq!(mta_name("::1"), "::1");
    }
}
