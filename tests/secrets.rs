#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! SECURITY.md invariant 8: no passphrase, password or private-key byte
//! ever leaves the keystore in the clear. An operator's realistic session (init, every
//! kind of import, listing, identity export, processing good and bad mail, verifying,
//! wrong passphrases), all at `RESEAL_LOG=trace`, must not print a secret on stdout or
//! stderr nor write one into the keystore folder.
//!
//! Key material is matched as any 32-byte window of its secret part, in the encodings a
//! leak would take: the raw bytes, hex, base64 at each alignment, and the base64 text
//! of the key files themselves. Public parts (the RSA modulus, the EC public point,
//! certificates) are left out on purpose: printing them is fine.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::*;

const WINDOW: usize = 32;
const WRONG_PASSPHRASE: &str = "wrong keystore passphrase 7Qx2";
const WRONG_PASSWORD: &str = "wrong-key-password-8Lp3";

fn pgp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/openpgp")
        .join(name)
}

fn text_of(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap()
        .trim_end_matches(['\r', '\n'])
        .to_owned()
}

/// Everything the session printed, by command.
struct Session {
    dir: tempfile::TempDir,
    outputs: Vec<(String, Vec<u8>)>,
    ran: usize,
}

impl Session {
    fn new() -> Session {
        Session {
            dir: tempfile::tempdir().unwrap(),
            outputs: Vec::new(),
            ran: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `reseal ARGS` at trace level with the keystore passphrase in the environment;
    /// records stdout and stderr.
    fn run(&mut self, args: &[&str], stdin: &[u8]) -> Output {
        let mut c = reseal();
        c.env("RESEAL_LOG", "trace").args(args);
        self.record(&args.join(" "), c, stdin)
    }

    fn record(&mut self, label: &str, c: Command, stdin: &[u8]) -> Output {
        let out = run(c, stdin);
        self.ran += 1;
        self.outputs
            .push((format!("stdout of `{label}`"), out.stdout.clone()));
        self.outputs
            .push((format!("stderr of `{label}`"), out.stderr.clone()));
        out
    }

    fn keys(&mut self, ks: &Path, args: &[&str]) -> Output {
        let ks = ks.display().to_string();
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--keystore", &ks]);
        self.run(&all, b"")
    }

    fn process(&mut self, ks: &Path, msg: &[u8], from: &str, rcpt: &str) -> Output {
        let ks = ks.display().to_string();
        self.run(
            &[
                "process",
                "--keystore",
                &ks,
                "--mail-from",
                from,
                "--rcpt",
                rcpt,
            ],
            msg,
        )
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push((format!("file {}", p.display()), std::fs::read(&p).unwrap()));
        }
    }
}

/// A DER TLV: tag, where it starts, where its value starts, and its value.
struct Tlv<'a> {
    tag: u8,
    at: usize,
    start: usize,
    value: &'a [u8],
}

/// The TLVs inside `der[range]`, one level deep.
fn tlvs(der: &[u8], mut pos: usize, end: usize) -> Vec<Tlv<'_>> {
    let mut v = Vec::new();
    while pos < end {
        let tag = der[pos];
        let mut len = usize::from(der[pos + 1]);
        let mut hdr = 2;
        if len & 0x80 != 0 {
            let n = len & 0x7f;
            len = der[pos + 2..pos + 2 + n]
                .iter()
                .fold(0, |a, &b| a << 8 | usize::from(b));
            hdr += n;
        }
        let start = pos + hdr;
        v.push(Tlv {
            tag,
            at: pos,
            start,
            value: &der[start..start + len],
        });
        pos = start + len;
    }
    v
}

