#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The attack corpus (tests/corpus/attacks, made by scripts/make-corpus.py from the
//! published attack classes of SECURITY.md): Efail direct exfiltration, CBC and CFB gadgets,
//! MDC stripping, the "Johnny, you are fired" CMS, GPG API, MIME wrapping and ID classes,
//! REPLY-style hidden ciphertext, signature and record stripping; and DLP evasions
//! (card numbers in forms a fail-open DLP skipped), run with the case's configuration.
//!
//! For every case: `reseal process` with the case's envelope gives the expected exit code
//! and keeps the case's invariants (no secret released to bob, no signature where none
//! may be, nested ciphertext left alone, one uniform reply for integrity failures), and
//! `reseal verify --json` never calls an attack valid: no `outer.valid: true` unless the
//! case expects exactly that, no secret in its output or in the extracted original.
//!
//! `RESEAL_CORPUS_ALLOW_KNOWN=1` reports cases marked `known_issue` without failing on them.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::*;

const SECRET: &[u8] = b"transfer 100 EUR";
const UNIFORM: &str = "554 5.7.5 The message could not be decrypted or failed an integrity check";
/// Every class of SECURITY.md, "Invariants" the corpus must cover, each with at least [`MIN_PER_CLASS`].
const CLASSES: &[&str] = &[
    "efail-direct",
    "efail-cbc",
    "efail-cfb",
    "mdc-strip",
    "johnny-cms",
    "gpg-api",
    "mime-wrap",
    "id",
    "reply",
    "sig-strip",
    "record-strip",
    "dlp-evasion",
];
const MIN_PER_CLASS: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> PathBuf {
    root().join("tests/corpus/attacks")
}

fn pv(name: &str) -> PathBuf {
    root().join("vectors/openpgp").join(name)
}

/// `Fixture::new()` plus alice's OpenPGP keys and the OpenPGP certificates (the same
/// keystore as the malformed corpus).
fn corpus_fixture() -> Fixture {
    let f = Fixture::new();
    for key in ["alice.sec.asc", "alice-rsa.sec.asc"] {
        f.keys(&[
            "import",
            "--openpgp",
            &pv(key).display().to_string(),
            "--for",
            "alice@example.com",
        ]);
    }
    let certs: Vec<String> = [
        "bob.pub.asc",
        "carol.pub.asc",
        "dave.pub.asc",
        "mallory.pub.asc",
        "expired.pub.asc",
        "revoked.pub.asc",
    ]
    .iter()
    .map(|c| pv(c).display().to_string())
    .collect();
    let mut args = vec!["import-cert"];
    args.extend(certs.iter().map(String::as_str));
    f.keys(&args);
    f
}

/// `@smime/x`, `@openpgp/x`, `@attacks/x` to paths.
fn resolve(arg: &str) -> String {
    for (prefix, dir) in [
        ("@smime/", root().join("vectors/smime")),
        ("@openpgp/", root().join("vectors/openpgp")),
        ("@attacks/", corpus()),
    ] {
        if let Some(rest) = arg.strip_prefix(prefix) {
            return dir.join(rest).display().to_string();
        }
    }
    arg.to_owned()
}

fn codes(v: &serde_json::Value) -> Vec<i32> {
    match v {
        serde_json::Value::Array(a) => a
            .iter()
            .map(|c| i32::try_from(c.as_i64().unwrap()).unwrap())
            .collect(),
        c => vec![i32::try_from(c.as_i64().unwrap()).unwrap()],
    }
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    v.and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn json_path<'a>(doc: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(doc, |d, k| &d[k])
}

/// The header block of an entity (up to the first empty line).
fn header(entity: &[u8]) -> &[u8] {
    let end = entity
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| entity.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(entity.len());
    &entity[..end]
}

/// Whether an entity's own Content-Type is a signature container.
fn entity_signed(entity: &[u8]) -> bool {
    let h = String::from_utf8_lossy(header(entity)).to_ascii_lowercase();
    let h = h.replace("\r\n ", " ").replace("\r\n\t", " ");
    h.lines()
        .filter(|l| l.starts_with("content-type:"))
        .any(|l| l.contains("multipart/signed") || l.contains("signed-data"))
}

/// What bob reads from an output: (the decrypted entity, whether it is signed), or None
/// when he cannot decrypt it.
struct Bob {
    home: tempfile::TempDir,
}

impl Bob {
    fn new() -> Bob {
        let home = tempfile::Builder::new()
            .prefix("gb")
            .tempdir_in("/tmp")
            .unwrap();
        for k in ["bob.sec.asc", "alice.pub.asc", "alice-rsa.pub.asc"] {
            let mut c = Command::new("gpg");
            c.env("GNUPGHOME", home.path())
                .args(["--batch", "--import"])
                .arg(pv(k));
            ok(&run(c, b""), "gpg --import");
        }
        Bob { home }
    }

