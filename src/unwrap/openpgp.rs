//! OpenPGP layers: PGP/MIME encrypted (RFC 3156 §4), signed (§5), signed and encrypted
//! combined (§6.2) and nested (§6.1), and inline PGP in a text/plain body when the armored
//! block is the whole body (SECURITY.md invariant 4).
//!
//! Sequoia (crypto-openssl back-end) parses and checks. On top of its StandardPolicy we
//! refuse SED packets explicitly (rule 2), bound the packet nesting and the decompressed
//! size, and hold all plaintext in memory until the whole message, MDC or AEAD tags
//! included, has verified (rule 1). Every decryption or integrity failure becomes the one
//! uniform [`Failure::crypto`] (rule 3). The encryption container's integrity is checked
//! on its own before anything inside it is decompressed or parsed, so that no other
//! answer, the size refusal included, can come before the integrity verdict: see
//! [`container_integrity`].

use std::io::Read as _;

use openpgp::Cert;
use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SEIP, SKESK, Signature};
use openpgp::parse::Parse as _;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, DetachedVerifierBuilder, MessageLayer, MessageStructure,
    VerificationError, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::{PacketParser, PacketParserResult};
use openpgp::policy::StandardPolicy;
use openpgp::types::{HashAlgorithm, RevocationStatus, SymmetricAlgorithm};
use openpgp::{KeyHandle, Packet};
use sequoia_openpgp as openpgp;

use super::UnwrapContext;
use super::verdict::{Layer, Reason, SignatureVerdict, SignerVerdict, Technology};
use crate::error::Failure;

/// Packets nested deeper than this (encryption ▸ compression ▸ signature ▸ literal is 3)
/// are refused, on top of sequoia's own recursion limit of 16.
pub const MAX_PACKET_DEPTH: isize = 8;

/// What an OpenPGP operation found.
pub struct PgpResult {
    /// The plaintext (literal data), complete and authenticated.
    pub content: Vec<u8>,
    /// The layers sequoia reported, outermost first.
    pub layers: Vec<Layer>,
    /// Signatures that verified, to pass on detached when the gateway cannot re-sign.
    pub signatures: Vec<Signature>,
    /// The Literal Data packet's metadata (RFC 9580 §5.9), to rebuild a signed message
    /// around the same data ([`signed_message_frame`]).
    pub literal: Option<LiteralMeta>,
}

/// The metadata of a Literal Data packet (RFC 9580 §5.9): its format octet, file name
/// and date. No signature covers them (§5.9: "OpenPGP signatures do not include the
/// formatting octet, the file name, and the date field"); the gateway keeps them only so
/// that a rebuilt signed message shows what the sender's did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralMeta {
    pub format: openpgp::types::DataFormat,
    pub filename: Option<Vec<u8>>,
    pub date: Option<std::time::SystemTime>,
}

struct Helper<'a, 'b> {
    ctx: &'a UnwrapContext<'b>,
    certs: Vec<Cert>,
    layers: Vec<Layer>,
    signatures: Vec<Signature>,
    sed_seen: bool,
    too_deep: bool,
    /// The message being decrypted, whose encryption container is checked as soon as
    /// the session key is known ([`container_integrity`]). `None` when only verifying.
    message: Option<&'a [u8]>,
    /// What that check found; `None` while nothing has been decrypted.
    integrity: Option<Integrity>,
    /// The first Literal Data packet's metadata.
    literal: Option<LiteralMeta>,
}

impl<'a, 'b> Helper<'a, 'b> {
    fn new(ctx: &'a UnwrapContext<'b>) -> Self {
        let mut certs: Vec<Cert> = ctx.pgp_certs.clone();
        if let Some(ks) = ctx.keystore {
            certs.extend(ks.openpgp_keys().map(|k| k.cert.clone()));
        }
        Helper {
            ctx,
            certs,
            layers: Vec::new(),
            signatures: Vec::new(),
            sed_seen: false,
            too_deep: false,
            message: None,
            integrity: None,
            literal: None,
        }
    }
}

#[allow(deprecated)]
fn weak_hash(h: HashAlgorithm) -> bool {
    matches!(
        h,
        HashAlgorithm::SHA1 | HashAlgorithm::MD5 | HashAlgorithm::RipeMD
    )
}

