//! The algorithms the gateway can be told to produce, by name: the leaf that the
//! configuration, the policy and the S/MIME writer all read, so none of them imports
//! another for an enum.

use serde::Deserialize;

/// The content-encryption algorithm to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Cipher {
    /// AuthEnvelopedData, AES-256-GCM (RFC 5083/5084).
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// EnvelopedData, AES-256-CBC: what every S/MIME client reads (the default for a
    /// recipient who announced nothing; crate::capabilities).
    #[serde(rename = "aes-256-cbc")]
    Aes256Cbc,
}

impl Cipher {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::Aes256Cbc => "aes-256-cbc",
        }
    }
}

impl KeyTransportChoice {
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyTransportChoice::RsaOaep => "rsa-oaep",
            KeyTransportChoice::RsaPkcs1v15 => "rsa-pkcs1v15",
        }
    }
}

/// How to wrap the content-encryption key for an RSA recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum KeyTransportChoice {
    /// RSAES-OAEP with SHA-256 (RFC 8551 §2.3), for recipients who announced it.
    #[serde(rename = "rsa-oaep")]
    RsaOaep,
    /// RSAES-PKCS1-v1_5: what every S/MIME client reads, gpgsm 2.2 included (the
    /// default for a recipient who announced nothing).
    #[serde(rename = "rsa-pkcs1v15")]
    RsaPkcs1v15,
}
