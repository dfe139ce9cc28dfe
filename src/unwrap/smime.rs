//! S/MIME layers: CMS EnvelopedData (RFC 5652 §6), AuthEnvelopedData (RFC 5083 with
//! AES-GCM, RFC 5084), and SignedData (RFC 5652 §5), as written by openssl and gpgsm
//! (BER, indefinite lengths).
//!
//! Decryption never releases unauthenticated plaintext as final: GCM is checked before
//! any byte exists; CBC output is handed back marked unauthenticated, and the caller
//! refuses it unless an inner signature covers it (SECURITY.md invariants 1-2). Every failure
//! from the key unwrap to the content layer is the same [`Failure::crypto`] (rule 3).

use std::borrow::Cow;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode as _, Encode as _, Sequence};
use reseal_keystore::{HashAlg, KeyTransport};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use super::UnwrapContext;
use super::verdict::{Reason, SignatureVerdict, SignerVerdict, Technology};
use crate::crypto::{self, oid, sym};
use crate::error::Failure;
use crate::pki;

/// Bound on the number of RecipientInfos and SignerInfos we look at.
const MAX_INFOS: usize = 64;

/// A parsed top-level CMS object.
pub enum CmsObject {
    Enveloped(Box<EnvelopedData>),
    AuthEnveloped(Box<AuthEnvelopedData>),
    Signed(Box<SignedData>),
}

/// Deepest TLV nesting [`join_constructed_strings`] follows (CMS objects nest some 12 deep).
const MAX_BER_DEPTH: usize = 64;

/// Rewrites a BER encoding so that the parser reads it right: every constructed
/// OCTET STRING (X.690 §8.7.3) becomes one primitive OCTET STRING holding its
/// segments' contents. Streaming writers (gpgsm, `openssl cms -stream`, NSS) put
/// eContent in 4096-byte chunks with indefinite lengths, and the `der` crate's BER
/// reader keeps such a string's chunk headers as if they were content when the string
/// sits in an ANY (eContent is `[0] EXPLICIT ANY`). Lengths are recomputed where a
/// definite-length parent's contents changed; indefinite lengths stay indefinite;
/// everything else is copied as it is. Structure that is not valid BER, or nests
/// deeper than [`MAX_BER_DEPTH`], is an error.
pub fn join_constructed_strings(buf: &[u8]) -> Option<Cow<'_, [u8]>> {
    // Two passes, so that a large object is copied once (or not at all) rather than once
    // per nesting level (docs/performance.md, "Memory"): the first measures what each
    // TLV becomes, the second writes it.
    let m = measure(buf, 0)?;
    if m.used != buf.len() {
        return None;
    }
    if m.same {
        return Some(Cow::Borrowed(buf));
    }
    let mut out = Vec::with_capacity(m.len);
    write_tlv(buf, 0, &mut out)?;
    Some(Cow::Owned(out))
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let n = bytes.len() - skip;
        out.push(0x80 | u8::try_from(n).unwrap_or(0));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

