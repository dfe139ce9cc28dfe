//! Submission: who handed the gateway a message, and what they may ask of it.
//!
//! The three front ends (`reseal serve`, `reseal milter`, `reseal process`) only adapt
//! their protocol to this module, so that the same submitter gets the same decisions
//! whichever way the message came in:
//!
//! - **admission** ([`Policy::admit`]): a client is admitted by its network
//!   (`smtp.admit_networks`), by a login (SMTP AUTH at the gateway, the MTA's
//!   `{auth_authen}` milter macro, XCLIENT LOGIN), or as the local caller of `reseal
//!   process`. Behind an MTA the client is the one the MTA forwards (XFORWARD/XCLIENT
//!   from a peer in `smtp.mta_networks`), never the MTA's own 127.0.0.1 — otherwise every
//!   stranger of the MTA's port 25 would be "admitted" (docs/postfix.md).
//! - **who may sign** ([`Admission::may_sign`]): the gateway signs with a delegated key
//!   only for a sender the submitter may use (SECURITY.md, invariant 6: never
//!   a signing oracle). A login may use the senders the submitter table grants it.
//! - **limits** ([`Limits`]): message size (552 5.3.4) and recipients (452 4.5.3).
//! - **bypass parsing** ([`parse_bypass_param`]): strict xtext (RFC 3461 §4).
//! - **reply rendering** ([`render`]): every refusal becomes its reply here, with the
//!   OPES trace (RFC 4902 §3.1), and text from outside passes through
//!   [`crate::sanitize::reply_text`] on the way.

pub mod xtext;

use std::net::IpAddr;
use std::path::Path;

use crate::adapt::Bypass;
use crate::config::{Config, MtaLogin};
use crate::error::{Failure, Kind, exit};
use crate::pipeline::Submitter;
use crate::trace::Trace;

/// Which senders an identity may have signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Senders {
    /// Every sender (`*` in the submitter table).
    Any,
    /// These addresses and `@domain`s (lower case); empty: none.
    Only(Vec<String>),
}

impl Senders {
    fn allows(&self, sender: &str) -> bool {
        match self {
            Senders::Any => !sender.is_empty(),
            Senders::Only(list) => list.iter().any(|s| {
                s == sender
                    || s.strip_prefix('@')
                        .is_some_and(|d| crate::mime::address::domain(sender) == d)
            }),
        }
    }
}

/// One entry of the submitter table (`smtp.users_file`).
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    /// Argon2 PHC hash; `None` (`-` in the file) for an identity that only the MTA
    /// authenticates, which cannot log in at the gateway itself.
    hash: Option<String>,
    pub senders: Senders,
}

/// Reads the submitter table: one `name:hash[:senders]` line per identity, where `hash`
/// is an Argon2 PHC string or `-`, and `senders` is `*` or a comma-separated list of
/// addresses and `@domain`s. Without a senders field an identity may sign only for the
/// address that is its name (when its name is an address).
pub fn load_users(path: &Path) -> Result<Vec<User>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read users file {}: {e}", path.display())))?;
    parse_users(&text)
}

fn parse_users(text: &str) -> Result<Vec<User>, Failure> {
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| Failure::config(format!("users file line {}: {what}", i + 1));
        let mut parts = line.splitn(3, ':');
        let (Some(name), Some(hash)) = (parts.next(), parts.next()) else {
            return Err(bad("expected name:hash[:senders]"));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("empty name"));
        }
        let hash = match hash.trim() {
            "-" => None,
            h if argon2::PasswordHash::new(h).is_ok() => Some(h.to_owned()),
            _ => return Err(bad("not an Argon2 PHC hash (or - for none)")),
        };
        let senders = match parts.next().map(str::trim) {
            Some("*") => Senders::Any,
            Some(list) => Senders::Only(
                list.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect(),
            ),
            None if crate::mime::address::is_plausible(name) => {
                Senders::Only(vec![name.to_ascii_lowercase()])
            }
            None => Senders::Only(Vec::new()),
        };
        users.push(User {
            name: name.to_owned(),
            hash,
            senders,
        });
    }
    Ok(users)
}

