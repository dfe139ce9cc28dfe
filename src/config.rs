//! Configuration: TOML in, validated typed settings out. A bad file is a clear error that
//! names the key; a missing file means the embedded defaults, which work on loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::crypto::alg::{Cipher, KeyTransportChoice};
use crate::error::Failure;

/// Raw TOML shape. Unknown keys are errors, so a typo never silently disables a rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    keystore: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    passphrase_file: Option<PathBuf>,
    hostname: Option<String>,
    #[serde(default)]
    opes: RawOpes,
    #[serde(default)]
    smime: RawSmime,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    admission: RawAdmission,
    #[serde(default)]
    smtp: RawSmtp,
    #[serde(default)]
    relay: RawRelay,
    #[serde(default)]
    service: Vec<toml::Table>,
    #[serde(default)]
    discovery: RawDiscovery,
    #[serde(default)]
    dkim: RawDkim,
    #[serde(default)]
    pkcs11: RawPkcs11,
}

/// `[dkim]`: DKIM signing (src/dkim.rs). A domain whose key is in the keystore is signed
/// unless it is listed here.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    #[serde(default)]
    disabled_domains: Vec<String>,
}

/// `[pkcs11]`: where the PKCS#11 module is, for `keys import --pkcs11-uri` without
/// `--pkcs11-module` (docs/keys.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPkcs11 {
    module: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    listen: Option<String>,
    admit_networks: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    users_file: Option<PathBuf>,
    max_recipients: Option<usize>,
    max_connections: Option<usize>,
    read_timeout_secs: Option<u64>,
    session_timeout_secs: Option<u64>,
    max_commands: Option<usize>,
    mta_networks: Option<Vec<String>>,
    mta_login: Option<MtaLogin>,
    admit_local_submission: Option<bool>,
    max_connections_per_client: Option<usize>,
    max_new_sessions_per_minute: Option<u32>,
    reserved_connections: Option<usize>,
    stress_timeout_secs: Option<u64>,
    spool_sync: Option<SpoolSync>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    next_hop: Option<String>,
    max_age_secs: Option<u64>,
    retry_base_secs: Option<u64>,
    retry_max_secs: Option<u64>,
    timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmission {
    /// Whether the local caller of `reseal process` counts as an admitted submitter.
    process_admitted: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpes {
    system: Option<String>,
    privacy_policy: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmime {
    unauthenticated_cbc: Option<CbcPolicy>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawRecipientPolicy {
    encrypt: Option<EncryptMode>,
    sign: Option<bool>,
    cipher: Option<Cipher>,
    key_transport: Option<KeyTransportChoice>,
    technology: Option<TechnologyChoice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    encrypt: Option<EncryptMode>,
    sign: Option<bool>,
    cipher: Option<Cipher>,
    key_transport: Option<KeyTransportChoice>,
    technology: Option<TechnologyChoice>,
    preserve_encryption: Option<bool>,
    foreign_encryption: Option<ForeignEncryption>,
    #[serde(default)]
    domain: BTreeMap<String, RawRecipientPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_message_bytes: Option<usize>,
    max_inflight_bytes: Option<usize>,
}

/// Whether to encrypt to a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptMode {
    /// Refuse the message if the recipient has no certificate.
    Required,
    /// Encrypt when every recipient has a certificate.
    IfPossible,
    /// Never encrypt to this recipient.
    Never,
}

/// Which protection technology to use for a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TechnologyChoice {
    /// S/MIME only.
    Smime,
    /// OpenPGP (PGP/MIME) only.
    Openpgp,
    /// Whichever the recipient has keys for (the default).
    Auto,
}

/// What to do with mail encrypted to keys the gateway does not hold for the sender
/// (known from the RecipientInfos before any decryption; docs/architecture.md,
/// "Mail encrypted to someone else").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForeignEncryption {
    /// Refuse with a reply that asks the sender to encrypt to the sender's own
    /// certificate too (the default).
    Refuse,
    /// Deliver the ciphertext unopened, neither signed nor re-encrypted; services still
    /// run, and one that must read the content fails closed on it.
    Passthrough,
}

/// What to do with CBC EnvelopedData, which has no integrity protection (SECURITY.md invariant 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CbcPolicy {
    /// Never open CBC-encrypted mail.
    Refuse,
    /// Open it, but refuse the result unless a valid signature covers the whole
    /// decrypted entity. The default.
    RequireSignature,
}

/// What an identity that the MTA authenticated (milter `{auth_authen}`, XCLIENT LOGIN)
/// may have signed when the submitter table does not list it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MtaLogin {
    /// Only what the submitter table grants; a login it does not list signs nothing.
    /// The default.
    Table,
    /// Any envelope sender: the MTA binds logins to senders itself (Postfix
    /// `smtpd_sender_login_maps` with `reject_sender_login_mismatch`).
    Envelope,
}