/// The e-mail addresses of a certificate's valid user IDs, lower-cased.
pub fn cert_addresses(cert: &Cert) -> Vec<String> {
    let p = StandardPolicy::new();
    let mut out: Vec<String> = match cert.with_policy(&p, None) {
        Ok(vc) => vc
            .userids()
            .filter_map(|u| u.userid().email_normalized().ok().flatten())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.dedup();
    out
}

/// Why a key is bad, in the words the issue asks for: expired, revoked, not yet valid.
fn key_problem(cert: &Cert, error: &anyhow::Error) -> Reason {
    let p = StandardPolicy::new();
    if let RevocationStatus::Revoked(_) = cert.revocation_status(&p, None) {
        return Reason::Untrusted(format!("key {} is revoked", cert.fingerprint()));
    }
    let text = error.to_string();
    let lower = text.to_ascii_lowercase();
    if lower.contains("expired") {
        Reason::Untrusted(format!("key {} has expired", cert.fingerprint()))
    } else if lower.contains("not yet") || lower.contains("future") {
        Reason::Untrusted(format!("key {} is not yet valid", cert.fingerprint()))
    } else if lower.contains("revoked") {
        Reason::Untrusted(format!("key {} is revoked", cert.fingerprint()))
    } else {
        Reason::Untrusted(format!("key {}: {text}", cert.fingerprint()))
    }
}

/// Why the signing key cannot be relied on now, if it cannot.
fn not_alive_now(cert: &Cert, key: &openpgp::Fingerprint) -> Option<Reason> {
    use openpgp::cert::amalgamation::ValidAmalgamation as _;
    let p = StandardPolicy::new();
    if let RevocationStatus::Revoked(_) = cert.revocation_status(&p, None) {
        return Some(Reason::Untrusted(format!(
            "key {} is revoked",
            cert.fingerprint()
        )));
    }
    let vc = match cert.with_policy(&p, None) {
        Ok(vc) => vc,
        Err(e) => return Some(key_problem(cert, &e)),
    };
    let now = std::time::SystemTime::now();
    let lifetime =
        |created: std::time::SystemTime, expires: Option<std::time::SystemTime>, what: &str| {
            if created > now {
                Some(Reason::Untrusted(format!("{what} is not yet valid")))
            } else if expires.is_some_and(|t| t <= now) {
                Some(Reason::Untrusted(format!("{what} has expired")))
            } else {
                None
            }
        };
    let primary = vc.primary_key();
    if let Some(r) = lifetime(
        primary.key().creation_time(),
        primary.key_expiration_time(),
        &format!("key {}", cert.fingerprint()),
    ) {
        return Some(r);
    }
    let ka = vc.keys().key_handle(key.clone()).next()?;
    if let RevocationStatus::Revoked(_) = ka.revocation_status() {
        return Some(Reason::Untrusted(format!("signing key {key} is revoked")));
    }
    if let Some(r) = lifetime(
        ka.key().creation_time(),
        ka.key_expiration_time(),
        &format!("signing key {key}"),
    ) {
        return Some(r);
    }
    match (vc.alive(), ka.alive()) {
        (Ok(()), Ok(())) => None,
        (Err(e), _) | (_, Err(e)) => Some(key_problem(cert, &e)),
    }
}

impl Helper<'_, '_> {
    fn signer_verdict(
        &mut self,
        r: &Result<openpgp::parse::stream::GoodChecksum<'_>, VerificationError<'_>>,
    ) -> SignerVerdict {
        let mut v = SignerVerdict {
            addresses: Vec::new(),
            subject: String::new(),
            failure: None,
        };
        match r {
            Ok(good) => {
                let cert = good.ka.cert();
                v.subject = cert.fingerprint().to_hex();
                v.addresses = cert_addresses(cert);
                if weak_hash(good.sig.hash_algo()) {
                    v.failure = Some(Reason::WeakAlgorithm(good.sig.hash_algo().to_string()));
                    return v;
                }
                // The signature was good when made; the gateway acts now, so the key
                // must still be alive and unrevoked now (as gpg's EXPKEYSIG/REVKEYSIG).
                if let Some(problem) = not_alive_now(cert, &good.ka.key().fingerprint()) {
                    v.failure = Some(problem);
                    return v;
                }
                v.failure = match &self.ctx.from {
                    None => Some(Reason::NoSingleFrom),
                    Some(from) if v.addresses.iter().any(|a| a == from) => None,
                    Some(from) => Some(Reason::SignerNotFrom {
                        signer: v.addresses.clone(),
                        from: from.clone(),
                    }),
                };
                if v.failure.is_none() {
                    self.signatures.push(good.sig.clone());
                }
            }
            Err(e) => {
                v.failure = Some(match e {
                    VerificationError::MissingKey { sig } => {
                        v.subject = sig
                            .get_issuers()
                            .first()
                            .map(|h| h.to_hex())
                            .unwrap_or_default();
                        if weak_hash(sig.hash_algo()) {
                            Reason::WeakAlgorithm(sig.hash_algo().to_string())
                        } else {
                            Reason::UnknownSigner
                        }
                    }
                    VerificationError::UnboundKey { cert, error, .. } => {
                        v.subject = cert.fingerprint().to_hex();
                        v.addresses = cert_addresses(cert);
                        Reason::Untrusted(format!("signing key not bound: {error}"))
                    }
                    VerificationError::BadKey { ka, error, .. } => {
                        let cert = ka.cert();
                        v.subject = cert.fingerprint().to_hex();
                        v.addresses = cert_addresses(cert);
                        key_problem(cert, error)
                    }
                    VerificationError::BadSignature { sig, ka, error } => {
                        let cert = ka.cert();
                        v.subject = cert.fingerprint().to_hex();
                        v.addresses = cert_addresses(cert);
                        if weak_hash(sig.hash_algo()) {
                            Reason::WeakAlgorithm(sig.hash_algo().to_string())
                        } else if error.to_string().to_ascii_lowercase().contains("policy") {
                            Reason::WeakAlgorithm(error.to_string())
                        } else {
                            Reason::BadSignature
                        }
                    }
                    VerificationError::MalformedSignature { error, .. } => {
                        Reason::Malformed(error.to_string())
                    }
                    VerificationError::UnknownSignature { .. } => {
                        Reason::Unsupported("unknown signature version".into())
                    }
                    _ => Reason::Malformed(e.to_string()),
                });
            }
        }
        v
    }
}

impl VerificationHelper for Helper<'_, '_> {
    fn inspect(&mut self, pp: &openpgp::parse::PacketParser<'_>) -> openpgp::Result<()> {
        // SECURITY.md invariant 2: Symmetrically Encrypted Data (tag 9) has no integrity
        // protection at all; refuse it whatever a policy says.
        if pp.packet.tag() == openpgp::packet::Tag::SED {
            self.sed_seen = true;
            return Err(anyhow::anyhow!("SED packet refused"));
        }
        if pp.recursion_depth() > MAX_PACKET_DEPTH {
            self.too_deep = true;
            return Err(anyhow::anyhow!("OpenPGP packets nested too deeply"));
        }
        if let Packet::Literal(l) = &pp.packet
            && self.literal.is_none()
        {
            self.literal = Some(LiteralMeta {
                format: l.format(),
                filename: l.filename().map(<[u8]>::to_vec),
                date: l.date(),
            });
        }
        Ok(())
    }

    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self
            .certs
            .iter()
            .filter(|c| {
                c.keys().any(|k| {
                    ids.iter()
                        .any(|id| id.aliases(KeyHandle::from(k.key().fingerprint())))
                })
            })
            .cloned()
            .collect())
    }

    fn check(&mut self, structure: MessageStructure<'_>) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            match layer {
                MessageLayer::Compression { .. } => {}
                MessageLayer::Encryption {
                    sym_algo,
                    aead_algo,
                } => {
                    let cipher = match aead_algo {
                        Some(a) => format!("{sym_algo}-{a} (SEIPDv2)"),
                        None => format!("{sym_algo} (SEIPDv1+MDC)"),
                    };
                    self.layers.push(Layer::Encrypted {
                        technology: Technology::Openpgp,
                        cipher,
                        // SEIPDv1 is accepted only with a valid MDC and v2 is AEAD;
                        // sequoia fails the read otherwise.
                        authenticated: true,
                    });
                }
                MessageLayer::SignatureGroup { results } => {
                    let signers = results.iter().map(|r| self.signer_verdict(r)).collect();
                    self.layers.push(Layer::Signed(SignatureVerdict {
                        technology: Technology::Openpgp,
                        detached: false,
                        signers,
                    }));
                }
            }
        }
        Ok(())
    }
}

