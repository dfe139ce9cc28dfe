//! A small SMTP client for the relay to the next hop (RFC 5321): EHLO, opportunistic
//! STARTTLS (RFC 3207, RFC 7435: encrypt when offered, do not authenticate the peer),
//! SIZE/8BITMIME/SMTPUTF8/DSN parameters, and XOPES-BYPASS when the next hop advertises
//! XOPES (RFC 3897 §4.3: forward bypass requests). Every read is bounded in size and time.
//!
//! Kept hand-written (issue 14). Checked against Rust 1.95 and what the relay needs:
//! - `mail-send` 0.7.0 (Stalwart): `SmtpClientBuilder::connect` fails with
//!   `MissingStartTls` when the next hop offers no STARTTLS, so it cannot do
//!   opportunistic TLS (RFC 7435); `SmtpClient::send` stops at the first refused RCPT
//!   (`rcpt_to(..).await?`), so there are no per-recipient replies for a partial-failure
//!   DSN without driving MAIL/RCPT/DATA by hand; it sends each command and waits for its
//!   reply (no PIPELINING); XFORWARD only as a raw `cmd`. Its free-form `Parameters` could
//!   carry ENVID/RET/NOTIFY/ORCPT/XOPES-BYPASS.
//! - `lettre` 0.11.23 (rust-version 1.85): `AsyncSmtpConnection::send` also stops at the
//!   first refused RCPT (`try_smtp!`), sends every RCPT with no parameters (no NOTIFY, no
//!   ORCPT) and MAIL with only SMTPUTF8/8BITMIME (no ENVID, RET or XOPES-BYPASS); no
//!   PIPELINING, no XFORWARD. Its reply reader is bounded.
//!
//! Using either would mean writing the transaction loop (the part that matters here)
//! ourselves over the crate's command layer, so the client stays ours (on `tokio-rustls`
//! for STARTTLS, `smtp-proto` for the NOTIFY bits). Like the crates, it does not send
//! XFORWARD and does not pipeline.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// An SMTP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" "))
    }
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }
}

/// Why a delivery attempt failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("timed out talking to the next hop")]
    Timeout,
    #[error("next hop closed the connection or sent garbage: {0}")]
    Protocol(String),
    /// The whole transaction was refused (MAIL FROM or DATA).
    #[error("next hop refused the message: {0}")]
    Refused(String, bool),
}

impl ClientError {
    /// True when retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ClientError::Refused(_, true))
    }
}

/// One transaction to send.
pub struct Transaction<'a> {
    pub mail_from: &'a str,
    /// (address, NOTIFY bits, ORCPT)
    pub rcpts: Vec<(&'a str, u64, Option<&'a str>)>,
    pub data: &'a [u8],
    pub ret_full: Option<bool>,
    pub envid: Option<&'a str>,
    pub body_8bit: bool,
    pub smtputf8: bool,
    pub bypass: Option<&'a str>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

const MAX_LINE: usize = 4096;
const MAX_LINES: usize = 200;

async fn read_reply<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    timeout: Duration,
) -> Result<Reply, ClientError> {
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = tokio::time::timeout(timeout, read_line(r, &mut line))
            .await
            .map_err(|_| ClientError::Timeout)??;
        if n == 0 {
            return Err(ClientError::Protocol("connection closed".into()));
        }
        let s = String::from_utf8_lossy(&line).trim_end().to_owned();
        let code: u16 = s
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| ClientError::Protocol(format!("bad reply line {s:?}")))?;
        let more = s.as_bytes().get(3) == Some(&b'-');
        lines.push(s.get(4..).unwrap_or_default().to_owned());
        if lines.len() > MAX_LINES {
            return Err(ClientError::Protocol("reply too long".into()));
        }
        if !more {
            return Ok(Reply { code, lines });
        }
    }
}