/// The octets [`push_len`] writes for `len`.
fn len_octets(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// The identifier and length octets of one BER TLV (X.690 §8.1.2-8.1.3).
struct Head {
    /// The first identifier octet.
    first: u8,
    id_len: usize,
    constructed: bool,
    /// `None` for the indefinite form.
    len: Option<usize>,
    /// Identifier and length octets together.
    hdr: usize,
    /// Whether the length is written in its minimal definite form (as [`push_len`]).
    minimal: bool,
}

fn head(buf: &[u8], depth: usize) -> Option<Head> {
    if depth > MAX_BER_DEPTH {
        return None;
    }
    // Identifier octets (X.690 §8.1.2), high tag numbers included.
    let first = *buf.first()?;
    let mut id_len = 1;
    if first & 0x1f == 0x1f {
        loop {
            let b = *buf.get(id_len)?;
            id_len += 1;
            if b & 0x80 == 0 {
                break;
            }
            if id_len > 6 {
                return None;
            }
        }
    }
    let l0 = *buf.get(id_len)?;
    let (len, hdr) = match l0 {
        0x80 => (None, id_len + 1),
        n if n < 0x80 => (Some(usize::from(n)), id_len + 1),
        n => {
            let k = usize::from(n & 0x7f);
            if k > 8 {
                return None;
            }
            let mut l = 0usize;
            for b in buf.get(id_len + 1..id_len + 1 + k)? {
                l = l.checked_mul(256)?.checked_add(usize::from(*b))?;
            }
            (Some(l), id_len + 1 + k)
        }
    };
    let minimal = len.is_some_and(|l| hdr - id_len == len_octets(l));
    Some(Head {
        first,
        id_len,
        constructed: first & 0x20 != 0,
        len,
        hdr,
        minimal,
    })
}

/// Calls `f` on each child of the constructed TLV `buf` (whose head is `h`), with the
/// bytes from the child on (up to the parent's end when it is definite); `f` returns
/// what the child took. Returns the bytes the whole TLV took.
fn each_child(buf: &[u8], h: &Head, mut f: impl FnMut(&[u8]) -> Option<usize>) -> Option<usize> {
    match h.len {
        Some(l) => {
            let stop = h.hdr.checked_add(l)?;
            let mut pos = h.hdr;
            while pos < stop {
                pos += f(buf.get(pos..stop)?)?;
            }
            Some(stop)
        }
        None => {
            let mut pos = h.hdr;
            loop {
                if buf.get(pos..pos + 2)? == [0, 0] {
                    break Some(pos + 2);
                }
                pos += f(buf.get(pos..)?)?;
            }
        }
    }
}

/// What one TLV becomes: the input bytes it takes, its length once rewritten, and
/// whether the rewrite leaves it as it is.
struct Measure {
    used: usize,
    len: usize,
    same: bool,
}

fn measure(buf: &[u8], depth: usize) -> Option<Measure> {
    let h = head(buf, depth)?;
    if !h.constructed {
        // Primitive: definite length only (§8.1.3.2).
        let l = h.len?;
        let used = h.hdr.checked_add(l)?;
        buf.get(..used)?;
        return Some(Measure {
            used,
            len: h.id_len + len_octets(l) + l,
            same: h.minimal,
        });
    }
    if h.first == 0x24 {
        let (used, value) = joined_len(buf, depth)?;
        return Some(Measure {
            used,
            len: 1 + len_octets(value) + value,
            same: false,
        });
    }
    let mut inner = 0usize;
    let mut same = true;
    let used = each_child(buf, &h, |child| {
        let m = measure(child, depth + 1)?;
        inner = inner.checked_add(m.len)?;
        same &= m.same;
        Some(m.used)
    })?;
    let len = match h.len {
        // Kept indefinite: the `der` crate's BER reader handles indefinite lengths,
        // and an IMPLICIT-tagged constructed string ([0] encryptedContent) reads only
        // in that form.
        None => h.id_len + 1 + inner + 2,
        Some(_) => {
            same &= h.minimal;
            h.id_len + len_octets(inner) + inner
        }
    };
    Some(Measure { used, len, same })
}

/// For an OCTET STRING, primitive or constructed: the bytes it takes and the length of
/// its value, a constructed one's being its segments' values in order (§8.7.3.2); each
/// segment is itself an OCTET STRING.
fn joined_len(buf: &[u8], depth: usize) -> Option<(usize, usize)> {
    let h = head(buf, depth)?;
    match h.first {
        0x04 => {
            let l = h.len?;
            let used = h.hdr.checked_add(l)?;
            buf.get(..used)?;
            Some((used, l))
        }
        0x24 => {
            let mut value = 0usize;
            let used = each_child(buf, &h, |child| {
                let (u, v) = joined_len(child, depth + 1)?;
                value = value.checked_add(v)?;
                Some(u)
            })?;
            Some((used, value))
        }
        _ => None,
    }
}

/// Appends the value of an OCTET STRING, primitive or constructed ([`joined_len`]).
fn write_joined(buf: &[u8], depth: usize, out: &mut Vec<u8>) -> Option<usize> {
    let h = head(buf, depth)?;
    match h.first {
        0x04 => {
            let used = h.hdr.checked_add(h.len?)?;
            out.extend_from_slice(buf.get(h.hdr..used)?);
            Some(used)
        }
        0x24 => each_child(buf, &h, |child| write_joined(child, depth + 1, out)),
        _ => None,
    }
}

/// Appends one TLV at the start of `buf` as [`measure`] measured it; returns the bytes
/// of `buf` it took.
fn write_tlv(buf: &[u8], depth: usize, out: &mut Vec<u8>) -> Option<usize> {
    let h = head(buf, depth)?;
    let id = buf.get(..h.id_len)?;
    if !h.constructed {
        let l = h.len?;
        let used = h.hdr.checked_add(l)?;
        let body = buf.get(h.hdr..used)?;
        out.extend_from_slice(id);
        push_len(out, l);
        out.extend_from_slice(body);
        return Some(used);
    }
    if h.first == 0x24 {
        let (_, value) = joined_len(buf, depth)?;
        out.push(0x04);
        push_len(out, value);
        return write_joined(buf, depth, out);
    }
    out.extend_from_slice(id);
    match h.len {
        None => out.push(0x80),
        Some(_) => {
            let mut inner = 0usize;
            each_child(buf, &h, |child| {
                let m = measure(child, depth + 1)?;
                inner = inner.checked_add(m.len)?;
                Some(m.used)
            })?;
            push_len(out, inner);
        }
    }
    let used = each_child(buf, &h, |child| write_tlv(child, depth + 1, out))?;
    if h.len.is_none() {
        out.extend_from_slice(&[0, 0]);
    }
    Some(used)
}

/// The head of a ContentInfo's outer SEQUENCE (RFC 5652 §3), its content type, and the
/// offset just past the content type.
fn content_type_head(buf: &[u8]) -> Option<(Head, ObjectIdentifier, usize)> {
    let outer = head(buf, 0)?;
    if outer.first != 0x30 {
        return None;
    }
    let oid_head = head(buf.get(outer.hdr..)?, 1)?;
    if oid_head.first != 0x06 {
        return None;
    }
    let oid_end = outer
        .hdr
        .checked_add(oid_head.hdr)?
        .checked_add(oid_head.len?)?;
    let content_type = ObjectIdentifier::from_der(buf.get(outer.hdr..oid_end)?).ok()?;
    Some((outer, content_type, oid_end))
}

/// The content type of a ContentInfo (RFC 5652 §3) and its content, the one TLV inside
/// `[0] EXPLICIT`, borrowed from `buf`; `None` unless `buf` is exactly that.
fn content_info_parts(buf: &[u8]) -> Option<(ObjectIdentifier, &[u8])> {
    let (outer, content_type, oid_end) = content_type_head(buf)?;
    let explicit = head(buf.get(oid_end..)?, 1)?;
    if explicit.first != 0xa0 {
        return None;
    }
    let start = oid_end.checked_add(explicit.hdr)?;
    let used = measure(buf.get(start..)?, 2)?.used;
    let end = start.checked_add(used)?;
    let content = buf.get(start..end)?;
    // What must follow: the end-of-contents octets of each indefinite form, and nothing.
    let mut pos = end;
    for h in [&explicit, &outer] {
        if h.len.is_none() {
            if buf.get(pos..pos.checked_add(2)?)? != [0, 0] {
                return None;
            }
            pos += 2;
        }
    }
    let explicit_ok = explicit.len.is_none_or(|l| l == used);
    let outer_ok = outer
        .len
        .is_none_or(|l| outer.hdr.checked_add(l) == Some(buf.len()));
    (explicit_ok && outer_ok && pos == buf.len()).then_some((content_type, content))
}

/// Whether `der_or_ber` is a SignedData (read from its first octets, before any parsing):
/// an encrypted object's carrier need not be kept while it is parsed and opened.
pub fn is_signed_data(der_or_ber: &[u8]) -> bool {
    content_type_head(der_or_ber).is_some_and(|(_, o, _)| o == oid::SIGNED_DATA)
}

/// Parses a ContentInfo (DER or BER) and its content.
pub fn parse(der_or_ber: &[u8]) -> Result<CmsObject, Failure> {
    let bad = |what: &str| Failure::malformed(format!("Malformed S/MIME object: {what}"));
    let normal = join_constructed_strings(der_or_ber).ok_or_else(|| bad("not valid BER"))?;
    // The content is read in place (not decoded into an ANY and encoded again), under
    // BER rules.
    let (content_type, inner) =
        content_info_parts(&normal).ok_or_else(|| bad("not a CMS ContentInfo"))?;
    match content_type {
        oid::ENVELOPED_DATA => EnvelopedData::from_ber(inner)
            .map(|e| CmsObject::Enveloped(Box::new(e)))
            .map_err(|_| bad("EnvelopedData")),
        oid::AUTH_ENVELOPED_DATA => AuthEnvelopedData::from_ber(inner)
            .map(|e| CmsObject::AuthEnveloped(Box::new(e)))
            .map_err(|_| bad("AuthEnvelopedData")),
        oid::SIGNED_DATA => SignedData::from_ber(inner)
            .map(|s| CmsObject::Signed(Box::new(s)))
            .map_err(|_| bad("SignedData")),
        other => Err(Failure::algorithm(format!(
            "Unsupported S/MIME content type {}",
            oid::name(&other)
        ))),
    }
}

/// The result of a successful decryption.
pub struct Decrypted {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub cipher: String,
    pub authenticated: bool,
}

/// Matches a RecipientIdentifier against a certificate.
fn rid_matches(rid: &RecipientIdentifier, cert: &Certificate) -> bool {
    match rid {
        RecipientIdentifier::IssuerAndSerialNumber(isn) => {
            pki::is_issuer_serial(cert, &isn.issuer, &isn.serial_number)
        }
        RecipientIdentifier::SubjectKeyIdentifier(ski) => {
            pki::ski(cert).is_some_and(|s| s == ski.0.as_bytes())
        }
    }
}

/// RSAES-OAEP-params (RFC 4055 §4.1). Defaults are SHA-1 / MGF1-SHA-1 / empty label.
#[derive(Sequence)]
struct OaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<spki::AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<spki::AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    p_source: Option<spki::AlgorithmIdentifierOwned>,
}

