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

/// The CRC24 of RFC 9580 §6.1.1, a byte at a time from a table (the section's bitwise
/// loop, run once per possible byte when the program is built).
pub fn crc24(data: &[u8]) -> u32 {
    crc24_update(CRC24_INIT, data) & 0x00FF_FFFF
}

/// The CRC register after `data`, from `crc` (keep the low 24 bits at the end).
fn crc24_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let [_, top, _, _] = (crc & 0x00FF_FFFF).to_be_bytes();
        let index = usize::from(top ^ b);
        crc = (crc << 8) ^ CRC24_TABLE.get(index).copied().unwrap_or(0);
    }
    crc
}

/// `CRC24_TABLE[i]`: the CRC register after feeding byte `i` into a zero register.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated when the program is built (no get_mut in const): an index out of range fails the build, never a run"
)]
const CRC24_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i: u32 = 0;
    while i < 256 {
        let mut crc = i << 16;
        let mut bit = 0;
        while bit < 8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= CRC24_GENERATOR;
            }
            bit += 1;
        }
        table[i as usize] = crc & 0x00FF_FFFF;
        i += 1;
    }
    table
};

/// The binary OpenPGP message inside an ASCII-armored one (RFC 9580 §6.2) in the plain
/// form every client writes: optional whitespace, the `BEGIN PGP MESSAGE` header line,
/// armor headers up to a blank line, base64 lines, an optional CRC24 line (not checked:
/// §6.1 forbids rejecting an object for it), the tail line, optional whitespace.
/// `None` for anything else, which the caller leaves to sequoia's more lenient armor
/// reader: this exists only because sequoia's reader decodes a byte at a time.
pub fn dearmor_message(input: &[u8]) -> Option<Vec<u8>> {
    let input = input.trim_ascii();
    // The lines with the offset where each starts; line ends (LF or CRLF) and trailing
    // whitespace are not part of a line.
    let mut start = 0;
    let mut lines = memchr::memchr_iter(b'\n', input)
        .chain(std::iter::once(input.len()))
        .map(|end| {
            let at = start;
            start = end + 1;
            let line = input.get(at..end).unwrap_or_default();
            (
                at,
                line.strip_suffix(b"\r").unwrap_or(line).trim_ascii_end(),
            )
        });
    if lines.next()?.1 != b"-----BEGIN PGP MESSAGE-----" {
        return None;
    }
    // Armor headers (RFC 9580 §6.2.2), then the blank line.
    loop {
        let (_, line) = lines.next()?;
        if line.is_empty() {
            break;
        }
        if !line.windows(2).any(|w| w == b": ") {
            return None;
        }
    }
    // The base64 lines, checked here and decoded in place (no copy of the text).
    let mut data: Option<(usize, usize)> = None;
    let mut tail = false;
    while let Some((at, line)) = lines.next() {
        if line == b"-----END PGP MESSAGE-----" {
            tail = true;
            break;
        }
        if line.first() == Some(&b'=') && line.len() == 5 {
            // The checksum: the tail must follow.
            tail = lines.next()?.1 == b"-----END PGP MESSAGE-----";
            break;
        }
        if !line
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return None;
        }
        let first = data.map_or(at, |(first, _)| first);
        data = Some((first, at + line.len()));
    }
    if !tail || lines.next().is_some() {
        return None;
    }
    let (first, end) = data?;
    crate::mime::decode_base64(input.get(first..end)?).ok()
}

/// `binary` (an OpenPGP message) armored as described above.
pub fn message(binary: &[u8]) -> Vec<u8> {
    let mut w = MessageWriter::with_capacity(binary.len());
    w.push(binary);
    w.finish()
}

/// Octets encoded at a time: 64 lines of 48.
const BLOCK: usize = 48 * 64;

/// Armors an OpenPGP message as it is written ([`message`] in pieces): a writer can
/// produce the message straight into its armor, so the binary form is never held whole
/// (docs/performance.md, "Memory").
pub struct MessageWriter {
    out: Vec<u8>,
    /// Fewer than [`BLOCK`] octets not yet encoded.
    pending: Vec<u8>,
    crc: u32,
}

