//! The key-use log: one line per private-key operation, and per change to the keystore,
//! in `key-use.log` beside the entries (docs/keys.md "Key-use log").
//!
//! Each line is a JSON object: `time` (seconds since the epoch), `key` (the entry id),
//! `op` (`sign`, `decrypt`, `record-sign`, or an administrative change such as
//! `import`, `revoke`, `delegate`, `rotate-passphrase`, `remove`), and `message` (the
//! OPES trace id of the message the operation served, or `-` outside a message). It
//! never holds content, digests, ciphertexts or secrets: only which key did what, when,
//! for which message.
//!
//! The line is written *before* the key is used, and an operation whose line cannot be
//! written fails (fail closed: no key use goes unrecorded). The file is opened for
//! appending, 0600; each line is one `write`, so concurrent lines do not interleave.
//!
//! The message is set by the pipeline around each message ([`for_message`]): a scoped
//! thread-local value, since the keystore's operations run on the thread that processes
//! the message (sequoia calls our signer and decryptor there too).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::Error;

thread_local! {
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f` with `message_id` as the message every key operation on this thread is
/// recorded for. The previous value comes back afterwards (scopes nest).
pub fn for_message<R>(message_id: &str, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            MESSAGE.with(|m| *m.borrow_mut() = prev);
        }
    }
    let prev = MESSAGE.with(|m| m.borrow_mut().replace(clean(message_id)));
    let _restore = Restore(prev);
    f()
}

/// Keeps an id printable and short: it comes from the pipeline's trace, but a log line
/// must not be breakable by whatever reaches here.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        .take(128)
        .collect()
}

/// The key-use log of one keystore.
pub(crate) struct KeyLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl KeyLog {
    pub(crate) fn new(keystore_dir: &Path) -> KeyLog {
        KeyLog {
            path: keystore_dir.join("key-use.log"),
            file: Mutex::new(None),
        }
    }

    /// Appends one line: `key` did `op`, now, for the current message.
    pub(crate) fn record(&self, key: &str, op: &str) -> Result<(), Error> {
        let message = MESSAGE
            .with(|m| m.borrow().clone())
            .unwrap_or_else(|| "-".into());
        let line = serde_json::json!({
            "time": crate::now(),
            "key": clean(key),
            "op": op,
            "message": message,
        });
        let mut text = line.to_string();
        text.push('\n');
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let mut guard = self
            .file
            .lock()
            .map_err(|_| io(std::io::Error::other("key-use log lock poisoned")))?;
        if guard.is_none() {
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&self.path)
                .map_err(io)?;
            *guard = Some(f);
        }
        match guard.as_mut() {
            Some(f) => f.write_all(text.as_bytes()).map_err(io),
            None => Err(io(std::io::Error::other("key-use log not open"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn lines_name_the_message_in_scope_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let log = KeyLog::new(dir.path());
        log.record("smime-1", "sign").unwrap();
        for_message("abc123\r\nforged", || {
            log.record("smime-1", "decrypt").unwrap();
            for_message("inner", || log.record("id", "record-sign").unwrap());
            log.record("smime-1", "sign").unwrap();
        });
        let text = std::fs::read_to_string(dir.path().join("key-use.log")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["-", "abc123forged", "inner", "abc123forged"]);
        assert_eq!(lines[1]["op"], "decrypt");
        assert_eq!(lines[1]["key"], "smime-1");
        assert_eq!(text.lines().count(), 4);
    }
}
