//! Delegated keys on a PKCS#11 token (an HSM, or SoftHSM2 in the tests).
//!
//! The keystore entry of a token key holds its certificate, its delegations, the token
//! reference (an RFC 7512 `pkcs11:` URI and the module's path) and, sealed like every
//! secret, the token PIN and the key's implicit-rejection secret. The private key never
//! leaves the token: signing and decryption run there, behind the same keystore
//! operations (`Keystore::sign_digest`, `Keystore::unwrap_cek`) as an in-memory key
//! (docs/keys.md, docs/architecture.md "Keystore").
//!
//! - **One session pool per token.** Keys on the same token (same module, same token
//!   attributes in their URIs) share one [`Token`]: its sessions are opened on first use,
//!   logged in once, and kept for reuse. A module is loaded and `C_Initialize`d once per
//!   process ([`module`]), as PKCS#11 requires.
//! - **Fail closed while the token is away.** A token that is not there, not
//!   recognised, removed, or refusing the PIN makes the operation fail with
//!   [`Error::TokenUnavailable`], which the gateway answers with a 4xx (the message
//!   waits; nothing is sent unsigned or undecrypted). The next operation reconnects.
//! - **No padding oracle.** RSA PKCS#1 v1.5 decryption asks the token for the raw RSA
//!   operation (`CKM_RSA_X_509`) and decodes it with the same implicit rejection as a
//!   keystore key (`rsa_ossl::implicit_rejection`), keyed by a random secret sealed with
//!   the entry. A token without raw RSA decrypts with `CKM_RSA_PKCS`, and any failure is
//!   then a random key (`Keystore::unwrap_cek`), as for OAEP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use openssl::pkey::{PKey, Public};
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::Error;
use crate::entry::{HashAlg, KeyAlgorithm};

/// The most sessions a token keeps open for reuse.
const MAX_IDLE_SESSIONS: usize = 8;
/// Bounds on a URI, so that a hostile one cannot make us allocate.
const MAX_URI_LEN: usize = 4096;
const MAX_ATTR_LEN: usize = 256;

/// A parsed RFC 7512 PKCS#11 URI naming one private key on one token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// Token attributes (RFC 7512 §2.3: `token`, `manufacturer`, `serial`, `model`)
    /// and `slot-id`: together they select the token.
    pub token: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub slot_id: Option<u64>,
    /// Object attributes: `object` (CKA_LABEL) and `id` (CKA_ID).
    pub object: Option<String>,
    pub id: Option<Vec<u8>>,
    /// The `module-path` query attribute (RFC 7512 §2.3), if given.
    pub module_path: Option<PathBuf>,
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = Error;

    /// Parses `pkcs11:path-attrs[?query-attrs]` (RFC 7512 §2.3). Unknown attributes are
    /// refused rather than ignored (a selector we did not apply could pick another
    /// key), and so is a PIN in the URI (`pin-value`, `pin-source`): the PIN comes from
    /// a file or the environment, never from the command line.
    fn from_str(s: &str) -> Result<Pkcs11Uri, Error> {
        let bad = |why: &str| Error::Import(format!("PKCS#11 URI: {why}"));
        if s.len() > MAX_URI_LEN {
            return Err(bad("too long"));
        }
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("it must start with \"pkcs11:\""))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri::default();
        let attrs = path
            .split(';')
            .map(|a| (a, false))
            .chain(query.split('&').map(|a| (a, true)))
            .filter(|(a, _)| !a.is_empty());
        for (attr, in_query) in attrs {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad("an attribute without a value"))?;
            let value = pct_decode(value).ok_or_else(|| bad("bad percent-encoding"))?;
            if value.len() > MAX_ATTR_LEN {
                return Err(bad("an attribute value is too long"));
            }
            let text = || String::from_utf8(value.clone()).map_err(|_| bad("not UTF-8"));
            match (name, in_query) {
                ("token", false) => uri.token = Some(text()?),
                ("manufacturer", false) => uri.manufacturer = Some(text()?),
                ("serial", false) => uri.serial = Some(text()?),
                ("model", false) => uri.model = Some(text()?),
                ("slot-id", false) => {
                    uri.slot_id = Some(text()?.parse().map_err(|_| bad("slot-id"))?);
                }
                ("object", false) => uri.object = Some(text()?),
                ("id", false) => uri.id = Some(value),
                ("type", false) if value == b"private" => {}
                ("type", false) => return Err(bad("the object must be of type=private")),
                ("module-path", true) => uri.module_path = Some(PathBuf::from(text()?)),
                ("pin-value" | "pin-source", true) => {
                    return Err(bad(
                        "a PIN in the URI is refused: give --pin-file or RESEAL_PKCS11_PIN",
                    ));
                }
                (other, _) => {
                    return Err(bad(&format!(
                        "unsupported attribute {:?}",
                        other.chars().take(32).collect::<String>()
                    )));
                }
            }
        }
        if uri.token.is_none() && uri.serial.is_none() && uri.slot_id.is_none() {
            return Err(bad("name the token (token=, serial= or slot-id=)"));
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(bad("name the key (id= or object=)"));
        }
        Ok(uri)
    }
}

