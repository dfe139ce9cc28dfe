//! Adapt: the OPES services the policy selects, run in configured order over the
//! cleartext message.
//!
//! Each service edits the working copy (outer header fields, the content entity, the
//! envelope) and reports what it did as a [`Change`]: which service, where, digests before
//! and after, and whether the edit can be undone by a recipe. Services never see keys and
//! never decide about crypto. Bytes no service touched stay byte-identical.
//!
//! Bypass (RFC 3897 §4, RFC 4236 §5): an `OPES-Bypass` request is honoured only for an
//! admitted submitter and only for services marked bypassable (`bypassable` defaults to
//! false); a URI we do not know means "all" (RFC 3897 §4.3). Every decision is reported
//! for the trace.
//!
//! Fail closed (docs/architecture.md, "Services"): a service that cannot do its job —
//! a part it cannot parse, decode or read within limits, a callout server that does
//! not answer — returns [`Halt::Failed`], never "no change". What follows is the
//! service's `on_failure`: reject (the default), quarantine, or pass with the trace
//! entry `status=failed`.

pub mod address_map;
pub mod attachments;
pub mod callout;
pub mod disclaimer;
pub mod dlp;
pub mod headers;

use std::time::Duration;

use base64::Engine as _;

use crate::envelope::Envelope;
use crate::error::Failure;
use crate::mime::address;

/// Who consented to a service (RFC 3914 §3.1, one-party consent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    Sender,
    Recipient,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Sender => "sender",
            Consent::Recipient => "recipient",
        }
    }
}

/// What a DLP or attachment rule does on a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Redact,
    Remove,
    Reject,
    Quarantine,
}

/// What happens when a service cannot do its job (`on_failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Refuse the message with the service's failure (the default for every kind).
    Reject,
    /// Hold the original message in quarantine.
    Quarantine,
    /// Deliver without this service, traced as `status=failed` (the lenient choice an
    /// operator makes explicitly).
    Pass,
}

impl OnFailure {
    fn parse(v: Option<&str>) -> Result<OnFailure, String> {
        match v {
            None | Some("reject") => Ok(OnFailure::Reject),
            Some("quarantine") => Ok(OnFailure::Quarantine),
            Some("pass") => Ok(OnFailure::Pass),
            // The callout's names before every service had on_failure.
            Some("fail-closed") => Ok(OnFailure::Reject),
            Some("fail-open") => Ok(OnFailure::Pass),
            Some(o) => Err(format!(
                "on_failure = {o:?}: expected \"reject\", \"quarantine\" or \"pass\""
            )),
        }
    }
}

/// A service and its parameters.
#[derive(Clone, Debug)]
pub enum Kind {
    Disclaimer { text: String, html: Option<String> },
    SubjectTag { tag: String },
    Headers(headers::Params),
    AddressMap { map: Vec<(String, String)> },
    Dlp(dlp::Params),
    Attachments(attachments::Params),
    Callout { cfg: callout::CalloutConfig },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Disclaimer { .. } => "disclaimer",
            Kind::SubjectTag { .. } => "subject-tag",
            Kind::Headers(_) => "headers",
            Kind::AddressMap { .. } => "address-map",
            Kind::Dlp(_) => "dlp",
            Kind::Attachments(_) => "attachments",
            Kind::Callout { .. } => "callout",
        }
    }
}

/// One configured service.
#[derive(Clone, Debug)]
pub struct Service {
    /// Its agent URI (RFC 4236 §4), used in OPES-Via and bypass requests.
    pub id: String,
    pub kind: Kind,
    pub consent: Consent,
    pub bypassable: bool,
    pub on_failure: OnFailure,
    pub senders: Vec<String>,
    pub recipients: Vec<String>,
    pub domains: Vec<String>,
}

fn matches_selector(list: &[String], addr: &str) -> bool {
    let addr = addr.to_ascii_lowercase();
    let domain = address::domain(&addr).to_owned();
    list.iter().any(|s| {
        let s = s.trim().to_ascii_lowercase();
        if let Some(d) = s.strip_prefix('@') {
            d == domain || domain.ends_with(&format!(".{d}"))
        } else if s.contains('@') {
            s == addr
        } else {
            s == domain || domain.ends_with(&format!(".{s}"))
        }
    })
}

/// The keys every `[[service]]` table may have, whatever its kind.
#[derive(Debug, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: String,
    consent: Option<String>,
    bypassable: Option<bool>,
    on_failure: Option<String>,
    senders: Option<Vec<String>>,
    recipients: Option<Vec<String>>,
    domains: Option<Vec<String>>,
}

