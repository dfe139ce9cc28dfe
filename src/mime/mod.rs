//! A byte-exact view of MIME entities (RFC 2045, RFC 2046, RFC 5322).
//!
//! This module owns how Reseal splits a message into header fields, body and MIME parts.
//! Every value it returns points into the original bytes, so that what was signed can be
//! handed to a verifier exactly as it arrived, and bytes nobody touched are re-emitted
//! unchanged. It is strict where a lenient parse would let two readers disagree about
//! structure (duplicate Content-Type, unterminated multipart/signed): such input is an
//! error, not a guess. It never panics and bounds every count.
//!
//! mail-parser is used only to read address lists (RFC 5322 §3.4) out of a single field,
//! where its tolerance of real-world syntax is what we want.

pub mod address;
pub mod compose;
pub mod tree;

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine as _;

/// Most header fields one entity may carry.
pub const MAX_FIELDS: usize = 1000;
/// Most bytes one header block may take.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Most parts one multipart body may split into.
pub const MAX_PARTS: usize = 1000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MimeError {
    #[error("malformed header block at byte {0}")]
    BadHeader(usize),
    #[error("too many header fields")]
    TooManyFields,
    #[error("header block too large")]
    HeaderTooLarge,
    #[error("the message has no header fields")]
    NoHeaders,
    #[error("more than one {0} field")]
    DuplicateField(&'static str),
    #[error("multipart body without a boundary parameter")]
    NoBoundary,
    #[error("multipart body is not terminated by its close delimiter")]
    Unterminated,
    #[error("too many MIME parts")]
    TooManyParts,
    #[error("MIME parts nested more than {0} levels deep")]
    TooDeep(usize),
    #[error("invalid {0} transfer encoding")]
    BadEncoding(&'static str),
}

/// `text` with each CRLF replaced by LF; any other CR or LF stays.
pub fn crlf_to_lf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        if b == b'\r' && text.get(i + 1) == Some(&b'\n') {
            out.push(b'\n');
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// Converts bare LF line ends to CRLF (RFC 5322 §2.1, RFC 5321 §2.3.8): the one canonical
/// form every later step works on. Existing CRLF pairs are kept.
pub fn to_crlf(input: &[u8]) -> Cow<'_, [u8]> {
    let bare =
        memchr::memchr_iter(b'\n', input).any(|i| i == 0 || input.get(i - 1) != Some(&b'\r'));
    if !bare {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + input.len() / 32);
    let mut prev = 0u8;
    for &b in input {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    Cow::Owned(out)
}

/// [`to_crlf`] for a buffer the caller owns: the same buffer back when it is already
/// CRLF, so a large decrypted entity is not copied for nothing (docs/performance.md,
/// "Memory").
pub fn to_crlf_owned(input: Vec<u8>) -> Vec<u8> {
    match to_crlf(&input) {
        Cow::Borrowed(_) => input,
        Cow::Owned(out) => out,
    }
}

/// One header field, as ranges into the entity's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name.
    pub name: Range<usize>,
    /// The raw (folded) value after the colon, without the final CRLF.
    pub value: Range<usize>,
    /// The whole field including its final CRLF.
    pub raw: Range<usize>,
}

/// A parsed MIME entity or RFC 5322 message: header fields and body over borrowed bytes.
#[derive(Clone, Debug)]
pub struct Entity<'a> {
    raw: &'a [u8],
    fields: Vec<Field>,
    /// Offset where the body starts (after the empty line), or `raw.len()`.
    body_start: usize,
    /// Offset just past the last header field (before the empty line).
    header_end: usize,
}

fn slice(raw: &[u8], r: Range<usize>) -> &[u8] {
    raw.get(r).unwrap_or_default()
}

impl<'a> Entity<'a> {
    /// Parses the header block of `raw`. The body is everything after the first empty
    /// line. An entity may have no header fields at all (its body then starts after the
    /// leading empty line, RFC 2046 §5.1.1 "implicit typing").
    pub fn parse(raw: &'a [u8]) -> Result<Entity<'a>, MimeError> {
        let mut fields: Vec<Field> = Vec::new();
        let mut pos = 0usize;
        loop {
            if pos >= raw.len() {
                // Header block ran to the end: no body.
                return Ok(Entity {
                    raw,
                    fields,
                    body_start: raw.len(),
                    header_end: raw.len(),
                });
            }
            if pos > MAX_HEADER_BYTES {
                return Err(MimeError::HeaderTooLarge);
            }
            let rest = slice(raw, pos..raw.len());
            let line_len = memchr_crlf(rest).map_or(rest.len(), |i| i + 2);
            let line = slice(rest, 0..line_len);
            let content = line.strip_suffix(b"\r\n").unwrap_or(line);
            if content.is_empty() {
                return Ok(Entity {
                    raw,
                    fields,
                    body_start: pos + line_len,
                    header_end: pos,
                });
            }
            let first = content.first().copied().unwrap_or(0);
            if first == b' ' || first == b'\t' {
                // Folded continuation of the previous field (RFC 5322 §2.2.3).
                let Some(last) = fields.last_mut() else {
                    return Err(MimeError::BadHeader(pos));
                };
                last.value.end = pos + content.len();
                last.raw.end = pos + line_len;
            } else {
                let Some(colon) = content.iter().position(|&b| b == b':') else {
                    return Err(MimeError::BadHeader(pos));
                };
                let name = slice(content, 0..colon);
                // RFC 5322 §3.6.8: ftext is printable US-ASCII except colon.
                if name.is_empty() || !name.iter().all(|&b| (33..=126).contains(&b)) {
                    return Err(MimeError::BadHeader(pos));
                }
                if fields.len() >= MAX_FIELDS {
                    return Err(MimeError::TooManyFields);
                }
                fields.push(Field {
                    name: pos..pos + colon,
                    value: pos + colon + 1..pos + content.len(),
                    raw: pos..pos + line_len,
                });
            }
            pos += line_len;
        }
    }

    /// The bytes this entity was parsed from.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn field_name(&self, f: &Field) -> &'a str {
        std::str::from_utf8(slice(self.raw, f.name.clone())).unwrap_or_default()
    }

    pub fn field_value(&self, f: &Field) -> &'a [u8] {
        slice(self.raw, f.value.clone())
    }

    pub fn field_raw(&self, f: &Field) -> &'a [u8] {
        slice(self.raw, f.raw.clone())
    }

    /// All fields named `name` (case-insensitive), in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field> + 's {
        self.fields
            .iter()
            .filter(move |f| self.field_name(f).eq_ignore_ascii_case(name))
    }

    /// The first field named `name`, unfolded.
    pub fn get(&self, name: &str) -> Option<String> {
        self.get_all(name)
            .next()
            .map(|f| unfold(self.field_value(f)))
    }

    /// The body bytes.
    pub fn body(&self) -> &'a [u8] {
        slice(self.raw, self.body_start..self.raw.len())
    }

    /// Offset of the body within `raw`.
    pub fn body_offset(&self) -> usize {
        self.body_start
    }

    /// Offset just past the last header field.
    pub fn header_end(&self) -> usize {
        self.header_end
    }

    /// The Content-Type, defaulting to text/plain (RFC 2045 §5.2). More than one
    /// Content-Type field is an error: readers would disagree about which one counts.
    pub fn content_type(&self) -> Result<ContentType, MimeError> {
        let mut it = self.get_all("Content-Type");
        let first = it.next();
        if it.next().is_some() {
            return Err(MimeError::DuplicateField("Content-Type"));
        }
        Ok(match first {
            Some(f) => ContentType::parse(&unfold(self.field_value(f))),
            None => ContentType::default_text(),
        })
    }

    /// The Content-Transfer-Encoding (RFC 2045 §6), defaulting to 7bit.
    pub fn transfer_encoding(&self) -> Result<TransferEncoding, MimeError> {
        let mut it = self.get_all("Content-Transfer-Encoding");
        let first = it.next();
        if it.next().is_some() {
            return Err(MimeError::DuplicateField("Content-Transfer-Encoding"));
        }
        Ok(match first {
            None => TransferEncoding::SevenBit,
            Some(f) => TransferEncoding::parse(&unfold(self.field_value(f))),
        })
    }

    /// The body with its transfer encoding removed.
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>, MimeError> {
        match self.transfer_encoding()? {
            TransferEncoding::Base64 => decode_base64(self.body()).map(Cow::Owned),
            TransferEncoding::QuotedPrintable => decode_qp(self.body()).map(Cow::Owned),
            _ => Ok(Cow::Borrowed(self.body())),
        }
    }

    /// Splits a multipart body into its parts (RFC 2046 §5.1.1).
    pub fn multipart(&self) -> Result<Multipart, MimeError> {
        let ct = self.content_type()?;
        let boundary = ct.param("boundary").ok_or(MimeError::NoBoundary)?;
        split_multipart(self.body(), boundary.as_bytes(), self.body_start)
    }
}

