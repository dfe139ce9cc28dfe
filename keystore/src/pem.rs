//! A lax PEM reader for files as operators have them (RFC 7468 §2-§3).
//!
//! RFC 7468 §3 asks parsers to be lax: text before, between and after the blocks
//! (OpenSSL's `subject=` and `issuer=` lines, a bundle's comments), base64 lines of any
//! length (GlobalSign publishes its intermediates with 76-character lines; the strict
//! reader of the `der` crate wants 64), CRLF or LF, whitespace anywhere inside the
//! base64. RFC 1421-style header lines (`Proc-Type: ...`) inside a block are skipped.
//! What stays strict: a block ends with the END line of its own label, and its base64
//! decodes (padding included).

use base64::Engine as _;

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