fn key_transport(alg: &spki::AlgorithmIdentifierOwned) -> Result<KeyTransport, Failure> {
    match alg.oid {
        oid::RSA_ENCRYPTION => Ok(KeyTransport::RsaPkcs1v15),
        oid::RSAES_OAEP => {
            let unsupported = || Failure::algorithm("Unsupported RSAES-OAEP parameters");
            let p = match &alg.parameters {
                None => OaepParams {
                    hash: None,
                    mask_gen: None,
                    p_source: None,
                },
                Some(any) => {
                    let der = any.to_der().map_err(|_| unsupported())?;
                    OaepParams::from_der(&der).map_err(|_| unsupported())?
                }
            };
            let hash = match &p.hash {
                None => HashAlg::Sha1,
                Some(h) => crypto::any_digest(&h.oid).ok_or_else(unsupported)?,
            };
            let mgf_hash = match &p.mask_gen {
                None => HashAlg::Sha1,
                Some(m) if m.oid == oid::MGF1 => {
                    let inner = m
                        .parameters
                        .as_ref()
                        .and_then(|a| a.decode_as::<spki::AlgorithmIdentifierOwned>().ok())
                        .ok_or_else(unsupported)?;
                    crypto::any_digest(&inner.oid).ok_or_else(unsupported)?
                }
                Some(_) => return Err(unsupported()),
            };
            if let Some(ps) = &p.p_source {
                // Only the empty label is supported (pSpecified with an empty OCTET STRING).
                let empty = ps.oid == oid::P_SPECIFIED
                    && ps
                        .parameters
                        .as_ref()
                        .and_then(|a| a.decode_as::<OctetString>().ok())
                        .is_some_and(|o| o.as_bytes().is_empty());
                if !empty {
                    return Err(unsupported());
                }
            }
            Ok(KeyTransport::RsaOaep { hash, mgf_hash })
        }
        other => Err(Failure::algorithm(format!(
            "Unsupported key transport {}",
            oid::name(&other)
        ))),
    }
}

