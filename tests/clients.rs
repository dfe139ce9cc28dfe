#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! What real mail clients send (vectors/clients/, made by scripts/make-client-vectors.sh
//! with s-nail and NeoMutt), through the gateway with and without a disclaimer, opened
//! the way
//! their readers open it: notmuch (GMime + gpgme) and gpgsm, the S/MIME engine of
//! KMail, Mutt/NeoMutt with gpgme and Claws. Each must show alice's signature as good,
//! the text with the disclaimer when one was added, the attachment byte for byte, and
//! `reseal verify` must pass with alice's original signature valid.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::gpgsm::Gpgsm;
use common::*;

fn client(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("vectors/clients")
            .join(name),
    )
    .unwrap()
}

const VECTORS: [&str; 3] = [
    "s-nail-signed.eml",
    "s-nail-signed-encrypted.eml",
    "neomutt-smime.eml",
];
const DISCLAIMER_TEXT: &str = "Example Corp ... This e-mail is confidential.";

/// `name` through `reseal process`, alice to bob, with or without the disclaimer
/// service: (what, for messages; the delivered message).
fn through_gateway(f: &Fixture, name: &str, with_disclaimer: bool) -> (String, Vec<u8>) {
    let cfg = f.config(&if with_disclaimer {
        format!("{OPES_HEAD}{DISCLAIMER_SERVICE}")
    } else {
        OPES_HEAD.to_owned()
    });
    let what = format!("{name}, disclaimer: {with_disclaimer}");
    let out = f.process(
        &client(name),
        "alice@example.com",
        &["bob@example.org"],
        Some(&cfg),
    );
    ok(&out, &what);
    (what, out.stdout)
}

/// `reseal verify --json` with `args` over `msg`: the report.
fn reseal_verify(what: &str, msg: &[u8], args: &[std::ffi::OsString]) -> serde_json::Value {
    let mut c = reseal();
    c.args(["verify", "--json"]).args(args);
    let r = run(c, msg);
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("{what}: {e}: {}", stderr(&r)))
}

/// notmuch over a Maildir holding `msg`, with gpgme's keys in `g`: the JSON of `show
/// --decrypt=true --verify`.
fn notmuch_show(f: &Fixture, g: &Gpgsm, msg: &[u8]) -> serde_json::Value {
    notmuch_show_in(f, g.home(), msg)
}

/// notmuch over a Maildir holding `msg`, gpgme reading the keys in `home`.
fn notmuch_show_in(f: &Fixture, home: &std::path::Path, msg: &[u8]) -> serde_json::Value {
    let root = f.dir.path().join("notmuch");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join("mail").join(d)).unwrap();
    }
    std::fs::write(root.join("mail/new/1:2,"), msg).unwrap();
    let config = root.join("config");
    std::fs::write(
        &config,
        format!(
            "[database]\npath={}\n[user]\nname=Bob\nprimary_email=bob@example.org\n[new]\ntags=inbox\n",
            root.join("mail").display()
        ),
    )
    .unwrap();
    let nm = |args: &[&str]| {
        let mut c = Command::new("notmuch");
        c.env("NOTMUCH_CONFIG", &config)
            .env("GNUPGHOME", home)
            .args(args);
        let out = run(c, b"");
        ok(&out, &format!("notmuch {args:?}"));
        out.stdout
    };
    nm(&["new", "--decrypt=true"]);
    let json = nm(&["show", "--format=json", "--decrypt=true", "--verify", "*"]);
    serde_json::from_slice(&json).unwrap()
}

/// Every (content-type, sigstatus) and every text/plain content in notmuch's JSON.
fn walk(v: &serde_json::Value, sigs: &mut Vec<serde_json::Value>, texts: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(s) = m.get("sigstatus") {
                sigs.push(s.clone());
            }
            if m.get("content-type").and_then(|c| c.as_str()) == Some("text/plain")
                && let Some(t) = m.get("content").and_then(|c| c.as_str())
            {
                texts.push(t.to_owned());
            }
            m.values().for_each(|x| walk(x, sigs, texts));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, sigs, texts)),
        _ => {}
    }
}