/// A keystore failure of the moment inside sequoia's decryption callback, carried out
/// through its error to `decrypt_inner`.
#[derive(Debug)]
struct KeyAway(reseal_keystore::Error);

impl std::fmt::Display for KeyAway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a key cannot be used at the moment: {}", self.0)
    }
}

impl std::error::Error for KeyAway {}

impl DecryptionHelper for Helper<'_, '_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        let Some(ks) = self.ctx.keystore else {
            return Err(anyhow::anyhow!("no keystore"));
        };
        let parties: Vec<&str> = self.ctx.parties.iter().map(String::as_str).collect();
        let keys: Vec<String> = ks
            .openpgp_decryption_keys(&parties)
            .map(|k| k.id.clone())
            .collect();
        for pkesk in pkesks.iter().take(64) {
            for id in &keys {
                let opened = ks.openpgp_decrypt_pkesk(id, &parties, pkesk, sym_algo);
                if let Err(e) = opened {
                    if e.is_temporary() {
                        return Err(KeyAway(e).into());
                    }
                    continue;
                }
                if let Ok(Some((algo, sk))) = opened
                    && decrypt(algo, &sk)
                {
                    // Integrity first: sequoia has checked only the key (the quick check
                    // or the first AEAD chunk); nothing inside has been read yet.
                    let verdict = match self.message {
                        Some(m) => container_integrity(m, algo.or(sym_algo), &sk),
                        None => Integrity::Unchecked,
                    };
                    self.integrity = Some(verdict);
                    if verdict == Integrity::Tampered {
                        return Err(anyhow::anyhow!("the encryption container is not intact"));
                    }
                    return Ok(None);
                }
            }
        }
        Err(anyhow::anyhow!("no delegated key opens this message"))
    }
}

