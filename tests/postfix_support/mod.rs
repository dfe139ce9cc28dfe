//! A private Postfix instance on loopback for the end-to-end tests, and the processes
//! around it (`reseal serve` / `reseal milter`, swaks).
//!
//! Each instance lives in its own temporary folder: its own `config_directory`,
//! `queue_directory` and `data_directory`, a `maillog_file` written by the `postlog`
//! service (without it Postfix fails silently on a machine with no syslog), listeners on
//! 127.0.0.1 only, on ports picked at run time, and a virtual mailbox "sink": mail for
//! `@example.org` lands in `sink/org/new/`, mail for `@example.com` (bounces to the test
//! sender) in `sink/com/new/`, as Maildir files. Dropping the instance stops it
//! (`postfix stop`) and kills whatever of it is left, found by its `MAIL_CONFIG`.
//!
//! Postfix must run as root; the tests that use this module fail loudly when they are
//! not root or when postfix, postconf or swaks is missing (see [`preflight`]). There is
//! no switch to skip them. CI runs them as root.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The host name of the private instance (the machine's own name is not qualified).
pub const MYHOSTNAME: &str = "mx.reseal-test.example";

/// Whether this process runs as root.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Sends `sig` to `pid` (no external `kill`: minimal images lack procps).
fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, sig);
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Checks that the Postfix tests can run here, and fails the test loudly if not:
/// Postfix's master must run as root, and postfix, postconf and swaks must be
/// installed. There is no way to skip these tests.
pub fn preflight(test: &str) {
    assert!(
        is_root(),
        "{test}: the Postfix end-to-end tests must run as root (Postfix's master runs as root)"
    );
    for cmd in ["postfix", "postconf", "swaks"] {
        assert!(
            have(cmd) || Path::new("/usr/sbin").join(cmd).exists(),
            "{test}: {cmd} is not installed: run scripts/setup.sh (Debian packages postfix, swaks)"
        );
    }
}

/// `N` distinct free ports on 127.0.0.1.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let ls: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| ls[i].local_addr().unwrap().port())
}

/// Waits until something accepts connections on `port`.
pub fn wait_port(port: u16, secs: u64, what: &str) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "{what} does not accept connections on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn id_of(flag: &str) -> u32 {
    let out = Command::new("id").args([flag, "postfix"]).output().unwrap();
    assert!(out.status.success(), "there is no postfix user");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// How the gateway is wired into Postfix.
#[derive(Clone, Copy, Debug)]
pub enum Wiring {
    /// Entry smtpd on `entry` with `content_filter=reseal:[127.0.0.1]:filter` (where
    /// `reseal serve` listens; the `reseal` transport sends XFORWARD), and a
    /// reinjection smtpd on `reinject` (its next hop).
    ContentFilter {
        entry: u16,
        filter: u16,
        reinject: u16,
    },
    /// Entry smtpd on `entry` with `smtpd_milters = inet:127.0.0.1:milter`.
    Milter { entry: u16, milter: u16 },
}

impl Wiring {
    pub fn entry(&self) -> u16 {
        match *self {
            Wiring::ContentFilter { entry, .. } | Wiring::Milter { entry, .. } => entry,
        }
    }
}

/// main.cf of the private instance rooted at `root`.
pub fn main_cf(root: &Path, uid: u32, gid: u32) -> String {
    let r = root.display();
    format!(
        "\
compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = {MYHOSTNAME}
mydomain = reseal-test.example
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
biff = no
maillog_file = {r}/maillog
maillog_file_prefixes = {r}
virtual_mailbox_domains = example.org, example.com
virtual_mailbox_base = {r}/sink
virtual_mailbox_maps = inline:{{ {{@example.org = org/}}, {{@example.com = com/}} }}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = {uid}
virtual_mailbox_limit = 0
message_size_limit = 0
# A gateway that is down defers mail; it never lets it through unprocessed.
milter_default_action = tempfail
# Test only: the test client may pose as another client address and as an
# authenticated user (XCLIENT ADDR= and LOGIN=, which sets the {{auth_authen}} macro
# the milter reads; LOGIN needs SASL enabled).
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_auth_enable = yes
# Test only: the next hop behind the gateway refuses this one recipient (who has a
# certificate, so that encrypted mail to her passes the gateway).
reinject_recipient_restrictions = check_recipient_access
  inline:{{ {{ erin@example.net = 550 5.1.1 No such user here }} }},
  permit_mynetworks, reject
"
    )
}

