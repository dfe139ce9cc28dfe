//! DKIM signing of the message as it leaves (RFC 6376 §5; RFC 8463 for Ed25519): the
//! last step of the pipeline, after every adaptation, the re-seal and the trace fields,
//! so that the signature covers exactly what the next hop receives.
//!
//! The signing domain is the domain of the header From (RFC 6376 §3.5 `d=`, and the
//! domain DMARC aligns with, RFC 7489 §3.1.1), never the envelope sender. Mail whose From
//! domain has a DKIM key in the keystore (`reseal keys import-dkim`) is signed, unless the
//! operator switched that domain off (`[dkim] disabled_domains`).
//!
//! Canonicalisation is relaxed/relaxed (RFC 6376 §3.4.2, §3.4.4), here; the keystore
//! signs the SHA-256 digest (RFC 6376 §3.7), so the private key never leaves the keystore
//! crate. (The `mail-auth` crate was the candidate: 0.13, the last release on our
//! mail-parser 0.11, does not build without a DNS resolver and a crypto back-end, which
//! would bring hickory-resolver, rustls-platform-verifier and some 45 crates more into
//! the gateway for the two canonicalisations below. An independent verifier, dkimpy,
//! checks the result in tests/dkim.rs.)

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reseal_keystore::{DkimKeyInfo, Keystore, dkim_domain_name};
use sha2::{Digest as _, Sha256};

use crate::config::DkimConfig;
use crate::error::Failure;
use crate::mime::{self, Entity};
use crate::sanitize::log_text;

/// The header fields signed when present (RFC 6376 §5.4.1's recommended content, plus
/// the fields that say how to read the body), in the order they are listed in `h=`.
const SIGNED: &[&str] = &[
    "From",
    "Sender",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Resent-Date",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "Resent-Message-ID",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
    "Content-Description",
];

/// Signed once more than they occur (RFC 6376 §5.4.2, §8.15): a verifier then finds a
/// null instance for the extra name, so a field of that name added after signing (a
/// second From shown to the reader instead of the signed one) breaks the signature.
const OVERSIGNED: &[&str] = &["From", "To", "Subject"];

/// More instances of one signed field than this and the message is not signed: such a
/// header is not mail a domain vouches for, and `h=` would grow without bound.
const MAX_INSTANCES: usize = 64;

/// What DKIM signing did to a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed {
    /// A DKIM-Signature with `d=` domain and `s=` selector was added on top.
    Yes { domain: String, selector: String },
    /// Not signed, for the reason given (already sanitised).
    No(String),
}

/// Signs `message` (CRLF line ends, header and body) with the DKIM key of its From
/// domain, if the keystore holds one and the domain is not switched off, by adding a
/// DKIM-Signature field on top. `now` is the `t=` timestamp (seconds since the epoch).
pub fn sign(
    message: &mut Vec<u8>,
    ks: &Keystore,
    settings: &DkimConfig,
    now: u64,
) -> Result<Signed, Failure> {
    if ks.dkim_keys().next().is_none() {
        return Ok(Signed::No("no DKIM key in the keystore".into()));
    }
    let top = match Entity::parse(message) {
        Ok(t) => t,
        Err(_) => {
            tracing::info!("not DKIM-signing: the header cannot be read");
            return Ok(Signed::No("the header cannot be read".into()));
        }
    };
    let domain = match from_domain(&top) {
        Ok(d) => d,
        Err(why) => {
            tracing::info!("not DKIM-signing: {why}");
            return Ok(Signed::No(why));
        }
    };
    let Some(key) = ks.dkim_key_for(&domain) else {
        return Ok(Signed::No(format!("no DKIM key for {domain}")));
    };
    if settings.disabled_domains.contains(&domain) {
        tracing::info!("not DKIM-signing: switched off for {domain} ([dkim] disabled_domains)");
        return Ok(Signed::No(format!("DKIM switched off for {domain}")));
    }
    let Some((field, digest)) = prepare(&top, key, now) else {
        let why = format!("a signed header field occurs more than {MAX_INSTANCES} times");
        tracing::info!("not DKIM-signing: {why}");
        return Ok(Signed::No(why));
    };
    drop(top);
    let signature = ks.dkim_sign(&key.domain, &digest).map_err(|e| {
        tracing::error!("DKIM signing for {} failed: {e}", key.domain);
        Failure::temporary("The DKIM signature could not be made")
    })?;
    let mut header = field.into_bytes();
    fold_base64(&mut header, &B64.encode(signature));
    header.extend_from_slice(b"\r\n");
    message.splice(0..0, header);
    tracing::debug!("DKIM-signed: d={} s={}", key.domain, key.selector);
    Ok(Signed::Yes {
        domain: key.domain.clone(),
        selector: key.selector.clone(),
    })
}

