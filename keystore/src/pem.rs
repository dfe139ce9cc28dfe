//! A lax PEM reader for files as operators have them (RFC 7468 §2-§3).
//!
//! RFC 7468 §3 asks parsers to be lax: text before, between and after the blocks
//! (OpenSSL's `subject=` and `issuer=` lines, a bundle's comments), base64 lines of any
//! length (GlobalSign publishes its intermediates with 76-character lines; the strict
//! reader of the `der` crate wants 64), CRLF or LF, whitespace anywhere inside the
//! base64. RFC 1421-style header lines (`Proc-Type: ...`) inside a block are skipped.
//! What stays strict: a block ends with the END line of its own label, and its base64
//! decodes (padding included).
//!
//! [`parse_certificates`] reads certificates on top of it: PEM blocks, PKCS#7 bundles,
//! or one DER certificate.

use base64::Engine as _;
use der::Decode as _;
use x509_cert::Certificate;

use crate::Error;

/// Most blocks in one file.
const MAX_BLOCKS: usize = 1000;

/// One PEM block: its label and its decoded contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub der: Vec<u8>,
}

/// Whether `data` holds a PEM encapsulation boundary anywhere.
pub fn is_pem(data: &[u8]) -> bool {
    memfind(data, b"-----BEGIN ").is_some()
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Every block in `data`, in order.
pub fn blocks(data: &[u8]) -> Result<Vec<Block>, Error> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = memfind(rest, b"-----BEGIN ") {
        if out.len() >= MAX_BLOCKS {
            return Err(Error::Import(format!("more than {MAX_BLOCKS} PEM blocks")));
        }
        let after = rest.get(at + 11..).unwrap_or_default();
        let end_of_label = memfind(after, b"-----")
            .ok_or_else(|| Error::Import("a PEM BEGIN line without its closing dashes".into()))?;
        let label = after.get(..end_of_label).unwrap_or_default();
        if label.len() > 64 || !label.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
            return Err(Error::Import(
                "a PEM label that is not printable text".into(),
            ));
        }
        let label = String::from_utf8_lossy(label).into_owned();
        let body_and_rest = after.get(end_of_label + 5..).unwrap_or_default();
        let end_line = format!("-----END {label}-----");
        let end = memfind(body_and_rest, end_line.as_bytes())
            .ok_or_else(|| Error::Import(format!("the PEM block {label:?} has no END line")))?;
        let body = body_and_rest.get(..end).unwrap_or_default();
        let mut b64 = Vec::with_capacity(body.len());
        for line in body.split(|&b| b == b'\n') {
            // RFC 1421 §4.4 encapsulated header fields (and their continuation lines).
            if line.contains(&b':') {
                continue;
            }
            b64.extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .map_err(|e| Error::Import(format!("the PEM block {label:?} is not base64: {e}")))?;
        out.push(Block { label, der });
        rest = body_and_rest
            .get(end + end_line.len()..)
            .unwrap_or_default();
    }
    Ok(out)
}

/// Parses certificates as operators have them: PEM with any text around the blocks and
/// base64 lines of any length (RFC 7468 §3, this module), bundles of several blocks,
/// PKCS#7 certificate bundles (`.p7b`/`.p7c`, RFC 5652 §5.1 `certificates`, in PEM or
/// DER), or one DER certificate. Blocks that hold no certificate (a private key in the
/// same file) are passed over; a file with no certificate at all is an error.
pub fn parse_certificates(data: &[u8]) -> Result<Vec<Certificate>, Error> {
    let mut certs = Vec::new();
    if is_pem(data) {
        for b in blocks(data)? {
            match b.label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => certs.push(
                    Certificate::from_der(&b.der)
                        .map_err(|e| Error::Import(format!("PEM certificate: {e}")))?,
                ),
                "PKCS7" | "CMS" => certs.extend(pkcs7_certificates(&b.der)?),
                _ => {}
            }
        }
    } else {
        match Certificate::from_der(data) {
            Ok(c) => certs.push(c),
            Err(e) => match pkcs7_certificates(data) {
                Ok(found) => certs.extend(found),
                Err(_) => return Err(Error::Import(format!("DER certificate: {e}"))),
            },
        }
    }
    if certs.is_empty() {
        return Err(Error::Import("no certificate found".into()));
    }
    Ok(certs)
}

/// The certificates of a PKCS#7/CMS SignedData (a certificate bundle, RFC 5652 §5.1).
fn pkcs7_certificates(der: &[u8]) -> Result<Vec<Certificate>, Error> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    let ci =
        ContentInfo::from_der(der).map_err(|e| Error::Import(format!("PKCS#7 bundle: {e}")))?;
    if ci.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(Error::Import("PKCS#7 bundle: not signed-data".into()));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| Error::Import(format!("PKCS#7 bundle: {e}")))?;
    Ok(sd
        .certificates
        .map(|set| {
            set.0
                .into_vec()
                .into_iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_around_blocks_and_long_lines_are_read() {
        let payload: Vec<u8> = (0u8..=200).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&payload);
        // 76-character lines, CRLF, text before, between and after.
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        let block = format!(
            "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
            lines.join("\r\n")
        );
        let file = format!("subject=CN = x\nissuer=CN = y\n{block}comment\n{block}trailer");
        let got = blocks(file.as_bytes()).unwrap_or_default();
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .all(|b| b.label == "CERTIFICATE" && b.der == payload)
        );
    }

    #[test]
    fn one_long_line_and_headers() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"hello world");
        let file = format!("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\n{b64}\n-----END X-----\n");
        let got = blocks(file.as_bytes()).unwrap_or_default();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got.first().map(|b| b.der.as_slice()),
            Some(&b"hello world"[..])
        );
    }

    #[test]
    fn broken_blocks_are_errors_not_guesses() {
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n").is_err());
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\nA!A=\n-----END CERTIFICATE-----").is_err());
        assert!(blocks(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
        assert_eq!(blocks(b"no pem here").map(|b| b.len()).ok(), Some(0));
    }
}