/// The master.cf lines that wire the gateway in (the part docs/postfix.md shows; only
/// the reinjection smtpd's recipient restrictions come from main.cf here, so that the
/// tests' next hop can refuse a recipient). The content-filter transport sends XFORWARD,
/// so that `reseal serve` decides admission by the client Postfix received the message
/// from, not by Postfix's own 127.0.0.1.
pub fn wiring_cf(w: &Wiring) -> String {
    match *w {
        Wiring::ContentFilter {
            entry,
            filter,
            reinject,
        } => format!(
            "\
127.0.0.1:{entry} inet n - n - - smtpd
  -o content_filter=reseal:[127.0.0.1]:{filter}
reseal unix - - n - 10 smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_tls_security_level=none
  -o smtp_data_done_timeout=1200
127.0.0.1:{reinject} inet n - n - 10 smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_recipient_restrictions=$reinject_recipient_restrictions
  -o smtpd_relay_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
"
        ),
        Wiring::Milter { entry, milter } => format!(
            "\
127.0.0.1:{entry} inet n - n - - smtpd
  -o smtpd_milters=inet:127.0.0.1:{milter}
"
        ),
    }
}

/// The standard services (Debian's master.cf.proto, without chroot).
const SERVICES_CF: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

/// A running private Postfix instance.
pub struct Postfix {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    pub conf: PathBuf,
    pub wiring: Wiring,
}

fn postfix_cmd(conf: &Path, what: &str) -> Output {
    Command::new("postfix")
        .arg("-c")
        .arg(conf)
        .arg(what)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .unwrap_or_else(|e| panic!("postfix {what}: {e}"))
}

impl Postfix {
    /// Writes the configuration, creates the queue (`postfix check`), starts the
    /// instance and waits until its SMTP listeners accept connections.
    pub fn start(wiring: Wiring) -> Postfix {
        Postfix::start_with(wiring, "")
    }

