//! The ESMTP server (RFC 5321) that `reseal serve` runs: the Postfix content-filter
//! side. smtp-proto parses MAIL and RCPT; lines are read by `smtp::line` (bounded,
//! CRLF only); who is admitted and what they may ask is decided by `crate::submission`.
//!
//! Extensions: PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8
//! (RFC 6531), ENHANCEDSTATUSCODES (RFC 2034), STARTTLS (RFC 3207), DSN (RFC 3461), AUTH
//! PLAIN/LOGIN over TLS only (RFC 4954), XFORWARD and XCLIENT for the MTA in front
//! (Postfix XFORWARD_README, XCLIENT_README; only from `smtp.mta_networks`), and the
//! unregistered XOPES (RFC 5321 §2.2.2; docs/smtp-extension.md) with the MAIL parameter
//! XOPES-BYPASS.
//!
//! Shape (hickory's): a JoinSet of sessions and a cancellation token checked in every
//! wait; a deadline on every read (shorter under stress, `smtp::fairness`) and on the
//! whole session; bounded lines, commands, recipients and message size. DATA goes to a
//! spool file as it arrives, never into memory; the pipeline then holds at most
//! `limits.max_inflight_bytes` of messages at once. SIGTERM stops accepting, lets the
//! messages in the pipeline finish (each is acknowledged only once it is spooled) and
//! makes one last delivery pass.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::fairness::Fairness;
use super::line::{self, Command, Event};
use super::relay::Relay;
use super::sasl;
use super::spool::{Meta, Spool, SpoolRcpt};
use crate::adapt::Bypass;
use crate::config::SmtpConfig;
use crate::envelope::Envelope;
use crate::error::Failure;
use crate::pipeline::Gateway;
use crate::sanitize::log_text;
use crate::submission::{self, Client, Forwarded, Login, Policy, Reply};
use crate::trace::Trace;

/// Longest command line we accept (RFC 5321 §4.5.3.1.4 says 512; extensions add to it).
const MAX_COMMAND_LINE: usize = 4096;
/// Longest text line in DATA, CRLF not counted (RFC 5321 §4.5.3.1.6 says 1000; be
/// lenient: some clients send long HTML lines). A longer line is refused whole.
pub const MAX_DATA_LINE: usize = 1 << 20;
const MAX_AUTH_FAILURES: u32 = 3;
/// DATA is written to the spool file in pieces of this size.
const DATA_CHUNK: usize = 256 << 10;
/// Longest XFORWARD/XCLIENT attribute value (Postfix XFORWARD_README note 1).
const MAX_ATTR: usize = 255;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Everything sessions share.
pub struct Shared {
    /// The pipeline (configuration, services, keystore). SIGHUP replaces it with a
    /// freshly loaded one ([`Shared::gateway`] hands out the current one; a message in
    /// flight keeps the one it started with).
    gateway: std::sync::RwLock<Arc<Gateway>>,
    pub spool: Arc<Spool>,
    pub relay: Arc<Relay>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub policy: Policy,
    pub cfg: SmtpConfig,
    pub hostname: String,
    pub max_size: usize,
    pub fairness: Arc<Fairness>,
    /// The memory budget: message bytes the pipelines hold at once.
    budget: submission::Budget,
}

