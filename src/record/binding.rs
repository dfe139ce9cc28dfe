//! Header binding for `reseal verify` (docs/modification-record.md §3.2, §3.4, §4 steps
//! 4 and 8): which header fields of a delivered message the record covers, which others
//! may stand above the gateway's trace, the check of the gateway's own Received line,
//! single-instance fields, the preamble and epilogue of the outer wrapper, and the
//! identity warnings (From display names, Sender, Reply-To).
//!
//! Everything here reads untrusted input: nothing panics, and any outside text that
//! goes into a problem or warning goes through [`log_text`].

use time::{Date, Month, OffsetDateTime, UtcOffset};

use crate::mime::compose::is_content_field;
use crate::mime::{self, Entity};
use crate::sanitize::{is_host_name, log_text};

/// Fields that may stand above the gateway's Received line without lowering the verdict
/// (docs/modification-record.md §3.4). Only trace and authentication fields, which later
/// hops add and which mail readers do not show as part of the message. Anything a reader
/// displays (Subject, From, Reply-To, ...) or acts on (X-Spam-*, List-*, Resent-*) is
/// not here.
pub const ABOVE_TRACE_ALLOWED: &[&str] = &[
    // RFC 5321 §4.4: the trace of later SMTP hops, and the return path written at
    // final delivery.
    "Received",
    "Return-Path",
    // Written by the delivery agent (Postfix local(8), virtual(8), pipe(8)): the
    // envelope recipient, as delivered and as originally addressed.
    "Delivered-To",
    "X-Original-To",
    // RFC 6376 §3.5: a later hop's DKIM signature.
    "DKIM-Signature",
    // RFC 8617 §4.1: an ARC set.
    "ARC-Seal",
    "ARC-Message-Signature",
    "ARC-Authentication-Results",
    // RFC 8601 §2.2: the receiving domain's authentication results.
    "Authentication-Results",
    // RFC 7208 §9.1: the SPF result of a later hop.
    "Received-SPF",
];

/// RFC 5322 §3.6 (the table at the end of the section): the fields a message carries
/// at most once. Two of them let two readers show two different values.
pub const SINGLE_INSTANCE: &[&str] = &[
    "Date",
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
];

/// How far the date of the gateway's Received line may lie before the record's `time`
/// (docs/modification-record.md §3.2). The gateway takes the date when the message
/// arrives and the record's time after its services ran; a client waits at most
/// 10 minutes for the reply to its end of data (RFC 5321 §4.5.3.2.6), so an hour is a
/// wide margin.
pub const TRACE_BEFORE_RECORD: i64 = 3600;
/// How far it may lie after the record's time: none in theory (same clock, earlier
/// reading), a minute for a clock that was stepped back in between.
pub const TRACE_AFTER_RECORD: i64 = 60;

/// The notes the gateway writes into the preamble of its wrapper (src/reseal/smime.rs,
/// src/reseal/openpgp.rs). Readers ignore a preamble (RFC 2046 §5.1.1), but some show
/// it, and no signature covers it.
const WRAPPER_NOTES: &[&str] = &[
    "This is an S/MIME signed message",
    "This is an OpenPGP/MIME signed message (RFC 3156)",
    "This is an OpenPGP/MIME encrypted message (RFC 3156)",
];

/// Whether `name` may stand above the gateway's Received line.
pub fn allowed_above_trace(name: &str) -> bool {
    ABOVE_TRACE_ALLOWED
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
}

/// Whether a field belongs to the protective wrapping (docs/modification-record.md
/// §3.2): Content-* and MIME-Version.
pub fn is_wrapping_field(name: &str) -> bool {
    is_content_field(name) || name.eq_ignore_ascii_case("MIME-Version")
}

/// A field name for a problem or warning: printable ASCII already (the parser accepts
/// nothing else, RFC 5322 §3.6.8), cut to a readable length.
pub fn shown_name(name: &str) -> String {
    const MAX: usize = 78;
    if name.chars().count() > MAX {
        let mut s: String = name.chars().take(MAX).collect();
        s.push_str("...");
        log_text(&s)
    } else {
        log_text(name)
    }
}