impl std::fmt::Display for Pkcs11Uri {
    /// The canonical form recorded in the keystore (RFC 7512 §2.3 attribute order is
    /// free; ours is fixed so that equal references compare equal).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (name, v) in [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("serial", &self.serial),
            ("model", &self.model),
            ("object", &self.object),
        ] {
            if let Some(v) = v {
                parts.push(format!("{name}={}", pct_encode(v.as_bytes())));
            }
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot-id={s}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", pct_encode_all(id)));
        }
        write!(f, "pkcs11:{}", parts.join(";"))
    }
}

/// RFC 3986 §2.1 percent-decoding.
fn pct_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Percent-encodes all but RFC 7512's `pk11-res-avail` characters.
fn pct_encode(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if c.is_ascii_alphanumeric() || b"-._~:[]@!$'()*+,=&".contains(&c) {
                char::from(c).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}

/// Percent-encodes every octet (the usual form of `id`).
fn pct_encode_all(b: &[u8]) -> String {
    b.iter().map(|c| format!("%{c:02X}")).collect()
}

/// Loaded and initialised modules, one per path for the process (PKCS#11 §5.4:
/// `C_Initialize` once per application).
fn module(path: &Path) -> Result<Pkcs11, Error> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let map = MODULES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map
        .lock()
        .map_err(|_| unavailable("module registry poisoned"))?;
    if let Some(m) = map.get(path) {
        return Ok(m.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|_| {
        unavailable(&format!(
            "cannot load the PKCS#11 module {}",
            path.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(_) => return Err(unavailable("the PKCS#11 module does not initialise")),
    }
    map.insert(path.to_owned(), ctx.clone());
    Ok(ctx)
}

fn unavailable(why: &str) -> Error {
    Error::TokenUnavailable(why.to_owned())
}

/// A token: where to find it, how to log in, and its pool of open sessions.
pub(crate) struct Token {
    module: PathBuf,
    selector: Pkcs11Uri,
    pin: SecretString,
    state: Mutex<TokenState>,
}

#[derive(Default)]
struct TokenState {
    slot: Option<Slot>,
    idle: Vec<Session>,
    /// Private-key handles found on this token, by object selector: a token object's
    /// handle is valid in every session of the application (PKCS#11 v2.40 base §2.4),
    /// and a stale one is found again (`Token::run`).
    handles: HashMap<(Option<Vec<u8>>, Option<String>), ObjectHandle>,
}

impl Token {
    pub(crate) fn new(module: PathBuf, uri: &Pkcs11Uri, pin: SecretString) -> Token {
        let selector = Pkcs11Uri {
            object: None,
            id: None,
            module_path: None,
            ..uri.clone()
        };
        Token {
            module,
            selector,
            pin,
            state: Mutex::new(TokenState::default()),
        }
    }

    /// True if `uri` (with `module`) names this token.
    pub(crate) fn is(&self, module: &Path, uri: &Pkcs11Uri) -> bool {
        self.module == module
            && self.selector.token == uri.token
            && self.selector.manufacturer == uri.manufacturer
            && self.selector.serial == uri.serial
            && self.selector.model == uri.model
            && self.selector.slot_id == uri.slot_id
    }

    /// The slot holding the token, found by its URI attributes; exactly one must match.
    fn find_slot(&self, ctx: &Pkcs11) -> Result<Slot, Error> {
        let slots = ctx
            .get_slots_with_token()
            .map_err(|_| unavailable("cannot list the PKCS#11 slots"))?;
        let mut found = None;
        for slot in slots {
            if self.selector.slot_id.is_some_and(|id| id != slot.id()) {
                continue;
            }
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            let want =
                |w: &Option<String>, have: &str| w.as_deref().is_none_or(|w| w == have.trim_end());
            if want(&self.selector.token, info.label())
                && want(&self.selector.manufacturer, info.manufacturer_id())
                && want(&self.selector.serial, info.serial_number())
                && want(&self.selector.model, info.model())
            {
                if found.is_some() {
                    return Err(unavailable("the PKCS#11 URI matches more than one token"));
                }
                found = Some(slot);
            }
        }
        found.ok_or_else(|| unavailable("the token is not present"))
    }

    /// A logged-in session: an idle one, or a new one.
    fn session(&self) -> Result<Session, Error> {
        let slot = {
            let mut st = self.state.lock().map_err(|_| unavailable("poisoned"))?;
            if let Some(s) = st.idle.pop() {
                return Ok(s);
            }
            st.slot
        };
        let ctx = module(&self.module)?;
        let slot = match slot {
            Some(s) => s,
            None => {
                let s = self.find_slot(&ctx)?;
                if let Ok(mut st) = self.state.lock() {
                    st.slot = Some(s);
                }
                s
            }
        };
        let session = ctx.open_ro_session(slot).map_err(|e| self.gone(&e))?;
        // Login is per application and token (PKCS#11 §5.6): only the first session
        // logs in, the others find the user already logged in.
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(P11Error::Pkcs11(RvError::PinIncorrect | RvError::PinLocked, _)) => {
                Err(unavailable("the token refuses the PIN"))
            }
            Err(e) => Err(self.gone(&e)),
        }
    }

    /// Forgets every session and the slot: the next operation reconnects.
    fn reset(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.idle.clear();
            st.slot = None;
            st.handles.clear();
        }
    }

    /// A device-level failure: the token went away or its session broke.
    fn gone(&self, e: &P11Error) -> Error {
        self.reset();
        unavailable(&format!("the token failed: {}", rv_name(e)))
    }

    fn give_back(&self, session: Session) {
        if let Ok(mut st) = self.state.lock()
            && st.idle.len() < MAX_IDLE_SESSIONS
        {
            st.idle.push(session);
        }
    }

    fn handle(&self, session: &Session, object: &ObjectRef) -> Result<ObjectHandle, Error> {
        let key = (object.id.clone(), object.label.clone());
        if let Some(h) = self
            .state
            .lock()
            .ok()
            .and_then(|st| st.handles.get(&key).copied())
        {
            return Ok(h);
        }
        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(id) = &object.id {
            template.push(Attribute::Id(id.clone()));
        }
        if let Some(label) = &object.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        let found = session.find_objects(&template).map_err(|e| self.gone(&e))?;
        let [h] = found.as_slice() else {
            return Err(if found.is_empty() {
                unavailable("the key is not on the token")
            } else {
                Error::Operation
            });
        };
        if let Ok(mut st) = self.state.lock() {
            st.handles.insert(key, *h);
        }
        Ok(*h)
    }

    /// Runs `op` with a session and the key's handle. A device-level failure drops the
    /// session and reports the token unavailable; any other failure of the operation
    /// itself is [`Error::Operation`].
    fn run<T>(
        &self,
        object: &ObjectRef,
        op: impl Fn(&Session, ObjectHandle) -> Result<T, P11Error>,
    ) -> Result<T, Error> {
        let session = self.session()?;
        let handle = match self.handle(&session, object) {
            Ok(h) => h,
            Err(e) => {
                self.give_back(session);
                return Err(e);
            }
        };
        match op(&session, handle) {
            Ok(v) => {
                self.give_back(session);
                Ok(v)
            }
            Err(e) if is_device_failure(&e) => Err(self.gone(&e)),
            Err(P11Error::Pkcs11(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid, _)) => {
                // The object changed: find it again next time.
                self.reset();
                Err(unavailable("the key's handle is no longer valid"))
            }
            Err(_) => {
                self.give_back(session);
                Err(Error::Operation)
            }
        }
    }
}

/// Return values that say the token, not the operation, failed.
fn is_device_failure(e: &P11Error) -> bool {
    match e {
        P11Error::Pkcs11(rv, _) => matches!(
            rv,
            RvError::DeviceError
                | RvError::DeviceMemory
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::UserNotLoggedIn
                | RvError::CryptokiNotInitialized
                | RvError::GeneralError
                | RvError::FunctionFailed
        ),
        P11Error::LibraryLoading(_) => true,
        _ => false,
    }
}

/// A short name for a PKCS#11 failure (the library's own texts are long and may name
/// attributes; these are ours).
fn rv_name(e: &P11Error) -> String {
    match e {
        P11Error::Pkcs11(rv, func) => format!("{rv:?} in {func:?}"),
        P11Error::LibraryLoading(_) => "the module cannot be loaded".to_owned(),
        _ => "an error in the PKCS#11 binding".to_owned(),
    }
}

struct ObjectRef {
    id: Option<Vec<u8>>,
    label: Option<String>,
}

/// A private key on a token, as the keystore holds it: the reference, the public facts
/// needed to format its operations, and the implicit-rejection secret.
pub(crate) struct TokenKey {
    token: Arc<Token>,
    /// The RFC 7512 reference, for listings.
    pub(crate) uri: String,
    object: ObjectRef,
    kind: KeyKind,
    ir_secret: Zeroizing<[u8; 32]>,
}

/// What a token key is, as far as its operations go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// RSA, with its modulus length in octets.
    Rsa { k: usize },
    /// ECDSA (P-256, P-384).
    Ecdsa,
    /// EdDSA (Ed25519): DKIM keys (RFC 8463).
    Ed25519,
}

impl KeyKind {
    pub(crate) fn of(algorithm: KeyAlgorithm) -> KeyKind {
        match algorithm {
            KeyAlgorithm::Rsa { bits } => KeyKind::Rsa {
                k: usize::try_from(bits.div_ceil(8)).unwrap_or(0),
            },
            KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => KeyKind::Ecdsa,
        }
    }

    pub(crate) fn key_type(self) -> KeyType {
        match self {
            KeyKind::Rsa { .. } => KeyType::RSA,
            KeyKind::Ecdsa => KeyType::EC,
            KeyKind::Ed25519 => KeyType::EC_EDWARDS,
        }
    }
}

impl TokenKey {
    pub(crate) fn new(
        token: Arc<Token>,
        uri: &Pkcs11Uri,
        kind: KeyKind,
        ir_secret: Zeroizing<[u8; 32]>,
    ) -> TokenKey {
        TokenKey {
            token,
            uri: uri.to_string(),
            object: ObjectRef {
                id: uri.id.clone(),
                label: uri.object.clone(),
            },
            kind,
            ir_secret,
        }
    }

    /// The key type of the private key `uri` names, read from the token.
    pub(crate) fn type_on_token(&self) -> Result<Option<KeyType>, Error> {
        let attrs = self.token.run(&self.object, |s, h| {
            s.get_attributes(h, &[AttributeType::KeyType])
        })?;
        Ok(attrs.iter().find_map(|a| match a {
            Attribute::KeyType(t) => Some(*t),
            _ => None,
        }))
    }

    /// The public key that goes with the token's private key, from the token's public
    /// key object (same `id` and label): RSA from its modulus and exponent, Ed25519 from
    /// its point (CKA_EC_POINT: the 32 octets, which most tokens wrap in a DER OCTET
    /// STRING).
    pub(crate) fn public_key(&self) -> Result<PKey<Public>, Error> {
        let session = self.token.session()?;
        let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        if let Some(id) = &self.object.id {
            template.push(Attribute::Id(id.clone()));
        }
        if let Some(label) = &self.object.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        let missing = || Error::Import("the token has no public key object for this key".into());
        let found = session
            .find_objects(&template)
            .map_err(|e| self.token.gone(&e))?;
        let [h] = found.as_slice() else {
            return Err(missing());
        };
        let wanted: &[AttributeType] = match self.kind {
            KeyKind::Rsa { .. } => &[AttributeType::Modulus, AttributeType::PublicExponent],
            _ => &[AttributeType::EcPoint],
        };
        let attrs = session
            .get_attributes(*h, wanted)
            .map_err(|e| self.token.gone(&e))?;
        self.token.give_back(session);
        let get = |want: AttributeType| {
            attrs.iter().find_map(|a| match (a, want) {
                (Attribute::Modulus(v), AttributeType::Modulus)
                | (Attribute::PublicExponent(v), AttributeType::PublicExponent)
                | (Attribute::EcPoint(v), AttributeType::EcPoint) => Some(v.as_slice()),
                _ => None,
            })
        };
        let bad = |_| Error::Import("the token's public key is unreadable".into());
        match self.kind {
            KeyKind::Rsa { .. } => {
                let n = get(AttributeType::Modulus).ok_or_else(missing)?;
                let e = get(AttributeType::PublicExponent).ok_or_else(missing)?;
                let rsa = openssl::rsa::Rsa::from_public_components(
                    openssl::bn::BigNum::from_slice(n).map_err(bad)?,
                    openssl::bn::BigNum::from_slice(e).map_err(bad)?,
                )
                .map_err(bad)?;
                PKey::from_rsa(rsa).map_err(bad)
            }
            KeyKind::Ed25519 => {
                let point = get(AttributeType::EcPoint).ok_or_else(missing)?;
                let raw = match point {
                    [0x04, 32, rest @ ..] if rest.len() == 32 => rest,
                    raw if raw.len() == 32 => raw,
                    _ => {
                        return Err(Error::Import(
                            "the token's Ed25519 point is not 32 octets".into(),
                        ));
                    }
                };
                PKey::public_key_from_raw_bytes(raw, openssl::pkey::Id::ED25519).map_err(bad)
            }
            KeyKind::Ecdsa => Err(Error::Unsupported("an EC public key from a token".into())),
        }
    }

    /// PureEdDSA (RFC 8032 §5.1.6) over `data`, on the token (`CKM_EDDSA`).
    pub(crate) fn sign_eddsa(&self, data: &[u8]) -> Result<Vec<u8>, Error> {
        if self.kind != KeyKind::Ed25519 {
            return Err(Error::Operation);
        }
        let params = EddsaParams::new(EddsaSignatureScheme::Pure);
        self.token.run(&self.object, |s, h| {
            s.sign(&Mechanism::Eddsa(params), h, data)
        })
    }

    /// True if the token's key is of the algorithm the certificate names (checked at
    /// import, before the test signature: a mechanism of the wrong kind is not a
    /// question to ask a token).
    pub(crate) fn has_certificate_type(&self) -> Result<bool, Error> {
        Ok(self.type_on_token()? == Some(self.kind.key_type()))
    }

    /// RSASSA-PKCS1-v1_5 (RFC 8017 §8.2.1) or ECDSA over `digest`, on the token. RSA
    /// gets the DigestInfo (RFC 8017 §9.2 note 1) and `CKM_RSA_PKCS`; ECDSA gets the
    /// digest and `CKM_ECDSA`, whose r || s answer is returned as a DER Ecdsa-Sig-Value
    /// (RFC 3279 §2.2.3).
    pub(crate) fn sign(&self, hash: HashAlg, digest: &[u8]) -> Result<Vec<u8>, Error> {
        match self.kind {
            KeyKind::Rsa { .. } => {
                let prefix: &[u8] = match hash {
                    HashAlg::Sha256 => &DIGEST_INFO_SHA256,
                    HashAlg::Sha384 => &DIGEST_INFO_SHA384,
                    HashAlg::Sha512 => &DIGEST_INFO_SHA512,
                    HashAlg::Sha1 => return Err(Error::Unsupported("SHA-1 signature".into())),
                };
                let mut t = Vec::with_capacity(prefix.len() + digest.len());
                t.extend_from_slice(prefix);
                t.extend_from_slice(digest);
                self.token
                    .run(&self.object, |s, h| s.sign(&Mechanism::RsaPkcs, h, &t))
            }
            KeyKind::Ed25519 => Err(Error::Operation),
            KeyKind::Ecdsa => {
                let raw = self
                    .token
                    .run(&self.object, |s, h| s.sign(&Mechanism::Ecdsa, h, digest))?;
                ecdsa_der(&raw)
            }
        }
    }

    /// RSAES-PKCS1-v1_5 decryption with implicit rejection: the raw RSA operation on
    /// the token, the decoding here (module header). A token that has no raw RSA
    /// decrypts with `CKM_RSA_PKCS`; its error is then an error, which
    /// `Keystore::unwrap_cek` turns into a random key like any other failure.
    pub(crate) fn decrypt_pkcs1v15(&self, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let KeyKind::Rsa { k } = self.kind else {
            return Err(Error::Operation);
        };
        if ct.len() != k {
            return Err(Error::Operation);
        }
        let raw = self
            .token
            .run(&self.object, |s, h| s.decrypt(&Mechanism::RsaX509, h, ct));
        match raw {
            Ok(em) => {
                let em = Zeroizing::new(em);
                // Raw RSA answers with k octets; a token that strips leading zeros is
                // padded back (I2OSP, RFC 8017 §4.1).
                let pad = k.checked_sub(em.len()).ok_or(Error::Operation)?;
                let mut full = Zeroizing::new(vec![0u8; k]);
                full.get_mut(pad..)
                    .ok_or(Error::Operation)?
                    .copy_from_slice(&em);
                crate::rsa_ossl::implicit_rejection(&self.ir_secret, ct, full)
            }
            Err(Error::TokenUnavailable(why)) => Err(Error::TokenUnavailable(why)),
            Err(_) => self
                .token
                .run(&self.object, |s, h| s.decrypt(&Mechanism::RsaPkcs, h, ct))
                .map(Zeroizing::new),
        }
    }

    /// RSAES-OAEP decryption (RFC 8017 §7.1.2) on the token, empty label (RFC 3560 §3).
    pub(crate) fn decrypt_oaep(
        &self,
        hash: HashAlg,
        mgf: HashAlg,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mech = |h: HashAlg| match h {
            HashAlg::Sha1 => MechanismType::SHA1,
            HashAlg::Sha256 => MechanismType::SHA256,
            HashAlg::Sha384 => MechanismType::SHA384,
            HashAlg::Sha512 => MechanismType::SHA512,
        };
        let mgf = match mgf {
            HashAlg::Sha1 => PkcsMgfType::MGF1_SHA1,
            HashAlg::Sha256 => PkcsMgfType::MGF1_SHA256,
            HashAlg::Sha384 => PkcsMgfType::MGF1_SHA384,
            HashAlg::Sha512 => PkcsMgfType::MGF1_SHA512,
        };
        let params = PkcsOaepParams::new(mech(hash), mgf, PkcsOaepSource::empty());
        self.token
            .run(&self.object, |s, h| {
                s.decrypt(&Mechanism::RsaPkcsOaep(params), h, ct)
            })
            .map(Zeroizing::new)
    }
}

/// DigestInfo prefixes (RFC 8017 §9.2 note 1).
const DIGEST_INFO_SHA256: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const DIGEST_INFO_SHA384: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const DIGEST_INFO_SHA512: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// PKCS#11's ECDSA signature (r || s, each the length of the order, PKCS#11 v2.40
/// mechanisms §2.3.1) as the DER Ecdsa-Sig-Value that CMS carries (RFC 3279 §2.2.3).
fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, Error> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::Operation);
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let r = openssl::bn::BigNum::from_slice(r).map_err(|_| Error::Operation)?;
    let s = openssl::bn::BigNum::from_slice(s).map_err(|_| Error::Operation)?;
    openssl::ecdsa::EcdsaSig::from_private_components(r, s)
        .and_then(|sig| sig.to_der())
        .map_err(|_| Error::Operation)
}

