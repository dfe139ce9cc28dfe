#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The callout service against servers started inside the test: a scripted HTTP server, a
//! scripted ICAP server (RESPMOD only), and a real one, Debian's c-icap with its `echo`
//! service.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use reseal::adapt::callout::{CalloutConfig, CalloutError, CalloutOutcome, call};

const MESSAGE: &[u8] =
    b"From: a@example.org\r\nTo: b@example.net\r\nSubject: hello\r\n\r\nHello there.\r\n";

fn cfg(url: String) -> CalloutConfig {
    CalloutConfig {
        url,
        timeout: Duration::from_secs(10),
        max_response: 1 << 20,
    }
}

fn modified_message() -> Vec<u8> {
    let mut m = MESSAGE.to_vec();
    m.extend_from_slice(b"-- \r\nscanned by the test server\r\n");
    m
}

// ---------------------------------------------------------------------------------------
// A scripted server: one connection, one handler

/// Accepts one connection on 127.0.0.1 and runs `handler` on it; the handle returns what
/// the handler returned (usually the request it read).
fn serve<T: Send + 'static>(
    handler: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (u16, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        handler(stream)
    });
    (port, handle)
}

/// Reads header lines up to the blank one; returns them joined with CRLF.
fn read_head(r: &mut impl BufRead) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            return head;
        }
        head.push_str(&line);
    }
}

fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn read_chunked(r: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let size = line.split(';').next().unwrap().trim();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            let mut end = String::new();
            r.read_line(&mut end).unwrap();
            assert_eq!(end, "\r\n");
            return body;
        }
        let mut chunk = vec![0; size];
        r.read_exact(&mut chunk).unwrap();
        body.extend_from_slice(&chunk);
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf).unwrap();
        assert_eq!(&crlf, b"\r\n");
    }
}

/// What the HTTP server saw.
struct HttpRequest {
    head: String,
    body: Vec<u8>,
}

/// An HTTP server that reads one POST and answers with what `respond` makes of its body.
fn http_server(
    respond: impl FnOnce(&[u8]) -> Vec<u8> + Send + 'static,
) -> (String, JoinHandle<HttpRequest>) {
    let (port, handle) = serve(move |stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let head = read_head(&mut r);
        let len: usize = field(&head, "Content-Length").unwrap().parse().unwrap();
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        let mut w = stream;
        // The client may have given up (timeout tests); that is not this side's failure.
        let _ = w.write_all(&respond(&body));
        let _ = w.flush();
        HttpRequest { head, body }
    });
    (format!("http://127.0.0.1:{port}/scan"), handle)
}

/// Reads one POST then sends `bytes` verbatim and closes.
fn http_raw(bytes: &'static [u8]) -> (String, JoinHandle<HttpRequest>) {
    http_server(move |_| bytes.to_vec())
}

// ---------------------------------------------------------------------------------------
// HTTP POST

