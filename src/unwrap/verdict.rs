//! Verification results. A verdict is data with reasons, never an error: a message whose
//! signature fails still parses; what the gateway does with it is policy's decision.
//! A verdict is `valid` only when every signer verifies, chains to a trust anchor, and
//! speaks for the single From address (SECURITY.md invariant 5).

use serde::Serialize;

/// The signing or encryption technology of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Technology {
    Smime,
    Openpgp,
}

/// Why one signer does not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum Reason {
    /// The cryptographic check failed: wrong signature value or content digest. These
    /// are integrity failures and share the uniform reply.
    BadSignature,
    DigestMismatch,
    /// The SignedData has no SignerInfo at all.
    NoSigner,
    /// The signer's certificate is not in the message.
    UnknownSigner,
    /// The certificate does not chain to a trust anchor, is expired, lacks
    /// emailProtection, ...
    Untrusted(String),
    /// The signer's certificate does not name the From address.
    SignerNotFrom {
        signer: Vec<String>,
        from: String,
    },
    /// The message does not have exactly one From address.
    NoSingleFrom,
    /// SHA-1, MD5, short RSA, ...
    WeakAlgorithm(String),
    Unsupported(String),
    /// Signed attributes are missing or inconsistent (content-type, message-digest).
    BadAttributes(String),
    Malformed(String),
}

impl Reason {
    /// True for failures of the cryptographic check itself (integrity), as opposed to
    /// failures of trust or identity policy.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            Reason::BadSignature
                | Reason::DigestMismatch
                | Reason::BadAttributes(_)
                | Reason::Malformed(_)
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::BadSignature => f.write_str("the signature value does not verify"),
            Reason::DigestMismatch => f.write_str("the signed content was changed"),
            Reason::NoSigner => f.write_str("the signature has no signer"),
            Reason::UnknownSigner => f.write_str("the signer's certificate is missing"),
            Reason::Untrusted(why) => write!(f, "the signer is not trusted: {why}"),
            Reason::SignerNotFrom { signer, from } => write!(
                f,
                "the signer ({}) is not the From address <{from}>",
                if signer.is_empty() {
                    "no address".to_owned()
                } else {
                    signer.join(", ")
                }
            ),
            Reason::NoSingleFrom => {
                f.write_str("the message does not have exactly one From address")
            }
            Reason::WeakAlgorithm(a) => write!(f, "weak algorithm refused: {a}"),
            Reason::Unsupported(a) => write!(f, "unsupported: {a}"),
            Reason::BadAttributes(a) => write!(f, "bad signed attributes: {a}"),
            Reason::Malformed(a) => write!(f, "malformed signature: {a}"),
        }
    }
}

/// One signer's result.
#[derive(Clone, Debug, Serialize)]
pub struct SignerVerdict {
    /// The addresses the signer's certificate or key speaks for.
    pub addresses: Vec<String>,
    /// Certificate subject or key fingerprint.
    pub subject: String,
    /// `None` when this signer is fully valid.
    pub failure: Option<Reason>,
}

/// The verdict on one signature layer.
#[derive(Clone, Debug, Serialize)]
pub struct SignatureVerdict {
    pub technology: Technology,
    /// Detached (multipart/signed) or opaque (signed-data).
    pub detached: bool,
    pub signers: Vec<SignerVerdict>,
}

impl SignatureVerdict {
    /// Valid only if there is at least one signer and every signer is valid.
    pub fn valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(|s| s.failure.is_none())
    }

    /// The first reason this verdict is not valid.
    pub fn reason(&self) -> Option<Reason> {
        if self.signers.is_empty() {
            return Some(Reason::NoSigner);
        }
        self.signers.iter().find_map(|s| s.failure.clone())
    }

    /// The signer address that matched From, for display.
    pub fn signer(&self) -> Option<&str> {
        self.signers
            .first()
            .and_then(|s| s.addresses.first())
            .map(String::as_str)
    }
}

/// One peeled layer, outermost first.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "layer", rename_all = "lowercase")]
pub enum Layer {
    Encrypted {
        technology: Technology,
        /// e.g. "AES-256-GCM".
        cipher: String,
        /// True for AEAD containers (AuthEnvelopedData, SEIPD with MDC/AEAD).
        authenticated: bool,
    },
    Signed(SignatureVerdict),
}