/// The decoded body of the part named `name` in `entity`.
fn attachment(entity: &[u8], name: &str) -> Option<Vec<u8>> {
    let root = reseal::mime::tree::parse(entity).ok()?;
    let leaf = root
        .leaves()
        .into_iter()
        .find(|p| p.filename.as_deref() == Some(name))?;
    let e = reseal::mime::Entity::parse(entity.get(leaf.range.clone())?).ok()?;
    e.decoded_body().ok().map(|b| b.into_owned())
}

#[test]
fn s_nail_and_neomutt_smime_goes_through_and_opens_in_notmuch_and_gpgsm() {
    let f = Fixture::new();
    // bob reads; alice's key opens the originals s-nail encrypted to her.
    let g = Gpgsm::new(&["bob", "alice"]);
    let pdf = client("report.pdf");
    for with_disclaimer in [false, true] {
        for name in VECTORS {
            let (what, out) = through_gateway(&f, name, with_disclaimer);
            // gpgsm: decrypts, alice's signature is good, the PDF is intact.
            let inner = g
                .decrypt(&f, &out)
                .unwrap_or_else(|e| panic!("{what}: gpgsm cannot decrypt: {e}"));
            let inner = reseal::mime::to_crlf(&inner).into_owned();
            let status = g.verify(&f, &inner);
            assert!(
                status.contains("[GNUPG:] GOODSIG") && status.contains("alice@example.com"),
                "{what}: gpgsm:\n{status}"
            );
            assert_eq!(
                attachment(&inner, "report.pdf").as_deref(),
                Some(pdf.as_slice()),
                "{what}: the attachment changed"
            );
            // notmuch: the text, with the disclaimer when one was added, and alice's
            // signature in the same state as in what s-nail sent. notmuch (GMime)
            // calls s-nail's signed multipart/mixed (it has a preamble) bad even
            // straight from s-nail (PEERS: notmuch), while gpgsm above calls the same
            // signature good: the gateway must make it no worse.
            let j = notmuch_show(&f, &g, &out);
            // (For the encrypted vector, the baseline is the same s-nail signature
            // unencrypted: notmuch shows no signature inside s-nail's encryption.)
            let original = notmuch_show(&f, &g, &client("s-nail-signed.eml"));
            let (mut orig_sigs, mut orig_texts) = (Vec::new(), Vec::new());
            walk(&original, &mut orig_sigs, &mut orig_texts);
            let (mut sigs, mut texts) = (Vec::new(), Vec::new());
            walk(&j, &mut sigs, &mut texts);
            assert!(
                texts.iter().any(|t| t.contains("Please transfer 100 EUR")),
                "{what}: notmuch shows no text: {j:#}"
            );
            // The record travels in header fields of the protected entity: never as
            // text a reader sees.
            assert!(
                !texts.iter().any(|t| t.contains("OPES-Record")),
                "{what}: the record shows as text: {texts:?}"
            );
            if with_disclaimer {
                assert!(
                    texts.iter().any(|t| t.contains(DISCLAIMER_TEXT)),
                    "{what}: no disclaimer in {texts:?}"
                );
            }
            let status = |sigs: &[serde_json::Value]| -> Vec<String> {
                sigs.iter()
                    .flat_map(|s| s.as_array().cloned().unwrap_or_default())
                    .map(|s| s["status"].as_str().unwrap_or_default().to_owned())
                    .collect()
            };
            let (now, before) = (status(&sigs), status(&orig_sigs));
            assert!(!now.is_empty(), "{what}: notmuch finds no signature");
            assert!(
                now.iter().all(|s| before.contains(s) || s == "good"),
                "{what}: notmuch says {now:?}, on the original {before:?}"
            );
            // reseal verify: pass, and alice's original signature valid.
            let report = reseal_verify(
                &what,
                &out,
                &[
                    "--trust".into(),
                    v("ca.pem").into(),
                    "--opes-cert".into(),
                    f.identity().into(),
                    "--key".into(),
                    v("bob.key").into(),
                    "--cert".into(),
                    v("bob.pem").into(),
                ],
            );
            assert_eq!(report["verdict"], "pass", "{what}: {report:#}");
            if with_disclaimer {
                assert_eq!(report["original"]["signed"], true, "{what}: {report:#}");
                assert_eq!(report["original"]["valid"], true, "{what}: {report:#}");
            }
        }
    }
}