/// The policy for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecipientPolicy {
    pub encrypt: EncryptMode,
    pub sign: bool,
    /// Set by the operator, for all recipients or a domain; `None` leaves the choice to
    /// what the recipient announced, then the default (crate::capabilities).
    pub cipher: Option<Cipher>,
    pub key_transport: Option<KeyTransportChoice>,
    pub technology: TechnologyChoice,
}

impl RecipientPolicy {
    const DEFAULT: RecipientPolicy = RecipientPolicy {
        encrypt: EncryptMode::IfPossible,
        sign: true,
        cipher: None,
        key_transport: None,
        technology: TechnologyChoice::Auto,
    };

    fn overlay(self, raw: &RawRecipientPolicy) -> RecipientPolicy {
        RecipientPolicy {
            encrypt: raw.encrypt.unwrap_or(self.encrypt),
            sign: raw.sign.unwrap_or(self.sign),
            cipher: raw.cipher.or(self.cipher),
            key_transport: raw.key_transport.or(self.key_transport),
            technology: raw.technology.unwrap_or(self.technology),
        }
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub keystore: PathBuf,
    pub data_dir: PathBuf,
    pub passphrase_file: Option<PathBuf>,
    pub hostname: String,
    /// This OPES System's agent URI (RFC 4236 §4 opes-agent-id).
    pub opes_system: String,
    /// Where the privacy policy is published (RFC 3897 §3.2).
    pub privacy_policy: String,
    pub cbc: CbcPolicy,
    pub default_policy: RecipientPolicy,
    pub domain_policy: BTreeMap<String, RecipientPolicy>,
    /// Treat `if-possible` as `required` for mail that arrived encrypted, so the gateway
    /// never downgrades a sender's encryption to plaintext.
    pub preserve_encryption: bool,
    /// Mail encrypted, but to no key the gateway holds for the sender.
    pub foreign_encryption: ForeignEncryption,
    pub max_message_bytes: usize,
    /// The most message bytes the pipeline holds in memory at once, over all messages
    /// in progress (`limits.max_inflight_bytes`): a memory budget for `serve`/`milter`.
    pub max_inflight_bytes: usize,
    /// Whether `reseal process`'s caller is an admitted submitter (bypass requests).
    pub process_admitted: bool,
    /// The `[[service]]` tables, in the order the services run. The adapt stage owns
    /// their meaning and validates them (`adapt::services`) when the gateway is built.
    pub services: Vec<toml::Table>,
    /// The PKCS#11 module `keys import --pkcs11-uri` records when none is named.
    pub pkcs11_module: Option<PathBuf>,
    /// Where held messages go.
    pub quarantine_dir: PathBuf,
    pub smtp: SmtpConfig,
    pub relay: RelayConfig,
    /// Where recipient keys are looked up (`[discovery]`, docs/discovery.md).
    pub discovery: DiscoveryConfig,
    /// DKIM signing (`[dkim]`).
    pub dkim: DkimConfig,
}

/// `[dkim]`: mail whose From domain has a DKIM key in the keystore is signed
/// (src/dkim.rs), unless its domain is switched off here.
#[derive(Clone, Debug, Default)]
pub struct DkimConfig {
    /// Domains (lower case) whose mail is not DKIM-signed although the keystore holds
    /// their key.
    pub disabled_domains: std::collections::BTreeSet<String>,
}

/// The ESMTP server (`reseal serve`).
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub listen: String,
    /// Clients from these networks are admitted (may request bypass, may have mail
    /// signed); others must authenticate.
    pub admit_networks: Vec<ipnet::IpNet>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// `user:$argon2id$...` lines, optionally `user:hash:sender1,@domain2`.
    pub users_file: Option<PathBuf>,
    pub max_recipients: usize,
    pub max_connections: usize,
    pub read_timeout: std::time::Duration,
    pub session_timeout: std::time::Duration,
    pub max_commands: usize,
    /// Peers that may send XFORWARD and XCLIENT (the MTA in front): for their sessions
    /// admission is decided by the client they forward, not by the peer address.
    pub mta_networks: Vec<ipnet::IpNet>,
    pub mta_login: MtaLogin,
    /// Whether a message the MTA took from a local program (XFORWARD ADDR=[UNAVAILABLE]
    /// with SOURCE=LOCAL: Postfix's sendmail/pickup) counts as admitted.
    pub admit_local_submission: bool,
    /// Sessions one client address may hold at once.
    pub max_connections_per_client: usize,
    /// New sessions one client address may open per minute (0: no limit). Peers in
    /// `mta_networks` are exempt.
    pub max_new_sessions_per_minute: u32,
    /// Of `max_connections`, this many are kept for addresses that hold no session.
    pub reserved_connections: usize,
    /// The idle time allowed outside a mail transaction while the server is under
    /// stress (Postfix's `smtpd_timeout` drops to 10 s the same way).
    pub stress_timeout: std::time::Duration,
    /// How the spool makes an accepted message durable before 250 (`smtp.spool_sync`).
    pub spool_sync: SpoolSync,
}