/// The domain of the message's single From address (RFC 5322 §3.6.2), as a DNS name in
/// lower case; otherwise why there is none (sanitised for the log).
fn from_domain(top: &Entity<'_>) -> Result<String, String> {
    let from =
        mime::address::single_from(top).ok_or_else(|| "no single From address".to_owned())?;
    let domain = mime::address::domain(&from);
    dkim_domain_name(domain).ok_or_else(|| {
        format!(
            "the From domain {} is not a DNS domain name in ASCII",
            log_text(domain)
        )
    })
}

/// The DKIM-Signature field with an empty `b=` (without its CRLF), and the SHA-256
/// digest of what the signature covers (RFC 6376 §3.7): the signed header fields and
/// this field, relaxed. `None` when a signed field occurs too often.
fn prepare(top: &Entity<'_>, key: &DkimKeyInfo, now: u64) -> Option<(String, Vec<u8>)> {
    // Body hash (RFC 6376 §3.7 step 1): the whole body, relaxed; no l= tag.
    let mut bh = Sha256::new();
    relaxed_body(top.body(), &mut bh);
    let bh = B64.encode(bh.finalize());

    // h= (RFC 6376 §5.4, §5.4.2): each signed field as often as it occurs, the
    // oversigned ones once more; instances are taken from the bottom up.
    let mut names: Vec<&str> = Vec::new();
    let mut h = Sha256::new();
    let mut line = Vec::new();
    for name in SIGNED {
        let instances: Vec<&mime::Field> = top.get_all(name).collect();
        if instances.len() > MAX_INSTANCES {
            return None;
        }
        let extra = usize::from(OVERSIGNED.contains(name));
        names.extend(std::iter::repeat_n(*name, instances.len() + extra));
        // The data to sign (RFC 6376 §3.7 step 2) starts with the selected fields in
        // h= order; the null instances of the oversigned names add nothing.
        for f in instances.iter().rev() {
            line.clear();
            relaxed_header(top.field_name(f), top.field_value(f), &mut line);
            line.extend_from_slice(b"\r\n");
            h.update(&line);
        }
    }

    let mut field = format!(
        "DKIM-Signature: v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h=",
        key.algorithm.tag(),
        key.domain,
        key.selector,
    );
    let mut width = 0usize;
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            field.push(':');
            width += 1;
        }
        // Fold h= before a name that would make the line long (FWS is allowed around
        // its colons, RFC 6376 §3.5).
        if width + n.len() > 70 {
            field.push_str("\r\n\t");
            width = 0;
        }
        field.push_str(n);
        width += n.len();
    }
    field.push_str(&format!(";\r\n\tbh={bh};\r\n\tb="));

    // Then this field, with an empty b= and without a CRLF after it (§3.7 step 2).
    let (name, value) = field.split_once(':')?;
    line.clear();
    relaxed_header(name, value.as_bytes(), &mut line);
    h.update(&line);
    Some((field, h.finalize().to_vec()))
}

/// The "relaxed" header canonicalisation (RFC 6376 §3.4.2) of one field, without its
/// CRLF: the name in lower case, a colon, the value unfolded with every run of white
/// space made one space and none at its start or end.
fn relaxed_header(name: &str, value: &[u8], out: &mut Vec<u8>) {
    out.extend(
        name.trim_end_matches([' ', '\t'])
            .bytes()
            .map(|b| b.to_ascii_lowercase()),
    );
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &b in value {
        match b {
            // Unfolding: a CRLF in a value is always followed by white space.
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            _ => {
                if space && started {
                    out.push(b' ');
                }
                space = false;
                started = true;
                out.push(b);
            }
        }
    }
}

