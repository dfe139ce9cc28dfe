//! Milter mode (`reseal milter --listen ADDR`): the same pipeline behind Postfix's
//! `smtpd_milters`, using indymilter. Results go back as body replacement and header
//! changes; refusals as reject/tempfail replies carrying the OPES trace.
//!
//! One milter connection serves one SMTP session. The callbacks collect the envelope
//! (MAIL FROM, RCPT TO), the header fields (reassembled as `Name:value` CRLF lines, byte
//! for byte as the MTA gives them) and the body, all bounded by
//! `limits.max_message_bytes`. At end of message the pipeline runs on a blocking thread
//! (it is synchronous and CPU-heavy) while the milter sends progress reports, so that the
//! MTA's content timeout does not expire. Then:
//!
//! - a message that went through is written back: every original header field is
//!   deleted (highest instance first, so indexes never shift), the fields of the new
//!   message are added in order, the trace fields that the pipeline prepends (Received,
//!   OPES-System, OPES-Via) are inserted right below the MTA's own Received line (which
//!   milters never see), and the body is replaced; envelope changes made by an address
//!   map are applied;
//! - a message held in quarantine is accepted and discarded by the MTA (Reseal keeps it);
//! - a refusal becomes the SMTP reply, with its RFC 3463 code and the OPES trace
//!   (RFC 4902 §3.1), as a reject (5xx) or a temporary failure (4xx).

use std::ffi::{CStr, CString};
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use indymilter::{
    Actions, Callbacks, Context, ContextActions, EomContext, MacroStage, NegotiateContext,
    ProtoOpts, SetErrorReply, SocketInfo, Status,
};

use crate::adapt::Bypass;
use crate::envelope::Envelope;
use crate::error::Failure;
use crate::mime::{self, Entity};
use crate::pipeline::Gateway;
use crate::sanitize::log_text;
use crate::submission::{self, Budget, Client, Login, Policy};
use crate::trace::Trace;

/// How often to tell the MTA that the pipeline is still working on a message.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(20);

/// The actions Reseal asks for: header edits, body replacement, and the envelope edits
/// an address map needs.
fn wanted_actions() -> Actions {
    Actions::ADD_HEADER
        | Actions::CHANGE_HEADER
        | Actions::REPLACE_BODY
        | Actions::CHANGE_SENDER
        | Actions::ADD_RCPT
        | Actions::DELETE_RCPT
}

/// Without these the milter cannot deliver a processed message at all.
fn required_actions() -> Actions {
    Actions::ADD_HEADER | Actions::CHANGE_HEADER | Actions::REPLACE_BODY
}

/// State of one milter connection (one SMTP session).
#[derive(Debug, Default)]
struct Session {
    /// The MTA keeps the whitespace after the header colon (SMFIP_HDR_LEADSPC).
    leading_space: bool,
    /// Actions the MTA granted.
    actions: Actions,
    /// The SMTP client's address, from the connect event.
    client: Option<IpAddr>,
    /// Non-SMTP mail (`non_smtpd_milters`): see [`submission::Client::local`].
    local: bool,
    msg: Message,
}

/// The message being received.
#[derive(Debug, Default)]
struct Message {
    mail_from: Option<String>,
    bypass: Bypass,
    /// A malformed XOPES-BYPASS parameter: refused at end of message.
    bad_bypass: Option<Failure>,
    /// The login the MTA authenticated (`{auth_authen}`).
    login: Option<String>,
    /// Recipients as the MTA gave them (angle brackets included).
    rcpts: Vec<String>,
    /// Header field names in order, as the MTA sent them.
    names: Vec<CString>,
    /// The header block, CRLF line ends, without the empty line.
    header: Vec<u8>,
    body: Vec<u8>,
    /// Set when the message grew past the limit; the rest is dropped.
    too_big: bool,
}

impl Message {
    fn size(&self) -> usize {
        self.header.len().saturating_add(self.body.len())
    }
}