/// RFC 5652 §6.2: refuses, before any decryption, mail whose RecipientInfos name no
/// key the gateway holds for these parties. The RecipientInfos are public, so this
/// distinct reply is no oracle (docs/architecture.md, "Mail encrypted to someone
/// else").
fn addressed_to_gateway(recips: &RecipientInfos, ctx: &UnwrapContext<'_>) -> Result<(), Failure> {
    if ctx.trial_decryption || !candidates(recips, ctx)?.is_empty() {
        Ok(())
    } else {
        tracing::info!("encrypted to no key the gateway holds for the sender");
        Err(Failure::foreign_encryption())
    }
}

/// The keystore keys that can open `recips`, with the RecipientInfo each opens.
fn candidates<'a>(
    recips: &'a RecipientInfos,
    ctx: &UnwrapContext<'_>,
) -> Result<Vec<(String, &'a cms::enveloped_data::KeyTransRecipientInfo)>, Failure> {
    let Some(ks) = ctx.keystore else {
        return Ok(Vec::new());
    };
    let parties: Vec<&str> = ctx.parties.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for ri in recips.0.iter().take(MAX_INFOS) {
        let RecipientInfo::Ktri(ktri) = ri else {
            continue;
        };
        for key in ks.decryption_keys(&parties) {
            if rid_matches(&ktri.rid, &key.certificate) {
                out.push((key.id.clone(), ktri));
            }
        }
    }
    if out.is_empty() && ctx.trial_decryption {
        for ri in recips.0.iter().take(MAX_INFOS) {
            if let RecipientInfo::Ktri(ktri) = ri {
                for key in ks.decryption_keys(&parties) {
                    out.push((key.id.clone(), ktri));
                }
            }
        }
    }
    Ok(out)
}

enum ContentCipher {
    Cbc {
        key_len: usize,
        iv: Vec<u8>,
    },
    Gcm {
        key_len: usize,
        nonce: Vec<u8>,
        tag_len: usize,
    },
}

/// GCMParameters (RFC 5084 §3.2).
#[derive(Sequence)]
struct GcmParams {
    nonce: OctetString,
    #[asn1(default = "default_icv")]
    icv_len: u8,
}

fn default_icv() -> u8 {
    12
}

fn content_cipher(eci: &EncryptedContentInfo) -> Result<ContentCipher, Failure> {
    let alg = &eci.content_enc_alg;
    let params = || -> Result<Vec<u8>, Failure> {
        alg.parameters
            .as_ref()
            .and_then(|a| a.to_der().ok())
            .ok_or_else(Failure::crypto)
    };
    let cbc = |key_len| -> Result<ContentCipher, Failure> {
        let iv = OctetString::from_der(&params()?).map_err(|_| Failure::crypto())?;
        Ok(ContentCipher::Cbc {
            key_len,
            iv: iv.as_bytes().to_vec(),
        })
    };
    let gcm = |key_len| -> Result<ContentCipher, Failure> {
        let p = GcmParams::from_der(&params()?).map_err(|_| Failure::crypto())?;
        Ok(ContentCipher::Gcm {
            key_len,
            nonce: p.nonce.as_bytes().to_vec(),
            tag_len: usize::from(p.icv_len),
        })
    };
    match alg.oid {
        oid::AES128_CBC => cbc(16),
        oid::AES192_CBC => cbc(24),
        oid::AES256_CBC => cbc(32),
        oid::AES128_GCM => gcm(16),
        oid::AES192_GCM => gcm(24),
        oid::AES256_GCM => gcm(32),
        other => Err(Failure::algorithm(format!(
            "Content encryption with {} is refused (RFC 8551 §2.7: AES only)",
            oid::name(&other)
        ))),
    }
}

