//! The callout URL: `icap://host[:port]/service` (RFC 3507 §4.2) or
//! `http://host[:port]/path`, parsed by the `url` crate (WHATWG URL), then narrowed to
//! what the callout speaks: no credentials, no fragment, a host we can connect to, a
//! path fit to stand verbatim in a request line.

use std::net::{IpAddr, Ipv4Addr};

use super::{CalloutError, sanitize};

/// The ICAP port when the URL names none (RFC 3507 §4.2).
const ICAP_DEFAULT_PORT: u16 = 1344;
/// The HTTP port when the URL names none.
const HTTP_DEFAULT_PORT: u16 = 80;
/// The longest URL accepted (it goes into a request line, bounded by the server's
/// `MAX_LINE` on the other side).
const MAX_URL: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scheme {
    Icap,
    Http,
}

impl Scheme {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Scheme::Icap => "icap",
            Scheme::Http => "http",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Icap => ICAP_DEFAULT_PORT,
            Scheme::Http => HTTP_DEFAULT_PORT,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Host {
    Ip(IpAddr),
    Name(String),
}

impl std::fmt::Display for Host {
    /// The host as it stands in a URL or a `Host` field: IPv6 literals in brackets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// A checked callout URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) scheme: Scheme,
    pub(super) host: Host,
    pub(super) port: u16,
    /// Starts with `/`; printable ASCII without spaces; may carry a query.
    pub(super) path: String,
}

impl Target {
    /// `host:port`, always with the port (RFC 3507 §4.2 request line).
    pub(super) fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The `Host` field: the port only when it is not the scheme's default.
    pub(super) fn host_field(&self) -> String {
        if self.port == self.scheme.default_port() {
            self.host.to_string()
        } else {
            self.authority()
        }
    }
}

/// Parses `icap://host[:port]/service` or `http://host[:port]/path`.
pub(super) fn parse_url(text: &str) -> Result<Target, CalloutError> {
    let bad = || CalloutError::BadUrl(shown_url(text));
    // The WHATWG parser silently drops tabs and line breaks and percent-encodes spaces;
    // a configured URL with any of them is a mistake, so it is refused before parsing.
    if text.len() > MAX_URL || !text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return Err(bad());
    }
    // For `http` it also reads `http:h`, `http:///h` and `http:\\h` as `http://h/`;
    // a configured URL must spell out `scheme://host`.
    if !text
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'))
    {
        return Err(bad());
    }
    let url = ::url::Url::parse(text).map_err(|_| bad())?;
    let scheme = match url.scheme() {
        "icap" => Scheme::Icap,
        "http" => Scheme::Http,
        _ => return Err(bad()),
    };
    // Credentials in the URL are not supported, and must not end up in an error or a log.
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(bad());
    }
    // `icap` is not a special scheme to the URL standard: its host is "opaque" (kept as
    // written, not parsed as IPv4, not lower-cased), so both schemes go through one check.
    let host = match url.host().ok_or_else(bad)? {
        ::url::Host::Ipv4(ip) => Host::Ip(IpAddr::V4(ip)),
        ::url::Host::Ipv6(ip) => Host::Ip(IpAddr::V6(ip)),
        ::url::Host::Domain(name) => parse_host_name(name).ok_or_else(bad)?,
    };
    let port = match url.port() {
        None => scheme.default_port(),
        Some(0) => return Err(bad()),
        Some(port) => port,
    };
    let mut path = match url.path() {
        "" => "/".to_owned(),
        p if p.starts_with('/') => p.to_owned(),
        _ => return Err(bad()),
    };
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    // No spaces or controls: the path goes verbatim into the request line.
    if !path.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
        return Err(bad());
    }
    Ok(Target {
        scheme,
        host,
        port,
        path,
    })
}

fn parse_host_name(name: &str) -> Option<Host> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some(Host::Ip(IpAddr::V4(ip)));
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    ok.then(|| Host::Name(name.to_ascii_lowercase()))
}

/// The URL as it may appear in an error: no user info, no query (either may hold a
/// secret), no control characters, bounded. Works on text the parser refused, too.
fn shown_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let url = match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => {
            format!(
                "{scheme}://***@{}",
                url.get(at.saturating_add(1)..).unwrap_or_default()
            )
        }
        _ => url.to_owned(),
    };
    sanitize(url.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn target(url: &str) -> Target {
        parse_url(url).unwrap()
    }

    #[test]
    fn icap_url_defaults_to_port_1344() {
        let t = target("icap://scanner.example/avscan");
        assert_eq!(t.scheme, Scheme::Icap);
        assert_eq!(t.host, Host::Name("scanner.example".into()));
        assert_eq!(t.port, 1344);
        assert_eq!(t.path, "/avscan");
        assert_eq!(t.authority(), "scanner.example:1344");
        assert_eq!(t.host_field(), "scanner.example");
        assert_eq!(
            target("ICAP://10.0.0.7").host,
            Host::Ip("10.0.0.7".parse().unwrap())
        );
        assert_eq!(
            target("icap://Scanner.Example").host,
            Host::Name("scanner.example".into())
        );
    }

    #[test]
    fn http_url_defaults_to_port_80_and_keeps_query() {
        let t = target("HTTP://10.0.0.7/scan?mode=strict");
        assert_eq!(t.scheme, Scheme::Http);
        assert_eq!(t.host, Host::Ip("10.0.0.7".parse().unwrap()));
        assert_eq!(t.port, 80);
        assert_eq!(t.path, "/scan?mode=strict");
        let t = target("http://h:8080");
        assert_eq!((t.port, t.path.as_str()), (8080, "/"));
        assert_eq!(t.host_field(), "h:8080");
        assert_eq!(target("http://h?x=1").path, "/?x=1");
        // An empty port is allowed by RFC 3986 §3.2.3 and means the default.
        assert_eq!(target("icap://h:/svc").port, 1344);
    }

    #[test]
    fn ipv6_literal_urls() {
        let t = target("icap://[::1]:1345/echo");
        assert_eq!(t.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(t.authority(), "[::1]:1345");
        let t = target("http://[2001:db8::2]/p");
        assert_eq!(t.port, 80);
        assert_eq!(t.host_field(), "[2001:db8::2]");
    }

    #[test]
    fn bad_urls_are_rejected() {
        let long = format!("http://h/{}", "a".repeat(MAX_URL));
        for url in [
            "",
            "https://h/p",
            "ftp://h/p",
            "icaps://h/p",
            "icap:/h/p",
            "icap:h/p",
            "icap://",
            "icap:///svc",
            "http:///nohost",
            "http:h/p",
            "http:/h/p",
            "http:\\\\h\\p",
            "http://h\\p",
            "icap://h:0/svc",
            "icap://h:65536/svc",
            "icap://h:12a/svc",
            "icap://h x/svc",
            "icap://h%20x/svc",
            "icap://::1/svc",
            "icap://[::1/svc",
            "icap://[::1]x/svc",
            "icap://[nothost]/svc",
            "http://user:secret@h/p",
            "icap://user@h/p",
            "http://h/p q",
            "http://h/p#frag",
            "http://h/p\r\nX: y",
            "http://h/p\tq",
            "http://h\u{e9}/p",
            long.as_str(),
        ] {
            assert!(
                matches!(parse_url(url), Err(CalloutError::BadUrl(_))),
                "{url:?} accepted"
            );
        }
    }

    #[test]
    fn bad_url_error_hides_credentials_and_query() {
        let err = parse_url("ftp://user:hunter2@h/p?token=s3cret").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
