//! OPES trace (RFC 4902 §3.1, RFC 4236 §4, RFC 3897 §3.2) and the Received line
//! (RFC 5321 §4.4).
//!
//! This module adds trace fields to the outer header of a message and trace text to
//! replies. It never changes or removes an existing Received line (RFC 5321 §4.4), and
//! it appends to an existing OPES-System field rather than adding a second one
//! (RFC 4236 §4: agents MUST append, SHOULD use a single field).

use time::OffsetDateTime;
use time::macros::format_description;

use crate::config::Config;
use crate::error::Failure;
use crate::mime::Entity;

/// The identity of one pass of a message through this OPES System.
#[derive(Clone, Debug)]
pub struct Trace {
    pub system: String,
    pub privacy_policy: String,
    pub hostname: String,
    /// Unique per message and per pass (RFC 3897 §3.2: unique identification).
    pub id: String,
}

/// Quotes a parameter value when it contains characters that would end it.
fn param_value(v: &str) -> String {
    if v.bytes()
        .any(|b| b == b';' || b == b',' || b == b'"' || b.is_ascii_whitespace())
    {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        v.to_owned()
    }
}

/// RFC 5322 §3.3 date-time in UTC.
pub fn rfc5322_date(t: OffsetDateTime) -> String {
    let f = format_description!(
        "[weekday repr:short], [day padding:none] [month repr:short] [year] [hour]:[minute]:[second] +0000"
    );
    t.format(&f)
        .unwrap_or_else(|_| "Thu, 1 Jan 1970 00:00:00 +0000".into())
}

impl Trace {
    pub fn new(config: &Config) -> Result<Trace, Failure> {
        Ok(Trace {
            system: config.opes_system.clone(),
            privacy_policy: config.privacy_policy.clone(),
            hostname: config.hostname.clone(),
            id: crate::crypto::random_hex(12)?,
        })
    }

    /// This system's trace entry: `opes-agent-id *( ";" parameter )` (RFC 4236 §4),
    /// carrying the unique id and the privacy-policy URI (RFC 3897 §3.2).
    pub fn system_entry(&self) -> String {
        format!(
            "{}; id={}; policy={}",
            self.system,
            param_value(&self.id),
            param_value(&self.privacy_policy)
        )
    }

    /// The text appended to SMTP replies and NDRs (RFC 4902 §3.1).
    pub fn reply_text(&self, service: Option<&str>) -> String {
        let mut s = format!("[OPES {}", self.system_entry());
        if let Some(svc) = service {
            s.push_str("; service=");
            s.push_str(&param_value(svc));
        }
        s.push(']');
        s
    }

    /// [`Trace::reply_text`] for `f`: names the service that refused the message and,
    /// when that service could not do its job, says so with `status=failed` (the
    /// status its OPES-Via entry would carry).
    pub fn failure_text(&self, f: &Failure) -> String {
        let mut s = self.reply_text(f.service.as_deref());
        if f.service.is_some() && f.service_failed {
            s.pop();
            s.push_str("; status=failed]");
        }
        s
    }

    /// A Received field (RFC 5321 §4.4) for a local (pipe) pass.
    pub fn received(&self, rcpt: Option<&str>, now: OffsetDateTime) -> String {
        let mut s = format!(
            "Received: by {} (Reseal {}) id {}",
            self.hostname,
            env!("CARGO_PKG_VERSION"),
            self.id
        );
        if let Some(r) = rcpt {
            s.push_str(&format!("\r\n\tfor <{r}>"));
        }
        s.push_str(&format!(";\r\n\t{}\r\n", rfc5322_date(now)));
        s
    }
}