/// Decrypts an EnvelopedData (AES-CBC): the result is unauthenticated.
pub fn decrypt_enveloped(
    ed: &EnvelopedData,
    ctx: &UnwrapContext<'_>,
) -> Result<Decrypted, Failure> {
    addressed_to_gateway(&ed.recip_infos, ctx)?;
    let eci = &ed.encrypted_content;
    let cipher = content_cipher(eci)?;
    let ContentCipher::Cbc { key_len, iv } = &cipher else {
        // GCM inside EnvelopedData has no tag: not a valid combination.
        return Err(Failure::crypto());
    };
    let ct = eci
        .encrypted_content
        .as_ref()
        .ok_or_else(|| Failure::malformed("S/MIME EnvelopedData without content"))?;
    let ks = ctx.keystore.ok_or_else(no_key)?;
    let parties: Vec<&str> = ctx.parties.iter().map(String::as_str).collect();
    let mut key_away = None;
    for (key_id, ktri) in candidates(&ed.recip_infos, ctx)? {
        let scheme = key_transport(&ktri.key_enc_alg)?;
        let cek = match ks.unwrap_cek(&key_id, &parties, scheme, ktri.enc_key.as_bytes(), *key_len)
        {
            Ok(cek) => cek,
            Err(e) if e.is_temporary() => {
                key_away = Some(e);
                continue;
            }
            Err(_) => return Err(Failure::crypto()),
        };
        if let Ok(pt) = sym::cbc_decrypt(&cek, iv, ct.as_bytes()) {
            return Ok(Decrypted {
                plaintext: pt,
                cipher: oid::name(&eci.content_enc_alg.oid),
                authenticated: false,
            });
        }
    }
    Err(key_away.map_or_else(no_key, |e| Failure::key_unavailable(&e)))
}

/// The uniform failure, logged with its real cause for the operator only.
fn no_key() -> Failure {
    tracing::debug!("no delegated key opens this message");
    Failure::crypto()
}

/// Decrypts an AuthEnvelopedData (AES-GCM). Plaintext exists only if the tag verifies.
pub fn decrypt_auth_enveloped(
    aed: &AuthEnvelopedData,
    ctx: &UnwrapContext<'_>,
) -> Result<Decrypted, Failure> {
    addressed_to_gateway(&aed.recip_infos, ctx)?;
    let eci = &aed.auth_encrypted_content_info;
    let ContentCipher::Gcm {
        key_len,
        nonce,
        tag_len,
    } = content_cipher(eci)?
    else {
        return Err(Failure::crypto());
    };
    let mac = aed.mac.as_bytes();
    if mac.len() != tag_len {
        return Err(Failure::crypto());
    }
    // RFC 5083 §2.2: the AAD is the DER of authAttrs with the SET OF tag.
    let aad = match &aed.auth_attrs {
        Some(a) => a.to_der().map_err(|_| Failure::crypto())?,
        None => Vec::new(),
    };
    let ct = eci
        .encrypted_content
        .as_ref()
        .ok_or_else(|| Failure::malformed("S/MIME AuthEnvelopedData without content"))?;
    let ks = ctx.keystore.ok_or_else(no_key)?;
    let parties: Vec<&str> = ctx.parties.iter().map(String::as_str).collect();
    let mut key_away = None;
    for (key_id, ktri) in candidates(&aed.recip_infos, ctx)? {
        let scheme = key_transport(&ktri.key_enc_alg)?;
        let cek = match ks.unwrap_cek(&key_id, &parties, scheme, ktri.enc_key.as_bytes(), key_len) {
            Ok(cek) => cek,
            Err(e) if e.is_temporary() => {
                key_away = Some(e);
                continue;
            }
            Err(_) => return Err(Failure::crypto()),
        };
        if let Ok(pt) = sym::gcm_decrypt(&cek, &nonce, ct.as_bytes(), mac, &aad) {
            return Ok(Decrypted {
                plaintext: pt,
                cipher: oid::name(&eci.content_enc_alg.oid),
                authenticated: true,
            });
        }
    }
    Err(key_away.map_or_else(no_key, |e| Failure::key_unavailable(&e)))
}

/// The certificates carried in a SignedData.
pub fn certificates(sd: &SignedData) -> Vec<Certificate> {
    sd.certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .take(MAX_INFOS)
        .collect()
}

