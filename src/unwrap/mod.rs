//! Unwrap: peel the S/MIME (and, later, OpenPGP) layers off a message, decrypting with
//! delegated keys and verifying every signature.
//!
//! Only the root entity is ever unwrapped (SECURITY.md invariant 4): an encrypted or signed
//! object nested in a multipart/mixed, a message/rfc822 attachment or a quoted reply is
//! left alone, never decrypted, never counted as a signature over the message. Each
//! layer's result is recorded as a [`Layer`] with a verdict; what to do with an invalid
//! verdict is the pipeline's decision, not this module's.

pub mod openpgp;
pub mod smime;
pub mod verdict;

use std::borrow::Cow;
use std::ops::Range;

use bytes::Bytes;
use reseal_keystore::Keystore;
use x509_cert::Certificate;

pub use verdict::{Layer, Reason, SignatureVerdict, Technology};

use crate::error::Failure;
use crate::mime::{self, Entity};

/// The most crypto layers we peel (sign, encrypt, sign, ...).
pub const MAX_LAYERS: usize = 6;

/// What unwrapping needs to know about the message and the gateway.
pub struct UnwrapContext<'a> {
    pub keystore: Option<&'a Keystore>,
    /// Envelope sender and recipients: a delegated key may decrypt only for these.
    pub parties: Vec<String>,
    /// The single From addr-spec of the message, if there is exactly one.
    pub from: Option<String>,
    /// Seconds since the epoch, for certificate validity.
    pub now: u64,
    pub anchors: Vec<Certificate>,
    /// Certificates known from the keystore's directory: used to find a signer whose
    /// certificate the message does not carry (`openssl cms -sign -nocerts`), and as
    /// intermediates. Never trusted by themselves.
    pub known_certs: Vec<Certificate>,
    /// Whether unauthenticated (CBC) encryption may be opened at all.
    pub allow_cbc: bool,
    /// OpenPGP certificates of the directory: the keys whose signatures we can check.
    pub pgp_certs: Vec<sequoia_openpgp::Cert>,
    /// The most bytes a decrypted or decompressed layer may produce.
    pub max_plaintext: usize,
    /// Try every key on every RecipientInfo when none names a key we hold (`reseal
    /// verify` with a bare private key). Never on in the gateway.
    pub trial_decryption: bool,
}

/// The message with its protection removed.
#[derive(Debug)]
pub struct Unwrapped {
    /// The innermost content: a MIME entity (Content-* fields, empty line, body), CRLF.
    /// A view that may share its bytes with `signed_entity` and `original` (no copies of
    /// a large message, docs/performance.md "Memory").
    pub content: Bytes,
    /// The layers, outermost first.
    pub layers: Vec<Layer>,
    /// The innermost signed entity exactly as received, when nothing but cleartext lies
    /// inside it: it can be passed on with its original signature intact.
    pub signed_entity: Option<Bytes>,
    /// How the innermost signature travels with the original when services change the
    /// content: what the modification record's frame is made of.
    pub original: Option<SignedOriginal>,
}

/// How a verified signature is carried with the rebuilt original
/// (docs/modification-record.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedOriginal {
    /// A multipart/signed entity whose first part is the content. With `lf`, the
    /// signature covers that part with LF line ends (a binary-mode OpenPGP signature over
    /// LF text inside the encryption, RFC 3156 §6.2; [`openpgp::SignedLineEnds::Lf`]).
    Multipart { entity: Bytes, lf: bool },
    /// The signed entity carries its signature inline with the text (the OpenPGP
    /// Cleartext Signature Framework, RFC 9580 §7): it is itself the original entity,
    /// armor and all, which the record's recipe rebuilds byte for byte.
    Inline { entity: Bytes },
    /// An inline OpenPGP message (`-----BEGIN PGP MESSAGE-----` as the whole body),
    /// rebuilt as a signed message without its encryption or compression: a text/plain
    /// entity with `header` whose body is the armored packets `prefix`, the literal data
    /// (the content's body, with LF line ends when `lf`) and `suffix`
    /// ([`openpgp::signed_message_frame`]).
    Message {
        header: Vec<u8>,
        prefix: Vec<u8>,
        suffix: Vec<u8>,
        lf: bool,
    },
    /// A signature that verified but cannot travel with the original: one of the named
    /// reasons below (`LOST_*`), which the record carries.
    Lost(&'static str),
}

