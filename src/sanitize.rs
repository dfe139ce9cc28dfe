//! The one place where text that came from outside is made safe to show.
//!
//! Addresses, certificate names, service output and peer input reach SMTP replies, NDR
//! text, header fields and logs. A CR or LF in any of them would end a reply line early
//! (the client reads the rest as the answer to its next command) or start a new header
//! field. Every front end renders replies through [`reply_text`]
//! (`crate::submission::render`), and logs outside text through [`log_text`].

/// Text for an SMTP reply line or an NDR's human-readable part: every control
/// character (CR, LF, TAB, NUL, DEL, ...) becomes a space, and every non-ASCII
/// character `?` (a reply is ASCII unless SMTPUTF8 was negotiated, RFC 6531 §3.7.4;
/// RFC 5321 §4.2 allows only printable text after the code).
pub fn reply_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            c if c.is_ascii_control() => ' ',
            c if !c.is_ascii() => '?',
            c => c,
        })
        .collect()
}

/// Text for one line of a message the gateway writes (a notice that replaces an
/// attachment): every control character becomes a space; non-ASCII text is kept (the
/// part is UTF-8).
pub fn line_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Text for a log line: control characters are escaped (`\r`, `\n`, `\u{1b}`), so one
/// event stays one line and a terminal never receives escape sequences. Non-ASCII
/// printable text is kept.
pub fn log_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `s` is a host name fit for a Received line, an EHLO reply and a DSN
/// (RFC 5321 §4.1.2 Domain, or an address literal): letters, digits, `-`, `.`, and
/// for literals `[`, `]`, `:`. Anything else could inject a header field.
pub fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_never_carry_line_breaks() {
        assert_eq!(
            reply_text("bad\r\n250 2.0.0 queued\tx\0ü"),
            "bad  250 2.0.0 queued x ?"
        );
    }

    #[test]
    fn logs_escape_controls() {
        assert_eq!(log_text("a\r\nb\u{1b}[31m"), "a\\r\\nb\\u{1b}[31m");
        assert_eq!(log_text("für"), "für");
    }

    #[test]
    fn host_names() {
        assert!(is_host_name("gw.example.com"));
        assert!(is_host_name("[192.0.2.1]"));
        assert!(!is_host_name("gw\r\nX-Injected: 1"));
        assert!(!is_host_name("gw example"));
        assert!(!is_host_name(""));
    }
}