/// Hashes a password for the users file.
pub fn hash_password(password: &str) -> Result<String, Failure> {
    use argon2::password_hash::PasswordHasher as _;
    let mut salt = [0u8; 16];
    crate::crypto::random(&mut salt)?;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h: argon2::PasswordHash| h.to_string())
        .map_err(|e| Failure::temporary(e.to_string()))
}

/// SMTP AUTH at the gateway: the user whose password this is.
pub fn check_password(users: &[User], name: &str, password: &str) -> Option<User> {
    use argon2::PasswordVerifier as _;
    let u = users.iter().find(|u| u.name == name)?;
    let hash = argon2::PasswordHash::new(u.hash.as_deref()?).ok()?;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .ok()
        .map(|()| u.clone())
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports
/// for an IPv4 client) are compared as the IPv4 address they carry.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn in_networks(nets: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let ip = canonical_ip(ip);
    nets.iter().any(|n| n.contains(&ip))
}

/// Client attributes an MTA forwards (Postfix XFORWARD_README, XCLIENT_README).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// `ADDR`: `None` when the MTA says `[UNAVAILABLE]` (a local submission).
    pub addr: Option<IpAddr>,
    pub name: Option<String>,
    pub helo: Option<String>,
    pub proto: Option<String>,
    /// XCLIENT `LOGIN`: the SASL login the MTA authenticated.
    pub login: Option<String>,
    /// XFORWARD `SOURCE=LOCAL`.
    pub local: bool,
}

/// How the client authenticated.
#[derive(Clone, Debug)]
pub enum Login {
    /// SMTP AUTH at the gateway, against the submitter table.
    Gateway(User),
    /// A login the MTA authenticated (milter `{auth_authen}`, XCLIENT LOGIN).
    Mta(String),
}

/// What a front end knows about the submitter.
#[derive(Clone, Debug, Default)]
pub struct Client {
    /// The client's address as this front end sees it: the TCP peer for `serve`, the
    /// MTA's client for the milter; `None` for a pipe.
    pub peer: Option<IpAddr>,
    /// Attributes an MTA forwarded in this session (serve: XFORWARD/XCLIENT).
    pub forwarded: Option<Forwarded>,
    pub login: Option<Login>,
    /// `reseal process`: the local caller.
    pub pipe: bool,
    /// The MTA says a local program submitted the message (sendmail, pickup), not an
    /// SMTP client: the milter's ersatz connect event (Postfix cleanup_milter.c
    /// presents non-SMTP mail as `localhost`/127.0.0.1 with client port 0, which no
    /// TCP client can have). `serve` learns the same from XFORWARD `SOURCE=LOCAL`.
    pub local: bool,
}

/// The decision for one submitter.
#[derive(Clone, Debug)]
pub struct Admission {
    /// May request bypass; may have mail signed (for the senders below).
    pub admitted: bool,
    senders: Senders,
    /// Why, for the log.
    pub reason: String,
}

impl Admission {
    /// May the gateway sign for `sender` on this submitter's behalf (invariant 6)?
    pub fn may_sign(&self, sender: &str) -> bool {
        self.admitted && self.senders.allows(&sender.to_ascii_lowercase())
    }

    /// The pipeline's view of this submitter for one message.
    pub fn submitter(&self, mail_from: &str, bypass: Bypass) -> Submitter {
        Submitter {
            admitted: self.admitted,
            bypass,
            may_sign: self.may_sign(mail_from),
        }
    }
}

/// The admission policy: built once from the configuration and the submitter table.
#[derive(Clone, Debug)]
pub struct Policy {
    admit_networks: Vec<ipnet::IpNet>,
    mta_networks: Vec<ipnet::IpNet>,
    mta_login: MtaLogin,
    admit_local_submission: bool,
    process_admitted: bool,
    pub users: Vec<User>,
    pub limits: Limits,
}

