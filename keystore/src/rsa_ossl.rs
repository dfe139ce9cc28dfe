//! RSA private-key operations on OpenSSL: the provider behind the keystore's operation
//! interface (`Keystore::sign_digest`, `Keystore::unwrap_cek`).
//!
//! Why OpenSSL: it is already linked (sequoia's back-end, PKCS#12), and its RSA private
//! operation is constant-time and blinded by default (RSA_FLAG_BLINDING) and about ten
//! times faster here than the `rsa` crate's (docs/performance.md). OpenPGP RSA keys run
//! here too ([`RsaKey::from_openpgp`]), and the public-key side (verification, key
//! transport) runs on OpenSSL in the main crate (`crypto::PublicKey`): the `rsa` crate
//! is no longer used.
//!
//! PKCS#1 v1.5 decryption uses implicit rejection (draft-irtf-cfrg-rsa-guidance-10 §7,
//! the Marvin countermeasure): OpenSSL 3.0, as on Debian 12, does not have it, so the
//! raw RSA operation runs in OpenSSL (no padding) and the decoding is ours, in constant
//! time: a ciphertext with bad padding yields a deterministic synthetic key derived from
//! the private exponent and the ciphertext, never an error, so no caller can branch on
//! the padding. SECURITY.md invariant 3 (one reply for every decryption failure) rests on
//! it; the draft's Appendix B vectors test it (keystore/tests/cfrg_rsa_guidance.rs).

use hmac::{Hmac, KeyInit as _, Mac as _};
use openssl::bn::{BigNum, BigNumContext};
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use sha2::{Digest as _, Sha256};
use subtle::{ConditionallySelectable as _, ConstantTimeEq as _, ConstantTimeGreater as _};
use zeroize::Zeroizing;

use crate::Error;
use crate::entry::HashAlg;

/// Largest modulus in octets that the implicit-rejection PRF can serve (its output
/// length is written in two octets of bits, draft §7.1).
const MAX_K: usize = 8191;

/// An RSA private key held by OpenSSL, which clears it when it is freed.
pub(crate) struct RsaKey {
    pkey: PKey<Private>,
    rsa: Rsa<Private>,
    /// The modulus length in octets.
    k: usize,
    /// SHA-256(I2OSP(d, k)): the key of the implicit-rejection key derivation (draft
    /// §7.2 step 3.1), computed once.
    dh: Zeroizing<[u8; 32]>,
}

impl RsaKey {
    /// Reads a PKCS#8 RSA private key. With `check`, OpenSSL also verifies the key's
    /// consistency (p and q prime, d e = 1): done once at import, since the primality
    /// tests take tens of milliseconds per key; a key read back from the keystore is the
    /// one that was checked (its entry is authenticated by AES-GCM under the master key).
    pub(crate) fn from_pkcs8(pkcs8: &[u8], check: bool) -> Option<RsaKey> {
        let pkey = PKey::private_key_from_pkcs8(pkcs8).ok()?;
        RsaKey::from_pkey(pkey, check)
    }

    /// An OpenPGP RSA secret key (RFC 9580 §5.5.5.1: public n, e; secret d, p, q and
    /// u = p⁻¹ mod q), with its CRT parameters, so that OpenSSL runs the fast CRT
    /// operation. (sequoia's OpenSSL back-end hands OpenSSL only n, e and d, which makes
    /// every private operation a full-size exponentiation, several times slower.)
    /// OpenSSL wants iqmp = q⁻¹ mod p: with OpenPGP's p and q swapped that is u itself,
    /// so no inverse is computed. The reductions of d run in OpenSSL's constant-time
    /// mode; OpenSSL checks every CRT result against the public key before releasing it
    /// (its defence against fault attacks), so an inconsistent key cannot leak.
    pub(crate) fn from_openpgp(
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: &[u8],
        q: &[u8],
        u: &[u8],
    ) -> Option<RsaKey> {
        let secret = |b: &[u8]| {
            let mut bn = BigNum::from_slice(b).ok()?;
            bn.set_const_time();
            Some(bn)
        };
        let (first, second) = (secret(q)?, secret(p)?);
        let d = secret(d)?;
        let mut ctx = BigNumContext::new_secure().ok()?;
        let one = BigNum::from_u32(1).ok()?;
        let exponent = |prime: &BigNum, ctx: &mut BigNumContext| {
            let mut minus_one = BigNum::new_secure().ok()?;
            minus_one.checked_sub(prime, &one).ok()?;
            minus_one.set_const_time();
            let mut r = BigNum::new_secure().ok()?;
            r.set_const_time();
            r.nnmod(&d, &minus_one, ctx).ok()?;
            Some(r)
        };
        let dmp1 = exponent(&first, &mut ctx)?;
        let dmq1 = exponent(&second, &mut ctx)?;
        let rsa = Rsa::from_private_components(
            BigNum::from_slice(n).ok()?,
            BigNum::from_slice(e).ok()?,
            d,
            first,
            second,
            dmp1,
            dmq1,
            secret(u)?,
        )
        .ok()?;
        RsaKey::from_pkey(PKey::from_rsa(rsa).ok()?, false)
    }