/// Reads everything, bounded: a compression bomb stops at `limit`. `None` when the
/// content goes past the limit; what that means is the caller's decision.
fn read_bounded(r: &mut dyn std::io::Read, limit: usize) -> Result<Option<Vec<u8>>, Failure> {
    // Through a small buffer rather than `read_to_end`: a reader without `read_buf`
    // (sequoia's) would have the whole spare capacity zeroed, up to twice the plaintext
    // in memory (docs/performance.md, "Memory").
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!("OpenPGP read failed: {e}");
                return Err(Failure::crypto());
            }
        };
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if out.len() > limit {
            return Ok(None);
        }
    }
    Ok(Some(out))
}

/// The refusal of content that decrypts or decompresses past the limit.
fn too_big(limit: usize) -> Failure {
    Failure::new(
        crate::error::Kind::ContentTooBig,
        format!("The decrypted or decompressed content exceeds the limit of {limit} bytes"),
    )
}

/// sequoia's read-ahead buffer while decrypting (its default is 25 MB).
const SEQUOIA_BUFFER: usize = 64 * 1024;

/// Bytes read at a time by the integrity check.
const INTEGRITY_CHUNK: usize = 64 * 1024;

/// The verdict of [`container_integrity`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Integrity {
    /// The MDC or every AEAD tag, the final one included, verified.
    Intact,
    /// They did not: the uniform failure, before anything inside is read.
    Tampered,
    /// The message is not ESK packets then a SEIPD at the top level, the one structure
    /// the check walks (and the one every OpenPGP implementation writes). Sequoia's own
    /// check at the end of the container still applies, but there is no verdict before
    /// the plaintext is inflated, so past the limit such a message gets the uniform
    /// failure, never the size refusal.
    Unchecked,
}

/// Checks the encryption container of `message` on the decrypted but never decompressed
/// or parsed stream, with the session key that opened it, before sequoia reads anything
/// inside: integrity first, then parsing, then limits (RFC 9580 §13.7: "Parsing or
/// releasing decrypted data before having confirmed its integrity can leak the decrypted
/// data").
///
/// Why: sequoia checks the MDC (RFC 9580 §5.13.1; RFC 4880 §5.13 and the MDC packet of
/// §5.14) or the final AEAD tag (RFC 9580 §5.13.2) only once the whole container has been
/// read, that is, after everything inside has been decompressed. Refusing a compression
/// bomb for its size before that gave a tampered ciphertext (MDC flipped or cut, a bad
/// final tag) 5.3.4 instead of the uniform 5.7.5, and even with one reply the time spent
/// inflating tampered plaintext up to the limit, or failing early, said something about
/// it: the format oracle RFC 9580 §13.7 warns about and SECURITY.md invariant 3 forbids.
/// Reading the decompressed stream to its end first is no answer: 1 KB of deflate
/// inflates to about 1 MB, so its cost has no bound (RFC 9580 §13.14).
///
/// How: the container is no bigger than the message, which the gateway has already
/// bounded (`limits.max_message_bytes`), so one pass over it without descending into the
/// packets it holds costs one symmetric decryption and one hash of at most the message
/// size, whatever the compression ratio. Sequoia cannot stop at the container (its parser
/// pushes the decompressor as soon as it meets a Compressed Data packet), so this walks
/// the top-level packets itself:
/// - SEIPDv1: the whole body is decrypted in CFB mode with a zero IV and no
///   resynchronisation (RFC 9580 §5.13.1); SHA-1 over the prefix, the plaintext and the
///   MDC packet's two header octets 0xD3 0x14 (RFC 4880 §5.14: tag 19, length 20) must
///   equal the last 20 octets.
/// - SEIPDv2: sequoia decrypts the container, and reading its body to the end without
///   recursing into it checks every chunk's tag and the final tag (RFC 9580 §5.13.2).
fn container_integrity(
    message: &[u8],
    algo: Option<SymmetricAlgorithm>,
    sk: &SessionKey,
) -> Integrity {
    let Ok(mut ppr) = PacketParser::from_bytes(message) else {
        return Integrity::Unchecked;
    };
    // RFC 9580 §10.3: an encrypted message is ESK packets, then the encrypted container.
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            Packet::PKESK(_) | Packet::SKESK(_) | Packet::Marker(_) | Packet::Padding(_) => {
                ppr = match pp.next() {
                    Ok((_, next)) => next,
                    Err(_) => return Integrity::Unchecked,
                };
            }
            Packet::SEIP(SEIP::V1(_)) => {
                return match algo {
                    Some(a) if seipd_v1_intact(pp, a, sk) => Integrity::Intact,
                    Some(_) => Integrity::Tampered,
                    None => Integrity::Unchecked,
                };
            }
            Packet::SEIP(SEIP::V2(_)) => {
                return if seipd_v2_intact(pp, sk) {
                    Integrity::Intact
                } else {
                    Integrity::Tampered
                };
            }
            _ => return Integrity::Unchecked,
        }
    }
    Integrity::Unchecked
}

