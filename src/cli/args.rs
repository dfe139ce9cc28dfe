//! The command line: every command and flag `reseal` takes (clap derive). Parsing only;
//! what the flags mean together is resolved in `cli::settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use reseal_keystore::Use;

#[derive(Parser)]
#[command(
    name = "reseal",
    version,
    about = "OPES-for-SMTP gateway: re-seals S/MIME and OpenPGP mail"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run one message from stdin through the pipeline and write the result to stdout.
    Process(ProcessArgs),
    /// Run the ESMTP gateway (Postfix content filter): accept, process, spool, relay.
    Serve(SettingsArgs),
    /// Run the gateway as a milter (Postfix smtpd_milters).
    Milter {
        /// host:port to listen on.
        #[arg(long, default_value = "127.0.0.1:10027")]
        listen: String,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Hold the unlocked keystore for `reseal process` (pipe mode) on a Unix socket in
    /// the data folder, so that each message does not pay the keystore's unlock.
    Agent(SettingsArgs),
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
pub struct VerifyArgs {
    /// Print the report as JSON (docs/verify-json.md).
    #[arg(long)]
    pub json: bool,
    /// Trust anchor for S/MIME signatures (repeatable).
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// The gateway's OPES identity certificate (`reseal keys export-identity`).
    #[arg(long = "opes-cert")]
    pub opes_cert: Vec<PathBuf>,
    /// The recipient's S/MIME private key (PEM) to decrypt with; needs --cert for its certificate.
    #[arg(long, conflicts_with_all = ["pkcs12", "openpgp_key"])]
    pub key: Option<PathBuf>,
    /// The recipient's PKCS#12 file to decrypt with.
    #[arg(long, conflicts_with = "openpgp_key")]
    pub pkcs12: Option<PathBuf>,
    /// File holding the PKCS#12 password.
    #[arg(long, requires = "pkcs12")]
    pub pkcs12_password_file: Option<PathBuf>,
    /// The recipient's OpenPGP secret key to decrypt with.
    #[arg(long)]
    pub openpgp_key: Option<PathBuf>,
    /// Certificates: the --key's certificate, signers' S/MIME certificates, signers'
    /// OpenPGP certificates (repeatable).
    #[arg(long)]
    pub cert: Vec<PathBuf>,
    /// Write the original message, as the sender signed it, to this file.
    #[arg(long)]
    pub extract_original: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// List held messages.
    List {
        #[command(flatten)]
        settings: SettingsArgs,
        #[arg(long)]
        json: bool,
    },
    /// Release a held message: run it through the pipeline again with the holding
    /// service bypassed, and write the result to stdout.
    Release {
        #[command(flatten)]
        settings: SettingsArgs,
        id: String,
    },
    /// Delete a held message.
    Drop {
        #[command(flatten)]
        settings: SettingsArgs,
        id: String,
    },
}

#[derive(Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Open the keystore here even when `reseal agent` is running.
    #[arg(long)]
    pub no_agent: bool,
    /// Envelope sender (use "" for the null sender).
    #[arg(long)]
    pub mail_from: String,
    /// Envelope recipient; repeat for several.
    #[arg(long = "rcpt", required = true)]
    pub rcpts: Vec<String>,
}

/// The settings every command that reads the configuration or the keystore takes, in
/// the order of `cli::settings`: these flags, then the environment, then the
/// configuration file, then the defaults.
#[derive(Args, Clone, Debug, Default)]
pub struct SettingsArgs {
    /// Configuration file (TOML; else $RESEAL_CONFIG). Without one, embedded defaults
    /// apply: listen on 127.0.0.1:10025, relay to 127.0.0.1:10026.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keystore folder (else $RESEAL_KEYSTORE, the configuration's `keystore`, or
    /// <data folder>/keystore).
    #[arg(long)]
    pub keystore: Option<PathBuf>,
    /// File holding the keystore passphrase (else $RESEAL_PASSPHRASE, or the
    /// configuration's `passphrase_file`).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// One kind of OPES identity certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IdentityFormat {
    X509,
    Openpgp,
}