fn memchr_crlf(s: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', s)
        .find(|&i| i > 0 && s.get(i - 1) == Some(&b'\r'))
        .map(|i| i - 1)
}

/// Removes folding (CRLF before WSP) and returns the value as text, lossy for non-UTF-8.
pub fn unfold(value: &[u8]) -> String {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b == b'\r' && value.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).trim().to_owned()
}

/// A Content-Type value: lower-cased `type/subtype` and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    pub mime_type: String,
    pub params: Vec<(String, String)>,
}

impl ContentType {
    pub fn default_text() -> ContentType {
        ContentType {
            mime_type: "text/plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }

    /// Parses `type/subtype *(";" attribute "=" value)` (RFC 2045 §5.1), with quoted
    /// strings and comments. An unparsable type is application/octet-stream (RFC 2045
    /// §5.2 says to treat unrecognised syntax as text/plain; for security decisions we
    /// prefer the type that nothing is rendered from).
    pub fn parse(value: &str) -> ContentType {
        let tokens = tokenize_params(value);
        let mut it = tokens.into_iter();
        let mime_type = it.next().map(|(k, _)| k).unwrap_or_default();
        let valid = mime_type
            .split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty() && !s.contains('/'));
        let mime_type = if valid {
            mime_type.to_ascii_lowercase()
        } else {
            "application/octet-stream".into()
        };
        let params = it
            .filter_map(|(k, v)| v.map(|v| (k.to_ascii_lowercase(), v)))
            .collect();
        ContentType { mime_type, params }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is(&self, mime_type: &str) -> bool {
        self.mime_type.eq_ignore_ascii_case(mime_type)
    }

    pub fn is_multipart(&self) -> bool {
        self.mime_type.starts_with("multipart/")
    }
}

/// Splits `a; b=c; d="e;f"` into `(a, None), (b, Some(c)), (d, Some(e;f))`, honouring
/// quoted strings and dropping RFC 5322 comments.
fn tokenize_params(value: &str) -> Vec<(String, Option<String>)> {
    let mut segs: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = value.chars().peekable();
    let mut depth = 0u32;
    while let Some(c) = chars.next() {
        match c {
            '(' if depth < 64 => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '"' => {
                cur.push('"');
                while let Some(q) = chars.next() {
                    match q {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        '"' => break,
                        _ => cur.push(q),
                    }
                }
                cur.push('"');
            }
            ';' => segs.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    segs.push(cur);
    segs.into_iter()
        .filter_map(|s| {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match s.split_once('=') {
                Some((k, v)) => {
                    let v = v.trim();
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(v);
                    Some((k.trim().to_owned(), Some(v.to_owned())))
                }
                None => Some((s.to_owned(), None)),
            }
        })
        .collect()
}

/// Content-Transfer-Encoding values (RFC 2045 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferEncoding {
    SevenBit,
    EightBit,
    Binary,
    QuotedPrintable,
    Base64,
    /// An unknown encoding: the body must be treated as opaque (RFC 2045 §6.4).
    Unknown,
}

impl TransferEncoding {
    fn parse(v: &str) -> TransferEncoding {
        match v.trim().to_ascii_lowercase().as_str() {
            "7bit" => TransferEncoding::SevenBit,
            "8bit" => TransferEncoding::EightBit,
            "binary" => TransferEncoding::Binary,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            "base64" => TransferEncoding::Base64,
            _ => TransferEncoding::Unknown,
        }
    }
}

/// Decodes base64 leniently about whitespace and line length, strictly about alphabet.
pub fn decode_base64(body: &[u8]) -> Result<Vec<u8>, MimeError> {
    // Decoded a piece at a time (whitespace dropped per piece, pieces a multiple of four
    // characters), so a large body is never held a second time without its line breaks
    // (docs/performance.md, "Memory"). Padding is legal only at the very end: a piece
    // that is not the last is decoded strictly, as the whole would be.
    const PIECE: usize = 64 * 1024;
    let strict = &base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 3);
    // The text without whitespace, a line at a time (most lines have none inside);
    // whenever more than a piece is gathered and more follows, the first piece is
    // decoded: it is not the end, so it may hold no padding.
    let mut clean: Vec<u8> = Vec::with_capacity(2 * PIECE + 128);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        let line = body.get(start..end).unwrap_or_default().trim_ascii();
        start = end + 1;
        for segment in line.chunks(PIECE) {
            if segment.iter().any(u8::is_ascii_whitespace) {
                clean.extend(segment.iter().copied().filter(|b| !b.is_ascii_whitespace()));
            } else {
                clean.extend_from_slice(segment);
            }
            while clean.len() >= 2 * PIECE {
                let piece = clean.get(..PIECE).unwrap_or_default();
                if memchr::memchr(b'=', piece).is_some() {
                    return Err(MimeError::BadEncoding("base64"));
                }
                strict
                    .decode_vec(piece, &mut out)
                    .map_err(|_| MimeError::BadEncoding("base64"))?;
                clean.drain(..PIECE);
            }
        }
    }
    let end = out.len();
    strict
        .decode_vec(&clean, &mut out)
        .or_else(|_| {
            // Some writers drop the final padding.
            out.truncate(end);
            base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
            )
            .decode_vec(&clean, &mut out)
        })
        .map_err(|_| MimeError::BadEncoding("base64"))?;
    Ok(out)
}

