//! S/MIME output: a detached SignedData in multipart/signed (RFC 8551 §3.5.3, SHA-256),
//! and AuthEnvelopedData AES-256-GCM (RFC 5083/5084) or EnvelopedData AES-256-CBC,
//! with RSAES-OAEP (SHA-256) or PKCS#1 v1.5 key transport per recipient.

use cms::authenveloped_data::AuthEnvelopedData;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier, RecipientInfo,
    RecipientInfos,
};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode as _, Sequence};
use reseal_keystore::{HashAlg, KeyAlgorithm, KeyInfo, Keystore};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use zeroize::Zeroizing;

use crate::crypto::alg::{Cipher, KeyTransportChoice};
use crate::crypto::{self, oid, sym};
use crate::error::Failure;
use crate::policy::SmimeRecipient as Recipient;

fn internal(what: &str) -> Failure {
    Failure::temporary(format!("internal error while building S/MIME: {what}"))
}

fn alg(oid: der::asn1::ObjectIdentifier, params: Option<Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: params,
    }
}

fn content_info(
    content_type: der::asn1::ObjectIdentifier,
    inner: &impl der::Encode,
) -> Result<Vec<u8>, Failure> {
    // RFC 5652 §3: ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }.
    // Written straight into one buffer: going through `Any` would hold the (possibly
    // large) content three times (docs/performance.md, "Memory").
    let enc = |_| internal("encode");
    let inner_len = inner.encoded_len().map_err(enc)?;
    let explicit = der::Header::new(
        der::Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber(0),
        },
        inner_len,
    );
    let body_len = (content_type.encoded_len().map_err(enc)?
        + explicit.encoded_len().map_err(enc)?
        + inner_len)
        .map_err(enc)?;
    let sequence = der::Header::new(der::Tag::Sequence, body_len);
    let total = (sequence.encoded_len().map_err(enc)? + body_len).map_err(enc)?;
    let mut out = Vec::with_capacity(usize::try_from(total).map_err(enc)?);
    sequence.encode_to_vec(&mut out).map_err(enc)?;
    content_type.encode_to_vec(&mut out).map_err(enc)?;
    explicit.encode_to_vec(&mut out).map_err(enc)?;
    inner.encode_to_vec(&mut out).map_err(enc)?;
    Ok(out)
}

use der::Decode as _;

/// A single-valued attribute (RFC 5652 §11).
fn attribute(
    id: der::asn1::ObjectIdentifier,
    value: &impl der::Encode,
) -> Result<Attribute, Failure> {
    let der = value.to_der().map_err(|_| internal("attribute"))?;
    let mut values = SetOfVec::new();
    values
        .insert(Any::from_der(&der).map_err(|_| internal("attribute"))?)
        .map_err(|_| internal("attribute"))?;
    Ok(Attribute { oid: id, values })
}

/// S/MIME capabilities we announce (RFC 8551 §2.5.2), strongest first.
fn smime_capabilities() -> Result<Attribute, Failure> {
    let caps: Vec<AlgorithmIdentifierOwned> = vec![
        alg(oid::AES256_GCM, None),
        alg(oid::AES128_GCM, None),
        alg(oid::AES256_CBC, None),
        alg(oid::AES128_CBC, None),
        // Key transports may be announced too (RFC 8551 §2.5.2); RSAES-OAEP without
        // parameters means the RFC 4055 defaults, and any of SHA-1/SHA-256 are read.
        alg(oid::RSAES_OAEP, None),
    ];
    attribute(oid::ATTR_SMIME_CAPABILITIES, &caps)
}

/// Makes a detached CMS SignedData over `content` with the delegated key `key`, acting
/// for `sender`. The keystore enforces the delegation (SECURITY.md invariant 6).
pub fn sign_detached(
    content: &[u8],
    ks: &Keystore,
    key: &KeyInfo,
    sender: &str,
) -> Result<Vec<u8>, Failure> {
    signed_data(content, &key.certificate, &key.chain, |digest| {
        ks.sign_digest(&key.id, sender, HashAlg::Sha256, digest)
            .map_err(|e| {
                if e.is_temporary() {
                    Failure::key_unavailable(&e)
                } else {
                    Failure::policy(format!("Signing refused: {e}"))
                }
            })
    })
}