/// How the spool makes what it writes durable. Either way the 250 for a message is
/// sent only once everything of that message is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpoolSync {
    /// One fsync per file and one per folder change, for each message (4 per message).
    /// The default: on ext4 the journal already commits concurrent fsyncs together, and
    /// measured this way is faster than `Group` (docs/performance.md, "Spool").
    Each,
    /// Group commit: messages that finish at about the same time share one flush of
    /// the spool's file system (syncfs(2)), in two rounds: the message files, then the
    /// envelope that makes them an entry. For file systems where an fsync is dear.
    Group,
}

/// Delivery to the next hop.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// host:port of the next hop (Postfix's reinjection port).
    pub next_hop: String,
    /// After this long in the spool a message is bounced.
    pub max_age: std::time::Duration,
    pub retry_base: std::time::Duration,
    pub retry_max: std::time::Duration,
    pub timeout: std::time::Duration,
}

impl SmtpConfig {
    fn from_raw(r: &RawSmtp) -> Result<SmtpConfig, Failure> {
        let default_nets = vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()];
        let networks = |key: &str, list: Option<&Vec<String>>| {
            let mut nets = Vec::new();
            for n in list.unwrap_or(&default_nets) {
                let net = n
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        Failure::config(format!(
                            "configuration: smtp.{key}: {n:?} is not a network"
                        ))
                    })?;
                nets.push(net);
            }
            Ok::<_, Failure>(nets)
        };
        let nets = networks("admit_networks", r.admit_networks.as_ref())?;
        let mta_networks = networks("mta_networks", r.mta_networks.as_ref())?;
        if r.tls_cert.is_some() != r.tls_key.is_some() {
            return Err(Failure::config(
                "configuration: smtp.tls_cert and smtp.tls_key go together",
            ));
        }
        let secs = |v: Option<u64>, d: u64| {
            std::time::Duration::from_secs(v.unwrap_or(d).clamp(1, 86_400))
        };
        let max_connections = r.max_connections.unwrap_or(100).clamp(1, 100_000);
        Ok(SmtpConfig {
            listen: r.listen.clone().unwrap_or_else(|| "127.0.0.1:10025".into()),
            admit_networks: nets,
            tls_cert: r.tls_cert.clone(),
            tls_key: r.tls_key.clone(),
            users_file: r.users_file.clone(),
            // RFC 5321 §4.5.3.1.8 asks for at least 100 by default; never more than
            // the envelope takes.
            max_recipients: r
                .max_recipients
                .unwrap_or(crate::envelope::MAX_RCPTS)
                .clamp(1, crate::envelope::MAX_RCPTS),
            max_connections,
            read_timeout: secs(r.read_timeout_secs, 300),
            session_timeout: secs(r.session_timeout_secs, 1800),
            max_commands: r.max_commands.unwrap_or(1000).clamp(10, 1_000_000),
            mta_networks,
            mta_login: r.mta_login.unwrap_or(MtaLogin::Table),
            admit_local_submission: r.admit_local_submission.unwrap_or(false),
            max_connections_per_client: r
                .max_connections_per_client
                .unwrap_or(20)
                .clamp(1, max_connections),
            max_new_sessions_per_minute: r.max_new_sessions_per_minute.unwrap_or(600),
            reserved_connections: r
                .reserved_connections
                .unwrap_or(max_connections / 10)
                .min(max_connections.saturating_sub(1)),
            stress_timeout: secs(r.stress_timeout_secs, 10),
            spool_sync: r.spool_sync.unwrap_or(SpoolSync::Each),
        })
    }
}

impl RelayConfig {
    fn from_raw(r: &RawRelay) -> RelayConfig {
        let secs = |v: Option<u64>, d: u64| std::time::Duration::from_secs(v.unwrap_or(d).max(1));
        RelayConfig {
            next_hop: r
                .next_hop
                .clone()
                .unwrap_or_else(|| "127.0.0.1:10026".into()),
            max_age: secs(r.max_age_secs, 5 * 86_400),
            retry_base: secs(r.retry_base_secs, 60),
            retry_max: secs(r.retry_max_secs, 3600),
            timeout: secs(r.timeout_secs, 120),
        }
    }
}

/// mail-parser stores offsets as u32, and we hold whole messages in memory: 64 MiB is a
/// generous ceiling for mail and keeps every offset far from overflow.
pub const DEFAULT_MAX_MESSAGE: usize = 64 << 20;
const HARD_MAX_MESSAGE: usize = 1 << 30;
/// Message bytes in the pipeline at once, over all sessions: four 64 MiB messages.
pub const DEFAULT_MAX_INFLIGHT: usize = 256 << 20;

/// The machine's host name, for Received lines and default URIs.
pub fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        })
        .unwrap_or_else(|| "localhost".into())
}

/// The built-in data folder: `$XDG_DATA_HOME/reseal`, else `~/.local/share/reseal`,
/// else `./reseal-data`. (`$RESEAL_DATA_DIR` outranks the configuration file, so the
/// command line passes it in [`Overrides`].)
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(d).join("reseal");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".local/share/reseal");
    }
    PathBuf::from("reseal-data")
}

