//! The `callout` service: hand the cleartext message to an external adaptation server
//! over ICAP (RFC 3507, RESPMOD) or HTTP POST, and take back its verdict.
//!
//! This module owns the wire protocol only. It never decides policy: the caller maps a
//! failure to the service's `on_failure` (reject, quarantine or pass), and records any
//! modification the server made.
//!
//! Everything the server sends is untrusted: every line, header section, chunk and body is
//! bounded, and the whole exchange (name lookup, connect, send, receive) runs against one
//! deadline, `CalloutConfig::timeout`. Only plain TCP is spoken (no TLS). Logs carry the
//! scheme, host and port, never the URL path (it may hold a token) nor message bytes.

use std::time::Duration;

mod conn;
mod http;
mod icap;
mod url;

use self::conn::{Conn, Deadline, connect, exchange};
use self::http::{Head, http_reply, http_request};
use self::icap::{icap_reply, icap_request};
use self::url::{Scheme, parse_url};

/// Where and how to call out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalloutConfig {
    /// `icap://host[:port]/service` (RFC 3507 §4.2; default port 1344) or
    /// `http://host[:port]/path`.
    pub url: String,
    /// Whole-exchange timeout (connect + send + receive).
    pub timeout: Duration,
    /// The most bytes accepted back from the server.
    pub max_response: usize,
}

/// What the server said about the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalloutOutcome {
    /// No change (ICAP 204, or HTTP 204 / 200 with an identical body).
    Unmodified,
    /// The server returned a modified message (the complete new message bytes).
    Modified(Vec<u8>),
    /// The server refuses the message (an ICAP reply encapsulating an HTTP 403/451 page,
    /// or HTTP 403/451), with its reason.
    Blocked(String),
}

/// Why a callout failed (timeouts, refused connections, protocol errors). The caller
/// applies `on_failure`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalloutError {
    #[error("invalid callout URL {0:?}")]
    BadUrl(String),
    #[error("callout server unreachable: {0}")]
    Connect(String),
    #[error("callout timed out")]
    Timeout,
    #[error("callout protocol error: {0}")]
    Protocol(String),
}

/// The most bytes of a "blocked" page read to find a reason in it.
const MAX_REASON_BODY: usize = 16 * 1024;
/// The most characters of a reason kept in `Blocked` or in an error.
const MAX_REASON: usize = 200;

/// Sends `message` (a complete RFC 5322 message, CRLF) to the server and returns its verdict.
pub fn call(cfg: &CalloutConfig, message: &[u8]) -> Result<CalloutOutcome, CalloutError> {
    let target = parse_url(&cfg.url)?;
    let deadline = Deadline::after(cfg.timeout);
    let result = connect(&target, &deadline).and_then(|stream| {
        let mut conn = Conn::new(stream, deadline);
        match target.scheme {
            Scheme::Icap => {
                let request = icap_request(&target, message);
                exchange(&mut conn, &request, |c| {
                    icap_reply(c, message, cfg.max_response)
                })
            }
            Scheme::Http => {
                let request = http_request(&target, message);
                exchange(&mut conn, &request, |c| {
                    http_reply(c, message, cfg.max_response)
                })
            }
        }
    });
    match &result {
        Ok(outcome) => tracing::debug!(
            scheme = target.scheme.as_str(),
            host = %target.host,
            port = target.port,
            outcome = outcome_name(outcome),
            "callout answered"
        ),
        Err(err) => tracing::debug!(
            scheme = target.scheme.as_str(),
            host = %target.host,
            port = target.port,
            error = %err,
            "callout failed"
        ),
    }
    result
}

fn outcome_name(outcome: &CalloutOutcome) -> &'static str {
    match outcome {
        CalloutOutcome::Unmodified => "unmodified",
        CalloutOutcome::Modified(_) => "modified",
        CalloutOutcome::Blocked(_) => "blocked",
    }
}

fn too_large() -> CalloutError {
    CalloutError::Protocol("response larger than max_response".into())
}

/// A reason fit for a verdict or an error: valid text, no control characters, bounded.
fn sanitize(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_REASON)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_block_status(status: u16) -> bool {
    // 403 Forbidden; 451 Unavailable For Legal Reasons (RFC 7725).
    matches!(status, 403 | 451)
}

/// The reason for a block: an ICAP virus header if any, else the first line of a plain
/// text page, else the HTTP reason phrase.
fn block_reason(icap: Option<&Head>, status: u16, reason: &str, body: Option<&[u8]>) -> String {
    let from_icap = icap.and_then(|head| {
        ["X-Virus-ID", "X-Infection-Found"]
            .iter()
            .find_map(|name| head.get(name))
            .map(|v| sanitize(v.as_bytes()))
            .filter(|v| !v.is_empty())
    });
    let from_body = || {
        body.and_then(|body| {
            body.split(|&b| b == b'\n')
                .map(sanitize)
                .find(|line| !line.is_empty())
                .filter(|line| !line.starts_with('<'))
        })
    };
    from_icap
        .or_else(from_body)
        .or_else(|| (!reason.is_empty()).then(|| reason.to_owned()))
        .unwrap_or_else(|| format!("blocked (HTTP {status})"))
}

/// Compares the returned message with the one sent.
fn verdict_on(body: Vec<u8>, message: &[u8]) -> Result<CalloutOutcome, CalloutError> {
    if body == message {
        Ok(CalloutOutcome::Unmodified)
    } else if body.is_empty() {
        // An empty message is never a sensible modification; treat it as a broken reply.
        Err(CalloutError::Protocol(
            "server returned an empty message".into(),
        ))
    } else {
        Ok(CalloutOutcome::Modified(body))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn reasons_are_sanitized_and_bounded() {
        assert_eq!(sanitize(b"bad\r\nX-Injected: 1"), "bad  X-Injected: 1");
        assert_eq!(sanitize(&[b'a'; 1000]).len(), MAX_REASON);
        assert_eq!(
            block_reason(None, 403, "Forbidden", Some(b"<html>blocked</html>")),
            "Forbidden"
        );
        assert_eq!(
            block_reason(None, 451, "", Some(b"\r\nblocked by policy\r\n")),
            "blocked by policy"
        );
        assert_eq!(block_reason(None, 451, "", None), "blocked (HTTP 451)");
    }
}