/// The secret region of a PEM private key file (PKCS#8 RSA or EC, or SEC1 EC): the
/// DER, and the byte range that holds only secret values.
fn secret_region(pem: &str) -> (Vec<u8>, std::ops::Range<usize>) {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(':'))
        .collect();
    let der = B64.decode(body.as_bytes()).unwrap();
    let top = tlvs(&der, 0, der.len());
    assert_eq!(top.len(), 1);
    let inner = tlvs(&der, top[0].start, top[0].start + top[0].value.len());
    // PKCS#8: version, algorithm, OCTET STRING holding the algorithm's own key.
    let (der_key, base) = if inner.len() >= 3 && inner[1].tag == 0x30 && inner[2].tag == 0x04 {
        (inner[2].value, inner[2].start)
    } else {
        (&der[..], 0)
    };
    let seq = &tlvs(der_key, 0, der_key.len())[0];
    let fields = tlvs(der_key, seq.start, seq.start + seq.value.len());
    let range = if fields.len() >= 9 && fields.iter().take(9).all(|f| f.tag == 0x02) {
        // RSAPrivateKey (RFC 8017 A.1.2): version, n, e, then d, p, q, dp, dq, qinv.
        let (d, last) = (&fields[3], &fields[8]);
        base + d.at..base + last.start + last.value.len()
    } else {
        // ECPrivateKey (RFC 5915 §3): version, privateKey OCTET STRING, [0], [1] public.
        let k = &fields[1];
        assert_eq!(k.tag, 0x04, "not an RSA or EC private key");
        base + k.start..base + k.start + k.value.len()
    };
    (der, range)
}

/// What a leak would contain: 32-byte windows of secrets, and whole secrets that are
/// shorter than a window (an EC scalar with a leading zero byte).
#[derive(Default)]
struct Needles {
    windows: HashMap<Vec<u8>, String>,
    short: Vec<(Vec<u8>, String)>,
}

/// The needles a leak of `secret` would contain: 32-byte windows of the raw bytes, of
/// hex in both cases, and of base64 at each of the three alignments.
fn add_windows(needles: &mut Needles, secret: &[u8], what: &str) {
    let mut push = |bytes: &[u8], form: &str| {
        if bytes.len() < WINDOW {
            assert!(
                bytes.len() >= 16,
                "{what}: a secret this short cannot be matched"
            );
            needles
                .short
                .push((bytes.to_vec(), format!("{what} ({form})")));
        }
        for w in bytes.windows(WINDOW) {
            needles
                .windows
                .insert(w.to_vec(), format!("{what} ({form})"));
        }
    };
    push(secret, "raw");
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    push(hex.as_bytes(), "hex");
    push(hex.to_ascii_uppercase().as_bytes(), "HEX");
    for skip in 0..3.min(secret.len()) {
        let b = B64.encode(&secret[skip..]);
        // The last quantum depends on what follows the secret in a larger encoding.
        let cut = b.len().saturating_sub(4);
        push(&b.as_bytes()[..cut], "base64");
    }
}

/// Needles for a PEM key file: its secret DER region in every encoding, plus the
/// base64 text of the file that encodes only secret bytes.
fn pem_needles(needles: &mut Needles, file: &Path) {
    let pem = std::fs::read_to_string(file).unwrap();
    let (der, range) = secret_region(&pem);
    let what = format!("{} secret key material", file.display());
    add_windows(needles, &der[range.clone()], &what);
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !l.contains(':'))
        .collect();
    let from = range.start.div_ceil(3) * 4;
    let to = range.end / 3 * 4;
    for w in body.as_bytes()[from..to].windows(WINDOW) {
        needles
            .windows
            .insert(w.to_vec(), format!("{what} (file base64 text)"));
    }
}

/// Needles for the secret scalars of an OpenPGP key file.
fn openpgp_needles(needles: &mut Needles, file: &Path, password: Option<&str>) {
    use sequoia_openpgp::crypto::mpi;
    use sequoia_openpgp::packet::key::SecretKeyMaterial;
    use sequoia_openpgp::parse::Parse as _;
    let cert = sequoia_openpgp::Cert::from_file(file).unwrap();
    let mut found = 0;
    for ka in cert.keys().secret() {
        let mut key = ka.key().clone();
        if let Some(pw) = password {
            key = key.decrypt_secret(&pw.into()).unwrap();
        }
        let SecretKeyMaterial::Unencrypted(u) = key.optional_secret().unwrap() else {
            panic!("{}: secret still encrypted", file.display());
        };
        let values: Vec<Vec<u8>> = u.map(|m| match m {
            mpi::SecretKeyMaterial::EdDSA { scalar } | mpi::SecretKeyMaterial::ECDH { scalar } => {
                vec![scalar.value().to_vec()]
            }
            mpi::SecretKeyMaterial::RSA { d, p, q, u } => vec![
                d.value().to_vec(),
                p.value().to_vec(),
                q.value().to_vec(),
                u.value().to_vec(),
            ],
            other => panic!("unexpected key type {other:?}"),
        });
        for v in values {
            let what = format!("{} secret scalar", file.display());
            add_windows(needles, &v, &what);
            let mut rev = v.clone();
            rev.reverse();
            add_windows(needles, &rev, &what);
            found += 1;
        }
    }
    assert!(found >= 2, "{}: no secret keys found", file.display());
}