pub(crate) fn check_uri(key: &str, v: &str) -> Result<(), Failure> {
    // RFC 4236 §4: opes-agent-id is an absoluteURI: scheme ":" hier-part, no spaces.
    let ok = v.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
            && scheme
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphabetic)
            && !rest.is_empty()
    }) && !v
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b',');
    if ok {
        Ok(())
    } else {
        Err(Failure::config(format!(
            "configuration: {key} = {v:?} is not an absolute URI"
        )))
    }
}

/// Settings that outrank the configuration file: flags and environment variables, which
/// the command line resolves (docs/architecture.md, "Settings").
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub keystore: Option<PathBuf>,
}

/// The configuration a command runs with, from its `--config` and `--keystore` flags and
/// the environment (`RESEAL_CONFIG`, `RESEAL_KEYSTORE`, `RESEAL_DATA_DIR`): flag over
/// environment over file over default (README.md, "Settings"). The one reader of those
/// variables; the command line and `reseal-pipe` both call it. Returns the configuration
/// and whether a configuration file or a keystore was named.
pub fn resolve(
    config_flag: Option<&Path>,
    keystore_flag: Option<&Path>,
) -> Result<(Config, bool), Failure> {
    let env_path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let config_file = config_flag
        .map(Path::to_path_buf)
        .or_else(|| env_path("RESEAL_CONFIG"));
    let keystore = keystore_flag
        .map(Path::to_path_buf)
        .or_else(|| env_path("RESEAL_KEYSTORE"));
    let named = config_file.is_some() || keystore.is_some();
    let overrides = Overrides {
        data_dir: env_path("RESEAL_DATA_DIR"),
        keystore,
    };
    Ok((Config::layered(config_file.as_deref(), &overrides)?, named))
}

impl Config {
    /// The embedded defaults.
    pub fn defaults() -> Config {
        Config::defaults_with(&Overrides::default())
    }

