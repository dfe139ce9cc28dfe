#![forbid(unsafe_code)]
//! The `reseal` command: a thin layer that parses flags, calls the library, and maps
//! failures to sysexits codes (DESIGN §6).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use reseal::error::exit;
use reseal::{Config, Envelope, Failure, Gateway};
use reseal_keystore::{Delegation, KdfParams, KeySource, Keystore, SecretString, Use, Uses};

#[derive(Parser)]
#[command(
    name = "reseal",
    version,
    about = "OPES-for-SMTP gateway: re-seals S/MIME and OpenPGP mail"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one message from stdin through the pipeline and write the result to stdout.
    Process(ProcessArgs),
    /// Manage the sealed keystore.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Args)]
struct ProcessArgs {
    /// Configuration file (TOML). Without it, embedded defaults apply.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Keystore folder (overrides the configuration).
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// File holding the keystore passphrase (else $RESEAL_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Envelope sender (use "" for the null sender).
    #[arg(long)]
    mail_from: String,
    /// Envelope recipient; repeat for several.
    #[arg(long = "rcpt", required = true)]
    rcpts: Vec<String>,
}

#[derive(Args)]
struct KeystoreArgs {
    /// Keystore folder (default: $RESEAL_DATA_DIR/keystore).
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// File holding the keystore passphrase (else $RESEAL_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create a new, empty keystore.
    Init {
        #[command(flatten)]
        ks: KeystoreArgs,
        /// Argon2id memory cost in MiB (default 19, minimum 8).
        #[arg(long, default_value_t = 19)]
        kdf_memory_mib: u32,
        /// Argon2id passes (default 2, minimum 1).
        #[arg(long, default_value_t = 2)]
        kdf_passes: u32,
    },
    /// Import a delegated private key (PKCS#12, or PEM key + certificate).
    Import {
        #[command(flatten)]
        ks: KeystoreArgs,
        /// PKCS#12 file (OpenSSL 3 AES/PBKDF2 or legacy 3DES/SHA-1).
        #[arg(long, conflicts_with_all = ["key", "cert", "openpgp"])]
        pkcs12: Option<PathBuf>,
        /// OpenPGP transferable secret key (armored or binary, v4 or v6).
        #[arg(long, conflicts_with_all = ["key", "cert"])]
        openpgp: Option<PathBuf>,
        /// File holding the passphrase of a protected OpenPGP secret key.
        #[arg(long, requires = "openpgp")]
        openpgp_password_file: Option<PathBuf>,
        /// File holding the PKCS#12 password (default: empty password).
        #[arg(long, requires = "pkcs12")]
        pkcs12_password_file: Option<PathBuf>,
        /// PEM private key: PKCS#8, PKCS#1 or SEC1.
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// PEM certificate of the key.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// PEM chain certificates to send along with signatures.
        #[arg(long, requires = "key")]
        chain: Option<PathBuf>,
        /// Address (user@domain) or domain (@domain) the key acts for; repeatable.
        #[arg(long = "for", required = true)]
        delegations: Vec<String>,
        /// Permitted uses: sign, decrypt (default both).
        #[arg(long = "use", value_delimiter = ',')]
        uses: Vec<Use>,
    },
    /// Add recipient certificates to the directory used for encryption.
    ImportCert {
        #[command(flatten)]
        ks: KeystoreArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Add trust anchors for signature verification.
    Trust {
        #[command(flatten)]
        ks: KeystoreArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List keys, certificates, delegations and expiry (never secrets).
    List {
        #[command(flatten)]
        ks: KeystoreArgs,
        #[arg(long)]
        json: bool,
    },
    /// Remove an entry by id.
    Remove {
        #[command(flatten)]
        ks: KeystoreArgs,
        id: String,
    },
}

/// Reads a passphrase: the file's first line, or $RESEAL_PASSPHRASE.
fn passphrase(file: Option<&Path>) -> Result<Option<SecretString>, Failure> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f).map_err(|e| {
            Failure::config(format!("cannot read passphrase file {}: {e}", f.display()))
        })?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        return Ok(Some(SecretString::from(line)));
    }
    Ok(std::env::var("RESEAL_PASSPHRASE")
        .ok()
        .map(SecretString::from))
}

fn need_passphrase(file: Option<&Path>) -> Result<SecretString, Failure> {
    passphrase(file)?.ok_or_else(|| {
        Failure::config(
            "the keystore passphrase is needed: set RESEAL_PASSPHRASE or pass --passphrase-file",
        )
    })
}

fn keystore_dir(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var_os("RESEAL_KEYSTORE").map(PathBuf::from))
        .unwrap_or_else(|| reseal::config::default_data_dir().join("keystore"))
}

fn ks_failure(e: reseal_keystore::Error) -> Failure {
    use reseal_keystore::Error as E;
    match e {
        E::Io { .. } | E::Random => Failure::temporary(e.to_string()),
        E::WrongPassphrase | E::NotFound(_) | E::Corrupt { .. } => Failure::config(e.to_string()),
        _ => Failure::policy(e.to_string()),
    }
}

fn read_file(p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| Failure::config(format!("cannot read {}: {e}", p.display())))
}

fn open_keystore(ks: &KeystoreArgs) -> Result<Keystore, Failure> {
    let dir = keystore_dir(ks.keystore.clone());
    let pass = need_passphrase(ks.passphrase_file.as_deref())?;
    Keystore::open(&dir, &pass).map_err(ks_failure)
}