    /// [`Postfix::start`] with `main_extra` appended to main.cf (later lines win).
    pub fn start_with(wiring: Wiring, main_extra: &str) -> Postfix {
        let dir = tempfile::Builder::new()
            .prefix("reseal-pf")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        // The postfix user must reach the sink and the data folder.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let conf = root.join("conf");
        for d in ["conf", "queue", "data", "sink"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let (uid, gid) = (id_of("-u"), id_of("-g"));
        for d in ["data", "sink"] {
            std::os::unix::fs::chown(root.join(d), Some(uid), Some(gid)).unwrap();
        }
        std::fs::write(
            conf.join("main.cf"),
            format!("{}{main_extra}", main_cf(&root, uid, gid)),
        )
        .unwrap();
        std::fs::write(
            conf.join("master.cf"),
            format!("{}{SERVICES_CF}", wiring_cf(&wiring)),
        )
        .unwrap();
        let pf = Postfix {
            dir,
            root,
            conf,
            wiring,
        };
        let out = postfix_cmd(&pf.conf, "check");
        assert!(
            out.status.success(),
            "postfix check: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = postfix_cmd(&pf.conf, "start");
        assert!(
            out.status.success(),
            "postfix start: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            pf.maillog()
        );
        wait_port(wiring.entry(), 20, "the Postfix entry smtpd");
        if let Wiring::ContentFilter { reinject, .. } = wiring {
            wait_port(reinject, 20, "the Postfix reinjection smtpd");
        }
        pf
    }

    pub fn entry(&self) -> u16 {
        self.wiring.entry()
    }

    /// Submits `msg` as a local program does: Postfix's `sendmail` (postdrop, then
    /// pickup), with this instance's configuration.
    pub fn sendmail(&self, from: &str, to: &str, msg: &[u8]) {
        use std::io::Write as _;
        let mut child = Command::new("/usr/sbin/sendmail")
            .args(["-i", "-f", from, to])
            .env("MAIL_CONFIG", &self.conf)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("postfix sendmail");
        child.stdin.take().unwrap().write_all(msg).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "sendmail: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.root.join("maillog")).unwrap_or_default()
    }

    fn mailbox(&self, which: &str) -> PathBuf {
        self.root.join("sink").join(which).join("new")
    }

    /// The files delivered so far to `which` ("org" or "com").
    pub fn delivered(&self, which: &str) -> BTreeSet<PathBuf> {
        std::fs::read_dir(self.mailbox(which))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }

    /// Waits for a message in `which` that is not in `before`, and returns it.
    pub fn wait_new(&self, which: &str, before: &BTreeSet<PathBuf>, secs: u64) -> Vec<u8> {
        self.try_wait_new(which, before, secs).unwrap_or_else(|| {
            panic!(
                "nothing was delivered to {which} within {secs} s; mail log:\n{}",
                self.maillog()
            )
        })
    }

    /// Like `wait_new`, but `None` after `secs` seconds.
    pub fn try_wait_new(
        &self,
        which: &str,
        before: &BTreeSet<PathBuf>,
        secs: u64,
    ) -> Option<Vec<u8>> {
        let t = Instant::now();
        loop {
            if let Some(p) = self.delivered(which).difference(before).next() {
                return std::fs::read(p).ok();
            }
            if t.elapsed() > Duration::from_secs(secs) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything delivered to `which`, for failure reports.
    pub fn dump(&self, which: &str) -> String {
        self.delivered(which)
            .iter()
            .map(|p| {
                format!(
                    "--- {}\n{}",
                    p.display(),
                    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default())
                )
            })
            .collect()
    }

    /// The pids of this instance's processes (they carry its MAIL_CONFIG).
    fn pids(&self) -> Vec<u32> {
        let needle = format!("MAIL_CONFIG={}", self.conf.display());
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(env) = std::fs::read(e.path().join("environ"))
                && env.split(|&b| b == 0).any(|v| v == needle.as_bytes())
            {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = postfix_cmd(&self.conf, "stop");
        let t = Instant::now();
        while !self.pids().is_empty() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in self.pids() {
            signal(pid, rustix::process::Signal::KILL);
        }
        let _ = &self.dir;
    }
}

/// A `reseal serve` or `reseal milter` child process, stopped with SIGTERM on drop.
pub struct Daemon {
    child: Child,
    log: PathBuf,
    what: String,
}

impl Daemon {
    /// Spawns `cmd` with its output in `log`, and waits until it listens on `port`.
    pub fn start(mut cmd: Command, what: &str, log: PathBuf, port: u16) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let level = if crate::common::transcripts().is_some() {
            "trace"
        } else {
            "info"
        };
        cmd.env("RESEAL_LOG", level)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut d = Daemon {
            child,
            log,
            what: what.to_owned(),
        };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("{what} exited ({status}):\n{}", d.log());
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{what} does not listen on {port}:\n{}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(s)) = self.child.try_wait() {
            return Some(s);
        }
        signal(self.child.id(), rustix::process::Signal::TERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.stop().is_none() {
            eprintln!("{} did not stop on SIGTERM; killed", self.what);
        }
        // Its log goes into the secrets scan of the whole suite (tests/common).
        if let Some(p) = crate::common::transcript_path("daemon") {
            let _ = std::fs::copy(&self.log, p);
        }
    }
}

/// What swaks saw.
pub struct Swaks {
    pub ok: bool,
    pub transcript: String,
}

impl Swaks {
    /// The server's reply to the end of DATA (the final `.`), without swaks' prefix.
    pub fn data_reply(&self) -> String {
        let mut after_dot = false;
        for line in self.transcript.lines() {
            if line.trim_end() == " -> ." {
                after_dot = true;
                continue;
            }
            if after_dot && (line.starts_with("<-") || line.starts_with("<**")) {
                return line
                    .trim_start_matches("<**")
                    .trim_start_matches("<-")
                    .trim()
                    .to_owned();
            }
        }
        String::new()
    }
}

/// Submits `data` (a message file) with swaks.
pub fn swaks(port: u16, from: &str, to: &str, data: &Path) -> Swaks {
    swaks_with(port, from, to, data, &[])
}

/// [`swaks`] with more options (e.g. `--xclient-addr`).
pub fn swaks_with(port: u16, from: &str, to: &str, data: &Path, extra: &[&str]) -> Swaks {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{port}")])
        .args(extra)
        .args(["--from", from, "--to", to])
        .args(["--helo", "client.reseal-test.example"])
        .args(["--timeout", "60"])
        .arg("--data")
        .arg(format!("@{}", data.display()))
        .stdin(Stdio::null())
        .output()
        .expect("swaks");
    Swaks {
        ok: out.status.success(),
        transcript: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