    /// The configuration file at `path` (or the embedded defaults without one), under
    /// `overrides`.
    pub fn layered(path: Option<&Path>, overrides: &Overrides) -> Result<Config, Failure> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Failure::config(format!("cannot read configuration {}: {e}", p.display()))
                })?;
                Config::parse_with(&text, p.parent(), overrides)
            }
            None => Ok(Config::defaults_with(overrides)),
        }
    }

    fn defaults_with(overrides: &Overrides) -> Config {
        // Building from an empty document cannot fail.
        Config::from_raw(RawConfig::default(), None, overrides).unwrap_or_else(|_| Config {
            keystore: default_data_dir().join("keystore"),
            data_dir: default_data_dir(),
            passphrase_file: None,
            hostname: "localhost".into(),
            opes_system: "https://localhost/opes".into(),
            privacy_policy: "https://localhost/opes/privacy".into(),
            cbc: CbcPolicy::RequireSignature,
            default_policy: RecipientPolicy::DEFAULT,
            domain_policy: BTreeMap::new(),
            preserve_encryption: true,
            foreign_encryption: ForeignEncryption::Refuse,
            max_message_bytes: DEFAULT_MAX_MESSAGE,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT,
            process_admitted: true,
            services: Vec::new(),
            pkcs11_module: None,
            quarantine_dir: default_data_dir().join("quarantine"),
            smtp: SmtpConfig::from_raw(&RawSmtp::default()).unwrap_or_else(|_| SmtpConfig {
                listen: "127.0.0.1:10025".into(),
                admit_networks: Vec::new(),
                tls_cert: None,
                tls_key: None,
                users_file: None,
                max_recipients: 1000,
                max_connections: 100,
                read_timeout: std::time::Duration::from_secs(300),
                session_timeout: std::time::Duration::from_secs(1800),
                max_commands: 1000,
                mta_networks: Vec::new(),
                mta_login: MtaLogin::Table,
                admit_local_submission: false,
                max_connections_per_client: 20,
                max_new_sessions_per_minute: 600,
                reserved_connections: 10,
                stress_timeout: std::time::Duration::from_secs(10),
                spool_sync: SpoolSync::Each,
            }),
            relay: RelayConfig::from_raw(&RawRelay::default()),
            discovery: DiscoveryConfig::default(),
            dkim: DkimConfig::default(),
        })
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, Failure> {
        Config::layered(Some(path), &Overrides::default())
    }

    /// Parses configuration text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: Option<&Path>) -> Result<Config, Failure> {
        Config::parse_with(text, base, &Overrides::default())
    }

    fn parse_with(text: &str, base: Option<&Path>, o: &Overrides) -> Result<Config, Failure> {
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| Failure::config(format!("configuration: {}", e.to_string().trim())))?;
        Config::from_raw(raw, base, o)
    }

    fn from_raw(raw: RawConfig, base: Option<&Path>, o: &Overrides) -> Result<Config, Failure> {
        let resolve = |p: PathBuf| match base {
            Some(b) if p.is_relative() && !b.as_os_str().is_empty() => b.join(p),
            _ => p,
        };
        let hostname = raw.hostname.unwrap_or_else(system_hostname);
        // It goes into Received, EHLO and DSN text: a CR or LF would inject a field.
        if !crate::sanitize::is_host_name(&hostname) {
            return Err(Failure::config(format!(
                "configuration: hostname = {:?} is not a host name (letters, digits, '-' and '.')",
                crate::sanitize::reply_text(&hostname)
            )));
        }
        let data_dir = o
            .data_dir
            .clone()
            .or_else(|| raw.data_dir.map(resolve))
            .unwrap_or_else(default_data_dir);
        let keystore = o
            .keystore
            .clone()
            .or_else(|| raw.keystore.map(resolve))
            .unwrap_or_else(|| data_dir.join("keystore"));
        let opes_system = raw
            .opes
            .system
            .unwrap_or_else(|| format!("https://{hostname}/opes"));
        check_uri("opes.system", &opes_system)?;
        let privacy_policy = raw
            .opes
            .privacy_policy
            .unwrap_or_else(|| format!("https://{hostname}/opes/privacy"));
        check_uri("opes.privacy_policy", &privacy_policy)?;
        let default_policy = RecipientPolicy::DEFAULT.overlay(&RawRecipientPolicy {
            encrypt: raw.policy.encrypt,
            sign: raw.policy.sign,
            cipher: raw.policy.cipher,
            key_transport: raw.policy.key_transport,
            technology: raw.policy.technology,
        });
        let mut domain_policy = BTreeMap::new();
        for (domain, p) in &raw.policy.domain {
            let d = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            if d.is_empty() || d.contains(['@', ' ']) {
                return Err(Failure::config(format!(
                    "configuration: policy.domain.{domain:?} is not a domain"
                )));
            }
            domain_policy.insert(d, default_policy.overlay(p));
        }
        let max_message_bytes = raw.limits.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE);
        if max_message_bytes == 0 || max_message_bytes > HARD_MAX_MESSAGE {
            return Err(Failure::config(format!(
                "configuration: limits.max_message_bytes must be between 1 and {HARD_MAX_MESSAGE}"
            )));
        }
        // The budget must hold at least one message of the largest size.
        let max_inflight_bytes = raw
            .limits
            .max_inflight_bytes
            .unwrap_or(DEFAULT_MAX_INFLIGHT)
            .max(max_message_bytes);
        let services = raw.service;
        let smtp = SmtpConfig::from_raw(&raw.smtp)?;
        let relay = RelayConfig::from_raw(&raw.relay);
        let discovery = DiscoveryConfig::from_raw(raw.discovery, &resolve)?;
        let mut disabled_domains = std::collections::BTreeSet::new();
        for d in &raw.dkim.disabled_domains {
            let name =
                reseal_keystore::dkim_domain_name(d.trim_start_matches('@')).ok_or_else(|| {
                    Failure::config(format!(
                        "configuration: dkim.disabled_domains: {:?} is not a domain name",
                        crate::sanitize::log_text(d)
                    ))
                })?;
            disabled_domains.insert(name);
        }
        Ok(Config {
            discovery,
            dkim: DkimConfig { disabled_domains },
            smtp,
            relay,
            quarantine_dir: data_dir.join("quarantine"),
            process_admitted: raw.admission.process_admitted.unwrap_or(true),
            services,
            pkcs11_module: raw.pkcs11.module.map(resolve),
            keystore,
            data_dir,
            passphrase_file: raw.passphrase_file.map(resolve),
            hostname,
            opes_system,
            privacy_policy,
            cbc: raw
                .smime
                .unauthenticated_cbc
                .unwrap_or(CbcPolicy::RequireSignature),
            default_policy,
            domain_policy,
            preserve_encryption: raw.policy.preserve_encryption.unwrap_or(true),
            foreign_encryption: raw
                .policy
                .foreign_encryption
                .unwrap_or(ForeignEncryption::Refuse),
            max_message_bytes,
            max_inflight_bytes,
        })
    }

    /// The policy for one recipient address: its domain's, else the default. A domain
    /// entry also covers its subdomains unless they have their own.
    pub fn policy_for(&self, rcpt: &str) -> RecipientPolicy {
        let mut d = crate::mime::address::domain(rcpt).to_ascii_lowercase();
        loop {
            if let Some(p) = self.domain_policy.get(&d) {
                return *p;
            }
            match d.split_once('.') {
                Some((_, rest)) if rest.contains('.') => d = rest.to_owned(),
                _ => return self.default_policy,
            }
        }
    }
}

// ---- Recipient key discovery: `[discovery]` (crate::discovery, docs/discovery.md) ----