/// Reads one line (up to LF), bounded.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
    out: &mut Vec<u8>,
) -> Result<usize, ClientError> {
    loop {
        let buf = r
            .fill_buf()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if buf.is_empty() {
            return Ok(out.len());
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        out.extend_from_slice(buf.get(..take).unwrap_or_default());
        r.consume(take);
        if out.len() > MAX_LINE {
            return Err(ClientError::Protocol("line too long".into()));
        }
        if done {
            return Ok(out.len());
        }
    }
}

/// Accepts any certificate: STARTTLS to the next hop is opportunistic (RFC 7435).
#[derive(Debug)]
struct Opportunistic(Arc<tokio_rustls::rustls::crypto::CryptoProvider>);

impl tokio_rustls::rustls::client::danger::ServerCertVerifier for Opportunistic {
    fn verify_server_cert(
        &self,
        _: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        _: &[tokio_rustls::rustls::pki_types::CertificateDer<'_>],
        _: &tokio_rustls::rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: tokio_rustls::rustls::pki_types::UnixTime,
    ) -> Result<tokio_rustls::rustls::client::danger::ServerCertVerified, tokio_rustls::rustls::Error>
    {
        Ok(tokio_rustls::rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        dss: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        tokio_rustls::rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &tokio_rustls::rustls::pki_types::CertificateDer<'_>,
        dss: &tokio_rustls::rustls::DigitallySignedStruct,
    ) -> Result<
        tokio_rustls::rustls::client::danger::HandshakeSignatureValid,
        tokio_rustls::rustls::Error,
    > {
        tokio_rustls::rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<tokio_rustls::rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> Option<tokio_rustls::TlsConnector> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Opportunistic(provider)))
        .with_no_client_auth();
    Some(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

/// Escapes leading dots and ensures a final CRLF (RFC 5321 §4.5.2). The next hop never
/// sees a bare CR or LF (RFC 5321 §2.3.8; SMTP smuggling): the pipeline refuses to
/// produce them, and should one slip through, each bare CR or LF is sent as a line end
/// (and dot-stuffed after), so it can never form an end-of-data sequence.
pub fn dot_stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 5);
    // A line at a time: each starts here, and ends at the next CR or LF (a CRLF pair
    // counts as one line end).
    let mut rest = data;
    while let Some(&first) = rest.first() {
        if first == b'.' {
            out.push(b'.');
        }
        match memchr::memchr2(b'\r', b'\n', rest) {
            Some(end) => {
                out.extend_from_slice(rest.get(..end).unwrap_or_default());
                out.extend_from_slice(b"\r\n");
                let pair = rest.get(end..end + 2) == Some(b"\r\n");
                rest = rest.get(end + 1 + usize::from(pair)..).unwrap_or_default();
            }
            None => {
                out.extend_from_slice(rest);
                rest = &[];
            }
        }
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The next piece of `data` to send, dot-stuffed: at most about `max` bytes of input,
/// cut after a line end; the end-of-data marker only after the last piece. The pieces
/// put together are `dot_stuff(data)`.
fn dot_stuff_piece(data: &[u8], max: usize) -> (Vec<u8>, &[u8]) {
    let mut cut = data.len().min(max);
    if cut < data.len() {
        cut = match memchr::memrchr(b'\n', data.get(..cut).unwrap_or_default()) {
            Some(i) => i + 1,
            None => data.len(),
        };
    }
    let (piece, tail) = data.split_at(cut);
    let mut body = dot_stuff(piece);
    if !tail.is_empty() {
        body.truncate(body.len().saturating_sub(3)); // the ".\r\n" end marker
    }
    (body, tail)
}

fn notify_param(bits: u64) -> Option<String> {
    use smtp_proto::{
        RCPT_NOTIFY_DELAY, RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER, RCPT_NOTIFY_SUCCESS,
    };
    if bits & RCPT_NOTIFY_NEVER != 0 {
        return Some("NEVER".into());
    }
    let mut v = Vec::new();
    if bits & RCPT_NOTIFY_SUCCESS != 0 {
        v.push("SUCCESS");
    }
    if bits & RCPT_NOTIFY_FAILURE != 0 {
        v.push("FAILURE");
    }
    if bits & RCPT_NOTIFY_DELAY != 0 {
        v.push("DELAY");
    }
    (!v.is_empty()).then(|| v.join(","))
}

/// Sends one transaction. Returns the reply to each RCPT (in order) and to DATA.
pub async fn send(
    next_hop: &str,
    helo: &str,
    tx: &Transaction<'_>,
    timeout: Duration,
) -> Result<(Vec<Reply>, Option<Reply>), ClientError> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(next_hop))
        .await
        .map_err(|_| ClientError::Timeout)?
        .map_err(|e| ClientError::Connect(next_hop.to_owned(), e.to_string()))?;
    let mut io: BufReader<Box<dyn Io>> = BufReader::new(Box::new(tcp));
    let greet = read_reply(&mut io, timeout).await?;
    if !greet.is_positive() {
        return Err(ClientError::Refused(greet.text(), greet.is_permanent()));
    }
    let mut caps = ehlo(&mut io, helo, timeout).await?;
    if caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS"))
        && let Some(connector) = tls_connector()
    {
        cmd(&mut io, "STARTTLS", timeout).await.and_then(|r| {
            if r.is_positive() {
                Ok(r)
            } else {
                Err(ClientError::Protocol(r.text()))
            }
        })?;
        let host = next_hop
            .rsplit_once(':')
            .map_or(next_hop, |(h, _)| h)
            .trim_matches(['[', ']']);
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
            .unwrap_or_else(|_| {
                tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap_or(
                    tokio_rustls::rustls::pki_types::ServerName::IpAddress(
                        std::net::Ipv4Addr::LOCALHOST.into(),
                    ),
                )
            });
        let inner = io.into_inner();
        let tls = tokio::time::timeout(timeout, connector.connect(name, inner))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|e| ClientError::Protocol(format!("TLS: {e}")))?;
        io = BufReader::new(Box::new(tls));
        caps = ehlo(&mut io, helo, timeout).await?;
    }
    let has = |k: &str| {
        caps.iter().any(|c| {
            c.split_whitespace()
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case(k))
        })
    };
    let mut mail = format!("MAIL FROM:<{}>", tx.mail_from);
    if has("SIZE") {
        mail.push_str(&format!(" SIZE={}", tx.data.len()));
    }
    if tx.body_8bit && has("8BITMIME") {
        mail.push_str(" BODY=8BITMIME");
    }
    if tx.smtputf8 && has("SMTPUTF8") {
        mail.push_str(" SMTPUTF8");
    }
    let dsn = has("DSN");
    if dsn {
        if let Some(full) = tx.ret_full {
            mail.push_str(if full { " RET=FULL" } else { " RET=HDRS" });
        }
        if let Some(e) = tx.envid {
            mail.push_str(&format!(" ENVID={}", crate::submission::xtext::encode(e)));
        }
    }
    if let Some(b) = tx.bypass
        && has("XOPES")
    {
        mail.push_str(&format!(
            " XOPES-BYPASS={}",
            crate::submission::xtext::encode(b)
        ));
    }
    let r = cmd(&mut io, &mail, timeout).await?;
    if !r.is_positive() {
        let _ = cmd(&mut io, "QUIT", timeout).await;
        return Err(ClientError::Refused(r.text(), r.is_permanent()));
    }
    let mut rcpt_replies = Vec::new();
    for (addr, notify, orcpt) in &tx.rcpts {
        let mut line = format!("RCPT TO:<{addr}>");
        if dsn {
            if let Some(n) = notify_param(*notify) {
                line.push_str(&format!(" NOTIFY={n}"));
            }
            if let Some(o) = orcpt {
                // RFC 3461 §4.2: ORCPT=addr-type ";" xtext (smtp-proto keeps only the address).
                let o = if o.contains(';') {
                    (*o).to_owned()
                } else {
                    format!("rfc822;{o}")
                };
                line.push_str(&format!(" ORCPT={}", crate::submission::xtext::encode(&o)));
            }
        }
        rcpt_replies.push(cmd(&mut io, &line, timeout).await?);
    }
    if !rcpt_replies.iter().any(Reply::is_positive) {
        let _ = cmd(&mut io, "QUIT", timeout).await;
        return Ok((rcpt_replies, None));
    }
    let r = cmd(&mut io, "DATA", timeout).await?;
    if r.code != 354 {
        let _ = cmd(&mut io, "QUIT", timeout).await;
        return Err(ClientError::Refused(r.text(), r.is_permanent()));
    }
    // Dot-stuffed in pieces of about 1 MiB (cut after a CRLF), so a big message is
    // not copied whole; each piece's own end marker is dropped but the last one's.
    let long = timeout.saturating_mul(4);
    let mut rest = tx.data;
    loop {
        let (body, tail) = dot_stuff_piece(rest, 1 << 20);
        tokio::time::timeout(long, io.get_mut().write_all(&body))
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        rest = tail;
        if rest.is_empty() {
            break;
        }
    }
    let data_reply = read_reply(&mut io, long).await?;
    let _ = cmd(&mut io, "QUIT", timeout).await;
    Ok((rcpt_replies, Some(data_reply)))
}