/// Makes a detached CMS SignedData (SHA-256, signed attributes) over `content` for
/// `cert`, with `sign` producing the signature over the attributes' digest.
pub fn signed_data(
    content: &[u8],
    cert: &Certificate,
    chain: &[Certificate],
    sign: impl FnOnce(&[u8]) -> Result<reseal_keystore::SignatureOutput, Failure>,
) -> Result<Vec<u8>, Failure> {
    let digest = crypto::hash(HashAlg::Sha256, content);
    let mut attrs = SetOfVec::new();
    let now = der::asn1::UtcTime::from_system_time(std::time::SystemTime::now())
        .map_err(|_| internal("signing time"))?;
    for a in [
        attribute(oid::ATTR_CONTENT_TYPE, &oid::DATA)?,
        attribute(oid::ATTR_SIGNING_TIME, &now)?,
        attribute(
            oid::ATTR_MESSAGE_DIGEST,
            &OctetString::new(digest).map_err(|_| internal("digest"))?,
        )?,
        smime_capabilities()?,
    ] {
        attrs.insert(a).map_err(|_| internal("attribute"))?;
    }
    // RFC 5652 §5.4: the signature is over the DER of the SET OF signed attributes.
    let attrs_der = attrs.to_der().map_err(|_| internal("attributes"))?;
    let to_sign = crypto::hash(HashAlg::Sha256, &attrs_der);
    let sig = sign(&to_sign)?;
    let signature_algorithm = match sig.algorithm {
        KeyAlgorithm::Rsa { .. } => alg(oid::SHA256_WITH_RSA, Some(Any::null())),
        KeyAlgorithm::EcP256 | KeyAlgorithm::EcP384 => alg(oid::ECDSA_SHA256, None),
    };
    let tbs = cert.tbs_certificate();
    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: alg(oid::SHA256, None),
        signed_attrs: Some(attrs),
        signature_algorithm,
        signature: OctetString::new(sig.bytes).map_err(|_| internal("signature"))?,
        unsigned_attrs: None,
    };
    let mut certs = Vec::new();
    certs.push(CertificateChoices::Certificate(cert.clone()));
    for c in chain {
        certs.push(CertificateChoices::Certificate(c.clone()));
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(alg(oid::SHA256, None))
        .map_err(|_| internal("digest algorithms"))?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(certs).map_err(|_| internal("certificates"))?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![si]).map_err(|_| internal("signer infos"))?,
    };
    content_info(oid::SIGNED_DATA, &sd)
}

/// RSAES-OAEP-params with SHA-256 and MGF1-SHA-256 (RFC 4055 §4.1, RFC 8551 §2.3).
#[derive(Sequence)]
struct OaepParamsOut {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    hash: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
    mask_gen: AlgorithmIdentifierOwned,
}

fn ktri(r: &Recipient, cek: &[u8]) -> Result<RecipientInfo, Failure> {
    let spki = r.certificate.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != oid::RSA_ENCRYPTION {
        return Err(Failure::algorithm(format!(
            "The certificate of <{}> does not hold an RSA key; only RSA key transport is supported",
            r.address
        )));
    }
    let key = crypto::rsa_public(spki).map_err(|e| {
        Failure::algorithm(format!(
            "The certificate of <{}> is not usable: {e}",
            r.address
        ))
    })?;
    let (enc, key_enc_alg) = match r.key_transport {
        KeyTransportChoice::RsaOaep => {
            let sha256 = alg(oid::SHA256, None);
            let mgf_params = Any::from_der(&sha256.to_der().map_err(|_| internal("oaep"))?)
                .map_err(|_| internal("oaep"))?;
            let params = OaepParamsOut {
                hash: sha256,
                mask_gen: alg(oid::MGF1, Some(mgf_params)),
            };
            let p = Any::from_der(&params.to_der().map_err(|_| internal("oaep"))?)
                .map_err(|_| internal("oaep"))?;
            (
                key.rsa_encrypt(cek, true)
                    .map_err(|_| internal("RSA-OAEP"))?,
                alg(oid::RSAES_OAEP, Some(p)),
            )
        }
        KeyTransportChoice::RsaPkcs1v15 => (
            key.rsa_encrypt(cek, false).map_err(|_| internal("RSA"))?,
            alg(oid::RSA_ENCRYPTION, Some(Any::null())),
        ),
    };
    let tbs = r.certificate.tbs_certificate();
    Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
        version: CmsVersion::V0,
        rid: RecipientIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        key_enc_alg,
        enc_key: OctetString::new(enc).map_err(|_| internal("encrypted key"))?,
    }))
}

