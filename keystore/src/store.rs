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

use crate::entry::{Body, Uses, cert_from_b64};
use crate::ops::HeldKey;
use crate::seal::{KdfParams, MasterKey};
use crate::{CertInfo, Error, KeyInfo, Keystore};

const FORMAT: &str = "reseal-keystore/1";
const CHECK_AAD: &[u8] = b"reseal-keystore/1 passphrase check";
const CHECK_PLAIN: &[u8] = b"reseal keystore";
/// An upper bound on one entry file, so that a planted huge file cannot exhaust memory.
const MAX_ENTRY_BYTES: u64 = 1 << 20;
const MAX_ENTRIES: usize = 100_000;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    kdf: KdfParams,
    salt: String,
    check: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFile<'a> {
    #[serde(borrow)]
    body: &'a RawValue,
    seal: String,
}

pub(crate) fn header_path(dir: &Path) -> PathBuf {
    dir.join("keystore.json")
}

fn entries_dir(dir: &Path) -> PathBuf {
    dir.join("entries")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The associated data that binds an entry's public body to its file name.
fn entry_aad(id: &str, body: &[u8]) -> Vec<u8> {
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

fn make_private_dir(dir: &Path) -> Result<(), Error> {
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
    let check = master.seal(CHECK_AAD, CHECK_PLAIN)?;
    let h = Header {
        format: FORMAT.to_owned(),
        kdf,
        salt: B64.encode(salt),
        check: B64.encode(check),
    };
    let json = serde_json::to_vec_pretty(&h).map_err(|_| Error::Operation)?;
    write_atomic(&header, &json)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, Error> {
    let meta = fs::metadata(path).map_err(io(path))?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(Error::Corrupt {
            what: path.display().to_string(),
            reason: "file too large",
        });
    }
    fs::read(path).map_err(io(path))
}

pub(crate) fn open(dir: &Path, passphrase: &SecretString) -> Result<Keystore, Error> {
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
    let master = MasterKey::derive(passphrase, &salt, h.kdf)?;
    match master.open(CHECK_AAD, &check) {
        Some(p) if p.as_slice() == CHECK_PLAIN => {}
        _ => return Err(Error::WrongPassphrase),
    }

    let mut ks = Keystore {
        dir: dir.to_owned(),
        master,
        keys: Vec::new(),
        certs: Vec::new(),
        anchors: Vec::new(),
        pgp_keys: Vec::new(),
        pgp_certs: Vec::new(),
        identity: None,
        identity_pgp: None,
    };
    let ed = entries_dir(dir);
    let mut names: Vec<PathBuf> = fs::read_dir(&ed)
        .map_err(io(&ed))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    if names.len() > MAX_ENTRIES {
        return Err(corrupt("too many entries"));
    }
    names.sort();
    for path in names {
        ks.load_entry(&path)?;
    }
    Ok(ks)
}

impl Keystore {
    fn load_entry(&mut self, path: &Path) -> Result<(), Error> {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let corrupt = |reason| Error::Corrupt {
            what: name.clone(),
            reason,
        };
        let raw = read_bounded(path)?;
        let file: EntryFile<'_> =
            serde_json::from_slice(&raw).map_err(|_| corrupt("unreadable entry"))?;
        let body_bytes = file.body.get().as_bytes();
        let sealed = B64.decode(&file.seal).map_err(|_| corrupt("bad seal"))?;
        let secret = self
            .master
            .open(&entry_aad(&name, body_bytes), &sealed)
            .ok_or_else(|| corrupt("seal does not verify"))?;
        let body: Body =
            serde_json::from_str(file.body.get()).map_err(|_| corrupt("unreadable body"))?;
        if body.id() != name {
            return Err(corrupt("entry id does not match its file name"));
        }
        match body {
            Body::SmimeKey {
                id,
                algorithm,
                certificate,
                chain,
                delegations,
                uses,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                let chain = chain
                    .iter()
                    .map(|c| cert_from_b64(c, &id))
                    .collect::<Result<_, _>>()?;
                let info = KeyInfo {
                    id,
                    algorithm,
                    certificate,
                    chain,
                    delegations,
                    uses: Uses::from_list(&uses),
                    created,
                };
                let held = HeldKey::from_pkcs8(info, &secret)?;
                self.keys.push(held);
            }
            Body::Certificate {
                id,
                certificate,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                self.certs.push(CertInfo {
                    id,
                    certificate,
                    created,
                });
            }
            Body::TrustAnchor {
                id,
                certificate,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                self.anchors.push(CertInfo {
                    id,
                    certificate,
                    created,
                });
            }
            Body::OpenpgpKey {
                id,
                certificate,
                delegations,
                uses,
                created,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                let info = crate::OpenpgpKeyInfo {
                    id,
                    cert,
                    delegations,
                    uses: Uses::from_list(&uses),
                    created,
                };
                self.pgp_keys
                    .push(crate::openpgp::HeldPgpKey::from_tsk(info, &secret)?);
            }
            Body::Identity {
                id,
                algorithm,
                certificate,
                chain,
                created,
            } => {
                let certificate = cert_from_b64(&certificate, &id)?;
                let chain = chain
                    .iter()
                    .map(|c| cert_from_b64(c, &id))
                    .collect::<Result<_, _>>()?;
                let info = KeyInfo {
                    id,
                    algorithm,
                    certificate,
                    chain,
                    delegations: Vec::new(),
                    uses: Uses {
                        sign: true,
                        decrypt: false,
                    },
                    created,
                };
                self.identity = Some(HeldKey::from_pkcs8(info, &secret)?);
            }
            Body::IdentityPgp {
                id,
                certificate,
                created,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                let info = crate::OpenpgpKeyInfo {
                    id,
                    cert,
                    delegations: Vec::new(),
                    uses: Uses {
                        sign: true,
                        decrypt: false,
                    },
                    created,
                };
                self.identity_pgp = Some(crate::openpgp::HeldPgpKey::from_tsk(info, &secret)?);
            }
            Body::OpenpgpCert {
                id,
                certificate,
                created,
            } => {
                let cert = crate::openpgp::parse_cert(certificate.as_bytes())
                    .map_err(|_| corrupt("bad OpenPGP certificate"))?;
                self.pgp_certs
                    .push(crate::OpenpgpCertInfo { id, cert, created });
            }
        }
        Ok(())
    }

    /// Seals and writes one entry. `secret` is empty for public entries: the seal then
    /// only authenticates the body.
    pub(crate) fn write_entry(&self, body: &Body, secret: &[u8]) -> Result<(), Error> {
        let id = body.id();
        let body_json = serde_json::to_string(body).map_err(|_| Error::Operation)?;
        let sealed = self
            .master
            .seal(&entry_aad(id, body_json.as_bytes()), secret)?;
        let raw = RawValue::from_string(body_json).map_err(|_| Error::Operation)?;
        let file = EntryFile {
            body: &raw,
            seal: B64.encode(sealed),
        };
        let json = serde_json::to_vec(&file).map_err(|_| Error::Operation)?;
        write_atomic(&entries_dir(&self.dir).join(format!("{id}.json")), &json)
    }

    pub(crate) fn has_entry(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.info.id == id)
            || self.certs.iter().any(|c| c.id == id)
            || self.anchors.iter().any(|c| c.id == id)
            || self.pgp_keys.iter().any(|k| k.info.id == id)
            || self.pgp_certs.iter().any(|c| c.id == id)
    }

    /// Removes an entry by id, from disk and from memory.
    pub fn remove(&mut self, id: &str) -> Result<(), Error> {
        let valid_id = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_id || !self.has_entry(id) {
            return Err(Error::NoSuchEntry(id.to_owned()));
        }
        let path = entries_dir(&self.dir).join(format!("{id}.json"));
        fs::remove_file(&path).map_err(io(&path))?;
        let ed = entries_dir(&self.dir);
        fs::File::open(&ed)
            .and_then(|d| d.sync_all())
            .map_err(io(&ed))?;
        self.keys.retain(|k| k.info.id != id);
        self.certs.retain(|c| c.id != id);
        self.anchors.retain(|c| c.id != id);
        self.pgp_keys.retain(|k| k.info.id != id);
        self.pgp_certs.retain(|c| c.id != id);
        Ok(())
    }
}