impl Policy {
    /// Reads the submitter table named in the configuration, if any.
    pub fn new(config: &Config) -> Result<Policy, Failure> {
        let users = match &config.smtp.users_file {
            Some(p) => load_users(p)?,
            None => Vec::new(),
        };
        Ok(Policy::with_users(config, users))
    }

    pub fn with_users(config: &Config, users: Vec<User>) -> Policy {
        Policy {
            admit_networks: config.smtp.admit_networks.clone(),
            mta_networks: config.smtp.mta_networks.clone(),
            mta_login: config.smtp.mta_login,
            admit_local_submission: config.smtp.admit_local_submission,
            process_admitted: config.process_admitted,
            users,
            limits: Limits {
                max_message_bytes: config.max_message_bytes,
                max_recipients: config.smtp.max_recipients,
            },
        }
    }

    /// Whether `peer` is an MTA whose XFORWARD/XCLIENT the gateway believes.
    pub fn is_mta(&self, peer: IpAddr) -> bool {
        in_networks(&self.mta_networks, peer)
    }

    fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Decides admission for `client`.
    pub fn admit(&self, client: &Client) -> Admission {
        let deny = |reason: String| Admission {
            admitted: false,
            senders: Senders::Only(Vec::new()),
            reason,
        };
        if client.pipe {
            return if self.process_admitted {
                Admission {
                    admitted: true,
                    senders: Senders::Any,
                    reason: "local caller of reseal process".into(),
                }
            } else {
                deny("admission.process_admitted is false".into())
            };
        }
        // Behind an MTA, the client is the one it forwards (Postfix XFORWARD_README
        // note 4: never mix the MTA's session with the forwarded one).
        let forwarded = client
            .forwarded
            .as_ref()
            .filter(|_| client.peer.is_some_and(|p| self.is_mta(p)));
        let local = client.local || forwarded.is_some_and(|f| f.local);
        let addr = match forwarded {
            _ if client.local => None,
            Some(f) => f.addr,
            None => client.peer,
        };
        let login = match (&client.login, forwarded.and_then(|f| f.login.as_ref())) {
            (Some(l), _) => Some(l.clone()),
            (None, Some(name)) => Some(Login::Mta(name.clone())),
            (None, None) => None,
        };
        let shown = addr.map_or_else(|| "a local program".to_owned(), |a| a.to_string());
        match login {
            Some(Login::Gateway(u)) => Admission {
                admitted: true,
                senders: u.senders.clone(),
                reason: format!("authenticated as {} from {shown}", u.name),
            },
            Some(Login::Mta(name)) => {
                let senders = match (self.user(&name), self.mta_login) {
                    (Some(u), _) => u.senders.clone(),
                    (None, MtaLogin::Envelope) => Senders::Any,
                    (None, MtaLogin::Table) => Senders::Only(Vec::new()),
                };
                Admission {
                    admitted: true,
                    senders,
                    reason: format!("authenticated by the MTA as {name} from {shown}"),
                }
            }
            None => match addr {
                Some(ip) if in_networks(&self.admit_networks, ip) => Admission {
                    admitted: true,
                    senders: Senders::Any,
                    reason: format!("client {} in smtp.admit_networks", canonical_ip(ip)),
                },
                Some(ip) => deny(format!("client {} not admitted", canonical_ip(ip))),
                None if local && self.admit_local_submission => Admission {
                    admitted: true,
                    senders: Senders::Any,
                    reason: "local submission through the MTA".into(),
                },
                None => deny(format!("{shown} not admitted")),
            },
        }
    }
}

/// Message limits, the same for every front end.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_recipients: usize,
}

impl Limits {
    /// 552 5.3.4 (RFC 5321 §4.5.3.1.10).
    pub fn too_big(&self) -> Failure {
        Failure::too_big(self.max_message_bytes)
    }

    /// RFC 5321 §4.5.3.1.10: 452 for one recipient too many; the client may send the
    /// rest in another transaction.
    pub fn check_recipients(&self, have: usize) -> Result<(), Failure> {
        if have >= self.max_recipients {
            Err(Failure::new(Kind::RecipientLimit, "Too many recipients"))
        } else {
            Ok(())
        }
    }
}

