//! `reseal keys`: administer the sealed keystore (init, import, trust, list, remove,
//! the OPES identity). Secrets pass through here only as file contents handed to the
//! keystore crate, in zeroizing buffers.

use std::io::Write as _;

use reseal::Failure;
use reseal_keystore::{Delegation, KdfParams, KeySource, Keystore, SecretString, Uses};

use super::args::{IdentityFormat, KeysCommand};
use super::settings::{Settings, input_failure, keystore_failure, read_file, read_secret_file};

/// Runs a `reseal keys` command; returns its exit status (0, or what `expire-check`
/// reports).
pub fn run(cmd: KeysCommand) -> Result<i32, Failure> {
    match cmd {
        KeysCommand::Init {
            ks,
            kdf_memory_mib,
            kdf_passes,
        } => {
            let settings = Settings::resolve(&ks)?;
            let dir = settings.keystore_dir();
            let pass = settings.passphrase()?;
            let params = KdfParams {
                m_kib: kdf_memory_mib.saturating_mul(1024),
                t: kdf_passes,
                p: KdfParams::DEFAULT.p,
            };
            Keystore::init_with_identity(dir, &pass, params, &identity_name())
                .map_err(keystore_failure)?;
            println!("keystore created at {}", dir.display());
        }
        KeysCommand::Import {
            ks,
            pkcs12,
            pkcs12_password_file,
            openpgp,
            openpgp_password_file,
            key,
            cert,
            chain,
            pkcs11_uri,
            pkcs11_module,
            pin_file,
            delegations,
            uses,
        } => {
            let settings = Settings::resolve(&ks)?;
            let mut store = settings.open_keystore()?;
            let delegations = delegations
                .iter()
                .map(|d| d.parse::<Delegation>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::config(e.to_string()))?;
            let uses = if uses.is_empty() {
                Uses::BOTH
            } else {
                Uses::from_list(&uses)
            };
            if let Some(pgp) = openpgp {
                let data = zeroize::Zeroizing::new(read_file(&pgp)?);
                let password = openpgp_password_file
                    .as_deref()
                    .map(read_secret_file)
                    .transpose()?;
                let id = store
                    .import_openpgp(&data, password.as_ref(), delegations, uses)
                    .map_err(keystore_failure)?;
                println!("{id}");
                return Ok(reseal::error::exit::OK);
            }
            if let Some(uri) = pkcs11_uri {
                let (uri, module, pin) = token_settings(&settings, &uri, pkcs11_module, pin_file)?;
                let cert = cert.ok_or_else(|| Failure::config("--cert is needed"))?;
                let cert_pem = read_file(&cert)?;
                let chain_pem = chain.as_deref().map(read_file).transpose()?;
                let id = store
                    .import_token_key(
                        &uri,
                        &module,
                        &pin,
                        &cert_pem,
                        chain_pem.as_deref(),
                        delegations,
                        uses,
                    )
                    .map_err(keystore_failure)?;
                println!("{id}");
                return Ok(reseal::error::exit::OK);
            }
            let id = match (pkcs12, key, cert) {
                (Some(p12), None, None) => {
                    let der = read_file(&p12)?;
                    let password = match pkcs12_password_file {
                        Some(f) => read_secret_file(&f)?,
                        None => SecretString::from(String::new()),
                    };
                    store
                        .import_key(
                            KeySource::Pkcs12 {
                                der: &der,
                                password: &password,
                            },
                            delegations,
                            uses,
                        )
                        .map_err(keystore_failure)?
                }
                (None, Some(key), Some(cert)) => {
                    let key_pem = zeroize::Zeroizing::new(read_file(&key)?);
                    let cert_pem = read_file(&cert)?;
                    let chain_pem = chain.as_deref().map(read_file).transpose()?;
                    store
                        .import_key(
                            KeySource::Pem {
                                key: &key_pem,
                                cert: &cert_pem,
                                chain: chain_pem.as_deref(),
                            },
                            delegations,
                            uses,
                        )
                        .map_err(keystore_failure)?
                }
                _ => {
                    return Err(Failure::config(
                        "give --pkcs12 FILE, --openpgp FILE, or --key KEY --cert CERT",
                    ));
                }
            };
            println!("{id}");
        }
        KeysCommand::ImportCert { ks, files } => {
            let settings = Settings::resolve(&ks)?;
            let mut store = settings.open_keystore()?;
            let dir = settings.keystore_dir();
            let mut cache = reseal::capabilities::Cache::load(dir);
            for f in files {
                let data = read_file(&f)?;
                // A detached signature (.p7s) or a signed message: its verified signers'
                // certificates, and what they announced they can decrypt (RFC 8551
                // §2.7.1). Anything else: certificates.
                let file_failure = |e: Failure| {
                    Failure::malformed(format!(
                        "{}: {}",
                        reseal::sanitize::log_text(&f.display().to_string()),
                        e.text
                    ))
                };
                let signers =
                    match reseal::capabilities::from_signature_file(&store, &mut cache, &data)
                        .map_err(file_failure)?
                    {
                        Some(s) => Some(s),
                        None if reseal::capabilities::looks_like_message(&data) => Some(
                            reseal::capabilities::from_signed_message(
                                &store,
                                &mut cache,
                                &data,
                                reseal::config::DEFAULT_MAX_MESSAGE,
                            )
                            .map_err(file_failure)?,
                        ),
                        None => None,
                    };
                let der: Vec<Vec<u8>> = match signers {
                    Some(s) => s
                        .iter()
                        .filter_map(|c| der::Encode::to_der(c).ok())
                        .collect(),
                    None => vec![data],
                };
                for d in der {
                    for id in store.import_certificates(&d).map_err(input_failure(&f))? {
                        println!("{id}");
                    }
                }
            }
            cache
                .save(dir)
                .map_err(|e| Failure::temporary(format!("capabilities: {e}")))?;
        }
        KeysCommand::Trust { ks, files } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            for f in files {
                for id in store
                    .add_trust_anchors(&read_file(&f)?)
                    .map_err(input_failure(&f))?
                {
                    println!("{id}");
                }
            }
        }
        KeysCommand::List { ks, json } => {
            let settings = Settings::resolve(&ks)?;
            let store = settings.open_keystore()?;
            let cache = reseal::capabilities::Cache::load(settings.keystore_dir());
            let listing = reseal::listing::keys_listing_with(&store, &cache);
            print(json, &listing, |out| write!(out, "{}", listing.to_text()))?;
        }
        KeysCommand::ExpireCheck { ks, days, json } => {
            let store = Settings::resolve(&ks)?.open_keystore()?;
            return expire_check(&store, days, json);
        }
        KeysCommand::RotatePassphrase {
            ks,
            new_passphrase_file,
            kdf_memory_mib,
            kdf_passes,
        } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            let new = match new_passphrase_file {
                Some(f) => read_secret_file(&f)?,
                None => std::env::var("RESEAL_NEW_PASSPHRASE")
                    .map(SecretString::from)
                    .map_err(|_| {
                        Failure::config(
                            "the new passphrase is needed: --new-passphrase-file FILE or RESEAL_NEW_PASSPHRASE",
                        )
                    })?,
            };
            let kdf = (kdf_memory_mib.is_some() || kdf_passes.is_some()).then(|| KdfParams {
                m_kib: kdf_memory_mib.map_or(KdfParams::DEFAULT.m_kib, |m| m.saturating_mul(1024)),
                t: kdf_passes.unwrap_or(KdfParams::DEFAULT.t),
                p: KdfParams::DEFAULT.p,
            });
            store
                .rotate_passphrase(&new, kdf)
                .map_err(keystore_failure)?;
            println!("keystore sealed under the new passphrase");
        }
        KeysCommand::Revoke {
            ks,
            id,
            reason,
            no_decrypt,
        } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            store
                .revoke(&id, &reason, !no_decrypt)
                .map_err(keystore_failure)?;
            println!(
                "revoked {id}: it no longer signs{}",
                if no_decrypt {
                    " or decrypts"
                } else {
                    "; it still decrypts"
                }
            );
        }
        KeysCommand::Delegate {
            ks,
            id,
            add,
            remove,
        } => {
            if add.is_empty() && remove.is_empty() {
                return Err(Failure::config("give --for ADDR or --remove-for ADDR"));
            }
            let parse = |v: &[String]| {
                v.iter()
                    .map(|d| d.parse::<Delegation>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| Failure::config(e.to_string()))
            };
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            store
                .delegate(&id, &parse(&add)?, &parse(&remove)?)
                .map_err(keystore_failure)?;
            println!("delegations of {id} changed");
        }
        KeysCommand::Remove { ks, id } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            store.remove(&id).map_err(keystore_failure)?;
            println!("removed {id}");
        }
        KeysCommand::ExportIdentity { ks, format } => {
            let store = Settings::resolve(&ks)?.open_keystore()?;
            let mut out = String::new();
            let want = |f: IdentityFormat| format.is_none_or(|w| w == f);
            if let Some(id) = store.identity().filter(|_| want(IdentityFormat::X509)) {
                for c in std::iter::once(&id.certificate).chain(id.chain.iter()) {
                    use der::EncodePem as _;
                    out.push_str(
                        &c.to_pem(der::pem::LineEnding::LF)
                            .map_err(|e| Failure::temporary(e.to_string()))?,
                    );
                }
            }
            if let Some(pgp) = store
                .identity_pgp()
                .filter(|_| want(IdentityFormat::Openpgp))
            {
                use sequoia_openpgp::serialize::SerializeInto as _;
                let a = pgp
                    .armored()
                    .to_vec()
                    .map_err(|e| Failure::temporary(e.to_string()))?;
                out.push_str(&String::from_utf8_lossy(&a));
            }
            if out.is_empty() {
                return Err(Failure::config(
                    "the keystore has no OPES identity: run `reseal keys new-identity`",
                ));
            }
            print!("{out}");
        }
        KeysCommand::ImportIdentity {
            ks,
            key,
            cert,
            chain,
        } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            let key = zeroize::Zeroizing::new(read_file(&key)?);
            let cert = read_file(&cert)?;
            let chain = chain.as_deref().map(read_file).transpose()?;
            store
                .import_identity(&key, &cert, chain.as_deref())
                .map_err(keystore_failure)?;
            println!("OPES identity replaced");
        }
        KeysCommand::ImportDkim {
            ks,
            domain,
            selector,
            key,
            pkcs11_uri,
            pkcs11_module,
            pin_file,
        } => {
            let settings = Settings::resolve(&ks)?;
            let mut store = settings.open_keystore()?;
            let id = match (key, pkcs11_uri) {
                (Some(key), None) => {
                    let pem = zeroize::Zeroizing::new(read_file(&key)?);
                    store
                        .import_dkim(&domain, &selector, &pem)
                        .map_err(input_failure(&key))?
                }
                (None, Some(uri)) => {
                    let (uri, module, pin) =
                        token_settings(&settings, &uri, pkcs11_module, pin_file)?;
                    store
                        .import_dkim_token(&domain, &selector, &uri, &module, &pin)
                        .map_err(keystore_failure)?
                }
                _ => return Err(Failure::config("give --key KEY.pem or --pkcs11-uri URI")),
            };
            println!("{id}");
        }
        KeysCommand::DkimRecord { ks, domain } => {
            let store = Settings::resolve(&ks)?.open_keystore()?;
            let key = reseal_keystore::dkim_domain_name(&domain)
                .and_then(|d| store.dkim_key_for(&d))
                .ok_or_else(|| {
                    Failure::config(format!(
                        "no DKIM key for {} (run `reseal keys import-dkim`)",
                        reseal::sanitize::log_text(&domain)
                    ))
                })?;
            println!("{}", dkim_record(key));
        }
        KeysCommand::NewIdentity { ks } => {
            let mut store = Settings::resolve(&ks)?.open_keystore()?;
            store
                .create_identity(&identity_name())
                .map_err(keystore_failure)?;
            println!("new OPES identity created");
        }
    }
    Ok(reseal::error::exit::OK)
}

