//! The keystore on disk: header, entries, atomic 0600 writes.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Error;
use crate::seal::{KdfParams, MasterKey};

pub(crate) const FORMAT: &str = "reseal-keystore/1";
pub(crate) const CHECK_AAD: &[u8] = b"reseal-keystore/1 passphrase check";
pub(crate) const CHECK_PLAIN: &[u8] = b"reseal keystore";
/// An upper bound on one entry file, so that a planted huge file cannot exhaust memory.
pub(crate) const MAX_ENTRY_BYTES: u64 = 1 << 20;
pub(crate) const MAX_ENTRIES: usize = 100_000;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    format: String,
    kdf: KdfParams,
    salt: String,
    check: String,
    /// The folder of entries sealed under this header's key, when it is not `entries`:
    /// `keys rotate-passphrase` writes every entry anew into a fresh folder and then
    /// replaces the header, the one atomic step that switches to it ([`rotate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entries: Option<String>,
}

/// An unlocked keystore folder: the master key, its cost parameters, and the folder of
/// entries sealed under it.
pub(crate) struct Unlocked {
    pub(crate) master: MasterKey,
    pub(crate) kdf: KdfParams,
    pub(crate) entries: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryFile<'a> {
    #[serde(borrow)]
    pub(crate) body: &'a RawValue,
    pub(crate) seal: String,
}

pub(crate) fn header_path(dir: &Path) -> PathBuf {
    dir.join("keystore.json")
}

pub(crate) fn entries_dir(dir: &Path) -> PathBuf {
    dir.join("entries")
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The associated data that binds an entry's public body to its file name.
pub(crate) fn entry_aad(id: &str, body: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(FORMAT.len() + id.len() + body.len() + 8);
    aad.extend_from_slice(FORMAT.as_bytes());
    aad.extend_from_slice(b" entry\0");
    aad.extend_from_slice(id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(body);
    aad
}

/// Writes `data` to `path` atomically with mode 0600: temp file, fsync, rename, fsync dir.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|_| Error::Random)?;
    let tmp = dir.join(format!(
        ".tmp-{}",
        rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(data).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, path).map_err(io(path))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(crate) fn make_private_dir(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))
}

pub(crate) fn init(dir: &Path, passphrase: &SecretString, kdf: KdfParams) -> Result<(), Error> {
    let header = header_path(dir);
    if header.exists() {
        return Err(Error::AlreadyExists(dir.to_owned()));
    }
    make_private_dir(dir)?;
    make_private_dir(&entries_dir(dir))?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
    let master = MasterKey::derive(passphrase, &salt, kdf)?;
    write_header(&header, &master, &salt, kdf, None)
}

/// Writes the header (atomically): the cost parameters, the salt, the check value
/// sealed under `master`, and the entries folder's name when it is not `entries`.
fn write_header(
    path: &Path,
    master: &MasterKey,
    salt: &[u8],
    kdf: KdfParams,
    entries: Option<String>,
) -> Result<(), Error> {
    let check = master.seal(CHECK_AAD, CHECK_PLAIN)?;
    let h = Header {
        format: FORMAT.to_owned(),
        kdf,
        salt: B64.encode(salt),
        check: B64.encode(check),
        entries,
    };
    let json = serde_json::to_vec_pretty(&h).map_err(|_| Error::Operation)?;
    write_atomic(path, &json)
}

pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = fs::metadata(path).map_err(io(path))?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(Error::Corrupt {
            what: path.display().to_string(),
            reason: "file too large",
        });
    }
    fs::read(path).map_err(io(path))
}

/// Checks the passphrase against the header of the keystore in `dir` and returns the
/// master key it derives.
pub(crate) fn unlock(dir: &Path, passphrase: &SecretString) -> Result<Unlocked, Error> {
    let hp = header_path(dir);
    if !hp.is_file() {
        return Err(Error::NotFound(dir.to_owned()));
    }
    let corrupt = |reason| Error::Corrupt {
        what: "keystore.json".into(),
        reason,
    };
    let raw = read_bounded(&hp)?;
    let h: Header = serde_json::from_slice(&raw).map_err(|_| corrupt("unreadable header"))?;
    if h.format != FORMAT {
        return Err(corrupt("unknown keystore format"));
    }
    let salt = B64.decode(&h.salt).map_err(|_| corrupt("bad salt"))?;
    let check = B64
        .decode(&h.check)
        .map_err(|_| corrupt("bad check value"))?;
    let entries = match h.entries.as_deref() {
        None => entries_dir(dir),
        Some(name) if is_entries_name(name) => dir.join(name),
        Some(_) => return Err(corrupt("bad entries folder name")),
    };
    let master = MasterKey::derive(passphrase, &salt, h.kdf)?;
    match master.open(CHECK_AAD, &check) {
        Some(p) if p.as_slice() == CHECK_PLAIN => Ok(Unlocked {
            master,
            kdf: h.kdf,
            entries,
        }),
        _ => Err(Error::WrongPassphrase),
    }
}

/// `entries`, or `entries-` and 16 lowercase hex digits: never a path elsewhere.
fn is_entries_name(name: &str) -> bool {
    name == "entries"
        || name.strip_prefix("entries-").is_some_and(|h| {
            h.len() == 16
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// Re-keys the keystore in `dir` under `passphrase` (a fresh salt, `kdf`): `reseal`
/// writes every entry, sealed under the new key, into the fresh folder it is given;
/// then the new header replaces the old one atomically (`write_atomic`), the single
/// step that switches. A crash before it leaves the old keystore whole (the fresh
/// folder is an orphan, removed by the next rotation); after it, the new one. The old
/// folder is removed last. Returns the new key and folder.
pub(crate) fn rotate(
    dir: &Path,
    old_entries: &Path,
    passphrase: &SecretString,
    kdf: KdfParams,
    reseal: impl FnOnce(&MasterKey, &Path) -> Result<(), Error>,
) -> Result<Unlocked, Error> {
    // Orphans of an interrupted rotation.
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if is_entries_name(&name) && p != old_entries && name != "entries" {
                let _ = fs::remove_dir_all(&p);
            }
        }
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|_| Error::Random)?;
    let name = format!(
        "entries-{}",
        rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let fresh = dir.join(&name);
    fs::create_dir(&fresh).map_err(io(&fresh))?;
    fs::set_permissions(&fresh, fs::Permissions::from_mode(0o700)).map_err(io(&fresh))?;
    let master = MasterKey::derive(passphrase, &salt, kdf)?;
    let written = reseal(&master, &fresh).and_then(|()| {
        fs::File::open(&fresh)
            .and_then(|d| d.sync_all())
            .map_err(io(&fresh))
    });
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&fresh);
        return Err(e);
    }
    write_header(&header_path(dir), &master, &salt, kdf, Some(name))?;
    // Switched. The old entries are sealed under the old passphrase: remove them.
    let _ = fs::remove_dir_all(old_entries);
    Ok(Unlocked {
        master,
        kdf,
        entries: fresh,
    })
}

/// The entry files in the entries folder `ed`, in name order.
pub(crate) fn entry_files(ed: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut names: Vec<PathBuf> = fs::read_dir(ed)
        .map_err(io(ed))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    if names.len() > MAX_ENTRIES {
        return Err(Error::Corrupt {
            what: "keystore.json".into(),
            reason: "too many entries",
        });
    }
    names.sort();
    Ok(names)
}
