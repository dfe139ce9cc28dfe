//! The ESMTP server (RFC 5321) that `reseal serve` runs: the Postfix content-filter
//! side. smtp-proto parses MAIL and RCPT; the connection loop is ours.
//!
//! Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
//! (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034), STARTTLS (RFC 3207), DSN (RFC 3461), AUTH
//! PLAIN/LOGIN over TLS only (RFC 4954), and the unregistered XOPES (RFC 5321 §2.2.2;
//! docs/smtp-extension.md) with the MAIL parameter XOPES-BYPASS.
//!
//! Shape (hickory's): a JoinSet of sessions and a cancellation token checked in every
//! wait; a timeout on every read and on the whole session; bounded lines, commands,
//! recipients and message size; SIGTERM stops accepting and lets in-flight messages
//! finish.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::relay::Relay;
use super::spool::{Meta, Spool, SpoolRcpt};
use crate::adapt::Bypass;
use crate::config::SmtpConfig;
use crate::envelope::Envelope;
use crate::error::Failure;
use crate::pipeline::{Gateway, Submitter};
use crate::trace::Trace;

/// Longest command line we accept (RFC 5321 §4.5.3.1.4 says 512; extensions add to it).
const MAX_COMMAND_LINE: usize = 4096;
/// Longest text line in DATA (RFC 5321 §4.5.3.1.6 says 1000; be lenient).
const MAX_DATA_LINE: usize = 1 << 20;
const MAX_AUTH_FAILURES: u32 = 3;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A user who may authenticate: an Argon2 PHC hash and, optionally, the senders the
/// gateway may sign for on their behalf.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    hash: String,
    pub senders: Vec<String>,
}

/// Reads `user:$argon2id$...[:sender,@domain,...]` lines.
pub fn load_users(path: &std::path::Path) -> Result<Vec<User>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read users file {}: {e}", path.display())))?;
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(name), Some(hash)) = (parts.next(), parts.next()) else {
            return Err(Failure::config(format!(
                "users file line {}: expected user:hash",
                i + 1
            )));
        };
        if argon2::PasswordHash::new(hash).is_err() {
            return Err(Failure::config(format!(
                "users file line {}: not an Argon2 PHC hash",
                i + 1
            )));
        }
        let senders = parts
            .next()
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        users.push(User {
            name: name.to_owned(),
            hash: hash.to_owned(),
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

fn check_password(users: &[User], name: &str, password: &str) -> Option<User> {
    use argon2::PasswordVerifier as _;
    let u = users.iter().find(|u| u.name == name)?;
    let hash = argon2::PasswordHash::new(&u.hash).ok()?;
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .ok()
        .map(|()| u.clone())
}

/// Everything sessions share.
pub struct Shared {
    pub gateway: Arc<Gateway>,
    pub spool: Arc<Spool>,
    pub relay: Arc<Relay>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub users: Vec<User>,
    pub cfg: SmtpConfig,
    pub hostname: String,
    pub max_size: usize,
}

fn tls_acceptor(cfg: &SmtpConfig) -> Result<Option<tokio_rustls::TlsAcceptor>, Failure> {
    let (Some(cert), Some(key)) = (&cfg.tls_cert, &cfg.tls_key) else {
        return Ok(None);
    };
    let bad = |what: &str, e: String| Failure::config(format!("smtp TLS {what}: {e}"));
    let certs: Vec<_> = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).map_err(|e| bad("certificate", e.to_string()))?,
    ))
    .collect::<Result<_, _>>()
    .map_err(|e| bad("certificate", e.to_string()))?;
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).map_err(|e| bad("key", e.to_string()))?,
    ))
    .map_err(|e| bad("key", e.to_string()))?
    .ok_or_else(|| bad("key", "no private key in the file".into()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let sc = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("config", e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| bad("config", e.to_string()))?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(sc))))
}

/// Disables core dumps, so that key material never lands in a core file (DESIGN §3
/// rule 8).
pub fn no_core_dumps() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}

