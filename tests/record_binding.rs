#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Header binding in the modification record (docs/modification-record.md §3.2, §3.4,
//! §4 steps 4 and 8; docs/verify-json.md): `reseal verify` reports every header field the
//! record does not cover. Above the gateway's Received line only trace and authentication
//! fields may stand; anything else (an injected Subject or Reply-To) fails the verdict.
//! The gateway's own Received line must read back as the gateway wrote it, with the
//! record's id and time. A duplicated single-instance field (RFC 5322 §3.6) fails. Text
//! added to the preamble or epilogue of a multipart is caught. A From display name that
//! shows another address, and a Sender or Reply-To other than the signer, are warnings
//! (the "ID" class of Müller et al., "Johnny, you are fired", 2019).

mod common;

use std::path::PathBuf;

use common::*;

const HEAD: &str = OPES_HEAD;

const DISCLAIMER: &str = DISCLAIMER_SERVICE;

fn fixture() -> Fixture {
    Fixture::with_openpgp()
}

/// Runs `input` through the gateway with the disclaimer service, so that the delivered
/// message carries a record. To carol (no certificate) it is signed only; to bob it is
/// signed and encrypted.
fn deliver(f: &Fixture, input: &[u8], rcpt: &str, technology: &str) -> Vec<u8> {
    let cfg = f.config(&format!(
        "{HEAD}\n[policy]\ntechnology = \"{technology}\"\n{DISCLAIMER}"
    ));
    let out = f.process(input, "alice@example.com", &[rcpt], Some(&cfg));
    ok(&out, "process");
    out.stdout
}

fn identity(f: &Fixture) -> PathBuf {
    f.identity()
}

struct Verified {
    code: i32,
    report: serde_json::Value,
}

impl Verified {
    fn problems(&self) -> String {
        self.report["problems"].to_string()
    }

    fn warnings(&self) -> String {
        self.report["warnings"].to_string()
    }
}

fn verify_cmd(f: &Fixture, extra: &[&str]) -> std::process::Command {
    let mut c = reseal();
    c.arg("verify")
        .arg("--trust")
        .arg(v("ca.pem"))
        .arg("--opes-cert")
        .arg(identity(f))
        .args(extra);
    c
}

fn verify(f: &Fixture, msg: &[u8], extra: &[&str]) -> Verified {
    let mut c = verify_cmd(f, extra);
    c.arg("--json");
    let out = run(c, msg);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    Verified {
        code: out.status.code().unwrap_or(-1),
        report,
    }
}

fn bob() -> Vec<String> {
    vec![
        "--key".into(),
        v("bob.key").display().to_string(),
        "--cert".into(),
        v("bob.pem").display().to_string(),
    ]
}