/// The memory budget shared by all messages in progress (`limits.max_inflight_bytes`):
/// a message waits for its share before the pipeline reads it into memory; a message
/// larger than the whole budget waits for all of it. Counted in KiB.
pub struct Budget {
    semaphore: std::sync::Arc<tokio::sync::Semaphore>,
    units: u32,
}

impl Budget {
    pub fn new(config: &Config) -> Budget {
        let max = u32::try_from(tokio::sync::Semaphore::MAX_PERMITS).unwrap_or(u32::MAX);
        let units = u32::try_from(config.max_inflight_bytes / 1024)
            .unwrap_or(u32::MAX)
            .clamp(1, max);
        Budget {
            semaphore: std::sync::Arc::new(tokio::sync::Semaphore::new(units as usize)),
            units,
        }
    }

    /// Waits until `size` more bytes may be held; the permit gives them back.
    pub async fn take(&self, size: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let n = u32::try_from(size.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.units);
        self.semaphore.clone().acquire_many_owned(n).await.ok()
    }
}

/// Decodes the `XOPES-BYPASS` MAIL parameter (docs/smtp-extension.md): strict xtext
/// (RFC 3461 §4), then the list of agent URIs or `*`.
pub fn parse_bypass_param(raw: &str) -> Result<Bypass, Failure> {
    match xtext::decode(raw) {
        Some(v) => Ok(Bypass::parse(&v)),
        None => Err(Failure::new(
            Kind::BadParameter,
            "Malformed XOPES-BYPASS parameter (xtext)",
        )),
    }
}

/// Longest text of one reply line (RFC 5321 §4.5.3.1.5 allows 512 octets in all; the
/// milter protocol allows about 980).
pub const MAX_REPLY_TEXT: usize = 400;
/// Most lines of one multi-line reply.
const MAX_REPLY_LINES: usize = 30;

/// A rendered SMTP reply: code, enhanced status (RFC 3463) and text lines, each line
/// free of control characters and at most [`MAX_REPLY_TEXT`] long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub status: String,
    pub lines: Vec<String>,
}

impl Reply {
    /// A reply with text that is ours (still cleaned, so a mistake cannot inject).
    pub fn new(code: u16, status: &str, text: &str) -> Reply {
        Reply {
            code,
            status: status.to_owned(),
            lines: split_lines(&crate::sanitize::reply_text(text)),
        }
    }

    /// The reply as the SMTP server sends it: `code-status text` continuation lines and
    /// a final `code status text` line (RFC 5321 §4.2.1), CRLF after each.
    pub fn to_wire(&self) -> String {
        let mut out = String::new();
        let n = self.lines.len();
        for (i, l) in self.lines.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            out.push_str(&format!("{}{sep}{} {l}\r\n", self.code, self.status));
        }
        out
    }

    /// The reply on one line (for `reseal process`'s stderr and the log).
    pub fn one_line(&self) -> String {
        format!("{} {} {}", self.code, self.status, self.lines.join(" "))
    }

    pub fn is_positive(&self) -> bool {
        self.code < 400
    }
}

fn split_lines(clean: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest = clean.trim();
    while !rest.is_empty() && lines.len() < MAX_REPLY_LINES {
        let mut end = rest.len().min(MAX_REPLY_TEXT);
        // Break at a space where there is one (the text is ASCII after cleaning).
        if end < rest.len()
            && let Some(sp) = rest.get(..end).and_then(|h| h.rfind(' '))
            && sp > MAX_REPLY_TEXT / 2
        {
            end = sp;
        }
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (line, tail) = rest.split_at(end);
        lines.push(line.trim_end().to_owned());
        rest = tail.trim_start();
    }
    if lines.is_empty() {
        lines.push("Refused".to_owned());
    }
    lines
}

