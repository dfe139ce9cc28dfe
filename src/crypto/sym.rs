//! Content encryption: AES-CBC (RFC 3565) and AES-GCM (RFC 5084).
//!
//! Decryption functions return `Err(Opaque)` for every failure, on purpose: the caller maps
//! all of them to one uniform integrity error (SECURITY.md invariant 3). GCM checks the tag
//! before any plaintext exists (rule 1); the buffer that would have held it is zeroized.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use aes_gcm::aead::array::Array;
use aes_gcm::aead::consts::{U12, U13, U14, U15, U16};
use aes_gcm::aead::{AeadInOut, KeyInit as _};
use aes_gcm::{AesGcm, TagSize};
use zeroize::Zeroizing;

/// A symmetric failure with no detail, on purpose (no oracle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opaque;

/// Decrypts AES-CBC with PKCS#7 padding. The key length selects AES-128/192/256.
pub fn cbc_decrypt(key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, Opaque> {
    let mut buf = Zeroizing::new(ct.to_vec());
    let len = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| Opaque)?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| Opaque)?
            .len(),
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| Opaque)?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| Opaque)?
            .len(),
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| Opaque)?
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| Opaque)?
            .len(),
        _ => return Err(Opaque),
    };
    buf.truncate(len);
    Ok(buf)
}

/// Encrypts with AES-256-CBC and PKCS#7 padding.
pub fn cbc_encrypt_256(key: &[u8], iv: &[u8], pt: &[u8]) -> Result<Vec<u8>, Opaque> {
    Ok(cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
        .map_err(|_| Opaque)?
        .encrypt_padded_vec::<Pkcs7>(pt))
}

fn gcm_open<C, T>(
    key: &[u8],
    nonce: &[u8],
    ct: &[u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Opaque>
where
    C: aes::cipher::BlockCipherEncrypt
        + aes::cipher::BlockSizeUser<BlockSize = aes_gcm::aead::consts::U16>
        + aes::cipher::KeyInit,
    T: TagSize,
{
    let cipher = AesGcm::<C, U12, T>::new_from_slice(key).map_err(|_| Opaque)?;
    let nonce: &Array<u8, U12> = nonce.try_into().map_err(|_| Opaque)?;
    let tag: &Array<u8, T> = tag.try_into().map_err(|_| Opaque)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    cipher
        .decrypt_inout_detached(nonce, aad, buf.as_mut_slice().into(), tag)
        .map_err(|_| Opaque)?;
    Ok(buf)
}

fn gcm_open_key<T: TagSize>(
    key: &[u8],
    nonce: &[u8],
    ct: &[u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Opaque> {
    match key.len() {
        16 => gcm_open::<aes::Aes128, T>(key, nonce, ct, tag, aad),
        24 => gcm_open::<aes::Aes192, T>(key, nonce, ct, tag, aad),
        32 => gcm_open::<aes::Aes256, T>(key, nonce, ct, tag, aad),
        _ => Err(Opaque),
    }
}

/// Decrypts AES-GCM with a 12-byte nonce and a 12..16-byte tag (RFC 5084 §3.2).
/// Nothing is returned unless the tag verifies.
pub fn gcm_decrypt(
    key: &[u8],
    nonce: &[u8],
    ct: &[u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Opaque> {
    match tag.len() {
        12 => gcm_open_key::<U12>(key, nonce, ct, tag, aad),
        13 => gcm_open_key::<U13>(key, nonce, ct, tag, aad),
        14 => gcm_open_key::<U14>(key, nonce, ct, tag, aad),
        15 => gcm_open_key::<U15>(key, nonce, ct, tag, aad),
        16 => gcm_open_key::<U16>(key, nonce, ct, tag, aad),
        _ => Err(Opaque),
    }
}

/// Encrypts with AES-256-GCM, 12-byte nonce, 16-byte tag. Returns (ciphertext, tag).
pub fn gcm_encrypt_256(
    key: &[u8],
    nonce: &[u8],
    pt: &[u8],
    aad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Opaque> {
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(key).map_err(|_| Opaque)?;
    let nonce: &Array<u8, U12> = nonce.try_into().map_err(|_| Opaque)?;
    let mut buf = pt.to_vec();
    let tag = cipher
        .encrypt_inout_detached(nonce, aad, buf.as_mut_slice().into())
        .map_err(|_| Opaque)?;
    Ok((buf, tag.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbc_round_trip_and_bad_padding() {
        let key = [7u8; 32];
        let iv = [9u8; 16];
        let ct = cbc_encrypt_256(&key, &iv, b"hello world").unwrap();
        assert_eq!(
            cbc_decrypt(&key, &iv, &ct).unwrap().as_slice(),
            b"hello world"
        );
        let mut bad = ct.clone();
        let n = bad.len();
        bad[n - 1] ^= 0x55;
        assert!(
            cbc_decrypt(&key, &iv, &bad).is_err()
                || cbc_decrypt(&key, &iv, &bad).unwrap().as_slice() != b"hello world"
        );
        assert!(cbc_decrypt(&key[..5], &iv, &ct).is_err());
    }

    #[test]
    fn gcm_round_trip_and_tag_check() {
        let key = [1u8; 32];
        let nonce = [2u8; 12];
        let (ct, tag) = gcm_encrypt_256(&key, &nonce, b"secret", b"aad").unwrap();
        assert_eq!(
            gcm_decrypt(&key, &nonce, &ct, &tag, b"aad")
                .unwrap()
                .as_slice(),
            b"secret"
        );
        assert!(gcm_decrypt(&key, &nonce, &ct, &tag, b"other").is_err());
        let mut t = tag.clone();
        t[0] ^= 1;
        assert!(gcm_decrypt(&key, &nonce, &ct, &t, b"aad").is_err());
        // GCM tags truncate from the right (NIST SP 800-38D §5.2.1.2): the first 12
        // bytes are a valid 12-byte tag, which RFC 5084's default aes-ICVlen uses.
        assert!(gcm_decrypt(&key, &nonce, &ct, &tag[..12], b"aad").is_ok());
        assert!(gcm_decrypt(&key, &nonce, &ct, &tag[..11], b"aad").is_err());
    }
}