/// Serves the milter protocol on `listen` until SIGTERM/SIGINT.
///
/// `listen` is `host:port` (also written `inet:host:port`, or `inet:port@host` as in
/// sendmail) or `unix:/path/to/socket`.
pub async fn run(listen: &str, gateway: Arc<Gateway>) -> Result<(), Failure> {
    let max_connections = gateway.config.smtp.max_connections;
    let policy = Arc::new(Policy::new(&gateway.config)?);
    let budget = Arc::new(Budget::new(&gateway.config));
    let callbacks = callbacks(gateway, policy, budget);
    let config = indymilter::Config {
        max_connections,
        actions: wanted_actions(),
        ..Default::default()
    };
    let shutdown = shutdown_signal()?;
    let listener = bind(listen).await?;
    tracing::info!("milter listening on {listen}");
    let result = indymilter::run(listener, callbacks, config, shutdown).await;
    if let Some(path) = unix_path(listen) {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(|e| Failure::temporary(format!("milter on {listen} stopped: {e}")))?;
    tracing::info!("milter on {listen} shut down");
    Ok(())
}

/// The socket path of a `unix:` (or `local:`) listen address.
fn unix_path(listen: &str) -> Option<&std::path::Path> {
    listen
        .strip_prefix("unix:")
        .or_else(|| listen.strip_prefix("local:"))
        .map(std::path::Path::new)
}

type AnyListener = indymilter::EitherListener<tokio::net::TcpListener, tokio::net::UnixListener>;

async fn bind(listen: &str) -> Result<AnyListener, Failure> {
    let cannot = |e: std::io::Error| Failure::config(format!("cannot listen on {listen}: {e}"));
    if let Some(path) = unix_path(listen) {
        // A socket left behind by an earlier run would make bind fail: remove it, unless
        // a running milter still answers on it. Anything that is not a socket stays.
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            use std::os::unix::fs::FileTypeExt as _;
            if meta.file_type().is_socket() {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(cannot(std::io::Error::from(std::io::ErrorKind::AddrInUse)));
                }
                let _ = std::fs::remove_file(path);
            }
        }
        let l = tokio::net::UnixListener::bind(path).map_err(cannot)?;
        // The MTA connects as its own user: owner and group may connect (put the socket
        // in a set-group-ID folder of the MTA's group), others may not.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(cannot)?;
        return Ok(indymilter::EitherListener::Unix(l));
    }
    let addr = listen.strip_prefix("inet:").unwrap_or(listen);
    // sendmail's `inet:port@host` form.
    let addr = match addr.split_once('@') {
        Some((port, host)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        }
        _ => addr.to_owned(),
    };
    let l = tokio::net::TcpListener::bind(&addr).await.map_err(cannot)?;
    Ok(indymilter::EitherListener::Tcp(l))
}

/// Completes on the first SIGTERM or SIGINT.
fn shutdown_signal() -> Result<impl Future<Output = ()>, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let no_signal = |e: std::io::Error| Failure::config(format!("cannot handle signals: {e}"));
    let mut term = signal(SignalKind::terminate()).map_err(no_signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(no_signal)?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}

fn callbacks(
    gateway: Arc<Gateway>,
    policy: Arc<Policy>,
    budget: Arc<Budget>,
) -> Callbacks<Session> {
    let g_header = gateway.clone();
    let g_body = gateway.clone();
    let g_eom = gateway;
    let p_rcpt = policy.clone();
    let p_eom = policy;
    Callbacks::new()
        .on_negotiate(|cx, actions, opts| Box::pin(negotiate(cx, actions, opts)))
        .on_connect(|cx, _host, info| Box::pin(connect(cx, info)))
        .on_mail(|cx, args| Box::pin(mail(cx, args)))
        .on_rcpt(move |cx, args| Box::pin(rcpt(cx, args, p_rcpt.clone())))
        .on_header(move |cx, name, value| Box::pin(header(cx, name, value, g_header.clone())))
        .on_body(move |cx, chunk| Box::pin(body(cx, chunk, g_body.clone())))
        .on_eom(move |cx| Box::pin(eom(cx, g_eom.clone(), p_eom.clone(), budget.clone())))
        .on_abort(|cx| Box::pin(abort(cx)))
}

