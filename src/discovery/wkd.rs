//! Recipient OpenPGP certificates from the domain's Web Key Directory
//! (draft-koch-openpgp-webkey-service §3.1): HTTPS GET of
//! `https://openpgpkey.DOMAIN/.well-known/openpgpkey/DOMAIN/hu/HASH?l=LOCAL` (the advanced
//! method), or, only when that host does not resolve or refuses the connection,
//! `https://DOMAIN/.well-known/openpgpkey/hu/HASH?l=LOCAL` (the direct method). HASH is
//! the z-base-32 form of the SHA-1 of the lower-cased local part.
//!
//! A small blocking client (the pipeline runs on a blocking thread): rustls with the
//! system's trust anchors plus a configured CA file, HTTP/1.1 with `Connection: close`,
//! one deadline for the whole lookup, and a limit on the bytes read. Redirects are not
//! followed.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use sha1::{Digest as _, Sha1};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::{Candidates, LookupError};
use crate::config::WkdConfig;
use crate::error::Failure;

/// The most bytes of the response head.
const MAX_HEAD: usize = 16 * 1024;
/// The most addresses tried for one host.
const MAX_ADDRS: usize = 4;

/// The z-base-32 alphabet (draft-koch-openpgp-webkey-service §3.1, after RFC 6189 §5.1.6).
const ZBASE32: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// z-base-32, most significant bit first, without padding.
pub fn zbase32(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().saturating_mul(8).div_ceil(5));
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let i = usize::try_from((acc >> bits) & 31).unwrap_or(0);
            out.push(char::from(ZBASE32.get(i).copied().unwrap_or(b'y')));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        let i = usize::try_from((acc << (5 - bits)) & 31).unwrap_or(0);
        out.push(char::from(ZBASE32.get(i).copied().unwrap_or(b'y')));
    }
    out
}

/// RFC 3986 §2.1 percent-encoding of everything but the unreserved characters.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The (host, path) of the advanced and the direct method for `address`, or `None` if
/// the domain is not a host name.
pub fn urls(address: &str) -> Option<[(String, String); 2]> {
    let (local, domain) = address.rsplit_once('@')?;
    let domain = domain.to_ascii_lowercase();
    if local.is_empty() || !crate::sanitize::is_host_name(&domain) || domain.starts_with('[') {
        return None;
    }
    let hash = zbase32(&Sha1::digest(local.to_ascii_lowercase().as_bytes()));
    let l = percent(local);
    Some([
        (
            format!("openpgpkey.{domain}"),
            format!("/.well-known/openpgpkey/{domain}/hu/{hash}?l={l}"),
        ),
        (
            domain.clone(),
            format!("/.well-known/openpgpkey/hu/{hash}?l={l}"),
        ),
    ])
}