/// Whether `raw` (a whole field, name to final CRLF) is a Received line of this gateway
/// for trace `id`: a loose match, so that an altered line is still found (and then fails
/// [`parse_gateway_received`]) rather than reported as missing.
pub fn is_gateway_received(name: &str, raw: &[u8], id: &str) -> bool {
    name.eq_ignore_ascii_case("Received") && {
        let v = mime::unfold(raw);
        v.contains("(Reseal ")
            && v.split([';', '\t', ' ']).any(|t| t == id)
            && v.contains(&format!(" id {id}"))
    }
}

/// The gateway's own Received line, read back exactly as `Trace::received`
/// (src/trace.rs) writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayReceived<'a> {
    pub host: &'a str,
    pub version: &'a str,
    pub id: &'a str,
    pub rcpt: Option<&'a str>,
    /// The date, in seconds since the epoch.
    pub date: i64,
}

/// Parses a whole Received field (name to final CRLF) that must read exactly
///
/// ```text
/// "Received: by " host " (Reseal " version ") id " id [CRLF HTAB "for <" rcpt ">"]
///     ";" CRLF HTAB date CRLF
/// ```
///
/// with `host` a host name, `version` a version number, `id` letters and digits,
/// `rcpt` an address and `date` an RFC 5322 §3.3 date-time in the gateway's UTC form.
/// Anything else, an added clause, comment or line included, is `None`.
pub fn parse_gateway_received(raw: &[u8]) -> Option<GatewayReceived<'_>> {
    let s = std::str::from_utf8(raw).ok()?;
    let rest = s.strip_prefix("Received: by ")?;
    let (host, rest) = rest.split_once(" (Reseal ")?;
    let (version, rest) = rest.split_once(") id ")?;
    let (id_for, date) = rest.split_once(";\r\n\t")?;
    let (id, rcpt) = match id_for.split_once("\r\n\tfor <") {
        Some((id, r)) => (id, Some(r.strip_suffix('>')?)),
        None => (id_for, None),
    };
    let date = date.strip_suffix("\r\n")?;
    if !is_host_name(host)
        || version.is_empty()
        || !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        || id.is_empty()
        || !id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    if let Some(r) = rcpt
        && (!mime::address::is_plausible(r) || r.contains(['<', '>']))
    {
        return None;
    }
    Some(GatewayReceived {
        host,
        version,
        id,
        rcpt,
        date: rfc5322_utc(date)?.unix_timestamp(),
    })
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An RFC 5322 §3.3 date-time exactly as `trace::rfc5322_date` writes it (UTC, day
/// without padding, weekday matching the date).
fn rfc5322_utc(s: &str) -> Option<OffsetDateTime> {
    let (_, rest) = s.split_once(", ")?;
    let mut it = rest.split(' ');
    let day: u8 = number(it.next()?)?;
    let mon = it.next()?;
    let month = MONTHS.iter().position(|m| *m == mon)?;
    let year: i32 = number(it.next()?)?;
    let mut hms = it.next()?.split(':');
    let (h, m, sec): (u8, u8, u8) = (
        number(hms.next()?)?,
        number(hms.next()?)?,
        number(hms.next()?)?,
    );
    if hms.next().is_some() || it.next()? != "+0000" || it.next().is_some() {
        return None;
    }
    let month = Month::try_from(u8::try_from(month + 1).ok()?).ok()?;
    let dt = Date::from_calendar_date(year, month, day)
        .ok()?
        .with_hms(h, m, sec)
        .ok()?
        .assume_utc();
    (crate::trace::rfc5322_date(dt) == s).then_some(dt)
}

/// An RFC 3339 §5.6 date-time (the record's `time`), in seconds since the epoch.
pub fn rfc3339(s: &str) -> Option<i64> {
    let at = |i: usize| s.as_bytes().get(i).copied();
    if at(4) != Some(b'-')
        || at(7) != Some(b'-')
        || !matches!(at(10), Some(b'T' | b't'))
        || at(13) != Some(b':')
        || at(16) != Some(b':')
    {
        return None;
    }
    let year: i32 = number(s.get(0..4)?)?;
    let month: u8 = number(s.get(5..7)?)?;
    let day: u8 = number(s.get(8..10)?)?;
    let h: u8 = number(s.get(11..13)?)?;
    let m: u8 = number(s.get(14..16)?)?;
    let sec: u8 = number(s.get(17..19)?)?;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = frac.get(n..)?;
    }
    let offset = match rest {
        "Z" | "z" => UtcOffset::UTC,
        _ => {
            let sign: i8 = match rest.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.get(3..4)? != ":" {
                return None;
            }
            let oh: i8 = number(rest.get(1..3)?)?;
            let om: i8 = number(rest.get(4..6)?)?;
            UtcOffset::from_hms(sign * oh, sign * om, 0).ok()?
        }
    };
    let dt = Date::from_calendar_date(year, Month::try_from(month).ok()?, day)
        .ok()?
        .with_hms(h, m, sec)
        .ok()?
        .assume_offset(offset);
    Some(dt.unix_timestamp())
}