/// Encodes base64 in lines of 76 characters with CRLF (RFC 2045 §6.8).
pub fn encode_base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_base64_lines_into(data, &mut out);
    out
}

/// [`encode_base64_lines`], appended to `out` (which it grows once), so that a large
/// body is not first encoded in one piece and then copied into lines.
pub fn encode_base64_lines_into(data: &[u8], out: &mut Vec<u8>) {
    // 57 input bytes make one 76-character line; 64 lines are encoded at a time.
    const LINES: usize = 64;
    let lines = data.len().div_ceil(57);
    out.reserve(lines.saturating_mul(78));
    let mut block = [0u8; 76 * LINES];
    for chunk in data.chunks(57 * LINES) {
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(chunk, &mut block)
            .unwrap_or(0);
        for line in block.get(..n).unwrap_or_default().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Decodes quoted-printable (RFC 2045 §6.7) with the `quoted_printable` crate in its
/// robust mode: invalid escapes pass through literally, trailing whitespace on a line is
/// dropped (it was added in transport, §6.7 rule 3), soft line breaks are removed.
///
/// The crate silently drops bytes outside printable ASCII, TAB, CR and LF. Mail that
/// declares quoted-printable but carries raw 8-bit text is common, and losing it would
/// change what a service reads (and what it writes back), so such bytes are escaped
/// first and decode to themselves.
pub fn decode_qp(body: &[u8]) -> Result<Vec<u8>, MimeError> {
    let kept = |b: u8| matches!(b, b'\t' | b'\r' | b'\n' | b' '..=b'~');
    let input: Cow<'_, [u8]> = if body.iter().all(|&b| kept(b)) {
        Cow::Borrowed(body)
    } else {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut escaped = Vec::with_capacity(body.len().saturating_add(body.len() / 4));
        for &b in body {
            if kept(b) {
                escaped.push(b);
            } else {
                escaped.push(b'=');
                escaped.extend(HEX.get(usize::from(b >> 4)));
                escaped.extend(HEX.get(usize::from(b & 0x0f)));
            }
        }
        Cow::Owned(escaped)
    };
    quoted_printable::decode(&*input, quoted_printable::ParseMode::Robust)
        .map_err(|_| MimeError::BadEncoding("quoted-printable"))
}

/// The parts of a multipart body, as absolute ranges into the entity bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multipart {
    pub preamble: Range<usize>,
    /// Each part's bytes: from after the delimiter line's CRLF to before the CRLF that
    /// precedes the next delimiter (RFC 2046 §5.1.1: that CRLF belongs to the delimiter).
    pub parts: Vec<Range<usize>>,
    pub epilogue: Range<usize>,
}

