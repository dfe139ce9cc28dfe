#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Fail closed (docs/architecture.md, "Services"): a service that cannot read a part
//! refuses the message (or does what its `on_failure` says, traced `status=failed`);
//! DLP reads every part a reader can read as text, whatever its charset, encoding or
//! nesting; attachment rules see every name a part gives; `bypassable` defaults to
//! false. Each message goes through `reseal process` from an admitted and from an
//! unadmitted submitter, with a bypass request that must not matter.

mod common;

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use common::*;

const HEAD: &str = OPES_HEAD;

const DLP: &str = "https://gw.example.com/opes/dlp";
const ATT: &str = "https://gw.example.com/opes/attachments";

/// The DLP service: reject, not bypassable.
fn dlp_reject(extra: &str) -> String {
    format!(
        "[[service]]\nid = \"{DLP}\"\nkind = \"dlp\"\npatterns = [\"builtin:card-number\"]\n\
         action = \"reject\"\nbypassable = false\n{extra}\n"
    )
}

const CARD: &str = "4111 1111 1111 1111";

/// A message from alice to bob with `ct_fields` (Content-* lines, CRLF-ended) and
/// `body`, asking to bypass everything.
fn message(ct_fields: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: Alice <alice@example.com>\r\nTo: Bob <bob@example.org>\r\n\
         Subject: figures\r\nDate: Tue, 03 Jun 2025 10:15:00 +0000\r\n\
         Message-ID: <fail-closed@example.com>\r\nOPES-Bypass: *\r\nMIME-Version: 1.0\r\n\
         {ct_fields}\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

/// The configuration with `services`, for an admitted or an unadmitted local caller.
fn config(f: &Fixture, services: &str, admitted: bool) -> std::path::PathBuf {
    f.config(&format!(
        "[admission]\nprocess_admitted = {admitted}\n{HEAD}{services}"
    ))
}

fn process(f: &Fixture, cfg: &Path, msg: &[u8]) -> Output {
    f.process(msg, "alice@example.com", &["bob@example.org"], Some(cfg))
}

/// The reply line on stderr.
fn reply(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Refused by the DLP rule (a policy refusal, 554 5.7.1, exit 77), from an admitted
/// and an unadmitted submitter alike.
fn assert_dlp_refuses(f: &Fixture, msg: &[u8], what: &str) {
    for admitted in [true, false] {
        let cfg = config(f, &dlp_reject(""), admitted);
        let out = process(f, &cfg, msg);
        let r = reply(&out);
        assert_eq!(
            out.status.code(),
            Some(77),
            "{what} (admitted: {admitted}) was not refused: {r}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            r.starts_with("554 5.7.1 ") && r.contains("builtin:card-number"),
            "{what}: {r}"
        );
        assert!(r.contains(&format!("service={DLP}]")), "{what}: {r}");
        assert!(!r.contains("4111"), "{what}: the reply leaks content: {r}");
    }
}

/// Delivered, signed and encrypted to bob; returns what bob reads.
fn delivered(out: &Output, what: &str) -> Vec<u8> {
    ok(out, what);
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap_or_else(|e| panic!("{what}: {e}"));
    openssl_verify(&dec).unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[test]
fn dlp_reads_text_with_an_invalid_byte() {
    let f = Fixture::new();
    let mut body = b"Card ".to_vec();
    body.extend_from_slice(CARD.as_bytes());
    body.extend_from_slice(b" caf\xe9 \xff ok\r\n");
    let msg = message(
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        &body,
    );
    assert_dlp_refuses(&f, &msg, "UTF-8 with invalid bytes");
}

#[test]
fn dlp_reads_text_in_an_unknown_charset() {
    let f = Fixture::new();
    let msg = message(
        "Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 7bit\r\n",
        format!("Card {CARD}\r\n").as_bytes(),
    );
    assert_dlp_refuses(&f, &msg, "charset x-unknown");
}

#[test]
fn dlp_reads_utf16_and_base64_and_quoted_printable() {
    let f = Fixture::new();
    // UTF-16LE, declared: digits are two bytes each.
    let utf16: Vec<u8> = format!("Card {CARD}\r\n")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&utf16);
    let msg = message(
        "Content-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64\r\n",
        format!("{b64}\r\n").as_bytes(),
    );
    assert_dlp_refuses(&f, &msg, "UTF-16LE in base64");
    // The same bytes under a charset that does not say UTF-16.
    let msg = message(
        "Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n",
        format!("{b64}\r\n").as_bytes(),
    );
    assert_dlp_refuses(&f, &msg, "UTF-16LE under an unknown charset");
    // The control: a card number split by a quoted-printable soft line break.
    let msg = message(
        "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        b"Card 4111 1111 11=\r\n11 1111 ok\r\n",
    );
    assert_dlp_refuses(&f, &msg, "quoted-printable split");
}

#[test]
fn dlp_reads_attachments_and_attached_messages() {
    let f = Fixture::new();
    let inner = format!(
        "From: x@example.com\r\nSubject: inner\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        base64::engine::general_purpose::STANDARD.encode(format!("Card {CARD}\r\n"))
    );
    let msg = message(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
             --b1\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n\
             {inner}\r\n--b1--\r\n"
        )
        .as_bytes(),
    );
    assert_dlp_refuses(&f, &msg, "card inside an attached message");
    let msg = message(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
             --b1\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"cards.csv\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            base64::engine::general_purpose::STANDARD.encode(format!("name,card\r\nA,{CARD}\r\n"))
        )
        .as_bytes(),
    );
    assert_dlp_refuses(&f, &msg, "card in an octet-stream attachment");
}