/// The form of a multipart/signed entity whose first part is the content as it is.
fn multipart_original(signed_entity: &Option<Bytes>) -> Option<SignedOriginal> {
    signed_entity.as_ref().map(|e| SignedOriginal::Multipart {
        entity: e.clone(),
        lf: false,
    })
}

impl Unwrapped {
    pub fn was_encrypted(&self) -> bool {
        self.layers
            .iter()
            .any(|l| matches!(l, Layer::Encrypted { .. }))
    }

    pub fn signatures(&self) -> impl Iterator<Item = &SignatureVerdict> {
        self.layers.iter().filter_map(|l| match l {
            Layer::Signed(v) => Some(v),
            Layer::Encrypted { .. } => None,
        })
    }
}

/// A binary-mode OpenPGP signature over text whose line ends mix CRLF and LF: the CRLF
/// text the gateway holds cannot give the signed bytes back (RFC 9580 §5.2.1.1).
pub const LOST_MIXED_LINE_ENDS: &str = "binary-signature-mixed-line-ends";
/// The signed form could not be written as a frame.
pub const LOST_NO_FRAME: &str = "no-frame";

/// What a named reason means, for reports.
pub fn lost_reason_text(reason: &str) -> &'static str {
    match reason {
        LOST_MIXED_LINE_ENDS => {
            "the sender's binary-mode signature covers text with mixed CRLF and LF line ends, \
             which the canonical (CRLF) message cannot reproduce"
        }
        LOST_NO_FRAME => "the signed form could not be rebuilt around the original",
        _ => "reason not known to this verifier",
    }
}

enum Kind {
    Pkcs7Mime,
    MultipartSignedSmime,
    MultipartSignedPgp,
    MultipartEncryptedPgp,
    InlinePgp(Inline),
    Other,
}

#[derive(Clone, Copy)]
enum Inline {
    Encrypted,
    Signed,
}

/// Inline PGP counts only when one armored block is the whole body (SECURITY.md invariant 4):
/// a block with text around it, or two blocks, is left alone.
fn inline_kind(body: &[u8]) -> Option<Inline> {
    let t = body.trim_ascii();
    let count = |needle: &[u8]| t.windows(needle.len()).filter(|w| *w == needle).count();
    if t.starts_with(b"-----BEGIN PGP MESSAGE-----")
        && t.ends_with(b"-----END PGP MESSAGE-----")
        && count(b"-----BEGIN PGP") == 1
    {
        Some(Inline::Encrypted)
    } else if t.starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")
        && t.ends_with(b"-----END PGP SIGNATURE-----")
        && count(b"-----BEGIN PGP") == 2
        && count(b"-----BEGIN PGP SIGNATURE-----") == 1
    {
        Some(Inline::Signed)
    } else {
        None
    }
}

fn kind(e: &Entity<'_>, ct: &mime::ContentType) -> Result<Kind, Failure> {
    let protocol = |want: &[&str]| {
        ct.param("protocol")
            .is_some_and(|p| want.iter().any(|w| p.eq_ignore_ascii_case(w)))
    };
    Ok(
        if ct.is("application/pkcs7-mime") || ct.is("application/x-pkcs7-mime") {
            Kind::Pkcs7Mime
        } else if ct.is("multipart/signed")
            && protocol(&[
                "application/pkcs7-signature",
                "application/x-pkcs7-signature",
            ])
        {
            Kind::MultipartSignedSmime
        } else if ct.is("multipart/signed") && protocol(&["application/pgp-signature"]) {
            Kind::MultipartSignedPgp
        } else if ct.is("multipart/encrypted") && protocol(&["application/pgp-encrypted"]) {
            Kind::MultipartEncryptedPgp
        } else if ct.is("text/plain") {
            match inline_kind(&e.decoded_body()?) {
                Some(k) => Kind::InlinePgp(k),
                None => Kind::Other,
            }
        } else {
            Kind::Other
        },
    )
}

