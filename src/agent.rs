//! `reseal agent`: the unlocked keystore for pipe mode (docs/architecture.md, "The agent";
//! SECURITY.md, "The agent").
//!
//! Behind Postfix's pipe(8), every message starts a new `reseal process`, and each one
//! would pay the keystore's Argon2id unlock (tens of milliseconds, by design). The agent
//! is started once, unlocks the keystore once, and runs the pipeline for `reseal
//! process` over a Unix socket, `<data folder>/agent.sock`. `process` uses it when it is
//! there and falls back to unlocking the keystore itself when it is not.
//!
//! Trust boundary: a client of the agent can have mail signed for every sender the
//! keystore holds a delegated key for, exactly as a caller of `reseal process` that
//! knows the passphrase can. So the agent serves only its own user (and root, who can
//! read the keystore's memory anyway): the kernel's peer credentials (SO_PEERCRED) are
//! checked on every connection, and the socket is created mode 0600 in the data
//! folder. The client also names the keystore it would have opened; the agent refuses a
//! client that meant another one.
//!
//! The protocol, one request per connection: a JSON header line (at most
//! [`MAX_HEADER`] bytes) and then exactly `length` message bytes; the answer is a JSON
//! header line and then `length` bytes of the processed message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;

use crate::envelope::Envelope;
use crate::error::Failure;
use crate::pipeline::Gateway;
use crate::submission::{self, Client, Policy};
use crate::trace::Trace;

/// The socket's file name in the data folder.
pub const SOCKET_NAME: &str = "agent.sock";
/// The protocol version both sides speak.
const VERSION: u32 = 1;
/// Longest header line.
pub const MAX_HEADER: usize = 64 * 1024;
/// Most requests served at once (each holds a message in memory).
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send each part of its request.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the agent for a configuration listens.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    version: u32,
    /// The keystore the client would have opened itself.
    keystore: PathBuf,
    mail_from: String,
    rcpts: Vec<String>,
    length: usize,
}

/// What the agent answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The exit code `reseal process` exits with.
    pub exit: i32,
    /// The one-line reply for stderr (a refusal with its trace, or "held"), if any.
    pub reply: Option<String>,
    /// The processed message's length (0 unless delivered).
    pub length: usize,
}

/// Runs the agent until SIGTERM or SIGINT.
pub async fn run(gateway: Gateway) -> Result<(), Failure> {
    let path = socket_path(&gateway.config.data_dir);
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&gateway.config.data_dir)
            .map_err(|e| {
                Failure::config(format!(
                    "agent: cannot create {}: {e}",
                    gateway.config.data_dir.display()
                ))
            })?;
    }
    prepare_socket(&path).await?;
    let listener = UnixListener::bind(&path)
        .map_err(|e| Failure::config(format!("agent: cannot listen on {}: {e}", path.display())))?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            Failure::config(format!("agent: cannot protect {}: {e}", path.display()))
        })?;
    }
    tracing::info!("agent listening on {}", path.display());
    let shared = Arc::new(Shared {
        policy: Policy::with_users(&gateway.config, Vec::new()),
        own_uid: rustix::process::geteuid().as_raw(),
        slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
        budget: submission::Budget::new(&gateway.config),
        gateway: Arc::new(gateway),
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::config(format!("signal handler: {e}")))?;
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                sessions.spawn(async move { shared.serve(stream).await });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    // No new clients (they fall back to unlocking the keystore themselves); the ones in
    // progress finish.
    drop(listener);
    let _ = std::fs::remove_file(&path);
    tracing::info!("agent shutting down: finishing the messages in progress");
    let drain = async { while sessions.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(60), drain).await;
    Ok(())
}

/// Removes a stale socket left by an agent that is gone; refuses to start beside a live
/// one.
async fn prepare_socket(path: &Path) -> Result<(), Failure> {
    if tokio::fs::symlink_metadata(path).await.is_err() {
        return Ok(());
    }
    if UnixStream::connect(path).await.is_ok() {
        return Err(Failure::config(format!(
            "agent: another agent is listening on {}",
            path.display()
        )));
    }
    tokio::fs::remove_file(path)
        .await
        .map_err(|e| Failure::config(format!("agent: cannot remove {}: {e}", path.display())))
}