async fn cmd(
    io: &mut BufReader<Box<dyn Io>>,
    line: &str,
    timeout: Duration,
) -> Result<Reply, ClientError> {
    tokio::time::timeout(timeout, async {
        io.get_mut()
            .write_all(format!("{line}\r\n").as_bytes())
            .await?;
        io.get_mut().flush().await
    })
    .await
    .map_err(|_| ClientError::Timeout)?
    .map_err(|e| ClientError::Protocol(e.to_string()))?;
    read_reply(io, timeout).await
}

async fn ehlo(
    io: &mut BufReader<Box<dyn Io>>,
    helo: &str,
    timeout: Duration,
) -> Result<Vec<String>, ClientError> {
    let r = cmd(io, &format!("EHLO {helo}"), timeout).await?;
    if r.is_positive() {
        return Ok(r.lines.into_iter().skip(1).collect());
    }
    let r = cmd(io, &format!("HELO {helo}"), timeout).await?;
    if r.is_positive() {
        Ok(Vec::new())
    } else {
        Err(ClientError::Refused(r.text(), r.is_permanent()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        assert_eq!(dot_stuff(b".a\r\nb\r\n.\r\n"), b"..a\r\nb\r\n..\r\n.\r\n");
        assert_eq!(dot_stuff(b"x"), b"x\r\n.\r\n");
    }

    /// The line-at-a-time dot-stuffing agrees with the byte-at-a-time rule on every
    /// string of up to 7 bytes over `.`, CR, LF and a letter (RFC 5321 §4.5.2: a
    /// leading dot doubled; every CR, LF or CRLF one CRLF; a final CRLF and the end mark).
    #[test]
    fn dot_stuffing_matches_the_byte_rule() {
        fn by_byte(data: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            let mut at_line_start = true;
            let mut i = 0;
            while let Some(&b) = data.get(i) {
                i += 1;
                if b == b'\r' || b == b'\n' {
                    if b == b'\r' && data.get(i) == Some(&b'\n') {
                        i += 1;
                    }
                    out.extend_from_slice(b"\r\n");
                    at_line_start = true;
                } else {
                    if at_line_start && b == b'.' {
                        out.push(b'.');
                    }
                    out.push(b);
                    at_line_start = false;
                }
            }
            if !out.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b".\r\n");
            out
        }
        let alphabet = [b'.', b'\r', b'\n', b'a'];
        for len in 0..=7u32 {
            for n in 0..4usize.pow(len) {
                let data: Vec<u8> = (0..len).map(|k| alphabet[n / 4usize.pow(k) % 4]).collect();
                assert_eq!(dot_stuff(&data), by_byte(&data), "{data:?}");
            }
        }
    }

    #[test]
    fn pieces_add_up_to_the_whole() {
        let data = b"a\r\n.b\r\nlong line here\r\n.\r\nx\r\n..\r\nend";
        for max in 1..data.len() + 2 {
            let mut all = Vec::new();
            let mut rest = &data[..];
            loop {
                let (p, tail) = dot_stuff_piece(rest, max);
                all.extend_from_slice(&p);
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            assert_eq!(all, dot_stuff(data), "max {max}");
        }
    }

    #[test]
    fn relay_never_emits_bare_cr_or_lf() {
        // Each of these would end DATA early at some next hop (SMTP smuggling).
        for (input, want) in [
            (
                &b"a\r.\rMAIL FROM:<x@y>\r\n"[..],
                &b"a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n"[..],
            ),
            (b"a\n.\nb\r\n", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\r\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),
            (b"a\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n"),
        ] {
            let out = dot_stuff(input);
            assert_eq!(out, want, "{:?}", String::from_utf8_lossy(input));
            // Only one end-of-data sequence, at the very end.
            let ends = out.windows(5).filter(|w| w == b"\r\n.\r\n").count();
            assert_eq!(ends, 1);
            for (i, &b) in out.iter().enumerate() {
                if b == b'\r' {
                    assert_eq!(out.get(i + 1), Some(&b'\n'));
                }
                if b == b'\n' {
                    assert_eq!(out.get(i.wrapping_sub(1)), Some(&b'\r'));
                }
            }
        }
    }
}