/// Content-Type parameters that describe a protection the gateway removed: NeoMutt's
/// `x-action=pgp-encrypted|pgp-signed|pgp-clearsigned` (and the old Mutt spelling).
/// Left on the plaintext, they make a client look for an armor block that is gone
/// ("could not find beginning of PGP message").
const PROTECTION_PARAMS: &[&str] = &["x-action", "x-mutt-action"];

/// A text/plain entity for inline-PGP plaintext, keeping the original Content-Type
/// except for parameters that described the protection ([`PROTECTION_PARAMS`]).
fn text_entity(original: &Entity<'_>, text: &[u8]) -> Vec<u8> {
    let cte: &[u8] = if text.is_ascii() { b"7bit" } else { b"8bit" };
    let mut out = text_header(original, cte);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&mime::to_crlf(text));
    out
}

/// The header fields of [`text_entity`]: the Content-Type and a Content-Transfer-Encoding.
fn text_header(original: &Entity<'_>, cte: &[u8]) -> Vec<u8> {
    let ct = original
        .get_all("Content-Type")
        .next()
        .map(|f| {
            let raw = original.field_raw(f).to_vec();
            match original.content_type() {
                Ok(mut parsed)
                    if parsed
                        .params
                        .iter()
                        .any(|(k, _)| PROTECTION_PARAMS.contains(&k.as_str())) =>
                {
                    parsed
                        .params
                        .retain(|(k, _)| !PROTECTION_PARAMS.contains(&k.as_str()));
                    format!(
                        "Content-Type: {}\r\n",
                        mime::tree::render_content_type(&parsed)
                    )
                    .into_bytes()
                }
                _ => raw,
            }
        })
        .unwrap_or_else(|| b"Content-Type: text/plain; charset=utf-8\r\n".to_vec());
    let mut out = ct;
    out.extend_from_slice(b"Content-Transfer-Encoding: ");
    out.extend_from_slice(cte);
    out.extend_from_slice(b"\r\n");
    out
}

/// The two parts of an RFC 3156 multipart, with the second part's decoded body, after
/// checking that the control part has the expected type.
fn pgp_parts(
    cur: &Bytes,
    e: &Entity<'_>,
    control: &str,
    second_is_data: bool,
) -> Result<(Bytes, Bytes), Failure> {
    let mp = e.multipart()?;
    let [first, second] = mp.parts.as_slice() else {
        return Err(Failure::malformed(
            "RFC 3156 multipart must have exactly two parts",
        ));
    };
    let first_bytes = view(cur, first);
    let second_entity = Entity::parse(cur.get(second.clone()).unwrap_or_default())?;
    if second_is_data {
        // multipart/encrypted: the first part is the version, the second the data.
        let version = Entity::parse(&first_bytes)?;
        if !version.content_type()?.is(control) {
            return Err(Failure::malformed(format!(
                "RFC 3156: the first part is not {control}"
            )));
        }
    } else if !second_entity.content_type()?.is(control) {
        return Err(Failure::malformed(format!(
            "RFC 3156: the second part is not {control}"
        )));
    }
    // A body without transfer encoding is handed on as a view of `cur`, not a copy.
    let data = match second_entity.decoded_body()? {
        Cow::Borrowed(body) => {
            let at = second.start + second_entity.body_offset();
            view(cur, &(at..at + body.len()))
        }
        Cow::Owned(decoded) => Bytes::from(decoded),
    };
    Ok((first_bytes, data))
}

/// The bytes of `cur` in `range` (a part's range from the parser), shared, not copied;
/// empty if the range does not lie in `cur`.
fn view(cur: &Bytes, range: &Range<usize>) -> Bytes {
    if range.start <= range.end && range.end <= cur.len() {
        cur.slice(range.clone())
    } else {
        Bytes::new()
    }
}