/// How a failure is answered at every edge: the SMTP reply code (RFC 5321 §4.2.3), the
/// enhanced status (RFC 3463; also the DSN's `Status`, RFC 3464 §2.3.4) and the exit
/// code of `reseal process` (sysexits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    pub code: u16,
    pub status: &'static str,
    pub exit: i32,
}

/// The one place that decides how each kind of failure is answered.
pub fn answer(kind: Kind) -> Answer {
    let (code, status, exit) = match kind {
        Kind::Malformed => (554, "5.6.0", exit::DATAERR),
        // RFC 5321 §2.3.8.
        Kind::BareNewline => (554, "5.6.0", exit::DATAERR),
        Kind::BadSender => (554, "5.1.7", exit::DATAERR),
        Kind::BadRecipient => (554, "5.1.3", exit::DATAERR),
        Kind::NoRecipients => (554, "5.5.1", exit::DATAERR),
        Kind::TooManyRecipients => (554, "5.5.3", exit::NOPERM),
        // RFC 5321 §4.5.3.1.10: the client may send the rest in another transaction.
        Kind::RecipientLimit => (452, "4.5.3", exit::TEMPFAIL),
        Kind::BadParameter => (501, "5.5.4", exit::USAGE),
        // RFC 5321 §4.5.3.1.10 and RFC 1870 §6.
        Kind::TooBig => (552, "5.3.4", exit::NOPERM),
        Kind::ContentTooBig => (554, "5.3.4", exit::NOPERM),
        Kind::Temporary => (451, "4.3.0", exit::TEMPFAIL),
        Kind::Config => (451, "4.3.5", exit::CONFIG),
        Kind::Policy | Kind::ForeignEncryption => (554, "5.7.1", exit::NOPERM),
        Kind::Crypto => (554, "5.7.5", exit::NOPERM),
        Kind::Algorithm => (554, "5.7.6", exit::NOPERM),
        Kind::Integrity => (554, "5.7.7", exit::NOPERM),
    };
    Answer { code, status, exit }
}

/// The exit code for a failure (`reseal process` and the other commands).
pub fn exit_code(f: &Failure) -> i32 {
    answer(f.kind).exit
}

/// The reply for a failure: the code and enhanced status [`answer`] gives its kind, its
/// text, and the OPES trace (RFC 4902 §3.1) when there is one. All text is cleaned of
/// control characters (a CR LF in a certificate's name must not end the reply early).
pub fn render(f: &Failure, trace: Option<&Trace>) -> Reply {
    let a = answer(f.kind);
    let mut text = f.text.clone();
    if let Some(t) = trace {
        text.push(' ');
        text.push_str(&t.failure_text(f));
    }
    Reply::new(a.code, a.status, &text)
}

/// The reply after a message was accepted and is durably spooled.
pub fn queued(trace: &Trace) -> Reply {
    Reply::new(250, "2.0.0", &format!("Ok: queued as {}", trace.id))
}