    fn from_pkey(pkey: PKey<Private>, check: bool) -> Option<RsaKey> {
        let rsa = pkey.rsa().ok()?;
        let k = usize::try_from(rsa.size()).ok()?;
        if !(11..=MAX_K).contains(&k) {
            return None;
        }
        let d = Zeroizing::new(rsa.d().to_vec_padded(i32::try_from(k).ok()?).ok()?);
        let dh = Zeroizing::new(Sha256::digest(d.as_slice()).into());
        // A corrupt key fails here, not as wrong signatures later.
        if check && !rsa.check_key().ok()? {
            return None;
        }
        Some(RsaKey { pkey, rsa, k, dh })
    }

    /// The modulus length in octets.
    pub(crate) fn octets(&self) -> usize {
        self.k
    }

    /// OpenSSL's full key check (primes, d, and the CRT parameters against them).
    #[cfg(test)]
    pub(crate) fn consistent(&self) -> bool {
        self.rsa.check_key().unwrap_or(false)
    }

    /// The modulus length in bits.
    pub(crate) fn bits(&self) -> u32 {
        u32::try_from(self.rsa.n().num_bits()).unwrap_or(0)
    }

    /// RSASSA-PKCS1-v1_5 over a digest (RFC 8017 §8.2). SHA-1 signatures are never made
    /// (RFC 8551 §2.1, SECURITY.md invariant 7).
    pub(crate) fn sign_pkcs1v15(&self, hash: HashAlg, digest: &[u8]) -> Result<Vec<u8>, Error> {
        let md = match hash {
            HashAlg::Sha256 => Md::sha256(),
            HashAlg::Sha384 => Md::sha384(),
            HashAlg::Sha512 => Md::sha512(),
            HashAlg::Sha1 => return Err(Error::Unsupported("SHA-1 signature".into())),
        };
        let op = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
            let mut ctx = PkeyCtx::new(&self.pkey)?;
            ctx.sign_init()?;
            ctx.set_rsa_padding(Padding::PKCS1)?;
            ctx.set_signature_md(md)?;
            let mut sig = Vec::with_capacity(self.k);
            ctx.sign_to_vec(digest, &mut sig)?;
            Ok(sig)
        };
        op().map_err(|_| Error::Operation)
    }

    /// RSAES-OAEP decryption (RFC 8017 §7.1.2), in OpenSSL, which decodes in constant
    /// time and reports one error for every failure.
    pub(crate) fn decrypt_oaep(
        &self,
        hash: HashAlg,
        mgf: HashAlg,
        ct: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let md = |h: HashAlg| match h {
            HashAlg::Sha1 => Md::sha1(),
            HashAlg::Sha256 => Md::sha256(),
            HashAlg::Sha384 => Md::sha384(),
            HashAlg::Sha512 => Md::sha512(),
        };
        let op = || -> Result<Zeroizing<Vec<u8>>, openssl::error::ErrorStack> {
            let mut ctx = PkeyCtx::new(&self.pkey)?;
            ctx.decrypt_init()?;
            ctx.set_rsa_padding(Padding::PKCS1_OAEP)?;
            ctx.set_rsa_oaep_md(md(hash))?;
            ctx.set_rsa_mgf1_md(md(mgf))?;
            let mut out = Zeroizing::new(Vec::with_capacity(self.k));
            ctx.decrypt_to_vec(ct, &mut out)?;
            Ok(out)
        };
        op().map_err(|_| Error::Operation)
    }

    /// RSAES-PKCS1-v1_5 decryption with implicit rejection (draft-irtf-cfrg-rsa-guidance-10
    /// §7.2). Only a ciphertext of the wrong length or not below the modulus (public
    /// facts) is an error; bad padding gives the synthetic message.
    pub(crate) fn decrypt_pkcs1v15(&self, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let k = self.k;
        if ct.len() != k {
            return Err(Error::Operation);
        }
        // Step 2: EM = I2OSP(RSADP(K, c), k), blinded, with no padding check in OpenSSL.
        let mut em = Zeroizing::new(vec![0u8; k]);
        let n = self
            .rsa
            .private_decrypt(ct, &mut em, Padding::NONE)
            .map_err(|_| Error::Operation)?;
        if n != k {
            return Err(Error::Operation);
        }
        implicit_rejection(&self.dh, ct, em)
    }
}