/// The names of [`Common`]'s fields (a test checks the two agree): they are taken out of
/// the table before the kind's own keys are read.
const COMMON_KEYS: [&str; 7] = [
    "id",
    "consent",
    "bypassable",
    "on_failure",
    "senders",
    "recipients",
    "domains",
];

/// A service's own keys, chosen by its `kind` (serde's internally tagged enum). Each
/// kind's struct refuses keys it does not know, so a key meant for another kind is an
/// error, not ignored.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Spec {
    Disclaimer(DisclaimerSpec),
    SubjectTag(SubjectTagSpec),
    Headers(headers::Spec),
    AddressMap(AddressMapSpec),
    Dlp(dlp::Spec),
    Attachments(attachments::Spec),
    Callout(CalloutSpec),
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DisclaimerSpec {
    text: String,
    html: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectTagSpec {
    tag: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AddressMapSpec {
    map: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CalloutSpec {
    url: String,
    timeout_ms: Option<u64>,
}

impl Spec {
    fn into_kind(self) -> Result<Kind, String> {
        Ok(match self {
            Spec::Disclaimer(d) => Kind::Disclaimer {
                text: d.text,
                html: d.html,
            },
            Spec::SubjectTag(t) => {
                if t.tag.contains(['\r', '\n']) {
                    return Err("tag must be one line".into());
                }
                Kind::SubjectTag { tag: t.tag }
            }
            Spec::Headers(h) => Kind::Headers(headers::Params::from_spec(h)?),
            Spec::AddressMap(m) => {
                let mut pairs = Vec::new();
                for (k, v) in m.map {
                    let (k, v) = (address::normalize(&k), address::normalize(&v));
                    if !address::is_plausible(&k) || !address::is_plausible(&v) {
                        return Err(format!(
                            "address-map entry {k:?} = {v:?} is not an address pair"
                        ));
                    }
                    pairs.push((k, v));
                }
                Kind::AddressMap { map: pairs }
            }
            Spec::Dlp(d) => Kind::Dlp(dlp::Params::from_spec(d)?),
            Spec::Attachments(a) => Kind::Attachments(attachments::Params::from_spec(a)?),
            Spec::Callout(c) => Kind::Callout {
                cfg: callout::CalloutConfig {
                    url: c.url,
                    timeout: Duration::from_millis(c.timeout_ms.unwrap_or(5000).clamp(1, 600_000)),
                    max_response: 64 << 20,
                },
            },
        })
    }
}

/// Builds the configured services from the configuration's `[[service]]` tables, in
/// order, refusing a table that is not a valid service and an id used twice.
pub fn services(tables: &[toml::Table]) -> Result<Vec<Service>, Failure> {
    let mut services: Vec<Service> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let svc = Service::from_table(t)
            .map_err(|e| Failure::config(format!("configuration: service[{i}]: {e}")))?;
        if services.iter().any(|s| s.id == svc.id) {
            return Err(Failure::config(format!(
                "configuration: service[{i}]: id {:?} is used twice",
                svc.id
            )));
        }
        services.push(svc);
    }
    Ok(services)
}

impl Service {
    /// Validates one `[[service]]` table.
    pub fn from_table(table: &toml::Table) -> Result<Service, String> {
        let mut own = table.clone();
        let mut common = toml::Table::new();
        for k in COMMON_KEYS {
            if let Some(v) = own.remove(k) {
                common.insert(k.to_owned(), v);
            }
        }
        if !own.contains_key("kind") {
            return Err("missing kind".into());
        }
        let c: Common = common
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_owned())?;
        let spec: Spec = own
            .try_into()
            .map_err(|e: toml::de::Error| e.message().to_owned())?;
        crate::config::check_uri("id", &c.id).map_err(|f| f.text)?;
        let consent = match c.consent.as_deref() {
            Some("sender") | None => Consent::Sender,
            Some("recipient") => Consent::Recipient,
            Some(o) => {
                return Err(format!(
                    "consent = {o:?}: expected \"sender\" or \"recipient\""
                ));
            }
        };
        Ok(Service {
            id: c.id,
            kind: spec.into_kind()?,
            consent,
            // Safe by default: a service can be bypassed only when the operator says so.
            bypassable: c.bypassable.unwrap_or(false),
            on_failure: OnFailure::parse(c.on_failure.as_deref())?,
            senders: c.senders.unwrap_or_default(),
            recipients: c.recipients.unwrap_or_default(),
            domains: c.domains.unwrap_or_default(),
        })
    }

    /// Does the service apply to this envelope? Empty selectors match everything; a
    /// `domains` entry matches the sender's or any recipient's domain.
    pub fn applies(&self, env: &Envelope) -> bool {
        let s_ok = self.senders.is_empty() || matches_selector(&self.senders, &env.mail_from);
        let r_ok = self.recipients.is_empty()
            || env
                .rcpts
                .iter()
                .any(|r| matches_selector(&self.recipients, r));
        let d_ok = self.domains.is_empty()
            || matches_selector(&self.domains, &env.mail_from)
            || env.rcpts.iter().any(|r| matches_selector(&self.domains, r));
        s_ok && r_ok && d_ok
    }
}

/// The working copy services edit.
#[derive(Clone, Debug)]
pub struct Working {
    /// The outer header fields that describe the message (no Content-*, no MIME-Version),
    /// each ending in CRLF; no empty line.
    pub header: Vec<u8>,
    /// The content entity (Content-* fields, empty line, body), CRLF.
    pub entity: Vec<u8>,
    pub envelope: Envelope,
}

impl Working {
    /// The complete message as a client would see it (for callouts and DLP scans).
    pub fn message(&self) -> Vec<u8> {
        let mut m = self.header.clone();
        m.extend_from_slice(b"MIME-Version: 1.0\r\n");
        m.extend_from_slice(&self.entity);
        m
    }
}

/// SHA-256 digest in the record's notation.
pub fn digest(b: &[u8]) -> String {
    format!(
        "sha-256:{}",
        base64::engine::general_purpose::STANDARD
            .encode(crate::crypto::hash(crate::crypto::HashAlg::Sha256, b))
    )
}

/// One change a service made.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// The service's agent URI.
    pub service: String,
    /// The service kind (disclaimer, dlp, ...).
    pub kind: String,
    /// Where: `header:<name>`, `body:<section>` (IMAP-style part path), `entity`,
    /// `envelope:mail-from`, `envelope:rcpt`.
    pub place: String,
    /// Digest of the place before and after the change.
    pub before: String,
    pub after: String,
    /// Whether the record's recipe can undo it.
    pub reversible: bool,
}