/// Adds the trace to `message` (CRLF; a whole message or just its header fields): a new
/// Received line on top, this system's entry appended to OPES-System, and, when services
/// acted or bypass decisions were made, this system's entry followed by one entry per
/// service appended to OPES-Via (RFC 4236 §4). A field that does not exist yet is added
/// below the Received line. Everything else stays byte-identical.
pub fn apply(
    message: &[u8],
    trace: &Trace,
    rcpt: Option<&str>,
    now: OffsetDateTime,
    via: &[String],
) -> Result<Vec<u8>, Failure> {
    let top = Entity::parse(message)?;
    let entry = trace.system_entry();
    let mut appends: Vec<(usize, String)> = Vec::new();
    let mut new_fields = String::new();
    match top.get_all("OPES-System").next() {
        None => new_fields.push_str(&format!("OPES-System: {entry}\r\n")),
        // RFC 4236 §4: append to the existing field.
        Some(f) => appends.push((f.value.end, format!(",\r\n {entry}"))),
    }
    if !via.is_empty() {
        let mut list = vec![entry.clone()];
        list.extend(via.iter().cloned());
        let joined = list.join(",\r\n ");
        match top.get_all("OPES-Via").next() {
            None => new_fields.push_str(&format!("OPES-Via: {joined}\r\n")),
            Some(f) => appends.push((f.value.end, format!(",\r\n {joined}"))),
        }
    }
    appends.sort_by_key(|(p, _)| *p);
    let mut out = Vec::with_capacity(message.len() + 1024);
    out.extend_from_slice(trace.received(rcpt, now).as_bytes());
    out.extend_from_slice(new_fields.as_bytes());
    let mut pos = 0;
    for (at, text) in appends {
        out.extend_from_slice(message.get(pos..at).unwrap_or_default());
        out.extend_from_slice(text.as_bytes());
        pos = at;
    }
    out.extend_from_slice(message.get(pos..).unwrap_or_default());
    Ok(out)
}

/// One OPES-Via entry for a service decision: `<service>; id=...; status=...;
/// consent=...` (RFC 4236 §4 parameters; RFC 3897 §4.2 asks services that ignore a
/// bypass request to say why).
pub fn via_entry(trace: &Trace, note: &crate::adapt::Note) -> String {
    let mut e = format!(
        "{}; id={}; status={}; consent={}",
        note.service,
        param_value(&trace.id),
        note.decision.as_str(),
        note.consent.as_str()
    );
    if let crate::adapt::Decision::BypassRefused(why) = note.decision {
        e.push_str(&format!("; reason={}", param_value(why)));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Trace {
        Trace {
            system: "https://gw.example.com/opes".into(),
            privacy_policy: "https://gw.example.com/privacy".into(),
            hostname: "gw.example.com".into(),
            id: "abc123".into(),
        }
    }

    #[test]
    fn system_entry_syntax() {
        // RFC 4236 §4: trace-entry = opes-agent-id *( ";" parameter )
        assert_eq!(
            trace().system_entry(),
            "https://gw.example.com/opes; id=abc123; policy=https://gw.example.com/privacy"
        );
    }

    #[test]
    fn received_is_prepended_and_old_ones_untouched() {
        let m =
            b"Received: from a by b; Thu, 1 Jan 2026 00:00:00 +0000\r\nFrom: x@y.z\r\n\r\nbody\r\n";
        let out = apply(m, &trace(), Some("r@x.y"), OffsetDateTime::UNIX_EPOCH, &[]).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("Received: by gw.example.com"));
        assert!(s.contains("OPES-System: https://gw.example.com/opes; id=abc123"));
        assert!(
            s.ends_with(std::str::from_utf8(m).unwrap()),
            "original bytes follow unchanged"
        );
    }

    #[test]
    fn existing_opes_system_is_appended_to() {
        let m = b"OPES-System: https://other.example/opes; id=1\r\nFrom: x@y.z\r\n\r\nb\r\n";
        let out = apply(
            m,
            &trace(),
            None,
            OffsetDateTime::UNIX_EPOCH,
            &["https://gw/opes/d; status=applied".into()],
        )
        .unwrap();
        let top = Entity::parse(&out).unwrap();
        assert_eq!(top.get_all("OPES-System").count(), 1);
        let v = top.get("OPES-System").unwrap();
        assert!(v.starts_with("https://other.example/opes; id=1,"));
        assert!(v.ends_with("policy=https://gw.example.com/privacy"));
        let via = top.get("OPES-Via").unwrap();
        assert!(
            via.starts_with("https://gw.example.com/opes; id=abc123"),
            "{via}"
        );
        assert!(via.ends_with("https://gw/opes/d; status=applied"), "{via}");
    }
}
