//! Shared helpers for the integration tests: the `reseal` binary, a keystore fixture
//! made through the CLI, and the real peers (openssl, gpgsm).
#![allow(dead_code)]

pub mod dkimpy;
pub mod gpg;
pub mod gpgsm;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASS: &str = "correct horse battery staple";

/// The `[opes]` table of a test configuration.
pub const OPES_HEAD: &str = r#"
[opes]
system = "https://gw.example.com/opes"
privacy_policy = "https://gw.example.com/privacy"
"#;

/// A disclaimer service table for test configurations (bypassable).
pub const DISCLAIMER_SERVICE: &str = r#"
[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "Example Corp ... This e-mail is confidential."
consent = "sender"
bypassable = true
"#;

/// A subject-tag and a headers service (both reversible).
pub const TAG_AND_HEADERS_SERVICES: &str = r#"
[[service]]
id = "https://gw.example.com/opes/tag"
kind = "subject-tag"
tag = "[Example Corp]"
[[service]]
id = "https://gw.example.com/opes/headers"
kind = "headers"
add = ["X-Classification: internal"]
remove = ["Message-ID"]
"#;

/// An address-map service (reversible): the internal address becomes the external one.
pub const ADDRESS_MAP_SERVICE: &str = r#"
[[service]]
id = "https://gw.example.com/opes/map"
kind = "address-map"
map = { "alice@corp.example.local" = "alice@example.com" }
"#;

/// A DLP service that redacts card numbers and account numbers (irreversible).
pub const DLP_REDACT_SERVICE: &str = r#"
[[service]]
id = "https://gw.example.com/opes/dlp"
kind = "dlp"
action = "redact"
patterns = ["builtin:card-number", "account [0-9]+"]
consent = "sender"
bypassable = false
"#;

/// An attachments service that removes PDF files (irreversible).
pub const ATTACHMENTS_REMOVE_SERVICE: &str = r#"
[[service]]
id = "https://gw.example.com/opes/attachments"
kind = "attachments"
action = "remove"
extensions = ["pdf"]
"#;

/// A file in vectors/openpgp.
pub fn pv(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/openpgp")
        .join(name)
}

impl Fixture {
    /// [`Fixture::new`] plus alice's OpenPGP key and bob's OpenPGP certificate.
    pub fn with_openpgp() -> Fixture {
        let f = Fixture::new();
        f.import_openpgp_for_alice("alice.sec.asc");
        f.keys(&["import-cert", &pv("bob.pub.asc").display().to_string()]);
        f
    }

    /// Imports the OpenPGP key vectors/openpgp/`name`, delegated for alice.
    pub fn import_openpgp_for_alice(&self, name: &str) {
        self.keys(&[
            "import",
            "--openpgp",
            &pv(name).display().to_string(),
            "--for",
            "alice@example.com",
        ]);
    }

    /// The gateway's OPES identity certificate, exported to a file.
    pub fn identity(&self) -> PathBuf {
        let out = self.keys(&["export-identity"]);
        self.tmp("identity.pem", &out.stdout)
    }
}

pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/smime")
}

pub fn v(name: &str) -> PathBuf {
    vectors().join(name)
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(v(name)).unwrap_or_else(|e| panic!("vector {name}: {e}"))
}

pub fn reseal() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_reseal"));
    c.env("RESEAL_PASSPHRASE", PASS).env_remove("RESEAL_LOG");
    c
}