const NEOMUTT: [&str; 3] = [
    "neomutt-gpgme-pgpmime.eml",
    "neomutt-classic-pgpmime.eml",
    "neomutt-classic-inline.eml",
];

/// NeoMutt's PGP/MIME (gpgme backend: the entity signed in binary mode with LF line
/// ends inside one OpenPGP message; classic backend: gpg --textmode) and inline PGP
/// (classic backend, pgp_autoinline, signed and encrypted), through the
/// gateway with and without a disclaimer: gpg and notmuch find alice's signature good,
/// the text (with the disclaimer) and the attachment are there, and `reseal verify`
/// passes with alice's original signature valid.
#[test]
fn neomutt_pgp_mime_goes_through_and_opens_in_gpg_and_notmuch() {
    let f = Fixture::with_openpgp();
    let gpg = common::gpg::Gpg::for_bob();
    let pdf = client("report.pdf");
    for with_disclaimer in [false, true] {
        for name in NEOMUTT {
            let (what, out) = through_gateway(&f, name, with_disclaimer);
            // gpg: decrypts; the signature inside is alice's and good.
            let top = reseal::mime::Entity::parse(&out).unwrap();
            let mp = top.multipart().unwrap();
            let armored = reseal::mime::Entity::parse(&out[mp.parts[1].clone()])
                .unwrap()
                .decoded_body()
                .unwrap()
                .into_owned();
            let (plain, status) = gpg.decrypt(&armored);
            let plain = reseal::mime::to_crlf(&plain).into_owned();
            let signed = if status.contains("GOODSIG") {
                status.clone()
            } else {
                // Signed, then encrypted (RFC 3156 §6.1): a multipart/signed inside.
                let e = reseal::mime::Entity::parse(&plain).unwrap();
                let mp = e.multipart().unwrap();
                let sig = reseal::mime::Entity::parse(&plain[mp.parts[1].clone()])
                    .unwrap()
                    .decoded_body()
                    .unwrap()
                    .into_owned();
                gpg.verify_detached(&sig, &plain[mp.parts[0].clone()])
            };
            assert!(
                signed.contains("GOODSIG") && signed.contains("alice@example.com"),
                "{what}: gpg:\n{signed}"
            );
            assert!(contains(&plain, b"Please transfer 100 EUR"), "{what}");
            // The inline vector is text only (NeoMutt sends attachments as PGP/MIME).
            if !name.contains("inline") {
                assert_eq!(
                    attachment(&plain, "report.pdf").as_deref(),
                    Some(pdf.as_slice()),
                    "{what}: the attachment changed"
                );
            }
            // NeoMutt's marker of the removed protection is gone (issue 13, item 4).
            assert!(!contains(&plain, b"x-action"), "{what}: x-action left");
            if with_disclaimer {
                assert!(contains(&plain, DISCLAIMER_TEXT.as_bytes()), "{what}");
            }
            // notmuch (gpgme, bob's keys): alice's signature good.
            let j = notmuch_show_gpg(&f, gpg.home(), &out);
            let (mut sigs, mut texts) = (Vec::new(), Vec::new());
            walk(&j, &mut sigs, &mut texts);
            let statuses: Vec<serde_json::Value> = sigs
                .iter()
                .flat_map(|s| s.as_array().cloned().unwrap_or_default())
                .collect();
            assert!(
                !statuses.is_empty() && statuses.iter().all(|s| s["status"] == "good"),
                "{what}: notmuch sigstatus {statuses:?}"
            );
            assert!(
                !texts.iter().any(|t| t.contains("OPES-Record")),
                "{what}: the record shows as text: {texts:?}"
            );
            // reseal verify: pass, and alice's original signature valid.
            let report = reseal_verify(
                &what,
                &out,
                &[
                    "--opes-cert".into(),
                    f.identity().into(),
                    "--cert".into(),
                    pv("alice.pub.asc").into(),
                    "--openpgp-key".into(),
                    pv("bob.sec.asc").into(),
                ],
            );
            assert_eq!(report["verdict"], "pass", "{what}: {report:#}");
            if with_disclaimer {
                assert_eq!(report["original"]["valid"], true, "{what}: {report:#}");
            }
        }
    }
}

