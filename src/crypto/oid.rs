//! Object identifiers Reseal recognises, with short names for verdicts and logs.

use der::asn1::ObjectIdentifier as Oid;

const fn o(s: &str) -> Oid {
    Oid::new_unwrap(s)
}

// Digests.
pub const MD5: Oid = o("1.2.840.113549.2.5");
pub const SHA1: Oid = o("1.3.14.3.2.26");
pub const SHA256: Oid = o("2.16.840.1.101.3.4.2.1");
pub const SHA384: Oid = o("2.16.840.1.101.3.4.2.2");
pub const SHA512: Oid = o("2.16.840.1.101.3.4.2.3");

// Public-key and signature algorithms.
pub const RSA_ENCRYPTION: Oid = o("1.2.840.113549.1.1.1");
pub const MD5_WITH_RSA: Oid = o("1.2.840.113549.1.1.4");
pub const SHA1_WITH_RSA: Oid = o("1.2.840.113549.1.1.5");
pub const RSAES_OAEP: Oid = o("1.2.840.113549.1.1.7");
pub const MGF1: Oid = o("1.2.840.113549.1.1.8");
pub const P_SPECIFIED: Oid = o("1.2.840.113549.1.1.9");
pub const RSASSA_PSS: Oid = o("1.2.840.113549.1.1.10");
pub const SHA256_WITH_RSA: Oid = o("1.2.840.113549.1.1.11");
pub const SHA384_WITH_RSA: Oid = o("1.2.840.113549.1.1.12");
pub const SHA512_WITH_RSA: Oid = o("1.2.840.113549.1.1.13");
pub const EC_PUBLIC_KEY: Oid = o("1.2.840.10045.2.1");
pub const ECDSA_SHA1: Oid = o("1.2.840.10045.4.1");
pub const ECDSA_SHA256: Oid = o("1.2.840.10045.4.3.2");
pub const ECDSA_SHA384: Oid = o("1.2.840.10045.4.3.3");
pub const ECDSA_SHA512: Oid = o("1.2.840.10045.4.3.4");
pub const P256: Oid = o("1.2.840.10045.3.1.7");
pub const P384: Oid = o("1.3.132.0.34");

// CMS content types (RFC 5652 §4-§6, RFC 5083 §1).
pub const DATA: Oid = o("1.2.840.113549.1.7.1");
pub const SIGNED_DATA: Oid = o("1.2.840.113549.1.7.2");
pub const ENVELOPED_DATA: Oid = o("1.2.840.113549.1.7.3");
pub const AUTH_ENVELOPED_DATA: Oid = o("1.2.840.113549.1.9.16.1.23");
pub const COMPRESSED_DATA: Oid = o("1.2.840.113549.1.9.16.1.9");

// CMS attributes (RFC 5652 §11, RFC 8551 §2.5).
pub const ATTR_CONTENT_TYPE: Oid = o("1.2.840.113549.1.9.3");
pub const ATTR_MESSAGE_DIGEST: Oid = o("1.2.840.113549.1.9.4");
pub const ATTR_SIGNING_TIME: Oid = o("1.2.840.113549.1.9.5");
pub const ATTR_SMIME_CAPABILITIES: Oid = o("1.2.840.113549.1.9.15");

// Content encryption (RFC 3565, RFC 5084).
pub const AES128_CBC: Oid = o("2.16.840.1.101.3.4.1.2");
pub const AES192_CBC: Oid = o("2.16.840.1.101.3.4.1.22");
pub const AES256_CBC: Oid = o("2.16.840.1.101.3.4.1.42");
pub const AES128_GCM: Oid = o("2.16.840.1.101.3.4.1.6");
pub const AES192_GCM: Oid = o("2.16.840.1.101.3.4.1.26");
pub const AES256_GCM: Oid = o("2.16.840.1.101.3.4.1.46");
pub const DES_EDE3_CBC: Oid = o("1.2.840.113549.3.7");
pub const RC2_CBC: Oid = o("1.2.840.113549.3.2");

// X.509 (RFC 5280).
pub const EMAIL_ADDRESS: Oid = o("1.2.840.113549.1.9.1");
pub const KP_EMAIL_PROTECTION: Oid = o("1.3.6.1.5.5.7.3.4");
pub const ANY_EXTENDED_KEY_USAGE: Oid = o("2.5.29.37.0");
pub const CE_SUBJECT_KEY_IDENTIFIER: Oid = o("2.5.29.14");
pub const CE_KEY_USAGE: Oid = o("2.5.29.15");
pub const CE_SUBJECT_ALT_NAME: Oid = o("2.5.29.17");
pub const CE_ISSUER_ALT_NAME: Oid = o("2.5.29.18");
pub const CE_BASIC_CONSTRAINTS: Oid = o("2.5.29.19");
pub const CE_NAME_CONSTRAINTS: Oid = o("2.5.29.30");
pub const CE_CRL_DISTRIBUTION_POINTS: Oid = o("2.5.29.31");
pub const CE_CERTIFICATE_POLICIES: Oid = o("2.5.29.32");
pub const CE_POLICY_CONSTRAINTS: Oid = o("2.5.29.36");
pub const CE_AUTHORITY_KEY_IDENTIFIER: Oid = o("2.5.29.35");
pub const CE_EXT_KEY_USAGE: Oid = o("2.5.29.37");
pub const CE_INHIBIT_ANY_POLICY: Oid = o("2.5.29.54");
pub const PE_AUTHORITY_INFO_ACCESS: Oid = o("1.3.6.1.5.5.7.1.1");

/// A readable name for an OID, falling back to dotted form.
pub fn name(oid: &Oid) -> String {
    let n = match *oid {
        MD5 => "MD5",
        SHA1 => "SHA-1",
        SHA256 => "SHA-256",
        SHA384 => "SHA-384",
        SHA512 => "SHA-512",
        RSA_ENCRYPTION => "rsaEncryption",
        MD5_WITH_RSA => "md5WithRSAEncryption",
        SHA1_WITH_RSA => "sha1WithRSAEncryption",
        RSAES_OAEP => "RSAES-OAEP",
        RSASSA_PSS => "RSASSA-PSS",
        SHA256_WITH_RSA => "sha256WithRSAEncryption",
        SHA384_WITH_RSA => "sha384WithRSAEncryption",
        SHA512_WITH_RSA => "sha512WithRSAEncryption",
        ECDSA_SHA1 => "ecdsa-with-SHA1",
        ECDSA_SHA256 => "ecdsa-with-SHA256",
        ECDSA_SHA384 => "ecdsa-with-SHA384",
        ECDSA_SHA512 => "ecdsa-with-SHA512",
        AES128_CBC => "AES-128-CBC",
        AES192_CBC => "AES-192-CBC",
        AES256_CBC => "AES-256-CBC",
        AES128_GCM => "AES-128-GCM",
        AES192_GCM => "AES-192-GCM",
        AES256_GCM => "AES-256-GCM",
        DES_EDE3_CBC => "3DES-CBC",
        RC2_CBC => "RC2-CBC",
        _ => return oid.to_string(),
    };
    n.to_owned()
}
