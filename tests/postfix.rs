#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! End to end with a real Postfix on loopback (docs/architecture.md, "Testing"): swaks submits as
//! alice@example.com to bob@example.org, Postfix hands the message to Reseal, and the
//! result lands in a Maildir sink, where the real peers check it: `openssl cms -decrypt`
//! with bob's key, `openssl cms -verify` against the test root, the OPES trace in the
//! header, and `reseal verify --json` over the modification record.
//!
//! Two wirings: `content_filter` (entry smtpd → `reseal serve` → reinjection smtpd, with
//! XFORWARD) and `smtpd_milters` (`reseal milter`). The Postfix configuration is in
//! tests/postfix_support (and, line for line, in docs/postfix.md). These tests need
//! root, postfix and swaks: without them they fail loudly, saying what is missing; they
//! never skip.
//!
//! Who gets a delegated signature is tested here too: the test Postfix lets the test
//! client pose, with XCLIENT, as another client address and as a SASL login, so that a
//! stranger of the entry port, an authenticated user, and a client in `admit_networks`
//! can all be played from 127.0.0.1.

mod common;
mod postfix_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use postfix_support::*;

const SYSTEM: &str = "https://gw.example.com/opes";
const DISCLAIMER_TEXT: &str = "Example Corp: this e-mail is confidential.";

/// The gateway configuration both wirings share: a disclaimer (so every message carries
/// a modification record) and a DLP rule that rejects card numbers.
fn gateway_config(f: &Fixture, extra: &str) -> PathBuf {
    f.config(&format!(
        r#"keystore = "{ks}"
data_dir = "{data}"
hostname = "gw.reseal-test.example"

[opes]
system = "{SYSTEM}"
privacy_policy = "https://gw.example.com/privacy"

[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "{DISCLAIMER_TEXT}"
consent = "sender"
bypassable = true

[[service]]
id = "https://gw.example.com/opes/dlp"
kind = "dlp"
patterns = ["builtin:card-number"]
action = "reject"
consent = "sender"
bypassable = false

{extra}"#,
        ks = f.keystore().display(),
        data = f.dir.path().join("data").display(),
    ))
}

/// Messages alice's client sends: signed and encrypted to the gateway's key, signed,
/// and plain.
const MESSAGES: [&str; 3] = [
    "openssl-sign-then-enc-gcm.eml",
    "openssl-signed-plain.eml",
    "msg-plain.eml",
];

const CARD_MESSAGE: &[u8] = b"From: Alice <alice@example.com>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: card\r\n\
Date: Tue, 03 Jun 2025 10:15:00 +0000\r\n\
Message-ID: <card.20250603101500@example.com>\r\n\
\r\n\
Please charge 4111 1111 1111 1111 for the order.\r\n";

fn header_of(msg: &[u8]) -> String {
    let e = reseal::mime::Entity::parse(msg).unwrap();
    String::from_utf8_lossy(&msg[..e.header_end()]).into_owned()
}

/// What bob gets: encrypted to him, signed by alice's delegated key with the
/// disclaimer inside, traced, and with a modification record that `reseal verify`
/// accepts.
fn check_delivered(identity: &Path, msg: &[u8], what: &str) {
    let header = header_of(msg);
    assert!(
        header.contains(&format!("\nOPES-System: {SYSTEM}; id=")),
        "{what}: no OPES-System field:\n{header}"
    );
    assert!(
        header.contains("(Reseal "),
        "{what}: no Received line of Reseal:\n{header}"
    );
    let dec = openssl_decrypt(msg, "bob").unwrap_or_else(|e| panic!("{what}: decrypt: {e}"));
    let content = openssl_verify(&dec).unwrap_or_else(|e| panic!("{what}: verify: {e}"));
    assert!(
        contains(&content, DISCLAIMER_TEXT.as_bytes()),
        "{what}: no disclaimer in:\n{}",
        String::from_utf8_lossy(&content)
    );
    let mut c = reseal();
    c.args(["verify", "--json", "--trust"])
        .arg(v("ca.pem"))
        .arg("--opes-cert")
        .arg(identity)
        .arg("--key")
        .arg(v("bob.key"))
        .arg("--cert")
        .arg(v("bob.pem"));
    let out = run(c, msg);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: verify output is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        )
    });
    assert_eq!(report["verdict"], "pass", "{what}: {report:#}");
    assert_eq!(report["record"]["valid"], true, "{what}: {report:#}");
    assert_eq!(report["outer"]["signer"], "alice@example.com", "{what}");
    assert_eq!(out.status.code(), Some(0), "{what}: {report:#}");
}

