//! Quarantine: messages a service held (DLP `quarantine`), kept as received with their
//! envelope, until an operator releases or drops them (RFC 4902 §3.2: an out-of-band
//! bypass).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;
use crate::error::Failure;

/// What is stored beside a held message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Held {
    pub id: String,
    pub mail_from: String,
    pub rcpts: Vec<String>,
    pub service: String,
    pub reason: String,
    pub time: String,
}

fn io(what: &Path, e: std::io::Error) -> Failure {
    Failure::temporary(format!("quarantine {}: {e}", what.display()))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), Failure> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    f.write_all(data).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Holds `message` under `id`.
pub fn hold(
    dir: &Path,
    id: &str,
    env: &Envelope,
    message: &[u8],
    service: &str,
    reason: &str,
) -> Result<(), Failure> {
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let held = Held {
        id: id.to_owned(),
        mail_from: env.mail_from.clone(),
        rcpts: env.rcpts.clone(),
        service: service.to_owned(),
        reason: reason.to_owned(),
        time: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    write_private(&dir.join(format!("{id}.eml")), message)?;
    let json = serde_json::to_vec_pretty(&held).map_err(|e| Failure::temporary(e.to_string()))?;
    write_private(&dir.join(format!("{id}.json")), &json)
}

/// Every held message, oldest first.
pub fn list(dir: &Path) -> Result<Vec<Held>, Failure> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json")
            && let Ok(data) = fs::read(&p)
            && let Ok(h) = serde_json::from_slice::<Held>(&data)
        {
            out.push(h);
        }
    }
    out.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(out)
}

/// Reads a held message and its metadata.
pub fn get(dir: &Path, id: &str) -> Result<(Held, Vec<u8>), Failure> {
    if !valid_id(id) {
        return Err(Failure::config(format!("no quarantined message {id:?}")));
    }
    let meta: PathBuf = dir.join(format!("{id}.json"));
    let data =
        fs::read(&meta).map_err(|_| Failure::config(format!("no quarantined message {id:?}")))?;
    let held: Held = serde_json::from_slice(&data)
        .map_err(|e| Failure::config(format!("quarantine entry {id}: {e}")))?;
    let msg = fs::read(dir.join(format!("{id}.eml"))).map_err(|e| io(dir, e))?;
    Ok((held, msg))
}

/// Deletes a held message.
pub fn drop_held(dir: &Path, id: &str) -> Result<(), Failure> {
    if !valid_id(id) {
        return Err(Failure::config(format!("no quarantined message {id:?}")));
    }
    let meta = dir.join(format!("{id}.json"));
    if !meta.exists() {
        return Err(Failure::config(format!("no quarantined message {id:?}")));
    }
    fs::remove_file(dir.join(format!("{id}.eml"))).map_err(|e| io(dir, e))?;
    fs::remove_file(&meta).map_err(|e| io(dir, e))
}