/// Where a recipient key can come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The keystore's directory: certificates the operator imported.
    Directory,
    /// An LDAP directory (`[discovery.ldap]`).
    Ldap,
    /// The OpenPGP Web Key Directory of the recipient's domain (`[discovery.wkd]`).
    Wkd,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Directory => "directory",
            Source::Ldap => "ldap",
            Source::Wkd => "wkd",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDiscovery {
    order: Option<Vec<Source>>,
    cache_ttl_secs: Option<u64>,
    negative_ttl_secs: Option<u64>,
    cache_entries: Option<usize>,
    ldap: Option<RawLdap>,
    wkd: Option<RawWkd>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWkd {
    timeout_secs: Option<u64>,
    max_bytes: Option<usize>,
    roots_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    connect_to: Option<BTreeMap<String, String>>,
}

/// `[discovery.wkd]`: the Web Key Directory (draft-koch-openpgp-webkey-service).
#[derive(Clone, Debug)]
pub struct WkdConfig {
    /// For the whole lookup (both methods): name lookup, connect, TLS, request, answer.
    pub timeout: Duration,
    /// The largest answer (head and body) read.
    pub max_bytes: usize,
    /// The system's trust anchors for HTTPS (PEM); a missing file adds none.
    pub roots_file: PathBuf,
    /// More trust anchors for HTTPS (PEM), e.g. a private or test CA.
    pub ca_file: Option<PathBuf>,
    /// Host name → address to connect to instead of resolving it: an operations and
    /// test knob (a split-horizon WKD host, or a test server on loopback). TLS still
    /// checks the certificate against the host name.
    pub connect_to: BTreeMap<String, std::net::SocketAddr>,
}

impl WkdConfig {
    fn from_raw(r: RawWkd, resolve: &dyn Fn(PathBuf) -> PathBuf) -> Result<WkdConfig, Failure> {
        let mut connect_to = BTreeMap::new();
        for (host, addr) in r.connect_to.unwrap_or_default() {
            let a = addr.parse::<std::net::SocketAddr>().map_err(|_| {
                Failure::config(format!(
                    "configuration: discovery.wkd.connect_to.{host:?}: {addr:?} is not an address:port"
                ))
            })?;
            connect_to.insert(host.to_ascii_lowercase(), a);
        }
        Ok(WkdConfig {
            timeout: Duration::from_secs(r.timeout_secs.unwrap_or(10).clamp(1, 300)),
            max_bytes: r.max_bytes.unwrap_or(256 * 1024).clamp(4096, 4 << 20),
            roots_file: r.roots_file.map_or_else(
                || PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
                resolve,
            ),
            ca_file: r.ca_file.map(resolve),
            connect_to,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLdap {
    url: Option<String>,
    base: Option<String>,
    filter: Option<String>,
    attributes: Option<Vec<String>>,
    bind_dn: Option<String>,
    password_file: Option<PathBuf>,
    timeout_secs: Option<u64>,
    max_entries: Option<usize>,
    max_value_bytes: Option<usize>,
}

/// What an LDAP attribute holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    /// `userCertificate` (RFC 4523 §2.1): one DER X.509 certificate per value, asked
    /// for with the `;binary` transfer option (RFC 4522).
    X509,
    /// `userSMIMECertificate` (RFC 2798 §2.8): a PKCS #7 SignedData whose
    /// certificates field holds the user's certificate (and possibly its chain).
    Pkcs7,
    /// `pgpKey` (the PGP key server schema): an OpenPGP certificate, armored or binary.
    Openpgp,
}

/// One attribute to ask the LDAP server for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LdapAttr {
    /// As configured and sent, e.g. `userCertificate;binary`.
    pub name: String,
    pub kind: AttrKind,
}

/// `[discovery.ldap]`.
#[derive(Clone, Debug)]
pub struct LdapConfig {
    /// `ldap://host:port` (no TLS yet: see docs/discovery.md).
    pub url: String,
    pub base: String,
    /// An RFC 4515 filter in which every `%s` stands for the escaped address.
    pub filter: String,
    pub attributes: Vec<LdapAttr>,
    pub bind_dn: Option<String>,
    pub password_file: Option<PathBuf>,
    /// For the connect, the bind and the search, each.
    pub timeout: Duration,
    /// The most entries a search may return (the request's sizeLimit, RFC 4511 §4.5.1.4).
    pub max_entries: usize,
    /// The largest attribute value taken; larger ones are skipped.
    pub max_value_bytes: usize,
}

/// `[discovery]`, validated.
#[derive(Clone, Debug)]
pub struct DiscoveryConfig {
    /// The sources tried for each recipient, in order; the first that supplies a usable
    /// key wins. The default is the directory alone.
    pub order: Vec<Source>,
    /// How long a lookup that found something is kept.
    pub cache_ttl: Duration,
    /// How long a lookup that found nothing is kept.
    pub negative_ttl: Duration,
    /// The most (source, address) answers kept; the oldest goes first.
    pub cache_entries: usize,
    pub ldap: Option<LdapConfig>,
    /// Set when `order` names `wkd` (the table's defaults if it is absent).
    pub wkd: Option<WkdConfig>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            order: vec![Source::Directory],
            cache_ttl: Duration::from_secs(3600),
            negative_ttl: Duration::from_secs(600),
            cache_entries: 10_000,
            ldap: None,
            wkd: None,
        }
    }
}

fn attr(name: &str) -> Result<LdapAttr, Failure> {
    let base = name
        .split(';')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = match base.as_str() {
        "usercertificate" => AttrKind::X509,
        "usersmimecertificate" => AttrKind::Pkcs7,
        "pgpkey" => AttrKind::Openpgp,
        _ => {
            return Err(Failure::config(format!(
                "configuration: discovery.ldap.attributes: {name:?} is not one of userCertificate;binary, userSMIMECertificate, pgpKey"
            )));
        }
    };
    Ok(LdapAttr {
        name: name.to_owned(),
        kind,
    })
}

impl LdapConfig {
    fn from_raw(r: RawLdap, resolve: &dyn Fn(PathBuf) -> PathBuf) -> Result<LdapConfig, Failure> {
        let url = r.url.ok_or_else(|| {
            Failure::config("configuration: discovery.ldap.url is required for the ldap source")
        })?;
        if !url.starts_with("ldap://") {
            return Err(Failure::config(format!(
                "configuration: discovery.ldap.url = {:?}: only ldap:// URLs are supported",
                crate::sanitize::reply_text(&url)
            )));
        }
        let base = r.base.ok_or_else(|| {
            Failure::config("configuration: discovery.ldap.base is required for the ldap source")
        })?;
        let filter = r.filter.unwrap_or_else(|| "(mail=%s)".to_owned());
        // RFC 4515 §3: the filter must parse once an address stands in it.
        if !filter.contains("%s") || ldap3::parse_filter(filter.replace("%s", "a@b")).is_err() {
            return Err(Failure::config(
                "configuration: discovery.ldap.filter must be an RFC 4515 filter holding %s for the address",
            ));
        }
        let names = r.attributes.unwrap_or_else(|| {
            vec![
                "userCertificate;binary".to_owned(),
                "userSMIMECertificate".to_owned(),
                "pgpKey".to_owned(),
            ]
        });
        if names.is_empty() || names.len() > 8 {
            return Err(Failure::config(
                "configuration: discovery.ldap.attributes must name 1 to 8 attributes",
            ));
        }
        let attributes = names.iter().map(|n| attr(n)).collect::<Result<_, _>>()?;
        if r.password_file.is_some() && r.bind_dn.is_none() {
            return Err(Failure::config(
                "configuration: discovery.ldap.password_file needs discovery.ldap.bind_dn",
            ));
        }
        Ok(LdapConfig {
            url,
            base,
            filter,
            attributes,
            bind_dn: r.bind_dn,
            password_file: r.password_file.map(resolve),
            timeout: Duration::from_secs(r.timeout_secs.unwrap_or(10).clamp(1, 300)),
            max_entries: r.max_entries.unwrap_or(10).clamp(1, 100),
            max_value_bytes: r.max_value_bytes.unwrap_or(64 * 1024).clamp(1024, 1 << 20),
        })
    }
}

impl DiscoveryConfig {
    fn from_raw(
        r: RawDiscovery,
        resolve: &dyn Fn(PathBuf) -> PathBuf,
    ) -> Result<DiscoveryConfig, Failure> {
        let d = DiscoveryConfig::default();
        let order = r.order.unwrap_or(d.order);
        if order.is_empty() {
            return Err(Failure::config(
                "configuration: discovery.order must name at least one source",
            ));
        }
        for (i, s) in order.iter().enumerate() {
            if order.iter().skip(i.saturating_add(1)).any(|t| t == s) {
                return Err(Failure::config(format!(
                    "configuration: discovery.order names {} twice",
                    s.as_str()
                )));
            }
        }
        let ldap = match r.ldap {
            Some(l) => Some(LdapConfig::from_raw(l, resolve)?),
            None => None,
        };
        let wkd = if order.contains(&Source::Wkd) {
            Some(WkdConfig::from_raw(r.wkd.unwrap_or_default(), resolve)?)
        } else {
            None
        };
        if order.contains(&Source::Ldap) && ldap.is_none() {
            return Err(Failure::config(
                "configuration: discovery.order names ldap but there is no [discovery.ldap] table",
            ));
        }
        Ok(DiscoveryConfig {
            order,
            cache_ttl: r.cache_ttl_secs.map_or(d.cache_ttl, Duration::from_secs),
            negative_ttl: r
                .negative_ttl_secs
                .map_or(d.negative_ttl, Duration::from_secs),
            cache_entries: r.cache_entries.unwrap_or(d.cache_entries).min(1_000_000),
            ldap,
            wkd,
        })
    }
}

/// Reads the LDAP bind password (its first line).
/// Reads a secret from a file: its first line, without the line end, as UTF-8. The one
/// reader of secret files: the keystore passphrase, the PKCS#12 and OpenPGP passwords,
/// the token PIN (`reseal keys`), the LDAP bind password (discovery). The file's bytes
/// are wiped from memory after reading, and so is the line when its holder drops it.
pub fn read_secret_file(path: &Path) -> Result<zeroize::Zeroizing<String>, Failure> {
    let name = || crate::sanitize::log_text(&path.display().to_string());
    let bytes =
        zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| {
            Failure::config(format!("cannot read the secret file {}: {e}", name()))
        })?);
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Failure::config(format!("the secret file {} is not UTF-8", name())))?;
    let line = text.split('\n').next().unwrap_or_default();
    Ok(zeroize::Zeroizing::new(
        line.strip_suffix('\r').unwrap_or(line).to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::parse("", None).unwrap();
        assert_eq!(c.default_policy.encrypt, EncryptMode::IfPossible);
        assert!(c.default_policy.sign);
        assert_eq!(c.cbc, CbcPolicy::RequireSignature);
        assert!(c.opes_system.starts_with("https://"));
    }

    #[test]
    fn domain_policy_overlays_default() {
        let c = Config::parse(
            r#"
            [opes]
            system = "https://gw.example.com/opes"
            privacy_policy = "https://gw.example.com/privacy"
            [policy]
            encrypt = "never"
            [policy.domain."example.org"]
            encrypt = "required"
            cipher = "aes-256-cbc"
            key_transport = "rsa-pkcs1v15"
            "#,
            None,
        )
        .unwrap();
        let p = c.policy_for("bob@EXAMPLE.org");
        assert_eq!(p.encrypt, EncryptMode::Required);
        assert_eq!(p.cipher, Some(Cipher::Aes256Cbc));
        assert_eq!(
            c.policy_for("x@mail.example.org").encrypt,
            EncryptMode::Required
        );
        assert_eq!(c.policy_for("x@other.net").encrypt, EncryptMode::Never);
    }

    #[test]
    fn bad_config_names_the_key() {
        let e = Config::parse("[policy]\nencrypt = \"sometimes\"\n", None).unwrap_err();
        assert!(e.text.contains("encrypt"), "{}", e.text);
        let e = Config::parse("unknown_key = 1\n", None).unwrap_err();
        assert!(e.text.contains("unknown_key"), "{}", e.text);
        let e = Config::parse("[opes]\nsystem = \"not a uri\"\n", None).unwrap_err();
        assert!(e.text.contains("opes.system"), "{}", e.text);
        // A host name that would inject a header field into Received.
        let e = Config::parse("hostname = \"gw\\r\\nX-Injected: yes\"\n", None).unwrap_err();
        assert!(e.text.contains("hostname"), "{}", e.text);
        assert!(!e.text.contains('\n'), "{}", e.text);
    }

    #[test]
    fn discovery_defaults_to_the_directory_and_checks_its_tables() {
        let c = Config::parse("", None).unwrap();
        assert_eq!(c.discovery.order, vec![Source::Directory]);
        assert!(c.discovery.ldap.is_none());
        let c = Config::parse(
            "[discovery]\norder = [\"ldap\", \"directory\"]\nnegative_ttl_secs = 5\n\
             [discovery.ldap]\nurl = \"ldap://127.0.0.1:389\"\nbase = \"dc=example,dc=org\"\n",
            None,
        )
        .unwrap();
        assert_eq!(c.discovery.order, vec![Source::Ldap, Source::Directory]);
        assert_eq!(c.discovery.negative_ttl, Duration::from_secs(5));
        let l = c.discovery.ldap.unwrap();
        assert_eq!(l.filter, "(mail=%s)");
        assert_eq!(l.attributes.len(), 3);
        let c = Config::parse(
            "[discovery]\norder = [\"wkd\"]\n[discovery.wkd]\nconnect_to = { \"H.example\" = \"127.0.0.1:8443\" }\n",
            None,
        )
        .unwrap();
        let w = c.discovery.wkd.unwrap();
        assert_eq!(w.connect_to.len(), 1);
        assert!(w.connect_to.contains_key("h.example"));
        for (bad, key) in [
            (
                "[discovery]\norder = [\"wkd\"]\n[discovery.wkd]\nconnect_to = { h = \"nowhere\" }\n",
                "connect_to",
            ),
            ("[discovery]\norder = [\"ldap\"]\n", "[discovery.ldap]"),
            ("[discovery]\norder = []\n", "order"),
            (
                "[discovery]\norder = [\"directory\", \"directory\"]\n",
                "twice",
            ),
            (
                "[discovery.ldap]\nurl = \"ldaps://h\"\nbase = \"b\"\n",
                "ldap://",
            ),
            (
                "[discovery.ldap]\nurl = \"ldap://h\"\nbase = \"b\"\nfilter = \"(mail=x)\"\n",
                "filter",
            ),
            (
                "[discovery.ldap]\nurl = \"ldap://h\"\nbase = \"b\"\nfilter = \"(&(mail=%s)\"\n",
                "filter",
            ),
            (
                "[discovery.ldap]\nurl = \"ldap://h\"\nbase = \"b\"\nattributes = [\"jpegPhoto\"]\n",
                "attributes",
            ),
        ] {
            let e = Config::parse(bad, None).unwrap_err();
            assert!(e.text.contains(key), "{bad}: {}", e.text);
        }
    }
}
