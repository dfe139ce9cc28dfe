//! The MIME tree of a content entity, as byte ranges, and text-part decoding/encoding
//! for services that edit text (RFC 2045 §6, RFC 2046 §5).
//!
//! Nodes point into one buffer. A service that edits a part produces a [`Splice`] (a
//! range and its replacement); bytes outside every splice stay byte-identical.

use std::ops::Range;

use mail_parser::MimeHeaders as _;

use super::{ContentType, Entity, MimeError, TransferEncoding};

/// Deepest multipart nesting we descend into.
pub const MAX_DEPTH: usize = 32;
/// Most parts in one tree.
pub const MAX_TREE_PARTS: usize = 2000;

/// One MIME entity in the tree.
#[derive(Clone, Debug)]
pub struct Part {
    /// IMAP-style section path: "1", "1.2", ... ("1" is a non-multipart root).
    pub path: String,
    /// The whole entity (header + empty line + body) in the buffer.
    pub range: Range<usize>,
    /// The header fields (without the empty line).
    pub header: Range<usize>,
    /// The body.
    pub body: Range<usize>,
    pub content_type: ContentType,
    pub encoding: TransferEncoding,
    /// True when Content-Disposition says attachment or a filename is given.
    pub attachment: bool,
    /// The name a reader shows for the part: Content-Disposition `filename`, else
    /// Content-Type `name`.
    pub filename: Option<String>,
    /// Every file name the part gives (both parameters, RFC 2231 and RFC 2047 forms
    /// decoded): a policy on names checks them all, since readers differ in which they
    /// use.
    pub names: Vec<String>,
    pub children: Vec<Part>,
}

/// A replacement of `range` (in the buffer) by `bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splice {
    pub range: Range<usize>,
    pub bytes: Vec<u8>,
}

/// Applies non-overlapping splices to `buf`.
pub fn apply_splices(buf: &[u8], splices: &[Splice]) -> Vec<u8> {
    let mut sorted: Vec<&Splice> = splices.iter().collect();
    sorted.sort_by_key(|s| s.range.start);
    let mut out = Vec::with_capacity(buf.len());
    let mut pos = 0usize;
    for s in sorted {
        if s.range.start < pos || s.range.end > buf.len() || s.range.start > s.range.end {
            continue; // overlapping or out of range: never produced by our services
        }
        out.extend_from_slice(buf.get(pos..s.range.start).unwrap_or_default());
        out.extend_from_slice(&s.bytes);
        pos = s.range.end;
    }
    out.extend_from_slice(buf.get(pos..).unwrap_or_default());
    out
}

fn disposition(e: &Entity<'_>) -> (bool, Option<String>, Vec<String>) {
    let cd = e
        .get("Content-Disposition")
        .map(|v| ContentType::parse(&format!("x/{v}")));
    let ct = e.content_type().ok();
    let plain = [
        cd.as_ref().and_then(|c| c.param("filename")),
        ct.as_ref().and_then(|c| c.param("name")),
    ];
    // RFC 2231 §3-4 (`filename*=utf-8''a.exe`, `filename*0*=...`) and RFC 2047
    // encoded words, as mail-parser decodes them for a reader.
    let header = e.raw().get(..e.header_end()).unwrap_or_default();
    let mut h = header.to_vec();
    h.extend_from_slice(b"\r\n\r\n");
    let parsed = mail_parser::MessageParser::new().parse_headers(&h[..]);
    let decoded = parsed.as_ref().map(|m| {
        [
            m.content_disposition()
                .and_then(|c| c.attribute("filename"))
                .map(str::to_owned),
            m.content_type()
                .and_then(|c| c.attribute("name"))
                .map(str::to_owned),
        ]
    });
    let mut names: Vec<String> = Vec::new();
    for n in decoded
        .into_iter()
        .flatten()
        .flatten()
        .chain(plain.iter().flatten().map(|s| (*s).to_owned()))
    {
        if !n.is_empty() && !names.contains(&n) {
            names.push(n);
        }
    }
    let filename = names.first().cloned();
    let attach = cd
        .as_ref()
        .is_some_and(|c| c.mime_type.eq_ignore_ascii_case("x/attachment"))
        || filename.is_some();
    (attach, filename, names)
}