async fn negotiate(
    cx: &mut NegotiateContext<Session>,
    actions: Actions,
    opts: ProtoOpts,
) -> Status {
    let granted = wanted_actions() & actions;
    if !granted.contains(required_actions()) {
        tracing::warn!(
            "the MTA does not offer the milter actions Reseal needs ({:?} of {:?}); \
             every message will be deferred",
            granted,
            required_actions()
        );
    }
    cx.requested_actions = granted;
    let leading_space = opts.contains(ProtoOpts::LEADING_SPACE);
    tracing::debug!("milter negotiation: MTA offers {actions:?} / {opts:?}; granted {granted:?}");
    if leading_space {
        cx.requested_opts |= ProtoOpts::LEADING_SPACE;
    }
    // Postfix sends {auth_authen} at MAIL by default; asking keeps it so when an
    // operator trims milter_mail_macros.
    if let Ok(m) = CString::new("{auth_authen}") {
        cx.requested_macros.insert(MacroStage::Mail, m);
    }
    cx.data = Some(Session {
        leading_space,
        actions: granted,
        ..Session::default()
    });
    Status::Continue
}

fn session(data: &mut Option<Session>) -> &mut Session {
    data.get_or_insert_with(Session::default)
}

async fn connect(cx: &mut Context<Session>, info: SocketInfo) -> Status {
    let s = session(&mut cx.data);
    // Postfix presents a local submission as 127.0.0.1 with client port 0
    // (cleanup_milter.c, cleanup_milter_client_init); a TCP client never has port 0.
    // Treating it as the loopback client would admit every local program whenever
    // loopback is in admit_networks, where `serve` asks for admit_local_submission.
    (s.client, s.local) = match info {
        SocketInfo::Inet(addr) if addr.port() == 0 => (None, true),
        SocketInfo::Inet(addr) => (Some(addr.ip()), false),
        _ => (None, false),
    };
    Status::Continue
}

/// `<addr>` → `addr`.
fn strip_brackets(arg: &CStr) -> String {
    let s = String::from_utf8_lossy(arg.to_bytes());
    let t = s.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t);
    t.trim().to_owned()
}

async fn mail(cx: &mut Context<Session>, args: Vec<CString>) -> Status {
    let login = cx
        .macros
        .get(c"{auth_authen}")
        .map(|v| String::from_utf8_lossy(v.to_bytes()).into_owned())
        .filter(|v| !v.is_empty());
    let s = session(&mut cx.data);
    let mut msg = Message {
        login,
        ..Message::default()
    };
    let mut it = args.iter();
    msg.mail_from = it.next().map(|a| strip_brackets(a));
    for p in it {
        let p = String::from_utf8_lossy(p.to_bytes());
        if let Some((k, v)) = p.split_once('=')
            && k.eq_ignore_ascii_case("XOPES-BYPASS")
        {
            // The same strict xtext as `reseal serve` (crate::submission).
            match submission::parse_bypass_param(v) {
                Ok(b) => msg.bypass.merge(&b),
                Err(f) => msg.bad_bypass = Some(f),
            }
        }
    }
    s.msg = msg;
    Status::Continue
}

async fn rcpt(cx: &mut Context<Session>, args: Vec<CString>, policy: Arc<Policy>) -> Status {
    let Some(first) = args.first() else {
        return Status::Continue;
    };
    let rcpt = String::from_utf8_lossy(first.to_bytes()).into_owned();
    let s = session(&mut cx.data);
    if let Err(f) = policy.limits.check_recipients(s.msg.rcpts.len()) {
        return refuse(&mut cx.reply, &f, None);
    }
    s.msg.rcpts.push(rcpt);
    Status::Continue
}

/// The failure for a message over the size limit (RFC 5321 §4.5.3.1.10: 552).
fn too_big(gateway: &Gateway) -> Failure {
    Failure::too_big(gateway.config.max_message_bytes)
}

/// Sets the reply for `f` (with trace when there is one) and returns the status that
/// makes the MTA use it.
fn refuse<R: SetErrorReply>(reply: &mut R, f: &Failure, trace: Option<&Trace>) -> Status {
    let (code, status, lines) = reply_parts(f, trace);
    if let Err(e) = reply.set_error_reply(&code, Some(status.as_str()), lines) {
        tracing::warn!("milter: cannot set the reply for {f}: {e}");
    }
    if code.starts_with('5') {
        Status::Reject
    } else {
        Status::Tempfail
    }
}

/// The reply code, enhanced status and text lines for a failure, rendered by
/// `crate::submission::render` like every front end's (trace, no control characters,
/// bounded lines). Postfix reads `%%` as `%` and drops a single `%`, so `%` is doubled
/// here, at the milter edge.
fn reply_parts(f: &Failure, trace: Option<&Trace>) -> (String, String, Vec<String>) {
    let r = submission::render(f, trace);
    let lines = r.lines.iter().map(|l| l.replace('%', "%%")).collect();
    (r.code.to_string(), r.status, lines)
}