/// The TLS client configuration: the system's anchors and the configured CA file.
pub fn tls_config(cfg: &WkdConfig) -> Result<Arc<rustls::ClientConfig>, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    let mut add = |path: &std::path::Path, required: bool| -> Result<(), Failure> {
        let pem = match std::fs::read(path) {
            Ok(p) => p,
            Err(_) if !required => return Ok(()),
            Err(e) => {
                return Err(Failure::config(format!(
                    "cannot read discovery.wkd.ca_file {}: {e}",
                    path.display()
                )));
            }
        };
        for der in CertificateDer::pem_slice_iter(&pem).flatten() {
            // A bundle may hold a certificate webpki cannot use as an anchor: skip it.
            let _ = roots.add(der);
        }
        Ok(())
    };
    add(&cfg.roots_file, false)?;
    if let Some(ca) = &cfg.ca_file {
        add(ca, true)?;
    }
    if roots.is_empty() {
        return Err(Failure::config(
            "discovery.wkd: no trust anchor for HTTPS (discovery.wkd.roots_file, ca_file)",
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::config(format!("discovery.wkd: TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

struct Deadline(Instant);

impl Deadline {
    fn left(&self) -> Result<Duration, LookupError> {
        let d = self.0.saturating_duration_since(Instant::now());
        if d.is_zero() {
            Err(LookupError::Timeout)
        } else {
            Ok(d)
        }
    }
}

/// Why a host could not be reached: only `Unreachable` lets the advanced method fall
/// back to the direct one.
enum Reach {
    Unreachable(String),
    Error(LookupError),
}

impl From<LookupError> for Reach {
    fn from(e: LookupError) -> Reach {
        Reach::Error(e)
    }
}

/// The addresses of `host`: the configured override, or a name lookup on a helper
/// thread (it cannot be cancelled; the deadline stops the wait).
fn addresses(cfg: &WkdConfig, host: &str, deadline: &Deadline) -> Result<Vec<SocketAddr>, Reach> {
    if let Some(a) = cfg.connect_to.get(host) {
        return Ok(vec![*a]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("wkd-resolve".into())
        .spawn(move || {
            let r = (name.as_str(), 443u16)
                .to_socket_addrs()
                .map(|a| a.take(MAX_ADDRS).collect::<Vec<_>>());
            let _ = tx.send(r);
        })
        .map_err(|e| Reach::Error(LookupError::Failed(format!("name lookup: {e}"))))?;
    match rx.recv_timeout(deadline.left()?) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(_) => Err(Reach::Unreachable(format!("{host} does not resolve"))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Reach::Error(LookupError::Timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(Reach::Unreachable(format!("{host} does not resolve")))
        }
    }
}

fn connect(cfg: &WkdConfig, host: &str, deadline: &Deadline) -> Result<TcpStream, Reach> {
    let mut last = format!("{host}: no address");
    for a in addresses(cfg, host, deadline)? {
        match TcpStream::connect_timeout(&a, deadline.left()?) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(Reach::Error(LookupError::Timeout));
            }
            Err(e) => last = format!("{host}: {e}"),
        }
    }
    Err(Reach::Unreachable(last))
}

fn io_error(e: &std::io::Error) -> LookupError {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => LookupError::Timeout,
        _ => LookupError::Failed(format!("HTTPS: {e}")),
    }
}

/// GET `path` from `host` over HTTPS; the raw response (head and body), bounded.
fn get(
    cfg: &WkdConfig,
    tls: &Arc<rustls::ClientConfig>,
    host: &str,
    path: &str,
    deadline: &Deadline,
) -> Result<Vec<u8>, Reach> {
    let tcp = connect(cfg, host, deadline)?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| LookupError::Failed(format!("{host} is not a TLS server name")))?;
    let conn = rustls::ClientConnection::new(Arc::clone(tls), name)
        .map_err(|e| LookupError::Failed(format!("TLS: {e}")))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: reseal\r\n\
         Accept: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    let timeouts = |s: &TcpStream, d: Duration| {
        s.set_read_timeout(Some(d))
            .and_then(|()| s.set_write_timeout(Some(d)))
            .map_err(|e| io_error(&e))
    };
    timeouts(&stream.sock, deadline.left()?)?;
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| io_error(&e))?;
    let limit = cfg.max_bytes.saturating_add(MAX_HEAD);
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        timeouts(&stream.sock, deadline.left()?)?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(buf.get(..n).unwrap_or_default());
                if out.len() > limit {
                    return Err(LookupError::Failed("the answer is too large".into()).into());
                }
                if complete(&out) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A server that closes without close_notify: the framing decides.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io_error(&e).into()),
        }
    }
    Ok(out)
}

/// Whether `raw` holds a whole response by its Content-Length (so that a server that
/// keeps the connection open is not waited for).
fn complete(raw: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    match r.parse(raw) {
        Ok(httparse::Status::Complete(n)) => {
            content_length(r.headers).is_some_and(|len| raw.len().saturating_sub(n) >= len)
        }
        _ => false,
    }
}

