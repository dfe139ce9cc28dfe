//! The `callout` service: hand the cleartext message to an external adaptation server
//! over ICAP (RFC 3507, RESPMOD) or HTTP POST, and take back its verdict.
//!
//! This module owns the wire protocol only. It never decides policy: the caller maps a
//! failure to fail-open or fail-closed, and records any modification the server made.

use std::time::Duration;

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
    /// The server refuses the message (e.g. ICAP 403, HTTP 403/451), with its reason.
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

/// Sends `message` (a complete RFC 5322 message, CRLF) to the server and returns its verdict.
pub fn call(cfg: &CalloutConfig, message: &[u8]) -> Result<CalloutOutcome, CalloutError> {
    let _ = (cfg, message);
    Err(CalloutError::Protocol("not implemented yet".into()))
}