/// A multipart tree `levels` deep with a card number at the bottom.
fn deep(levels: usize) -> Vec<u8> {
    let mut body = format!("Content-Type: text/plain\r\n\r\nCard {CARD}\r\n");
    for i in 0..levels {
        body = format!(
            "Content-Type: multipart/mixed; boundary=\"d{i}\"\r\n\r\n--d{i}\r\n{body}\r\n--d{i}--\r\n"
        );
    }
    let (ct, rest) = body.split_once("\r\n\r\n").unwrap();
    message(&format!("{ct}\r\n"), rest.as_bytes())
}

#[test]
fn a_tree_too_deep_to_read_is_refused_not_passed() {
    let f = Fixture::new();
    let msg = deep(40);
    for admitted in [true, false] {
        let cfg = config(&f, &dlp_reject(""), admitted);
        let out = process(&f, &cfg, &msg);
        let r = reply(&out);
        assert_eq!(out.status.code(), Some(65), "admitted: {admitted}: {r}");
        assert!(
            r.starts_with("554 5.6.0 The dlp service cannot inspect the message"),
            "{r}"
        );
        assert!(r.contains("nested more than 32"), "{r}");
        assert!(r.contains(&format!("service={DLP}; status=failed]")), "{r}");
    }
    // Within the limit, the same card is found.
    assert_dlp_refuses(&f, &deep(20), "a 20-level tree");
}

#[test]
fn on_failure_quarantine_and_pass_are_explicit_and_traced() {
    let f = Fixture::new();
    let msg = deep(40);
    let cfg = config(&f, &dlp_reject("on_failure = \"quarantine\""), true);
    let out = process(&f, &cfg, &msg);
    assert_eq!(out.status.code(), Some(0), "{}", reply(&out));
    assert!(out.stdout.is_empty(), "a held message is not delivered");
    assert!(
        reply(&out).contains("Held in quarantine"),
        "{}",
        reply(&out)
    );

    let cfg = config(&f, &dlp_reject("on_failure = \"pass\""), true);
    let out = process(&f, &cfg, &msg);
    ok(&out, "on_failure = pass");
    let header = header_block(&out.stdout);
    assert!(
        header.contains(&format!("{DLP}; id=")) && header.contains("status=failed"),
        "OPES-Via does not say the DLP service failed:\n{header}"
    );

    // An unknown value is a configuration error, not a silent default.
    let cfg = config(&f, &dlp_reject("on_failure = \"ignore\""), true);
    let out = process(&f, &cfg, &msg);
    assert_eq!(out.status.code(), Some(78), "{}", reply(&out));
}