/// Problems with the preamble and epilogue of the outermost multipart of `message`,
/// when it is the gateway's wrapper (multipart/signed or multipart/encrypted): the one
/// part of the body that neither a signature, an encryption nor the record covers. The
/// preamble may hold only the gateway's note, the epilogue nothing but white space.
pub fn wrapper_problems(message: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(top) = Entity::parse(message) else {
        return out;
    };
    let Ok(ct) = top.content_type() else {
        return out;
    };
    if !(ct.is("multipart/signed") || ct.is("multipart/encrypted")) {
        return out;
    }
    let Ok(mp) = top.multipart() else {
        return out;
    };
    let text = |r: std::ops::Range<usize>| message.get(r).unwrap_or_default().trim_ascii();
    let preamble = text(mp.preamble.clone());
    if !preamble.is_empty() && !WRAPPER_NOTES.iter().any(|n| n.as_bytes() == preamble) {
        out.push(format!(
            "wrapper: the preamble of the outer {} holds text the gateway did not write, \
             which no signature covers",
            ct.mime_type
        ));
    }
    if !text(mp.epilogue.clone()).is_empty() {
        out.push(format!(
            "wrapper: the epilogue of the outer {} holds text the gateway did not write, \
             which no signature covers",
            ct.mime_type
        ));
    }
    out
}

/// The addresses a display name shows: every `local@domain` token in it, with the
/// full-width and small commercial at signs read as `@`.
pub fn addresses_in(name: &str) -> Vec<String> {
    let name: String = name
        .chars()
        .map(|c| match c {
            '\u{FF20}' | '\u{FE6B}' => '@',
            c => c,
        })
        .collect();
    let mut out: Vec<String> = name
        .split(|c: char| c.is_whitespace() || "<>\"'()[],;:".contains(c))
        .filter(|t| t.contains('@'))
        .map(|t| mime::address::normalize(t.trim_end_matches('.')))
        .filter(|t| mime::address::is_plausible(t))
        .collect();
    out.dedup();
    out
}