/// Steps 3 to 5 of RSAES-PKCS1-v1_5 decryption with implicit rejection
/// (draft-irtf-cfrg-rsa-guidance-10 §7.2), given EM = I2OSP(RSADP(K, c), k) however it
/// was computed (here in OpenSSL, or raw on a PKCS#11 token: `pkcs11`). `dh` is the
/// key of the key derivation: SHA-256 of the private exponent here, a random secret
/// sealed with the entry for a token key, whose exponent never leaves the token (the
/// derivation needs only a secret bound to the key that an attacker does not know).
pub(crate) fn implicit_rejection(
    dh: &[u8; 32],
    ct: &[u8],
    mut em: Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let k = em.len();
    if ct.len() != k || !(11..=MAX_K).contains(&k) {
        return Err(Error::Operation);
    }
    // Step 3: the key derivation key and the alternative message, always.
    let kdk = kdk(dh, ct)?;
    let max_len = u16::try_from(k - 11).map_err(|_| Error::Operation)?;
    let cl = irprf(&kdk, b"length", 256)?;
    let am = irprf(&kdk, b"message", k)?;
    let al = select_al(&cl, max_len);
    // Steps 4 and 5.
    let (bad, l) = decode(&em);
    let len = select(&mut em, &am, al, l, bad);
    let start = k.checked_sub(usize::from(len)).ok_or(Error::Operation)?;
    Ok(Zeroizing::new(
        em.get(start..).ok_or(Error::Operation)?.to_vec(),
    ))
}

/// KDK = HMAC-SHA256(SHA256(I2OSP(d, k)), C) (draft §7.2 step 3.1).
fn kdk(dh: &[u8; 32], ct: &[u8]) -> Result<Zeroizing<[u8; 32]>, Error> {
    let mut mac = Hmac::<Sha256>::new_from_slice(dh).map_err(|_| Error::Operation)?;
    mac.update(ct);
    Ok(Zeroizing::new(mac.finalize().into_bytes().into()))
}

/// IRPRF(KDK, label, length) (draft §7.1): HMAC-SHA256 blocks over I2OSP(i, 2) || label ||
/// I2OSP(length in bits, 2).
fn irprf(kdk: &[u8; 32], label: &[u8], length: usize) -> Result<Zeroizing<Vec<u8>>, Error> {
    let bits = length
        .checked_mul(8)
        .and_then(|b| u16::try_from(b).ok())
        .ok_or(Error::Operation)?
        .to_be_bytes();
    let mut out = Zeroizing::new(vec![0u8; length]);
    for (i, chunk) in (0u16..).zip(out.chunks_mut(32)) {
        let mut mac = Hmac::<Sha256>::new_from_slice(kdk).map_err(|_| Error::Operation)?;
        mac.update(&i.to_be_bytes());
        mac.update(label);
        mac.update(&bits);
        let block: Zeroizing<[u8; 32]> = Zeroizing::new(mac.finalize().into_bytes().into());
        let n = chunk.len();
        chunk.copy_from_slice(block.get(..n).ok_or(Error::Operation)?);
    }
    Ok(out)
}

/// AL (draft §7.2 step 3.3): the last of the 128 two-octet candidates in CL, masked to
/// the bit length of the largest message, that is not larger than it; else 0. Every
/// candidate is read; the choice does not branch.
fn select_al(cl: &[u8], max_len: u16) -> u16 {
    let mut mask = max_len;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    cl.chunks_exact(2).fold(0u16, |al, c| {
        let candidate = u16::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ]) & mask;
        u16::conditional_select(&al, &candidate, !candidate.ct_gt(&max_len))
    })
}

/// EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) in constant time: whether the
/// padding is bad, and the message length after the first zero separator (0 without
/// one). EM = 0x00 || 0x02 || PS (at least 8 nonzero octets) || 0x00 || M.
fn decode(em: &[u8]) -> (subtle::Choice, u16) {
    let k = em.len();
    let first = em.first().copied().unwrap_or(1);
    let second = em.get(1).copied().unwrap_or(0);
    let mut bad = !first.ct_eq(&0) | !second.ct_eq(&2);
    let mut looking = subtle::Choice::from(1);
    let mut separator = 0u16;
    for (i, octet) in em.iter().enumerate().skip(2) {
        let is_zero = octet.ct_eq(&0);
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        separator.conditional_assign(&i, looking & is_zero);
        looking &= !is_zero;
    }
    // A separator, after at least eight octets of PS (so at index 10 or later).
    bad |= looking | !separator.ct_gt(&9);
    let k = u16::try_from(k).unwrap_or(u16::MAX);
    let l = u16::conditional_select(&k.wrapping_sub(separator).wrapping_sub(1), &0, looking);
    (bad, l)
}

/// Step 5: overwrite EM with AM when the padding is bad, reading both at every offset,
/// and return the length to take from the end (AL if bad, else L).
fn select(em: &mut [u8], am: &[u8], al: u16, l: u16, bad: subtle::Choice) -> u16 {
    for (e, a) in em.iter_mut().zip(am) {
        e.conditional_assign(a, bad);
    }
    u16::conditional_select(&l, &al, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn al_is_the_last_admissible_candidate() {
        let mut cl = [0xff; 256];
        cl[..2].copy_from_slice(&5u16.to_be_bytes());
        cl[252..254].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(select_al(&cl, 20), 20);
        cl[252..254].fill(0xff);
        assert_eq!(select_al(&cl, 20), 5);
        cl[..2].fill(0xff);
        assert_eq!(select_al(&cl, 20), 0);
    }

    #[test]
    fn decoding_finds_the_first_separator_after_eight_octets() {
        const K: usize = 32;
        for header in [[0u8, 2], [1, 2], [0, 1], [0, 0]] {
            for sep in 2..=K {
                let mut em = [0x42u8; K];
                em[..2].copy_from_slice(&header);
                if sep < K {
                    em[sep] = 0;
                    em[K - 1] = 0; // a later zero changes nothing
                }
                let (bad, l) = decode(&em);
                let want_bad = header != [0, 2] || !(10..K).contains(&sep);
                assert_eq!(bool::from(bad), want_bad, "{header:?} {sep}");
                let want_l = if sep < K { K - sep - 1 } else { 0 };
                assert_eq!(usize::from(l), want_l, "{header:?} {sep}");
            }
        }
    }
}

/// draft-irtf-cfrg-rsa-guidance-10 Appendix B: valid ciphertexts give their message,
/// invalid ones the draft's synthetic message.
#[cfg(test)]
mod vectors {
    use super::*;

    const DIR: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/cfrg-rsa-guidance"
    );

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn appendix_b() {
        let cases: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{DIR}/test_cases.json")).unwrap())
                .unwrap();
        let mut checked = 0;
        for (section, body) in cases.as_object().unwrap() {
            let pem =
                std::fs::read(format!("{DIR}/{}", body["key_pem"].as_str().unwrap())).unwrap();
            let der = PKey::private_key_from_pem(&pem)
                .unwrap()
                .private_key_to_pkcs8()
                .unwrap();
            let key = RsaKey::from_pkcs8(&der, true).unwrap();
            for case in body["cases"].as_array().unwrap() {
                let id = case["id"].as_str().unwrap();
                let ct = hex(case["ciphertext_hex"].as_str().unwrap());
                let want = &case["expect"];
                let want = if want["empty"].as_bool() == Some(true) {
                    Vec::new()
                } else if let Some(a) = want["ascii"].as_str() {
                    a.as_bytes().to_vec()
                } else {
                    hex(want["hex"].as_str().unwrap())
                };
                let got = key.decrypt_pkcs1v15(&ct).unwrap();
                assert_eq!(got.as_slice(), want.as_slice(), "{section} {id}");
                checked += 1;
            }
        }
        assert_eq!(checked, 48);
    }
}
