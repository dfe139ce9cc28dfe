#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `reseal keys ...` as an operator uses it.

mod common;

use common::*;

#[test]
fn list_json_shows_public_facts_only() {
    let f = Fixture::new();
    let out = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = &j["keys"][0];
    assert_eq!(key["delegations"][0], "alice@example.com");
    assert_eq!(key["uses"], serde_json::json!(["sign", "decrypt"]));
    assert_eq!(key["algorithm"], "RSA-2048");
    assert_eq!(key["certificate"]["addresses"][0], "alice@example.com");
    assert!(
        key["certificate"]["not_after"]
            .as_str()
            .unwrap()
            .starts_with("21")
    );
    assert_eq!(j["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(j["trust_anchors"].as_array().unwrap().len(), 1);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("PRIVATE"));
    let plain = f.keys(&["list"]);
    assert!(String::from_utf8_lossy(&plain.stdout).contains("for: alice@example.com"));
}

#[test]
fn wrong_passphrase_and_missing_keystore_are_clear_errors() {
    let f = Fixture::new();
    let mut c = reseal();
    c.env("RESEAL_PASSPHRASE", "not it")
        .args(["keys", "list", "--keystore"])
        .arg(f.keystore());
    let out = run(c, b"");
    assert_eq!(out.status.code(), Some(78));
    assert_eq!(
        stderr(&out).trim(),
        "reseal keys: wrong passphrase for the keystore"
    );
    let out = f.keys_raw(&["init"]);
    assert_eq!(
        out.status.code(),
        Some(77),
        "init twice must fail: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let mut c = reseal();
    c.args(["keys", "list", "--keystore", "/nonexistent/ks"]);
    let out = run(c, b"");
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr(&out).contains("keys init"));
    // No passphrase at all.
    let mut c = reseal();
    c.env_remove("RESEAL_PASSPHRASE")
        .args(["keys", "list", "--keystore"])
        .arg(f.keystore());
    let out = run(c, b"");
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("RESEAL_PASSPHRASE"));
    // A passphrase file works as well as the environment.
    let pf = f.tmp("pass.txt", format!("{PASS}\n").as_bytes());
    let mut c = reseal();
    c.env_remove("RESEAL_PASSPHRASE")
        .args(["keys", "list", "--keystore"])
        .arg(f.keystore())
        .arg("--passphrase-file")
        .arg(&pf);
    ok(&run(c, b""), "passphrase file");
}

#[test]
fn remove_and_reimport() {
    let f = Fixture::new();
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    let id = j["keys"][0]["id"].as_str().unwrap().to_owned();
    f.keys(&["remove", &id]);
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    assert!(j["keys"].as_array().unwrap().is_empty());
    let out = f.keys_raw(&["remove", &id]);
    assert_eq!(out.status.code(), Some(77), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!("reseal keys: no entry with id {id}")
    );
    // Without the key, alice's mail is no longer signed.
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    assert!(!contains(&dec, b"multipart/signed"));
}

#[test]
fn ecdsa_key_from_sec1_pem_signs() {
    let f = Fixture::new();
    f.keys(&[
        "import",
        "--key",
        &v("carol.ec.pem").display().to_string(),
        "--cert",
        &v("carol.pem").display().to_string(),
        "--for",
        "carol@example.com",
    ]);
    let msg = String::from_utf8(read("msg-plain.eml"))
        .unwrap()
        .replace("Alice <alice@example.com>", "Carol <carol@example.com>");
    let out = f.process(
        msg.as_bytes(),
        "carol@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "carol");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    openssl_verify(&dec).unwrap();
    assert_eq!(
        openssl_signer_emails(&dec, f.dir.path()),
        "carol@example.com"
    );
}

#[test]
fn legacy_pkcs12_and_domain_delegation() {
    let f = Fixture::empty();
    f.keys(&[
        "import",
        "--pkcs12",
        &v("alice-legacy.p12").display().to_string(),
        "--pkcs12-password-file",
        &v("alice.p12.pass").display().to_string(),
        "--for",
        "@example.com",
        "--use",
        "sign",
    ]);
    f.keys(&["trust", &v("ca.pem").display().to_string()]);
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["carol@example.com"],
        None,
    );
    ok(&out, "sign only");
    openssl_verify(&out.stdout).unwrap();
    // A sign-only key cannot decrypt: mail encrypted to alice is refused uniformly.
    let out = f.process(
        &read("openssl-enc-gcm.eml"),
        "alice@example.com",
        &["carol@example.com"],
        None,
    );
    assert_eq!(out.status.code(), Some(77));
}

/// Certificates as operators have them (RFC 7468 §3: parsers are lax): text around the
/// blocks, 76-character base64 lines (as GlobalSign publishes its intermediates), one
/// long line, and PKCS#7 bundles in DER and PEM (`openssl crl2pkcs7`).
#[test]
fn certificates_in_the_forms_operators_have_them() {
    let f = Fixture::empty();
    let der = {
        let mut c = std::process::Command::new("openssl");
        c.args(["x509", "-outform", "DER", "-in"]).arg(v("bob.pem"));
        let out = run(c, b"");
        ok(&out, "openssl x509");
        out.stdout
    };
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let wrap = |width: usize| -> String {
        b64.as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    for (what, text) in [
        (
            "76-character lines with text around",
            format!(
                "subject=CN = Bob\nissuer=CN = Example CA\n-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\nthe end\n",
                wrap(76)
            ),
        ),
        (
            "one line",
            format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n"),
        ),
    ] {
        let p = f.tmp("bob-lax.pem", text.as_bytes());
        let out = f.keys_raw(&["import-cert", &p.display().to_string()]);
        ok(&out, what);
    }
    let p7b = f.dir.path().join("bundle.p7b");
    for form in ["DER", "PEM"] {
        let mut c = std::process::Command::new("openssl");
        c.args(["crl2pkcs7", "-nocrl", "-certfile"])
            .arg(v("erin.pem"))
            .args(["-outform", form, "-out"])
            .arg(&p7b);
        ok(&run(c, b""), "openssl crl2pkcs7");
        let out = f.keys_raw(&["import-cert", &p7b.display().to_string()]);
        ok(&out, &format!("PKCS#7 bundle ({form})"));
    }
    let list = f.keys(&["list", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let addrs: Vec<String> = j["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| a.as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(addrs.iter().any(|a| a == "bob@example.org"), "{addrs:?}");
    assert!(addrs.iter().any(|a| a.starts_with("erin@")), "{addrs:?}");
    // A block without its END line is an error, not a guess.
    let bad = f.tmp("bad.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n");
    let out = f.keys_raw(&["import-cert", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(stderr(&out).contains("no END line"), "{}", stderr(&out));
}

/// `keys export-identity --format` writes one kind per file.
#[test]
fn export_identity_one_kind_per_file() {
    let f = Fixture::new();
    let both = String::from_utf8(f.keys(&["export-identity"]).stdout).unwrap();
    assert!(both.contains("BEGIN CERTIFICATE") && both.contains("BEGIN PGP PUBLIC KEY"));
    let x509 = String::from_utf8(f.keys(&["export-identity", "--format", "x509"]).stdout).unwrap();
    assert!(
        x509.contains("BEGIN CERTIFICATE") && !x509.contains("BEGIN PGP"),
        "{x509}"
    );
    let pgp =
        String::from_utf8(f.keys(&["export-identity", "--format", "openpgp"]).stdout).unwrap();
    assert!(
        pgp.contains("BEGIN PGP PUBLIC KEY") && !pgp.contains("CERTIFICATE"),
        "{pgp}"
    );
}

/// `reseal verify` reads trust anchors as operators have them (a CA with 76-character
/// lines and text around it), and a file that is no certificate is exit 65, named.
#[test]
fn verify_reads_lax_pem_and_names_bad_files() {
    let f = Fixture::new();
    let mut c = std::process::Command::new("openssl");
    c.args(["x509", "-outform", "DER", "-in"]).arg(v("ca.pem"));
    let der = run(c, b"").stdout;
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let ca = f.tmp(
        "ca-76.pem",
        format!(
            "subject=CN = Reseal Test CA\n-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
        .as_bytes(),
    );
    let mut c = reseal();
    c.args(["verify", "--json", "--trust"]).arg(&ca);
    let out = run(c, &read("openssl-signed-plain.eml"));
    let j: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(j["outer"]["valid"], true, "{j:#}");
    let bad = f.tmp("not-a-cert.pem", b"hello\n");
    let mut c = reseal();
    c.args(["verify", "--json", "--cert"]).arg(&bad);
    let out = run(c, &read("openssl-signed-plain.eml"));
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    assert!(stderr(&out).contains("not-a-cert.pem"), "{}", stderr(&out));
}

/// Every setting comes from a flag, else the environment, else the configuration file,
/// else the default (README.md, "Settings"), and `keys` reads `--config` like the others.
#[test]
fn settings_come_from_flag_then_environment_then_configuration() {
    let f = Fixture::new();
    let real = f.keystore().to_path_buf();
    let missing = f.tmp("marker", b"").with_file_name("no-keystore-here");
    let pf = f.tmp("pass.txt", format!("{PASS}\n").as_bytes());
    let wrong = f.tmp("wrong.txt", b"not the passphrase\n");
    let conf = |keystore: &std::path::Path, pass: &std::path::Path| {
        f.tmp(
            "reseal.toml",
            format!(
                "keystore = \"{}\"\npassphrase_file = \"{}\"\n",
                keystore.display(),
                pass.display()
            )
            .as_bytes(),
        )
    };
    let list = |args: &[&std::ffi::OsStr], env: &[(&str, &std::ffi::OsStr)]| {
        let mut c = reseal();
        c.env_remove("RESEAL_PASSPHRASE")
            .env_remove("RESEAL_KEYSTORE")
            .env_remove("RESEAL_CONFIG")
            .args(["keys", "list"])
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        run(c, b"").status.code()
    };
    let os = |p: &std::path::Path| p.as_os_str().to_owned();

    // The configuration alone: its keystore and its passphrase file.
    let cfg = conf(&real, &pf);
    assert_eq!(list(&["--config".as_ref(), cfg.as_os_str()], &[]), Some(0));
    // RESEAL_CONFIG names the same file.
    assert_eq!(list(&[], &[("RESEAL_CONFIG", &os(&cfg))]), Some(0));
    // RESEAL_KEYSTORE outranks the configuration's keystore ...
    let cfg = conf(&missing, &pf);
    assert_eq!(
        list(
            &["--config".as_ref(), cfg.as_os_str()],
            &[("RESEAL_KEYSTORE", &os(&real))]
        ),
        Some(0)
    );
    // ... and --keystore outranks RESEAL_KEYSTORE.
    assert_eq!(
        list(
            &[
                "--config".as_ref(),
                cfg.as_os_str(),
                "--keystore".as_ref(),
                real.as_os_str()
            ],
            &[("RESEAL_KEYSTORE", &os(&missing))]
        ),
        Some(0)
    );
    assert_eq!(
        list(
            &["--keystore".as_ref(), missing.as_os_str()],
            &[
                ("RESEAL_KEYSTORE", &os(&real)),
                ("RESEAL_PASSPHRASE", PASS.as_ref())
            ]
        ),
        Some(78),
        "the flag's (missing) keystore must win"
    );
    // RESEAL_PASSPHRASE outranks the configuration's passphrase file ...
    let cfg = conf(&real, &wrong);
    assert_eq!(
        list(
            &["--config".as_ref(), cfg.as_os_str()],
            &[("RESEAL_PASSPHRASE", PASS.as_ref())]
        ),
        Some(0)
    );
    assert_eq!(list(&["--config".as_ref(), cfg.as_os_str()], &[]), Some(78));
    // ... and --passphrase-file outranks RESEAL_PASSPHRASE.
    assert_eq!(
        list(
            &[
                "--config".as_ref(),
                cfg.as_os_str(),
                "--passphrase-file".as_ref(),
                pf.as_os_str()
            ],
            &[("RESEAL_PASSPHRASE", "not it".as_ref())]
        ),
        Some(0)
    );
}

/// `keys expire-check` for monitoring: nothing in the window is exit 0 and no output; a
/// recipient certificate that ends within the window is a line and exit 1 (RFC 5280
/// §4.1.2.5 notAfter); past its end it counts as expired.
#[test]
fn expire_check_reports_what_ends_within_the_window() {
    let f = Fixture::new();
    let quiet = f.keys_raw(&["expire-check", "--days", "30"]);
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert!(quiet.stdout.is_empty());

    // A certificate valid for five more days.
    let key = f.dir.path().join("soon.key");
    let cert = f.dir.path().join("soon.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5",
        ])
        .args(["-subj", "/CN=Soon/emailAddress=soon@example.org"])
        .args(["-addext", "subjectAltName=email:soon@example.org"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    f.keys(&["import-cert", &cert.display().to_string()]);

    let soon = f.keys_raw(&["expire-check", "--days", "30"]);
    assert_eq!(soon.status.code(), Some(1), "{}", stderr(&soon));
    let text = String::from_utf8_lossy(&soon.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("EXPIRES "), "{text}");
    assert!(
        lines[0].contains(" certificate ") && lines[0].contains("Soon"),
        "{text}"
    );
    assert_eq!(
        f.keys_raw(&["expire-check", "--days", "2"]).status.code(),
        Some(0)
    );
    let json = f.keys_raw(&["expire-check", "--days", "30", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(j[0]["kind"], "certificate");
    assert_eq!(j[0]["expired"], false);

    // Seen from ten years on, it has expired (exit 2 in the command).
    let ks = reseal_keystore::Keystore::open(
        &f.keystore(),
        &reseal_keystore::SecretString::from(PASS.to_owned()),
    )
    .unwrap();
    let later = reseal_keystore::now() + 10 * 365 * 86_400;
    let found = reseal::listing::expiring(&ks, later, 0);
    assert!(
        found
            .iter()
            .any(|e| e.kind == "certificate" && e.expired && e.name.contains("Soon")),
        "{found:?}"
    );
}

/// A keystore fixture's entries folder, as the header names it.
fn entry_folders(f: &Fixture) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(f.keystore())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("entries"))
        .collect();
    v.sort();
    v
}

#[test]
fn rotate_passphrase_reseals_everything_and_the_old_one_stops_working() {
    let f = Fixture::new();
    let before = f.keys(&["list", "--json"]).stdout;
    // An orphan of an interrupted rotation (a fresh folder whose header switch never
    // happened) is ignored and cleared.
    std::fs::create_dir(f.keystore().join("entries-00000000deadbeef")).unwrap();
    let new = f.tmp("new.pass", b"a new and longer passphrase\n");
    let out = f.keys(&[
        "rotate-passphrase",
        "--new-passphrase-file",
        new.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("new passphrase"));
    let folders = entry_folders(&f);
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(folders[0].starts_with("entries-"), "{folders:?}");
    // The old passphrase no longer opens it.
    let out = f.keys_raw(&["list"]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    // The new one does, with every entry as it was, and the keys still work.
    let mut c = reseal();
    c.args(["keys", "list", "--json", "--keystore"])
        .arg(f.keystore())
        .env("RESEAL_PASSPHRASE", "a new and longer passphrase");
    let out = run(c, b"");
    ok(&out, "list with the new passphrase");
    assert_eq!(out.stdout, before);
    let mut c = reseal();
    c.args(["process", "--keystore"])
        .arg(f.keystore())
        .args([
            "--mail-from",
            "alice@example.com",
            "--rcpt",
            "bob@example.org",
        ])
        .env("RESEAL_PASSPHRASE", "a new and longer passphrase");
    let out = run(c, &read("msg-plain.eml"));
    ok(&out, "process after the rotation");
    let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
    openssl_verify(&dec).unwrap();
}

/// The id of the fixture's S/MIME key.
fn alice_id(f: &Fixture) -> String {
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    j["keys"][0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_revoked_key_no_longer_signs_but_still_decrypts_unless_told() {
    let f = Fixture::new();
    let id = alice_id(&f);
    let enc = read("openssl-enc-aes256cbc.eml");
    f.keys(&["revoke", &id, "--reason", "laptop stolen"]);
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    assert_eq!(j["keys"][0]["revoked"]["reason"], "laptop stolen");
    assert_eq!(j["keys"][0]["uses"], serde_json::json!(["decrypt"]));
    let text = String::from_utf8(f.keys(&["list"]).stdout).unwrap();
    assert!(text.contains("REVOKED at"), "{text}");
    // No signature by the revoked key.
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    if out.status.success() {
        let dec = openssl_decrypt(&out.stdout, "bob").unwrap();
        assert!(openssl_verify(&dec).is_err(), "signed by a revoked key");
    }
    // Mail sent to it before still opens (this vector is CBC and signed inside).
    let opened = f.process(&enc, "alice@example.com", &["bob@example.org"], None);
    let ks2 = Fixture::new();
    let reference = ks2.process(&enc, "alice@example.com", &["bob@example.org"], None);
    assert_eq!(
        reply_without_trace(&opened),
        reply_without_trace(&reference)
    );
    assert_eq!(opened.status.code(), reference.status.code());
    // With --no-decrypt, it does not.
    f.keys(&["revoke", &id, "--reason", "key compromised", "--no-decrypt"]);
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    assert_eq!(j["keys"][0]["uses"], serde_json::json!([]));
    let out = f.process(&enc, "alice@example.com", &["bob@example.org"], None);
    assert!(!out.status.success());
    assert!(
        reply_without_trace(&out).contains("not to a key the gateway holds"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn delegations_change_without_reimport() {
    let f = Fixture::new();
    let id = alice_id(&f);
    f.keys(&[
        "delegate",
        &id,
        "--for",
        "@example.com",
        "--remove-for",
        "alice@example.com",
    ]);
    let j: serde_json::Value = serde_json::from_slice(&f.keys(&["list", "--json"]).stdout).unwrap();
    assert_eq!(
        j["keys"][0]["delegations"],
        serde_json::json!(["@example.com"])
    );
    // A key acting for nobody is refused; so is removing what is not delegated.
    let out = f.keys_raw(&["delegate", &id, "--remove-for", "@example.com"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("remove the key instead"),
        "{}",
        stderr(&out)
    );
    let out = f.keys_raw(&["delegate", &id, "--remove-for", "carol@example.com"]);
    assert!(!out.status.success());
    // The edited entry is sealed again: it opens, and signs for the domain now.
    let out = f.process(
        &read("msg-plain.eml"),
        "alice@example.com",
        &["bob@example.org"],
        None,
    );
    ok(&out, "process");
    openssl_verify(&openssl_decrypt(&out.stdout, "bob").unwrap()).unwrap();
}

#[test]
fn every_key_use_is_logged_with_its_message_and_without_content() {
    let f = Fixture::new();
    let id = alice_id(&f);
    let log_path = f.keystore().join("key-use.log");
    let msg = read("openssl-sign-then-enc-gcm.eml");
    // A disclaimer, so that the gateway's identity signs a modification record too.
    let cfg = f.config(&format!("{OPES_HEAD}{DISCLAIMER_SERVICE}"));
    let out = f.process(&msg, "alice@example.com", &["bob@example.org"], Some(&cfg));
    ok(&out, "process");
    // The trace id the message carries (OPES-System: ...; id=ID; ...).
    let text = String::from_utf8_lossy(&out.stdout);
    let trace = text
        .split("OPES-System: ")
        .nth(1)
        .and_then(|s| s.split("id=").nth(1))
        .and_then(|s| s.split(';').next())
        .unwrap()
        .to_owned();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let for_message: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["message"] == trace.as_str())
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_owned(),
                l["op"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        for_message.contains(&(id.clone(), "decrypt".into())),
        "{log}"
    );
    assert!(for_message.contains(&(id.clone(), "sign".into())), "{log}");
    assert!(
        for_message.iter().any(|(_, op)| op == "record-sign"),
        "the OPES identity signs the record: {log}"
    );
    // The import is there too, outside any message.
    assert!(
        lines
            .iter()
            .any(|l| l["op"] == "import" && l["key"] == id.as_str() && l["message"] == "-"),
        "{log}"
    );
    // Nothing but those four fields.
    for l in &lines {
        let mut keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["key", "message", "op", "time"]);
    }
    // Fail closed: when the log cannot be written, the key is not used and the message
    // waits (a folder where the log file should be).
    std::fs::remove_file(&log_path).unwrap();
    std::fs::create_dir(&log_path).unwrap();
    let out = f.process(&msg, "alice@example.com", &["bob@example.org"], Some(&cfg));
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        reply_without_trace(&out).starts_with("451"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_openpgp_decryption_whose_key_use_cannot_be_logged_waits() {
    let f = Fixture::with_openpgp();
    let msg = std::fs::read(pv("gpg-pgpmime-signed-encrypted.eml")).unwrap();
    ok(
        &f.process(&msg, "alice@example.com", &["bob@example.org"], None),
        "process with the log",
    );
    let log_path = f.keystore().join("key-use.log");
    std::fs::remove_file(&log_path).unwrap();
    std::fs::create_dir(&log_path).unwrap();
    let out = f.process(&msg, "alice@example.com", &["bob@example.org"], None);
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(
        reply_without_trace(&out).starts_with("451"),
        "{}",
        stderr(&out)
    );
}