    /// Decrypts as bob; a signature the output carries must verify.
    fn read(&self, out: &[u8]) -> Result<(Vec<u8>, bool), String> {
        let head = String::from_utf8_lossy(header(out)).to_ascii_lowercase();
        if head.contains("application/pkcs7-mime") || head.contains("application/x-pkcs7-mime") {
            let dec =
                openssl_decrypt(out, "bob").map_err(|e| format!("bob cannot decrypt: {e}"))?;
            let signed = entity_signed(&dec);
            if signed {
                openssl_verify(&dec).map_err(|e| format!("the output's signature fails: {e}"))?;
            }
            Ok((dec, signed))
        } else if head.contains("multipart/encrypted") {
            let begin = b"-----BEGIN PGP MESSAGE-----";
            let end = b"-----END PGP MESSAGE-----";
            let s = out
                .windows(begin.len())
                .position(|w| w == begin)
                .ok_or("no armored message")?;
            let e = out
                .windows(end.len())
                .position(|w| w == end)
                .ok_or("no armor end")?
                + end.len();
            let mut c = Command::new("gpg");
            c.env("GNUPGHOME", self.home.path())
                .args(["--batch", "--status-fd", "2", "--decrypt"]);
            let r = run(c, &out[s..e]);
            if !contains(&r.stderr, b"[GNUPG:] DECRYPTION_OKAY") {
                return Err(format!("bob cannot decrypt: {}", stderr(&r).trim()));
            }
            let signed = contains(&r.stderr, b"[GNUPG:] NEWSIG") || entity_signed(&r.stdout);
            if contains(&r.stderr, b"[GNUPG:] NEWSIG") && !contains(&r.stderr, b"[GNUPG:] GOODSIG")
            {
                return Err(format!(
                    "the output's signature fails: {}",
                    stderr(&r).trim()
                ));
            }
            Ok((r.stdout, signed))
        } else {
            Ok((out.to_vec(), entity_signed(out)))
        }
    }
}

impl Drop for Bob {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .status();
    }
}

struct Case {
    name: String,
    class: String,
    data: Vec<u8>,
    spec: serde_json::Value,
}

fn load() -> Vec<Case> {
    let dir = corpus();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let cases = doc["cases"].as_object().unwrap();
    for e in std::fs::read_dir(&dir).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        if n.ends_with(".eml") {
            assert!(cases.contains_key(&n), "{n} has no entry in expected.json");
        }
    }
    cases
        .iter()
        .map(|(name, c)| Case {
            name: name.clone(),
            class: c["class"].as_str().unwrap().to_owned(),
            data: std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}")),
            spec: c.clone(),
        })
        .collect()
}

fn check_process(f: &Fixture, bob: &Bob, case: &Case, p: &serde_json::Value) -> Vec<String> {
    let mut bad = Vec::new();
    let mail_from = p["mail_from"].as_str().unwrap();
    let rcpts = strings(p.get("rcpts"));
    let rcpts: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    // Cases that need services name their configuration; each gets its own file (the
    // cases run in parallel).
    let config = p
        .get("config")
        .and_then(|c| c.as_str())
        .map(|toml| f.tmp(&format!("{}.toml", case.name), toml.as_bytes()));
    let out = f.process(&case.data, mail_from, &rcpts, config.as_deref());
    let code = out.status.code();
    let err = stderr(&out);
    if let Some(want) = p.get("reply").and_then(|r| r.as_str())
        && !err.starts_with(want)
    {
        bad.push(format!(
            "reply {:?} does not start with {want:?}",
            err.trim().chars().take(160).collect::<String>()
        ));
    }
    let want = codes(&p["exit"]);
    match code {
        Some(c) if want.contains(&c) => {}
        Some(101) => bad.push(format!(
            "process PANIC: {}",
            err.trim().lines().take(2).collect::<Vec<_>>().join(" / ")
        )),
        other => bad.push(format!(
            "process exit {other:?}, expected one of {want:?}: {}",
            err.trim()
        )),
    }
    let inv = strings(p.get("invariants"));
    let has = |i: &str| inv.iter().any(|x| x == i);
    if code != Some(0) {
        if !out.stdout.is_empty() {
            bad.push("process failed but wrote to stdout".into());
        }
        if code != Some(101) && err.trim().lines().count() != 1 {
            bad.push(format!("stderr is not one line: {}", err.trim()));
        }
        if has("uniform-reply") && code != Some(101) && !err.starts_with(UNIFORM) {
            bad.push(format!("reply is not the uniform one: {}", err.trim()));
        }
    }
    if has("no-secret") && contains(&out.stdout, SECRET) {
        bad.push("the secret is in clear on stdout".into());
    }
    if code == Some(0) {
        match bob.read(&out.stdout) {
            Err(e) => bad.push(e),
            Ok((seen, signed)) => {
                if has("no-secret") && contains(&seen, SECRET) {
                    bad.push("plaintext released: bob reads the secret".into());
                }
                if has("unsigned") && signed {
                    bad.push("the output carries a signature".into());
                }
                if has("ciphertext-kept")
                    && !(contains(&seen, b"application/pkcs7-mime")
                        || contains(&seen, b"BEGIN PGP MESSAGE"))
                {
                    bad.push("the nested ciphertext was not kept".into());
                }
                if has("header-clean")
                    && (contains(header(&seen), b"GNUPG")
                        || contains(header(&out.stdout), b"GNUPG"))
                {
                    bad.push("fake status text reached a header".into());
                }
            }
        }
    }
    bad
}

