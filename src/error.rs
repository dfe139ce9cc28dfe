//! How the pipeline fails: one typed value, [`Failure`], that says what went wrong
//! ([`Kind`]) and in which words, but not how it is answered. The answer (SMTP reply code,
//! RFC 3463 enhanced status, sysexits exit code, DSN status) is chosen in one function at
//! the edge, `submission::answer`, so every front end (pipe, SMTP, milter, NDR) reports
//! the same failure the same way (docs/architecture.md, "Failures").

use std::fmt;

/// sysexits.h codes used by `reseal process`.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 64;
    pub const DATAERR: i32 = 65;
    pub const SOFTWARE: i32 = 70;
    pub const TEMPFAIL: i32 = 75;
    pub const NOPERM: i32 = 77;
    pub const CONFIG: i32 = 78;
}

/// What went wrong. Each kind has one answer (`submission::answer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The input is not a well-formed message.
    Malformed,
    /// A bare CR or LF in the message (RFC 5321 §2.3.8).
    BareNewline,
    /// The envelope sender is not an address (RFC 3463 5.1.7).
    BadSender,
    /// An envelope recipient is not an address (RFC 3463 5.1.3).
    BadRecipient,
    /// No envelope recipient (RFC 3463 5.5.1).
    NoRecipients,
    /// More recipients than one message may have (RFC 3463 5.5.3).
    TooManyRecipients,
    /// More recipients than this transaction takes now (RFC 5321 §4.5.3.1.8: 452).
    RecipientLimit,
    /// A command parameter with bad syntax (RFC 5321 §4.2.3: 501, RFC 3463 5.5.4).
    BadParameter,
    /// The message, or one of its lines, is over the limit (RFC 1870 §6: 552).
    TooBig,
    /// The decrypted or decompressed content is over the limit (RFC 3463 5.3.4).
    ContentTooBig,
    /// Try again later: a local resource or a service was not available.
    Temporary,
    /// The gateway's own configuration or keystore is unusable.
    Config,
    /// Refused by policy (RFC 3463 5.7.1).
    Policy,
    /// Encrypted, but to no key the gateway holds for the sender (RFC 3463 5.7.1).
    ForeignEncryption,
    /// The uniform decryption and integrity failure (RFC 3463 5.7.5).
    Crypto,
    /// An algorithm the gateway does not accept (RFC 3463 5.7.6).
    Algorithm,
    /// A signature that is not accepted (RFC 3463 5.7.7).
    Integrity,
}

/// A pipeline failure: what went wrong, in words fit for the SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: Kind,
    /// Human-readable text; never contains secret or decrypted data.
    pub text: String,
    /// The agent URI of the service that caused the failure, if one did.
    pub service: Option<String>,
    /// That service could not do its job (its trace status is `failed`), as opposed to
    /// a service that decided to refuse the message.
    pub service_failed: bool,
}

/// The reply for mail encrypted to no key the gateway holds for the sender. It is
/// known from the RecipientInfos (public) before any decryption, so it is no oracle.
pub const FOREIGN_ENCRYPTION_TEXT: &str = "The message is encrypted, but not to a key the gateway holds for the sender: encrypt it to your own certificate too, or send it to the gateway unencrypted";

/// The one reply for every decryption and integrity failure (SECURITY.md invariant 3): no
/// padding, tag or key-selection oracle.
pub const UNIFORM_CRYPTO_TEXT: &str =
    "The message could not be decrypted or failed an integrity check";

impl Failure {
    pub fn new(kind: Kind, text: impl Into<String>) -> Failure {
        Failure {
            kind,
            text: text.into(),
            service: None,
            service_failed: false,
        }
    }

    pub fn malformed(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Malformed, text)
    }

    pub fn temporary(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Temporary, text)
    }

    pub fn config(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Config, text)
    }

    pub fn policy(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Policy, text)
    }

    /// The uniform decryption/integrity failure ([`UNIFORM_CRYPTO_TEXT`]).
    pub fn crypto() -> Failure {
        Failure::new(Kind::Crypto, UNIFORM_CRYPTO_TEXT)
    }

    /// A key operation that failed for the moment (`reseal_keystore::Error::is_temporary`:
    /// the PKCS#11 token is away, the key-use log cannot be written): the message waits
    /// (4xx); it is never sent without the key's operation. Says nothing about the
    /// message. The reply names the cause; the details (a path) go to the log only.
    pub fn key_unavailable(e: &reseal_keystore::Error) -> Failure {
        tracing::warn!(
            "key operation: {}",
            crate::sanitize::log_text(&e.to_string())
        );
        match e {
            reseal_keystore::Error::TokenUnavailable(why) => Failure::temporary(format!(
                "The key's token is unavailable, try again later ({})",
                crate::sanitize::reply_text(why)
            )),
            _ => Failure::temporary("The key cannot be used at the moment, try again later"),
        }
    }

    /// Mail encrypted to others only ([`FOREIGN_ENCRYPTION_TEXT`]).
    pub fn foreign_encryption() -> Failure {
        Failure::new(Kind::ForeignEncryption, FOREIGN_ENCRYPTION_TEXT)
    }

    /// Whether this is [`Failure::foreign_encryption`].
    pub fn is_foreign_encryption(&self) -> bool {
        self.kind == Kind::ForeignEncryption
    }

    pub fn algorithm(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Algorithm, text)
    }

    pub fn integrity(text: impl Into<String>) -> Failure {
        Failure::new(Kind::Integrity, text)
    }

    /// A message over the size limit. Every front end uses this one.
    pub fn too_big(limit: usize) -> Failure {
        Failure::new(
            Kind::TooBig,
            format!("Message size exceeds the limit of {limit} bytes"),
        )
    }

    /// A line in the message longer than the gateway takes: refused whole, never cut
    /// (RFC 5321 §4.5.3.1.6 sets 1000 octets; the gateway is more lenient, see
    /// `smtp::line`).
    pub fn line_too_long(limit: usize) -> Failure {
        Failure::new(
            Kind::TooBig,
            format!("Message has a line longer than {limit} bytes"),
        )
    }

    /// RFC 5321 §2.3.8: CR and LF occur only together, as CRLF.
    pub fn bare_newline() -> Failure {
        Failure::new(
            Kind::BareNewline,
            "Message contains a bare CR or LF (RFC 5321 section 2.3.8)",
        )
    }

    pub fn with_service(mut self, service: impl Into<String>) -> Failure {
        self.service = Some(service.into());
        self
    }

    /// `service` could not do its job, and its `on_failure` says reject.
    pub fn failed_service(mut self, service: impl Into<String>) -> Failure {
        self.service = Some(service.into());
        self.service_failed = true;
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Failure {}

impl From<crate::mime::compose::ComposeError> for Failure {
    fn from(e: crate::mime::compose::ComposeError) -> Failure {
        Failure::temporary(format!("internal error while writing MIME: {e}"))
    }
}

impl From<crate::mime::MimeError> for Failure {
    fn from(e: crate::mime::MimeError) -> Failure {
        Failure::malformed(format!("Malformed message: {e}"))
    }
}
