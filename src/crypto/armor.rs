//! The ASCII Armor (RFC 9580 §6.2) around the OpenPGP message that a frame with
//! `"armor": "message"` rebuilds (docs/modification-record.md §3.3). Its bytes are fixed
//! so that the gateway and any verifier write the same ones and `original.digest` can
//! cover them: the header line, no armor headers, an empty line, the base64 (RFC 4648 §4)
//! in lines of 64 characters, the CRC24 line, the tail line, every line ended by CRLF.
//!
//! RFC 9580 §6.1 discourages the CRC24 footer "unless interoperability with
//! implementations that require the CRC24 footer to be present is a concern". GnuPG 2.2
//! is one: without it, `gpg --verify` on a mail file with the armored message as its body
//! reports GOODSIG but exits with status 2 ("no valid OpenPGP data found"), so the footer
//! is written.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// RFC 9580 §6.1: generator 0x864CFB, initialisation 0xB704CE.
const CRC24_INIT: u32 = 0x00B7_04CE;
const CRC24_GENERATOR: u32 = 0x0186_4CFB;

/// Base64 characters per armor line.
pub const LINE: usize = 64;

/// The CRC24 of RFC 9580 §6.1.1.
pub fn crc24(data: &[u8]) -> u32 {
    let mut crc = CRC24_INIT;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= CRC24_GENERATOR;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// `binary` (an OpenPGP message) armored as described above.
pub fn message(binary: &[u8]) -> Vec<u8> {
    let b64 = B64.encode(binary);
    let mut out = Vec::with_capacity(b64.len() + b64.len() / LINE * 2 + 96);
    out.extend_from_slice(b"-----BEGIN PGP MESSAGE-----\r\n\r\n");
    for line in b64.as_bytes().chunks(LINE) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    let [_, a, b, c] = crc24(binary).to_be_bytes();
    out.push(b'=');
    out.extend_from_slice(B64.encode([a, b, c]).as_bytes());
    out.extend_from_slice(b"\r\n-----END PGP MESSAGE-----\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc24_of_rfc_9580() {
        // The CRC of nothing is the initial value.
        assert_eq!(crc24(b""), CRC24_INIT);
        // Check value of CRC-24/OPENPGP over "123456789".
        assert_eq!(crc24(b"123456789"), 0x0021_CF02);
    }

    #[test]
    fn armor_lines() {
        let a = message(&[0u8; 96]);
        let text = std::str::from_utf8(&a).unwrap_or_default();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN PGP MESSAGE-----"));
        assert_eq!(lines.get(1), Some(&""));
        assert_eq!(lines.get(2).map(|l| l.len()), Some(LINE));
        assert!(
            lines
                .get(4)
                .is_some_and(|l| l.starts_with('=') && l.len() == 5)
        );
        assert_eq!(lines.get(5), Some(&"-----END PGP MESSAGE-----"));
        assert_eq!(lines.get(6), Some(&""));
        assert_eq!(lines.len(), 7);
    }
}