fn check_verify(f: &Fixture, case: &Case, v: &serde_json::Value) -> Vec<String> {
    let mut bad = Vec::new();
    let orig = f.dir.path().join(format!("{}.original", case.name));
    let _ = std::fs::remove_file(&orig);
    let mut c = reseal();
    c.args(["verify", "--json"]);
    for a in strings(v.get("args")) {
        c.arg(resolve(&a));
    }
    if v["extract_original"].as_bool().unwrap_or(false) {
        c.arg("--extract-original").arg(&orig);
    }
    let out = run(c, &case.data);
    let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => {
            bad.push(format!(
                "verify: no JSON ({e}), exit {:?}: {}",
                out.status.code(),
                stderr(&out)
                    .trim()
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" / ")
            ));
            return bad;
        }
    };
    let expect = v["expect"].as_object().unwrap();
    for (path, want) in expect {
        let got = json_path(&report, path);
        if got != want {
            bad.push(format!("verify: {path} is {got}, expected {want}"));
        }
    }
    // No false "valid": only where the case says the signature really is valid.
    if report["outer"]["valid"] == true && expect.get("outer.valid") != Some(&true.into()) {
        bad.push(format!(
            "verify: outer.valid is true (signer {})",
            report["outer"]["signer"]
        ));
    }
    let want_code = if report["verdict"] == "pass" { 0 } else { 1 };
    if out.status.code() != Some(want_code) {
        bad.push(format!(
            "verify exit {:?} for verdict {}",
            out.status.code(),
            report["verdict"]
        ));
    }
    if strings(v.get("invariants"))
        .iter()
        .any(|i| i == "no-secret")
    {
        if contains(&out.stdout, SECRET) {
            bad.push("verify printed the secret".into());
        }
        if std::fs::read(&orig).is_ok_and(|o| contains(&o, SECRET)) {
            bad.push("verify --extract-original wrote the secret".into());
        }
    }
    bad
}

#[test]
fn attack_corpus_gives_no_false_valid_and_releases_nothing() {
    let cases = load();
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        assert!(
            CLASSES.contains(&c.class.as_str()),
            "{}: unknown class {}",
            c.name,
            c.class
        );
        assert!(
            c.name.starts_with(&format!("{}-", c.class)),
            "{}: the file name must start with its class",
            c.name
        );
        *per_class.entry(c.class.as_str()).or_default() += 1;
    }
    for class in CLASSES {
        let n = per_class.get(class).copied().unwrap_or(0);
        assert!(
            n >= MIN_PER_CLASS,
            "class {class} has {n} case(s), at least {MIN_PER_CLASS} needed"
        );
    }
    let f = corpus_fixture();
    let bob = Bob::new();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    let chunk = cases.len().div_ceil(threads);
    let start = std::time::Instant::now();
    let results: Vec<(Vec<String>, Vec<String>, usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                let bob = &bob;
                s.spawn(move || {
                    let (mut failures, mut known) = (Vec::new(), Vec::new());
                    let (mut processed, mut verified) = (0usize, 0usize);
                    for case in part {
                        let mut bad = Vec::new();
                        if let Some(p) = case.spec.get("process") {
                            processed += 1;
                            bad.extend(check_process(f, bob, case, p));
                        }
                        if let Some(v) = case.spec.get("verify") {
                            verified += 1;
                            bad.extend(check_verify(f, case, v));
                        }
                        let bad = bad.into_iter().map(|b| format!("{}: {b}", case.name));
                        match case.spec.get("known_issue").and_then(|k| k.as_str()) {
                            Some(k) => known.extend(bad.map(|b| format!("{b} [known issue: {k}]"))),
                            None => failures.extend(bad),
                        }
                    }
                    (failures, known, processed, verified)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (mut failures, mut known) = (Vec::new(), Vec::new());
    let (mut processed, mut verified) = (0, 0);
    for (fl, k, p, v) in results {
        failures.extend(fl);
        known.extend(k);
        processed += p;
        verified += v;
    }
    eprintln!(
        "attack corpus: {} cases ({}), {processed} process and {verified} verify runs in {:.1} s; \
         {} failure(s), {} known issue(s)",
        cases.len(),
        per_class
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        start.elapsed().as_secs_f64(),
        failures.len(),
        known.len()
    );
    for k in &known {
        eprintln!("{k}");
    }
    if std::env::var_os("RESEAL_CORPUS_ALLOW_KNOWN").is_none() {
        failures.extend(known);
    }
    assert!(
        failures.is_empty(),
        "{} attack-corpus failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