/// The folder named by `RESEAL_TRANSCRIPTS`, if set. `scripts/test.sh` sets it for the
/// whole suite: every `reseal` run's stdout and stderr, and every daemon's log (at
/// `RESEAL_LOG=trace`), is kept there, and afterwards `tests/secrets.rs`
/// (`whole_suite_output_holds_no_secret`) searches all of it for the test passphrase and
/// the vectors' private-key bytes (SECURITY.md invariant 8).
pub fn transcripts() -> Option<PathBuf> {
    std::env::var_os("RESEAL_TRANSCRIPTS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A new file name in the transcripts folder (creating it), unique across test
/// processes and threads; `None` when transcripts are off.
pub fn transcript_path(what: &str) -> Option<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = transcripts()?;
    std::fs::create_dir_all(&dir).expect("transcripts folder");
    let exe = std::env::current_exe().ok();
    let binary = exe
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .unwrap_or("test");
    Some(dir.join(format!(
        "{binary}-{}-{}-{what}.log",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Keeps a `reseal` run's output when transcripts are on.
pub fn keep_transcript(what: &str, stdout: &[u8], stderr: &[u8]) {
    if let Some(p) = transcript_path(what) {
        let mut all = stdout.to_vec();
        all.extend_from_slice(b"\n--- stderr ---\n");
        all.extend_from_slice(stderr);
        std::fs::write(p, all).expect("write transcript");
    }
}

/// Where a `reseal` daemon's output goes: a transcript file at trace level when
/// transcripts are on, nowhere otherwise.
pub fn daemon_output(cmd: &mut Command, what: &str) {
    match transcript_path(what) {
        Some(p) => {
            let file = std::fs::File::create(p).expect("transcript file");
            cmd.env("RESEAL_LOG", "trace")
                .stdout(file.try_clone().expect("transcript file"))
                .stderr(file);
        }
        None => {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
}

/// Runs a command with `stdin`, returning its output.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    let is_reseal = cmd.get_program() == env!("CARGO_BIN_EXE_reseal");
    let what = cmd
        .get_args()
        .next()
        .and_then(|a| a.to_str())
        .unwrap_or("run")
        .to_owned();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    {
        let mut si = child.stdin.take().expect("stdin");
        // A process that exits early closes its stdin; that is not a test failure here.
        let _ = si.write_all(stdin);
    }
    let out = child.wait_with_output().expect("wait");
    if is_reseal {
        keep_transcript(&what, &out.stdout, &out.stderr);
    }
    out
}

/// What [`run_with_deadline`] saw: `status` is None when the process was killed.
pub struct Run {
    pub status: Option<std::process::ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub elapsed: std::time::Duration,
}

/// Runs a command with `stdin` and kills it after `kill_after`, so that a hang or a
/// runaway fails its test instead of blocking the suite.
pub fn run_with_deadline(mut cmd: Command, stdin: &[u8], kill_after: std::time::Duration) -> Run {
    use std::io::Read as _;
    use std::time::{Duration, Instant};
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let mut si = child.stdin.take().expect("stdin");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let run = std::thread::scope(|s| {
        s.spawn(move || {
            // A process that exits early closes its stdin; that is not a failure here.
            let _ = si.write_all(stdin);
        });
        let o = s.spawn(move || {
            let mut v = Vec::new();
            let _ = so.read_to_end(&mut v);
            v
        });
        let e = s.spawn(move || {
            let mut v = Vec::new();
            let _ = se.read_to_end(&mut v);
            v
        });
        let status = loop {
            if let Some(st) = child.try_wait().expect("wait") {
                break Some(st);
            }
            if start.elapsed() > kill_after {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let elapsed = start.elapsed();
        Run {
            status,
            stdout: o.join().expect("stdout reader"),
            stderr: e.join().expect("stderr reader"),
            elapsed,
        }
    });
    if cmd.get_program() == env!("CARGO_BIN_EXE_reseal") {
        let what = cmd
            .get_args()
            .next()
            .and_then(|a| a.to_str())
            .unwrap_or("run");
        keep_transcript(what, &run.stdout, &run.stderr);
    }
    run
}

pub fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A temporary keystore that holds alice's delegated key (sign + decrypt), bob's and
/// erin's certificates, and the test root as trust anchor.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn keystore(&self) -> PathBuf {
        self.dir.path().join("ks")
    }

    pub fn new() -> Fixture {
        let f = Fixture::empty();
        f.keys(&[
            "import",
            "--pkcs12",
            &v("alice.p12").display().to_string(),
            "--pkcs12-password-file",
            &v("alice.p12.pass").display().to_string(),
            "--for",
            "alice@example.com",
        ]);
        f.keys(&[
            "import-cert",
            &v("bob.pem").display().to_string(),
            &v("erin.pem").display().to_string(),
        ]);
        f.keys(&["trust", &v("ca.pem").display().to_string()]);
        f
    }

    /// An initialised keystore with nothing in it.
    pub fn empty() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = Fixture { dir };
        // The KDF floor keeps the suite fast; production uses the default costs.
        f.keys(&["init", "--kdf-memory-mib", "8", "--kdf-passes", "1"]);
        f
    }

    /// Runs `reseal keys <args> --keystore <ks>` and asserts success.
    pub fn keys(&self, args: &[&str]) -> Output {
        let out = self.keys_raw(args);
        ok(&out, &format!("reseal keys {args:?}"));
        out
    }

    pub fn keys_raw(&self, args: &[&str]) -> Output {
        let mut c = reseal();
        c.arg("keys")
            .args(args)
            .arg("--keystore")
            .arg(self.keystore());
        run(c, b"")
    }

    /// Writes a config file into the fixture folder and returns its path.
    pub fn config(&self, toml: &str) -> PathBuf {
        let p = self.dir.path().join("reseal.toml");
        std::fs::write(&p, toml).expect("write config");
        p
    }

    /// `reseal process` with this keystore.
    pub fn process(
        &self,
        input: &[u8],
        mail_from: &str,
        rcpts: &[&str],
        config: Option<&Path>,
    ) -> Output {
        let mut c = reseal();
        c.arg("process").arg("--keystore").arg(self.keystore());
        if let Some(cfg) = config {
            c.arg("--config").arg(cfg);
        }
        c.arg("--mail-from").arg(mail_from);
        for r in rcpts {
            c.arg("--rcpt").arg(r);
        }
        run(c, input)
    }

    pub fn tmp(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, data).expect("write tmp");
        p
    }
}

/// `openssl cms -decrypt` with a recipient's key; returns the decrypted entity or the
/// error text.
pub fn openssl_decrypt(msg: &[u8], who: &str) -> Result<Vec<u8>, String> {
    let mut c = Command::new("openssl");
    c.args(["cms", "-decrypt", "-recip"])
        .arg(v(&format!("{who}.pem")))
        .arg("-inkey")
        .arg(v(&format!("{who}.key")));
    let out = run(c, msg);
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `openssl cms -verify -CAfile ca.pem -purpose smimesign`; returns the signed content.
pub fn openssl_verify(msg: &[u8]) -> Result<Vec<u8>, String> {
    let mut c = Command::new("openssl");
    c.args(["cms", "-verify", "-purpose", "smimesign", "-CAfile"])
        .arg(v("ca.pem"));
    let out = run(c, msg);
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The signer certificate(s) openssl reports for a signed message.
pub fn openssl_signer_emails(msg: &[u8], dir: &Path) -> String {
    let certs = dir.join("signers.pem");
    let mut c = Command::new("openssl");
    c.args(["cms", "-verify", "-purpose", "smimesign", "-CAfile"])
        .arg(v("ca.pem"))
        .arg("-signer")
        .arg(&certs);
    let out = run(c, msg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = Command::new("openssl");
    c.args(["x509", "-noout", "-email", "-in"]).arg(&certs);
    String::from_utf8_lossy(&run(c, b"").stdout)
        .trim()
        .to_owned()
}

/// The Content-* fields + body of a plain message: what a client signs or encrypts.
pub fn inner_entity(msg: &[u8]) -> Vec<u8> {
    let e = reseal::mime::Entity::parse(msg).expect("parse");
    reseal::mime::compose::content_entity(&e)
}

pub fn header_block(msg: &[u8]) -> String {
    let e = reseal::mime::Entity::parse(msg).expect("parse");
    String::from_utf8_lossy(&msg[..e.header_end()]).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The reply text without the per-message trace id.
pub fn reply_without_trace(out: &Output) -> String {
    reply_line_without_trace(&out.stderr)
}

/// The reply on `stderr` without its OPES trace (which holds a unique id).
pub fn reply_line_without_trace(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .split(" [OPES")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A one-shot HTTP server on a free local port: it reads one request (head and
/// Content-Length body) and answers `reply`. Returns the port and the server thread.
pub fn http_server(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{Read as _, Write as _};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            // Read the request head and its Content-Length body.
            loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= p + 4 + len {
                        break;
                    }
                }
            }
            let _ = s.write_all(reply);
        }
    });
    (port, h)
}