/// GCMParameters with a 16-byte ICV (RFC 5084 §3.2).
#[derive(Sequence)]
struct GcmParamsOut {
    nonce: OctetString,
    icv_len: u8,
}

/// Encrypts `entity` (a CRLF MIME entity) to `recipients` and returns the DER ContentInfo
/// and the smime-type.
pub fn encrypt(
    entity: &[u8],
    recipients: &[Recipient],
    cipher: Cipher,
) -> Result<(Vec<u8>, &'static str), Failure> {
    let mut cek = Zeroizing::new([0u8; 32]);
    crypto::random(cek.as_mut_slice())?;
    let mut ris = Vec::with_capacity(recipients.len());
    for r in recipients {
        ris.push(ktri(r, cek.as_slice())?);
    }
    let recip_infos = RecipientInfos::try_from(ris).map_err(|_| internal("recipients"))?;
    match cipher {
        Cipher::Aes256Gcm => {
            let mut nonce = [0u8; 12];
            crypto::random(&mut nonce)?;
            let (ct, tag) = sym::gcm_encrypt_256(cek.as_slice(), &nonce, entity, &[])
                .map_err(|_| internal("AES-GCM"))?;
            let params = GcmParamsOut {
                nonce: OctetString::new(nonce.to_vec()).map_err(|_| internal("gcm"))?,
                icv_len: 16,
            };
            let p = Any::from_der(&params.to_der().map_err(|_| internal("gcm"))?)
                .map_err(|_| internal("gcm"))?;
            let aed = AuthEnvelopedData {
                version: CmsVersion::V0,
                originator_info: None,
                recip_infos,
                auth_encrypted_content_info: EncryptedContentInfo {
                    content_type: oid::DATA,
                    content_enc_alg: alg(oid::AES256_GCM, Some(p)),
                    encrypted_content: Some(OctetString::new(ct).map_err(|_| internal("content"))?),
                },
                auth_attrs: None,
                mac: OctetString::new(tag).map_err(|_| internal("mac"))?,
                unauth_attrs: None,
            };
            Ok((
                content_info(oid::AUTH_ENVELOPED_DATA, &aed)?,
                "authEnveloped-data",
            ))
        }
        Cipher::Aes256Cbc => {
            let mut iv = [0u8; 16];
            crypto::random(&mut iv)?;
            let ct = sym::cbc_encrypt_256(cek.as_slice(), &iv, entity)
                .map_err(|_| internal("AES-CBC"))?;
            let p = Any::from_der(
                &OctetString::new(iv.to_vec())
                    .and_then(|o| o.to_der())
                    .map_err(|_| internal("cbc"))?,
            )
            .map_err(|_| internal("cbc"))?;
            let ed = EnvelopedData {
                version: CmsVersion::V0,
                originator_info: None,
                recip_infos,
                encrypted_content: EncryptedContentInfo {
                    content_type: oid::DATA,
                    content_enc_alg: alg(oid::AES256_CBC, Some(p)),
                    encrypted_content: Some(OctetString::new(ct).map_err(|_| internal("content"))?),
                },
                unprotected_attrs: None,
            };
            Ok((content_info(oid::ENVELOPED_DATA, &ed)?, "enveloped-data"))
        }
    }
}

#[cfg(test)]
mod tests {
    use cms::content_info::ContentInfo;
    use der::{Decode as _, Encode as _};

    use super::*;

    /// The hand-framed ContentInfo is the DER the cms crate writes for the same value,
    /// for a short content and for one whose length needs a long-form length octet
    /// (RFC 5652 §3; X.690 §8.1.3.5).
    #[test]
    fn content_info_is_the_der_of_contentinfo() {
        for len in [0usize, 10, 200, 70_000] {
            let inner = OctetString::new(vec![0x5a; len]).unwrap();
            let ours = content_info(oid::DATA, &inner).unwrap();
            let theirs = ContentInfo {
                content_type: oid::DATA,
                content: der::Any::from_der(&inner.to_der().unwrap()).unwrap(),
            }
            .to_der()
            .unwrap();
            assert_eq!(ours, theirs, "{len}");
            assert_eq!(
                ContentInfo::from_der(&ours).unwrap().content_type,
                oid::DATA
            );
        }
    }
}