/// The DER ContentInfo of `sd` with its encapsulated content removed: the detached form
/// of an opaque signature (RFC 5652 §5.2: eContent absent, content supplied by other
/// means). Its signer infos are unchanged, so it verifies over the same content.
pub fn detached(sd: &SignedData) -> Option<Vec<u8>> {
    let mut d = sd.clone();
    d.encap_content_info.econtent = None;
    let inner = d.to_der().ok()?;
    let ci = ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: der::Any::from_der(&inner).ok()?,
    };
    ci.to_der().ok()
}

/// The `micalg` parameter for `sd` (RFC 8551 §3.5.3.2): the textual names of its
/// SignerInfos' digest algorithms, each once, comma-separated; "unknown" for any other.
pub fn micalg(sd: &SignedData) -> String {
    let mut names: Vec<&str> = Vec::new();
    for si in sd.signer_infos.0.iter().take(MAX_INFOS) {
        let name = match si.digest_alg.oid {
            oid::MD5 => "md5",
            oid::SHA1 => "sha-1",
            oid::SHA256 => "sha-256",
            oid::SHA384 => "sha-384",
            oid::SHA512 => "sha-512",
            _ => "unknown",
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        names.push("unknown");
    }
    names.join(",")
}

/// The encapsulated content of an opaque SignedData (the eContent OCTET STRING; a
/// streamed, chunked one was joined by [`join_constructed_strings`] before parsing).
pub fn econtent(sd: &SignedData) -> Option<Vec<u8>> {
    let any = sd.encap_content_info.econtent.as_ref()?;
    any.decode_as::<OctetString>()
        .ok()
        .map(|o| o.as_bytes().to_vec())
}

/// The certificate a SignerInfo's sid names, among `certs`.
pub fn find_signer_cert<'c>(si: &SignerInfo, certs: &'c [Certificate]) -> Option<&'c Certificate> {
    certs.iter().find(|c| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            pki::is_issuer_serial(c, &isn.issuer, &isn.serial_number)
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            pki::ski(c).is_some_and(|s| s == ski.0.as_bytes())
        }
    })
}

fn single_attr(si: &SignerInfo, id: ObjectIdentifier) -> Result<Option<&der::Any>, Reason> {
    let Some(attrs) = &si.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == id);
    let Some(a) = found.next() else {
        return Ok(None);
    };
    // RFC 5652 §5.3: these attributes must appear once, with exactly one value.
    if found.next().is_some() || a.values.len() != 1 {
        return Err(Reason::BadAttributes(format!(
            "{} must have one value",
            oid::name(&id)
        )));
    }
    Ok(a.values.iter().next())
}

/// Verifies one SignerInfo over `content`; returns the verdict for this signer.
fn verify_signer(
    si: &SignerInfo,
    econtent_type: ObjectIdentifier,
    content: &[u8],
    certs: &[Certificate],
    ctx: &UnwrapContext<'_>,
) -> SignerVerdict {
    let mut v = SignerVerdict {
        addresses: Vec::new(),
        subject: String::new(),
        failure: None,
    };
    let Some(cert) = find_signer_cert(si, certs) else {
        v.failure = Some(Reason::UnknownSigner);
        return v;
    };
    v.subject = pki::subject(cert);
    v.addresses = pki::cert_emails(cert);
    v.failure = check_signer(si, cert, econtent_type, content, certs, ctx, &v.addresses).err();
    v
}

fn check_signer(
    si: &SignerInfo,
    cert: &Certificate,
    econtent_type: ObjectIdentifier,
    content: &[u8],
    certs: &[Certificate],
    ctx: &UnwrapContext<'_>,
    addresses: &[String],
) -> Result<(), Reason> {
    check_crypto(si, cert, econtent_type, content)?;
    let anchors: Vec<Certificate> = ctx.anchors.to_vec();
    pki::validate(cert, certs, &anchors, ctx.now, pki::Purpose::Sign)
        .map_err(|e| Reason::Untrusted(e.to_string()))?;
    // SECURITY.md invariant 5: the signer speaks for the single From addr-spec.
    match &ctx.from {
        None => Err(Reason::NoSingleFrom),
        Some(from) if addresses.iter().any(|a| a == from) => Ok(()),
        Some(from) => Err(Reason::SignerNotFrom {
            signer: addresses.to_vec(),
            from: from.clone(),
        }),
    }
}