// Parsed once per run; boxing the large `Import` variant would only obscure clap's derive.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a new, empty keystore.
    Init {
        #[command(flatten)]
        ks: SettingsArgs,
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
        ks: SettingsArgs,
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
        #[arg(long, requires = "cert", conflicts_with = "pkcs11_uri")]
        key: Option<PathBuf>,
        /// PEM certificate of the key (with --key or --pkcs11-uri).
        #[arg(long)]
        cert: Option<PathBuf>,
        /// PEM chain certificates to send along with signatures.
        #[arg(long, requires = "cert")]
        chain: Option<PathBuf>,
        /// A key on a PKCS#11 token (RFC 7512 URI, e.g. 'pkcs11:token=LABEL;id=%01'):
        /// only the reference is recorded; the key stays on the token.
        #[arg(long, requires = "cert", conflicts_with_all = ["pkcs12", "openpgp"])]
        pkcs11_uri: Option<String>,
        /// The PKCS#11 module (shared library) that reaches the token (default: the
        /// configuration's [pkcs11] module).
        #[arg(long, requires = "pkcs11_uri")]
        pkcs11_module: Option<PathBuf>,
        /// File holding the token's user PIN (default: RESEAL_PKCS11_PIN). Sealed in
        /// the keystore, so that the gateway needs no further flag.
        #[arg(long, requires = "pkcs11_uri")]
        pin_file: Option<PathBuf>,
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
        ks: SettingsArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Add trust anchors for signature verification.
    Trust {
        #[command(flatten)]
        ks: SettingsArgs,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List keys, certificates, delegations and expiry (never secrets).
    List {
        #[command(flatten)]
        ks: SettingsArgs,
        #[arg(long)]
        json: bool,
    },
    /// Report certificates and keys that expire within DAYS days, for monitoring. Exit
    /// status: 0 none, 1 some expire within the window, 2 some have expired already.
    ExpireCheck {
        #[command(flatten)]
        ks: SettingsArgs,
        /// The window, in days from now.
        #[arg(long, default_value_t = 30)]
        days: u64,
        #[arg(long)]
        json: bool,
    },
    /// Seal the keystore under a new passphrase (crash-safe: the switch is one atomic
    /// step). The current passphrase comes as usual; the new one from a file or
    /// RESEAL_NEW_PASSPHRASE.
    RotatePassphrase {
        #[command(flatten)]
        ks: SettingsArgs,
        /// File holding the new passphrase (first line).
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
        /// Argon2id memory for the new seal, in MiB (default: unchanged).
        #[arg(long)]
        kdf_memory_mib: Option<u32>,
        /// Argon2id passes for the new seal (default: unchanged).
        #[arg(long)]
        kdf_passes: Option<u32>,
    },
    /// Revoke a delegated key: it never signs again. It still decrypts mail sent to it
    /// before, unless --no-decrypt.
    Revoke {
        #[command(flatten)]
        ks: SettingsArgs,
        id: String,
        /// Why (kept with the key, shown by `keys list`).
        #[arg(long, required = true)]
        reason: String,
        /// Stop decrypting with it too.
        #[arg(long)]
        no_decrypt: bool,
    },
    /// Change whom a delegated key acts for.
    Delegate {
        #[command(flatten)]
        ks: SettingsArgs,
        id: String,
        /// Address (user@domain) or domain (@domain) to add; repeatable.
        #[arg(long = "for")]
        add: Vec<String>,
        /// Address or domain to remove; repeatable.
        #[arg(long = "remove-for")]
        remove: Vec<String>,
    },
    /// Remove an entry by id.
    Remove {
        #[command(flatten)]
        ks: SettingsArgs,
        id: String,
    },
    /// Write the gateway's OPES identity to stdout: its X.509 certificate and chain (PEM)
    /// and its OpenPGP certificate (armored), or only the one `--format` names, for
    /// tools that want one kind per file.
    ExportIdentity {
        #[command(flatten)]
        ks: SettingsArgs,
        #[arg(long, value_enum)]
        format: Option<IdentityFormat>,
    },
    /// Replace the X.509 OPES identity with a key and certificate issued by your CA.
    ImportIdentity {
        #[command(flatten)]
        ks: SettingsArgs,
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
        ks: SettingsArgs,
    },
    /// Import the DKIM key of a sender domain (RSA-2048 to 4096 or Ed25519, unencrypted
    /// PEM): mail whose From domain is DOMAIN is then DKIM-signed (d=DOMAIN, s=SEL),
    /// unless `[dkim] disabled_domains` lists it. Replaces the domain's earlier key.
    ImportDkim {
        #[command(flatten)]
        ks: SettingsArgs,
        /// The signing domain (the From domain of the mail to sign).
        #[arg(long)]
        domain: String,
        /// The selector the public key is published under (SEL._domainkey.DOMAIN).
        #[arg(long)]
        selector: String,
        /// PEM private key (PKCS#8; PKCS#1 for RSA).
        #[arg(
            long,
            required_unless_present = "pkcs11_uri",
            conflicts_with = "pkcs11_uri"
        )]
        key: Option<PathBuf>,
        /// A DKIM key on a PKCS#11 token (RFC 7512 URI): RSA or Ed25519.
        #[arg(long)]
        pkcs11_uri: Option<String>,
        /// The PKCS#11 module (default: the configuration's [pkcs11] module).
        #[arg(long, requires = "pkcs11_uri")]
        pkcs11_module: Option<PathBuf>,
        /// File holding the token's user PIN (default: RESEAL_PKCS11_PIN).
        #[arg(long, requires = "pkcs11_uri")]
        pin_file: Option<PathBuf>,
    },
    /// Print the DNS TXT record to publish for a domain's DKIM key (zone-file syntax).
    DkimRecord {
        #[command(flatten)]
        ks: SettingsArgs,
        #[arg(long)]
        domain: String,
    },
}
