//! Non-delivery reports (RFC 3464, RFC 6522 multipart/report) for mail the gateway
//! accepted and could not deliver. RFC 4902 §3.1: an NDR caused by OPES processing or
//! relayed through it must carry the OPES trace, so the human-readable part names the
//! OPES System and its services, and the per-message fields carry `X-OPES-System` and
//! `X-OPES-Via`. The returned content is the message as received, or only its header:
//! never decrypted plaintext.

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

/// Builds the NDR message.
pub fn build(r: &Report<'_>) -> Vec<u8> {
    let processed = mime::to_crlf(r.processed);
    let top = Entity::parse(&processed).ok();
    let field = |name: &str| top.as_ref().and_then(|t| t.get(name)).unwrap_or_default();
    let system = field("OPES-System");
    let via = field("OPES-Via");
    let boundary = format!("reseal-dsn-{}", r.id);
    let mut m = String::new();
    m.push_str(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\nTo: <{to}>\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: {date}\r\nMessage-ID: <{id}.dsn@{host}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\"\r\n\r\nThis is a delivery status notification (RFC 3464).\r\n\r\n",
        host = r.hostname,
        to = r.reverse_path,
        date = rfc5322_date(time::OffsetDateTime::now_utc()),
        id = r.id,
    ));
    // Human-readable part, with the OPES trace (RFC 4902 §3.1).
    m.push_str(&format!("--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n"));
    m.push_str(&format!(
        "This is the OPES mail gateway at {}.\r\n\r\nYour message could not be delivered to the following recipients:\r\n\r\n",
        r.hostname
    ));
    for f in &r.failed {
        m.push_str(&format!(
            "  <{}>: {}\r\n",
            f.address,
            one_line(&f.diagnostic)
        ));
    }
    m.push_str("\r\nThe message passed through this OPES System and its services:\r\n");
    m.push_str(&format!("  OPES System: {}\r\n", one_line(&system)));
    if !via.is_empty() {
        for e in via.split(",\r\n").flat_map(|s| s.split(", ")) {
            m.push_str(&format!("  OPES service: {}\r\n", one_line(e.trim())));
        }
    }
    m.push_str(
        "The privacy policy and the operator's contact are at the policy URI above.\r\n\r\n",
    );
    // Machine-readable part.
    m.push_str(&format!(
        "--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
    ));
    m.push_str(&format!("Reporting-MTA: dns; {}\r\n", r.hostname));
    m.push_str(&format!("X-OPES-System: {}\r\n", one_line(&system)));
    if !via.is_empty() {
        m.push_str(&format!("X-OPES-Via: {}\r\n", one_line(&via)));
    }
    if let Some(e) = r.envid {
        m.push_str(&format!("Original-Envelope-Id: {}\r\n", one_line(e)));
    }
    m.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(r.arrival)));
    for f in &r.failed {
        m.push_str("\r\n");
        m.push_str(&format!("Final-Recipient: rfc822; {}\r\n", f.address));
        if let Some(o) = f.orcpt {
            // RFC 3464 §2.3.1: address-type ";" generic-address.
            let o = if o.contains(';') {
                o.to_owned()
            } else {
                format!("rfc822;{o}")
            };
            m.push_str(&format!("Original-Recipient: {}\r\n", one_line(&o)));
        }
        m.push_str(&format!("Action: failed\r\nStatus: {}\r\n", f.status));
        // RFC 3464 §2.3.5: an MTA name of type "dns" is a host name, without a port.
        m.push_str(&format!("Remote-MTA: dns; {}\r\n", mta_name(r.next_hop)));
        m.push_str(&format!(
            "Diagnostic-Code: smtp; {}\r\n",
            one_line(&f.diagnostic)
        ));
    }
    m.push_str("\r\n");
    let mut out = m.into_bytes();
    // The returned content: as received, never the decrypted plaintext.
    let received = mime::to_crlf(r.received);
    if r.ret_full {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(&received);
        if !received.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    } else {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n").as_bytes(),
        );
        let end = Entity::parse(&received)
            .map(|e| e.header_end())
            .unwrap_or(0);
        out.extend_from_slice(received.get(..end).unwrap_or_default());
    }
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
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
        let full = String::from_utf8(build(&Report {
            ret_full: true,
            ..r
        }))
        .unwrap();
        assert!(full.contains("BODY-AS-RECEIVED") && !full.contains("secret plaintext"));
        let e = Entity::parse(full.as_bytes()).unwrap();
        assert_eq!(e.multipart().unwrap().parts.len(), 3);
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