/// The cryptographic part of a SignerInfo check: attributes, digest, signature value.
fn check_crypto(
    si: &SignerInfo,
    cert: &Certificate,
    econtent_type: ObjectIdentifier,
    content: &[u8],
) -> Result<(), Reason> {
    let digest_alg = crypto::signature_digest(&si.digest_alg.oid).map_err(sig_reason)?;
    let digest = crypto::hash(digest_alg, content);
    let signed_bytes = match &si.signed_attrs {
        Some(attrs) => {
            // RFC 5652 §5.3/§11.1: content-type must be present and match eContentType.
            let ct = single_attr(si, oid::ATTR_CONTENT_TYPE)?
                .ok_or_else(|| Reason::BadAttributes("no content-type attribute".into()))?;
            let ct: ObjectIdentifier = ct
                .decode_as()
                .map_err(|_| Reason::BadAttributes("content-type".into()))?;
            if ct != econtent_type {
                return Err(Reason::BadAttributes(
                    "content-type does not match the content".into(),
                ));
            }
            // RFC 5652 §11.2: message-digest must equal the digest of the content.
            let md = single_attr(si, oid::ATTR_MESSAGE_DIGEST)?
                .ok_or_else(|| Reason::BadAttributes("no message-digest attribute".into()))?;
            let md: OctetString = md
                .decode_as()
                .map_err(|_| Reason::BadAttributes("message-digest".into()))?;
            if md.as_bytes() != digest.as_slice() {
                return Err(Reason::DigestMismatch);
            }
            // RFC 5652 §5.4: the signature covers the DER of the SET OF attributes.
            attrs
                .to_der()
                .map_err(|_| Reason::Malformed("signed attributes".into()))?
        }
        None => {
            // RFC 5652 §5.3: without signed attributes the content must be id-data.
            if econtent_type != oid::DATA {
                return Err(Reason::BadAttributes(
                    "signed attributes are required".into(),
                ));
            }
            content.to_vec()
        }
    };
    crypto::verify(
        cert.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(digest_alg),
        &signed_bytes,
        si.signature.as_bytes(),
    )
    .map_err(sig_reason)
}

/// The signature over the signed attributes alone (RFC 5652 §5.4), for a detached
/// signature whose content is not at hand (`reseal keys import-cert signature.p7s`):
/// it proves that the attributes come from the holder of `cert`'s key, and says
/// nothing about any content.
pub fn verify_signed_attributes(si: &SignerInfo, cert: &Certificate) -> Result<(), Reason> {
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| Reason::BadAttributes("no signed attributes".into()))?;
    let digest_alg = crypto::signature_digest(&si.digest_alg.oid).map_err(sig_reason)?;
    let der = attrs
        .to_der()
        .map_err(|_| Reason::Malformed("signed attributes".into()))?;
    crypto::verify(
        cert.tbs_certificate().subject_public_key_info(),
        &si.signature_algorithm,
        Some(digest_alg),
        &der,
        si.signature.as_bytes(),
    )
    .map_err(sig_reason)
}

/// Verifies a detached SignedData with exactly one signer over `content` against a
/// fixed set of trusted certificates (the gateway's OPES identity or the CA that issued
/// it): the signer must be one of them or chain to one. Returns the signer certificate.
pub fn verify_with_trusted(
    der: &[u8],
    content: &[u8],
    trusted: &[Certificate],
    now: u64,
) -> Result<Certificate, Reason> {
    let CmsObject::Signed(sd) = parse(der).map_err(|f| Reason::Malformed(f.text))? else {
        return Err(Reason::Malformed("not a SignedData".into()));
    };
    let [si] = sd.signer_infos.0.as_slice() else {
        return Err(Reason::Malformed("exactly one signer expected".into()));
    };
    let mut certs = certificates(&sd);
    certs.extend(trusted.iter().cloned());
    let cert = find_signer_cert(si, &certs)
        .ok_or(Reason::UnknownSigner)?
        .clone();
    check_crypto(si, &cert, sd.encap_content_info.econtent_type, content)?;
    let direct = trusted.iter().any(|t| t == &cert);
    if !direct {
        pki::validate(&cert, &certs, trusted, now, pki::Purpose::Sign)
            .map_err(|e| Reason::Untrusted(e.to_string()))?;
    }
    Ok(cert)
}

fn sig_reason(e: crypto::SigError) -> Reason {
    match e {
        crypto::SigError::Weak(a) => Reason::WeakAlgorithm(a),
        crypto::SigError::Unsupported(a) => Reason::Unsupported(a),
        crypto::SigError::BadKey => Reason::Malformed("unusable public key".into()),
        crypto::SigError::Invalid => Reason::BadSignature,
    }
}

/// Verifies every SignerInfo of `sd` over `content` (the detached part's bytes, or the
/// eContent). Valid only if all of them verify (SECURITY.md invariant 5).
pub fn verify_signed(
    sd: &SignedData,
    content: &[u8],
    detached: bool,
    ctx: &UnwrapContext<'_>,
) -> SignatureVerdict {
    let mut certs = certificates(sd);
    certs.extend(ctx.known_certs.iter().cloned());
    let econtent_type = sd.encap_content_info.econtent_type;
    let mut signers: Vec<SignerVerdict> = sd
        .signer_infos
        .0
        .iter()
        .take(MAX_INFOS)
        .map(|si| verify_signer(si, econtent_type, content, &certs, ctx))
        .collect();
    if sd.signer_infos.0.len() > MAX_INFOS {
        // Signers we did not check can never count as verified.
        signers.push(SignerVerdict {
            addresses: Vec::new(),
            subject: String::new(),
            failure: Some(Reason::Unsupported(format!(
                "more than {MAX_INFOS} signers"
            ))),
        });
    }
    SignatureVerdict {
        technology: Technology::Smime,
        detached,
        signers,
    }
}