/// The identity warnings of the "ID" class of Müller et al., "Johnny, you are fired"
/// (USENIX Security 2019): a From display name that shows another address than the
/// From address, and a Sender or Reply-To that names someone other than the signer.
/// `signer` is the outer signature's signer; the From address counts as the signer too
/// (a valid signature requires them to be equal).
pub fn identity_warnings(top: &Entity<'_>, signer: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let from = crate::mime::address::single_from(top);
    for f in top.get_all("From") {
        for (name, addr) in mime::address::mailboxes(top.field_value(f)) {
            for shown in addresses_in(&name) {
                if shown != addr {
                    out.push(format!(
                        "From: the display name shows the address {}, but the mailbox is {}",
                        log_text(&shown),
                        log_text(&addr)
                    ));
                }
            }
        }
    }
    let who: Vec<String> = signer
        .map(mime::address::normalize)
        .into_iter()
        .chain(from)
        .collect();
    let Some(first) = who.first() else {
        return out;
    };
    for (field, what) in [
        ("Sender", "names another sender"),
        ("Reply-To", "sends replies elsewhere"),
    ] {
        for f in top.get_all(field) {
            for addr in mime::address::addr_specs(top.field_value(f)) {
                if !who.contains(&addr) {
                    out.push(format!(
                        "{field}: {} is not the signer {}; it {what}",
                        log_text(&addr),
                        log_text(first)
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::trace::Trace;

    fn trace() -> Trace {
        Trace {
            system: "https://gw.example.com/opes".into(),
            privacy_policy: "https://gw.example.com/privacy".into(),
            hostname: "gw.example.com".into(),
            id: "a7aefc7740600a61cead5dd4".into(),
        }
    }

    #[test]
    fn the_gateway_received_line_reads_back() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_833_488).unwrap();
        for rcpt in [Some("carol@example.com"), None] {
            let line = trace().received(rcpt, now);
            let r = parse_gateway_received(line.as_bytes()).unwrap();
            assert_eq!(r.host, "gw.example.com");
            assert_eq!(r.version, env!("CARGO_PKG_VERSION"));
            assert_eq!(r.id, "a7aefc7740600a61cead5dd4");
            assert_eq!(r.rcpt, rcpt);
            assert_eq!(r.date, 1_795_833_488);
        }
    }

    #[test]
    fn an_altered_received_line_does_not_read_back() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_833_488).unwrap();
        let line = trace().received(Some("carol@example.com"), now);
        for (from, to) in [
            ("Received: by ", "Received: from bank.example by "),
            ("by gw.example.com ", "by gw.example.com (trusted) "),
            ("by gw.example.com", "by gw example"),
            ("(Reseal ", "(Reseal 0.1.0 verified) (Reseal "),
            (" id a7ae", " id x a7ae"),
            ("<carol@example.com>", "<carol@example.com> (via bank)"),
            ("+0000", "-0500"),
            ("Sat, ", "Mon, "),
            (";\r\n\t", "; \r\n\t"),
            ("\r\n\t", "\r\n "),
        ] {
            assert!(line.contains(from), "{from}");
            let bad = line.replacen(from, to, 1);
            assert!(
                parse_gateway_received(bad.as_bytes()).is_none(),
                "accepted: {bad:?}"
            );
        }
        let extra = format!("{}X-Injected: 1\r\n", line.trim_end());
        assert!(parse_gateway_received(extra.as_bytes()).is_none());
        assert!(parse_gateway_received(b"Received: by \xff").is_none());
        assert!(parse_gateway_received(b"").is_none());
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339("2026-11-28T02:38:08.03193595Z"),
            Some(1_795_833_488)
        );
        assert_eq!(rfc3339("2026-11-28T03:38:08+01:00"), Some(1_795_833_488));
        for bad in [
            "",
            "2026-11-28",
            "2026-11-28T02:38:08",
            "2026-13-28T02:38:08Z",
            "2026-11-28T02:38:08.Z",
            "2026-11-28T02:38:08+0100",
            "+026-11-28T02:38:08Z",
            "2026-11-28T02:38:08Zjunk",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        let t = OffsetDateTime::from_unix_timestamp(1_795_833_488).unwrap();
        let text = crate::trace::rfc5322_date(t);
        assert_eq!(rfc5322_utc(&text), Some(t));
        assert_eq!(rfc5322_utc(&text.replace("Sat", "Sun")), None);
        assert_eq!(rfc5322_utc(&format!("{text} ")), None);
    }

    fn message(entity: &[u8]) -> Vec<u8> {
        [
            b"From: a@example.com\r\nMIME-Version: 1.0\r\n".as_slice(),
            entity,
        ]
        .concat()
    }

    /// The notes accepted here are the ones the gateway writes: the wrappers it makes
    /// pass, with text added before or after them they do not.
    #[test]
    fn wrapper_preamble_and_epilogue() {
        let entity = b"Content-Type: text/plain\r\n\r\nhello\r\n";
        let wrappers = [
            crate::mime::compose::smime_signed(entity, b"DER").unwrap(),
            crate::mime::compose::pgp_signed(
                entity,
                b"-----BEGIN PGP SIGNATURE-----\r\n\r\nx\r\n-----END PGP SIGNATURE-----\r\n",
                crate::reseal::openpgp::SIGN_HASH,
            )
            .unwrap(),
            crate::mime::compose::pgp_encrypted(
                b"-----BEGIN PGP MESSAGE-----\r\n\r\nx\r\n-----END PGP MESSAGE-----\r\n".to_vec(),
            )
            .unwrap(),
        ];
        for w in wrappers {
            let m = message(&w);
            assert_eq!(wrapper_problems(&m), Vec::<String>::new());
            let text = String::from_utf8(m).unwrap();
            let pre = text.replacen("This is an", "URGENT: new bank details. This is an", 1);
            let p = wrapper_problems(pre.as_bytes());
            assert!(p.len() == 1 && p[0].contains("preamble"), "{p:?}");
            let epi = format!("{text}URGENT: new bank details\r\n");
            let p = wrapper_problems(epi.as_bytes());
            assert!(p.len() == 1 && p[0].contains("epilogue"), "{p:?}");
            // White space added after the end is no text.
            assert!(wrapper_problems(format!("{text}\r\n\r\n").as_bytes()).is_empty());
        }
        // Not a wrapper: nothing to say (the record's digest covers the entity).
        assert!(wrapper_problems(&message(entity)).is_empty());
        assert!(wrapper_problems(b"garbage").is_empty());
    }

    #[test]
    fn display_names_that_show_addresses() {
        assert_eq!(addresses_in("manager@corp"), vec!["manager@corp"]);
        assert_eq!(
            addresses_in("Boss (BOSS@Corp.example.)"),
            vec!["boss@corp.example"]
        );
        assert_eq!(
            addresses_in("ceo\u{FF20}corp.example"),
            vec!["ceo@corp.example"]
        );
        assert!(addresses_in("Alice Example").is_empty());
        assert!(addresses_in("Alice @ Example").is_empty());
    }

    fn warnings(header: &str, signer: Option<&str>) -> Vec<String> {
        let m = format!("{header}\r\n\r\nbody\r\n");
        let e = Entity::parse(m.as_bytes()).unwrap();
        identity_warnings(&e, signer)
    }

    #[test]
    fn identity_warnings_name_the_field() {
        let ok = [
            "From: Alice <alice@example.com>",
            "From: \"alice@example.com\" <alice@example.com>",
            "From: Alice <alice@example.com>\r\nReply-To: alice@example.com\r\nSender: <ALICE@example.com>",
        ];
        for h in ok {
            assert_eq!(
                warnings(h, Some("alice@example.com")),
                Vec::<String>::new(),
                "{h}"
            );
        }
        let w = warnings("From: \"manager@corp\" <eve@corp>", Some("eve@corp"));
        assert!(
            w.len() == 1 && w[0].starts_with("From:") && w[0].contains("manager@corp"),
            "{w:?}"
        );
        let w = warnings(
            "From: =?utf-8?q?ceo=40example=2Ecom?= <eve@example.com>",
            None,
        );
        assert!(w.len() == 1 && w[0].contains("ceo@example.com"), "{w:?}");
        let w = warnings(
            "From: Alice <alice@example.com>\r\nSender: secretary@example.com\r\nReply-To: <attacker@evil.test>",
            Some("alice@example.com"),
        );
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].starts_with("Sender: secretary@example.com is not the signer alice@example.com")
        );
        assert!(w[1].starts_with("Reply-To: attacker@evil.test is not the signer"));
        // Control characters in a name never reach the text unescaped.
        let w = warnings("From: \"x\u{1b}[31m boss@corp\" <eve@corp>", None);
        assert!(w.iter().all(|w| !w.contains('\u{1b}')), "{w:?}");
    }
}