/// Finds any needle in `hay`, as it is and with all whitespace removed (base64 folded
/// into lines).
fn find_leak(hay: &[u8], needles: &Needles) -> Option<String> {
    let squeezed: Vec<u8> = hay
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    for h in [hay, &squeezed[..]] {
        for (i, w) in h.windows(WINDOW).enumerate() {
            if let Some(what) = needles.windows.get(w) {
                return Some(format!("{what} at byte {i}"));
            }
        }
        if let Some((_, what)) = needles.short.iter().find(|(n, _)| contains(h, n)) {
            return Some(what.clone());
        }
    }
    None
}

#[test]
fn no_secret_reaches_output_or_keystore_files_at_trace_level() {
    let mut s = Session::new();
    let ks = s.path("ks");
    let ks2 = s.path("ks-protected");
    let secrets_dir = tempfile::tempdir().unwrap();
    let p12_pass = text_of(&v("alice.p12.pass"));
    let pgp_pass = text_of(&pgp("alice.pass"));
    let wrong_pw_file = secrets_dir.path().join("wrong.pass");
    std::fs::write(&wrong_pw_file, WRONG_PASSWORD).unwrap();
    let pass_file = secrets_dir.path().join("keystore.pass");
    std::fs::write(&pass_file, format!("{PASS}\n")).unwrap();
    let wrong_pass_file = secrets_dir.path().join("keystore-wrong.pass");
    std::fs::write(&wrong_pass_file, format!("{WRONG_PASSPHRASE}\n")).unwrap();
    let vs = |name: &str| v(name).display().to_string();
    let pv = |name: &str| pgp(name).display().to_string();

    // Keystore and imports: PKCS#12, PEM (PKCS#8 RSA, SEC1 EC), OpenPGP plain and
    // protected.
    for k in [&ks, &ks2] {
        ok(
            &s.keys(k, &["init", "--kdf-memory-mib", "8", "--kdf-passes", "1"]),
            "init",
        );
    }
    let imports: Vec<Vec<String>> = vec![
        vec![
            "--pkcs12".into(),
            vs("alice.p12"),
            "--pkcs12-password-file".into(),
            vs("alice.p12.pass"),
            "--for".into(),
            "alice@example.com".into(),
        ],
        vec![
            "--key".into(),
            vs("bob.key"),
            "--cert".into(),
            vs("bob.pem"),
            "--for".into(),
            "bob@example.org".into(),
        ],
        vec![
            "--key".into(),
            vs("carol.ec.pem"),
            "--cert".into(),
            vs("carol.pem"),
            "--for".into(),
            "carol@example.com".into(),
        ],
        vec![
            "--openpgp".into(),
            pv("alice.sec.asc"),
            "--for".into(),
            "alice@example.com".into(),
        ],
    ];
    for args in &imports {
        let mut a = vec!["import"];
        a.extend(args.iter().map(String::as_str));
        ok(&s.keys(&ks, &a), &format!("import {args:?}"));
    }
    let protected = pv("alice-protected.sec.asc");
    let pgp_pass_file = pv("alice.pass");
    // A wrong key password first, then the right one.
    let wrong = wrong_pw_file.display().to_string();
    let out = s.keys(
        &ks2,
        &[
            "import",
            "--openpgp",
            &protected,
            "--openpgp-password-file",
            &wrong,
            "--for",
            "alice@example.com",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(77),
        "a wrong OpenPGP key password must fail"
    );
    let out = s.keys(
        &ks2,
        &[
            "import",
            "--pkcs12",
            &vs("alice.p12"),
            "--pkcs12-password-file",
            &wrong,
            "--for",
            "alice@example.com",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(77),
        "a wrong PKCS#12 password must fail"
    );
    ok(
        &s.keys(
            &ks2,
            &[
                "import",
                "--openpgp",
                &protected,
                "--openpgp-password-file",
                &pgp_pass_file,
                "--for",
                "alice@example.com",
            ],
        ),
        "protected OpenPGP import",
    );
    ok(
        &s.keys(
            &ks,
            &[
                "import-cert",
                &vs("bob.pem"),
                &vs("erin.pem"),
                &pv("bob.pub.asc"),
            ],
        ),
        "import-cert",
    );
    ok(&s.keys(&ks, &["trust", &vs("ca.pem")]), "trust");
    for args in [&["list"][..], &["list", "--json"], &["export-identity"]] {
        ok(&s.keys(&ks, args), &format!("{args:?}"));
    }
    ok(&s.keys(&ks2, &["list", "--json"]), "list ks2");
    let identity = s.keys(&ks, &["export-identity"]).stdout;
    let identity_file = s.path("identity.pem");
    std::fs::write(&identity_file, &identity).unwrap();

    // Wrong passphrases, from the environment and from a file.
    let mut c = reseal();
    c.env("RESEAL_LOG", "trace")
        .env("RESEAL_PASSPHRASE", WRONG_PASSPHRASE)
        .args(["keys", "list", "--keystore"])
        .arg(&ks);
    // A wrong passphrase is a configuration error: 78, never a crash (101).
    assert_eq!(
        s.record("keys list (wrong passphrase)", c, b"")
            .status
            .code(),
        Some(78)
    );
    let mut c = reseal();
    c.env("RESEAL_LOG", "trace")
        .env("RESEAL_PASSPHRASE", WRONG_PASSPHRASE)
        .args(["process", "--mail-from", "alice@example.com", "--rcpt"])
        .arg("bob@example.org")
        .arg("--keystore")
        .arg(&ks);
    let out = s.record("process (wrong passphrase)", c, &read("msg-plain.eml"));
    assert_eq!(out.status.code(), Some(78));
    for (file, label, good) in [
        (&wrong_pass_file, "keys list (wrong file)", false),
        (&pass_file, "keys list (passphrase file)", true),
    ] {
        let mut c = reseal();
        c.env("RESEAL_LOG", "trace")
            .env_remove("RESEAL_PASSPHRASE")
            .args(["keys", "list", "--keystore"])
            .arg(&ks)
            .arg("--passphrase-file")
            .arg(file);
        let want = if good { 0 } else { 78 };
        assert_eq!(s.record(label, c, b"").status.code(), Some(want), "{label}");
    }

    // Mail: sign + encrypt, decrypt with each technology, and failures of every kind.
    let smime_ok = [
        "msg-plain.eml",
        "openssl-enc-gcm.eml",
        "openssl-signed-plain.eml",
        "openssl-sign-then-enc-gcm.eml",
    ];
    // Each refusal with its exit code: 65 for what is not a CMS object, 77 for the one
    // crypto reply and for refusals (never a crash, 101).
    let smime_bad = [
        ("openssl-enc-garbage.eml", 65),
        ("openssl-enc-gcm-tampered-tag.eml", 77),
        ("openssl-enc-cbc-tampered-padding.eml", 77),
        ("openssl-enc-truncated.eml", 65),
        ("openssl-signed-tampered-sig.eml", 77),
        // Decrypted with bob's PEM key (delegated for the recipient), then refused:
        // unsigned CBC (SECURITY.md invariant 2).
        ("openssl-enc-to-bob-only.eml", 77),
    ];

    let mut delivered = Vec::new();
    for name in smime_ok {
        let out = s.process(&ks, &read(name), "alice@example.com", "bob@example.org");
        ok(&out, name);
        delivered.push(out.stdout);
    }
    for (name, code) in smime_bad {
        let out = s.process(&ks, &read(name), "alice@example.com", "bob@example.org");
        assert_eq!(out.status.code(), Some(code), "{name} must be refused");
    }
    let pgp_ok = [
        "gpg-pgpmime-encrypted.eml",
        "gpg-pgpmime-signed-encrypted.eml",
    ];
    let pgp_bad = [
        "mdc-altered.eml",
        "mdc-stripped.eml",
        "sed-encrypted.eml",
        "wrong-key-encrypted.eml",
    ];
    for name in pgp_ok {
        let msg = std::fs::read(pgp(name)).unwrap();
        ok(
            &s.process(&ks, &msg, "alice@example.com", "bob@example.org"),
            name,
        );
        // The protected key, unlocked at import; this keystore knows no recipient
        // certificate, so the outcome may be a refusal: only the output matters.
        s.process(&ks2, &msg, "alice@example.com", "bob@example.org");
    }
    for name in pgp_bad {
        let msg = std::fs::read(pgp(name)).unwrap();
        let out = s.process(&ks, &msg, "alice@example.com", "bob@example.org");
        // Refused (77), with the one reply; never a crash (101).
        assert_eq!(out.status.code(), Some(77), "{name} must be refused");
    }

    // Verify as the recipient: with a PEM key, a PKCS#12 file and an OpenPGP key.
    let trust = vs("ca.pem");
    let opes = identity_file.display().to_string();
    let original = s.path("original.eml").display().to_string();
    for msg in &delivered {
        let out = s.run(
            &[
                "verify",
                "--json",
                "--trust",
                &trust,
                "--opes-cert",
                &opes,
                "--key",
                &vs("bob.key"),
                "--cert",
                &vs("bob.pem"),
                "--extract-original",
                &original,
            ],
            msg,
        );
        assert!(!out.stdout.is_empty(), "verify printed a report");
    }
    for args in [
        vec![
            "--pkcs12".to_owned(),
            vs("alice.p12"),
            "--pkcs12-password-file".to_owned(),
            vs("alice.p12.pass"),
        ],
        vec![
            "--pkcs12".to_owned(),
            vs("alice.p12"),
            "--pkcs12-password-file".to_owned(),
            wrong.clone(),
        ],
        vec!["--openpgp-key".to_owned(), pv("alice.sec.asc")],
    ] {
        let mut a = vec!["verify", "--trust", trust.as_str()];
        a.extend(args.iter().map(String::as_str));
        s.run(&a, &read("openssl-enc-gcm.eml"));
        s.run(
            &a,
            &std::fs::read(pgp("gpg-pgpmime-encrypted.eml")).unwrap(),
        );
    }

    // What to look for.
    let mut needles = Needles::default();
    for key in ["alice.key", "bob.key", "carol.ec.pem", "carol.key"] {
        pem_needles(&mut needles, &v(key));
    }
    openpgp_needles(&mut needles, &pgp("alice.sec.asc"), None);
    openpgp_needles(
        &mut needles,
        &pgp("alice-protected.sec.asc"),
        Some(&pgp_pass),
    );
    let phrases: Vec<(&str, &str)> = vec![
        (PASS, "the keystore passphrase"),
        (WRONG_PASSPHRASE, "a wrong keystore passphrase"),
        (&p12_pass, "the PKCS#12 password"),
        (&pgp_pass, "the OpenPGP key passphrase"),
        (WRONG_PASSWORD, "a wrong key password"),
    ];

    // Where to look: every output, every keystore file, the extracted original.
    let mut hay = std::mem::take(&mut s.outputs);
    files_under(&ks, &mut hay);
    files_under(&ks2, &mut hay);
    if let Ok(o) = std::fs::read(&original) {
        hay.push(("the extracted original".into(), o));
    }
    let files = hay.iter().filter(|(l, _)| l.starts_with("file ")).count();
    assert!(files >= 4, "the keystore folders hold files ({files})");
    assert!(s.ran >= 40, "the session ran {} commands", s.ran);
    // The log level really was raised: debug events reached stderr.
    assert!(
        hay.iter()
            .any(|(l, b)| l.starts_with("stderr") && contains(b, b"DEBUG")),
        "RESEAL_LOG=trace produced no debug output"
    );

    let mut leaks = Vec::new();
    let mut seen = HashSet::new();
    for (label, bytes) in &hay {
        for (p, what) in &phrases {
            if contains(bytes, p.as_bytes()) && seen.insert((label.clone(), *what)) {
                leaks.push(format!("{label}: {what}"));
            }
        }
        if let Some(what) = find_leak(bytes, &needles) {
            leaks.push(format!("{label}: {what}"));
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

/// The detector itself: it finds key material in each form a leak could take, and does
/// not flag what is public.
#[test]
fn leak_detector_finds_key_material_and_ignores_public_parts() {
    let mut needles = Needles::default();
    pem_needles(&mut needles, &v("alice.key"));
    pem_needles(&mut needles, &v("carol.ec.pem"));
    openpgp_needles(&mut needles, &pgp("alice.sec.asc"), None);
    let pem = std::fs::read_to_string(v("alice.key")).unwrap();
    let (der, range) = secret_region(&pem);
    let secret = &der[range];
    let hex: String = secret.iter().map(|b| format!("{b:02X}")).collect();
    let folded: Vec<u8> = B64
        .encode(&secret[1..])
        .as_bytes()
        .chunks(60)
        .flat_map(|c| [c, b"\r\n "].concat())
        .collect();
    let last_line = pem.lines().rev().nth(2).unwrap();
    for (what, hay) in [
        ("the key file", pem.as_bytes().to_vec()),
        ("one base64 line of it", last_line.as_bytes().to_vec()),
        ("raw DER", secret[40..80].to_vec()),
        ("hex", hex.as_bytes()[100..140].to_vec()),
        ("folded base64", folded),
        ("the EC key file", std::fs::read(v("carol.ec.pem")).unwrap()),
        (
            "the OpenPGP secret key file",
            std::fs::read(pgp("alice.sec.asc")).unwrap(),
        ),
    ] {
        assert!(find_leak(&hay, &needles).is_some(), "{what} not detected");
    }
    for public in [
        std::fs::read(v("alice.pem")).unwrap(),
        std::fs::read(v("carol.pem")).unwrap(),
        std::fs::read(pgp("alice.pub.asc")).unwrap(),
    ] {
        assert_eq!(find_leak(&public, &needles), None, "public data flagged");
    }
}

/// The whole suite's output: `scripts/test.sh` runs every test with `RESEAL_TRANSCRIPTS`
/// set, so that every `reseal` run's stdout and stderr and every `serve`/`milter` log (at
/// `RESEAL_LOG=trace`) is kept (tests/common `run`, `daemon_output`, postfix `Daemon`),
/// and then runs this test, which searches all of it for the test passphrase, the SMTP
/// test password and the private-key bytes of every vector key. It needs the
/// transcripts, so it runs only when asked for (`--ignored`), after the suite.
#[test]
#[ignore = "run by scripts/test.sh after the whole suite, with RESEAL_TRANSCRIPTS set"]
fn whole_suite_output_holds_no_secret() {
    let dir = transcripts().expect("set RESEAL_TRANSCRIPTS to the folder the suite wrote");
    let mut hay = Vec::new();
    files_under(&dir, &mut hay);
    // The capture really happened: many runs, and daemon logs at trace level.
    assert!(
        hay.len() >= 300,
        "only {} transcripts in {}",
        hay.len(),
        dir.display()
    );
    let daemons = hay
        .iter()
        .filter(|(l, b)| {
            (l.contains("-serve.log") || l.contains("-daemon.log")) && contains(b, b"DEBUG")
        })
        .count();
    assert!(daemons >= 3, "{daemons} daemon logs at debug level");

    let mut needles = Needles::default();
    for key in [
        "alice.key",
        "bob.key",
        "carol.ec.pem",
        "carol.key",
        "dave.key",
        "erin.key",
        "mallory.key",
        "expired.key",
    ] {
        pem_needles(&mut needles, &v(key));
    }
    for key in [
        "alice.sec.asc",
        "alice-rsa.sec.asc",
        "bob.sec.asc",
        "carol.sec.asc",
        "dave.sec.asc",
    ] {
        openpgp_needles(&mut needles, &pgp(key), None);
    }
    let pgp_pass = text_of(&pgp("alice.pass"));
    openpgp_needles(
        &mut needles,
        &pgp("alice-protected.sec.asc"),
        Some(&pgp_pass),
    );
    let p12_pass = text_of(&v("alice.p12.pass"));
    // tests/smtp.rs: alice's SMTP password, plainly and as AUTH PLAIN carries it.
    let auth_plain = B64.encode(b"\0alice\0swordfish");
    let phrases: Vec<(&str, &str)> = vec![
        (PASS, "the keystore passphrase"),
        (&p12_pass, "the PKCS#12 password"),
        (&pgp_pass, "the OpenPGP key passphrase"),
        ("swordfish", "the SMTP password"),
        (&auth_plain, "the SMTP AUTH PLAIN response"),
    ];
    let mut leaks = Vec::new();
    for (label, bytes) in &hay {
        for (p, what) in &phrases {
            if contains(bytes, p.as_bytes()) {
                leaks.push(format!("{label}: {what}"));
            }
        }
        if let Some(what) = find_leak(bytes, &needles) {
            leaks.push(format!("{label}: {what}"));
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}