/// What happened to one service, for the trace (RFC 3897 §4.2: say why a bypass was
/// not honoured).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Applied,
    NoChange,
    NotSelected,
    Bypassed,
    BypassRefused(&'static str),
    /// The service could not do its job and its `on_failure` is `pass`; the reason is
    /// for the log (it may name a part, never content).
    Failed(String),
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Applied => "applied",
            Decision::NoChange => "no-change",
            Decision::NotSelected => "not-selected",
            Decision::Bypassed => "bypassed",
            Decision::BypassRefused(_) => "bypass-refused",
            Decision::Failed(_) => "failed",
        }
    }
}

/// The outcome of one service run.
#[derive(Clone, Debug)]
pub struct Note {
    pub service: String,
    pub consent: Consent,
    pub decision: Decision,
}

/// Why adaptation stopped the message, or why a service could not run.
#[derive(Debug)]
pub enum Halt {
    /// Refuse (or temporarily fail) with this reply; the failure names the service.
    Reject(Failure),
    /// Hold the original message in quarantine.
    Quarantine { service: String, reason: String },
    /// The service could not do its job (a part it cannot read, a server that does not
    /// answer); [`run`] applies its `on_failure`. The failure is the reply a reject
    /// gives. A service that fails leaves the working copy as it found it.
    Failed(Failure),
}

/// A bypass request: from the `OPES-Bypass` field (RFC 4236 §5) or the SMTP dialog.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bypass {
    pub all: bool,
    pub uris: Vec<String>,
}

impl Bypass {
    /// Parses `"*" | 1#opes-agent-id` (RFC 4236 §5).
    pub fn parse(value: &str) -> Bypass {
        let v = value.trim();
        if v == "*" {
            return Bypass {
                all: true,
                uris: Vec::new(),
            };
        }
        Bypass {
            all: false,
            uris: v
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .take(100)
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.uris.is_empty()
    }

    pub fn merge(&mut self, other: &Bypass) {
        self.all |= other.all;
        self.uris.extend(other.uris.iter().cloned());
    }

    /// Does the request name `service`? A URI that names no known entity is a wildcard
    /// (RFC 3897 §4.3); so is the OPES System's own URI.
    fn covers(&self, service: &str, known: &[&str], system: &str) -> bool {
        self.all
            || self
                .uris
                .iter()
                .any(|u| u == service || u == system || !known.contains(&u.as_str()))
    }
}

/// Context for a run.
pub struct Context<'a> {
    /// Whether the submitter may request bypass (docs/smtp-extension.md).
    pub admitted: bool,
    pub bypass: Bypass,
    pub system: &'a str,
}