/// Reads the PIN from `RESEAL_PKCS11_PIN` if it is set. The one place the keystore
/// reads the environment; the value is never logged.
pub(crate) fn pin_from_env() -> Option<SecretString> {
    std::env::var("RESEAL_PKCS11_PIN")
        .ok()
        .map(SecretString::from)
}

/// The sealed part of a token entry: the implicit-rejection secret, then the PIN.
pub(crate) fn seal_secret(ir: &[u8; 32], pin: &SecretString) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(32 + pin.expose_secret().len()));
    v.extend_from_slice(ir);
    v.extend_from_slice(pin.expose_secret().as_bytes());
    v
}

/// The inverse of [`seal_secret`].
pub(crate) fn open_secret(sealed: &[u8]) -> Option<(Zeroizing<[u8; 32]>, SecretString)> {
    let (ir, pin) = sealed.split_at_checked(32)?;
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(ir);
    let pin = std::str::from_utf8(pin).ok()?;
    Some((secret, SecretString::from(pin.to_owned())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn uris_parse_per_rfc_7512() {
        let u: Pkcs11Uri =
            "pkcs11:token=My%20Token;id=%01%02;object=alice;type=private?module-path=/usr/lib/x.so"
                .parse()
                .unwrap();
        assert_eq!(u.token.as_deref(), Some("My Token"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(u.object.as_deref(), Some("alice"));
        assert_eq!(u.module_path.as_deref(), Some(Path::new("/usr/lib/x.so")));
        assert_eq!(
            u.to_string(),
            "pkcs11:token=My%20Token;object=alice;id=%01%02"
        );
        let again: Pkcs11Uri = u.to_string().parse().unwrap();
        assert_eq!(again.id, u.id);
    }

    #[test]
    fn uris_that_could_pick_another_key_or_carry_a_pin_are_refused() {
        for bad in [
            "token=x;id=%01",
            "pkcs11:id=%01",
            "pkcs11:token=x",
            "pkcs11:token=x;id=%0",
            "pkcs11:token=x;id=%01;colour=red",
            "pkcs11:token=x;id=%01;type=public",
            "pkcs11:token=x;id=%01?pin-value=1234",
            "pkcs11:token=x;id=%01?pin-source=file:/etc/pin",
        ] {
            assert!(bad.parse::<Pkcs11Uri>().is_err(), "{bad}");
        }
    }

    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

    /// Makes a SoftHSM2 token with an RSA-2048 key (id 01) in `dir`; returns the
    /// configuration file and the token label. The key's public half goes to
    /// `dir/pub.der`.
    fn softhsm_token(dir: &Path) -> (PathBuf, String) {
        std::fs::create_dir(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        let tokens = dir.join("tokens");
        std::fs::write(
            &conf,
            format!("directories.tokendir = {}\n", tokens.display()),
        )
        .unwrap();
        let tool = |prog: &str, args: &[&str]| {
            let out = std::process::Command::new(prog)
                .args(args)
                .env("SOFTHSM2_CONF", &conf)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{prog}: {err}");
        };
        let label = "ir-test".to_owned();
        let init = ["--init-token", "--free", "--label", &label];
        tool(
            "softhsm2-util",
            &[&init[..], &["--pin", "1234", "--so-pin", "5678"]].concat(),
        );
        let p11 = ["--module", MODULE, "--token-label", &label];
        let gen_key = [
            "--login",
            "--pin",
            "1234",
            "--keypairgen",
            "--key-type",
            "rsa:2048",
        ];
        tool(
            "pkcs11-tool",
            &[&p11[..], &gen_key, &["--id", "01"]].concat(),
        );
        let der = dir.join("pub.der");
        let read = ["--read-object", "--type", "pubkey", "--id", "01", "-o"];
        tool(
            "pkcs11-tool",
            &[&p11[..], &read, &[der.to_str().unwrap()]].concat(),
        );
        (conf, label)
    }

    /// SoftHSM2 reads its configuration from `SOFTHSM2_CONF` when the module is
    /// initialised, once per process; a test cannot set the variable for itself (no
    /// unsafe code), so this test makes the token and runs itself again in a child
    /// process with the variable set, where the checks run. The parent asserts that
    /// the child passed and really ran the checks.
    #[test]
    fn token_decryption_uses_implicit_rejection() {
        let Some(dir) = std::env::var_os("RESEAL_TEST_TOKEN_DIR") else {
            let dir = tempfile::tempdir().unwrap();
            let (conf, _) = softhsm_token(dir.path());
            let me = std::env::current_exe().unwrap();
            let out = std::process::Command::new(me)
                .args([
                    "--exact",
                    "pkcs11::tests::token_decryption_uses_implicit_rejection",
                ])
                .args(["--nocapture", "--test-threads", "1"])
                .env("SOFTHSM2_CONF", &conf)
                .env("RESEAL_TEST_TOKEN_DIR", dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{text}");
            assert!(
                text.contains("implicit rejection checked on the token"),
                "{text}"
            );
            return;
        };
        let dir = PathBuf::from(dir);
        let public =
            openssl::pkey::PKey::public_key_from_der(&std::fs::read(dir.join("pub.der")).unwrap())
                .unwrap()
                .rsa()
                .unwrap();
        let uri: Pkcs11Uri = "pkcs11:token=ir-test;id=%01".parse().unwrap();
        let token = Arc::new(Token::new(
            PathBuf::from(MODULE),
            &uri,
            SecretString::from("1234"),
        ));
        let mut ir = Zeroizing::new([0u8; 32]);
        getrandom::fill(ir.as_mut_slice()).unwrap();
        let key = TokenKey::new(token, &uri, KeyKind::Rsa { k: 256 }, ir);

        let cek = [0x5au8; 32];
        let mut ct = vec![0u8; 256];
        public
            .public_encrypt(&cek, &mut ct, openssl::rsa::Padding::PKCS1)
            .unwrap();
        assert_eq!(key.decrypt_pkcs1v15(&ct).unwrap().as_slice(), cek);
        // A ciphertext whose padding is bad (a raw encryption of a block that is not
        // EME-PKCS1-v1_5): no error, but the same synthetic message every time, and a
        // different one for another ciphertext (draft-irtf-cfrg-rsa-guidance-10 §7.2).
        let mut bad = vec![0u8; 256];
        let mut block = vec![0x01u8; 256];
        block[0] = 0;
        public
            .public_encrypt(&block, &mut bad, openssl::rsa::Padding::NONE)
            .unwrap();
        let first = key.decrypt_pkcs1v15(&bad).unwrap();
        assert_eq!(first, key.decrypt_pkcs1v15(&bad).unwrap());
        assert!(first.len() <= 256 - 11);
        block[1] = 0x02;
        public
            .public_encrypt(&block, &mut bad, openssl::rsa::Padding::NONE)
            .unwrap();
        assert_ne!(first, key.decrypt_pkcs1v15(&bad).unwrap());
        println!("implicit rejection checked on the token");
    }

    #[test]
    fn ecdsa_signatures_become_der() {
        let der = ecdsa_der(&[0x80, 0x01, 0x00, 0x02]).unwrap();
        // SEQUENCE { INTEGER 0x0080 01, INTEGER 02 }
        assert_eq!(
            der,
            [0x30, 0x08, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x02]
        );
        assert!(ecdsa_der(&[1, 2, 3]).is_err());
    }
}