/// RFC 9580 §5.13.1 (RFC 4880 §5.13, §5.14): decrypts the SEIPDv1 body `pp` stands on and
/// checks its MDC, streaming: at most [`INTEGRITY_CHUNK`] bytes plus the MDC are held.
fn seipd_v1_intact(pp: PacketParser<'_>, algo: SymmetricAlgorithm, sk: &SessionKey) -> bool {
    use openpgp::crypto::symmetric::{BlockCipherMode, Decryptor, UnpaddingMode};
    /// The MDC packet: 0xD3 (tag 19, new format), 0x14 (length 20), the SHA-1.
    const MDC_PACKET: usize = 22;
    let Ok(prefix) = algo.block_size().map(|b| b + 2) else {
        return false;
    };
    // The IV is all zeros (None), the mode plain CFB.
    let Ok(mut dec) = Decryptor::new(
        algo,
        BlockCipherMode::CFB,
        UnpaddingMode::None,
        sk,
        None,
        pp,
    ) else {
        return false;
    };
    let Ok(hash) = HashAlgorithm::SHA1.context() else {
        return false;
    };
    let mut hash = hash.for_digest();
    let mut held: Vec<u8> = Vec::with_capacity(INTEGRITY_CHUNK + MDC_PACKET);
    let mut buf = vec![0u8; INTEGRITY_CHUNK];
    let mut total: usize = 0;
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!("SEIPDv1 integrity pass: {e}");
                return false;
            }
        };
        total = total.saturating_add(n);
        held.extend_from_slice(buf.get(..n).unwrap_or_default());
        // Hash all but the last 22 bytes seen so far: they may be the MDC packet.
        if let Some(k) = held.len().checked_sub(MDC_PACKET)
            && k > 0
        {
            hash.update(held.get(..k).unwrap_or_default());
            held.drain(..k);
        }
    }
    // The prefix, then the MDC packet at least (RFC 9580 §5.13.1).
    if total < prefix + MDC_PACKET {
        return false;
    }
    let Some((header, stored)) = held.split_at_checked(2) else {
        return false;
    };
    if header != [0xD3, 0x14] {
        return false;
    }
    hash.update(header);
    let mut computed = [0u8; 20];
    if hash.digest(&mut computed).is_err() {
        return false;
    }
    computed.as_slice() == stored
}

/// RFC 9580 §5.13.2: decrypts the SEIPDv2 container `pp` stands on and reads its body to
/// the end without parsing it; sequoia's AEAD reader fails on a bad chunk tag, and on a
/// bad or missing final tag when it meets the end.
fn seipd_v2_intact(mut pp: PacketParser<'_>, sk: &SessionKey) -> bool {
    if let Err(e) = pp.decrypt(None, sk) {
        tracing::debug!("SEIPDv2 integrity pass: {e}");
        return false;
    }
    match std::io::copy(&mut pp, &mut std::io::sink()) {
        Ok(_) => true,
        Err(e) => {
            tracing::debug!("SEIPDv2 integrity pass: {e}");
            false
        }
    }
}