/// Runs `services` in order over `w`.
pub fn run(
    services: &[Service],
    w: &mut Working,
    ctx: &Context<'_>,
) -> Result<(Vec<Change>, Vec<Note>), Halt> {
    let known: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    for s in services {
        let note = |decision| Note {
            service: s.id.clone(),
            consent: s.consent,
            decision,
        };
        if !s.applies(&w.envelope) {
            continue;
        }
        if !ctx.bypass.is_empty() && ctx.bypass.covers(&s.id, &known, ctx.system) {
            if !ctx.admitted {
                notes.push(note(Decision::BypassRefused("submitter not admitted")));
            } else if !s.bypassable {
                notes.push(note(Decision::BypassRefused("service not bypassable")));
            } else {
                notes.push(note(Decision::Bypassed));
                continue;
            }
        }
        let result = match &s.kind {
            Kind::Disclaimer { text, html } => disclaimer::apply(s, w, text, html.as_deref()),
            Kind::SubjectTag { tag } => headers::subject_tag(s, w, tag),
            Kind::Headers(p) => headers::apply(s, w, p),
            Kind::AddressMap { map } => address_map::apply(s, w, map),
            Kind::Dlp(p) => dlp::apply(s, w, p),
            Kind::Attachments(p) => attachments::apply(s, w, p),
            Kind::Callout { cfg } => run_callout(s, w, cfg),
        };
        match result {
            Ok(c) if !c.is_empty() => {
                changes.extend(c);
                notes.push(note(Decision::Applied));
            }
            Ok(_) => notes.push(note(Decision::NoChange)),
            Err(Halt::Failed(f)) => {
                tracing::warn!(
                    service = %crate::sanitize::log_text(&s.id),
                    "service failed: {}",
                    crate::sanitize::log_text(&f.text)
                );
                match s.on_failure {
                    OnFailure::Reject => return Err(Halt::Reject(f.failed_service(&s.id))),
                    OnFailure::Quarantine => {
                        return Err(Halt::Quarantine {
                            service: s.id.clone(),
                            reason: format!("service failed: {}", f.text),
                        });
                    }
                    OnFailure::Pass => notes.push(note(Decision::Failed(f.text))),
                }
            }
            Err(h) => return Err(h),
        }
    }
    Ok((changes, notes))
}

/// The failure of a service that cannot read a part of the message (RFC 3463 5.6.0:
/// the content is not in a form the gateway can inspect), naming the part, never its
/// content.
pub fn unreadable(service: &str, place: &str, why: impl std::fmt::Display) -> Halt {
    Halt::Failed(Failure::malformed(format!(
        "The {service} service cannot inspect {place}: {why}"
    )))
}

/// Embedded messages inside embedded messages that a service opens: deeper is a
/// failure.
pub const MAX_NESTED_MESSAGES: usize = 8;

/// Whether a part is an attached message a service must open (RFC 2046 §5.2.1,
/// RFC 6532 §3.7).
pub fn is_attached_message(ct: &crate::mime::ContentType) -> bool {
    ct.is("message/rfc822") || ct.is("message/global")
}

/// Opens the attached message `body` (the part's decoded body) at `place`, itself
/// inside `nested` attached messages: its MIME tree, or the service's failure.
pub fn open_attached(
    service: &str,
    place: &str,
    body: &[u8],
    nested: usize,
) -> Result<crate::mime::tree::Part, Halt> {
    if nested >= MAX_NESTED_MESSAGES {
        return Err(unreadable(
            service,
            place,
            format!("messages nested more than {MAX_NESTED_MESSAGES} deep"),
        ));
    }
    crate::mime::tree::parse(body).map_err(|e| unreadable(service, place, e))
}

/// The place of `leaf` of the attached message at `place`, for a failure.
pub fn attached_place(place: &str, leaf: &crate::mime::tree::Part) -> String {
    format!("{place} (attached message part {})", leaf.path)
}

