//! The durable spool: one folder per gateway, three files per message. `<id>.in` is the
//! message as received (for the NDR's returned content, never decrypted plaintext),
//! `<id>.out` the processed message to deliver, and `<id>.json` the envelope and
//! delivery state. The JSON is written last: its presence marks a complete entry.
//! Everything of a message is on disk before the SMTP server answers 250: with
//! `spool_sync = "each"` (the default) every file is fsynced and renamed into place and
//! the folder is fsynced; with `"group"` the files are written and renamed, and messages
//! that finish at about the same time share one flush of the file system
//! ([`Committer`]), first for the message files, then for the envelopes that make them
//! entries (docs/performance.md, "Spool", has the measurement that chose the default).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::config::SpoolSync;
use crate::error::Failure;

/// One recipient of a spooled message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpoolRcpt {
    pub address: String,
    /// RFC 3461 ORCPT: the original recipient address (smtp-proto drops the
    /// `rfc822;` type; the relay and the DSN put it back).
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY flags (smtp-proto bits).
    pub notify: u64,
    /// Delivered or bounced.
    pub done: bool,
}

/// The envelope and delivery state of a spooled message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Meta {
    pub id: String,
    pub mail_from: String,
    pub rcpts: Vec<SpoolRcpt>,
    /// RFC 3461 RET: `Some(true)` for FULL, `Some(false)` for HDRS; and ENVID.
    pub ret: Option<bool>,
    pub envid: Option<String>,
    pub body_8bit: bool,
    pub smtputf8: bool,
    /// A bypass request to forward to a next hop that speaks XOPES (RFC 3897 §4.3).
    pub bypass: Option<String>,
    /// Seconds since the epoch.
    pub received: u64,
    pub attempts: u32,
    pub next_attempt: u64,
    /// True for a delivery status notification we generated (sent from `<>`).
    pub is_dsn: bool,
}

/// The spool folder.
pub struct Spool {
    dir: PathBuf,
    sync: SpoolSync,
    /// The folder, open: what a group commit flushes the file system through.
    dir_file: fs::File,
    committer: Committer,
}

/// Group commit: callers whose writes are done wait for one flush of the file system
/// (syncfs(2)) that began after they asked; one of them runs it for all. A caller
/// returns only after such a flush succeeded, so its data is durable; a failed flush is
/// an error for every caller that waited on it (none is answered 250).
#[derive(Default)]
pub struct Committer {
    state: Mutex<CommitState>,
    done: Condvar,
}

#[derive(Default)]
struct CommitState {
    /// Flushes begun, completed, and the last one that succeeded (numbered from 1).
    started: u64,
    completed: u64,
    last_ok: u64,
    running: bool,
}

impl Committer {
    /// Returns once a flush that began after this call has made everything written
    /// before it durable, running that flush itself when none is running.
    pub fn commit(&self, flush: impl Fn() -> std::io::Result<()>) -> std::io::Result<()> {
        let lock = || self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut s = lock();
        // A flush already running may have begun before our writes: the next one.
        let target = s.started + 1;
        loop {
            if s.last_ok >= target {
                return Ok(());
            }
            if s.completed >= target {
                return Err(std::io::Error::other(
                    "the spool's file system could not be flushed",
                ));
            }
            if s.running {
                s = self.done.wait(s).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            s.running = true;
            s.started += 1;
            let number = s.started;
            drop(s);
            let result = flush();
            s = lock();
            s.running = false;
            s.completed = number;
            if result.is_ok() {
                s.last_ok = number;
            }
            self.done.notify_all();
        }
    }

    /// Flushes begun so far.
    #[cfg(test)]
    fn flushes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .started
    }
}