/// Is `line` a delimiter line for `boundary`? Returns `Some(true)` for the close
/// delimiter. Transport padding (trailing WSP) is allowed (RFC 2046 §5.1.1).
fn delimiter_kind(line: &[u8], boundary: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"--")?.strip_prefix(boundary)?;
    let (close, rest) = match rest.strip_prefix(b"--") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    rest.iter()
        .all(|&b| b == b' ' || b == b'\t')
        .then_some(close)
}

/// Splits `body` (which starts at absolute offset `base`) on `boundary`.
pub fn split_multipart(body: &[u8], boundary: &[u8], base: usize) -> Result<Multipart, MimeError> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(MimeError::NoBoundary);
    }
    let mut parts = Vec::new();
    let mut preamble_end: Option<usize> = None;
    let mut part_start: Option<usize> = None;
    let mut pos = 0usize;
    while pos <= body.len() {
        let rest = slice(body, pos..body.len());
        let line_len = memchr_crlf(rest).map_or(rest.len(), |i| i + 2);
        let line = slice(rest, 0..line_len);
        let content = line.strip_suffix(b"\r\n").unwrap_or(line);
        if let Some(close) = delimiter_kind(content, boundary) {
            // The CRLF before the delimiter belongs to it.
            let end = if pos >= 2 { pos - 2 } else { pos };
            match part_start {
                Some(s) => {
                    if parts.len() >= MAX_PARTS {
                        return Err(MimeError::TooManyParts);
                    }
                    parts.push(base + s..base + end.max(s));
                }
                None => preamble_end = Some(end),
            }
            if close {
                let ep = pos + line_len;
                return Ok(Multipart {
                    preamble: base..base + preamble_end.unwrap_or(0),
                    parts,
                    epilogue: base + ep..base + body.len(),
                });
            }
            part_start = Some(pos + line_len);
        }
        if line_len == 0 {
            break;
        }
        pos += line_len;
    }
    Err(MimeError::Unterminated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_body_split_exactly() {
        let m = b"From: a@b.c\r\nSubject: x\r\n y\r\n\r\nbody\r\n";
        let e = Entity::parse(m).unwrap();
        assert_eq!(e.fields().len(), 2);
        assert_eq!(e.get("subject").unwrap(), "x y");
        assert_eq!(e.body(), b"body\r\n");
        assert_eq!(e.field_raw(&e.fields()[1]), b"Subject: x\r\n y\r\n");
    }

    #[test]
    fn no_headers_means_implicit_text() {
        let e = Entity::parse(b"\r\nhello").unwrap();
        assert!(e.fields().is_empty());
        assert_eq!(e.body(), b"hello");
        assert_eq!(e.content_type().unwrap(), ContentType::default_text());
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(matches!(
            Entity::parse(b" folded first\r\n\r\n"),
            Err(MimeError::BadHeader(0))
        ));
        assert!(Entity::parse(b"no colon here\r\n\r\n").is_err());
        assert!(Entity::parse(b"Bad Name: x\r\n\r\n").is_err());
    }

    #[test]
    fn duplicate_content_type_is_refused() {
        let e =
            Entity::parse(b"Content-Type: text/plain\r\nContent-Type: text/html\r\n\r\nx").unwrap();
        assert_eq!(
            e.content_type(),
            Err(MimeError::DuplicateField("Content-Type"))
        );
    }

    #[test]
    fn content_type_params() {
        let ct = ContentType::parse(
            "Multipart/Signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n boundary=\"a;b\" (comment)",
        );
        assert_eq!(ct.mime_type, "multipart/signed");
        assert_eq!(ct.param("protocol"), Some("application/pkcs7-signature"));
        assert_eq!(ct.param("BOUNDARY"), Some("a;b"));
        assert_eq!(
            ContentType::parse("garbage").mime_type,
            "application/octet-stream"
        );
    }

    #[test]
    fn multipart_ranges_exclude_delimiter_crlf() {
        let body = b"pre\r\n--b\r\nA: 1\r\n\r\none\r\n--b \r\n\r\ntwo\r\n--b--\r\nepi";
        let m = split_multipart(body, b"b", 0).unwrap();
        assert_eq!(m.parts.len(), 2);
        assert_eq!(&body[m.parts[0].clone()], b"A: 1\r\n\r\none");
        assert_eq!(&body[m.parts[1].clone()], b"\r\ntwo");
        assert_eq!(&body[m.preamble.clone()], b"pre");
        assert_eq!(&body[m.epilogue.clone()], b"epi");
    }

    #[test]
    fn multipart_needs_close_delimiter_and_exact_boundary() {
        assert_eq!(
            split_multipart(b"--b\r\nx\r\n", b"b", 0),
            Err(MimeError::Unterminated)
        );
        // "--bx" is not a delimiter for boundary "b".
        assert_eq!(
            split_multipart(b"--bx\r\nx\r\n--bx--", b"b", 0),
            Err(MimeError::Unterminated)
        );
    }

    #[test]
    fn crlf_normalisation() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(to_crlf(b"a\r\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn qp_and_base64() {
        assert_eq!(
            decode_qp(b"Gr=C3=BC=\r\nsse =ZZ").unwrap(),
            "Grüsse =ZZ".as_bytes()
        );
        // Raw 8-bit bytes in a quoted-printable body are kept, not dropped.
        assert_eq!(
            decode_qp("Gr\u{fc}=3D".as_bytes()).unwrap(),
            "Gr\u{fc}=".as_bytes()
        );
        assert_eq!(decode_base64(b"aGVs\r\nbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVsbG8").unwrap(), b"hello");
        assert!(decode_base64(b"a*b").is_err());
        let enc = encode_base64_lines(&[0u8; 100]);
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 77));
    }

    /// Bodies longer than one decoding piece (64 KiB of base64) and longer than one
    /// encoding block (64 lines): every length around the piece edges round-trips, the
    /// lines are the RFC 2045 §6.8 76 characters, and padding inside the text (which
    /// would sit at a piece's end) is refused as the one-piece decoder refused it.
    #[test]
    fn base64_in_pieces_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .map(|i| (i * 7 + i / 251).to_le_bytes()[0])
            .collect();
        for len in [
            0, 1, 56, 57, 58, 3647, 3648, 3649, 49_151, 49_152, 49_153, 200_000,
        ] {
            let d = &data[..len];
            let enc = encode_base64_lines(d);
            let want = base64::engine::general_purpose::STANDARD.encode(d);
            let joined: Vec<u8> = enc
                .split(|&b| b == b'\n')
                .flat_map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
                .collect();
            assert_eq!(joined, want.as_bytes(), "{len}");
            assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 77), "{len}");
            assert_eq!(decode_base64(&enc).unwrap(), d, "{len}");
            // Unpadded, as some writers send it.
            assert_eq!(
                decode_base64(want.trim_end_matches('=').as_bytes()).unwrap(),
                d,
                "{len}"
            );
        }
        let mut padded_inside = base64::engine::general_purpose::STANDARD
            .encode(&data[..49_151])
            .into_bytes();
        padded_inside.extend_from_slice(b"AAAA");
        assert!(decode_base64(&padded_inside).is_err());
        // The same with so much after it that the padded part is decoded on its own.
        padded_inside.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(&data[..150_000])
                .as_bytes(),
        );
        assert!(decode_base64(&padded_inside).is_err());
        // And one long line, without line breaks, decodes like lines.
        let one_line = base64::engine::general_purpose::STANDARD.encode(&data);
        assert_eq!(decode_base64(one_line.as_bytes()).unwrap(), data);
    }
}