#[test]
fn bypassable_defaults_to_false() {
    let f = Fixture::new();
    let svc = format!(
        "[[service]]\nid = \"{DLP}\"\nkind = \"dlp\"\npatterns = [\"builtin:card-number\"]\n\
         action = \"reject\"\n"
    );
    let cfg = config(&f, &svc, true);
    let msg = message(
        "Content-Type: text/plain; charset=us-ascii\r\n",
        format!("Card {CARD}\r\n").as_bytes(),
    );
    let out = process(&f, &cfg, &msg);
    assert_eq!(out.status.code(), Some(77), "{}", reply(&out));
    // An explicit `bypassable = true` is honoured for the admitted caller.
    let cfg = config(&f, &format!("{svc}bypassable = true\n"), true);
    let out = process(&f, &cfg, &msg);
    let header = header_block(&out.stdout);
    ok(&out, "explicitly bypassable");
    assert!(header.contains("status=bypassed"), "{header}");
}

#[test]
fn dlp_does_not_flag_images_and_documents() {
    let f = Fixture::new();
    // A PDF cross-reference table is full of digit runs that look like card numbers;
    // a PNG is binary. Neither is text a rule can read.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    for i in 0..200u32 {
        pdf.extend_from_slice(format!("{:010} 00000 n \n", 9 + i * 137).as_bytes());
    }
    let png = b"\x89PNG\r\n\x1a\n4111111111111111\x00\x00".to_vec();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let msg = message(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\nReport attached.\r\n\
             --b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=r.pdf\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n\
             --b1\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            b64(&pdf),
            b64(&png)
        )
        .as_bytes(),
    );
    let cfg = config(&f, &dlp_reject(""), true);
    let out = process(&f, &cfg, &msg);
    delivered(&out, "PDF and PNG");
}

#[test]
fn redaction_that_cannot_be_written_back_fails() {
    let f = Fixture::new();
    let svc = format!(
        "[[service]]\nid = \"{DLP}\"\nkind = \"dlp\"\npatterns = [\"builtin:card-number\"]\n\
         action = \"redact\"\n"
    );
    let cfg = config(&f, &svc, true);
    let msg = message(
        "Content-Type: text/plain; charset=x-unknown\r\n",
        format!("Card {CARD}\r\n").as_bytes(),
    );
    let out = process(&f, &cfg, &msg);
    let r = reply(&out);
    assert_eq!(out.status.code(), Some(65), "{r}");
    assert!(r.contains("cannot be redacted in place"), "{r}");
    assert!(r.contains("status=failed]"), "{r}");
    // A part it can write back is redacted.
    let msg = message(
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n",
        format!("Card {CARD} caf\u{e9}\r\n").as_bytes(),
    );
    let out = process(&f, &cfg, &msg);
    let content = delivered(&out, "redacted");
    assert!(contains(&content, b"[REDACTED]") && !contains(&content, b"4111"));
}

fn attachments(extra: &str) -> String {
    format!(
        "[[service]]\nid = \"{ATT}\"\nkind = \"attachments\"\nextensions = [\"exe\"]\n\
         action = \"remove\"\n{extra}\n"
    )
}

/// A message with one attachment whose part header is `fields`.
fn with_attachment(fields: &str, body: &str) -> Vec<u8> {
    message(
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        format!(
            "--b1\r\nContent-Type: text/plain\r\n\r\nHi.\r\n--b1\r\n{fields}\r\n{body}\r\n--b1--\r\n"
        )
        .as_bytes(),
    )
}