/// The token a `--pkcs11-uri` names: the parsed URI (first, so that a PIN in it is
/// refused before anything else is read), the module (the flag, the URI's
/// `module-path`, or the configuration's `[pkcs11] module`) and the PIN (`--pin-file`
/// or `RESEAL_PKCS11_PIN`).
fn token_settings(
    settings: &Settings,
    uri: &str,
    module: Option<std::path::PathBuf>,
    pin_file: Option<std::path::PathBuf>,
) -> Result<(reseal_keystore::Pkcs11Uri, std::path::PathBuf, SecretString), Failure> {
    let uri: reseal_keystore::Pkcs11Uri = uri.parse().map_err(keystore_failure)?;
    let module = module
        .or_else(|| uri.module_path.clone())
        .or_else(|| settings.config.pkcs11_module.clone())
        .ok_or_else(|| {
            Failure::config("name the PKCS#11 module: --pkcs11-module LIB.so or [pkcs11] module")
        })?;
    let pin = match pin_file {
        Some(f) => read_secret_file(&f)?,
        None => std::env::var("RESEAL_PKCS11_PIN")
            .map(SecretString::from)
            .map_err(|_| {
                Failure::config("the token PIN is needed: --pin-file FILE or RESEAL_PKCS11_PIN")
            })?,
    };
    Ok((uri, module, pin))
}