/// Parses the tree of the entity occupying `range` of `buf`.
pub fn parse(buf: &[u8]) -> Result<Part, MimeError> {
    let mut count = 0usize;
    parse_at(buf, 0..buf.len(), "1".into(), 0, &mut count)
}

fn parse_at(
    buf: &[u8],
    range: Range<usize>,
    path: String,
    depth: usize,
    count: &mut usize,
) -> Result<Part, MimeError> {
    *count += 1;
    if *count > MAX_TREE_PARTS {
        return Err(MimeError::TooManyParts);
    }
    if depth > MAX_DEPTH {
        return Err(MimeError::TooDeep(MAX_DEPTH));
    }
    let base = range.start;
    let bytes = buf.get(range.clone()).unwrap_or_default();
    let e = Entity::parse(bytes)?;
    let content_type = e.content_type()?;
    let encoding = e.transfer_encoding()?;
    let (attachment, filename, names) = disposition(&e);
    let header = base..base + e.header_end();
    let body = base + e.body_offset()..range.end;
    let mut children = Vec::new();
    if content_type.is_multipart() {
        // A multipart without a usable boundary is treated as an opaque leaf.
        if let Ok(mp) = e.multipart() {
            for (i, r) in mp.parts.iter().enumerate() {
                let child_path = if path == "1" && depth == 0 {
                    format!("{}", i + 1)
                } else {
                    format!("{path}.{}", i + 1)
                };
                children.push(parse_at(
                    buf,
                    base + r.start..base + r.end,
                    child_path,
                    depth + 1,
                    count,
                )?);
            }
        }
    }
    Ok(Part {
        path,
        range,
        header,
        body,
        content_type,
        encoding,
        attachment,
        filename,
        names,
        children,
    })
}

impl Part {
    /// All leaves, depth first.
    pub fn leaves(&self) -> Vec<&Part> {
        if self.children.is_empty() {
            return vec![self];
        }
        self.children.iter().flat_map(|c| c.leaves()).collect()
    }

    /// All nodes, depth first.
    pub fn nodes(&self) -> Vec<&Part> {
        let mut v = vec![self];
        for c in &self.children {
            v.extend(c.nodes());
        }
        v
    }

    pub fn is_text(&self, subtype: &str) -> bool {
        self.children.is_empty() && self.content_type.is(&format!("text/{subtype}"))
    }
}

/// A decoded text body and what is needed to encode an edited one the same way.
#[derive(Clone, Debug)]
pub struct Text {
    pub text: String,
    pub charset: &'static encoding_rs::Encoding,
}

/// Decodes a leaf text part's body (transfer encoding, then charset). `None` when the
/// charset is unknown or the bytes do not decode cleanly: such a part is left alone
/// rather than corrupted.
pub fn decode_text(buf: &[u8], part: &Part) -> Option<Text> {
    let bytes = buf.get(part.range.clone())?;
    let e = Entity::parse(bytes).ok()?;
    let raw = e.decoded_body().ok()?;
    let label = part.content_type.param("charset").unwrap_or("us-ascii");
    let enc = encoding_rs::Encoding::for_label(label.trim().as_bytes())?;
    let (text, _, had_errors) = enc.decode(&raw);
    if had_errors {
        return None;
    }
    Some(Text {
        text: text.into_owned(),
        charset: enc,
    })
}

/// Quoted-printable encoding (RFC 2045 §6.7) with the `quoted_printable` crate in text
/// mode: line breaks (CRLF, or a bare LF, normalised to CRLF first) stay hard breaks,
/// longer lines get soft breaks so no encoded line exceeds 76 characters, and a space or
/// tab before a line end is escaped.
pub fn encode_qp(data: &[u8]) -> Vec<u8> {
    quoted_printable::encode(&*super::to_crlf(data))
}