fn io(p: &Path, e: std::io::Error) -> Failure {
    Failure::temporary(format!("spool {}: {e}", p.display()))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Spool {
    /// Opens (creating) the spool and removes what a crash left behind: temporary
    /// files, and message files whose envelope was never written (never answered 250).
    pub fn open(dir: &Path, sync: SpoolSync) -> Result<Spool, Failure> {
        for d in [dir.to_path_buf(), dir.join("tmp"), dir.join("dead")] {
            fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
        if let Ok(rd) = fs::read_dir(dir.join("tmp")) {
            for e in rd.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        if let Ok(rd) = fs::read_dir(dir) {
            for e in rd.flatten() {
                let p = e.path();
                let message_file = p.extension().is_some_and(|x| x == "in" || x == "out");
                if message_file && !p.with_extension("json").exists() {
                    let _ = fs::remove_file(&p);
                }
            }
        }
        let dir_file = fs::File::open(dir).map_err(|e| io(dir, e))?;
        Ok(Spool {
            dir: dir.to_owned(),
            sync,
            dir_file,
            committer: Committer::default(),
        })
    }

    /// Whether each file is fsynced on its own (otherwise a group commit makes it
    /// durable).
    pub fn syncs_each_file(&self) -> bool {
        self.sync == SpoolSync::Each
    }

    /// The group commit, whose flush count the tests read.
    #[cfg(test)]
    fn committer(&self) -> &Committer {
        &self.committer
    }

    fn group_commit(&self) -> Result<(), Failure> {
        self.committer
            .commit(|| rustix::fs::syncfs(&self.dir_file).map_err(std::io::Error::from))
            .map_err(|e| io(&self.dir, e))
    }

    /// Removes what a store that failed had written (it is no entry: no 250 was sent).
    fn forget(&self, id: &str) {
        for ext in ["json", "out", "in"] {
            let _ = fs::remove_file(self.path(id, ext));
        }
    }

    fn path(&self, id: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    fn write(&self, id: &str, ext: &str, data: &[u8]) -> Result<(), Failure> {
        self.write_file(id, ext, data, true)
    }

    /// Writes a file in `tmp/` and renames it into place; with `fsync`, the file is
    /// synced before the rename (otherwise a group commit follows).
    fn write_file(&self, id: &str, ext: &str, data: &[u8], fsync: bool) -> Result<(), Failure> {
        let tmp = self.dir.join("tmp").join(format!("{id}.{ext}"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        f.write_all(data).map_err(|e| io(&tmp, e))?;
        if fsync {
            f.sync_all().map_err(|e| io(&tmp, e))?;
        }
        let dst = self.path(id, ext);
        fs::rename(&tmp, &dst).map_err(|e| io(&dst, e))
    }

    fn sync_dir(&self) -> Result<(), Failure> {
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(&self.dir, e))
    }

    /// Stores a message durably. Returns only after everything is on disk.
    pub fn store(&self, meta: &Meta, received: &[u8], processed: &[u8]) -> Result<(), Failure> {
        if !valid_id(&meta.id) {
            return Err(Failure::temporary("invalid spool id"));
        }
        self.write(&meta.id, "in", received)?;
        self.write(&meta.id, "out", processed)?;
        let json = serde_json::to_vec(meta).map_err(|e| Failure::temporary(e.to_string()))?;
        self.write(&meta.id, "json", &json)?;
        self.sync_dir()
    }

    /// A new file for a message as it arrives (`tmp/<id>.in`, 0600): the SMTP server
    /// streams DATA into it, so a message is never held in memory while it arrives.
    /// Until [`Spool::store_received`] moves it into place it is not an entry, and a
    /// restart removes it (it was never acknowledged).
    pub fn incoming(&self, id: &str) -> Result<(PathBuf, fs::File), Failure> {
        if !valid_id(id) {
            return Err(Failure::temporary("invalid spool id"));
        }
        let tmp = self.dir.join("tmp").join(format!("{id}.in"));
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        Ok((tmp, f))
    }

    /// Removes a file made by [`Spool::incoming`] for a message that was not taken.
    pub fn discard_incoming(&self, path: &Path) {
        if path.starts_with(self.dir.join("tmp")) {
            let _ = fs::remove_file(path);
        }
    }

    /// Stores a message whose received form is already on disk in `received` (from
    /// [`Spool::incoming`], written and fsynced by the caller): it is renamed into
    /// place, then the processed message and the envelope are written. Returns only
    /// after everything is on disk.
    pub fn store_received(
        &self,
        meta: &Meta,
        received: &Path,
        processed: &[u8],
    ) -> Result<(), Failure> {
        if !valid_id(&meta.id) {
            return Err(Failure::temporary("invalid spool id"));
        }
        let dst = self.path(&meta.id, "in");
        fs::rename(received, &dst).map_err(|e| io(&dst, e))?;
        let json = serde_json::to_vec(meta).map_err(|e| Failure::temporary(e.to_string()))?;
        if self.sync == SpoolSync::Each {
            self.write(&meta.id, "out", processed)?;
            self.write(&meta.id, "json", &json)?;
            return self.sync_dir();
        }
        // Group: the message files are durable before the envelope that makes them an
        // entry exists, so a crash never leaves an entry without its message.
        let stored = self
            .write_file(&meta.id, "out", processed, false)
            .and_then(|()| self.group_commit())
            .and_then(|()| self.write_file(&meta.id, "json", &json, false))
            .and_then(|()| self.group_commit());
        if stored.is_err() {
            self.forget(&meta.id);
        }
        stored
    }

    /// Rewrites the delivery state.
    pub fn update(&self, meta: &Meta) -> Result<(), Failure> {
        let json = serde_json::to_vec(meta).map_err(|e| Failure::temporary(e.to_string()))?;
        self.write(&meta.id, "json", &json)?;
        self.sync_dir()
    }

    /// Every complete entry.
    pub fn list(&self) -> Vec<Meta> {
        let mut out = Vec::new();
        if let Ok(rd) = fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "json")
                    && let Ok(d) = fs::read(&p)
                    && let Ok(m) = serde_json::from_slice::<Meta>(&d)
                {
                    out.push(m);
                }
            }
        }
        out.sort_by_key(|m| (m.next_attempt, m.received));
        out
    }

    /// The processed message (what the relay sends).
    pub fn load_out(&self, id: &str) -> Result<Vec<u8>, Failure> {
        let out = self.path(id, "out");
        fs::read(&out).map_err(|e| io(&out, e))
    }

    /// The message as received (read only for an NDR).
    pub fn load_in(&self, id: &str) -> Result<Vec<u8>, Failure> {
        let inp = self.path(id, "in");
        fs::read(&inp).map_err(|e| io(&inp, e))
    }

    /// The processed and the received message.
    pub fn load(&self, id: &str) -> Result<(Vec<u8>, Vec<u8>), Failure> {
        let out = self.path(id, "out");
        let inp = self.path(id, "in");
        Ok((
            fs::read(&out).map_err(|e| io(&out, e))?,
            fs::read(&inp).map_err(|e| io(&inp, e))?,
        ))
    }

    /// Removes a finished entry (JSON first, so a crash leaves no half entry behind).
    pub fn remove(&self, id: &str) -> Result<(), Failure> {
        let _ = fs::remove_file(self.path(id, "json"));
        let _ = fs::remove_file(self.path(id, "out"));
        let _ = fs::remove_file(self.path(id, "in"));
        self.sync_dir()
    }

    /// Moves an entry that can be neither delivered nor bounced aside, for the operator.
    pub fn bury(&self, id: &str) -> Result<(), Failure> {
        for ext in ["in", "out", "json"] {
            let from = self.path(id, ext);
            let to = self.dir.join("dead").join(format!("{id}.{ext}"));
            let _ = fs::rename(&from, &to);
        }
        self.sync_dir()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// Each caller returns only after a flush that began after it asked has completed,
    /// however the callers interleave; callers share flushes.
    #[test]
    fn a_commit_waits_for_a_flush_that_began_after_it() {
        let committer = Arc::new(Committer::default());
        let finished = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let committer = committer.clone();
                let finished = finished.clone();
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let begun_before = committer.flushes();
                        committer
                            .commit(|| {
                                finished.fetch_add(1, Ordering::SeqCst);
                                Ok(())
                            })
                            .unwrap();
                        // Flushes run one at a time and are numbered as they begin: one
                        // numbered after `begun_before` has finished.
                        assert!(finished.load(Ordering::SeqCst) > begun_before);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(committer.flushes() <= 1600);
        assert_eq!(finished.load(Ordering::SeqCst), committer.flushes());
    }

    /// A failed flush fails its callers; the next one that succeeds serves new callers.
    #[test]
    fn a_failed_flush_is_an_error_for_its_caller() {
        let committer = Committer::default();
        assert!(
            committer
                .commit(|| Err(std::io::Error::other("disk gone")))
                .is_err()
        );
        assert!(committer.commit(|| Ok(())).is_ok());
        assert_eq!(committer.flushes(), 2);
    }

    fn meta(id: &str) -> Meta {
        Meta {
            id: id.into(),
            mail_from: "a@example.org".into(),
            rcpts: Vec::new(),
            ret: None,
            envid: None,
            body_8bit: false,
            smtputf8: false,
            bypass: None,
            received: 0,
            attempts: 0,
            next_attempt: 0,
            is_dsn: false,
        }
    }

    /// Both ways of syncing store the same entry; a group store flushes the file system
    /// twice (message files, then the envelope); opening the spool removes message
    /// files that never got an envelope.
    #[test]
    fn stores_and_orphans() {
        for sync in [SpoolSync::Each, SpoolSync::Group] {
            let dir = tempfile::tempdir().unwrap();
            let spool = Spool::open(dir.path(), sync).unwrap();
            let (path, mut f) = spool.incoming("m1").unwrap();
            f.write_all(b"received").unwrap();
            drop(f);
            spool
                .store_received(&meta("m1"), &path, b"processed")
                .unwrap();
            let want = if sync == SpoolSync::Group { 2 } else { 0 };
            assert_eq!(spool.committer().flushes(), want);
            let (out, inp) = spool.load("m1").unwrap();
            assert_eq!((&out[..], &inp[..]), (&b"processed"[..], &b"received"[..]));
            assert_eq!(spool.list().len(), 1);
            // A crash between the message files and the envelope.
            fs::write(dir.path().join("m2.in"), b"x").unwrap();
            fs::write(dir.path().join("m2.out"), b"y").unwrap();
            drop(spool);
            let spool = Spool::open(dir.path(), sync).unwrap();
            assert!(!dir.path().join("m2.in").exists());
            assert!(!dir.path().join("m2.out").exists());
            assert!(dir.path().join("m1.out").exists());
            assert_eq!(spool.list().len(), 1);
        }
    }
}