/// Writes `value` to stdout as pretty JSON, or as `text` writes it.
fn print(
    json: bool,
    value: &impl serde::Serialize,
    text: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        text(&mut out)
    };
    written.map_err(|e| Failure::temporary(format!("cannot write: {e}")))
}

/// `keys expire-check`: one line (or JSON object) per certificate or key whose validity
/// ends within `days` days. Exit status for monitoring: 0 none, 1 some expire within the
/// window, 2 some have expired.
fn expire_check(store: &Keystore, days: u64, json: bool) -> Result<i32, Failure> {
    let found =
        reseal::listing::expiring(store, reseal_keystore::now(), days.saturating_mul(86_400));
    print(json, &found, |out| {
        found.iter().try_for_each(|e| {
            writeln!(
                out,
                "{} {} {} {} {}",
                if e.expired { "EXPIRED" } else { "EXPIRES" },
                e.expires,
                e.kind,
                reseal::sanitize::log_text(&e.id),
                reseal::sanitize::log_text(&e.name),
            )
        })
    })?;
    Ok(if found.iter().any(|e| e.expired) {
        2
    } else if found.is_empty() {
        reseal::error::exit::OK
    } else {
        1
    })
}

/// A DKIM key record in zone-file syntax (RFC 1035 §5.1): the text split into quoted
/// strings of at most 255 octets each (RFC 1035 §3.3.14 character-strings), which the
/// verifier joins again (RFC 6376 §3.6.2.2).
fn dkim_record(key: &reseal_keystore::DkimKeyInfo) -> String {
    let text = key.record_text();
    let strings: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!("{} IN TXT {}", key.record_name(), strings.join(" "))
}

/// The name of a new OPES identity: the gateway and its host.
fn identity_name() -> String {
    format!(
        "Reseal OPES identity ({})",
        reseal::config::system_hostname()
    )
}