/// [`notmuch_show`] with gpg's home instead of gpgsm's.
fn notmuch_show_gpg(f: &Fixture, home: &std::path::Path, msg: &[u8]) -> serde_json::Value {
    notmuch_show_in(f, home, msg)
}

/// NeoMutt as the reader (gpgme): the message opened in its pager, in a private tmux
/// server. Returns the screen once it shows the end of the protected data, or what it
/// shows after `secs` seconds.
fn neomutt_read(f: &Fixture, home: &std::path::Path, msg: &[u8], secs: u64) -> String {
    let root = f.dir.path().join("neomutt-reader");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join("Mail").join(d)).unwrap();
    }
    std::fs::write(root.join("Mail/new/1:2,"), msg).unwrap();
    let mail = root.join("Mail");
    std::fs::write(
        root.join("rc"),
        format!(
            "set mbox_type=Maildir\nset folder=\"{m}\"\nset spoolfile=\"{m}\"\n\
             set crypt_use_gpgme=yes\nset crypt_verify_sig=yes\nset header_cache=\"\"\n",
            m = mail.display()
        ),
    )
    .unwrap();
    let server = format!("reseal-reader-{}", std::process::id());
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .args(["-L", &server])
            .args(args)
            .output()
            .unwrap()
    };
    let _ = tmux(&["kill-server"]);
    let cmd = format!(
        "GNUPGHOME='{}' neomutt -n -F '{}'",
        home.display(),
        root.join("rc").display()
    );
    tmux(&["new-session", "-d", "-x", "160", "-y", "80", &cmd]);
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p"]).stdout).into_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    // The index shows the message (its subject): open it.
    while !screen().contains("Report (") && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    tmux(&["send-keys", "Enter"]);
    let mut s = screen();
    while !(s.contains("-- End of") || s.contains("Error")) && std::time::Instant::now() < deadline
    {
        std::thread::yield_now();
        s = screen();
    }
    let _ = tmux(&["kill-server"]);
    s
}

/// What Reseal sends, opened in NeoMutt: alice's signature good, the text and the
/// disclaimer shown, no modification record and no error as body text.
#[test]
fn neomutt_reads_what_reseal_sends() {
    let f = Fixture::with_openpgp();
    let gpg = common::gpg::Gpg::for_bob();
    let g = Gpgsm::new(&["bob"]);
    for name in [
        "neomutt-gpgme-pgpmime.eml",
        "neomutt-classic-inline.eml",
        "neomutt-smime.eml",
        "s-nail-signed-encrypted.eml",
    ] {
        let (what, out) = through_gateway(&f, name, true);
        let home = if name.contains("smime") || name.starts_with("s-nail") {
            g.home()
        } else {
            gpg.home()
        };
        let s = neomutt_read(&f, home, &out, 30);
        assert!(
            s.contains("Good signature from") && s.contains("alice@example.com"),
            "{what}: NeoMutt shows no good signature by alice:\n{s}"
        );
        assert!(s.contains("Please transfer 100 EUR"), "{what}:\n{s}");
        assert!(s.contains(DISCLAIMER_TEXT), "{what}: no disclaimer:\n{s}");
        assert!(!s.contains("OPES-Record"), "{what}: the record shows:\n{s}");
        assert!(
            !s.contains("Error"),
            "{what}: NeoMutt reports an error:\n{s}"
        );
    }
}
