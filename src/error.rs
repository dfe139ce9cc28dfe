//! How the pipeline fails: one typed value that knows its SMTP reply (RFC 5321 §4.2,
//! RFC 3463 enhanced codes) and its sysexits exit code, so every front end (pipe, SMTP,
//! milter) reports the same failure the same way.

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

/// The class of a failure decides the exit code and the SMTP reply class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The input is not a well-formed message (65, 554 5.6.x).
    Malformed,
    /// Try again later (75, 451 4.x.x).
    Temporary,
    /// Refused by policy or cryptography (77, 554/550 5.7.x).
    Refused,
    /// The gateway's own configuration is unusable (78, 451 4.3.5).
    Config,
}

/// A pipeline failure: what went wrong, in words fit for the SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub class: Class,
    /// The basic SMTP reply code (RFC 5321 §4.2.3).
    pub code: u16,
    /// The enhanced status code (RFC 3463), e.g. "5.7.5".
    pub status: &'static str,
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
    fn new(class: Class, code: u16, status: &'static str, text: impl Into<String>) -> Failure {
        Failure {
            class,
            code,
            status,
            text: text.into(),
            service: None,
            service_failed: false,
        }
    }

    pub fn malformed(text: impl Into<String>) -> Failure {
        Failure::new(Class::Malformed, 554, "5.6.0", text)
    }

    pub fn temporary(text: impl Into<String>) -> Failure {
        Failure::new(Class::Temporary, 451, "4.3.0", text)
    }

    pub fn config(text: impl Into<String>) -> Failure {
        Failure::new(Class::Config, 451, "4.3.5", text)
    }

    /// RFC 3463 5.7.1: delivery not authorized, message refused (policy).
    pub fn policy(text: impl Into<String>) -> Failure {
        Failure::new(Class::Refused, 554, "5.7.1", text)
    }

    /// The uniform decryption/integrity failure (RFC 3463 5.7.5, cryptographic failure).
    pub fn crypto() -> Failure {
        Failure::new(Class::Refused, 554, "5.7.5", UNIFORM_CRYPTO_TEXT)
    }

    /// Mail encrypted to others only ([`FOREIGN_ENCRYPTION_TEXT`]); RFC 3463 5.7.1.
    pub fn foreign_encryption() -> Failure {
        Failure::new(Class::Refused, 554, "5.7.1", FOREIGN_ENCRYPTION_TEXT)
    }

    /// Whether this is [`Failure::foreign_encryption`].
    pub fn is_foreign_encryption(&self) -> bool {
        self.text == FOREIGN_ENCRYPTION_TEXT
    }

    /// RFC 3463 5.7.6: cryptographic algorithm not supported.
    pub fn algorithm(text: impl Into<String>) -> Failure {
        Failure::new(Class::Refused, 554, "5.7.6", text)
    }

    /// RFC 3463 5.7.7: message integrity failure (a signature that is not accepted).
    pub fn integrity(text: impl Into<String>) -> Failure {
        Failure::new(Class::Refused, 554, "5.7.7", text)
    }

    /// RFC 5321 §4.5.3.1.10 and RFC 1870 §6: 552 for a message over the size limit,
    /// with RFC 3463 5.3.4 (message too big for system). Every front end uses this one.
    pub fn too_big(limit: usize) -> Failure {
        Failure::new(
            Class::Refused,
            552,
            "5.3.4",
            format!("Message size exceeds the limit of {limit} bytes"),
        )
    }

    /// A line in the message longer than the gateway takes: refused whole, never cut
    /// (RFC 5321 §4.5.3.1.6 sets 1000 octets; the gateway is more lenient, see
    /// `smtp::line`).
    pub fn line_too_long(limit: usize) -> Failure {
        Failure::new(
            Class::Refused,
            552,
            "5.3.4",
            format!("Message has a line longer than {limit} bytes"),
        )
    }

    /// RFC 5321 §2.3.8: CR and LF occur only together, as CRLF.
    pub fn bare_newline() -> Failure {
        Failure::new(
            Class::Malformed,
            554,
            "5.6.0",
            "Message contains a bare CR or LF (RFC 5321 section 2.3.8)",
        )
    }

    /// Overrides the enhanced status code (RFC 3463), keeping class and text.
    pub fn with_status(mut self, status: &'static str) -> Failure {
        self.status = status;
        self
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

    pub fn exit_code(&self) -> i32 {
        match self.class {
            Class::Malformed => exit::DATAERR,
            Class::Temporary => exit::TEMPFAIL,
            Class::Refused => exit::NOPERM,
            Class::Config => exit::CONFIG,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.code, self.status, self.text)
    }
}

impl std::error::Error for Failure {}

impl From<crate::mime::MimeError> for Failure {
    fn from(e: crate::mime::MimeError) -> Failure {
        Failure::malformed(format!("Malformed message: {e}"))
    }
}