impl Shared {
    /// The current gateway.
    pub fn gateway(&self) -> Arc<Gateway> {
        match self.gateway.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace_gateway(&self, gw: Gateway) {
        let gw = Arc::new(gw);
        match self.gateway.write() {
            Ok(mut g) => *g = gw,
            Err(poisoned) => *poisoned.into_inner() = gw,
        }
    }

    /// What `serve` sets up before it listens: the spool under the data folder, the
    /// relay, the submitter table, the TLS acceptor and the connection table.
    pub fn new(gateway: Gateway) -> Result<Shared, Failure> {
        let cfg = gateway.config.smtp.clone();
        let spool = Arc::new(Spool::open(
            &gateway.config.data_dir.join("spool"),
            gateway.config.smtp.spool_sync,
        )?);
        let hostname = gateway.config.hostname.clone();
        let relay = Arc::new(Relay {
            spool: spool.clone(),
            cfg: gateway.config.relay.clone(),
            hostname: hostname.clone(),
            wake: tokio::sync::Notify::new(),
        });
        let policy = Policy::new(&gateway.config)?;
        let tls = super::tls::acceptor(&cfg)?;
        let max_size = gateway.config.max_message_bytes;
        let budget = submission::Budget::new(&gateway.config);
        Ok(Shared {
            fairness: Fairness::new(&cfg),
            gateway: std::sync::RwLock::new(Arc::new(gateway)),
            spool,
            relay,
            tls,
            policy,
            cfg,
            hostname,
            max_size,
            budget,
        })
    }
}

/// Runs one SMTP session over `stream` as if `peer` had connected: the command loop of
/// `serve` without the listener, the connection limits and the session timeout. The
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

/// Loads a new gateway (configuration and keystore) for a reload.
pub type Reload = Box<dyn Fn() -> Result<Gateway, Failure> + Send + Sync>;

/// Runs the server until SIGTERM or SIGINT. On SIGHUP, `reload` (if given) loads the
/// configuration and keystore again, e.g. after renewed certificates were imported,
/// and new messages use it; a reload that fails is logged and the running gateway
/// stays (docs/keys.md "Renewal without downtime"). The listener, spool, relay and
/// SMTP settings are those the server started with.
pub async fn serve(gateway: Gateway, reload: Option<Reload>) -> Result<(), Failure> {
    let shared = Arc::new(Shared::new(gateway)?);
    let reload = reload.map(Arc::new);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| Failure::config(format!("signal handler: {e}")))?;
    let listener = TcpListener::bind(&shared.cfg.listen)
        .await
        .map_err(|e| Failure::config(format!("cannot listen on {}: {e}", shared.cfg.listen)))?;
    tracing::info!(
        "listening on {} (relay to {})",
        shared.cfg.listen,
        shared.relay.cfg.next_hop
    );
    let relay = shared.relay.clone();
    let relay_cancel = CancellationToken::new();
    let relay_task = tokio::spawn(relay.clone().run(relay_cancel.clone()));
    let cancel = CancellationToken::new();
    let mut sessions = JoinSet::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::config(format!("signal handler: {e}")))?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = hup.recv() => {
                if let Some(reload) = &reload {
                    let reload = Arc::clone(reload);
                    // The key derivation takes tens of milliseconds: off the runtime.
                    match tokio::task::spawn_blocking(move || reload()).await {
                        Ok(Ok(gw)) => {
                            shared.replace_gateway(gw);
                            tracing::info!("SIGHUP: configuration and keystore reloaded");
                        }
                        Ok(Err(e)) => tracing::warn!(
                            "SIGHUP: reload failed, the running configuration stays: {}",
                            crate::sanitize::log_text(&e.text)
                        ),
                        Err(_) => tracing::warn!("SIGHUP: reload failed"),
                    }
                }
            }
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let slot = shared.fairness.admit(peer.ip());
                let shared = shared.clone();
                let cancel = cancel.child_token();
                sessions.spawn(async move {
                    let _slot = match slot {
                        Ok(s) => s,
                        Err(refusal) => {
                            tracing::info!(%peer, "connection refused: {refusal:?}");
                            let mut s = stream;
                            let _ = tokio::time::timeout(
                                Duration::from_secs(5),
                                s.write_all(refusal.reply().as_bytes()),
                            )
                            .await;
                            let _ = s.shutdown().await;
                            return;
                        }
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
    // Close the listening socket first, so that a client connecting from now on is
    // refused by the kernel at once and tries another MX or later, instead of waiting
    // in the accept queue for a greeting that never comes.
    drop(listener);
    tracing::info!("shutting down: finishing the messages in progress");
    cancel.cancel();
    let drain = async { while sessions.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(60), drain).await;
    // What was acknowledged in the last moments is delivered now if the next hop takes
    // it; otherwise it stays in the spool for the next start.
    relay_cancel.cancel();
    let _ = relay_task.await;
    let _ = tokio::time::timeout(Duration::from_secs(30), relay.pass(None)).await;
    tracing::info!("shut down");
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
    /// The raw XOPES-BYPASS value (forwarded to a next hop that speaks XOPES) and its
    /// parsed form.
    bypass: Option<String>,
    bypass_parsed: Bypass,
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    cancel: CancellationToken,
    stress: watch::Receiver<bool>,
    /// SMTP AUTH at the gateway.
    user: Option<submission::User>,
    /// XCLIENT attributes (for the rest of the session) and XFORWARD attributes (for
    /// the next transaction), from an MTA in `smtp.mta_networks` only.
    xclient: Option<Forwarded>,
    xforward: Option<Forwarded>,
    tls: bool,
    ehlo: bool,
    tx: Transaction,
    commands: usize,
    auth_failures: u32,
}

/// How a read ended when it did not deliver a line.
enum ReadEnd {
    Closed,
    Timeout,
    Shutdown,
}

/// How DATA ended.
enum DataEnd {
    /// The message is in the file; its size.
    Complete(usize),
    /// Read to its end but refused (too big, line too long).
    Refused(Failure),
    /// A bare CR or LF: refused, and the connection is closed.
    BareNewline,
    Ended(ReadEnd),
}

/// Strips the `XOPES-BYPASS=` parameter from a MAIL FROM line (smtp-proto does not know
/// it), returning the line without it and the raw value.
fn take_bypass(line: &str) -> (String, Option<String>) {
    let mut value = None;
    let kept: Vec<&str> = line
        .split(' ')
        .filter(|w| {
            let upper = w.to_ascii_uppercase();
            if let Some(v) = upper.strip_prefix("XOPES-BYPASS=") {
                value = Some(w.get(w.len() - v.len()..).unwrap_or_default().to_owned());
                false
            } else {
                true
            }
        })
        .collect();
    (kept.join(" "), value)
}

/// Parses the attributes of an XFORWARD or XCLIENT command into `into`. Values are
/// xtext (RFC 3461 §4), at most 255 characters, without control characters.
fn forwarded_attrs(arg: &str, allowed: &[&str], into: &mut Forwarded) -> Result<(), String> {
    let mut any = false;
    for word in arg.split_ascii_whitespace() {
        let (name, raw) = word.split_once('=').ok_or_else(|| {
            format!(
                "501 5.5.4 Bad attribute {:?}",
                crate::sanitize::reply_text(word)
            )
        })?;
        let name = name.to_ascii_uppercase();
        if !allowed.contains(&name.as_str()) {
            return Err(format!(
                "501 5.5.4 Bad attribute name {:?}",
                crate::sanitize::reply_text(&name)
            ));
        }
        let value = crate::submission::xtext::decode(raw)
            .filter(|v| v.len() <= MAX_ATTR && !v.chars().any(char::is_control))
            .ok_or_else(|| format!("501 5.5.4 Bad {name} value"))?;
        let unavailable = value.eq_ignore_ascii_case("[UNAVAILABLE]")
            || value.eq_ignore_ascii_case("[TEMPUNAVAIL]");
        let v = (!unavailable).then(|| value.clone());
        match name.as_str() {
            "ADDR" => {
                into.addr = v.as_deref().and_then(|a| {
                    let a = a
                        .strip_prefix("IPV6:")
                        .or_else(|| a.strip_prefix("ipv6:"))
                        .unwrap_or(a);
                    a.parse::<IpAddr>().ok()
                });
                if v.is_some() && into.addr.is_none() {
                    return Err("501 5.5.4 Bad ADDR value".into());
                }
            }
            "NAME" => into.name = v,
            "HELO" => into.helo = v,
            "PROTO" => into.proto = v,
            "LOGIN" => into.login = v,
            "SOURCE" => into.local = value.eq_ignore_ascii_case("LOCAL"),
            _ => {} // PORT, IDENT, DESTADDR, DESTPORT: accepted, not used.
        }
        any = true;
    }
    if any {
        Ok(())
    } else {
        Err("501 5.5.4 Syntax: XFORWARD/XCLIENT attribute=value ...".into())
    }
}

impl Session {
    fn new(shared: Arc<Shared>, peer: SocketAddr, cancel: CancellationToken) -> Session {
        let stress = shared.fairness.stress();
        Session {
            shared,
            peer,
            cancel,
            stress,
            user: None,
            xclient: None,
            xforward: None,
            tls: false,
            ehlo: false,
            tx: Transaction::default(),
            commands: 0,
            auth_failures: 0,
        }
    }

    fn is_mta(&self) -> bool {
        self.shared.policy.is_mta(self.peer.ip())
    }

    /// The submitter as the submission policy sees it: the TCP peer, what an MTA
    /// forwarded, and the login.
    fn client(&self) -> Client {
        let forwarded = match (&self.xforward, &self.xclient) {
            (Some(f), Some(c)) => Some(Forwarded {
                login: f.login.clone().or_else(|| c.login.clone()),
                ..f.clone()
            }),
            (f, c) => f.clone().or_else(|| c.clone()),
        };
        Client {
            peer: Some(self.peer.ip()),
            forwarded,
            login: self.user.clone().map(Login::Gateway),
            pipe: false,
            local: false,
        }
    }

    fn end_transaction(&mut self) {
        self.tx = Transaction::default();
        // XFORWARD attributes last for one transaction (XFORWARD_README).
        self.xforward = None;
    }

    /// The idle time allowed for the next read: short under stress outside a mail
    /// transaction (fairness), the configured read timeout otherwise.
    fn idle_limit(&self, stressed: bool) -> Duration {
        if stressed && self.tx.mail_from.is_none() {
            self.shared.cfg.stress_timeout
        } else {
            self.shared.cfg.read_timeout
        }
    }

    /// Waits for `fut` (a read) within the idle limit, re-evaluating the limit when
    /// the server's stress changes, and giving up on shutdown.
    async fn within_limits<T>(&self, fut: impl Future<Output = T>) -> Result<T, ReadEnd> {
        tokio::pin!(fut);
        let start = Instant::now();
        let mut stress = self.stress.clone();
        let mut watching = true;
        loop {
            let deadline = start + self.idle_limit(*stress.borrow_and_update());
            tokio::select! {
                v = &mut fut => return Ok(v),
                () = self.cancel.cancelled() => return Err(ReadEnd::Shutdown),
                () = tokio::time::sleep_until(deadline) => return Err(ReadEnd::Timeout),
                r = stress.changed(), if watching => {
                    watching = r.is_ok();
                    tracing::debug!(peer = %self.peer, "stress now {}", *stress.borrow());
                }
            }
        }
    }

    async fn read_command(&self, io: &mut BufReader<Box<dyn Io>>) -> Result<Command, ReadEnd> {
        match self
            .within_limits(line::read_command(io, MAX_COMMAND_LINE))
            .await?
        {
            Command::Closed => Err(ReadEnd::Closed),
            c => Ok(c),
        }
    }

    async fn send(io: &mut BufReader<Box<dyn Io>>, text: &str) -> bool {
        let mut s = text.to_owned();
        if !s.ends_with("\r\n") {
            s.push_str("\r\n");
        }
        io.get_mut().write_all(s.as_bytes()).await.is_ok() && io.get_mut().flush().await.is_ok()
    }

    async fn send_reply(io: &mut BufReader<Box<dyn Io>>, r: &Reply) -> bool {
        Self::send(io, &r.to_wire()).await
    }

    async fn ended(io: &mut BufReader<Box<dyn Io>>, why: ReadEnd) {
        match why {
            ReadEnd::Closed => {}
            ReadEnd::Timeout => {
                let _ = Self::send(io, "421 4.4.2 Timeout exceeded, closing connection").await;
            }
            ReadEnd::Shutdown => {
                let _ = Self::send(io, "421 4.3.2 Service shutting down").await;
            }
        }
    }

    fn greeting(&self) -> String {
        format!("220 {} ESMTP Reseal OPES gateway", self.shared.hostname)
    }

    async fn run(mut self, stream: Box<dyn Io>) {
        let mut io = BufReader::new(stream);
        if !Self::send(&mut io, &self.greeting()).await {
            return;
        }
        loop {
            let line = match self.read_command(&mut io).await {
                Ok(Command::Line(l)) => l,
                Ok(Command::TooLong) => {
                    if !Self::send(&mut io, "500 5.5.6 Line too long").await {
                        return;
                    }
                    continue;
                }
                Ok(Command::BareNewline) => {
                    // RFC 5321 §2.3.8; the line still ended at its LF.
                    if !Self::send(&mut io, "500 5.5.2 Bare CR or LF in command line").await {
                        return;
                    }
                    continue;
                }
                Ok(Command::Closed) => return,
                Err(why) => return Self::ended(&mut io, why).await,
            };
            self.commands += 1;
            if self.commands > self.shared.cfg.max_commands {
                let _ = Self::send(&mut io, "421 4.7.0 Too many commands").await;
                return;
            }
            let text = String::from_utf8_lossy(&line).into_owned();
            let verb = text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let arg = text.get(verb.len()..).unwrap_or_default().trim().to_owned();
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    if arg.is_empty() {
                        Self::send(&mut io, "501 5.5.4 Syntax: EHLO hostname").await;
                        continue;
                    }
                    self.end_transaction();
                    self.ehlo = true;
                    let r = if verb == "EHLO" {
                        self.ehlo_reply()
                    } else {
                        format!("250 {}", self.shared.hostname)
                    };
                    if !Self::send(&mut io, &r).await {
                        return;
                    }
                }
                "STARTTLS" => {
                    let Some(acceptor) = self.shared.tls.clone().filter(|_| !self.tls) else {
                        Self::send(&mut io, "502 5.5.1 STARTTLS not available").await;
                        continue;
                    };
                    if !Self::send(&mut io, "220 2.0.0 Ready to start TLS").await {
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
                            self.end_transaction();
                        }
                        _ => return,
                    }
                }
                "AUTH" => {
                    if !self.auth(&mut io, &arg).await {
                        return;
                    }
                }
                "XFORWARD" | "XCLIENT" => {
                    let (r, keep) = self.forward(&verb, &arg);
                    if !Self::send(&mut io, &r).await || !keep {
                        return;
                    }
                }
                "MAIL" => {
                    let r = self.mail(&text);
                    Self::send(&mut io, &r).await;
                }
                "RCPT" => {
                    let r = self.rcpt(&text);
                    Self::send(&mut io, &r).await;
                }
                "DATA" => {
                    if self.tx.mail_from.is_none() || self.tx.rcpts.is_empty() {
                        Self::send(&mut io, "503 5.5.1 Need MAIL and RCPT first").await;
                        continue;
                    }
                    if !self.data_command(&mut io).await {
                        return;
                    }
                }
                "BDAT" => {
                    Self::send(&mut io, "502 5.5.1 CHUNKING not supported").await;
                }
                "RSET" => {
                    self.end_transaction();
                    Self::send(&mut io, "250 2.0.0 OK").await;
                }
                "NOOP" => {
                    Self::send(&mut io, "250 2.0.0 OK").await;
                }
                "VRFY" => {
                    Self::send(&mut io, "252 2.5.2 Cannot VRFY user").await;
                }
                "HELP" => {
                    Self::send(&mut io, "214 2.0.0 See RFC 5321 and docs/smtp-extension.md").await;
                }
                "QUIT" => {
                    let _ = Self::send(&mut io, "221 2.0.0 Bye").await;
                    return;
                }
                _ => {
                    Self::send(&mut io, "500 5.5.2 Command not recognized").await;
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
        if self.tls && !self.shared.policy.users.is_empty() {
            caps.push("AUTH PLAIN LOGIN".into());
        }
        if self.is_mta() {
            caps.push("XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE".into());
            caps.push("XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT".into());
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

    /// XFORWARD (per transaction) and XCLIENT (per session, answered with a new
    /// greeting): only from an MTA in `smtp.mta_networks`. Returns the reply and
    /// whether the session goes on.
    fn forward(&mut self, verb: &str, arg: &str) -> (String, bool) {
        if !self.is_mta() {
            return ("550 5.7.0 Insufficient authorization".into(), true);
        }
        if self.tx.mail_from.is_some() {
            return ("503 5.5.1 Mail transaction in progress".into(), true);
        }
        if verb == "XFORWARD" {
            let mut f = self.xforward.clone().unwrap_or_default();
            match forwarded_attrs(
                arg,
                &["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"],
                &mut f,
            ) {
                Ok(()) => {
                    self.xforward = Some(f);
                    ("250 2.0.0 Ok".into(), true)
                }
                Err(r) => (r, true),
            }
        } else {
            let mut f = self.xclient.clone().unwrap_or_default();
            match forwarded_attrs(
                arg,
                &[
                    "NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT",
                ],
                &mut f,
            ) {
                Ok(()) => {
                    tracing::info!(
                        peer = %self.peer,
                        "XCLIENT: client {} login {}",
                        f.addr.map_or_else(|| "unavailable".into(), |a| a.to_string()),
                        log_text(f.login.as_deref().unwrap_or("-"))
                    );
                    self.xclient = Some(f);
                    // XCLIENT_README: the session starts over, with a new greeting.
                    self.ehlo = false;
                    self.user = None;
                    self.end_transaction();
                    (self.greeting(), true)
                }
                Err(r) => (r, true),
            }
        }
    }

    async fn auth(&mut self, io: &mut BufReader<Box<dyn Io>>, arg: &str) -> bool {
        if !self.tls {
            return Self::send(
                io,
                "538 5.7.11 Encryption required for requested authentication mechanism",
            )
            .await;
        }
        if self.user.is_some() {
            return Self::send(io, "503 5.5.1 Already authenticated").await;
        }
        if self.tx.mail_from.is_some() {
            return Self::send(io, "503 5.5.1 Mail transaction in progress").await;
        }
        let mut words = arg.split_whitespace();
        let mech = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next().map(str::to_owned);
        let ask = async |io: &mut BufReader<Box<dyn Io>>,
                         prompt: &str,
                         this: &Session|
               -> Option<Zeroizing<Vec<u8>>> {
            if !Self::send(io, &format!("334 {prompt}")).await {
                return None;
            }
            match this.read_command(io).await {
                Ok(Command::Line(l)) => sasl::response(&l),
                _ => None,
            }
        };
        let creds = match mech.as_str() {
            "PLAIN" => {
                let raw = match initial {
                    Some(i) if i != "=" => sasl::response(i.as_bytes()),
                    _ => ask(io, "", self).await,
                };
                raw.and_then(|r| sasl::plain(&r))
            }
            "LOGIN" => {
                let user = match initial {
                    Some(i) => sasl::response(i.as_bytes()),
                    None => ask(io, sasl::LOGIN_USERNAME, self).await,
                };
                let pass = ask(io, sasl::LOGIN_PASSWORD, self).await;
                match (user, pass) {
                    (Some(u), Some(p)) => sasl::login(&u, &p),
                    _ => None,
                }
            }
            _ => return Self::send(io, "504 5.5.4 Unrecognized authentication type").await,
        };
        let users = self.shared.policy.users.clone();
        let checked = match creds {
            Some(c) => tokio::task::spawn_blocking(move || {
                submission::check_password(&users, &c.user, &c.password)
            })
            .await
            .ok()
            .flatten(),
            None => None,
        };
        match checked {
            Some(u) => {
                tracing::info!(peer = %self.peer, user = %log_text(&u.name), "authenticated");
                self.user = Some(u);
                Self::send(io, "235 2.7.0 Authentication successful").await
            }
            None => {
                self.auth_failures += 1;
                let ok = Self::send(io, "535 5.7.8 Authentication credentials invalid").await;
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
        let (rest, raw_bypass) = take_bypass(line);
        let bypass = match raw_bypass.as_deref().map(submission::parse_bypass_param) {
            Some(Ok(b)) => Some(b),
            Some(Err(f)) => return submission::render(&f, None).to_wire(),
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
            return submission::render(&self.shared.policy.limits.too_big(), None).to_wire();
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
            Some(b) => {
                // A request from a client that is not admitted is traced in the message
                // (OPES-Via: bypass-refused), not dropped silently.
                let admitted = self.shared.policy.admit(&self.client()).admitted;
                self.tx.bypass = raw_bypass
                    .as_deref()
                    .and_then(crate::submission::xtext::decode);
                self.tx.bypass_parsed = b;
                if admitted {
                    "250 2.1.0 Sender OK; bypass request accepted for bypassable services".into()
                } else {
                    "250 2.1.0 Sender OK; bypass request refused: client not admitted".into()
                }
            }
            None => "250 2.1.0 Sender OK".into(),
        }
    }

    fn rcpt(&mut self, line: &str) -> String {
        if self.tx.mail_from.is_none() {
            return "503 5.5.1 Need MAIL first".into();
        }
        if let Err(f) = self
            .shared
            .policy
            .limits
            .check_recipients(self.tx.rcpts.len())
        {
            return submission::render(&f, None).to_wire();
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

    /// DATA: 354, the message into a spool file, the pipeline, the reply. Returns
    /// whether the session goes on.
    async fn data_command(&mut self, io: &mut BufReader<Box<dyn Io>>) -> bool {
        let trace = match Trace::new(&self.shared.gateway().config) {
            Ok(t) => t,
            Err(f) => return Self::send_reply(io, &submission::render(&f, None)).await,
        };
        let (path, file) = match self.shared.spool.incoming(&trace.id) {
            Ok(x) => x,
            Err(f) => {
                tracing::error!("cannot open a spool file: {}", f.text);
                return Self::send_reply(io, &submission::render(&f, Some(&trace))).await;
            }
        };
        if !Self::send(io, "354 End data with <CR><LF>.<CR><LF>").await {
            self.shared.spool.discard_incoming(&path);
            return false;
        }
        let end = self.receive(io, file).await;
        let reply = match end {
            DataEnd::Complete(size) => self.process(path, size, &trace).await,
            DataEnd::Refused(f) => {
                self.shared.spool.discard_incoming(&path);
                tracing::info!(peer = %self.peer, id = %trace.id, "refused: {}", log_text(&f.to_string()));
                submission::render(&f, Some(&trace))
            }
            DataEnd::BareNewline => {
                self.shared.spool.discard_incoming(&path);
                tracing::info!(peer = %self.peer, id = %trace.id, "bare CR or LF in DATA: refused, connection closed");
                let mut r = submission::render(&Failure::bare_newline(), Some(&trace));
                r.code = 554;
                let _ = Self::send_reply(io, &r).await;
                return false;
            }
            DataEnd::Ended(why) => {
                self.shared.spool.discard_incoming(&path);
                Self::ended(io, why).await;
                return false;
            }
        };
        self.end_transaction();
        Self::send_reply(io, &reply).await
    }

    /// Reads the message after 354 into `file` through the DATA decoder.
    async fn receive(&self, io: &mut BufReader<Box<dyn Io>>, file: std::fs::File) -> DataEnd {
        let mut file = tokio::fs::File::from_std(file);
        let mut data = line::Data::new(MAX_DATA_LINE, self.shared.max_size);
        let mut out: Vec<u8> = Vec::with_capacity(DATA_CHUNK + 1024);
        let mut write_failed = None;
        loop {
            let filled = self
                .within_limits(async { io.fill_buf().await.map(|b| b.len()) })
                .await;
            match filled {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return DataEnd::Ended(ReadEnd::Closed),
                Err(why) => return DataEnd::Ended(why),
            }
            let (used, event) = data.feed(io.buffer(), &mut out);
            io.consume(used);
            if out.len() >= DATA_CHUNK || event != Event::More {
                if write_failed.is_none()
                    && let Err(e) = file.write_all(&out).await
                {
                    write_failed = Some(e);
                }
                out.clear();
            }
            match event {
                Event::More => {}
                Event::BareNewline => return DataEnd::BareNewline,
                Event::End => break,
            }
        }
        if data.too_big {
            return DataEnd::Refused(self.shared.policy.limits.too_big());
        }
        if data.line_too_long {
            return DataEnd::Refused(Failure::line_too_long(MAX_DATA_LINE));
        }
        let synced = match write_failed {
            Some(e) => Err(e),
            // With group commit the spool makes this file durable together with the
            // rest of the message (Spool::store_received), before the 250.
            None => match file.flush().await {
                Ok(()) if self.shared.spool.syncs_each_file() => file.sync_all().await,
                r => r,
            },
        };
        if let Err(e) = synced {
            tracing::error!("cannot write the spool: {e}");
            return DataEnd::Refused(Failure::temporary("Cannot store the message now"));
        }
        DataEnd::Complete(data.size())
    }

    /// Runs the pipeline over the message in `path` and spools the result.
    async fn process(&mut self, path: PathBuf, size: usize, trace: &Trace) -> Reply {
        let discard = |spool: &Spool, p: &std::path::Path| spool.discard_incoming(p);
        let mail_from = self.tx.mail_from.clone().unwrap_or_default();
        let rcpts: Vec<String> = self.tx.rcpts.iter().map(|r| r.address.clone()).collect();
        let env = match Envelope::new(&mail_from, &rcpts) {
            Ok(e) => e,
            Err(f) => {
                discard(&self.shared.spool, &path);
                return submission::render(&f, Some(trace));
            }
        };
        let admission = self.shared.policy.admit(&self.client());
        tracing::info!(
            peer = %self.peer,
            id = %trace.id,
            "submitter: {}",
            log_text(&admission.reason)
        );
        let submitter = admission.submitter(&mail_from, std::mem::take(&mut self.tx.bypass_parsed));
        // The memory budget: wait until the pipeline may hold this message.
        let Some(permit) = self.shared.budget.take(size).await else {
            discard(&self.shared.spool, &path);
            return submission::render(&Failure::temporary("Shutting down"), Some(trace));
        };
        let shared = self.shared.clone();
        let tx = std::mem::take(&mut self.tx);
        let peer = self.peer;
        let trace = trace.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let spool = &shared.spool;
            let msg = match std::fs::read(&path) {
                Ok(m) => m,
                Err(e) => {
                    spool.discard_incoming(&path);
                    tracing::error!("cannot read the spool file: {e}");
                    return submission::render(
                        &Failure::temporary("Cannot read the message back"),
                        Some(&trace),
                    );
                }
            };
            let outcome = shared.gateway().process(&env, &msg, &trace, &submitter);
            drop(msg);
            match outcome {
                Err(f) => {
                    spool.discard_incoming(&path);
                    let r = submission::render(&f, Some(&trace));
                    tracing::info!(%peer, id = %trace.id, "refused: {}", r.one_line());
                    r
                }
                Ok(o) if o.held.is_some() => {
                    spool.discard_incoming(&path);
                    submission::held(&trace)
                }
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
                    match spool.store_received(&meta, &path, &o.message) {
                        Ok(()) => {
                            tracing::info!(%peer, id = %trace.id, "accepted and spooled");
                            submission::queued(&trace)
                        }
                        Err(f) => {
                            spool.discard_incoming(&path);
                            submission::render(&f, Some(&trace))
                        }
                    }
                }
            }
        })
        .await;
        self.shared.relay.wake.notify_one();
        result.unwrap_or_else(|_| Reply::new(451, "4.3.0", "Internal error, try again later"))
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
        assert_eq!(b.as_deref(), Some("https://gw/opes/d+2Chttps://gw/x"));
        assert_eq!(
            take_bypass("MAIL FROM:<a@b.c> xopes-bypass=*").1.as_deref(),
            Some("*")
        );
    }

    #[test]
    fn xforward_attributes() {
        let mut f = Forwarded::default();
        forwarded_attrs(
            "NAME=mx.example ADDR=IPV6:2001:db8::1 PROTO=ESMTP SOURCE=REMOTE",
            &["NAME", "ADDR", "PROTO", "SOURCE"],
            &mut f,
        )
        .unwrap();
        assert_eq!(f.addr, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(f.name.as_deref(), Some("mx.example"));
        assert!(!f.local);
        forwarded_attrs(
            "ADDR=[UNAVAILABLE] SOURCE=LOCAL",
            &["ADDR", "SOURCE"],
            &mut f,
        )
        .unwrap();
        assert_eq!(f.addr, None);
        assert!(f.local);
        assert!(forwarded_attrs("ADDR=not-an-ip", &["ADDR"], &mut f).is_err());
        assert!(forwarded_attrs("LOGIN=x", &["ADDR"], &mut f).is_err());
        assert!(forwarded_attrs("NAME=a+0Db", &["NAME"], &mut f).is_err());
        assert!(forwarded_attrs("", &["NAME"], &mut f).is_err());
    }
}