#[cfg(test)]
mod ber_tests {
    use super::*;

    #[test]
    fn constructed_octet_strings_are_joined() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", {"c"} } }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x24, 0x03, 0x04, 0x01, b'c', 0x00,
            0x00, 0x00, 0x00,
        ];
        assert_eq!(
            join_constructed_strings(&ber).as_deref(),
            Some(&[0x30, 0x80, 0x04, 0x03, b'a', b'b', b'c', 0, 0][..])
        );
        // A definite-length parent gets its new length.
        let ber = [0x30, 0x08, 0x24, 0x06, 0x04, 0x01, b'a', 0x04, 0x01, b'b'];
        assert_eq!(
            join_constructed_strings(&ber).as_deref(),
            Some(&[0x30, 0x04, 0x04, 0x02, b'a', b'b'][..])
        );
        // DER stays DER, and is not copied; a long chunk gets a long-form length.
        let der = [0x30, 0x03, 0x02, 0x01, 0x05];
        assert!(matches!(
            join_constructed_strings(&der),
            Some(Cow::Borrowed(b)) if b == der
        ));
        // Indefinite lengths without constructed strings are kept, not copied.
        let ber = [0x30, 0x80, 0x02, 0x01, 0x05, 0, 0];
        assert!(matches!(
            join_constructed_strings(&ber),
            Some(Cow::Borrowed(_))
        ));
        // A length in a longer form than needed is rewritten minimally, the parent's
        // length with it.
        let ber = [0x30, 0x81, 0x05, 0x04, 0x82, 0x00, 0x01, b'z'];
        assert_eq!(
            join_constructed_strings(&ber).as_deref(),
            Some(&[0x30, 0x03, 0x04, 0x01, b'z'][..])
        );
        let mut big = vec![0x24, 0x80];
        for _ in 0..3 {
            big.extend_from_slice(&[0x04, 0x81, 0x80]);
            big.extend_from_slice(&[b'x'; 0x80]);
        }
        big.extend_from_slice(&[0, 0]);
        let got = join_constructed_strings(&big).unwrap_or_default();
        assert_eq!(got.get(..4), Some(&[0x04, 0x82, 0x01, 0x80][..]));
        assert_eq!(got.len(), 4 + 384);
    }

    #[test]
    fn broken_ber_is_refused() {
        // No end-of-contents; a segment that is not an OCTET STRING; trailing bytes;
        // an indefinite primitive; nesting past the bound.
        assert_eq!(
            join_constructed_strings(&[0x24, 0x80, 0x04, 0x01, b'a']),
            None
        );
        assert_eq!(
            join_constructed_strings(&[0x24, 0x80, 0x02, 0x01, 0x01, 0, 0]),
            None
        );
        assert_eq!(join_constructed_strings(&[0x04, 0x01, b'a', 0xff]), None);
        assert_eq!(join_constructed_strings(&[0x04, 0x80, b'a', 0, 0]), None);
        let mut deep = vec![0x04, 0x00];
        for _ in 0..100 {
            let mut t = vec![0x30, 0x80];
            t.extend_from_slice(&deep);
            t.extend_from_slice(&[0, 0]);
            deep = t;
        }
        assert_eq!(join_constructed_strings(&deep), None);
    }

    /// RFC 5652 §3 ContentInfo read in place: definite and indefinite forms give the
    /// content TLV; anything around it that is not exactly the structure is refused.
    #[test]
    fn content_info_is_read_in_place() {
        let oid = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ];
        let inner = [0x30, 0x03, 0x02, 0x01, 0x01];
        let mut der = vec![0x30, 18];
        der.extend_from_slice(&oid);
        der.extend_from_slice(&[0xa0, 0x05]);
        der.extend_from_slice(&inner);
        let (ct, content) = content_info_parts(&der).unwrap();
        assert_eq!(ct, oid::SIGNED_DATA);
        assert_eq!(content, inner);
        assert!(is_signed_data(&der));
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(&oid);
        ber.extend_from_slice(&[0xa0, 0x80]);
        ber.extend_from_slice(&inner);
        ber.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(content_info_parts(&ber).unwrap().1, inner);
        assert!(is_signed_data(&ber));
        // Trailing bytes, a missing end-of-contents, a wrong explicit length, not a
        // SEQUENCE.
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(content_info_parts(&trailing).is_none());
        assert!(content_info_parts(&ber[..ber.len() - 2]).is_none());
        let mut short = der.clone();
        short[14] = 0x04;
        assert!(content_info_parts(&short).is_none());
        let mut set = der.clone();
        set[0] = 0x31;
        assert!(content_info_parts(&set).is_none());
        assert!(!is_signed_data(&set));
        assert!(!is_signed_data(b""));
    }
}