fn pgp_signer() -> Vec<String> {
    vec!["--cert".into(), pv("alice.pub.asc").display().to_string()]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_pass(r: &Verified, what: &str) {
    assert_eq!(r.report["verdict"], "pass", "{what}: {:#}", r.report);
    assert_eq!(r.code, 0, "{what}");
    assert_eq!(
        r.report["header"]["covered"], true,
        "{what}: {:#}",
        r.report
    );
    assert_eq!(r.report["altered_after_gateway"], false, "{what}");
}

/// Altered after the gateway: the verdict fails, while everything the signatures and
/// the record cover still verifies.
fn assert_altered(r: &Verified, what: &str) {
    assert_eq!(r.report["verdict"], "fail", "{what}: {:#}", r.report);
    assert_eq!(r.code, 1, "{what}");
    assert_eq!(
        r.report["altered_after_gateway"], true,
        "{what}: {:#}",
        r.report
    );
    assert_eq!(r.report["outer"]["valid"], true, "{what}");
    assert_eq!(r.report["record"]["valid"], true, "{what}");
    assert_eq!(r.report["header"]["covered"], true, "{what}");
}

fn prepend(msg: &[u8], fields: &str) -> Vec<u8> {
    [fields.as_bytes(), msg].concat()
}

fn text(msg: &[u8]) -> String {
    String::from_utf8(msg.to_vec()).unwrap()
}

/// The gateway's Received field of a delivered message (the first one: `reseal
/// process` puts it on top), from its name to its final CRLF.
fn gateway_received(msg: &str) -> &str {
    assert!(msg.starts_with("Received: by "), "{msg}");
    let end = msg.find("\r\n\t").unwrap();
    let end = end + msg[end..].find(";\r\n\t").unwrap() + 4;
    let end = end + msg[end..].find("\r\n").unwrap() + 2;
    &msg[..end]
}

/// (a) A Subject prepended to a delivered signed message: a second Subject above the
/// gateway's trace. Today's `pass` let a reader show "URGENT: new bank details".
#[test]
fn a_prepended_subject_on_a_signed_message_does_not_pass() {
    let f = fixture();
    let good = deliver(
        &f,
        &read("openssl-signed-plain.eml"),
        "carol@example.com",
        "smime",
    );
    let r = verify(&f, &good, &[]);
    assert_pass(&r, "as delivered");
    assert!(r.report["outer"]["encrypted"] == false && r.report["record"]["valid"] == true);

    let bad = prepend(&good, "Subject: URGENT: new bank details\r\n");
    let r = verify(&f, &bad, &[]);
    assert_ne!(r.report["verdict"], "pass", "{:#}", r.report);
    assert_eq!(r.code, 1);
    // A second Subject is ambiguous as well as added: the verdict fails.
    assert_eq!(r.report["verdict"], "fail", "{:#}", r.report);
    assert_eq!(r.report["altered_after_gateway"], true);
    let p = r.problems();
    assert!(
        p.contains("Subject stands above the gateway's Received line"),
        "{p}"
    );
    assert!(p.contains("Subject appears 2 times"), "{p}");
    assert_eq!(
        r.report["header"]["duplicates"],
        serde_json::json!(["Subject"])
    );
    assert_eq!(
        r.report["header"]["uncovered"][0],
        serde_json::json!({"field": "Subject", "place": "above-trace", "allowed": false})
    );
    // What the record and the signatures cover still verifies.
    assert_eq!(r.report["outer"]["valid"], true);
    assert_eq!(r.report["record"]["valid"], true);

    // A field the message did not have yet: altered after the gateway, not ambiguous.
    let bad = prepend(&good, "Comments: URGENT: new bank details\r\n");
    let r = verify(&f, &bad, &[]);
    assert_altered(&r, "Comments");
    assert!(r.problems().contains("Comments"), "{}", r.problems());
}

/// (b) A Reply-To prepended to a delivered encrypted message: the header of an
/// encrypted message is in the clear, and replies would go to the attacker.
#[test]
fn a_prepended_reply_to_on_an_encrypted_message_is_altered_after_gateway() {
    let f = fixture();
    let good = deliver(
        &f,
        &read("openssl-signed-plain.eml"),
        "bob@example.org",
        "smime",
    );
    let r = verify(&f, &good, &strs(&bob()));
    assert_pass(&r, "as delivered");
    assert_eq!(r.report["outer"]["encrypted"], true);
    assert_eq!(r.report["warnings"], serde_json::json!([]));

    let bad = prepend(&good, "Reply-To: <attacker@evil.test>\r\n");
    let r = verify(&f, &bad, &strs(&bob()));
    assert_altered(&r, "Reply-To");
    assert!(
        r.problems()
            .contains("Reply-To stands above the gateway's Received line"),
        "{}",
        r.problems()
    );
    assert!(
        r.warnings()
            .contains("Reply-To: attacker@evil.test is not the signer alice@example.com"),
        "{}",
        r.warnings()
    );
    assert_eq!(r.report["outer"]["valid"], true);
    assert_eq!(r.report["record"]["valid"], true);
    assert_eq!(r.report["header"]["covered"], true);
}

/// (c) A Date field twice (RFC 5322 §3.6 allows one) fails, whether the gateway passed
/// both on (below its trace, where the record binds them) or one was added above.
#[test]
fn a_duplicated_date_fails() {
    let f = fixture();
    let input = text(&read("openssl-signed-plain.eml")).replacen(
        "Date: Tue, 03 Jun 2025 10:15:00 +0000\r\n",
        "Date: Tue, 03 Jun 2025 10:15:00 +0000\r\nDate: Mon, 01 Jun 2026 09:00:00 +0000\r\n",
        1,
    );
    let delivered = deliver(&f, input.as_bytes(), "carol@example.com", "smime");
    let r = verify(&f, &delivered, &[]);
    assert_eq!(r.report["verdict"], "fail", "{:#}", r.report);
    assert_eq!(
        r.report["altered_after_gateway"], false,
        "passed on by the gateway"
    );
    assert_eq!(r.code, 1);
    assert!(
        r.problems().contains("Date appears 2 times"),
        "{}",
        r.problems()
    );
    assert_eq!(
        r.report["header"]["duplicates"],
        serde_json::json!(["Date"])
    );
    // The record itself binds both: only the ambiguity fails.
    assert_eq!(r.report["record"]["valid"], true);
    assert_eq!(r.report["header"]["covered"], true);

    let good = deliver(
        &f,
        &read("openssl-signed-plain.eml"),
        "carol@example.com",
        "smime",
    );
    assert_pass(&verify(&f, &good, &[]), "as delivered");
    let bad = prepend(&good, "Date: Mon, 01 Jun 2026 09:00:00 +0000\r\n");
    let r = verify(&f, &bad, &[]);
    assert_eq!(r.report["verdict"], "fail", "{:#}", r.report);
    assert_eq!(r.report["altered_after_gateway"], true);
    assert!(
        r.problems().contains("Date appears 2 times"),
        "{}",
        r.problems()
    );
}

/// (d) Trace and authentication fields of later hops (RFC 5321 §4.4, RFC 8601,
/// RFC 6376, RFC 8617, RFC 7208) above the gateway's trace leave the verdict alone.
#[test]
fn trace_and_authentication_fields_above_the_gateway_still_pass() {
    let f = fixture();
    let good = deliver(
        &f,
        &read("openssl-signed-plain.eml"),
        "carol@example.com",
        "smime",
    );
    let above = "Return-Path: <alice@example.com>\r\n\
Delivered-To: carol@example.com\r\n\
X-Original-To: carol@example.com\r\n\
Received: from mx.example.com (mx.example.com [192.0.2.30])\r\n\
\tby mail.example.com (Postfix) with ESMTPS id 4VxQ2n0Z3Kz9sRu\r\n\
\tfor <carol@example.com>; Sat, 28 Nov 2026 02:38:09 +0000\r\n\
Authentication-Results: mail.example.com;\r\n\
\tdkim=pass header.d=example.com; spf=pass smtp.mailfrom=example.com\r\n\
Received-SPF: pass (mail.example.com: domain of example.com designates 192.0.2.30 as permitted sender)\r\n\
ARC-Seal: i=1; a=rsa-sha256; d=example.com; s=arc; cv=none; b=AAAA\r\n\
ARC-Message-Signature: i=1; a=rsa-sha256; d=example.com; s=arc; h=from:to; bh=AAAA; b=AAAA\r\n\
ARC-Authentication-Results: i=1; mail.example.com; dkim=pass\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to:subject;\r\n\
\tbh=AAAA; b=AAAA\r\n";
    let r = verify(&f, &prepend(&good, above), &[]);
    assert_pass(&r, "trace fields above");
    let uncovered = r.report["header"]["uncovered"].as_array().unwrap();
    let names: Vec<&str> = uncovered
        .iter()
        .filter(|u| u["place"] == "above-trace")
        .map(|u| u["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Return-Path",
            "Delivered-To",
            "X-Original-To",
            "Received",
            "Authentication-Results",
            "Received-SPF",
            "ARC-Seal",
            "ARC-Message-Signature",
            "ARC-Authentication-Results",
            "DKIM-Signature"
        ]
    );
    assert!(
        uncovered.iter().all(|u| u["allowed"] == true),
        "{uncovered:?}"
    );
    // The gateway's own line and the wrapping are reported too.
    assert!(
        uncovered
            .iter()
            .any(|u| u["place"] == "trace" && u["field"] == "Received")
    );
    assert!(
        uncovered
            .iter()
            .any(|u| u["place"] == "wrapping" && u["field"] == "Content-Type")
    );
}

/// (e) The gateway's own Received line is bound: it must read exactly as the gateway
/// writes it, once, with the record's id and a date that fits the record's time.
#[test]
fn an_edited_gateway_received_line_fails() {
    let f = fixture();
    let good = text(&deliver(
        &f,
        &read("openssl-signed-plain.eml"),
        "carol@example.com",
        "smime",
    ));
    assert_pass(&verify(&f, good.as_bytes(), &[]), "as delivered");
    let line = gateway_received(&good).to_owned();
    let host = line["Received: by ".len()..line.find(" (Reseal ").unwrap()].to_owned();
    let id = {
        let rest = &line[line.find(") id ").unwrap() + 5..];
        rest[..rest.find(['\r', ';']).unwrap()].to_owned()
    };
    let date = {
        let rest = &line[line.find(";\r\n\t").unwrap() + 4..];
        rest[..rest.find("\r\n").unwrap()].to_owned()
    };
    let week_ago =
        reseal::trace::rfc5322_date(time::OffsetDateTime::now_utc() - time::Duration::days(7));
    let edits: Vec<(&str, String)> = vec![
        (
            "a from clause",
            line.replacen(
                "Received: by ",
                "Received: from bank.example (bank.example [192.0.2.7]) by ",
                1,
            ),
        ),
        (
            "the host",
            line.replacen(&host, "mx.bank.example (verified sender)", 1),
        ),
        (
            "a comment after the id",
            line.replacen(&id, &format!("{id} (sender verified)"), 1),
        ),
        ("the id", line.replacen(&id, "0123456789abcdef01234567", 1)),
        ("the date", line.replacen(&date, &week_ago, 1)),
        (
            "the recipient",
            line.replacen(
                "for <carol@example.com>",
                "for <carol@example.com> (bank)",
                1,
            ),
        ),
        ("a second copy", format!("{line}{line}")),
    ];
    for (what, edited) in edits {
        assert_ne!(edited, line, "{what}");
        let bad = good.replacen(&line, &edited, 1);
        let r = verify(&f, bad.as_bytes(), &[]);
        assert_eq!(r.report["verdict"], "fail", "{what}: {:#}", r.report);
        assert_eq!(r.report["altered_after_gateway"], false, "{what}");
        assert_eq!(r.code, 1, "{what}");
        assert_eq!(r.report["record"]["valid"], false, "{what}");
        assert_eq!(r.report["header"]["covered"], false, "{what}");
        let p = r.problems();
        assert!(
            p.contains("trace:") || p.contains("no Received line of this gateway"),
            "{what}: {p}"
        );
    }
}

/// (f) A From display name that shows another address than the From address is a
/// warning: the verdict stays with the signer, and the human report names the signer's
/// address first. So are a Sender and a Reply-To other than the signer.
#[test]
fn identity_lookalikes_are_warnings_and_the_signer_comes_first() {
    let f = fixture();
    let input = text(&read("openssl-signed-plain.eml")).replacen(
        "From: Alice <alice@example.com>",
        "From: \"ceo@example.com\" <alice@example.com>",
        1,
    );
    let delivered = deliver(&f, input.as_bytes(), "carol@example.com", "smime");
    let r = verify(&f, &delivered, &[]);
    assert_pass(&r, "display name");
    assert_eq!(r.report["outer"]["signer"], "alice@example.com");
    let w = r.report["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].as_str().unwrap().starts_with(
            "From: the display name shows the address ceo@example.com, but the mailbox is alice@example.com"
        ),
        "{w:?}"
    );
    // Human output: the signer's address first, the display name nowhere but in the
    // warning about it.
    let out = run(verify_cmd(&f, &[]), &delivered);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let human = String::from_utf8(out.stdout).unwrap();
    let mut lines = human.lines();
    assert_eq!(lines.next(), Some("signer: alice@example.com"), "{human}");
    assert_eq!(lines.next(), Some("verdict: pass"), "{human}");
    for l in human.lines() {
        assert!(
            !l.contains("ceo@example.com") || l.starts_with("warning: From:"),
            "{l}"
        );
    }

    let input = text(&read("openssl-signed-plain.eml")).replacen(
        "To: Bob <bob@example.org>\r\n",
        "To: Bob <bob@example.org>\r\nSender: secretary@example.com\r\nReply-To: <payments@evil.test>\r\n",
        1,
    );
    let delivered = deliver(&f, input.as_bytes(), "carol@example.com", "smime");
    let r = verify(&f, &delivered, &[]);
    assert_pass(&r, "Sender and Reply-To");
    let w = r.warnings();
    assert!(
        w.contains("Sender: secretary@example.com is not the signer alice@example.com")
            && w.contains("Reply-To: payments@evil.test is not the signer alice@example.com"),
        "{w}"
    );
}