fn run_keys(cmd: KeysCommand) -> Result<(), Failure> {
    match cmd {
        KeysCommand::Init {
            ks,
            kdf_memory_mib,
            kdf_passes,
        } => {
            let dir = keystore_dir(ks.keystore);
            let pass = need_passphrase(ks.passphrase_file.as_deref())?;
            let params = KdfParams {
                m_kib: kdf_memory_mib.saturating_mul(1024),
                t: kdf_passes,
                p: KdfParams::DEFAULT.p,
            };
            Keystore::init(&dir, &pass, params).map_err(ks_failure)?;
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
            delegations,
            uses,
        } => {
            let mut store = open_keystore(&ks)?;
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
            let read_password = |f: &Path| -> Result<SecretString, Failure> {
                let t = zeroize::Zeroizing::new(read_file(f)?);
                let s = std::str::from_utf8(&t)
                    .map_err(|_| Failure::config("the password file is not UTF-8"))?;
                Ok(SecretString::from(
                    s.trim_end_matches(['\r', '\n']).to_owned(),
                ))
            };
            if let Some(pgp) = openpgp {
                let data = zeroize::Zeroizing::new(read_file(&pgp)?);
                let password = openpgp_password_file
                    .as_deref()
                    .map(read_password)
                    .transpose()?;
                let id = store
                    .import_openpgp(&data, password.as_ref(), delegations, uses)
                    .map_err(ks_failure)?;
                println!("{id}");
                return Ok(());
            }
            let id = match (pkcs12, key, cert) {
                (Some(p12), None, None) => {
                    let der = read_file(&p12)?;
                    let password = match pkcs12_password_file {
                        Some(f) => read_password(&f)?,
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
                        .map_err(ks_failure)?
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
                        .map_err(ks_failure)?
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
            let mut store = open_keystore(&ks)?;
            for f in files {
                for id in store
                    .import_certificates(&read_file(&f)?)
                    .map_err(ks_failure)?
                {
                    println!("{id}");
                }
            }
        }
        KeysCommand::Trust { ks, files } => {
            let mut store = open_keystore(&ks)?;
            for f in files {
                for id in store
                    .add_trust_anchors(&read_file(&f)?)
                    .map_err(ks_failure)?
                {
                    println!("{id}");
                }
            }
        }
        KeysCommand::List { ks, json } => {
            let store = open_keystore(&ks)?;
            let listing = reseal::keys_listing(&store);
            let mut out = std::io::stdout().lock();
            let r = if json {
                serde_json::to_writer_pretty(&mut out, &listing)
                    .map_err(std::io::Error::other)
                    .and_then(|()| writeln!(out))
            } else {
                write!(out, "{}", listing.to_text())
            };
            r.map_err(|e| Failure::temporary(format!("cannot write: {e}")))?;
        }
        KeysCommand::Remove { ks, id } => {
            let mut store = open_keystore(&ks)?;
            store.remove(&id).map_err(ks_failure)?;
            println!("removed {id}");
        }
    }
    Ok(())
}

fn run_process(args: ProcessArgs) -> Result<i32, Failure> {
    let mut config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::defaults(),
    };
    if let Some(k) = args.keystore.clone() {
        config.keystore = k;
    }
    let trace = reseal::trace::Trace::new(&config)?;
    let report = |f: &Failure| {
        // The SMTP reply we would have sent, with trace (RFC 4902 §3.1).
        eprintln!("{}", trace.reply(f));
        f.exit_code()
    };
    let keystore = if Keystore::exists(&config.keystore) {
        let file = args
            .passphrase_file
            .as_deref()
            .or(config.passphrase_file.as_deref());
        let pass = match need_passphrase(file) {
            Ok(p) => p,
            Err(f) => return Ok(report(&f)),
        };
        match Keystore::open(&config.keystore, &pass) {
            Ok(k) => Some(k),
            Err(e) => return Ok(report(&ks_failure(e))),
        }
    } else {
        if args.keystore.is_some() || args.config.is_some() {
            tracing::warn!(
                "no keystore at {}: nothing will be signed or decrypted",
                config.keystore.display()
            );
        }
        None
    };
    let env = match Envelope::new(&args.mail_from, &args.rcpts) {
        Ok(e) => e,
        Err(f) => return Ok(report(&f)),
    };
    let mut input = Vec::new();
    let limit = u64::try_from(config.max_message_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut input) {
        return Ok(report(&Failure::temporary(format!(
            "cannot read the message: {e}"
        ))));
    }
    let gateway = Gateway { config, keystore };
    match gateway.process(&env, &input, &trace) {
        Ok(outcome) => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&outcome.message).and_then(|()| out.flush()) {
                return Ok(report(&Failure::temporary(format!(
                    "cannot write the message: {e}"
                ))));
            }
            Ok(exit::OK)
        }
        Err(f) => Ok(report(&f)),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESEAL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
    };
    let code = match cli.command {
        Command::Process(args) => run_process(args).unwrap_or_else(|f| {
            eprintln!("{f}");
            f.exit_code()
        }),
        Command::Keys(cmd) => match run_keys(cmd) {
            Ok(()) => exit::OK,
            Err(f) => {
                eprintln!("reseal keys: {}", f.text);
                f.exit_code()
            }
        },
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
