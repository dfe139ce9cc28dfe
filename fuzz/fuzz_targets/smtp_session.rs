//! The SMTP command loop (`reseal::smtp::server::session`, what `reseal serve` runs for
//! each connection) over an in-memory stream: the input is everything a client sends,
//! the first byte picks the peer (odd: 127.0.0.1, admitted by network; even: 192.0.2.7,
//! not admitted). The gateway behind it is real: the pipeline with a disclaimer, a
//! subject tag and DLP, and the durable spool in a temporary folder; no keystore.
//!
//! Checks beyond "no panic": the session ends when the input does; every reply line is
//! `DDD` followed by a space or a hyphen (RFC 5321 §4.2); every `250 ... queued as ID`
//! after DATA has its message durably in the spool (docs/smtp-server.md: nothing accepted is lost).
#![no_main]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use reseal::Config;
use reseal::pipeline::Gateway;
use reseal::smtp::server::{Shared, session};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const CONFIG: &str = r#"
hostname = "gw.example.com"

[opes]
system = "https://gw.example.com/opes"
privacy_policy = "https://gw.example.com/privacy"

[limits]
max_message_bytes = 262144

[smtp]
admit_networks = ["127.0.0.0/8"]
max_recipients = 20
max_commands = 200
read_timeout_secs = 5

[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "Example Corp: this e-mail is confidential."
html = "<p>Example Corp: this e-mail is confidential.</p>"
bypassable = true

[[service]]
id = "https://gw.example.com/opes/tag"
kind = "subject-tag"
tag = "[Ext]"
recipients = ["@example.org"]

[[service]]
id = "https://gw.example.com/opes/dlp"
kind = "dlp"
action = "reject"
patterns = ["builtin:card-number"]
bypassable = false
"#;

struct World {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("reseal-fuzz-smtp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fuzz set-up: data folder");
        let text = format!("data_dir = {:?}\n{CONFIG}", dir.display().to_string());
        let config = Config::parse(&text, None).expect("fuzz set-up: configuration");
        let gateway = Gateway::new(config, None).expect("fuzz set-up: services");
        let shared = Shared::new(gateway).expect("fuzz set-up: spool");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("fuzz set-up: runtime");
        World {
            runtime,
            shared: Arc::new(shared),
        }
    })
}

/// A client that sends `input` at once and then closes its side; what the server
/// writes is collected.
struct Client {
    input: std::io::Cursor<Vec<u8>>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Client {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.input).poll_read(cx, buf)
    }
}

impl AsyncWrite for Client {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output
            .lock()
            .expect("output lock")
            .extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, dialog)) = data.split_first() else {
        return;
    };
    let w = world();
    let admitted = mode & 1 == 1;
    let peer: SocketAddr = if admitted {
        ([127, 0, 0, 1], 40000).into()
    } else {
        ([192, 0, 2, 7], 40000).into()
    };
    let output = Arc::new(Mutex::new(Vec::new()));
    let client = Client {
        input: std::io::Cursor::new(dialog.to_vec()),
        output: output.clone(),
    };
    let ended = w.runtime.block_on(async {
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            session(w.shared.clone(), peer, client),
        )
        .await
        .is_ok()
    });
    assert!(
        ended,
        "the session did not end after the client's input ended"
    );

    let out = output.lock().expect("output lock").clone();
    let text = String::from_utf8(out).expect("replies are UTF-8");
    assert!(
        text.is_empty() || text.ends_with("\r\n"),
        "unterminated reply: {text:?}"
    );
    for line in text.split_terminator("\r\n") {
        let b = line.as_bytes();
        assert!(
            b.len() >= 4
                && b.iter().take(3).all(u8::is_ascii_digit)
                && matches!(b.get(3), Some(b' ' | b'-')),
            "malformed reply line {line:?}"
        );
        if let Some(id) = line.strip_prefix("250 2.0.0 Ok: queued as ") {
            let id = id.split_whitespace().next().unwrap_or_default();
            assert!(
                w.shared.spool.load(id).is_ok(),
                "accepted message {id} is not in the spool"
            );
            let _ = w.shared.spool.remove(id);
        }
    }
});