/// (g) Preamble and epilogue: inside the delivered entity the record's entity digest
/// (and the outer signature) covers them; around it, the gateway's wrapper may carry
/// only its own note, and added text is reported.
#[test]
fn preamble_and_epilogue_changes_are_detected() {
    let f = fixture();
    let good = text(&deliver(
        &f,
        &read("msg-html.eml"),
        "carol@example.com",
        "smime",
    ));
    assert_pass(&verify(&f, good.as_bytes(), &[]), "as delivered");
    let urgent = "URGENT: our bank details changed, see below.";

    // Inside the delivered entity (multipart/alternative).
    let inner_pre = good.replacen("This is a multi-part message in MIME format.", urgent, 1);
    assert_ne!(inner_pre, good);
    let close = "--=_reseal_alt_0001--\r\n";
    let at = good.find(close).expect("the inner closing delimiter") + close.len();
    let inner_epi = format!("{}{urgent}\r\n{}", &good[..at], &good[at..]);
    for (what, bad) in [("inner preamble", inner_pre), ("inner epilogue", inner_epi)] {
        let r = verify(&f, bad.as_bytes(), &[]);
        assert_eq!(r.report["verdict"], "fail", "{what}: {:#}", r.report);
        assert_eq!(r.report["altered_after_gateway"], false, "{what}");
        assert!(
            r.problems()
                .contains("record binding: the delivered content differs"),
            "{what}: {}",
            r.problems()
        );
    }

    // Around it: the gateway's multipart/signed, which no signature covers.
    let outer_pre = good.replacen("This is an S/MIME signed message", urgent, 1);
    assert_ne!(outer_pre, good);
    let outer_epi = format!("{good}{urgent}\r\n");
    for (what, bad, word) in [
        ("outer preamble", outer_pre, "preamble"),
        ("outer epilogue", outer_epi, "epilogue"),
    ] {
        let r = verify(&f, bad.as_bytes(), &[]);
        assert_altered(&r, what);
        assert!(
            r.problems().contains(&format!(
                "wrapper: the {word} of the outer multipart/signed"
            )),
            "{what}: {}",
            r.problems()
        );
    }

    // The same for the gateway's OpenPGP wrapper, whose own note passes.
    let good = text(&deliver(
        &f,
        &read("msg-plain.eml"),
        "carol@example.com",
        "openpgp",
    ));
    assert_pass(
        &verify(&f, good.as_bytes(), &strs(&pgp_signer())),
        "openpgp",
    );
    let bad = good.replacen(
        "This is an OpenPGP/MIME signed message (RFC 3156)",
        urgent,
        1,
    );
    assert_ne!(bad, good);
    let r = verify(&f, bad.as_bytes(), &strs(&pgp_signer()));
    assert_altered(&r, "openpgp preamble");
    assert!(r.problems().contains("preamble"), "{}", r.problems());
}