/// Decrypts (and verifies any signature inside) an OpenPGP message.
/// RFC 9580 §5.1, §10.3: whether the message's public-key encrypted session keys all
/// name recipients the gateway holds no key for (for these parties). Read from the
/// packets before the container, before any key is used, so saying so is no oracle
/// (docs/architecture.md, "Mail encrypted to someone else"). An anonymous recipient
/// (wildcard key ID), a password (SKESK) or anything unreadable is not "foreign".
fn addressed_to_others_only(message: &[u8], ctx: &UnwrapContext<'_>) -> bool {
    if ctx.trial_decryption {
        return false;
    }
    let parties: Vec<&str> = ctx.parties.iter().map(String::as_str).collect();
    let ours: Vec<KeyHandle> = ctx
        .keystore
        .map(|ks| {
            ks.openpgp_decryption_keys(&parties)
                .flat_map(|k| {
                    k.cert
                        .keys()
                        .map(|ka| ka.key().key_handle())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let Ok(mut ppr) = PacketParser::from_bytes(message) else {
        return false;
    };
    let mut named = 0usize;
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            Packet::PKESK(pkesk) => match pkesk.recipient() {
                Some(h) if !ours.iter().any(|o| o.aliases(&h)) => named += 1,
                // Ours, or anonymous: try the keys.
                _ => return false,
            },
            Packet::Marker(_) | Packet::Padding(_) => {}
            Packet::SEIP(_) => return named > 0,
            _ => return false,
        }
        if named > 64 {
            return false;
        }
        ppr = match pp.next() {
            Ok((_, next)) => next,
            Err(_) => return false,
        };
    }
    false
}

fn decrypt_inner(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<PgpResult, Failure> {
    if addressed_to_others_only(message, ctx) {
        tracing::info!("OpenPGP: encrypted to no key the gateway holds for the sender");
        return Err(Failure::foreign_encryption());
    }
    let p = StandardPolicy::new();
    let limit = ctx.max_plaintext;
    let mut helper = Helper::new(ctx);
    helper.message = Some(message);
    let builder = DecryptorBuilder::from_bytes(message).map_err(|e| {
        tracing::debug!("not an OpenPGP message: {e}");
        Failure::crypto()
    })?;
    // Rule 1 (nothing released before the whole message checked out): read_bounded
    // gathers the whole plaintext, and it is used only after the read completed without
    // error, every signature and the container's integrity checked. sequoia need not
    // hold a second copy of it for the same purpose (a large message would be in memory
    // twice more, docs/performance.md "Memory"), so its own buffer stays small.
    let mut d = builder
        .buffer_size(SEQUOIA_BUFFER)
        .with_policy(&p, None, helper)
        .map_err(|e| {
            // A key that cannot be used for the moment (Error::is_temporary): the message
            // waits. It says nothing about the ciphertext.
            if let Some(away) = e.downcast_ref::<KeyAway>() {
                return Failure::key_unavailable(&away.0);
            }
            tracing::debug!("OpenPGP decryption failed: {e}");
            Failure::crypto()
        })?;
    let Some(content) = read_bounded(&mut d, limit)? else {
        return Err(match d.into_helper().integrity {
            // Nothing was decrypted: a plain (signed or compressed) message past the
            // limit, with no integrity protection to check.
            None => too_big(limit),
            // The container verified before anything inside was inflated.
            Some(Integrity::Intact) => too_big(limit),
            // No verdict without inflating it all: the uniform failure, which depends
            // on nothing inside.
            Some(Integrity::Tampered | Integrity::Unchecked) => Failure::crypto(),
        });
    };
    if !d.message_processed() {
        return Err(Failure::crypto());
    }
    let h = d.into_helper();
    if h.sed_seen
        || h.too_deep
        || !h
            .layers
            .iter()
            .any(|l| matches!(l, Layer::Encrypted { .. }))
    {
        return Err(Failure::crypto());
    }
    Ok(PgpResult {
        content,
        layers: h.layers,
        signatures: h.signatures,
        literal: h.literal,
    })
}

/// Verifies a detached signature (PGP/MIME §5) over `data`.
fn verify_detached_inner(
    signature: &[u8],
    data: &[u8],
    ctx: &UnwrapContext<'_>,
) -> SignatureVerdict {
    let p = StandardPolicy::new();
    let helper = Helper::new(ctx);
    let malformed = |e: String| SignatureVerdict {
        technology: Technology::Openpgp,
        detached: true,
        signers: vec![SignerVerdict {
            addresses: Vec::new(),
            subject: String::new(),
            failure: Some(Reason::Malformed(e)),
        }],
    };
    let mut v = match DetachedVerifierBuilder::from_bytes(signature)
        .and_then(|b| b.with_policy(&p, None, helper))
    {
        Ok(v) => v,
        Err(e) => return malformed(e.to_string()),
    };
    if let Err(e) = v.verify_bytes(data) {
        return malformed(e.to_string());
    }
    let h = v.into_helper();
    match h.layers.into_iter().rev().find_map(|l| match l {
        Layer::Signed(s) => Some(s),
        Layer::Encrypted { .. } => None,
    }) {
        Some(mut s) => {
            s.detached = true;
            s
        }
        None => malformed("no signature".into()),
    }
}

/// What verifying an inline (cleartext-signed or signed) message found.
pub struct InlineVerified {
    /// The signed text (the literal data).
    pub content: Vec<u8>,
    pub verdict: SignatureVerdict,
    /// The signatures that verified, as for [`PgpResult::signatures`].
    pub signatures: Vec<Signature>,
    pub literal: Option<LiteralMeta>,
}

/// Verifies an inline (cleartext-signed or signed) message; returns the signed text.
fn verify_inline_inner(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<InlineVerified, Failure> {
    let p = StandardPolicy::new();
    let helper = Helper::new(ctx);
    let mut v = VerifierBuilder::from_bytes(message)
        .and_then(|b| {
            b.buffer_size(ctx.max_plaintext.saturating_add(1))
                .with_policy(&p, None, helper)
        })
        .map_err(|e| {
            tracing::debug!("inline OpenPGP verification failed: {e}");
            Failure::crypto()
        })?;
    // Nothing is decrypted here: past the limit is simply too big.
    let content =
        read_bounded(&mut v, ctx.max_plaintext)?.ok_or_else(|| too_big(ctx.max_plaintext))?;
    let h = v.into_helper();
    let verdict = h
        .layers
        .into_iter()
        .find_map(|l| match l {
            Layer::Signed(s) => Some(s),
            Layer::Encrypted { .. } => None,
        })
        .ok_or_else(Failure::crypto)?;
    Ok(InlineVerified {
        content,
        verdict,
        signatures: h.signatures,
        literal: h.literal,
    })
}

/// Runs a sequoia operation, turning a panic inside the library into `on_panic`.
/// sequoia-openpgp 2.4.2 panics on some truncated SEIPD packets (parse.rs
/// `data_consume_hard(..).unwrap()`); untrusted input must never take the process down.
fn guarded<T>(on_panic: impl FnOnce() -> T, f: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!("the OpenPGP library panicked on this input; refused");
            on_panic()
        }
    }
}

/// Decrypts (and verifies any signature inside) an OpenPGP message.
pub fn decrypt(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<PgpResult, Failure> {
    // The usual armor is taken off here, much faster than sequoia's reader would; any
    // other form goes to sequoia as it came (crate::crypto::armor::dearmor_message).
    let binary = crate::crypto::armor::dearmor_message(message);
    decrypt_prepared(binary.as_deref().unwrap_or(message), ctx)
}

/// [`decrypt`] for a message the caller hands over: once de-armored, the armored text
/// is let go before decryption (a large message is not held twice more,
/// docs/performance.md "Memory").
pub fn decrypt_owned(message: bytes::Bytes, ctx: &UnwrapContext<'_>) -> Result<PgpResult, Failure> {
    match crate::crypto::armor::dearmor_message(&message) {
        Some(binary) => {
            drop(message);
            decrypt_prepared(&binary, ctx)
        }
        None => decrypt_prepared(&message, ctx),
    }
}

fn decrypt_prepared(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<PgpResult, Failure> {
    guarded(|| Err(Failure::crypto()), || decrypt_inner(message, ctx))
}

/// Verifies a detached signature (PGP/MIME §5) over `data`.
pub fn verify_detached(signature: &[u8], data: &[u8], ctx: &UnwrapContext<'_>) -> SignatureVerdict {
    guarded(
        || SignatureVerdict {
            technology: Technology::Openpgp,
            detached: true,
            signers: vec![SignerVerdict {
                addresses: Vec::new(),
                subject: String::new(),
                failure: Some(Reason::Malformed("unparsable signature".into())),
            }],
        },
        || verify_detached_inner(signature, data, ctx),
    )
}

/// Verifies an inline (cleartext-signed or signed) message; returns the signed text.
pub fn verify_inline(message: &[u8], ctx: &UnwrapContext<'_>) -> Result<InlineVerified, Failure> {
    guarded(
        || Err(Failure::crypto()),
        || verify_inline_inner(message, ctx),
    )
}

/// The signature packets of an armored (or binary) detached signature, re-armored by
/// the gateway (no armor headers: RFC 9580 §6.2.2, they are not signed), with the hash
/// algorithm of the first. `None` unless the block is one or more signatures and nothing
/// else.
pub fn rearmored_signatures(signature: &[u8]) -> Option<(Vec<u8>, HashAlgorithm)> {
    guarded(
        || None,
        || {
            let mut sigs = Vec::new();
            let mut ppr = PacketParser::from_bytes(signature).ok()?;
            while let PacketParserResult::Some(pp) = ppr {
                let (packet, next) = pp.next().ok()?;
                match packet {
                    Packet::Signature(s) if sigs.len() < 64 => sigs.push(s),
                    _ => return None,
                }
                ppr = next;
            }
            let hash = sigs.first()?.hash_algo();
            Some((armored_signatures(&sigs)?, hash))
        },
    )
}

/// Serializes signatures as an armored detached signature block.
pub fn armored_signatures(sigs: &[Signature]) -> Option<Vec<u8>> {
    use openpgp::serialize::Serialize as _;
    let mut out = Vec::new();
    {
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).ok()?;
        for s in sigs {
            Packet::from(s.clone()).serialize(&mut w).ok()?;
        }
        w.finalize().ok()?;
    }
    Some(out)
}

/// How the literal data that signatures cover stands to its CRLF form
/// (`mime::to_crlf`), the form the gateway hands to services and the record rebuilds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedLineEnds {
    /// The signatures verify over the CRLF form: the literal data has CRLF line ends
    /// already, or every signature is a text signature, whose hash makes line ends CRLF
    /// first (RFC 9580 §5.2.1.2, §5.2.4).
    Crlf,
    /// A binary signature (RFC 9580 §5.2.1.1: "the document data is hashed directly")
    /// over literal data with LF line ends and no CR: replacing each CRLF of the CRLF
    /// form by LF gives the signed bytes back. gpgme-based clients (NeoMutt's gpgme
    /// backend, KMail) sign PGP/MIME this way inside the encryption (RFC 3156 §6.2).
    Lf,
    /// A binary signature over literal data with CRLF and LF line ends mixed: the CRLF
    /// form cannot give the signed bytes back.
    Mixed,
}

/// See [`SignedLineEnds`].
pub fn signed_line_ends(literal: &[u8], sigs: &[Signature]) -> SignedLineEnds {
    if sigs
        .iter()
        .all(|s| s.typ() == openpgp::types::SignatureType::Text)
    {
        SignedLineEnds::Crlf
    } else if matches!(crate::mime::to_crlf(literal), std::borrow::Cow::Borrowed(_)) {
        // No LF without its CR: the CRLF form is the literal data itself.
        SignedLineEnds::Crlf
    } else if !literal.contains(&b'\r') {
        SignedLineEnds::Lf
    } else {
        SignedLineEnds::Mixed
    }
}

/// A signed OpenPGP message around literal data `data`, split where the data goes
/// (RFC 9580 §10.3, "One-Pass Signed Message"): before it the One-Pass Signature packets
/// (§5.4) and the Literal Data packet's header (§5.9, definite length, OpenPGP framing
/// §4.2.1), after it the Signature packets. The one-pass packets follow the order of
/// `sigs` and only the last has its flag set (§5.4: 0 means the next packet is another
/// one-pass signature over the same data); the signatures close them in reverse order.
///
/// This is the message the sender's signatures verify over once the encryption around
/// them is gone: `gpg --verify` and `sq verify` check it as it is. No signature covers
/// the literal packet's metadata (§5.9), which `literal` carries over when known.
/// `None` if there is no signature or a packet cannot be written.
pub fn signed_message_frame(
    literal: Option<&LiteralMeta>,
    sigs: &[Signature],
    data: &[u8],
) -> Option<(Vec<u8>, Vec<u8>)> {
    guarded(
        || None,
        || {
            use openpgp::packet::{Literal, OnePassSig};
            use openpgp::serialize::Serialize as _;
            if sigs.is_empty() || sigs.len() > 64 {
                return None;
            }
            let mut prefix = Vec::new();
            for (i, s) in sigs.iter().enumerate() {
                let mut ops = OnePassSig::try_from(s).ok()?;
                ops.set_last(i + 1 == sigs.len());
                Packet::from(ops).serialize(&mut prefix).ok()?;
            }
            let mut lit =
                Literal::new(literal.map_or(openpgp::types::DataFormat::Binary, |l| l.format));
            if let Some(name) = literal.and_then(|l| l.filename.as_ref()) {
                lit.set_filename(name).ok()?;
            }
            lit.set_date(literal.and_then(|l| l.date)).ok()?;
            lit.set_body(data.to_vec());
            let mut packet = Vec::with_capacity(data.len() + 32);
            Packet::from(lit).serialize(&mut packet).ok()?;
            let header_len = packet.len().checked_sub(data.len())?;
            if packet.get(header_len..)? != data {
                return None;
            }
            prefix.extend_from_slice(packet.get(..header_len)?);
            let mut suffix = Vec::new();
            for s in sigs.iter().rev() {
                Packet::from(s.clone()).serialize(&mut suffix).ok()?;
            }
            Some((prefix, suffix))
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use openpgp::types::SignatureType;

    fn sig(typ: SignatureType) -> Signature {
        use openpgp::cert::CertBuilder;
        use openpgp::packet::signature::SignatureBuilder;
        let (cert, _) = CertBuilder::general_purpose(Some("a@example.com"))
            .generate()
            .unwrap();
        let mut keypair = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        SignatureBuilder::new(typ)
            .sign_message(&mut keypair, b"x")
            .unwrap()
    }

    #[test]
    fn line_ends_the_signatures_need() {
        let binary = [sig(SignatureType::Binary)];
        let text = [sig(SignatureType::Text)];
        let both = [text[0].clone(), binary[0].clone()];
        use SignedLineEnds::*;
        for (literal, sigs, want) in [
            (&b"a\r\nb\r\n"[..], &binary[..], Crlf),
            (b"a\nb\n", &binary, Lf),
            (b"a\nb\r\n", &binary, Mixed),
            (b"a\nb\r\n", &text, Crlf),
            (b"a\nb\n", &text, Crlf),
            (b"a\nb\n", &both, Lf),
            (b"a\nb\r\n", &both, Mixed),
            (b"no line end", &binary, Crlf),
        ] {
            assert_eq!(signed_line_ends(literal, sigs), want, "{literal:?}");
        }
    }

    #[test]
    fn a_signed_message_frame_splits_around_the_data() {
        let sigs = [sig(SignatureType::Binary), sig(SignatureType::Binary)];
        let data = b"Hello\n";
        let (prefix, suffix) = signed_message_frame(None, &sigs, data).unwrap();
        let message = [prefix.as_slice(), data, &suffix].concat();
        let packets: Vec<Packet> = openpgp::PacketPile::from_bytes(&message)
            .unwrap()
            .into_children()
            .collect();
        assert!(matches!(packets.as_slice(), [
                Packet::OnePassSig(a),
                Packet::OnePassSig(b),
                Packet::Literal(l),
                Packet::Signature(_),
                Packet::Signature(_),
            ] if !a.last() && b.last() && l.body() == data));
        assert!(signed_message_frame(None, &[], data).is_none());
    }
}