/// The reply after a service held the message in quarantine.
pub fn held(trace: &Trace) -> Reply {
    Reply::new(
        250,
        "2.6.0",
        &format!(
            "Held in quarantine as {} {}",
            trace.id,
            trace.reply_text(None)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("hostname = \"gw.example.com\"\n[smtp]\n{extra}"),
            None,
        )
        .unwrap()
    }

    fn peer(ip: &str) -> Client {
        Client {
            peer: Some(ip.parse().unwrap()),
            ..Client::default()
        }
    }

    #[test]
    fn admission_by_network_and_mapped_addresses() {
        let p = Policy::with_users(&config("admit_networks = [\"192.0.2.0/24\"]"), vec![]);
        assert!(p.admit(&peer("192.0.2.9")).may_sign("alice@example.com"));
        assert!(p.admit(&peer("::ffff:192.0.2.9")).admitted);
        assert!(!p.admit(&peer("198.51.100.1")).admitted);
        assert!(!p.admit(&peer("198.51.100.1")).may_sign("alice@example.com"));
    }

    #[test]
    fn forwarded_client_decides_not_the_mta() {
        // The MTA on loopback forwards an Internet client: not admitted, even though
        // 127.0.0.1 is in admit_networks.
        let p = Policy::with_users(&config(""), vec![]);
        let mut c = peer("127.0.0.1");
        c.forwarded = Some(Forwarded {
            addr: Some("203.0.113.5".parse().unwrap()),
            ..Forwarded::default()
        });
        assert!(!p.admit(&c).admitted);
        // A peer that is not an MTA cannot forward anything.
        let p2 = Policy::with_users(
            &config("admit_networks = [\"192.0.2.0/24\"]\nmta_networks = [\"127.0.0.1\"]"),
            vec![],
        );
        let mut c2 = peer("198.51.100.7");
        c2.forwarded = Some(Forwarded {
            addr: Some("192.0.2.1".parse().unwrap()),
            ..Forwarded::default()
        });
        assert!(!p2.admit(&c2).admitted);
        // A local submission is admitted only when configured.
        let mut local = peer("127.0.0.1");
        local.forwarded = Some(Forwarded {
            addr: None,
            local: true,
            ..Forwarded::default()
        });
        assert!(!p.admit(&local).admitted);
        let p3 = Policy::with_users(&config("admit_local_submission = true"), vec![]);
        assert!(p3.admit(&local).admitted);
        // The milter's view of the same thing: no forwarding, a local flag; loopback
        // in admit_networks (the default) does not admit it.
        let milter_local = Client {
            local: true,
            ..Client::default()
        };
        let a = p.admit(&milter_local);
        assert!(!a.admitted, "{}", a.reason);
        assert!(p3.admit(&milter_local).admitted);
    }

    #[test]
    fn logins_sign_only_for_their_senders_in_every_front_end() {
        let users = parse_users(
            "alice:-:alice@example.com,@example.org\nbob@example.com:-\nroot:-:*\nnobody:-\n",
        )
        .unwrap();
        let p = Policy::with_users(&config("admit_networks = []"), users.clone());
        let mta = |name: &str| Client {
            peer: Some("203.0.113.5".parse().unwrap()),
            login: Some(Login::Mta(name.into())),
            ..Client::default()
        };
        let gw = |name: &str| Client {
            peer: Some("203.0.113.5".parse().unwrap()),
            login: Some(Login::Gateway(
                users.iter().find(|u| u.name == name).unwrap().clone(),
            )),
            ..Client::default()
        };
        for (who, sender, want) in [
            ("alice", "alice@example.com", true),
            ("alice", "x@example.org", true),
            ("alice", "carol@example.com", false),
            ("bob@example.com", "bob@example.com", true),
            ("bob@example.com", "alice@example.com", false),
            ("root", "anyone@example.net", true),
            ("nobody", "nobody@example.com", false),
        ] {
            assert_eq!(p.admit(&mta(who)).may_sign(sender), want, "{who} {sender}");
            assert_eq!(p.admit(&gw(who)).may_sign(sender), want, "{who} {sender}");
        }
        // XCLIENT LOGIN from the MTA is the same login.
        let mut x = peer("127.0.0.1");
        x.forwarded = Some(Forwarded {
            addr: Some("203.0.113.5".parse().unwrap()),
            login: Some("alice".into()),
            ..Forwarded::default()
        });
        let mut mta_cfg = config("admit_networks = []");
        mta_cfg.smtp.mta_networks = vec!["127.0.0.1/32".parse().unwrap()];
        let p = Policy::with_users(&mta_cfg, users);
        assert!(p.admit(&x).may_sign("alice@example.com"));
        assert!(!p.admit(&x).may_sign("carol@example.com"));
        // A login the table does not list signs nothing, unless the MTA checks senders.
        assert!(p.admit(&mta("stranger")).admitted);
        assert!(!p.admit(&mta("stranger")).may_sign("stranger@example.com"));
        let p = Policy::with_users(&config("mta_login = \"envelope\""), vec![]);
        assert!(p.admit(&mta("stranger")).may_sign("stranger@example.com"));
    }

    #[test]
    fn users_file_format() {
        let h = hash_password("s3cret").unwrap();
        let users = parse_users(&format!(
            "# comment\nalice:{h}:alice@example.com,@example.org\nbob:{h}\n"
        ))
        .unwrap();
        assert_eq!(users.len(), 2);
        assert!(check_password(&users, "alice", "s3cret").is_some());
        assert!(check_password(&users, "alice", "wrong").is_none());
        assert!(check_password(&users, "carol", "s3cret").is_none());
        assert_eq!(
            users[0].senders,
            Senders::Only(vec!["alice@example.com".into(), "@example.org".into()])
        );
        assert_eq!(users[1].senders, Senders::Only(vec![]));
        // An MTA-only identity cannot log in at the gateway.
        let mta_only = parse_users("carol:-:*\n").unwrap();
        assert!(check_password(&mta_only, "carol", "").is_none());
        assert!(parse_users("dave:notahash\n").is_err());
    }

    #[test]
    fn replies_are_clean_and_split() {
        let t = Trace {
            system: "https://gw.example.com/opes".into(),
            privacy_policy: "https://gw.example.com/privacy".into(),
            hostname: "gw".into(),
            id: "abc".into(),
        };
        // A certificate name with CRLF in it must not end the reply line.
        let f = Failure::policy("Signer <eve@example.com\r\n250 2.0.0 Ok: queued as X>")
            .with_service("https://gw.example.com/dlp");
        let r = render(&f, Some(&t));
        let wire = r.to_wire();
        assert_eq!(wire.matches("\r\n").count(), r.lines.len());
        assert!(wire.starts_with("554 5.7.1 Signer <eve@example.com  250 2.0.0"));
        assert!(wire.contains("[OPES https://gw.example.com/opes; id=abc;"));
        let long = render(&Failure::temporary("x ".repeat(600)), None);
        assert!(long.lines.len() > 1);
        assert!(long.lines.iter().all(|l| l.len() <= MAX_REPLY_TEXT));
        let wire = long.to_wire();
        let lines: Vec<&str> = wire.split_terminator("\r\n").collect();
        assert!(
            lines[..lines.len() - 1]
                .iter()
                .all(|l| l.starts_with("451-4.3.0 "))
        );
        assert!(lines.last().unwrap().starts_with("451 4.3.0 "));
    }

    #[test]
    fn every_answer_is_consistent() {
        use Kind::*;
        for k in [
            Malformed,
            BareNewline,
            BadSender,
            BadRecipient,
            NoRecipients,
            TooManyRecipients,
            RecipientLimit,
            BadParameter,
            TooBig,
            ContentTooBig,
            Temporary,
            Config,
            Policy,
            ForeignEncryption,
            Crypto,
            Algorithm,
            Integrity,
        ] {
            let a = answer(k);
            // RFC 3463 §2: the status class is the reply code's class.
            assert!((400..600).contains(&a.code), "{k:?}");
            assert_eq!(
                a.status.as_bytes().first(),
                a.code.to_string().as_bytes().first(),
                "{k:?}"
            );
            // A temporary reply is a temporary exit (sysexits 75 or 78), and back.
            assert_eq!(
                a.code < 500,
                [exit::TEMPFAIL, exit::CONFIG].contains(&a.exit),
                "{k:?}"
            );
        }
    }

    #[test]
    fn limits_and_bypass() {
        let l = Limits {
            max_message_bytes: 10,
            max_recipients: 2,
        };
        assert_eq!(render(&l.too_big(), None).code, 552);
        assert!(l.check_recipients(1).is_ok());
        assert_eq!(render(&l.check_recipients(2).unwrap_err(), None).code, 452);
        assert!(parse_bypass_param("https://gw/opes/d+2Chttps://gw/x").is_ok());
        let e = parse_bypass_param("a+Zz").unwrap_err();
        let a = answer(e.kind);
        assert_eq!((a.code, a.status), (501, "5.5.4"));
    }
}
