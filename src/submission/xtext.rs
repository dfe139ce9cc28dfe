//! xtext (RFC 3461 §4): `"+" HEXCHAR HEXCHAR` escapes in ESMTP parameter values.

/// Decodes xtext; `None` for malformed escapes or characters outside the grammar.
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'+' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else if (33..=126).contains(&c) && c != b'=' {
            out.push(c);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes a value as xtext.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if (33..=126).contains(&c) && c != b'+' && c != b'=' {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("+{c:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            decode("https://gw/opes/d+2Cx").as_deref(),
            Some("https://gw/opes/d,x")
        );
        assert_eq!(decode(&encode("a=b c+d")).as_deref(), Some("a=b c+d"));
        assert!(decode("bad+Z1").is_none());
        assert!(decode("sp ace").is_none());
    }
}