fn identity(f: &Fixture) -> PathBuf {
    let out = f.keys(&["export-identity"]);
    f.tmp("identity.pem", &out.stdout)
}

/// Sends `file` through the entry port and returns what reached bob. A bounce to the
/// sender instead fails at once, showing the bounce.
fn deliver(pf: &Postfix, file: &Path, gw: &Daemon) -> Vec<u8> {
    deliver_via(pf, pf.entry(), file, &[], gw)
}

/// Sends `file` from alice@example.com to bob@example.org to `port` (Postfix's entry
/// port, or `reseal serve` itself), with more swaks options (`extra`: XCLIENT), and
/// returns what reached bob in `pf`'s sink.
fn deliver_via(pf: &Postfix, port: u16, file: &Path, extra: &[&str], gw: &Daemon) -> Vec<u8> {
    let before = pf.delivered("org");
    let bounces = pf.delivered("com");
    let s = swaks_with(port, "alice@example.com", "bob@example.org", file, extra);
    assert!(
        s.ok && s.data_reply().starts_with("250"),
        "{} {extra:?}: not accepted: {}\n{}\ngateway log:\n{}",
        file.display(),
        s.data_reply(),
        s.transcript,
        gw.log()
    );
    let t = Instant::now();
    let msg = loop {
        if let Some(m) = pf.try_wait_new("org", &before, 0) {
            break m;
        }
        let bounced = pf.try_wait_new("com", &bounces, 0);
        if bounced.is_some() || t.elapsed() > Duration::from_secs(30) {
            panic!(
                "{} was not delivered (waited {:?});\ngateway log:\n{}\nmail log:\n{}\nbounce:\n{}",
                file.display(),
                t.elapsed(),
                gw.log(),
                pf.maillog(),
                String::from_utf8_lossy(&bounced.unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!(
        "{}: delivered {:?} after swaks returned",
        file.display(),
        t.elapsed()
    );
    // The virtual delivery agent writes Maildir files with LF line ends.
    reseal::mime::to_crlf(&msg).into_owned()
}

/// Postfix with `content_filter` to `reseal serve`, which relays to Postfix's
/// reinjection smtpd. Postfix's smtp client connects from loopback, which is in
/// `admit_networks`; with XFORWARD, that is the address of the client Postfix received
/// the message from.
fn start_content_filter(f: &Fixture) -> (Postfix, Daemon) {
    start_content_filter_with(f, "admit_networks = [\"127.0.0.0/8\"]\n")
}

/// The gateway configuration for `reseal serve` on `filter`, relaying to `reinject`,
/// with `smtp` (lines of the `[smtp]` table).
fn serve_config(f: &Fixture, filter: u16, reinject: u16, smtp: &str) -> PathBuf {
    gateway_config(
        f,
        &format!(
            "[smtp]\nlisten = \"127.0.0.1:{filter}\"\n{smtp}\n\
             [relay]\nnext_hop = \"127.0.0.1:{reinject}\"\nretry_base_secs = 1\nretry_max_secs = 2\n"
        ),
    )
}

/// [`start_content_filter`] with `smtp` as the rest of the `[smtp]` table.
fn start_content_filter_with(f: &Fixture, smtp: &str) -> (Postfix, Daemon) {
    start_content_filter_full(f, smtp, false)
}

/// ... and with `global`, `content_filter` in main.cf too, so that what local programs
/// submit (sendmail, pickup) passes the gateway as well.
fn start_content_filter_full(f: &Fixture, smtp: &str, global: bool) -> (Postfix, Daemon) {
    let [entry, filter, reinject] = free_ports();
    let cfg = serve_config(f, filter, reinject, smtp);
    let main_extra = if global {
        format!("content_filter = reseal:[127.0.0.1]:{filter}\n")
    } else {
        String::new()
    };
    let pf = Postfix::start_with(
        Wiring::ContentFilter {
            entry,
            filter,
            reinject,
        },
        &main_extra,
    );
    let gw = start_serve(f, &cfg, filter);
    (pf, gw)
}

fn start_serve(f: &Fixture, cfg: &Path, filter: u16) -> Daemon {
    let mut c = reseal();
    c.arg("serve").arg("--config").arg(cfg);
    Daemon::start(c, "reseal serve", f.dir.path().join("serve.log"), filter)
}

/// A submitter table (`smtp.users_file`) in the fixture folder.
fn users_file(f: &Fixture, lines: &str) -> PathBuf {
    f.tmp("users", lines.as_bytes())
}

/// The e-mail addresses of the certificates that signed what bob got (inside the
/// encryption to bob, when it is encrypted), one per line; empty when it carries no
/// S/MIME signature.
fn smime_signers(f: &Fixture, msg: &[u8], what: &str) -> String {
    let header = header_of(msg).to_ascii_lowercase();
    let inner = if header.contains("enveloped-data") {
        openssl_decrypt(msg, "bob").unwrap_or_else(|e| panic!("{what}: decrypt: {e}"))
    } else {
        msg.to_vec()
    };
    let lower = inner.to_ascii_lowercase();
    let signed = [
        &b"multipart/signed"[..],
        b"application/pkcs7-signature",
        b"application/x-pkcs7-signature",
        b"signed-data",
    ]
    .iter()
    .any(|m| contains(&lower, m));
    if signed {
        openssl_signer_emails(&inner, f.dir.path())
    } else {
        String::new()
    }
}

/// What bob gets when the gateway must not sign: Reseal processed it (its trace is in
/// the header, the disclaimer service acted), and no delegated key signed it.
fn check_unsigned(f: &Fixture, msg: &[u8], what: &str, gw: &Daemon) {
    let header = header_of(msg);
    assert!(
        header.contains(&format!("\nOPES-System: {SYSTEM}; id=")),
        "{what}: no OPES-System field:\n{header}"
    );
    assert!(
        header.contains("(Reseal "),
        "{what}: no Received line of Reseal:\n{header}"
    );
    let signers = smime_signers(f, msg, what);
    assert!(
        signers.is_empty(),
        "{what}: signed by {signers:?}, which the submitter may not have:\n{}\ngateway log:\n{}",
        String::from_utf8_lossy(msg),
        gw.log()
    );
    let inner = if header.to_ascii_lowercase().contains("enveloped-data") {
        openssl_decrypt(msg, "bob").unwrap_or_else(|e| panic!("{what}: decrypt: {e}"))
    } else {
        msg.to_vec()
    };
    assert!(
        contains(&inner, DISCLAIMER_TEXT.as_bytes()),
        "{what}: the disclaimer service did not act:\n{}",
        String::from_utf8_lossy(&inner)
    );
}

#[test]
fn postfix_content_filter_end_to_end() {
    preflight("postfix_content_filter_end_to_end");
    let start = Instant::now();
    let f = Fixture::new();
    let id = identity(&f);
    let (pf, mut gw) = start_content_filter(&f);
    let entry = pf.entry();

    for name in MESSAGES {
        let msg = deliver(&pf, &v(name), &gw);
        check_delivered(&id, &msg, name);
        // Postfix's reinjection smtpd added its Received line above Reseal's.
        let header = header_of(&msg);
        let reseal_at = header.find("(Reseal ").unwrap();
        let postfix_at = header.find(&format!("by {MYHOSTNAME} (Postfix)")).unwrap();
        assert!(postfix_at < reseal_at, "{name}: trace order:\n{header}");
    }

    // A DLP refusal after Postfix accepted the message: Postfix bounces it to the
    // sender with Reseal's reply, OPES trace included (RFC 4902 §3.1).
    let card = f.tmp("card.eml", CARD_MESSAGE);
    let before = pf.delivered("com");
    let s = swaks(entry, "alice@example.com", "bob@example.org", &card);
    assert!(s.data_reply().starts_with("250"), "{}", s.transcript);
    let ndr = String::from_utf8_lossy(&pf.wait_new("com", &before, 30)).into_owned();
    // Postfix wraps the reply in the bounce text: compare with whitespace collapsed.
    let ndr = ndr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(ndr.contains("5.7.1"), "NDR:\n{ndr}");
    assert!(ndr.contains(&format!("[OPES {SYSTEM}; id=")), "NDR:\n{ndr}");
    assert!(
        ndr.contains("service=https://gw.example.com/opes/dlp"),
        "NDR:\n{ndr}"
    );

    let status = gw.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "reseal serve did not exit cleanly on SIGTERM ({status:?}):\n{}",
        gw.log()
    );
    eprintln!("postfix_content_filter_end_to_end: {:?}", start.elapsed());
}

/// The hole the old advice opened: with `content_filter` every message reaches Reseal
/// from Postfix's 127.0.0.1, so a stranger of port 25 sending `MAIL FROM:<alice@...>`
/// got alice's delegated signature. With XFORWARD on the filter transport, Reseal
/// decides by the client Postfix received the message from: a stranger (XCLIENT
/// ADDR=192.0.2.7, not in `admit_networks`) gets the services but no signature; a
/// client in `admit_networks` (ADDR=127.0.0.1) gets alice's signature. A SASL login at
/// Postfix does not reach Reseal through XFORWARD: authenticated remote submission is
/// not signed in this wiring (docs/postfix.md: use the milter for submission).
#[test]
fn postfix_content_filter_signs_only_for_admitted_clients() {
    preflight("postfix_content_filter_signs_only_for_admitted_clients");
    let start = Instant::now();
    let f = Fixture::new();
    let id = identity(&f);
    let (pf, gw) = start_content_filter(&f);
    let file = v("msg-plain.eml");

    // A stranger of the entry port: Postfix accepts the mail (bob is local), Reseal
    // processes it, and signs nothing.
    let stranger = [
        "--xclient-addr",
        "192.0.2.7",
        "--xclient-name",
        "[UNAVAILABLE]",
    ];
    let msg = deliver_via(&pf, pf.entry(), &file, &stranger, &gw);
    check_unsigned(&f, &msg, "stranger 192.0.2.7", &gw);
    let log = gw.log();
    assert!(
        log.contains("submitter: client 192.0.2.7 not admitted"),
        "Reseal did not decide by the forwarded client address:\n{log}"
    );
    assert!(
        !log.contains("client 127.0.0.1 in smtp.admit_networks"),
        "Reseal admitted Postfix's own address:\n{log}"
    );

    // Authenticated at Postfix, from outside admit_networks: XFORWARD carries no
    // login, so Reseal sees only an address it does not admit.
    let with_login = ["--xclient-addr", "192.0.2.8", "--xclient-login", "alice"];
    let msg = deliver_via(&pf, pf.entry(), &file, &with_login, &gw);
    check_unsigned(&f, &msg, "login alice from 192.0.2.8", &gw);
    assert!(
        gw.log()
            .contains("submitter: client 192.0.2.8 not admitted"),
        "{}",
        gw.log()
    );

    // The control: a client in admit_networks gets alice's signature.
    let local = ["--xclient-addr", "127.0.0.1", "--xclient-name", "localhost"];
    let msg = deliver_via(&pf, pf.entry(), &file, &local, &gw);
    check_delivered(&id, &msg, "client 127.0.0.1");
    assert!(
        gw.log()
            .contains("submitter: client 127.0.0.1 in smtp.admit_networks"),
        "{}",
        gw.log()
    );
    drop(gw);
    eprintln!(
        "postfix_content_filter_signs_only_for_admitted_clients: {:?}",
        start.elapsed()
    );
}

/// A local program's mail (Postfix's sendmail, then pickup) reaches the content filter
/// with `XFORWARD SOURCE=LOCAL` and no client address: it is admitted only with
/// `smtp.admit_local_submission = true`, never because Postfix itself connects from
/// 127.0.0.1.
#[test]
fn postfix_content_filter_signs_local_submissions_only_when_configured() {
    local_submissions_signed_only_when_configured(
        "postfix_content_filter_signs_local_submissions_only_when_configured",
        |f, smtp| start_content_filter_full(f, smtp, true),
        "",
    );
}

/// sendmail through `start` (Postfix wired to the gateway with `smtp`, the `[smtp]`
/// table's lines, with local programs' mail passing it too): unsigned and "not
/// admitted" by default, signed with `admit_local_submission = true`.
fn local_submissions_signed_only_when_configured(
    test: &str,
    start_gateway: impl Fn(&Fixture, &str) -> (Postfix, Daemon),
    table_header: &str,
) {
    preflight(test);
    let start = Instant::now();
    let msg = read("msg-plain.eml");
    for (admit_local, reason) in [
        (false, "submitter: a local program not admitted"),
        (true, "submitter: local submission through the MTA"),
    ] {
        let f = Fixture::new();
        let id = identity(&f);
        let (pf, gw) = start_gateway(
            &f,
            &format!(
                "{table_header}admit_networks = [\"127.0.0.0/8\"]\nadmit_local_submission = {admit_local}\n"
            ),
        );
        let before = pf.delivered("org");
        pf.sendmail("alice@example.com", "bob@example.org", &msg);
        let got = reseal::mime::to_crlf(&pf.wait_new("org", &before, 30)).into_owned();
        let what = format!("{test}: sendmail, admit_local_submission = {admit_local}");
        if admit_local {
            check_delivered(&id, &got, &what);
        } else {
            check_unsigned(&f, &got, &what, &gw);
        }
        let log = gw.log();
        assert!(log.contains(reason), "{what}: no {reason:?} in:\n{log}");
    }
    eprintln!("{test}: {:?}", start.elapsed());
}

fn start_milter(f: &Fixture, extra: &str) -> (Postfix, Daemon) {
    start_milter_full(f, extra, false)
}

/// ... and with `local`, `non_smtpd_milters` in main.cf too, so that what local
/// programs submit (sendmail, pickup) passes the milter as well.
fn start_milter_full(f: &Fixture, extra: &str, local: bool) -> (Postfix, Daemon) {
    let [entry, milter] = free_ports();
    let cfg = gateway_config(f, extra);
    let mut c = reseal();
    c.arg("milter")
        .arg("--listen")
        .arg(format!("127.0.0.1:{milter}"))
        .arg("--config")
        .arg(&cfg);
    let gw = Daemon::start(c, "reseal milter", f.dir.path().join("milter.log"), milter);
    let main_extra = if local {
        format!(
            "non_smtpd_milters = inet:127.0.0.1:{milter}
"
        )
    } else {
        String::new()
    };
    let pf = Postfix::start_with(Wiring::Milter { entry, milter }, &main_extra);
    (pf, gw)
}

/// The milter makes the decision `reseal serve` makes for a local program's mail:
/// Postfix presents non-SMTP mail to `non_smtpd_milters` as 127.0.0.1 with client port
/// 0, and it is admitted only with `smtp.admit_local_submission = true`, never because
/// loopback is in `admit_networks`.
#[test]
fn postfix_milter_signs_local_submissions_only_when_configured() {
    local_submissions_signed_only_when_configured(
        "postfix_milter_signs_local_submissions_only_when_configured",
        |f, smtp| start_milter_full(f, smtp, true),
        "[smtp]\n",
    );
}

#[test]
fn postfix_milter_end_to_end() {
    preflight("postfix_milter_end_to_end");
    let start = Instant::now();
    let f = Fixture::new();
    let id = identity(&f);
    let (pf, mut gw) = start_milter(&f, "");

    for name in MESSAGES {
        let msg = deliver(&pf, &v(name), &gw);
        check_delivered(&id, &msg, name);
        // Reseal's trace sits right below the Received line of the Postfix hop that ran
        // the milter, so the header the record binds is exactly what Reseal produced.
        let header = header_of(&msg);
        let reseal_at = header.find("(Reseal ").unwrap();
        let postfix_at = header.find(&format!("by {MYHOSTNAME} (Postfix)")).unwrap();
        assert!(postfix_at < reseal_at, "{name}: trace order:\n{header}");
        assert_eq!(
            header.matches("\nOPES-System:").count(),
            1,
            "{name}:\n{header}"
        );
    }

    // Header fields come back byte for byte: a tab after the colon, no space, two
    // spaces, folding with spaces and tabs.
    let odd = b"From: Alice <alice@example.com>\r\n\
To: bob@example.org\r\n\
Subject:\tTabbed subject\r\n\
X-No-Space:value\r\n\
X-Two-Spaces:  value\r\n\
X-Folded: first\r\n  second\r\n\tthird\r\n\
Date: Tue, 03 Jun 2025 10:15:00 +0000\r\n\
Message-ID: <odd.20250603101500@example.com>\r\n\
\r\n\
Hello Bob.\r\n";
    let file = f.tmp("odd.eml", odd);
    let msg = deliver(&pf, &file, &gw);
    let header = header_of(&msg);
    for field in [
        "\nSubject:\tTabbed subject\r\n",
        "\nX-No-Space:value\r\n",
        "\nX-Two-Spaces:  value\r\n",
        "\nX-Folded: first\r\n  second\r\n\tthird\r\n",
    ] {
        assert!(
            header.contains(field),
            "{field:?} changed on the way:\n{header}"
        );
    }
    check_delivered(&id, &msg, "odd header");

    let status = gw.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "reseal milter did not exit cleanly on SIGTERM ({status:?}):\n{}",
        gw.log()
    );
    eprintln!("postfix_milter_end_to_end: {:?}", start.elapsed());
}

#[test]
fn postfix_milter_refusals_carry_opes_trace() {
    preflight("postfix_milter_refusals_carry_opes_trace");
    let start = Instant::now();
    let f = Fixture::new();
    let (pf, gw) = start_milter(&f, "[limits]\nmax_message_bytes = 20000\n");

    // DLP reject: the SMTP client gets Reseal's 5xx reply, with the OPES trace.
    let card = f.tmp("card.eml", CARD_MESSAGE);
    let s = swaks(pf.entry(), "alice@example.com", "bob@example.org", &card);
    let reply = s.data_reply();
    assert!(reply.starts_with("554 5.7.1 "), "{}", s.transcript);
    assert!(reply.contains(&format!("[OPES {SYSTEM}; id=")), "{reply}");
    assert!(
        reply.contains("service=https://gw.example.com/opes/dlp]"),
        "{reply}"
    );
    assert!(
        !reply.contains("4111 1111"),
        "the reply leaks content: {reply}"
    );

    // Over the size limit: 552 5.3.4, with trace, without waiting for the whole body.
    let big = f.tmp("big.eml", &read("msg-50k.eml"));
    let s = swaks(pf.entry(), "alice@example.com", "bob@example.org", &big);
    let reply = s.data_reply();
    assert!(reply.starts_with("552 5.3.4 "), "{}", s.transcript);
    assert!(reply.contains(&format!("[OPES {SYSTEM}; id=")), "{reply}");

    // A forged signature is refused, not re-signed (SECURITY.md invariant 5).
    let forged = v("openssl-signed-tampered-body.eml");
    let s = swaks(pf.entry(), "alice@example.com", "bob@example.org", &forged);
    let reply = s.data_reply();
    assert!(reply.starts_with("554 5.7."), "{}", s.transcript);
    assert!(reply.contains("[OPES "), "{reply}");

    // None of them was delivered; Postfix logged the milter's rejects.
    assert!(pf.delivered("org").is_empty(), "{}", pf.maillog());
    let log = pf.maillog();
    assert_eq!(
        log.matches("milter-reject: END-OF-MESSAGE").count(),
        3,
        "{log}"
    );
    drop(gw);
    eprintln!(
        "postfix_milter_refusals_carry_opes_trace: {:?}",
        start.elapsed()
    );
}

#[test]
fn postfix_milter_address_map_rewrites_envelope() {
    preflight("postfix_milter_address_map_rewrites_envelope");
    let start = Instant::now();
    let f = Fixture::new();
    // RFC 4902 §5.6: the map applies to the header and, through the milter's
    // change-sender / delete- and add-recipient actions, to Postfix's envelope.
    let (pf, gw) = start_milter(
        &f,
        r#"[policy]
encrypt = "never"
sign = false

[[service]]
id = "https://gw.example.com/opes/map"
kind = "address-map"
map = { "bob@example.org" = "robert@example.org", "alice@example.com" = "a.external@example.com" }
consent = "sender"
bypassable = false
"#,
    );
    let msg = deliver(&pf, &v("msg-plain.eml"), &gw);
    let header = header_of(&msg);
    for field in [
        "Return-Path: <a.external@example.com>\r\n",
        "\nDelivered-To: robert@example.org\r\n",
        "\nFrom: Alice <a.external@example.com>\r\n",
        "\nTo: Bob <robert@example.org>\r\n",
    ] {
        assert!(header.contains(field), "{field:?} missing:\n{header}");
    }
    assert!(
        header.contains("https://gw.example.com/opes/map; id="),
        "{header}"
    );
    let log = pf.maillog();
    assert!(
        log.contains("from=<a.external@example.com>"),
        "the envelope sender was not changed:\n{log}"
    );
    assert!(
        !log.contains("to=<bob@example.org>, relay=virtual"),
        "the old recipient still got the message:\n{log}"
    );
    assert_eq!(pf.delivered("org").len(), 1, "{log}");
    drop(gw);
    eprintln!(
        "postfix_milter_address_map_rewrites_envelope: {:?}",
        start.elapsed()
    );
}

/// The next hop behind the gateway (Postfix's reinjection smtpd) refuses a recipient
/// after Reseal acknowledged the message: Reseal sends an RFC 3464 NDR to the sender,
/// through Postfix, with the OPES trace (RFC 4902 §4), and without the decrypted
/// plaintext.
#[test]
fn postfix_next_hop_refusal_bounces_to_the_sender_with_trace() {
    preflight("postfix_next_hop_refusal_bounces_to_the_sender_with_trace");
    let f = Fixture::new();
    let (pf, gw) = start_content_filter(&f);
    let entry = pf.entry();

    // Signed and encrypted to the gateway: what Reseal decrypts must not come back.
    let before = pf.delivered("com");
    let s = swaks(
        entry,
        "alice@example.com",
        "erin@example.net",
        &v("openssl-sign-then-enc-gcm.eml"),
    );
    assert!(s.data_reply().starts_with("250"), "{}", s.transcript);
    let ndr = pf.wait_new("com", &before, 30);
    let text = String::from_utf8_lossy(&ndr).into_owned();
    let ctx = || format!("NDR:\n{text}\ngateway log:\n{}", gw.log());
    assert!(
        text.contains("multipart/report; report-type=delivery-status"),
        "{}",
        ctx()
    );
    assert!(text.contains("message/delivery-status"), "{}", ctx());
    assert!(
        text.contains("Final-Recipient: rfc822; erin@example.net"),
        "{}",
        ctx()
    );
    assert!(
        text.contains("Action: failed") && text.contains("Status: 5.1.1"),
        "{}",
        ctx()
    );
    assert!(
        text.contains("Recipient address rejected: No such user here"),
        "{}",
        ctx()
    );
    assert!(
        text.contains(&format!("X-OPES-System: {SYSTEM}; id=")),
        "{}",
        ctx()
    );
    assert!(text.contains("X-OPES-Via:"), "{}", ctx());
    assert!(
        text.contains(&format!("OPES System: {SYSTEM}")),
        "the human-readable part names the system: {}",
        ctx()
    );
    // The bounce went to the reverse path, from the null sender.
    assert!(
        text.contains("Return-Path: <>") || text.contains("Return-Path: <MAILER-DAEMON"),
        "{}",
        ctx()
    );
    let plain = openssl_decrypt(&read("openssl-sign-then-enc-gcm.eml"), "alice")
        .expect("the vector decrypts for alice");
    let body = reseal::mime::Entity::parse(&plain)
        .ok()
        .and_then(|e| {
            String::from_utf8_lossy(e.body())
                .lines()
                .map(str::trim)
                .find(|l| l.len() > 12 && !l.starts_with("--") && !l.contains(':'))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    assert!(!body.is_empty(), "a plaintext line to look for");
    assert!(
        !text.contains(&body),
        "the NDR carries decrypted plaintext {body:?}: {}",
        ctx()
    );
}

/// Bypass through real Postfix and the milter (RFC 4902 §5, RFC 4236 §5): an
/// `OPES-Bypass: *` request is honoured for an authenticated client and refused, with
/// trace, for an anonymous one. XCLIENT poses as a client outside `admit_networks`,
/// with and without a SASL login.
#[test]
fn postfix_milter_bypass_for_authenticated_clients_only() {
    preflight("postfix_milter_bypass_for_authenticated_clients_only");
    let f = Fixture::new();
    // The login alice may have mail signed for her own address (the submitter table);
    // a login the table does not list would be admitted but sign nothing.
    let users = users_file(&f, "alice:-:alice@example.com\n");
    let (pf, gw) = start_milter(
        &f,
        &format!(
            "[smtp]\nadmit_networks = [\"198.51.100.0/24\"]\nusers_file = \"{}\"\n",
            users.display()
        ),
    );
    let mut msg = b"OPES-Bypass: *\r\n".to_vec();
    msg.extend_from_slice(&read("msg-plain.eml"));
    let file = f.tmp("bypass.eml", &msg);

    for (login, honoured) in [(Some("alice"), true), (None, false)] {
        let before = pf.delivered("org");
        let mut extra = vec!["--xclient-addr", "192.0.2.7"];
        if let Some(l) = login {
            extra.extend(["--xclient-login", l]);
        }
        let s = swaks_with(
            pf.entry(),
            "alice@example.com",
            "bob@example.org",
            &file,
            &extra,
        );
        assert!(
            s.data_reply().starts_with("250"),
            "login {login:?}: {}\ngateway log:\n{}",
            s.transcript,
            gw.log()
        );
        let got = reseal::mime::to_crlf(&pf.wait_new("org", &before, 30)).into_owned();
        let header = header_of(&got);
        let dec = openssl_decrypt(&got, "bob").unwrap_or_else(|e| panic!("decrypt: {e}"));
        if honoured {
            assert!(
                header.contains("status=bypassed"),
                "authenticated: bypass traced:\n{header}"
            );
            assert!(
                !contains(&dec, DISCLAIMER_TEXT.as_bytes()),
                "authenticated: bypass honoured"
            );
            assert!(
                contains(&dec, b"multipart/signed"),
                "authenticated: signed for alice"
            );
        } else {
            assert!(
                header.contains("status=bypass-refused"),
                "anonymous: refusal traced:\n{header}\ngateway log:\n{}",
                gw.log()
            );
            assert!(
                contains(&dec, DISCLAIMER_TEXT.as_bytes()),
                "anonymous: bypass refused, the service acted"
            );
            assert!(
                !contains(&dec, b"multipart/signed"),
                "anonymous: no signature from a delegated key"
            );
        }
    }
}

/// The milter and `reseal serve` decide the same way from the same configuration and
/// submitter table (crate::submission): with `admit_networks = []`, a login may have
/// mail signed only for the senders the table grants it. The milter gets the login
/// from Postfix (`{auth_authen}`, set here by XCLIENT LOGIN); serve gets it from the
/// MTA in front through XCLIENT LOGIN (the test client, on loopback, is in the default
/// `mta_networks`).
#[test]
fn postfix_milter_and_serve_sign_only_for_the_senders_a_login_owns() {
    preflight("postfix_milter_and_serve_sign_only_for_the_senders_a_login_owns");
    let start = Instant::now();
    let f = Fixture::new();
    let id = identity(&f);
    let users = users_file(
        &f,
        "# name:hash:senders; - : only the MTA authenticates this identity\n\
         alice:-:alice@example.com\n\
         bob:-:bob@example.org\n",
    );
    let [entry_cf, filter, reinject, entry_m, milter] = free_ports();
    // One configuration file for both daemons (the milter ignores listen and [relay]).
    let cfg = serve_config(
        &f,
        filter,
        reinject,
        &format!(
            "admit_networks = []\nusers_file = \"{}\"\n",
            users.display()
        ),
    );
    let pf_cf = Postfix::start(Wiring::ContentFilter {
        entry: entry_cf,
        filter,
        reinject,
    });
    let serve = start_serve(&f, &cfg, filter);
    let mut c = reseal();
    c.arg("milter")
        .arg("--listen")
        .arg(format!("127.0.0.1:{milter}"))
        .arg("--config")
        .arg(&cfg);
    let mil = Daemon::start(c, "reseal milter", f.dir.path().join("milter.log"), milter);
    let pf_m = Postfix::start(Wiring::Milter {
        entry: entry_m,
        milter,
    });
    let file = v("msg-plain.eml");

    // (login, signed for alice@example.com, the reason both logs give)
    let cases = [
        (
            Some("alice"),
            true,
            "authenticated by the MTA as alice from 192.0.2.7",
        ),
        (
            Some("bob"),
            false,
            "authenticated by the MTA as bob from 192.0.2.7",
        ),
        (
            Some("carol"),
            false,
            "authenticated by the MTA as carol from 192.0.2.7",
        ),
        (None, false, "client 192.0.2.7 not admitted"),
    ];
    for (login, signed, reason) in cases {
        let mut extra = vec!["--xclient-addr", "192.0.2.7"];
        if let Some(l) = login {
            extra.extend(["--xclient-login", l]);
        }
        // Through Postfix and the milter, then straight to serve.
        for (front, pf, port, gw) in [
            ("milter", &pf_m, entry_m, &mil),
            ("serve", &pf_cf, filter, &serve),
        ] {
            let what = format!("{front}, login {login:?}, from alice@example.com");
            let msg = deliver_via(pf, port, &file, &extra, gw);
            if signed {
                check_delivered(&id, &msg, &what);
            } else {
                check_unsigned(&f, &msg, &what, gw);
            }
            let log = gw.log();
            assert!(
                log.contains(&format!("submitter: {reason}")),
                "{what}: the log does not give {reason:?}:\n{log}"
            );
        }
    }
    drop(pf_m);
    drop(mil);
    drop(serve);
    drop(pf_cf);
    eprintln!(
        "postfix_milter_and_serve_sign_only_for_the_senders_a_login_owns: {:?}",
        start.elapsed()
    );
}