/// Peels every layer of `message` (already CRLF-canonical).
///
/// Once an unauthenticated (CBC) layer has been opened, every later failure, whether a
/// parse error of the plaintext or a bad inner signature, is the one uniform crypto
/// failure: a distinct reply would tell an attacker something about plaintext he
/// malleated (Efail CBC gadgets; SECURITY.md invariants 2 and 3).
pub fn unwrap(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<Unwrapped, Failure> {
    unwrap_entity(&Entity::parse(message)?, ctx)
}

/// [`unwrap`] for a message the caller has parsed already (the pipeline reads the
/// message's header once, for every stage).
pub fn unwrap_entity(top: &Entity<'_>, ctx: &UnwrapContext<'_>) -> Result<Unwrapped, Failure> {
    let mut opened_cbc = false;
    let r = unwrap_layers(top, ctx, &mut opened_cbc);
    match r {
        Err(f) if opened_cbc => {
            tracing::debug!("after a CBC layer: {f}");
            Err(Failure::crypto())
        }
        r => r,
    }
}

/// Whether the layer just peeled is unauthenticated encryption (S/MIME CBC).
fn follows_unauthenticated(layers: &[Layer]) -> bool {
    matches!(
        layers.last(),
        Some(Layer::Encrypted {
            authenticated: false,
            ..
        })
    )
}

/// A boundary derived from `parts` (so the same verified content always gets the same
/// wrapper) that occurs in none of them (RFC 2046 §5.1.1).
fn derived_boundary(parts: &[&[u8]]) -> Option<String> {
    use sha2::Digest as _;
    for n in 0u8..8 {
        let mut h = sha2::Sha256::new();
        h.update([n]);
        for p in parts {
            h.update(p);
        }
        let digest = h.finalize();
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let b = format!("=_reseal_{hex}");
        if parts
            .iter()
            .all(|p| memchr::memmem::find(p, b.as_bytes()).is_none())
        {
            return Some(b);
        }
    }
    None
}

/// A multipart/signed entity (RFC 1847 §2.1) rebuilt by the gateway around the part the
/// signature covers, exactly as verified, and a signature part the gateway writes itself.
///
/// After unauthenticated (CBC) decryption, every byte of a multipart/signed outside its
/// first part is attacker-malleable and covered by nothing: the entity's header (the
/// IV alone rewrites its first 16 bytes), the preamble, the epilogue, the delimiter
/// lines and the signature part's header. None of them may leave the gateway or enter
/// the modification record (SECURITY.md invariant 2; SECURITY.md, "Unsigned bytes under CBC"),
/// so the wrapper is rebuilt from verified data only: a flip that still parses and
/// verifies changes nothing in what is delivered.
fn rebuilt_signed(signed: &[u8], content_type: &str, signature_part: &[u8]) -> Option<Vec<u8>> {
    let boundary = derived_boundary(&[signed, signature_part])?;
    let mut out = Vec::with_capacity(signed.len() + signature_part.len() + 256);
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(format!(";\r\n\tboundary=\"{boundary}\"\r\n\r\n").as_bytes());
    // RFC 2046 §5.1.1: the CRLF before each delimiter belongs to the delimiter.
    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    out.extend_from_slice(signed);
    out.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    out.extend_from_slice(signature_part);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Some(out)
}

/// RFC 8551 §3.5.3: the S/MIME multipart/signed, rebuilt (see [`rebuilt_signed`]):
/// protocol "application/pkcs7-signature", micalg from the SignerInfos' digest
/// algorithms (§3.5.3.2), the signature as decoded and verified, base64 in a part whose
/// header is the one of RFC 8551 §3.5.3.3.
fn rebuilt_smime_signed(
    signed: &[u8],
    signature_der: &[u8],
    sd: &cms::signed_data::SignedData,
) -> Option<Vec<u8>> {
    let content_type = format!(
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=\"{}\"",
        smime::micalg(sd)
    );
    let mut part = b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7s\r\n\r\n".to_vec();
    let b64 = mime::encode_base64_lines(signature_der);
    part.extend_from_slice(b64.strip_suffix(b"\r\n").unwrap_or(&b64));
    rebuilt_signed(signed, &content_type, &part)
}

/// RFC 3156 §5: the PGP/MIME multipart/signed, rebuilt (see [`rebuilt_signed`]): the
/// signature packets re-armored without armor headers (RFC 9580 §6.2.2: those are not
/// signed either), micalg from their hash algorithm.
fn rebuilt_pgp_signed(signed: &[u8], armored_signature: &[u8]) -> Option<Vec<u8>> {
    let (armored, hash) = openpgp::rearmored_signatures(armored_signature)?;
    let content_type = format!(
        "Content-Type: multipart/signed; micalg={}; protocol=\"application/pgp-signature\"",
        crate::mime::compose::pgp_micalg(hash)
    );
    let mut part =
        b"Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n".to_vec();
    let armored = mime::to_crlf(&armored);
    part.extend_from_slice(armored.strip_suffix(b"\r\n").unwrap_or(&armored));
    rebuilt_signed(signed, &content_type, &part)
}

fn unwrap_layers(
    top: &Entity<'_>,
    ctx: &UnwrapContext<'_>,
    opened_cbc: &mut bool,
) -> Result<Unwrapped, Failure> {
    if top.fields().is_empty() {
        return Err(mime::MimeError::NoHeaders.into());
    }
    let mut cur = Bytes::from(mime::compose::content_entity(top));
    let mut layers = Vec::new();
    let mut signed_entity: Option<Bytes> = None;
    let mut original: Option<SignedOriginal> = None;
    for _ in 0..=MAX_LAYERS {
        let e = Entity::parse(&cur)?;
        let ct = e.content_type()?;
        let next = match kind(&e, &ct)? {
            Kind::Other => {
                check_cbc_rule(&layers)?;
                return Ok(Unwrapped {
                    content: cur,
                    layers,
                    signed_entity,
                    original,
                });
            }
            _ if layers.len() >= MAX_LAYERS => {
                return Err(Failure::malformed("Too many nested S/MIME layers"));
            }
            Kind::Pkcs7Mime => {
                let der = e.decoded_body()?.into_owned();
                // Neither the entity that carried an encrypted object nor, once parsed
                // into owned parts, its DER is needed while it is opened (a large message
                // is not held twice more, docs/performance.md "Memory").
                if !smime::is_signed_data(&der) {
                    drop(std::mem::take(&mut cur));
                }
                let object = smime::parse(&der)?;
                drop(der);
                match object {
                    smime::CmsObject::Enveloped(ed) => {
                        if !ctx.allow_cbc {
                            return Err(Failure::algorithm(
                                "Unauthenticated (CBC) S/MIME encryption is refused by policy (SECURITY.md invariant 2)",
                            ));
                        }
                        let d = smime::decrypt_enveloped(&ed, ctx)?;
                        *opened_cbc = true;
                        layers.push(Layer::Encrypted {
                            technology: Technology::Smime,
                            cipher: d.cipher,
                            authenticated: d.authenticated,
                        });
                        signed_entity = None;
                        original = None;
                        {
                            // Moved out, not copied (the wrapper zeroizes what is left).
                            let mut plaintext = d.plaintext;
                            Bytes::from(mime::to_crlf_owned(std::mem::take(&mut *plaintext)))
                        }
                    }
                    smime::CmsObject::AuthEnveloped(aed) => {
                        let d = smime::decrypt_auth_enveloped(&aed, ctx)?;
                        layers.push(Layer::Encrypted {
                            technology: Technology::Smime,
                            cipher: d.cipher,
                            authenticated: d.authenticated,
                        });
                        signed_entity = None;
                        original = None;
                        {
                            // Moved out, not copied (the wrapper zeroizes what is left).
                            let mut plaintext = d.plaintext;
                            Bytes::from(mime::to_crlf_owned(std::mem::take(&mut *plaintext)))
                        }
                    }
                    smime::CmsObject::Signed(sd) => {
                        let Some(content) = smime::econtent(&sd) else {
                            return Err(Failure::malformed(
                                "S/MIME signed-data without encapsulated content",
                            ));
                        };
                        let content = Bytes::from(mime::to_crlf_owned(content));
                        let verdict = smime::verify_signed(&sd, &content, false, ctx);
                        let after_cbc = follows_unauthenticated(&layers);
                        layers.push(Layer::Signed(verdict));
                        // The same signature, detached (eContent removed), still covers
                        // the content: carry it as multipart/signed, which the record
                        // frame and the pass-through both need.
                        let rebuilt = smime::detached(&sd).and_then(|der| {
                            crate::mime::compose::smime_signed(&content, &der)
                                .ok()
                                .map(Bytes::from)
                        });
                        signed_entity = match rebuilt {
                            Some(r) => Some(r),
                            // After CBC the received entity's header is not signed: it
                            // never leaves (SECURITY.md invariant 2).
                            None if after_cbc => return Err(Failure::crypto()),
                            // The received entity, kept for this case (it is let go
                            // above only for objects that are not SignedData): never an
                            // empty one in its place.
                            None if cur.is_empty() => {
                                return Err(Failure::malformed(
                                    "S/MIME signed-data that cannot be carried on",
                                ));
                            }
                            None => Some(cur.clone()),
                        };
                        original = multipart_original(&signed_entity);
                        content
                    }
                }
            }
            Kind::MultipartSignedSmime => {
                let mp = e.multipart()?;
                // RFC 1847 §2.1: exactly two body parts, the content and the signature.
                let [signed, sig] = mp.parts.as_slice() else {
                    return Err(Failure::malformed(
                        "multipart/signed must have exactly two parts",
                    ));
                };
                let signed_bytes = view(&cur, signed);
                let sig_entity = Entity::parse(cur.get(sig.clone()).unwrap_or_default())?;
                let sig_ct = sig_entity.content_type()?;
                if !(sig_ct.is("application/pkcs7-signature")
                    || sig_ct.is("application/x-pkcs7-signature"))
                {
                    return Err(Failure::malformed(
                        "multipart/signed: the second part is not an S/MIME signature",
                    ));
                }
                let der = sig_entity.decoded_body()?;
                let smime::CmsObject::Signed(sd) = smime::parse(&der)? else {
                    return Err(Failure::malformed(
                        "multipart/signed: the signature part is not a SignedData",
                    ));
                };
                let mut verdict = smime::verify_signed(&sd, &signed_bytes, true, ctx);
                if sd.encap_content_info.econtent.is_some() {
                    // A detached signature that also carries content: two readers could
                    // show two different texts (Johnny: eContent confusion). Never valid.
                    for s in &mut verdict.signers {
                        s.failure.get_or_insert(Reason::Malformed(
                            "detached signature also carries encapsulated content".into(),
                        ));
                    }
                    if verdict.signers.is_empty() {
                        verdict.signers.push(verdict::SignerVerdict {
                            addresses: Vec::new(),
                            subject: String::new(),
                            failure: Some(Reason::NoSigner),
                        });
                    }
                }
                let after_cbc = follows_unauthenticated(&layers);
                layers.push(Layer::Signed(verdict));
                signed_entity = if after_cbc {
                    // SECURITY.md invariant 2: only what the signature covers may leave; the
                    // wrapper around it is the gateway's own.
                    Some(Bytes::from(
                        rebuilt_smime_signed(&signed_bytes, &der, &sd)
                            .ok_or_else(Failure::crypto)?,
                    ))
                } else {
                    Some(cur.clone())
                };
                original = multipart_original(&signed_entity);
                signed_bytes
            }
            Kind::MultipartSignedPgp => {
                // RFC 3156 §5: the signature covers the first part exactly as sent
                // (CRLF-canonical, as we hold it).
                let (signed_bytes, sig) = pgp_parts(&cur, &e, "application/pgp-signature", false)?;
                let verdict = openpgp::verify_detached(&sig, &signed_bytes, ctx);
                let after_cbc = follows_unauthenticated(&layers);
                layers.push(Layer::Signed(verdict));
                signed_entity = if after_cbc {
                    // As for S/MIME above: nothing outside the signed part leaves.
                    Some(Bytes::from(
                        rebuilt_pgp_signed(&signed_bytes, &sig).ok_or_else(Failure::crypto)?,
                    ))
                } else {
                    Some(cur.clone())
                };
                original = multipart_original(&signed_entity);
                // The signed part of a rebuilt original may have LF line ends (a frame
                // with `"line_ends": "lf"`, docs/modification-record.md §3.3): verified
                // as it stands, it is read on as MIME in CRLF form.
                match mime::to_crlf(&signed_bytes) {
                    Cow::Borrowed(_) => signed_bytes,
                    Cow::Owned(crlf) => Bytes::from(crlf),
                }
            }
            Kind::MultipartEncryptedPgp => {
                // RFC 3156 §4 (and §6.2 when the data is also signed).
                let (_, data) = pgp_parts(&cur, &e, "application/pgp-encrypted", true)?;
                // Only the data is needed while decrypting (it may be a view of the
                // entity, which then lives until the data is de-armored).
                drop(std::mem::take(&mut cur));
                let mut r = openpgp::decrypt_owned(data, ctx)?;
                // The line ends the signatures cover are read before the plaintext is
                // made CRLF, which then happens in its own buffer (no copy).
                let lf = needs_lf(&r.content, &r.signatures);
                let content = Bytes::from(mime::to_crlf_owned(std::mem::take(&mut r.content)));
                (signed_entity, original) = combined_pgp(&r, lf, &content);
                layers.extend(r.layers);
                content
            }
            Kind::InlinePgp(_) if follows_unauthenticated(&layers) => {
                // An inline signature covers the text, not the entity's header (its
                // charset and transfer encoding decide what the text says), and after
                // CBC that header is attacker-malleable: no signature covers the whole
                // entity, so SECURITY.md invariant 2 refuses it (SECURITY.md, "Unsigned bytes
                // under CBC").
                tracing::debug!("inline OpenPGP directly inside CBC: header not covered");
                return Err(Failure::crypto());
            }
            Kind::InlinePgp(Inline::Encrypted) => {
                let body = e.decoded_body()?;
                // An armored "PGP MESSAGE" may be signed only (gpg --sign --armor):
                // verifying does not decrypt, so it succeeds only for such a message.
                if let Ok(v) = openpgp::verify_inline(&body, ctx)
                    && !v.verdict.signers.is_empty()
                {
                    layers.push(Layer::Signed(v.verdict));
                    // The armored message as received verifies in transit as it is.
                    signed_entity = Some(cur.clone());
                    original = inline_signed(&e, &v.content, v.literal.as_ref(), &v.signatures).1;
                    cur = Bytes::from(text_entity(&e, &v.content));
                    continue;
                }
                let r = openpgp::decrypt(&body, ctx)?;
                let content = Bytes::from(text_entity(&e, &r.content));
                let (passed_on, carried) =
                    inline_signed(&e, &r.content, r.literal.as_ref(), &r.signatures);
                (signed_entity, original) = (passed_on.map(Bytes::from), carried);
                layers.extend(r.layers);
                content
            }
            Kind::InlinePgp(Inline::Signed) => {
                let body = e.decoded_body()?;
                let v = openpgp::verify_inline(&body, ctx)?;
                layers.push(Layer::Signed(v.verdict));
                signed_entity = Some(cur.clone());
                original = Some(SignedOriginal::Inline {
                    entity: cur.clone(),
                });
                Bytes::from(text_entity(&e, &v.content))
            }
        };
        cur = next;
    }
    Err(Failure::malformed("Too many nested S/MIME layers"))
}

/// When a combined signed-and-encrypted OpenPGP message carried valid signatures over
/// `content`, they still verify as a detached signature over the same bytes: re-wrap
/// them as PGP/MIME multipart/signed so the sender's signature survives re-encryption.
fn passthrough_pgp(r: &openpgp::PgpResult, content: &[u8]) -> Option<Vec<u8>> {
    let sig = r.signatures.first()?;
    let armored = openpgp::armored_signatures(&r.signatures)?;
    crate::mime::compose::pgp_signed(content, &armored, sig.hash_algo()).ok()
}

/// RFC 3156 §6.2: the signatures of a combined signed-and-encrypted PGP/MIME message,
/// "rewritten as a multipart/signed object using the signature data embedded in the
/// encrypted version". Returns the entity to pass on, and how the record carries them.
///
/// RFC 3156 §6.2 requires "the same canonicalization rules as multipart/signed objects"
/// (CRLF, §5), but gpgme-based clients sign the entity with LF line ends in binary mode.
/// That signature covers the LF bytes only: the record's frame then says so
/// (`lf`), and nothing is passed on, since a part with bare LF line ends cannot travel by
/// SMTP (RFC 5321 §2.3.8) and a CRLF one would not verify.
///
/// `lf` is [`needs_lf`] of the plaintext as decrypted (before it was made CRLF).
fn combined_pgp(
    r: &openpgp::PgpResult,
    lf: Option<bool>,
    content: &[u8],
) -> (Option<Bytes>, Option<SignedOriginal>) {
    if r.signatures.is_empty() {
        return (None, None);
    }
    let Some(lf) = lf else {
        return (
            None,
            Some(SignedOriginal::Lost(crate::unwrap::LOST_MIXED_LINE_ENDS)),
        );
    };
    let Some(entity) = passthrough_pgp(r, content) else {
        return (
            None,
            Some(SignedOriginal::Lost(crate::unwrap::LOST_NO_FRAME)),
        );
    };
    let entity = Bytes::from(entity);
    let passed_on = (!lf).then(|| entity.clone());
    (passed_on, Some(SignedOriginal::Multipart { entity, lf }))
}

/// Whether the record must rebuild `data` with LF line ends for `sigs` to verify
/// (binary-mode signatures over LF text); `None` when no line-end form can (mixed).
fn needs_lf(data: &[u8], sigs: &[sequoia_openpgp::packet::Signature]) -> Option<bool> {
    match openpgp::signed_line_ends(data, sigs) {
        openpgp::SignedLineEnds::Crlf => Some(false),
        openpgp::SignedLineEnds::Lf => Some(true),
        openpgp::SignedLineEnds::Mixed => None,
    }
}

/// The signatures of an inline OpenPGP message (signed, or signed and encrypted) over
/// its literal data `literal`, as a signed message the gateway rebuilds (RFC 9580 §10.3:
/// one-pass signature packets, the literal data, the signatures; no encryption, no
/// compression) and armors ([`crate::crypto::armor::message`]) as the body of a text/plain
/// entity with `e`'s Content-Type (less the markers of the removed protection). The
/// signatures cover the literal data only, never a MIME header (RFC 9580 §5.2.4), so no
/// multipart/signed can carry them. Returns that entity, to pass on, and how the record
/// carries the signatures.
fn inline_signed(
    e: &Entity<'_>,
    literal: &[u8],
    meta: Option<&openpgp::LiteralMeta>,
    sigs: &[sequoia_openpgp::packet::Signature],
) -> (Option<Vec<u8>>, Option<SignedOriginal>) {
    if sigs.is_empty() {
        return (None, None);
    }
    let Some(lf) = needs_lf(literal, sigs) else {
        return (
            None,
            Some(SignedOriginal::Lost(crate::unwrap::LOST_MIXED_LINE_ENDS)),
        );
    };
    // The literal data as the record rebuilds it: the body of the text entity (CRLF),
    // in the line ends the signatures need.
    let body = mime::to_crlf(literal);
    let data = if lf {
        crate::mime::crlf_to_lf(&body)
    } else {
        body.into_owned()
    };
    let Some((prefix, suffix)) = openpgp::signed_message_frame(meta, sigs, &data) else {
        return (
            None,
            Some(SignedOriginal::Lost(crate::unwrap::LOST_NO_FRAME)),
        );
    };
    // The armor is 7bit text whatever the literal data holds.
    let header = text_header(e, b"7bit");
    let mut entity = header.clone();
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(&crate::crypto::armor::message(
        &[prefix.as_slice(), &data, &suffix].concat(),
    ));
    (
        Some(entity),
        Some(SignedOriginal::Message {
            header,
            prefix,
            suffix,
            lf,
        }),
    )
}

/// SECURITY.md invariant 2: CBC EnvelopedData carries no integrity protection. We accept its
/// plaintext only when the entity it decrypted to is, as a whole, signed with a valid
/// signature. Anything else is the uniform integrity failure.
fn check_cbc_rule(layers: &[Layer]) -> Result<(), Failure> {
    for (i, l) in layers.iter().enumerate() {
        if let Layer::Encrypted {
            authenticated: false,
            ..
        } = l
        {
            let covered = matches!(layers.get(i + 1), Some(Layer::Signed(v)) if v.valid());
            if !covered {
                tracing::debug!("CBC plaintext is not covered by a valid inner signature");
                return Err(Failure::crypto());
            }
        }
    }
    Ok(())
}