/// Header value from the MTA → the bytes after the colon in the message: multi-line
/// values come with LF between lines; the message uses CRLF. Without
/// SMFIP_HDR_LEADSPC the MTA removed one space after the colon; it is put back.
fn value_from_mta(value: &[u8], leading_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    if !leading_space {
        out.push(b' ');
    }
    out.extend_from_slice(&mime::to_crlf(value));
    out
}

/// The bytes after the colon → the value to hand to the MTA: LF between lines, and
/// without SMFIP_HDR_LEADSPC one leading space less (the MTA writes `Name: value`).
/// NUL cannot travel in the milter protocol and becomes a space.
fn value_to_mta(value: &[u8], leading_space: bool) -> CString {
    let v = if leading_space {
        value
    } else {
        value.strip_prefix(b" ").unwrap_or(value)
    };
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'\r' && v.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(if b == 0 { b' ' } else { b });
        i += 1;
    }
    CString::new(out).unwrap_or_default()
}

async fn header(
    cx: &mut Context<Session>,
    name: CString,
    value: CString,
    gateway: Arc<Gateway>,
) -> Status {
    let s = session(&mut cx.data);
    if s.msg.too_big {
        return refuse(&mut cx.reply, &too_big(&gateway), None);
    }
    let v = value_from_mta(value.to_bytes(), s.leading_space);
    let len = name.to_bytes().len() + 1 + v.len() + 2;
    if s.msg.size().saturating_add(len) > gateway.config.max_message_bytes {
        s.msg.too_big = true;
        s.msg.header = Vec::new();
        s.msg.body = Vec::new();
        let trace = Trace::new(&gateway.config).ok();
        return refuse(&mut cx.reply, &too_big(&gateway), trace.as_ref());
    }
    s.msg.header.extend_from_slice(name.to_bytes());
    s.msg.header.push(b':');
    s.msg.header.extend_from_slice(&v);
    s.msg.header.extend_from_slice(b"\r\n");
    s.msg.names.push(name);
    Status::Continue
}

async fn body<B: AsRef<[u8]> + Send>(
    cx: &mut Context<Session>,
    chunk: B,
    gateway: Arc<Gateway>,
) -> Status {
    let s = session(&mut cx.data);
    let chunk = chunk.as_ref();
    if s.msg.too_big {
        return refuse(&mut cx.reply, &too_big(&gateway), None);
    }
    if s.msg.size().saturating_add(chunk.len()) > gateway.config.max_message_bytes {
        s.msg.too_big = true;
        s.msg.header = Vec::new();
        s.msg.body = Vec::new();
        let trace = Trace::new(&gateway.config).ok();
        return refuse(&mut cx.reply, &too_big(&gateway), trace.as_ref());
    }
    s.msg.body.extend_from_slice(chunk);
    Status::Continue
}

async fn abort(cx: &mut Context<Session>) -> Status {
    session(&mut cx.data).msg = Message::default();
    Status::Continue
}

/// One change to send back to the MTA at end of message.
#[derive(Debug, PartialEq, Eq)]
enum Edit {
    /// Delete instance `index` (1-based) of the field `name`.
    Delete {
        name: CString,
        index: i32,
    },
    /// Insert a field at position `index` (0 = top, above the MTA's own Received line;
    /// 1 = right below it).
    Insert {
        index: i32,
        name: CString,
        value: CString,
    },
    /// Append a field at the end of the header.
    Add {
        name: CString,
        value: CString,
    },
    ReplaceBody(Vec<u8>),
    ChangeSender(String),
    DeleteRcpt(String),
    AddRcpt(String),
}

/// Where the trace fields go: right below the MTA's own Received line. Postfix (like
/// sendmail) hides the Received line it adds for the current hop from milters, and counts
/// insert positions in the message as delivered, where 0 is above that line and 1 is
/// below it. Below it, the header under Reseal's Received line is exactly the header
/// the pipeline produced, which is what the modification record binds
/// (`record::verify::delivered_header`); the MTA's line is written when it accepts the
/// message, after the milter is done, so it is also the later of the two.
const TRACE_INSERT_AT: i32 = 1;