impl MessageWriter {
    /// A writer for a message of about `len` octets (the output is reserved once).
    pub fn with_capacity(len: usize) -> MessageWriter {
        let lines = len.div_ceil(48);
        let mut out = Vec::with_capacity(lines.saturating_mul(LINE + 2).saturating_add(96));
        out.extend_from_slice(b"-----BEGIN PGP MESSAGE-----\r\n\r\n");
        MessageWriter {
            out,
            pending: Vec::with_capacity(BLOCK),
            crc: CRC24_INIT,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.crc = crc24_update(self.crc, data);
        while !data.is_empty() {
            let take = (BLOCK - self.pending.len()).min(data.len());
            let (now, rest) = data.split_at(take);
            self.pending.extend_from_slice(now);
            data = rest;
            if self.pending.len() == BLOCK {
                self.encode_pending();
            }
        }
    }

    fn encode_pending(&mut self) {
        let mut block = [0u8; LINE * 64];
        let n = B64.encode_slice(&self.pending, &mut block).unwrap_or(0);
        for line in block.get(..n).unwrap_or_default().chunks(LINE) {
            self.out.extend_from_slice(line);
            self.out.extend_from_slice(b"\r\n");
        }
        self.pending.clear();
    }

    /// The armored message: the rest of the base64, the CRC24 line and the tail.
    pub fn finish(mut self) -> Vec<u8> {
        self.encode_pending();
        let [_, a, b, c] = (self.crc & 0x00FF_FFFF).to_be_bytes();
        self.out.push(b'=');
        self.out.extend_from_slice(B64.encode([a, b, c]).as_bytes());
        self.out
            .extend_from_slice(b"\r\n-----END PGP MESSAGE-----\r\n");
        self.out
    }
}

impl std::io::Write for MessageWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

    /// The de-armored message is the binary that was armored, whatever the line ends,
    /// armor headers, checksum or trailing whitespace; forms it does not know (another
    /// block type, text after the tail, a broken line) are left to sequoia (`None`).
    #[test]
    fn dearmor_round_trips_and_declines_the_unusual() {
        let binary: Vec<u8> = (0..1000u32).map(|i| (i * 31).to_le_bytes()[0]).collect();
        let ours = message(&binary);
        assert_eq!(dearmor_message(&ours).as_deref(), Some(&binary[..]));
        let text = String::from_utf8(ours).unwrap();
        let lf = text.replace("\r\n", "\n");
        assert_eq!(dearmor_message(lf.as_bytes()).as_deref(), Some(&binary[..]));
        let with_headers = lf.replacen("\n\n", "\nVersion: GnuPG v2\nComment: x: y\n\n", 1);
        assert_eq!(
            dearmor_message(with_headers.as_bytes()).as_deref(),
            Some(&binary[..])
        );
        let no_crc: String = lf
            .lines()
            .filter(|l| !(l.starts_with('=') && l.len() == 5))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            dearmor_message(no_crc.as_bytes()).as_deref(),
            Some(&binary[..])
        );
        let spaced = format!("\n  {lf}  \n");
        assert_eq!(
            dearmor_message(spaced.as_bytes()).as_deref(),
            Some(&binary[..])
        );
        for unusual in [
            lf.replace("PGP MESSAGE", "PGP SIGNATURE"),
            format!("{lf}trailing text\n"),
            lf.replacen("\n\n", "\nno colon here\n\n", 1),
            lf.replacen("\n\n", "\n\n*", 1),
            lf.replace("-----END PGP MESSAGE-----", ""),
            format!("junk\n{lf}"),
        ] {
            assert_eq!(dearmor_message(unusual.as_bytes()), None, "{unusual:.80}");
        }
    }

    /// Written in pieces of any size, the armor is the same as written at once.
    #[test]
    fn armor_written_in_pieces_is_the_same() {
        use std::io::Write as _;
        let binary: Vec<u8> = (0..20_000u32).map(|i| (i * 13).to_le_bytes()[0]).collect();
        for piece in [1usize, 7, 48, 3071, 3072, 5000, 20_000] {
            let mut w = MessageWriter::with_capacity(0);
            for chunk in binary.chunks(piece) {
                w.write_all(chunk).unwrap();
            }
            assert_eq!(w.finish(), message(&binary), "{piece}");
        }
    }

    /// The armor's base64 is the RFC 4648 encoding of the whole message, cut into lines
    /// of 64, for lengths around the encoder's block edges.
    #[test]
    fn armor_base64_is_the_whole_encoding() {
        for len in [0usize, 1, 47, 48, 49, 3071, 3072, 3073, 10_000] {
            let binary: Vec<u8> = (0..len).map(|i| (i * 7).to_le_bytes()[0]).collect();
            let text = String::from_utf8(message(&binary)).unwrap();
            let body: String = text
                .split("\r\n")
                .skip(2)
                .take_while(|l| !l.starts_with('='))
                .collect();
            assert_eq!(body, B64.encode(&binary), "{len}");
            assert!(text.split("\r\n").all(|l| l.len() <= LINE), "{len}");
        }
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