#[test]
fn attachment_names_in_every_form_count() {
    let f = Fixture::new();
    let cfg = config(&f, &attachments(""), true);
    let cases = [
        (
            "RFC 2231 filename*",
            "Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename*=utf-8''tool.exe\r\n",
        ),
        (
            "RFC 2231 continuation",
            "Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename*0=\"to\"; filename*1=\"ol.exe\"\r\n",
        ),
        (
            "name differs from filename",
            "Content-Type: application/octet-stream; name=\"tool.exe\"\r\n\
             Content-Disposition: attachment; filename=\"tool.txt\"\r\n",
        ),
        (
            "RFC 2047 encoded name",
            "Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"=?utf-8?q?tool=2Eexe?=\"\r\n",
        ),
    ];
    for (what, fields) in cases {
        let out = process(&f, &cfg, &with_attachment(fields, "MZ binary"));
        let content = delivered(&out, what);
        assert!(
            contains(&content, b"was removed by policy") && !contains(&content, b"MZ binary"),
            "{what}: not removed:\n{}",
            String::from_utf8_lossy(&content)
        );
    }
    // Inside an attached message: the attached message goes.
    let inner = "From: x@example.com\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"i1\"\r\n\r\n\
                 --i1\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
                 --i1\r\nContent-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename=\"tool.exe\"\r\n\r\nMZ binary\r\n--i1--\r\n";
    let out = process(
        &f,
        &cfg,
        &with_attachment(
            "Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n",
            inner,
        ),
    );
    let content = delivered(&out, "attached message");
    assert!(
        contains(&content, b"tool.exe in the attached message")
            && !contains(&content, b"MZ binary"),
        "{}",
        String::from_utf8_lossy(&content)
    );
    // An allowed attachment stays byte for byte.
    let fields = "Content-Type: application/octet-stream\r\n\
                  Content-Disposition: attachment; filename=\"notes.txt\"\r\n";
    let out = process(&f, &cfg, &with_attachment(fields, "plain notes"));
    let content = delivered(&out, "allowed");
    assert!(contains(&content, b"plain notes"));
}

#[test]
fn attachments_fail_closed_on_what_they_cannot_read() {
    let f = Fixture::new();
    let cfg = config(&f, &attachments(""), true);
    let out = process(&f, &cfg, &deep(40));
    let r = reply(&out);
    assert_eq!(out.status.code(), Some(65), "{r}");
    assert!(r.contains(&format!("service={ATT}; status=failed]")), "{r}");
    // max_size needs the decoded size: bad base64 is a failure, not size 0.
    let cfg = config(&f, &attachments("max_size = 1000"), true);
    let fields = "Content-Type: application/octet-stream\r\n\
                  Content-Disposition: attachment; filename=\"a.bin\"\r\n\
                  Content-Transfer-Encoding: base64\r\n";
    let out = process(&f, &cfg, &with_attachment(fields, "!!!not base64!!!"));
    let r = reply(&out);
    assert_eq!(out.status.code(), Some(65), "{r}");
    assert!(r.contains("cannot inspect body:2"), "{r}");
}

#[test]
fn a_disclaimer_goes_into_its_own_part_when_the_text_cannot_be_edited() {
    let f = Fixture::new();
    let svc = "[[service]]\nid = \"https://gw.example.com/opes/disclaimer\"\nkind = \"disclaimer\"\n\
               text = \"DISCLAIMER-TEXT\"\n";
    let cfg = config(&f, svc, true);
    let msg = message(
        "Content-Type: text/plain; charset=x-unknown\r\n",
        b"Hello in an odd charset.\r\n",
    );
    let out = process(&f, &cfg, &msg);
    let content = delivered(&out, "disclaimer");
    assert!(
        contains(&content, b"DISCLAIMER-TEXT") && contains(&content, b"multipart/mixed"),
        "{}",
        String::from_utf8_lossy(&content)
    );
    assert!(contains(&content, b"Hello in an odd charset."));
}

#[test]
fn dlp_reads_html_as_a_reader_sees_it() {
    let f = Fixture::new();
    let msg = message(
        "Content-Type: text/html; charset=utf-8\r\n",
        b"<html><body><p>Card 4111&#32;1111<b></b>1111&nbsp;1111</p></body></html>\r\n",
    );
    assert_dlp_refuses(&f, &msg, "card split by entities and tags in HTML");
}