/// Fields the pipeline puts on top of the message (trace::apply, and dkim::sign above
/// them).
fn is_trace_field(name: &str) -> bool {
    ["DKIM-Signature", "Received", "OPES-System", "OPES-Via"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// The edits that turn the message the MTA has (header field `names`, `old_body`,
/// envelope `old_env` with recipients `old_rcpts` as the MTA spelled them) into
/// `new_message` with `new_env`.
fn plan(
    names: &[CString],
    old_body: &[u8],
    old_env: &Envelope,
    old_rcpts: &[String],
    new_message: &[u8],
    new_env: &Envelope,
    leading_space: bool,
) -> Result<Vec<Edit>, Failure> {
    let internal =
        |what: &str| Failure::temporary(format!("Cannot write the result back to the MTA: {what}"));
    let new = Entity::parse(new_message).map_err(|e| internal(&e.to_string()))?;
    let mut edits = Vec::new();

    // Delete every original field, the last instance of each name first, so that no
    // index moves under a later deletion.
    let mut seen: Vec<(Vec<u8>, i32)> = Vec::new();
    let mut numbered = Vec::with_capacity(names.len());
    for n in names {
        let key = n.to_bytes().to_ascii_lowercase();
        let count = match seen.iter_mut().find(|(k, _)| *k == key) {
            Some((_, c)) => {
                *c = c.saturating_add(1);
                *c
            }
            None => {
                seen.push((key, 1));
                1
            }
        };
        numbered.push((n.clone(), count));
    }
    for (name, index) in numbered.into_iter().rev() {
        edits.push(Edit::Delete { name, index });
    }

    // The new fields: the leading trace fields go on top (below the MTA's Received),
    // the rest are appended in order.
    let mut on_top = true;
    let mut top_index = TRACE_INSERT_AT;
    for f in new.fields() {
        let n = new.field_name(f);
        let name = CString::new(n).map_err(|_| internal("bad field name"))?;
        let value = value_to_mta(new.field_value(f), leading_space);
        if on_top && is_trace_field(n) {
            edits.push(Edit::Insert {
                index: top_index,
                name,
                value,
            });
            top_index = top_index.saturating_add(1);
        } else {
            on_top = false;
            edits.push(Edit::Add { name, value });
        }
    }

    if new.body() != old_body {
        edits.push(Edit::ReplaceBody(new.body().to_vec()));
    }

    // Envelope changes (address mapping, RFC 4902 §5.6).
    if new_env.mail_from != old_env.mail_from {
        edits.push(Edit::ChangeSender(format!("<{}>", new_env.mail_from)));
    }
    for r in old_rcpts {
        if !new_env.rcpts.contains(&mime::address::normalize(r)) {
            edits.push(Edit::DeleteRcpt(r.clone()));
        }
    }
    for r in &new_env.rcpts {
        if !old_env.rcpts.contains(r) {
            edits.push(Edit::AddRcpt(format!("<{r}>")));
        }
    }
    Ok(edits)
}

async fn apply(cx: &EomContext<Session>, edits: Vec<Edit>) -> Result<(), indymilter::ActionError> {
    let a = &cx.actions;
    for e in edits {
        match e {
            Edit::Delete { name, index } => a.change_header(name, index, None::<CString>).await?,
            Edit::Insert { index, name, value } => a.insert_header(index, name, value).await?,
            Edit::Add { name, value } => a.add_header(name, value).await?,
            Edit::ReplaceBody(b) => a.replace_body(&b).await?,
            Edit::ChangeSender(s) => a.change_sender(s, None::<CString>).await?,
            Edit::DeleteRcpt(r) => a.delete_recipient(r).await?,
            Edit::AddRcpt(r) => a.add_recipient(r).await?,
        }
    }
    Ok(())
}

async fn eom(
    cx: &mut EomContext<Session>,
    gateway: Arc<Gateway>,
    policy: Arc<Policy>,
    budget: Arc<Budget>,
) -> Status {
    let queue_id = cx
        .macros
        .get(c"i")
        .map(|v| String::from_utf8_lossy(v.to_bytes()).into_owned())
        .unwrap_or_else(|| "-".into());
    let s = session(&mut cx.data);
    let msg = std::mem::take(&mut s.msg);
    let leading_space = s.leading_space;
    let granted = s.actions;
    // The same decision `reseal serve` makes for the same submitter: the MTA's client
    // address, and its login looked up in the submitter table (crate::submission).
    let client = Client {
        peer: s.client,
        forwarded: None,
        login: msg.login.clone().map(Login::Mta),
        pipe: false,
        local: s.local,
    };
    let admission = policy.admit(&client);
    let mail_from = mime::address::normalize(msg.mail_from.as_deref().unwrap_or_default());
    let submitter = admission.submitter(&mail_from, msg.bypass.clone());

    let trace = match Trace::new(&gateway.config) {
        Ok(t) => t,
        Err(f) => return refuse(&mut cx.reply, &f, None),
    };
    tracing::info!(
        "milter {queue_id}: submitter: {}",
        log_text(&admission.reason)
    );
    if msg.too_big {
        return refuse(&mut cx.reply, &too_big(&gateway), Some(&trace));
    }
    if let Some(f) = &msg.bad_bypass {
        return refuse(&mut cx.reply, f, Some(&trace));
    }
    if !granted.contains(required_actions()) {
        let f = Failure::config("The MTA does not allow the milter to change messages");
        return refuse(&mut cx.reply, &f, Some(&trace));
    }
    let rcpts: Vec<String> = msg
        .rcpts
        .iter()
        .map(|r| mime::address::normalize(r))
        .collect();
    let env = match Envelope::new(msg.mail_from.as_deref().unwrap_or_default(), &rcpts) {
        Ok(e) => e,
        Err(f) => return refuse(&mut cx.reply, &f, Some(&trace)),
    };
    let mut raw = msg.header;
    raw.extend_from_slice(b"\r\n");
    let body_start = raw.len();
    raw.extend_from_slice(&msg.body);

    let Some(permit) = budget.take(raw.len()).await else {
        let f = Failure::temporary("Shutting down");
        return refuse(&mut cx.reply, &f, Some(&trace));
    };
    let job = {
        let gateway = gateway.clone();
        let env = env.clone();
        let trace = trace.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let r = gateway.process(&env, &raw, &trace, &submitter);
            (r, raw)
        })
    };
    tokio::pin!(job);
    let joined = loop {
        tokio::select! {
            r = &mut job => break r,
            () = tokio::time::sleep(PROGRESS_INTERVAL) => {
                if let Err(e) = cx.actions.progress().await {
                    tracing::warn!("milter {queue_id}: progress report failed: {e}");
                }
            }
        }
    };
    let (result, raw) = match joined {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("milter {queue_id}: the pipeline failed: {e}");
            let f = Failure::temporary("Internal error while processing the message");
            return refuse(&mut cx.reply, &f, Some(&trace));
        }
    };
    let outcome = match result {
        Ok(o) => o,
        Err(f) => {
            tracing::info!(
                "milter {queue_id}: refused: {}",
                submission::render(&f, Some(&trace)).one_line()
            );
            return refuse(&mut cx.reply, &f, Some(&trace));
        }
    };
    if let Some(id) = &outcome.held {
        tracing::info!("milter {queue_id}: held in quarantine as {id}; discarded at the MTA");
        return Status::Discard;
    }
    let edits = match plan(
        &msg.names,
        raw.get(body_start..).unwrap_or_default(),
        &env,
        &msg.rcpts,
        &outcome.message,
        &outcome.envelope,
        leading_space,
    ) {
        Ok(e) => e,
        Err(f) => return refuse(&mut cx.reply, &f, Some(&trace)),
    };
    if let Err(e) = apply(cx, edits).await {
        tracing::error!("milter {queue_id}: cannot change the message: {e}");
        let f = Failure::temporary("The message could not be changed at the MTA");
        return refuse(&mut cx.reply, &f, Some(&trace));
    }
    tracing::info!(
        "milter {queue_id}: done, trace id {}{}{}",
        trace.id,
        outcome
            .signed_for
            .as_deref()
            .map(|s| format!(", signed for {s}"))
            .unwrap_or_default(),
        if outcome.encrypted_to.is_empty() {
            String::new()
        } else {
            format!(", encrypted to {}", outcome.encrypted_to.join(", "))
        }
    );
    Status::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn header_values_round_trip() {
        // Postfix sends folded values with LF; the message has CRLF.
        assert_eq!(value_from_mta(b" a\n\tb", true), b" a\r\n\tb");
        assert_eq!(value_from_mta(b"a\n b", false), b" a\r\n b");
        assert_eq!(value_to_mta(b" a\r\n\tb", true).as_bytes(), b" a\n\tb");
        assert_eq!(value_to_mta(b" a\r\n\tb", false).as_bytes(), b"a\n\tb");
        assert_eq!(value_to_mta(b"\ta\0", false).as_bytes(), b"\ta ");
    }

    #[test]
    fn reply_has_trace_and_escapes_percent() {
        let t = Trace {
            system: "https://gw.example.com/opes".into(),
            privacy_policy: "https://gw.example.com/privacy".into(),
            hostname: "gw".into(),
            id: "abc".into(),
        };
        let f = Failure::policy("100% refused\r\nreally, für")
            .with_service("https://gw.example.com/dlp");
        let (code, status, lines) = reply_parts(&f, Some(&t));
        assert_eq!(code, "554");
        assert_eq!(status, "5.7.1");
        let all = lines.join(" ");
        assert!(
            all.starts_with(
                "100%% refused  really, f?r [OPES https://gw.example.com/opes; id=abc;"
            ),
            "{all}"
        );
        assert!(all.ends_with("service=https://gw.example.com/dlp]"));

        let long = Failure::temporary("x".repeat(2000));
        let (code, status, lines) = reply_parts(&long, None);
        assert_eq!((code.as_str(), status.as_str()), ("451", "4.3.0"));
        assert_eq!(lines.len(), 5);
        assert!(lines.iter().all(|l| l.len() <= submission::MAX_REPLY_TEXT));
    }

    #[test]
    fn plan_deletes_all_inserts_trace_on_top_and_replaces_body() {
        let names = [c("From"), c("To"), c("Received"), c("to")];
        let env = Envelope::new("a@x.org", &["b@y.org".into()]).unwrap();
        let new = b"DKIM-Signature: v=1;\r\n\tb=x\r\nReceived: by gw\r\n\tid 1; date\r\nOPES-System: u\r\nFrom: a@x.org\r\nReceived: old\r\n\r\nnew body\r\n";
        let edits = plan(
            &names,
            b"old body\r\n",
            &env,
            &["<b@y.org>".into()],
            new,
            &env,
            true,
        )
        .unwrap();
        assert_eq!(
            edits,
            vec![
                Edit::Delete {
                    name: c("to"),
                    index: 2
                },
                Edit::Delete {
                    name: c("Received"),
                    index: 1
                },
                Edit::Delete {
                    name: c("To"),
                    index: 1
                },
                Edit::Delete {
                    name: c("From"),
                    index: 1
                },
                Edit::Insert {
                    index: 1,
                    name: c("DKIM-Signature"),
                    value: c(" v=1;\n\tb=x")
                },
                Edit::Insert {
                    index: 2,
                    name: c("Received"),
                    value: c(" by gw\n\tid 1; date")
                },
                Edit::Insert {
                    index: 3,
                    name: c("OPES-System"),
                    value: c(" u")
                },
                Edit::Add {
                    name: c("From"),
                    value: c(" a@x.org")
                },
                Edit::Add {
                    name: c("Received"),
                    value: c(" old")
                },
                Edit::ReplaceBody(b"new body\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn plan_maps_envelope() {
        let old = Envelope::new("a@x.org", &["b@y.org".into(), "c@y.org".into()]).unwrap();
        let new = Envelope::new("ext@x.org", &["b@y.org".into(), "d@y.org".into()]).unwrap();
        let edits = plan(
            &[],
            b"b\r\n",
            &old,
            &["<B@y.org>".into(), "<c@y.org>".into()],
            b"From: ext@x.org\r\n\r\nb\r\n",
            &new,
            true,
        )
        .unwrap();
        assert!(edits.contains(&Edit::ChangeSender("<ext@x.org>".into())));
        assert!(edits.contains(&Edit::DeleteRcpt("<c@y.org>".into())));
        assert!(edits.contains(&Edit::AddRcpt("<d@y.org>".into())));
        assert!(!edits.iter().any(|e| matches!(e, Edit::ReplaceBody(_))));
        assert!(!edits.contains(&Edit::DeleteRcpt("<B@y.org>".into())));
    }

    #[test]
    fn brackets() {
        assert_eq!(strip_brackets(c" <a@b.c> ").as_str(), "a@b.c");
        assert_eq!(strip_brackets(c"<>").as_str(), "");
    }
}
