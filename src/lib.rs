#![forbid(unsafe_code)]
//! Reseal: an OPES-for-SMTP gateway (RFC 4902) for outbound enterprise mail. It opens
//! S/MIME (and OpenPGP) mail with delegated keys, verifies it, adapts it, re-signs and
//! re-encrypts it, and traces what it did.
//!
//! The modules follow the pipeline: `unwrap` → `reseal` → `trace`, driven by
//! `pipeline`. Secret key material never enters this crate: it stays in
//! `reseal-keystore`, which performs the private-key operations.

pub mod adapt;
pub mod agent;
pub mod capabilities;
pub mod config;
pub mod crypto;
pub mod discovery;
pub mod dkim;
pub mod envelope;
pub mod error;
pub mod listing;
pub mod milter;
pub mod mime;
pub mod pipeline;
pub mod pki;
pub mod policy;
pub mod quarantine;
pub mod record;
pub mod reseal;
pub mod sanitize;
pub mod smtp;
pub mod submission;
pub mod trace;
pub mod unwrap;

pub use config::Config;
pub use envelope::Envelope;
pub use error::Failure;
pub use listing::keys_listing;
pub use pipeline::{Gateway, Outcome};