impl Shared {
    /// What `serve` sets up before it listens: the spool under the data folder, the
    /// relay, the users file and the TLS acceptor.
    pub fn new(gateway: Gateway) -> Result<Shared, Failure> {
        let cfg = gateway.config.smtp.clone();
        let spool = Arc::new(Spool::open(&gateway.config.data_dir.join("spool"))?);
        let hostname = gateway.config.hostname.clone();
        let relay = Arc::new(Relay {
            spool: spool.clone(),
            cfg: gateway.config.relay.clone(),
            hostname: hostname.clone(),
            wake: tokio::sync::Notify::new(),
        });
        let users = match &cfg.users_file {
            Some(p) => load_users(p)?,
            None => Vec::new(),
        };
        let tls = tls_acceptor(&cfg)?;
        let max_size = gateway.config.max_message_bytes;
        Ok(Shared {
            gateway: Arc::new(gateway),
            spool,
            relay,
            tls,
            users,
            cfg,
            hostname,
            max_size,
        })
    }
}

/// Runs one SMTP session over `stream` as if `peer` had connected: the command loop of
/// `serve` without the listener, the connection limit and the session timeout. The
/// session ends when the client quits or the stream ends. Public for the SMTP fuzz
/// target (docs/fuzzing.md), which drives it over an in-memory stream.
pub async fn session<S>(shared: Arc<Shared>, peer: SocketAddr, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Session::new(shared, peer, CancellationToken::new())
        .run(Box::new(stream))
        .await;
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn serve(gateway: Gateway) -> Result<(), Failure> {
    let shared = Arc::new(Shared::new(gateway)?);
    let listener = TcpListener::bind(&shared.cfg.listen)
        .await
        .map_err(|e| Failure::config(format!("cannot listen on {}: {e}", shared.cfg.listen)))?;
    tracing::info!(
        "listening on {} (relay to {})",
        shared.cfg.listen,
        shared.relay.cfg.next_hop
    );
    let relay = shared.relay.clone();
    let cancel = CancellationToken::new();
    let relay_task = tokio::spawn(relay.clone().run(cancel.child_token()));
    let limit = Arc::new(Semaphore::new(shared.cfg.max_connections));
    let mut sessions = JoinSet::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::config(format!("signal handler: {e}")))?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let permit = limit.clone().try_acquire_owned();
                let shared = shared.clone();
                let cancel = cancel.child_token();
                sessions.spawn(async move {
                    let Ok(_permit) = permit else {
                        let mut s = stream;
                        let _ = s.write_all(b"421 4.7.0 Too many connections, try again later\r\n").await;
                        return;
                    };
                    let timeout = shared.cfg.session_timeout;
                    let session = Session::new(shared, peer, cancel);
                    if tokio::time::timeout(timeout, session.run(Box::new(stream))).await.is_err() {
                        tracing::info!(%peer, "session timed out");
                    }
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    tracing::info!("shutting down: finishing sessions in progress");
    cancel.cancel();
    let drain = async { while sessions.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(60), drain).await;
    let _ = relay_task.await;
    Ok(())
}

#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpts: Vec<SpoolRcpt>,
    ret: Option<bool>,
    envid: Option<String>,
    body_8bit: bool,
    smtputf8: bool,
    bypass: Option<String>,
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    cancel: CancellationToken,
    admitted_by_network: bool,
    user: Option<User>,
    tls: bool,
    ehlo: bool,
    tx: Transaction,
    commands: usize,
    auth_failures: u32,
}

enum Line {
    Data(Vec<u8>),
    TooLong,
    Closed,
    Shutdown,
}

fn ip_admitted(nets: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    nets.iter().any(|n| n.contains(&ip))
}

/// Strips the `XOPES-BYPASS=` parameter from a MAIL FROM line (smtp-proto does not know
/// it), returning the line without it and the decoded value.
fn take_bypass(line: &str) -> (String, Option<Result<String, ()>>) {
    let mut value = None;
    let kept: Vec<&str> = line
        .split(' ')
        .filter(|w| {
            let upper = w.to_ascii_uppercase();
            if let Some(v) = upper.strip_prefix("XOPES-BYPASS=") {
                let raw = w.get(w.len() - v.len()..).unwrap_or_default();
                value = Some(super::xtext::decode(raw).ok_or(()));
                false
            } else {
                true
            }
        })
        .collect();
    (kept.join(" "), value)
}

impl Session {
    fn new(shared: Arc<Shared>, peer: SocketAddr, cancel: CancellationToken) -> Session {
        let admitted_by_network = ip_admitted(&shared.cfg.admit_networks, peer.ip());
        Session {
            shared,
            peer,
            cancel,
            admitted_by_network,
            user: None,
            tls: false,
            ehlo: false,
            tx: Transaction::default(),
            commands: 0,
            auth_failures: 0,
        }
    }

    fn admitted(&self) -> bool {
        self.admitted_by_network || self.user.is_some()
    }

    /// May the gateway sign for `sender` on behalf of this client (DESIGN §3 rule 6)?
    fn may_sign(&self, sender: &str) -> bool {
        match &self.user {
            Some(u) if !u.senders.is_empty() => u.senders.iter().any(|s| {
                s == sender
                    || s.strip_prefix('@')
                        .is_some_and(|d| crate::mime::address::domain(sender) == d)
            }),
            Some(_) => true,
            None => self.admitted_by_network,
        }
    }

    async fn read_line(&self, r: &mut BufReader<Box<dyn Io>>, max: usize) -> Line {
        let mut out = Vec::new();
        let timeout = self.shared.cfg.read_timeout;
        let fut = async {
            loop {
                let buf = match r.fill_buf().await {
                    Ok(b) => b,
                    Err(_) => return Line::Closed,
                };
                if buf.is_empty() {
                    return Line::Closed;
                }
                let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (buf.len(), false),
                };
                if out.len() + take > max {
                    // Swallow the rest of the line, then report it too long.
                    let chunk = buf.get(..take).map(<[u8]>::len).unwrap_or(take);
                    r.consume(chunk);
                    if done {
                        return Line::TooLong;
                    }
                    out.clear();
                    out.push(0);
                    continue;
                }
                out.extend_from_slice(buf.get(..take).unwrap_or_default());
                r.consume(take);
                if done {
                    return if out.first() == Some(&0) && out.len() == 1 {
                        Line::TooLong
                    } else {
                        Line::Data(out)
                    };
                }
            }
        };
        tokio::select! {
            () = self.cancel.cancelled() => Line::Shutdown,
            res = tokio::time::timeout(timeout, fut) => res.unwrap_or(Line::Closed),
        }
    }

    async fn reply(w: &mut BufReader<Box<dyn Io>>, text: &str) -> bool {
        let mut s = text.to_owned();
        s.push_str("\r\n");
        w.get_mut().write_all(s.as_bytes()).await.is_ok() && w.get_mut().flush().await.is_ok()
    }

    async fn run(mut self, stream: Box<dyn Io>) {
        let mut io = BufReader::new(stream);
        let greeting = format!("220 {} ESMTP Reseal OPES gateway", self.shared.hostname);
        if !Self::reply(&mut io, &greeting).await {
            return;
        }
        loop {
            let line = match self.read_line(&mut io, MAX_COMMAND_LINE).await {
                Line::Data(l) => l,
                Line::TooLong => {
                    if !Self::reply(&mut io, "500 5.5.2 Line too long").await {
                        return;
                    }
                    continue;
                }
                Line::Closed => return,
                Line::Shutdown => {
                    let _ = Self::reply(&mut io, "421 4.3.2 Service shutting down").await;
                    return;
                }
            };
            self.commands += 1;
            if self.commands > self.shared.cfg.max_commands {
                let _ = Self::reply(&mut io, "421 4.7.0 Too many commands").await;
                return;
            }
            let text = String::from_utf8_lossy(&line)
                .trim_end_matches(['\r', '\n'])
                .to_owned();
            let verb = text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let arg = text.get(verb.len()..).unwrap_or_default().trim().to_owned();
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    if arg.is_empty() {
                        Self::reply(&mut io, "501 5.5.4 Syntax: EHLO hostname").await;
                        continue;
                    }
                    self.tx = Transaction::default();
                    self.ehlo = true;
                    let r = if verb == "EHLO" {
                        self.ehlo_reply()
                    } else {
                        format!("250 {}", self.shared.hostname)
                    };
                    if !Self::reply(&mut io, &r).await {
                        return;
                    }
                }
                "STARTTLS" => {
                    let Some(acceptor) = self.shared.tls.clone().filter(|_| !self.tls) else {
                        Self::reply(&mut io, "502 5.5.1 STARTTLS not available").await;
                        continue;
                    };
                    if !Self::reply(&mut io, "220 2.0.0 Ready to start TLS").await {
                        return;
                    }
                    // RFC 3207 §4.2: discard everything the client sent before the handshake.
                    let inner = io.into_inner();
                    match tokio::time::timeout(self.shared.cfg.read_timeout, acceptor.accept(inner))
                        .await
                    {
                        Ok(Ok(tls)) => {
                            io = BufReader::new(Box::new(tls));
                            self.tls = true;
                            self.ehlo = false;
                            self.user = None;
                            self.tx = Transaction::default();
                        }
                        _ => return,
                    }
                }
                "AUTH" => {
                    if !self.auth(&mut io, &arg).await {
                        return;
                    }
                }
                "MAIL" => {
                    let r = self.mail(&text);
                    Self::reply(&mut io, &r).await;
                }
                "RCPT" => {
                    let r = self.rcpt(&text);
                    Self::reply(&mut io, &r).await;
                }
                "DATA" => {
                    if self.tx.mail_from.is_none() || self.tx.rcpts.is_empty() {
                        Self::reply(&mut io, "503 5.5.1 Need MAIL and RCPT first").await;
                        continue;
                    }
                    if !Self::reply(&mut io, "354 End data with <CR><LF>.<CR><LF>").await {
                        return;
                    }
                    let Some(data) = self.data(&mut io).await else {
                        return;
                    };
                    let r = match data {
                        Ok(msg) => self.process(msg).await,
                        Err(r) => r,
                    };
                    self.tx = Transaction::default();
                    if !Self::reply(&mut io, &r).await {
                        return;
                    }
                }
                "RSET" => {
                    self.tx = Transaction::default();
                    Self::reply(&mut io, "250 2.0.0 OK").await;
                }
                "NOOP" => {
                    Self::reply(&mut io, "250 2.0.0 OK").await;
                }
                "VRFY" => {
                    Self::reply(&mut io, "252 2.5.2 Cannot VRFY user").await;
                }
                "HELP" => {
                    Self::reply(&mut io, "214 2.0.0 See RFC 5321 and docs/smtp-extension.md").await;
                }
                "QUIT" => {
                    let _ = Self::reply(&mut io, "221 2.0.0 Bye").await;
                    return;
                }
                "BDAT" => {
                    Self::reply(&mut io, "502 5.5.1 CHUNKING not supported").await;
                }
                _ => {
                    Self::reply(&mut io, "500 5.5.2 Command not recognized").await;
                }
            }
        }
    }

    fn ehlo_reply(&self) -> String {
        let mut caps = vec![
            self.shared.hostname.clone(),
            "PIPELINING".into(),
            format!("SIZE {}", self.shared.max_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
            "DSN".into(),
        ];
        if self.shared.tls.is_some() && !self.tls {
            caps.push("STARTTLS".into());
        }
        if self.tls && !self.shared.users.is_empty() {
            caps.push("AUTH PLAIN LOGIN".into());
        }
        // RFC 5321 §2.2.2: an unregistered extension keyword starts with X.
        caps.push("XOPES".into());
        let n = caps.len();
        caps.iter()
            .enumerate()
            .map(|(i, c)| format!("250{}{c}", if i + 1 == n { ' ' } else { '-' }))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    async fn auth(&mut self, io: &mut BufReader<Box<dyn Io>>, arg: &str) -> bool {
        if !self.tls {
            return Self::reply(
                io,
                "538 5.7.11 Encryption required for requested authentication mechanism",
            )
            .await;
        }
        if self.user.is_some() {
            return Self::reply(io, "503 5.5.1 Already authenticated").await;
        }
        let mut words = arg.split_whitespace();
        let mech = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_owned);
        let b64 = base64::engine::general_purpose::STANDARD;
        let ask = async |io: &mut BufReader<Box<dyn Io>>,
                         prompt: &str,
                         this: &Session|
               -> Option<Vec<u8>> {
            if !Self::reply(io, &format!("334 {prompt}")).await {
                return None;
            }
            match this.read_line(io, MAX_COMMAND_LINE).await {
                Line::Data(l) => {
                    let t = String::from_utf8_lossy(&l).trim().to_owned();
                    if t == "*" {
                        return None;
                    }
                    b64.decode(t).ok()
                }
                _ => None,
            }
        };
        let creds = match mech.as_str() {
            "PLAIN" => {
                let raw = match initial {
                    Some(i) if i != "=" => b64.decode(i).ok(),
                    _ => ask(io, "", self).await,
                };
                raw.and_then(|r| {
                    let mut parts = r.split(|&b| b == 0);
                    let _authzid = parts.next()?;
                    let user = String::from_utf8(parts.next()?.to_vec()).ok()?;
                    let pass = String::from_utf8(parts.next()?.to_vec()).ok()?;
                    Some((user, zeroize::Zeroizing::new(pass)))
                })
            }
            "LOGIN" => {
                let user = match initial {
                    Some(i) => b64.decode(i).ok(),
                    None => ask(io, "VXNlcm5hbWU6", self).await,
                };
                let pass = ask(io, "UGFzc3dvcmQ6", self).await;
                match (user, pass) {
                    (Some(u), Some(p)) => match (String::from_utf8(u), String::from_utf8(p)) {
                        (Ok(u), Ok(p)) => Some((u, zeroize::Zeroizing::new(p))),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => return Self::reply(io, "504 5.5.4 Unrecognized authentication type").await,
        };
        let users = self.shared.users.clone();
        let checked = match creds {
            Some((u, p)) => tokio::task::spawn_blocking(move || check_password(&users, &u, &p))
                .await
                .ok()
                .flatten(),
            None => None,
        };
        match checked {
            Some(u) => {
                tracing::info!(peer = %self.peer, user = %u.name, "authenticated");
                self.user = Some(u);
                Self::reply(io, "235 2.7.0 Authentication successful").await
            }
            None => {
                self.auth_failures += 1;
                let ok = Self::reply(io, "535 5.7.8 Authentication credentials invalid").await;
                ok && self.auth_failures < MAX_AUTH_FAILURES
            }
        }
    }

    fn mail(&mut self, line: &str) -> String {
        if !self.ehlo {
            return "503 5.5.1 Send EHLO first".into();
        }
        if self.tx.mail_from.is_some() {
            return "503 5.5.1 Sender already given".into();
        }
        let (rest, bypass) = take_bypass(line);
        let bypass = match bypass {
            Some(Ok(b)) => Some(b),
            Some(Err(())) => return "501 5.5.4 Malformed XOPES-BYPASS parameter (xtext)".into(),
            None => None,
        };
        let mut bytes = format!("{rest}\r\n").into_bytes();
        bytes.truncate(MAX_COMMAND_LINE + 2);
        let parsed = smtp_proto::Request::parse(&mut bytes.iter());
        let from = match parsed {
            Ok(smtp_proto::Request::Mail { from }) => from,
            Ok(_) | Err(_) => return "501 5.5.4 Syntax error in MAIL FROM".into(),
        };
        if from.size > self.shared.max_size {
            return format!(
                "552 5.3.4 Message size exceeds the limit of {} bytes",
                self.shared.max_size
            );
        }
        let addr = crate::mime::address::normalize(&from.address);
        if !addr.is_empty() && !crate::mime::address::is_plausible(&addr) {
            return "553 5.1.7 Bad sender address syntax".into();
        }
        self.tx.ret = if from.flags & smtp_proto::MAIL_RET_FULL != 0 {
            Some(true)
        } else if from.flags & smtp_proto::MAIL_RET_HDRS != 0 {
            Some(false)
        } else {
            None
        };
        self.tx.envid = from.env_id.map(|e| e.into_owned());
        self.tx.body_8bit = from.flags & smtp_proto::MAIL_BODY_8BITMIME != 0;
        self.tx.smtputf8 = from.flags & smtp_proto::MAIL_SMTPUTF8 != 0;
        self.tx.mail_from = Some(addr);
        match bypass {
            Some(b) if self.admitted() => {
                self.tx.bypass = Some(b);
                "250 2.1.0 Sender OK; bypass request accepted for bypassable services".into()
            }
            Some(b) => {
                // Traced in the message (OPES-Via: bypass-refused), not dropped silently.
                self.tx.bypass = Some(b);
                "250 2.1.0 Sender OK; bypass request refused: client not admitted".into()
            }
            None => "250 2.1.0 Sender OK".into(),
        }
    }

    fn rcpt(&mut self, line: &str) -> String {
        if self.tx.mail_from.is_none() {
            return "503 5.5.1 Need MAIL first".into();
        }
        if self.tx.rcpts.len() >= self.shared.cfg.max_recipients {
            return "452 4.5.3 Too many recipients".into();
        }
        let mut bytes = format!("{line}\r\n").into_bytes();
        bytes.truncate(MAX_COMMAND_LINE + 2);
        let to = match smtp_proto::Request::parse(&mut bytes.iter()) {
            Ok(smtp_proto::Request::Rcpt { to }) => to,
            _ => return "501 5.5.4 Syntax error in RCPT TO".into(),
        };
        let addr = crate::mime::address::normalize(&to.address);
        if !crate::mime::address::is_plausible(&addr) {
            return "553 5.1.3 Bad recipient address syntax".into();
        }
        self.tx.rcpts.push(SpoolRcpt {
            address: addr,
            orcpt: to.orcpt.map(|o| o.into_owned()),
            notify: to.flags,
            done: false,
        });
        "250 2.1.5 Recipient OK".into()
    }

    /// Reads the message after 354 (RFC 5321 §4.5.2 dot-unstuffing). `None` when the
    /// connection died; `Err(reply)` for a message that cannot be taken.
    async fn data(&self, io: &mut BufReader<Box<dyn Io>>) -> Option<Result<Vec<u8>, String>> {
        let mut msg = Vec::new();
        let mut too_big = false;
        loop {
            let line = match self.read_line(io, MAX_DATA_LINE).await {
                Line::Data(l) => l,
                Line::TooLong => {
                    too_big = true;
                    continue;
                }
                Line::Closed | Line::Shutdown => return None,
            };
            if line == b".\r\n" || line == b".\n" {
                break;
            }
            let content = line.strip_prefix(b".").unwrap_or(&line);
            if msg.len() + content.len() > self.shared.max_size {
                too_big = true;
                msg.clear();
            }
            if !too_big {
                msg.extend_from_slice(content);
            }
        }
        if too_big {
            return Some(Err(format!(
                "552 5.3.4 Message size exceeds the limit of {} bytes",
                self.shared.max_size
            )));
        }
        Some(Ok(msg))
    }

    async fn process(&mut self, msg: Vec<u8>) -> String {
        let gateway = self.shared.gateway.clone();
        let trace = match Trace::new(&gateway.config) {
            Ok(t) => t,
            Err(f) => return format!("{f}"),
        };
        let mail_from = self.tx.mail_from.clone().unwrap_or_default();
        let rcpts: Vec<String> = self.tx.rcpts.iter().map(|r| r.address.clone()).collect();
        let env = match Envelope::new(&mail_from, &rcpts) {
            Ok(e) => e,
            Err(f) => return trace.reply(&f),
        };
        let submitter = Submitter {
            admitted: self.admitted(),
            bypass: self
                .tx
                .bypass
                .as_deref()
                .map(Bypass::parse)
                .unwrap_or_default(),
            may_sign: self.may_sign(&mail_from),
        };
        let spool = self.shared.spool.clone();
        let tx = std::mem::take(&mut self.tx);
        let peer = self.peer;
        let result = tokio::task::spawn_blocking(move || {
            let outcome = gateway.process(&env, &msg, &trace, &submitter);
            match outcome {
                Err(f) => {
                    tracing::info!(%peer, id = %trace.id, "refused: {f}");
                    trace.reply(&f)
                }
                Ok(o) if o.held.is_some() => format!(
                    "250 2.6.0 Message held in quarantine as {} {}",
                    trace.id,
                    trace.reply_text(None)
                ),
                Ok(o) => {
                    // Address mapping may have changed the envelope: deliver to the
                    // mapped addresses, keeping each recipient's DSN parameters.
                    let mut rcpts = Vec::new();
                    for (i, a) in o.envelope.rcpts.iter().enumerate() {
                        let orig = tx.rcpts.get(i);
                        rcpts.push(SpoolRcpt {
                            address: a.clone(),
                            orcpt: orig.and_then(|r| r.orcpt.clone()),
                            notify: orig.map_or(0, |r| r.notify),
                            done: false,
                        });
                    }
                    let meta = Meta {
                        id: trace.id.clone(),
                        mail_from: o.envelope.mail_from.clone(),
                        rcpts,
                        ret: tx.ret,
                        envid: tx.envid,
                        body_8bit: tx.body_8bit || !o.message.is_ascii(),
                        smtputf8: tx.smtputf8,
                        bypass: tx.bypass,
                        received: reseal_keystore::now(),
                        attempts: 0,
                        next_attempt: 0,
                        is_dsn: false,
                    };
                    match spool.store(&meta, &msg, &o.message) {
                        Ok(()) => {
                            tracing::info!(%peer, id = %trace.id, "accepted and spooled");
                            format!("250 2.0.0 Ok: queued as {}", trace.id)
                        }
                        Err(f) => trace.reply(&f),
                    }
                }
            }
        })
        .await;
        self.shared.relay.wake.notify_one();
        result.unwrap_or_else(|_| "451 4.3.0 Internal error, try again later".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bypass_parameter_is_taken_out() {
        let (rest, b) =
            take_bypass("MAIL FROM:<a@b.c> SIZE=10 XOPES-BYPASS=https://gw/opes/d+2Chttps://gw/x");
        assert_eq!(rest, "MAIL FROM:<a@b.c> SIZE=10");
        assert_eq!(b, Some(Ok("https://gw/opes/d,https://gw/x".into())));
        assert_eq!(
            take_bypass("MAIL FROM:<a@b.c> xopes-bypass=*").1,
            Some(Ok("*".into()))
        );
        assert_eq!(
            take_bypass("MAIL FROM:<a@b.c> XOPES-BYPASS=a+Zz").1,
            Some(Err(()))
        );
    }

    #[test]
    fn admission_by_network() {
        let nets = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        assert!(ip_admitted(&nets, "127.0.0.1".parse().unwrap()));
        assert!(ip_admitted(&nets, "::ffff:127.0.0.1".parse().unwrap()));
        assert!(!ip_admitted(&nets, "192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn users_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users");
        let h = hash_password("s3cret").unwrap();
        std::fs::write(
            &p,
            format!("# comment\nalice:{h}:alice@example.com,@example.org\nbob:{h}\n"),
        )
        .unwrap();
        let users = load_users(&p).unwrap();
        assert_eq!(users.len(), 2);
        assert!(check_password(&users, "alice", "s3cret").is_some());
        assert!(check_password(&users, "alice", "wrong").is_none());
        assert!(check_password(&users, "carol", "s3cret").is_none());
        assert_eq!(users[0].senders, vec!["alice@example.com", "@example.org"]);
    }
}