/// Re-encodes `text` for `part`: the same charset when it can represent the text (else
/// UTF-8), the same transfer encoding when it can carry the result (else
/// quoted-printable). Returns the replacement for the whole part (header + body); the
/// header changes only where the charset or encoding had to.
pub fn encode_text_part(
    buf: &[u8],
    part: &Part,
    original: &Text,
    new_text: &str,
) -> Option<Vec<u8>> {
    let bytes = buf.get(part.range.clone())?;
    let e = Entity::parse(bytes).ok()?;
    // encoding_rs reads "us-ascii" as windows-1252; a part declared ASCII (or with no
    // charset) that now needs more than ASCII must become UTF-8.
    let declared_ascii = part
        .content_type
        .param("charset")
        .is_none_or(|c| c.eq_ignore_ascii_case("us-ascii") || c.eq_ignore_ascii_case("ascii"));
    let (mut body, charset_changed) = {
        let (b, _, unmappable) = original.charset.encode(new_text);
        if unmappable
            || original.charset.output_encoding() != original.charset
            || (declared_ascii && !new_text.is_ascii())
        {
            (
                new_text.as_bytes().to_vec(),
                original.charset != encoding_rs::UTF_8,
            )
        } else {
            (b.into_owned(), false)
        }
    };
    let body_crlf = super::to_crlf(&body).into_owned();
    body = body_crlf;
    let mut encoding = part.encoding;
    let encoded = match encoding {
        TransferEncoding::Base64 => super::encode_base64_lines(&body),
        TransferEncoding::QuotedPrintable => encode_qp(&body),
        TransferEncoding::SevenBit if !body.is_ascii() => {
            encoding = TransferEncoding::QuotedPrintable;
            encode_qp(&body)
        }
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => body,
        TransferEncoding::Unknown => return None,
    };
    let mut header = Vec::new();
    let mut cte_seen = false;
    for f in e.fields() {
        let name = e.field_name(f);
        if charset_changed && name.eq_ignore_ascii_case("Content-Type") {
            let mut ct = part.content_type.clone();
            ct.params.retain(|(k, _)| k != "charset");
            ct.params.push(("charset".into(), "utf-8".into()));
            header.extend_from_slice(
                format!("Content-Type: {}\r\n", render_content_type(&ct)).as_bytes(),
            );
        } else if name.eq_ignore_ascii_case("Content-Transfer-Encoding") {
            cte_seen = true;
            if encoding == part.encoding {
                header.extend_from_slice(e.field_raw(f));
            } else {
                header.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n");
            }
        } else {
            header.extend_from_slice(e.field_raw(f));
        }
    }
    if !cte_seen && encoding != part.encoding {
        header.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n");
    }
    if charset_changed && e.get_all("Content-Type").next().is_none() {
        header.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    }
    // A header that ran to the end of the part has no CRLF after its last field: add
    // it, so the empty line below really separates header and body.
    if !header.is_empty() && !header.ends_with(b"\r\n") {
        header.extend_from_slice(b"\r\n");
    }
    let mut out = header;
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&encoded);
    Some(out)
}