/// The "relaxed" body canonicalisation (RFC 6376 §3.4.4), hashed as it goes: white space
/// at the end of each line removed, other runs of white space made one space, empty lines
/// at the end removed, and a non-empty body ending in CRLF. `body` has CRLF line ends
/// only (the pipeline refuses bare CR and LF).
fn relaxed_body(body: &[u8], h: &mut Sha256) {
    let mut empty_lines = 0usize;
    let mut line = Vec::new();
    let mut pieces = body.split(|&b| b == b'\n').peekable();
    while let Some(piece) = pieces.next() {
        // After a final CRLF comes an empty piece that is no line.
        if pieces.peek().is_none() && piece.is_empty() {
            break;
        }
        let text = piece.strip_suffix(b"\r").unwrap_or(piece);
        line.clear();
        let mut space = false;
        for &b in text {
            if b == b' ' || b == b'\t' {
                space = true;
            } else {
                if space {
                    line.push(b' ');
                }
                space = false;
                line.push(b);
            }
        }
        if line.is_empty() {
            empty_lines += 1;
            continue;
        }
        for _ in 0..empty_lines {
            h.update(b"\r\n");
        }
        empty_lines = 0;
        line.extend_from_slice(b"\r\n");
        h.update(&line);
    }
}

/// Appends the base64 `b=` value, folded into lines of at most 72 characters (folding
/// white space inside a base64 tag value is ignored, RFC 6376 §3.5).
fn fold_base64(out: &mut Vec<u8>, b64: &str) {
    for (i, chunk) in b64.as_bytes().chunks(72).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n\t");
        }
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain_of(m: &[u8]) -> Result<String, String> {
        from_domain(&Entity::parse(m).unwrap())
    }

    #[test]
    fn from_domain_is_the_header_from() {
        let m = b"From: Alice <Alice@Example.COM>\r\nTo: b@x.org\r\n\r\nhi\r\n";
        assert_eq!(domain_of(m).unwrap(), "example.com");
        assert!(domain_of(b"From: a@example.com, b@example.org\r\n\r\n").is_err());
        assert!(domain_of(b"To: b@x.org\r\n\r\n").is_err());
        // A U-label is no DNS name; a control character never reaches the log.
        assert!(domain_of("From: a@b\u{fc}cher.de\r\n\r\n".as_bytes()).is_err());
        let why = domain_of(b"From: a@b\x1b[2Jcher.de\r\n\r\n").unwrap_err();
        assert!(!why.contains('\u{1b}'), "{why}");
    }

    fn body(b: &[u8]) -> Vec<u8> {
        let mut all = Sha256::new();
        relaxed_body(b, &mut all);
        all.finalize().to_vec()
    }

    /// RFC 6376 §3.4.6, the example's relaxed forms.
    #[test]
    fn relaxed_canonicalisation_matches_the_rfc_example() {
        let mut out = Vec::new();
        relaxed_header("A", b" X", &mut out);
        assert_eq!(out, b"a:X");
        out.clear();
        relaxed_header("B ", b" Y\t\r\n\tZ  ", &mut out);
        assert_eq!(out, b"b:Y Z");
        let expected = Sha256::digest(b" C\r\nD E\r\n").to_vec();
        assert_eq!(body(b" C \r\nD \t E\r\n\r\n\r\n"), expected);
        // No final CRLF: one is added. An empty body stays empty (§3.4.4).
        assert_eq!(body(b" C \r\nD \t E"), expected);
        assert_eq!(body(b""), Sha256::digest(b"").to_vec());
        assert_eq!(body(b"\r\n\r\n"), Sha256::digest(b"").to_vec());
        // Empty lines inside the body stay.
        assert_eq!(
            body(b"a\r\n\r\nb\r\n"),
            Sha256::digest(b"a\r\n\r\nb\r\n").to_vec()
        );
    }

    #[test]
    fn base64_is_folded() {
        let mut out = Vec::new();
        fold_base64(&mut out, &"A".repeat(150));
        assert_eq!(out.len(), 150 + 2 * 3);
        assert!(out.windows(3).filter(|w| w == b"\r\n\t").count() == 2);
    }
}
