//! The durable spool: one folder per gateway, three files per message. `<id>.in` is the
//! message as received (for the NDR's returned content, never decrypted plaintext),
//! `<id>.out` the processed message to deliver, and `<id>.json` the envelope and
//! delivery state. The JSON is written last: its presence marks a complete entry.
//! Every file is fsynced and renamed into place, and the folder is fsynced, before the
//! SMTP server answers 250.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

fn io(p: &Path, e: std::io::Error) -> Failure {
    Failure::temporary(format!("spool {}: {e}", p.display()))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl Spool {
    /// Opens (creating) the spool and removes temporary files a crash left behind.
    pub fn open(dir: &Path) -> Result<Spool, Failure> {
        for d in [dir.to_path_buf(), dir.join("tmp"), dir.join("dead")] {
            fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
        if let Ok(rd) = fs::read_dir(dir.join("tmp")) {
            for e in rd.flatten() {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(Spool {
            dir: dir.to_owned(),
        })
    }

    fn path(&self, id: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    fn write(&self, id: &str, ext: &str, data: &[u8]) -> Result<(), Failure> {
        let tmp = self.dir.join("tmp").join(format!("{id}.{ext}"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| io(&tmp, e))?;
        f.write_all(data).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
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
        self.write(&meta.id, "out", processed)?;
        let json = serde_json::to_vec(meta).map_err(|e| Failure::temporary(e.to_string()))?;
        self.write(&meta.id, "json", &json)?;
        self.sync_dir()
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