/// Renders a Content-Type value with quoted parameters.
pub fn render_content_type(ct: &ContentType) -> String {
    let mut s = ct.mime_type.clone();
    for (k, v) in &ct.params {
        let needs_quote = v.is_empty()
            || v.bytes()
                .any(|b| b"()<>@,;:\\\"/[]?= \t".contains(&b) || !b.is_ascii_graphic());
        if needs_quote {
            s.push_str(&format!(
                "; {k}=\"{}\"",
                v.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        } else {
            s.push_str(&format!("; {k}={v}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n--X\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--X--\r\n";

    #[test]
    fn tree_paths_and_attachments() {
        let t = parse(MSG).unwrap();
        assert_eq!(t.children.len(), 2);
        assert_eq!(t.children[0].path, "1");
        assert_eq!(t.children[1].path, "2");
        assert!(t.children[1].attachment);
        assert_eq!(t.children[1].filename.as_deref(), Some("a.pdf"));
        assert!(t.children[0].is_text("plain"));
    }

    #[test]
    fn text_round_trip_keeps_untouched_bytes() {
        let t = parse(MSG).unwrap();
        let p = &t.children[0];
        let text = decode_text(MSG, p).unwrap();
        assert_eq!(text.text, "Grüße");
        let same = encode_text_part(MSG, p, &text, &text.text).unwrap();
        assert_eq!(same, &MSG[p.range.clone()]);
        let edited = encode_text_part(MSG, p, &text, "Grüße\r\n-- \r\nDisclaimer").unwrap();
        let out = apply_splices(
            MSG,
            &[Splice {
                range: p.range.clone(),
                bytes: edited,
            }],
        );
        assert!(
            out.ends_with(&MSG[t.children[1].range.start - 5..]),
            "later bytes unchanged"
        );
        assert!(out.windows(10).any(|w| w == b"Disclaimer"));
    }

    #[test]
    fn seven_bit_part_switches_to_qp_for_non_ascii() {
        let m = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n";
        let t = parse(m).unwrap();
        let text = decode_text(m, &t).unwrap();
        let out = encode_text_part(m, &t, &text, "Hello\r\nCaf\u{e9}\r\n").unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("charset=utf-8"), "{s}");
        assert!(
            s.contains("Content-Transfer-Encoding: quoted-printable"),
            "{s}"
        );
        assert!(s.contains("Caf=C3=A9"), "{s}");
    }

    #[test]
    fn qp_encoding_wraps_and_escapes() {
        let long = "x".repeat(200);
        let e = encode_qp(long.as_bytes());
        assert!(e.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(super::super::decode_qp(&e).unwrap(), long.as_bytes());
        assert_eq!(encode_qp(b"a=b \r\nc"), b"a=3Db=20\r\nc");
    }

    /// Encoded lines are CRLF-terminated and at most 76 characters (RFC 2045 §6.7 rule 5),
    /// and decoding gives back the input: UTF-8 and binary bytes, long lines, trailing
    /// spaces and tabs, a bare CR, "=" at every column.
    #[test]
    fn qp_round_trips_binary_and_long_lines() {
        let mut cases: Vec<Vec<u8>> = vec![
            format!("{}\r\n", "Grüße, καλημέρα, 日本語 ".repeat(20)).into_bytes(),
            b"trailing space   \r\ntrailing tab\t\t\r\n \r\n\t".to_vec(),
            (0u8..=255).collect(),
            "=".repeat(300).into_bytes(),
            b"bare\rcarriage return\r\n\r\n\r\nend ".to_vec(),
        ];
        // Every column for a multi-byte escape and a trailing space near the limit.
        for pad in 70..80 {
            let mut v = "a".repeat(pad).into_bytes();
            v.extend_from_slice("é \r\nz\t".as_bytes());
            cases.push(v);
        }
        // A small deterministic pseudo-random corpus of bytes, with CRLFs mixed in.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..50 {
            let mut v = Vec::new();
            for _ in 0..400 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match x % 16 {
                    0 => v.extend_from_slice(b"\r\n"),
                    1 => v.push(b' '),
                    _ => v.push(x.to_le_bytes()[1]),
                }
            }
            cases.push(v);
        }
        for data in cases {
            let e = encode_qp(&data);
            for line in e.split(|&b| b == b'\n') {
                assert!(line.len() <= 77, "{:?}", String::from_utf8_lossy(line));
                assert!(
                    line.iter()
                        .all(|&b| (b' '..=b'~').contains(&b) || b == b'\t' || b == b'\r')
                );
                let body = line.strip_suffix(b"\r").unwrap_or(line);
                assert!(!body.ends_with(b" ") && !body.ends_with(b"\t"), "{line:?}");
            }
            assert!(!e.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
            // The encoder keeps CRLF as hard breaks and normalises a bare LF to CRLF.
            let expected = super::super::to_crlf(&data).into_owned();
            assert_eq!(super::super::decode_qp(&e).unwrap(), expected);
        }
    }

    /// Regression (fuzz mime_tree): a part whose header runs to its end had its first
    /// edited line break taken for the header/body separator.
    #[test]
    fn edit_of_a_bodyless_part_keeps_the_new_text() {
        let m = b"Content-Type: text/plain; charset=utf-8";
        let t = parse(m).unwrap();
        let text = decode_text(m, &t).unwrap();
        let out = encode_text_part(m, &t, &text, "\r\n-- \r\nDisclaimer").unwrap();
        let e = super::super::Entity::parse(&out).unwrap();
        assert_eq!(e.body(), b"\r\n-- \r\nDisclaimer");
    }
}