#[test]
fn http_204_is_unmodified() {
    let (url, server) = http_raw(b"HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    server.join().unwrap();
}

#[test]
fn http_request_is_a_post_of_the_message() {
    let (url, server) = http_raw(b"HTTP/1.1 204 No Content\r\n\r\n");
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    call(&cfg(url), MESSAGE).unwrap();
    let req = server.join().unwrap();
    assert!(
        req.head.starts_with("POST /scan HTTP/1.1\r\n"),
        "{}",
        req.head
    );
    assert_eq!(
        field(&req.head, "Host"),
        Some(format!("127.0.0.1:{port}").as_str())
    );
    assert_eq!(field(&req.head, "Content-Type"), Some("message/rfc822"));
    assert_eq!(
        field(&req.head, "Content-Length"),
        Some(MESSAGE.len().to_string().as_str())
    );
    assert_eq!(field(&req.head, "Connection"), Some("close"));
    assert_eq!(req.body, MESSAGE);
}

#[test]
fn http_200_with_appended_line_is_modified() {
    let (url, server) = http_server(|body| {
        let mut new = body.to_vec();
        new.extend_from_slice(b"-- \r\nscanned by the test server\r\n");
        let mut out = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
            new.len()
        )
        .into_bytes();
        out.extend_from_slice(&new);
        out
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(modified_message())
    );
    server.join().unwrap();
}

#[test]
fn http_200_with_identical_body_is_unmodified() {
    let (url, server) = http_server(|body| {
        let mut out =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        out.extend_from_slice(body);
        out
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    server.join().unwrap();
}

#[test]
fn http_200_chunked_body_is_decoded() {
    let (url, server) = http_server(|_| {
        let new = modified_message();
        let (a, b) = new.split_at(30);
        let mut out =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        out.extend_from_slice(format!("{:X};ext=1\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(format!("\r\n{:x}\r\n", b.len()).as_bytes());
        out.extend_from_slice(b);
        out.extend_from_slice(b"\r\n0\r\nX-Trailer: t\r\n\r\n");
        out
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(modified_message())
    );
    server.join().unwrap();
}

#[test]
fn http_200_body_read_to_close() {
    let (url, server) = http_server(|_| {
        let mut out = b"HTTP/1.0 200 OK\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
        out.extend_from_slice(&modified_message());
        out
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(modified_message())
    );
    server.join().unwrap();
}

#[test]
fn http_403_is_blocked_with_the_first_body_line() {
    let (url, server) = http_raw(
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\nblocked by policy\r\nrule 7 matched (DLP)\r\n",
    );
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("blocked by policy".into())
    );
    server.join().unwrap();
}

#[test]
fn http_451_without_body_is_blocked_with_the_status_text() {
    let (url, server) =
        http_raw(b"HTTP/1.1 451 Unavailable For Legal Reasons\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("Unavailable For Legal Reasons".into())
    );
    server.join().unwrap();
}

#[test]
fn http_other_statuses_are_protocol_errors() {
    for reply in [
        &b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    ] {
        let (url, server) = http_raw(reply);
        let err = call(&cfg(url), MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
        server.join().unwrap();
    }
}

#[test]
fn http_200_with_empty_body_is_a_protocol_error() {
    let (url, server) = http_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let err = call(&cfg(url), MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
    server.join().unwrap();
}

#[test]
fn http_slow_server_times_out() {
    let (url, _server) = http_server(|_| {
        thread::sleep(Duration::from_secs(3));
        b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()
    });
    let mut c = cfg(url);
    c.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = call(&c, MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Timeout), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// A server that keeps sending one byte at a time must not stretch the exchange past the
/// deadline: the timeout is for the whole exchange, not per read.
#[test]
fn http_dripping_server_hits_the_overall_deadline() {
    let (port, _server) = serve(|stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        read_head(&mut r);
        let mut w = stream;
        let _ = w.write_all(b"HTTP/1.1 200 OK\r\nX-Drip: ");
        for _ in 0..60 {
            if w.write_all(b"a").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
    });
    let mut c = cfg(format!("http://127.0.0.1:{port}/"));
    c.timeout = Duration::from_millis(500);
    let started = Instant::now();
    let err = call(&c, MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Timeout), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn http_connection_closed_immediately_is_a_protocol_error() {
    let (port, server) = serve(|stream| {
        stream.shutdown(Shutdown::Both).unwrap();
    });
    let err = call(&cfg(format!("http://127.0.0.1:{port}/")), MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
    server.join().unwrap();
}

#[test]
fn http_garbage_is_a_protocol_error() {
    for reply in [
        &b"SSH-2.0-OpenSSH_9.2\r\n\r\n"[..],
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxx",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ntruncated",
        b"\x00\x01\x02\xff\xfe",
    ] {
        let (url, server) = http_raw(reply);
        let err = call(&cfg(url), MESSAGE).unwrap_err();
        assert!(
            matches!(err, CalloutError::Protocol(_)),
            "{:?} gave {err:?}",
            String::from_utf8_lossy(reply)
        );
        server.join().unwrap();
    }
}

#[test]
fn http_oversized_replies_are_refused() {
    let big = vec![b'a'; 100 * 1024];
    let header_line = [b"HTTP/1.1 200 OK\r\nX-Long: ".as_slice(), &big, b"\r\n\r\n"].concat();
    let many_fields = [
        b"HTTP/1.1 200 OK\r\n".as_slice(),
        &b"X-F: v\r\n".repeat(1000),
        b"\r\n",
    ]
    .concat();
    let long_body = [b"HTTP/1.1 200 OK\r\n\r\n".as_slice(), &big].concat();
    let long_length = b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n".to_vec();
    let long_chunk =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFF\r\n".to_vec();
    for reply in [header_line, many_fields, long_body, long_length, long_chunk] {
        let (url, _server) = http_server(move |_| reply);
        let mut c = cfg(url);
        c.max_response = 1024;
        let err = call(&c, MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
    }
}

#[test]
fn refused_connection_is_a_connect_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("icap://127.0.0.1:{port}/echo"),
    ] {
        let err = call(&cfg(url), MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::Connect(_)), "{err:?}");
    }
}

#[test]
fn host_names_are_resolved() {
    let (url, server) = http_raw(b"HTTP/1.1 204 No Content\r\n\r\n");
    let url = url.replace("127.0.0.1", "localhost");
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    let req = server.join().unwrap();
    assert!(field(&req.head, "Host").unwrap().starts_with("localhost:"));
}

#[test]
fn ipv6_literal_urls_connect() {
    // No IPv6 loopback is a failure, never a silent pass: the test names a behaviour it
    // could not check otherwise.
    let listener = TcpListener::bind("[::1]:0").unwrap_or_else(|e| {
        panic!(
            "no IPv6 loopback on this machine ([::1]: {e}): IPv6 literal URLs cannot be \
             tested; give lo its ::1 address (ip -6 addr add ::1/128 dev lo)"
        )
    });
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let head = read_head(&mut r);
        let mut w = stream;
        w.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        head
    });
    let url = format!("http://[::1]:{port}/v6");
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    let head = server.join().unwrap();
    assert_eq!(field(&head, "Host"), Some(format!("[::1]:{port}").as_str()));
}

#[test]
fn bad_urls_are_rejected_before_connecting() {
    for url in [
        "https://127.0.0.1/scan",
        "icaps://127.0.0.1/echo",
        "smtp://127.0.0.1/",
        "127.0.0.1:1344/echo",
        "icap://127.0.0.1:99999/echo",
        "http:///nohost",
        "http://user:pw@127.0.0.1/scan",
    ] {
        let err = call(&cfg(url.into()), MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::BadUrl(_)), "{url}: {err:?}");
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------
// ICAP RESPMOD (RFC 3507)

/// What the ICAP server saw: the ICAP head, the encapsulated sections, the de-chunked body.
struct IcapRequest {
    head: String,
    req_hdr: String,
    res_hdr: String,
    body: Vec<u8>,
}

/// An ICAP server that reads one RESPMOD and answers with what `respond` makes of it.
fn icap_server(
    respond: impl FnOnce(&IcapRequest) -> Vec<u8> + Send + 'static,
) -> (String, JoinHandle<IcapRequest>) {
    let (port, handle) = serve(move |stream| {
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let head = read_head(&mut r);
        let enc = field(&head, "Encapsulated").unwrap().to_owned();
        let offsets: Vec<(String, usize)> = enc
            .split(',')
            .map(|p| {
                let (n, o) = p.trim().split_once('=').unwrap();
                (n.to_owned(), o.parse().unwrap())
            })
            .collect();
        let names: Vec<&str> = offsets.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["req-hdr", "res-hdr", "res-body"], "{head}");
        let mut req_hdr = vec![0; offsets[1].1 - offsets[0].1];
        r.read_exact(&mut req_hdr).unwrap();
        let mut res_hdr = vec![0; offsets[2].1 - offsets[1].1];
        r.read_exact(&mut res_hdr).unwrap();
        let body = read_chunked(&mut r);
        let req = IcapRequest {
            head,
            req_hdr: String::from_utf8(req_hdr).unwrap(),
            res_hdr: String::from_utf8(res_hdr).unwrap(),
            body,
        };
        let mut w = stream;
        let _ = w.write_all(&respond(&req));
        let _ = w.flush();
        req
    });
    (format!("icap://127.0.0.1:{port}/respmod"), handle)
}

fn icap_raw(bytes: &'static [u8]) -> (String, JoinHandle<IcapRequest>) {
    icap_server(move |_| bytes.to_vec())
}

/// An ICAP 200 reply: the given encapsulated HTTP head (if any) and chunked body pieces,
/// each chunk with its size in upper-case hex, the last one closed with `0; ieof`.
fn icap_200(http_head: Option<&str>, chunks: &[&[u8]], extra_icap_fields: &str) -> Vec<u8> {
    let enc = match (http_head, chunks.is_empty()) {
        (Some(h), false) => format!("res-hdr=0, res-body={}", h.len()),
        (Some(h), true) => format!("res-hdr=0, null-body={}", h.len()),
        (None, false) => "res-body=0".to_owned(),
        (None, true) => "null-body=0".to_owned(),
    };
    let mut out = format!(
        "ICAP/1.0 200 OK\r\nISTag: \"test-1\"\r\n{extra_icap_fields}Encapsulated: {enc}\r\n\r\n{}",
        http_head.unwrap_or("")
    )
    .into_bytes();
    if !chunks.is_empty() {
        for chunk in chunks {
            out.extend_from_slice(format!("{:X}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0; ieof\r\n\r\n");
    }
    out
}

#[test]
fn icap_204_is_unmodified_and_the_request_is_well_formed() {
    let (url, server) = icap_raw(b"ICAP/1.0 204 No Content\r\nISTag: \"x\"\r\n\r\n");
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    let req = server.join().unwrap();
    assert!(
        req.head.starts_with(&format!(
            "RESPMOD icap://127.0.0.1:{port}/respmod ICAP/1.0\r\n"
        )),
        "{}",
        req.head
    );
    assert_eq!(field(&req.head, "Allow"), Some("204"));
    assert!(field(&req.head, "Host").is_some());
    assert!(field(&req.head, "Preview").is_none());
    assert!(req.req_hdr.starts_with("GET "), "{}", req.req_hdr);
    assert!(req.req_hdr.ends_with("\r\n\r\n"));
    assert!(
        req.res_hdr.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        req.res_hdr
    );
    assert!(req.res_hdr.ends_with("\r\n\r\n"));
    assert_eq!(field(&req.res_hdr, "Content-Type"), Some("message/rfc822"));
    assert_eq!(
        field(&req.res_hdr, "Content-Length"),
        Some(MESSAGE.len().to_string().as_str())
    );
    assert_eq!(req.body, MESSAGE);
}

#[test]
fn icap_large_message_goes_out_in_several_chunks() {
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| {
            if i % 78 == 77 {
                b'\n'
            } else {
                b'a' + (i % 26) as u8
            }
        })
        .collect();
    let (url, server) = icap_raw(b"ICAP/1.0 204 No Content\r\n\r\n");
    assert_eq!(call(&cfg(url), &big).unwrap(), CalloutOutcome::Unmodified);
    assert_eq!(server.join().unwrap().body, big);
}

#[test]
fn icap_200_with_modified_body_is_modified() {
    let (url, server) = icap_server(|req| {
        let mut new = req.body.clone();
        new.extend_from_slice(b"-- \r\nscanned by the test server\r\n");
        // Upper-case hex sizes (0x1F, 0x2A, …) and a `0; ieof` last chunk.
        let pieces: Vec<&[u8]> = new.chunks(0x1F).collect();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: message/rfc822\r\nContent-Length: {}\r\n\r\n",
            new.len()
        );
        icap_200(Some(&head), &pieces, "")
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(modified_message())
    );
    server.join().unwrap();
}

#[test]
fn icap_chunk_extensions_and_hex_case_are_decoded() {
    let new = modified_message();
    let (a, rest) = new.split_at(0x2A);
    let (b, c) = rest.split_at(10);
    let mut reply = b"ICAP/1.0 100 Continue\r\n\r\n".to_vec();
    reply.extend_from_slice(
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    );
    reply.extend_from_slice(b"2A; name=value\r\n");
    reply.extend_from_slice(a);
    reply.extend_from_slice(b"\r\na\r\n");
    reply.extend_from_slice(b);
    reply.extend_from_slice(format!("\r\n{:x} ; foo\r\n", c.len()).as_bytes());
    reply.extend_from_slice(c);
    reply.extend_from_slice(b"\r\n0; ieof\r\n\r\n");
    let reply: &'static [u8] = reply.leak();
    let (url, server) = icap_raw(reply);
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(new)
    );
    server.join().unwrap();
}

#[test]
fn icap_200_without_response_header_is_modified() {
    let (url, server) = icap_server(|_| icap_200(None, &[&modified_message()], ""));
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Modified(modified_message())
    );
    server.join().unwrap();
}

#[test]
fn icap_200_with_identical_body_is_unmodified() {
    let (url, server) = icap_server(|req| {
        let body = req.body.clone();
        icap_200(Some("HTTP/1.1 200 OK\r\n\r\n"), &[&body], "")
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Unmodified
    );
    server.join().unwrap();
}

#[test]
fn icap_encapsulated_403_page_is_blocked() {
    let (url, server) = icap_server(|_| {
        icap_200(
            Some("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n"),
            &[b"blocked by policy\r\n"],
            "",
        )
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("blocked by policy".into())
    );
    server.join().unwrap();
}

#[test]
fn icap_encapsulated_403_takes_its_reason_from_the_virus_header() {
    let (url, server) = icap_server(|_| {
        icap_200(
            Some("HTTP/1.0 403 Forbidden\r\nContent-Type: text/html\r\n\r\n"),
            &[b"<html><body>Virus found</body></html>"],
            "X-Infection-Found: Type=0; Resolution=2; Threat=Eicar-Test-Signature;\r\n",
        )
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("Type=0; Resolution=2; Threat=Eicar-Test-Signature;".into())
    );
    server.join().unwrap();
}

#[test]
fn icap_encapsulated_451_without_body_is_blocked() {
    let (url, server) = icap_server(|_| {
        icap_200(
            Some("HTTP/1.1 451 Unavailable For Legal Reasons\r\n\r\n"),
            &[],
            "",
        )
    });
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("Unavailable For Legal Reasons".into())
    );
    server.join().unwrap();
}

#[test]
fn icap_error_statuses_are_protocol_errors() {
    for reply in [
        &b"ICAP/1.0 500 Server Error\r\nEncapsulated: null-body=0\r\n\r\n"[..],
        b"ICAP/1.0 404 ICAP Service not found\r\n\r\n",
        b"ICAP/1.0 403 Forbidden\r\n\r\n",
        b"ICAP/1.0 503 Service overloaded\r\nEncapsulated: null-body=0\r\n\r\n",
    ] {
        let (url, server) = icap_raw(reply);
        let err = call(&cfg(url), MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
        server.join().unwrap();
    }
}

#[test]
fn icap_error_status_with_an_encapsulated_403_is_blocked() {
    let (url, server) = icap_raw(
        b"ICAP/1.0 403 Forbidden\r\nEncapsulated: res-hdr=0, res-body=26\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n11\r\nblocked by policy\r\n0\r\n\r\n",
    );
    assert_eq!(
        call(&cfg(url), MESSAGE).unwrap(),
        CalloutOutcome::Blocked("blocked by policy".into())
    );
    server.join().unwrap();
}

#[test]
fn icap_malformed_replies_are_protocol_errors() {
    for reply in [
        // Not ICAP at all.
        &b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
        b"garbage garbage garbage\r\n\r\n",
        b"\xff\xfe\x00\x00\r\n\r\n",
        // 200 without Encapsulated.
        b"ICAP/1.0 200 OK\r\n\r\n",
        // Offsets that do not match the header section.
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=10\r\n\r\nHTTP/1.1 200 OK\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        // Offsets decreasing / unknown entity / body not last.
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=20, res-body=0\r\n\r\n",
        b"ICAP/1.0 200 OK\r\nEncapsulated: xyz=0\r\n\r\n",
        // Bad chunk size, missing CRLF after data, truncated chunk, no last chunk.
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n3\r\nhelloo\r\n0\r\n\r\n",
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n10\r\nshort",
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n5\r\nhello\r\n",
        // Encapsulated status other than 200/403/451.
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, null-body=38\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n",
        // 200 with no body at all.
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, null-body=19\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
        // A request body in a RESPMOD reply.
        b"ICAP/1.0 200 OK\r\nEncapsulated: req-body=0\r\n\r\n0\r\n\r\n",
    ] {
        let (url, server) = icap_raw(reply);
        let err = call(&cfg(url), MESSAGE).unwrap_err();
        assert!(
            matches!(err, CalloutError::Protocol(_)),
            "{:?} gave {err:?}",
            String::from_utf8_lossy(reply)
        );
        server.join().unwrap();
    }
}

#[test]
fn icap_chunks_beyond_max_response_are_refused() {
    for reply in [
        &b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\nFFFFFFFFFFFFFFFF\r\n"[..],
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n400\r\n",
        b"ICAP/1.0 200 OK\r\nEncapsulated: res-body=0\r\n\r\n200\r\n",
    ] {
        let (url, _server) = icap_raw(reply);
        let mut c = cfg(url);
        c.max_response = 0x1FF;
        let err = call(&c, MESSAGE).unwrap_err();
        assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
    }
}

#[test]
fn icap_slow_server_times_out() {
    let (url, _server) = icap_server(|_| {
        thread::sleep(Duration::from_secs(3));
        b"ICAP/1.0 204 No Content\r\n\r\n".to_vec()
    });
    let mut c = cfg(url);
    c.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let err = call(&c, MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Timeout), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn icap_connection_closed_immediately_is_a_protocol_error() {
    let (port, server) = serve(drop);
    let err = call(&cfg(format!("icap://127.0.0.1:{port}/echo")), MESSAGE).unwrap_err();
    assert!(matches!(err, CalloutError::Protocol(_)), "{err:?}");
    server.join().unwrap();
}

// ---------------------------------------------------------------------------------------
// A real ICAP server: Debian's c-icap (package `c-icap`, installed by scripts/setup.sh)

/// Where Debian's c-icap keeps its modules (`srv_echo.so`): `/usr/lib/<multiarch>/c_icap`,
/// as `dpkg -L c-icap` lists it.
const C_ICAP_MODULE_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/c_icap",
    "/usr/lib/aarch64-linux-gnu/c_icap",
    "/usr/lib/c_icap",
];

fn c_icap_binary() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("c-icap"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "c-icap is not installed (no `c-icap` in PATH): run scripts/setup.sh, which installs \
             Debian's c-icap package, then run the tests again"
        )
    })
}

fn c_icap_module_dir() -> PathBuf {
    let known = C_ICAP_MODULE_DIRS.iter().map(PathBuf::from);
    // Other Debian architectures: /usr/lib/<triplet>/c_icap.
    let scanned = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("c_icap"));
    known
        .chain(scanned)
        .find(|dir| dir.join("srv_echo.so").is_file())
        .unwrap_or_else(|| {
            panic!(
                "c-icap's echo service (srv_echo.so) not found under {C_ICAP_MODULE_DIRS:?}: \
                 run scripts/setup.sh to install Debian's c-icap package"
            )
        })
}

/// A private c-icap: own config, port, pid file, logs and temp dir. Stopped on drop.
struct CIcap {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl CIcap {
    fn start() -> CIcap {
        let binary = c_icap_binary();
        let modules = c_icap_module_dir();
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let config = c_icap_config(dir.path(), port, &modules);
        std::fs::write(dir.path().join("c-icap.conf"), config).unwrap();
        let out = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let err = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(binary)
                .arg("-N")
                .arg("-D")
                .arg("-f")
                .arg(dir.path().join("c-icap.conf"))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                // Its own process group, so that the drop guard stops the children too.
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut server = CIcap { child, port, dir };
        server.wait_until_listening();
        server
    }

    fn wait_until_listening(&mut self) {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("c-icap exited early ({status}):\n{}", self.logs());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "c-icap did not listen on port {} in time:\n{}",
            self.port,
            self.logs()
        );
    }

    fn logs(&self) -> String {
        ["stdout.log", "stderr.log", "server.log", "access.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
                format!("--- {name}\n{text}")
            })
            .collect()
    }

    fn url(&self, service: &str) -> String {
        format!("icap://127.0.0.1:{}/{service}", self.port)
    }
}

impl Drop for CIcap {
    fn drop(&mut self) {
        // SIGTERM to the group: c-icap's main process then stops its children cleanly
        // (rustix, not an external `kill`: minimal images lack procps).
        let group = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(g) = group {
            let _ = rustix::process::kill_process_group(g, rustix::process::Signal::TERM);
        }
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if let Some(g) = group {
            let _ = rustix::process::kill_process_group(g, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The private configuration: everything in `dir`, listening on 127.0.0.1 only, running
/// as the invoking user (no `User`/`Group`), with the built-in `echo` service.
fn c_icap_config(dir: &Path, port: u16, modules: &Path) -> String {
    let d = dir.display();
    let m = modules.display();
    format!(
        "PidFile {d}/c-icap.pid
CommandsSocket {d}/c-icap.ctl
Timeout 30
MaxKeepAliveRequests 100
KeepAliveTimeout 30
StartServers 1
MaxServers 1
MinSpareThreads 2
MaxSpareThreads 4
ThreadsPerChild 4
MaxRequestsPerChild 0
Port 127.0.0.1:{port}
TmpDir {d}
MaxMemObject 131072
DebugLevel 1
Pipelining on
SupportBuggyClients off
ModulesDir {m}
ServicesDir {m}
ServerLog {d}/server.log
AccessLog {d}/access.log
Service echo srv_echo.so
"
    )
}

#[test]
fn c_icap_echo_returns_the_message_unchanged() {
    let server = CIcap::start();
    let large: Vec<u8> = [
        b"From: a@example.org\r\nSubject: large\r\n\r\n".as_slice(),
        &b"0123456789 abcdefghijklmnopqrstuvwxyz \xc3\xa9\xc3\xa0 ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
            .repeat(5000),
    ]
    .concat();
    for message in [MESSAGE, large.as_slice()] {
        let outcome = call(&cfg(server.url("echo")), message)
            .unwrap_or_else(|e| panic!("echo call failed: {e}\n{}", server.logs()));
        match outcome {
            CalloutOutcome::Unmodified => {}
            CalloutOutcome::Modified(bytes) => {
                panic!("echo changed the message ({} bytes back)", bytes.len())
            }
            CalloutOutcome::Blocked(reason) => panic!("echo blocked the message: {reason}"),
        }
    }
    // c-icap may write its access log just after answering: give it a moment.
    let until = Instant::now() + Duration::from_secs(5);
    let log = server.dir.path().join("access.log");
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("RESPMOD echo")
    {
        assert!(
            Instant::now() < until,
            "c-icap logged no RESPMOD:\n{}",
            server.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn c_icap_unknown_service_is_a_protocol_error() {
    let server = CIcap::start();
    let err = call(&cfg(server.url("no-such-service")), MESSAGE).unwrap_err();
    assert!(
        matches!(err, CalloutError::Protocol(_)),
        "{err:?}\n{}",
        server.logs()
    );
}