/// Calls out.
fn run_callout(
    s: &Service,
    w: &mut Working,
    cfg: &callout::CalloutConfig,
) -> Result<Vec<Change>, Halt> {
    let message = w.message();
    match callout::call(cfg, &message) {
        Ok(callout::CalloutOutcome::Unmodified) => Ok(Vec::new()),
        Ok(callout::CalloutOutcome::Blocked(reason)) => Err(Halt::Reject(
            Failure::policy(format!(
                "Refused by the adaptation service: {}",
                sanitize(&reason)
            ))
            .with_service(&s.id),
        )),
        Ok(callout::CalloutOutcome::Modified(new)) => {
            let new = crate::mime::to_crlf(&new).into_owned();
            let top = crate::mime::Entity::parse(&new).map_err(|_| {
                Halt::Failed(Failure::temporary(
                    "The adaptation service returned a malformed message",
                ))
            })?;
            let entity = crate::mime::compose::content_entity(&top);
            let mut header = Vec::new();
            for f in top.fields() {
                let n = top.field_name(f);
                if !crate::mime::compose::is_content_field(n)
                    && !n.eq_ignore_ascii_case("MIME-Version")
                {
                    header.extend_from_slice(top.field_raw(f));
                }
            }
            let mut changes = Vec::new();
            if header != w.header {
                changes.push(Change {
                    service: s.id.clone(),
                    kind: "callout".into(),
                    place: "header".into(),
                    before: digest(&w.header),
                    after: digest(&header),
                    reversible: false,
                });
                w.header = header;
            }
            if entity != w.entity {
                changes.push(Change {
                    service: s.id.clone(),
                    kind: "callout".into(),
                    place: "entity".into(),
                    before: digest(&w.entity),
                    after: digest(&entity),
                    reversible: false,
                });
                w.entity = entity;
            }
            Ok(changes)
        }
        Err(e) => {
            tracing::warn!(
                service = %crate::sanitize::log_text(&s.id),
                "callout failed: {}",
                crate::sanitize::log_text(&e.to_string())
            );
            Err(Halt::Failed(Failure::temporary(
                "The adaptation service is unavailable; try again later",
            )))
        }
    }
}

/// Keeps a server-supplied reason printable and short for an SMTP reply.
fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// The header fields of a header block, as (name, raw field) pairs.
pub fn headers_fields(header: &[u8]) -> Vec<(String, Vec<u8>)> {
    headers::fields(header)
}

#[cfg(test)]
mod table_tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn common_keys_are_the_common_fields() {
        let full = Common {
            id: "urn:x".into(),
            consent: Some("sender".into()),
            bypassable: Some(true),
            on_failure: Some("pass".into()),
            senders: Some(vec![]),
            recipients: Some(vec![]),
            domains: Some(vec![]),
        };
        let t = toml::Table::try_from(&full).unwrap();
        let mut keys: Vec<&str> = t.keys().map(String::as_str).collect();
        let mut want = COMMON_KEYS.to_vec();
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want);
    }

    #[test]
    fn a_table_is_read_by_its_kind() {
        let s = Service::from_table(&table(
            "id = \"urn:d\"\nkind = \"disclaimer\"\ntext = \"t\"\nbypassable = true\non_failure = \"pass\"",
        ))
        .unwrap();
        assert!(matches!(s.kind, Kind::Disclaimer { ref text, .. } if text == "t"));
        assert!(s.bypassable);
        assert_eq!(s.on_failure, OnFailure::Pass);
        // The defaults: not bypassable, reject on failure.
        let s = Service::from_table(&table(
            "id = \"urn:t\"\nkind = \"subject-tag\"\ntag = \"[x]\"",
        ))
        .unwrap();
        assert!(!s.bypassable);
        assert_eq!(s.on_failure, OnFailure::Reject);
    }

    #[test]
    fn keys_of_another_kind_unknown_kinds_and_missing_keys_are_refused() {
        for (text, says) in [
            // `tag` belongs to subject-tag.
            (
                "id = \"urn:d\"\nkind = \"disclaimer\"\ntext = \"t\"\ntag = \"x\"",
                "tag",
            ),
            ("id = \"urn:d\"\nkind = \"nope\"", "nope"),
            ("id = \"urn:d\"\ntext = \"t\"", "missing kind"),
            ("kind = \"disclaimer\"\ntext = \"t\"", "id"),
            ("id = \"urn:d\"\nkind = \"disclaimer\"", "text"),
            (
                "id = \"urn:d\"\nkind = \"callout\"\nurl = \"http://x/\"\ntimeout = 3",
                "timeout",
            ),
            (
                "id = \"not a uri\"\nkind = \"subject-tag\"\ntag = \"x\"",
                "absolute URI",
            ),
            (
                "id = \"urn:d\"\nkind = \"subject-tag\"\ntag = \"a\\nb\"",
                "one line",
            ),
        ] {
            let e = Service::from_table(&table(text)).unwrap_err();
            assert!(e.contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn an_id_used_twice_is_refused() {
        let t = table("id = \"urn:t\"\nkind = \"subject-tag\"\ntag = \"[x]\"");
        let e = services(&[t.clone(), t]).unwrap_err();
        assert!(e.text.contains("used twice"), "{}", e.text);
    }
}