struct Shared {
    gateway: Arc<Gateway>,
    policy: Policy,
    own_uid: u32,
    slots: Arc<tokio::sync::Semaphore>,
    budget: submission::Budget,
}

impl Shared {
    async fn serve(&self, stream: UnixStream) {
        // SO_PEERCRED: the kernel's word for who connected.
        let uid = match rustix::net::sockopt::socket_peercred(&stream) {
            Ok(c) => c.uid.as_raw(),
            Err(_) => return,
        };
        if uid != self.own_uid && uid != 0 {
            tracing::warn!(uid, "agent: refused a client of another user");
            return;
        }
        let (read, mut write) = stream.into_split();
        let answer = match self.slots.clone().try_acquire_owned() {
            Ok(_slot) => self.answer(read).await,
            Err(_) => (
                refusal(
                    &Failure::temporary("agent: too many requests at once"),
                    None,
                ),
                Vec::new(),
            ),
        };
        let _ = write_answer(&mut write, &answer.0, &answer.1).await;
    }

    /// Reads one request and runs the pipeline on it.
    async fn answer(&self, read: tokio::net::unix::OwnedReadHalf) -> (Answer, Vec<u8>) {
        let config = &self.gateway.config;
        let trace = match Trace::new(config) {
            Ok(t) => t,
            Err(f) => return (refusal(&f, None), Vec::new()),
        };
        let fail = |f: &Failure| (refusal(f, Some(&trace)), Vec::new());
        let mut r = BufReader::new(read);
        let mut line = Vec::new();
        // Reading is bounded in time (the pipeline afterwards is not: a large message
        // may take longer, and the client waits for it).
        let header = tokio::time::timeout(
            READ_TIMEOUT,
            (&mut r)
                .take(u64::try_from(MAX_HEADER).unwrap_or(u64::MAX))
                .read_until(b'\n', &mut line),
        )
        .await;
        match header {
            Ok(Ok(_)) if line.ends_with(b"\n") => {}
            _ => return fail(&Failure::malformed("agent: bad request header")),
        }
        let req: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(_) => return fail(&Failure::malformed("agent: bad request header")),
        };
        if req.version != VERSION {
            return fail(&Failure::config("agent: another protocol version"));
        }
        if !same_file(&req.keystore, &config.keystore) {
            return fail(&Failure::config(format!(
                "agent: it holds the keystore {}, not {}",
                config.keystore.display(),
                crate::sanitize::log_text(&req.keystore.display().to_string())
            )));
        }
        if req.length > config.max_message_bytes {
            return fail(&Failure::too_big(config.max_message_bytes));
        }
        let env = match Envelope::new(&req.mail_from, &req.rcpts) {
            Ok(e) => e,
            Err(f) => return fail(&f),
        };
        // The memory budget shared by the requests in progress (limits.max_inflight_bytes),
        // as in serve: wait for this message's share before holding it.
        let Some(_held) = self.budget.take(req.length).await else {
            return fail(&Failure::temporary("agent: shutting down"));
        };
        let mut message = vec![0u8; req.length];
        match tokio::time::timeout(READ_TIMEOUT, r.read_exact(&mut message)).await {
            Ok(Ok(_)) => {}
            _ => return fail(&Failure::malformed("agent: the message ended early")),
        }
        // The same submission policy as `reseal process` (crate::submission).
        let submitter = self
            .policy
            .admit(&Client {
                pipe: true,
                ..Default::default()
            })
            .submitter(&env.mail_from, Default::default());
        let gateway = self.gateway.clone();
        let run_trace = trace.clone();
        let done = tokio::task::spawn_blocking(move || {
            gateway.process(&env, &message, &run_trace, &submitter)
        })
        .await;
        match done {
            Ok(Ok(outcome)) if outcome.held.is_some() => (
                Answer {
                    exit: crate::error::exit::OK,
                    reply: Some(submission::held(&trace).one_line()),
                    length: 0,
                },
                Vec::new(),
            ),
            Ok(Ok(outcome)) => (
                Answer {
                    exit: crate::error::exit::OK,
                    reply: None,
                    length: outcome.message.len(),
                },
                outcome.message,
            ),
            Ok(Err(f)) => fail(&f),
            Err(_) => fail(&Failure::temporary("agent: internal error")),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn refusal(f: &Failure, trace: Option<&Trace>) -> Answer {
    Answer {
        exit: submission::exit_code(f),
        reply: Some(submission::render(f, trace).one_line()),
        length: 0,
    }
}

async fn write_answer(
    w: &mut tokio::net::unix::OwnedWriteHalf,
    a: &Answer,
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = serde_json::to_vec(a).map_err(std::io::Error::other)?;
    head.push(b'\n');
    w.write_all(&head).await?;
    w.write_all(body).await?;
    w.shutdown().await
}

/// `reseal process`'s side: sends one message to the agent for `data_dir` and returns its
/// answer, or `None` when no agent is listening there (the caller then opens the keystore
/// itself). A failure after the request was sent is an error, never a second attempt.
pub fn call(
    data_dir: &Path,
    keystore: &Path,
    env: &Envelope,
    message: &[u8],
    max_message_bytes: usize,
) -> Result<Option<(Answer, Vec<u8>)>, Failure> {
    match connect(data_dir) {
        Some(stream) => request(stream, keystore, env, message, max_message_bytes).map(Some),
        None => Ok(None),
    }
}

/// A connection to the agent for `data_dir`, if one listens there.
pub fn connect(data_dir: &Path) -> Option<std::os::unix::net::UnixStream> {
    std::os::unix::net::UnixStream::connect(socket_path(data_dir)).ok()
}

/// Sends one message over a connection from [`connect`] and returns the answer.
pub fn request(
    mut stream: std::os::unix::net::UnixStream,
    keystore: &Path,
    env: &Envelope,
    message: &[u8],
    max_message_bytes: usize,
) -> Result<(Answer, Vec<u8>), Failure> {
    use std::io::{BufRead as _, Read as _, Write as _};
    let lost = |e: std::io::Error| Failure::temporary(format!("agent: {e}"));
    let req = Request {
        version: VERSION,
        keystore: keystore.to_path_buf(),
        mail_from: env.mail_from.clone(),
        rcpts: env.rcpts.clone(),
        length: message.len(),
    };
    let mut head = serde_json::to_vec(&req).map_err(|e| Failure::temporary(e.to_string()))?;
    head.push(b'\n');
    // The agent may answer before it has read the whole message (a refusal from the
    // header alone) and close: then the write fails, and the answer is still there.
    let sent = stream
        .write_all(&head)
        .and_then(|()| stream.write_all(message));
    let mut r = std::io::BufReader::new(stream);
    let mut line = Vec::new();
    let read = (&mut r)
        .take(u64::try_from(MAX_HEADER).unwrap_or(u64::MAX))
        .read_until(b'\n', &mut line);
    let answer: Answer = match (serde_json::from_slice(&line), sent, read) {
        (Ok(a), _, _) => a,
        (Err(_), Err(e), _) | (Err(_), Ok(()), Err(e)) => return Err(lost(e)),
        (Err(_), Ok(()), Ok(_)) => return Err(Failure::temporary("agent: unreadable answer")),
    };
    // The answer is a processed message: at most a little larger than the limit
    // (trace, record, signature, encryption), never unbounded.
    let bound = max_message_bytes.saturating_mul(2).saturating_add(1 << 20);
    if answer.length > bound {
        return Err(Failure::temporary("agent: answer too large"));
    }
    let mut body = vec![0u8; answer.length];
    r.read_exact(&mut body).map_err(lost)?;
    Ok((answer, body))
}
