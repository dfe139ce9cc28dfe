//! TLS for the SMTP server (STARTTLS, RFC 3207): the certificate chain and key from PEM
//! files, rustls with its safe default protocol versions.

use std::sync::Arc;

use crate::config::SmtpConfig;
use crate::error::Failure;

/// The TLS acceptor for STARTTLS, from `smtp.tls_cert` and `smtp.tls_key`; none when
/// either is unset.
pub fn acceptor(cfg: &SmtpConfig) -> Result<Option<tokio_rustls::TlsAcceptor>, Failure> {
    let (Some(cert), Some(key)) = (&cfg.tls_cert, &cfg.tls_key) else {
        return Ok(None);
    };
    let bad = |what: &str, e: String| Failure::config(format!("smtp TLS {what}: {e}"));
    // rustls-pki-types' PEM reader (rustls-pemfile is unmaintained, RUSTSEC-2025-0134).
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_pem = std::fs::read(cert).map_err(|e| bad("certificate", e.to_string()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad("certificate", e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("certificate", "no certificate in the file".into()));
    }
    let key_pem =
        zeroize::Zeroizing::new(std::fs::read(key).map_err(|e| bad("key", e.to_string()))?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| bad("key", e.to_string()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let sc = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("config", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("config", e.to_string()))?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(sc))))
}
