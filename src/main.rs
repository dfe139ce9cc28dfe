#![forbid(unsafe_code)]
//! The `reseal` command: a thin layer that parses flags, calls the library, and maps
//! failures to sysexits codes (README.md, "Exit codes").

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
    /// Run the ESMTP gateway (Postfix content filter): accept, process, spool, relay.
    Serve(ServeArgs),
    /// Run the gateway as a milter (Postfix smtpd_milters).
    Milter {
        /// host:port to listen on.
        #[arg(long, default_value = "127.0.0.1:10027")]
        listen: String,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Hash a password (read from stdin) for the SMTP AUTH users file.
    HashPassword,
    /// Manage the sealed keystore.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Verify a delivered message: outer signature, modification record, original.
    Verify(VerifyArgs),
    /// Messages held by a service (DLP quarantine).
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

#[derive(Args)]
struct VerifyArgs {
    /// Print the report as JSON (docs/verify-json.md).
    #[arg(long)]
    json: bool,
    /// Trust anchor for S/MIME signatures (repeatable).
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// The gateway's OPES identity certificate (`reseal keys export-identity`).
    #[arg(long = "opes-cert")]
    opes_cert: Vec<PathBuf>,
    /// The recipient's S/MIME private key (PEM) to decrypt with; needs --cert for its certificate.
    #[arg(long, conflicts_with_all = ["pkcs12", "openpgp_key"])]
    key: Option<PathBuf>,
    /// The recipient's PKCS#12 file to decrypt with.
    #[arg(long, conflicts_with = "openpgp_key")]
    pkcs12: Option<PathBuf>,
    /// File holding the PKCS#12 password.
    #[arg(long, requires = "pkcs12")]
    pkcs12_password_file: Option<PathBuf>,
    /// The recipient's OpenPGP secret key to decrypt with.
    #[arg(long)]
    openpgp_key: Option<PathBuf>,
    /// Certificates: the --key's certificate, signers' S/MIME certificates, signers'
    /// OpenPGP certificates (repeatable).
    #[arg(long)]
    cert: Vec<PathBuf>,
    /// Write the original message, as the sender signed it, to this file.
    #[arg(long)]
    extract_original: Option<PathBuf>,
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// List held messages.
    List {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Release a held message: run it through the pipeline again with the holding
    /// service bypassed, and write the result to stdout.
    Release {
        #[arg(long)]
        config: Option<PathBuf>,
        /// File holding the keystore passphrase (else $RESEAL_PASSPHRASE).
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        id: String,
    },
    /// Delete a held message.
    Drop {
        #[arg(long)]
        config: Option<PathBuf>,
        id: String,
    },
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
struct ServeArgs {
    /// Configuration file (TOML). Without it, embedded defaults apply: listen on
    /// 127.0.0.1:10025, relay to 127.0.0.1:10026.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Keystore folder (overrides the configuration).
    #[arg(long)]
    keystore: Option<PathBuf>,
    /// File holding the keystore passphrase (else $RESEAL_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
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

/// One kind of OPES identity certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum IdentityFormat {
    X509,
    Openpgp,
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
    /// Write the gateway's OPES identity to stdout: its X.509 certificate and chain (PEM)
    /// and its OpenPGP certificate (armored), or only the one `--format` names, for
    /// tools that want one kind per file.
    ExportIdentity {
        #[command(flatten)]
        ks: KeystoreArgs,
        #[arg(long, value_enum)]
        format: Option<IdentityFormat>,
    },
    /// Replace the X.509 OPES identity with a key and certificate issued by your CA.
    ImportIdentity {
        #[command(flatten)]
        ks: KeystoreArgs,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        chain: Option<PathBuf>,
    },
    /// Create a fresh self-signed OPES identity (X.509 and OpenPGP), replacing the old one.
    NewIdentity {
        #[command(flatten)]
        ks: KeystoreArgs,
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

/// An input file that is not what it should be: exit 65, naming the file.
fn bad_input(file: &Path, e: &dyn std::fmt::Display) -> Failure {
    Failure::malformed(format!(
        "{}: {}",
        reseal::sanitize::log_text(&file.display().to_string()),
        reseal::sanitize::log_text(&e.to_string())
    ))
}

/// A keystore failure about the input file `file`: a file that is not what it should be
/// (an import error) is bad input, exit 65, naming the file.
fn input_failure(file: &Path) -> impl Fn(reseal_keystore::Error) -> Failure + '_ {
    move |e| match e {
        reseal_keystore::Error::Import(_) => bad_input(file, &e),
        e => ks_failure(e),
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
            Keystore::init_with_identity(&dir, &pass, params, &identity_name())
                .map_err(ks_failure)?;
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
            let dir = keystore_dir(ks.keystore.clone());
            let mut cache = reseal::capabilities::Cache::load(&dir);
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
                .save(&dir)
                .map_err(|e| Failure::temporary(format!("capabilities: {e}")))?;
        }
        KeysCommand::Trust { ks, files } => {
            let mut store = open_keystore(&ks)?;
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
            let store = open_keystore(&ks)?;
            let cache = reseal::capabilities::Cache::load(&keystore_dir(ks.keystore.clone()));
            let listing = reseal::listing::keys_listing_with(&store, &cache);
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
        KeysCommand::ExportIdentity { ks, format } => {
            let store = open_keystore(&ks)?;
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
            let mut store = open_keystore(&ks)?;
            let key = zeroize::Zeroizing::new(read_file(&key)?);
            let cert = read_file(&cert)?;
            let chain = chain.as_deref().map(read_file).transpose()?;
            store
                .import_identity(&key, &cert, chain.as_deref())
                .map_err(ks_failure)?;
            println!("OPES identity replaced");
        }
        KeysCommand::NewIdentity { ks } => {
            let mut store = open_keystore(&ks)?;
            store
                .create_identity(&identity_name())
                .map_err(ks_failure)?;
            println!("new OPES identity created");
        }
    }
    Ok(())
}

/// Loads the configuration and opens the keystore for the long-running modes.
fn gateway(args: &ServeArgs) -> Result<Gateway, Failure> {
    let mut config = load_config(args.config.as_deref())?;
    if let Some(k) = &args.keystore {
        config.keystore = k.clone();
    }
    let keystore = if Keystore::exists(&config.keystore) {
        let file = args
            .passphrase_file
            .as_deref()
            .or(config.passphrase_file.as_deref());
        Some(Keystore::open(&config.keystore, &need_passphrase(file)?).map_err(ks_failure)?)
    } else {
        tracing::warn!(
            "no keystore at {}: mail is traced but nothing is signed or decrypted",
            config.keystore.display()
        );
        None
    };
    Ok(Gateway { config, keystore })
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::config(format!("cannot start the runtime: {e}")))
}

fn run_serve(args: ServeArgs) -> Result<i32, Failure> {
    reseal::smtp::server::no_core_dumps();
    let gw = gateway(&args)?;
    runtime()?.block_on(reseal::smtp::server::serve(gw))?;
    Ok(exit::OK)
}

fn run_milter(listen: String, args: ServeArgs) -> Result<i32, Failure> {
    reseal::smtp::server::no_core_dumps();
    let gw = gateway(&args)?;
    runtime()?.block_on(reseal::milter::run(&listen, std::sync::Arc::new(gw)))?;
    Ok(exit::OK)
}

fn identity_name() -> String {
    format!(
        "Reseal OPES identity ({})",
        reseal::config::system_hostname()
    )
}

fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::defaults()),
    }
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
        eprintln!("{}", reseal::submission::render(f, Some(&trace)).one_line());
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
    // The same submission policy as serve and milter: the local caller is admitted
    // when `admission.process_admitted` says so (crate::submission).
    let policy = reseal::submission::Policy::with_users(&gateway.config, Vec::new());
    let submitter = policy
        .admit(&reseal::submission::Client {
            pipe: true,
            ..Default::default()
        })
        .submitter(&env.mail_from, Default::default());
    match gateway.process(&env, &input, &trace, &submitter) {
        Ok(outcome) if outcome.held.is_some() => {
            eprintln!("{}", reseal::submission::held(&trace).one_line());
            Ok(exit::OK)
        }
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

/// Makes sure no library error captures a backtrace, whatever `RUST_BACKTRACE` says.
///
/// sequoia-openpgp reports parse failures as `anyhow::Error`, and anyhow captures a
/// `std::backtrace::Backtrace` for each one when `RUST_LIB_BACKTRACE` (or, failing that,
/// `RUST_BACKTRACE`) is set and not "0". Sequoia's junk recovery builds one or two errors
/// per byte it skips, so a 17 KB encrypted message found by the fuzzer (`openpgp_packets`,
/// tests/corpus/fuzz-regressions/) made 20 s of CPU with backtraces on and 0.25 s
/// without: a denial of service wherever an operator leaves `RUST_BACKTRACE=1` set.
/// The variable can only be set for a process that has not started yet (`set_var` is
/// unsafe), so we re-execute ourselves once with `RUST_LIB_BACKTRACE=0`: same pid, same
/// arguments and descriptors. Panic backtraces still follow `RUST_BACKTRACE`.
fn without_error_backtraces() {
    let lib = std::env::var_os("RUST_LIB_BACKTRACE");
    let wanted = match &lib {
        Some(v) => v != "0",
        None => std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0"),
    };
    if !wanted {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    use std::os::unix::process::CommandExt as _;
    // `exec` only returns on failure; then we go on with backtraces as they were.
    let err = std::process::Command::new(&exe)
        .arg0(arg0)
        .args(args)
        .env("RUST_LIB_BACKTRACE", "0")
        .exec();
    eprintln!("reseal: could not re-execute without error backtraces: {err}");
}

fn main() -> ExitCode {
    without_error_backtraces();
    let cli = Cli::try_parse();
    // Long-running modes log at info; in pipe mode stderr carries the one-line reply,
    // so only errors by default.
    let daemon = matches!(
        &cli,
        Ok(Cli {
            command: Command::Serve(_) | Command::Milter { .. }
        })
    );
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESEAL_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if daemon { "info" } else { "error" })
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    // A panic inside the OpenPGP library on hostile input is caught and answered as a
    // refusal (unwrap::openpgp::guarded); keep it out of the one-line stderr reply.
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| l.file().to_owned())
            .unwrap_or_default();
        if loc.contains("sequoia-openpgp") || loc.contains("buffered-reader") {
            tracing::debug!("library panic caught: {info}");
        } else {
            tracing::error!("internal error: {info}");
        }
    }));
    let cli = match cli {
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
        Command::Serve(args) => run_serve(args).unwrap_or_else(|f| {
            eprintln!("reseal serve: {}", f.text);
            f.exit_code()
        }),
        Command::Milter { listen, args } => run_milter(listen, args).unwrap_or_else(|f| {
            eprintln!("reseal milter: {}", f.text);
            f.exit_code()
        }),
        Command::HashPassword => {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let pw = zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
            match reseal::submission::hash_password(&pw) {
                Ok(h) => {
                    println!("{h}");
                    exit::OK
                }
                Err(f) => {
                    eprintln!("reseal hash-password: {}", f.text);
                    f.exit_code()
                }
            }
        }
        Command::Verify(args) => run_verify(args).unwrap_or_else(|f| {
            eprintln!("reseal verify: {}", f.text);
            // A file that is not what it should be is bad input (65, naming the file);
            // anything else is a usage error.
            if f.class == reseal::error::Class::Malformed {
                exit::DATAERR
            } else {
                2
            }
        }),
        Command::Quarantine(cmd) => match run_quarantine(cmd) {
            Ok(code) => code,
            Err(f) => {
                eprintln!("reseal quarantine: {}", f.text);
                f.exit_code()
            }
        },
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

/// `reseal verify`: exit 0 when everything present verifies, 1 otherwise, 2 on usage
/// errors.
fn run_verify(args: VerifyArgs) -> Result<i32, Failure> {
    use reseal::record::seal::Identities;
    use reseal::record::verify::{Inputs, verify};
    let mut input = Vec::new();
    let limit = u64::try_from(reseal::config::DEFAULT_MAX_MESSAGE).unwrap_or(u64::MAX);
    std::io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut input)
        .map_err(|e| Failure::config(format!("cannot read the message: {e}")))?;
    let mut anchors = Vec::new();
    for t in &args.trust {
        anchors.extend(
            reseal_keystore::parse_certificates(&read_file(t)?).map_err(|e| bad_input(t, &e))?,
        );
    }
    let mut identities = Identities::default();
    for p in &args.opes_cert {
        let ids = Identities::load(&read_file(p)?).map_err(|e| bad_input(p, &e))?;
        identities.x509.extend(ids.x509);
        identities.openpgp.extend(ids.openpgp);
    }
    let mut known_certs = Vec::new();
    let mut pgp_certs = Vec::new();
    let mut cert_files = Vec::new();
    for c in &args.cert {
        let data = read_file(c)?;
        if reseal_keystore::looks_like_openpgp(&data) {
            use sequoia_openpgp::parse::Parse as _;
            for cert in sequoia_openpgp::cert::CertParser::from_bytes(&data)
                .map_err(|e| bad_input(c, &e))?
                .flatten()
            {
                pgp_certs.push(cert.strip_secret_key_material());
            }
        } else {
            known_certs
                .extend(reseal_keystore::parse_certificates(&data).map_err(|e| bad_input(c, &e))?);
        }
        cert_files.push(data);
    }
    // The recipient's key goes into a throwaway keystore, so that decryption runs
    // through the same keystore operations as in the gateway.
    let parties = recipient_parties(&input);
    // A private, unpredictable folder (mode 0700, random name), removed on return: a
    // predictable path in a shared temp folder could be planted by another user.
    let tmpdir = tempfile::Builder::new()
        .prefix("reseal-verify-")
        .tempdir()
        .map_err(|e| Failure::temporary(format!("cannot create a temporary folder: {e}")))?;
    let tmp = tmpdir.path().join("keystore");
    let mut keystore = None;
    if args.key.is_some() || args.pkcs12.is_some() || args.openpgp_key.is_some() {
        let pass = SecretString::from(reseal::crypto::random_hex(16)?);
        Keystore::init(&tmp, &pass, reseal_keystore::KdfParams::FLOOR).map_err(ks_failure)?;
        let mut ks = Keystore::open(&tmp, &pass).map_err(ks_failure)?;
        let delegations: Vec<Delegation> = parties.iter().filter_map(|p| p.parse().ok()).collect();
        let delegations = if delegations.is_empty() {
            vec![
                "@invalid.invalid"
                    .parse()
                    .map_err(|e: reseal_keystore::Error| Failure::config(e.to_string()))?,
            ]
        } else {
            delegations
        };
        let uses = Uses {
            sign: false,
            decrypt: true,
        };
        if let Some(k) = &args.key {
            let key = zeroize::Zeroizing::new(read_file(k)?);
            // The key's certificate, if one of the --cert files is it; otherwise the key
            // is tried on every recipient.
            let with_cert = cert_files
                .iter()
                .filter(|c| !reseal_keystore::looks_like_openpgp(c))
                .any(|cert| {
                    ks.import_key(
                        KeySource::Pem {
                            key: &key,
                            cert,
                            chain: None,
                        },
                        delegations.clone(),
                        uses,
                    )
                    .is_ok()
                });
            if !with_cert {
                ks.import_key(
                    KeySource::PemKeyOnly { key: &key },
                    delegations.clone(),
                    uses,
                )
                .map_err(ks_failure)?;
            }
        }
        if let Some(p) = &args.pkcs12 {
            let der = read_file(p)?;
            let password = match &args.pkcs12_password_file {
                Some(f) => SecretString::from(
                    String::from_utf8_lossy(&read_file(f)?)
                        .trim_end_matches(['\r', '\n'])
                        .to_owned(),
                ),
                None => SecretString::from(String::new()),
            };
            ks.import_key(
                KeySource::Pkcs12 {
                    der: &der,
                    password: &password,
                },
                delegations.clone(),
                uses,
            )
            .map_err(ks_failure)?;
        }
        if let Some(p) = &args.openpgp_key {
            let data = zeroize::Zeroizing::new(read_file(p)?);
            ks.import_openpgp(&data, None, delegations.clone(), uses)
                .map_err(ks_failure)?;
        }
        keystore = Some(ks);
    }
    let report = verify(
        &input,
        &Inputs {
            keystore: keystore.as_ref(),
            parties,
            anchors,
            known_certs,
            pgp_certs,
            identities,
            now: reseal_keystore::now(),
            max_bytes: reseal::config::DEFAULT_MAX_MESSAGE,
        },
    );
    if let Some(path) = &args.extract_original {
        match &report.original_message {
            Some(m) => std::fs::write(path, m)
                .map_err(|e| Failure::config(format!("cannot write {}: {e}", path.display())))?,
            None => eprintln!(
                "reseal verify: the original cannot be rebuilt; nothing written to {}",
                path.display()
            ),
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer_pretty(&mut out, &report);
        let _ = writeln!(out);
    } else {
        render_verify(&mut out, &report);
    }
    Ok(if report.verdict == reseal::record::verify::PASS {
        0
    } else {
        1
    })
}

/// The human-readable `reseal verify` report. The signer's address comes first, before
/// anything the message itself claims (a From display name is never shown: it is the
/// ID spoofing of docs/verify-json.md). Text from the message, its certificates and its
/// record goes through `log_text`.
fn render_verify(out: &mut impl std::io::Write, report: &reseal::record::verify::Report) {
    use reseal::sanitize::log_text;
    let text = |s: Option<&str>| s.map_or_else(|| "-".to_owned(), log_text);
    let signer = match (&report.outer.signer, report.outer.valid) {
        (Some(s), true) => log_text(s),
        (Some(s), false) => format!("{} (signature not valid)", log_text(s)),
        (None, _) => "none".to_owned(),
    };
    let _ = writeln!(out, "signer: {signer}");
    let _ = writeln!(
        out,
        "verdict: {}{}",
        report.verdict,
        if report.altered_after_gateway {
            " (altered after the gateway)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "outer: encrypted={} signed={} valid={} signer={}",
        report.outer.encrypted,
        report.outer.signed,
        report.outer.valid,
        text(report.outer.signer.as_deref())
    );
    let _ = writeln!(
        out,
        "record: present={} valid={} system={}",
        report.record.present,
        report.record.valid,
        text(report.record.system.as_deref())
    );
    for c in &report.record.changes {
        let _ = writeln!(
            out,
            "  change: {} {} at {} (reversible: {})",
            log_text(&c.service),
            log_text(&c.kind),
            log_text(&c.place),
            c.reversible
        );
    }
    let _ = writeln!(out, "header: covered={}", report.header.covered);
    for u in report
        .header
        .uncovered
        .iter()
        .filter(|u| u.place != reseal::record::verify::Place::Unbound || !u.allowed)
    {
        let place = match u.place {
            reseal::record::verify::Place::AboveTrace => "above the gateway's trace",
            reseal::record::verify::Place::Trace => "the gateway's trace",
            reseal::record::verify::Place::Wrapping => "wrapping",
            reseal::record::verify::Place::Unbound => "not bound",
        };
        let _ = writeln!(
            out,
            "  not covered: {} ({place}{})",
            log_text(&u.field),
            if u.allowed { "" } else { ", not allowed" }
        );
    }
    let _ = writeln!(
        out,
        "original: reconstructible={} signed={} valid={} signer={} digest={}",
        report.original.reconstructible,
        report.original.signed,
        report.original.valid,
        text(report.original.signer.as_deref()),
        text(report.original.digest.as_deref())
    );
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {}", log_text(w));
    }
    for p in &report.problems {
        let _ = writeln!(out, "problem: {}", log_text(p));
    }
}

/// The addresses a recipient's key may decrypt for: To, Cc and From of the message.
fn recipient_parties(message: &[u8]) -> Vec<String> {
    let msg = reseal::mime::to_crlf(message);
    let Ok(top) = reseal::mime::Entity::parse(&msg) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in ["To", "Cc", "From", "Delivered-To", "X-Original-To"] {
        for f in top.get_all(name) {
            out.extend(reseal::mime::address::addr_specs(top.field_value(f)));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn run_quarantine(cmd: QuarantineCommand) -> Result<i32, Failure> {
    match cmd {
        QuarantineCommand::List { config, json } => {
            let config = load_config(config.as_deref())?;
            let held = reseal::quarantine::list(&config.quarantine_dir)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&held).unwrap_or_default()
                );
            } else {
                for h in held {
                    println!(
                        "{}  {}  from <{}> to <{}>  {} ({})",
                        h.id,
                        h.time,
                        h.mail_from,
                        h.rcpts.join(">, <"),
                        h.reason,
                        h.service
                    );
                }
            }
            Ok(exit::OK)
        }
        QuarantineCommand::Drop { config, id } => {
            let config = load_config(config.as_deref())?;
            reseal::quarantine::drop_held(&config.quarantine_dir, &id)?;
            println!("dropped {id}");
            Ok(exit::OK)
        }
        QuarantineCommand::Release {
            config,
            passphrase_file,
            id,
        } => {
            let config = load_config(config.as_deref())?;
            let (held, message) = reseal::quarantine::get(&config.quarantine_dir, &id)?;
            let keystore = if Keystore::exists(&config.keystore) {
                let file = passphrase_file
                    .as_deref()
                    .or(config.passphrase_file.as_deref());
                Some(
                    Keystore::open(&config.keystore, &need_passphrase(file)?)
                        .map_err(ks_failure)?,
                )
            } else {
                None
            };
            let env = Envelope::new(&held.mail_from, &held.rcpts)?;
            let trace = reseal::trace::Trace::new(&config)?;
            let qdir = config.quarantine_dir.clone();
            // The operator's release is an out-of-band bypass of the holding service
            // (RFC 4902 §3.2); every other service still runs.
            let mut config = config;
            config.services.retain(|s| s.id != held.service);
            let gateway = Gateway { config, keystore };
            let outcome = gateway.process(
                &env,
                &message,
                &trace,
                &reseal::pipeline::Submitter {
                    admitted: true,
                    bypass: Default::default(),
                    may_sign: true,
                },
            )?;
            std::io::stdout()
                .lock()
                .write_all(&outcome.message)
                .map_err(|e| Failure::temporary(e.to_string()))?;
            reseal::quarantine::drop_held(&qdir, &id)?;
            Ok(exit::OK)
        }
    }
}
