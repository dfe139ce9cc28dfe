//! The SMTP envelope: reverse-path and forward-paths (RFC 5321 §3.3), normalised at the
//! border so that later code compares plain lower-case addresses.

use crate::error::{Failure, Kind};
use crate::mime::address::{is_plausible, normalize};

/// Most recipients one message may have (RFC 5321 §4.5.3.1.8 requires at least 100).
pub const MAX_RCPTS: usize = 1000;

/// A checked envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse-path; empty for the null sender `<>`.
    pub mail_from: String,
    pub rcpts: Vec<String>,
}

impl Envelope {
    /// Checks and normalises raw addresses.
    pub fn new(mail_from: &str, rcpts: &[String]) -> Result<Envelope, Failure> {
        let mail_from = normalize(mail_from);
        if !mail_from.is_empty() && !is_plausible(&mail_from) {
            return Err(Failure::new(
                Kind::BadSender,
                format!("Invalid sender address <{mail_from}>"),
            ));
        }
        if rcpts.is_empty() {
            return Err(Failure::new(Kind::NoRecipients, "No recipients"));
        }
        if rcpts.len() > MAX_RCPTS {
            return Err(Failure::new(Kind::TooManyRecipients, "Too many recipients"));
        }
        let mut out = Vec::with_capacity(rcpts.len());
        for r in rcpts {
            let r = normalize(r);
            if !is_plausible(&r) {
                return Err(Failure::new(
                    Kind::BadRecipient,
                    format!("Invalid recipient address <{r}>"),
                ));
            }
            if !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(Envelope {
            mail_from,
            rcpts: out,
        })
    }

    /// Sender and recipients: the parties a delegated decryption key may act for.
    pub fn parties(&self) -> Vec<String> {
        let mut p = Vec::with_capacity(self.rcpts.len() + 1);
        if !self.mail_from.is_empty() {
            p.push(self.mail_from.clone());
        }
        p.extend(self.rcpts.iter().cloned());
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_checks() {
        let e = Envelope::new(
            "<Alice@Example.com>",
            &["Bob@example.org".into(), "bob@example.org".into()],
        )
        .unwrap();
        assert_eq!(e.mail_from, "alice@example.com");
        assert_eq!(e.rcpts, vec!["bob@example.org"]);
        assert!(
            Envelope::new("", &["b@x.org".into()])
                .unwrap()
                .mail_from
                .is_empty()
        );
        assert!(Envelope::new("a@x.org", &[]).is_err());
        assert!(Envelope::new("a@x.org", &["not an address".into()]).is_err());
    }
}