fn header<'h>(headers: &'h [httparse::Header<'_>], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

fn content_length(headers: &[httparse::Header<'_>]) -> Option<usize> {
    std::str::from_utf8(header(headers, "content-length")?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// RFC 9112 §7.1: the chunked transfer coding, without trailers; `None` if malformed
/// or incomplete.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(body.get(..eol)?).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        body = body.get(eol.checked_add(2)?..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size.checked_add(2)?..)?;
    }
}

/// The body of a 200 response; `Ok(None)` for 404 (no key published).
fn body(raw: &[u8]) -> Result<Option<Vec<u8>>, LookupError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut r = httparse::Response::new(&mut headers);
    let n = match r.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return Err(LookupError::Failed("not an HTTP response".into())),
    };
    let rest = raw.get(n..).unwrap_or_default();
    match r.code {
        Some(200) => {}
        Some(404) => return Ok(None),
        Some(c) => return Err(LookupError::Failed(format!("HTTP status {c}"))),
        None => return Err(LookupError::Failed("not an HTTP response".into())),
    }
    let chunked =
        header(r.headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return dechunk(rest)
            .map(Some)
            .ok_or_else(|| LookupError::Failed("malformed chunked body".into()));
    }
    match content_length(r.headers) {
        Some(len) => rest
            .get(..len)
            .map(|b| Some(b.to_vec()))
            .ok_or_else(|| LookupError::Failed("the body is shorter than announced".into())),
        None => Ok(Some(rest.to_vec())),
    }
}

/// Looks `address` up; what the key file holds, unvalidated. A 404, or no host for
/// either method, is an empty answer.
pub fn lookup(
    cfg: &WkdConfig,
    tls: &Arc<rustls::ClientConfig>,
    address: &str,
) -> Result<Candidates, LookupError> {
    let Some([advanced, direct]) = urls(address) else {
        return Ok(Candidates::default());
    };
    let deadline = Deadline(
        Instant::now()
            .checked_add(cfg.timeout)
            .unwrap_or_else(Instant::now),
    );
    let raw = match get(cfg, tls, &advanced.0, &advanced.1, &deadline) {
        Ok(raw) => raw,
        // §3.1: the advanced method's host does not exist: the direct method.
        Err(Reach::Unreachable(why)) => {
            tracing::debug!(why = %crate::sanitize::log_text(&why), "WKD: advanced method unavailable");
            match get(cfg, tls, &direct.0, &direct.1, &deadline) {
                Ok(raw) => raw,
                Err(Reach::Unreachable(why)) => return Err(LookupError::Failed(why)),
                Err(Reach::Error(e)) => return Err(e),
            }
        }
        Err(Reach::Error(e)) => return Err(e),
    };
    let mut found = Candidates::default();
    if let Some(b) = body(&raw)? {
        found.entries = 1;
        if b.len() > cfg.max_bytes {
            return Err(LookupError::Failed("the key file is too large".into()));
        }
        match super::parse_openpgp(&b) {
            Some(certs) => found.openpgp = certs,
            None => found.skipped = 1,
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn the_drafts_example_hash() {
        // draft-koch-openpgp-webkey-service §3.1: Joe.Doe@Example.ORG.
        let [adv, direct] = urls("Joe.Doe@Example.ORG").unwrap();
        assert_eq!(adv.0, "openpgpkey.example.org");
        assert_eq!(
            adv.1,
            "/.well-known/openpgpkey/example.org/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
        assert_eq!(direct.0, "example.org");
        assert_eq!(
            direct.1,
            "/.well-known/openpgpkey/hu/iy9q119eutrkn8s1mk4r39qejnbu3n5q?l=Joe.Doe"
        );
        assert!(urls("a b@example.org").unwrap()[0].1.ends_with("?l=a%20b"));
        assert!(urls("x@[127.0.0.1]").is_none());
        assert!(urls("x@exa\r\nmple.org").is_none());
    }

    #[test]
    fn responses_are_framed() {
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap(),
            Some(b"abc".to_vec())
        );
        assert_eq!(
            body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\n\r\n")
                .unwrap(),
            Some(b"abc".to_vec())
        );
        assert_eq!(body(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap(), None);
        assert!(body(b"HTTP/1.1 500 Oops\r\n\r\n").is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").is_err());
        assert!(body(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
        assert!(body(b"garbage").is_err());
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"));
        assert!(!complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na"));
    }
}
