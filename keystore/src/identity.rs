//! The gateway's own OPES identity: the key that signs modification records.
//!
//! Two keys, one identity: an X.509 certificate with an ECDSA P-256 key (records in
//! S/MIME mail are CMS-signed with it) and an OpenPGP Ed25519 key (records in OpenPGP
//! mail). `keys init` creates both, self-signed; an organisation can replace the X.509
//! one with a key and certificate its CA issued. Unlike delegated keys, the identity is
//! never used for a sender: it signs only the records the pipeline builds.

use der::Decode as _;
use openpgp::Cert;
use openpgp::serialize::SerializeInto as _;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509NameBuilder};
use sequoia_openpgp as openpgp;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::entry::{Body, KeyAlgorithm, Uses, cert_to_b64};
use crate::import::parse_certificates;
use crate::openpgp::{HeldPgpKey, OpenpgpKeyInfo, PgpSigner};
use crate::ops::{HashAlg, HeldKey, SignatureOutput, pkcs8_algorithm};
use crate::{Error, KeyInfo, Keystore, now};

pub(crate) const X509_ID: &str = "opes-identity";
pub(crate) const PGP_ID: &str = "opes-identity-pgp";

fn gen_err(what: &str) -> Error {
    Error::Import(format!("cannot create the OPES identity ({what})"))
}

/// A fresh self-signed X.509 identity: ECDSA P-256, ten years.
fn new_x509(name: &str) -> Result<(Zeroizing<Vec<u8>>, Certificate), Error> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(|_| gen_err("curve"))?;
    let ec = EcKey::generate(&group).map_err(|_| gen_err("key"))?;
    let pkey = PKey::from_ec_key(ec).map_err(|_| gen_err("key"))?;
    let cert = self_signed(&pkey, name)?;
    let pkcs8 = Zeroizing::new(pkey.private_key_to_pkcs8().map_err(|_| gen_err("encode"))?);
    Ok((pkcs8, cert))
}

/// A self-signed certificate for `pkey` (digital signature, key encipherment).
pub(crate) fn self_signed(
    pkey: &PKey<openssl::pkey::Private>,
    name: &str,
) -> Result<Certificate, Error> {
    let mut subject = X509NameBuilder::new().map_err(|_| gen_err("name"))?;
    subject
        .append_entry_by_nid(Nid::COMMONNAME, name)
        .map_err(|_| gen_err("name"))?;
    subject
        .append_entry_by_nid(Nid::ORGANIZATIONNAME, "Reseal OPES System")
        .map_err(|_| gen_err("name"))?;
    let subject = subject.build();
    let mut b = X509::builder().map_err(|_| gen_err("builder"))?;
    b.set_version(2).map_err(|_| gen_err("version"))?;
    let mut serial = BigNum::new().map_err(|_| gen_err("serial"))?;
    serial
        .rand(127, MsbOption::MAYBE_ZERO, false)
        .map_err(|_| gen_err("serial"))?;
    let serial = serial.to_asn1_integer().map_err(|_| gen_err("serial"))?;
    b.set_serial_number(&serial)
        .map_err(|_| gen_err("serial"))?;
    b.set_subject_name(&subject).map_err(|_| gen_err("name"))?;
    b.set_issuer_name(&subject).map_err(|_| gen_err("name"))?;
    b.set_pubkey(pkey).map_err(|_| gen_err("key"))?;
    let nb = Asn1Time::days_from_now(0).map_err(|_| gen_err("time"))?;
    let na = Asn1Time::days_from_now(3650).map_err(|_| gen_err("time"))?;
    b.set_not_before(&nb).map_err(|_| gen_err("time"))?;
    b.set_not_after(&na).map_err(|_| gen_err("time"))?;
    let bc = BasicConstraints::new()
        .critical()
        .build()
        .map_err(|_| gen_err("ext"))?;
    b.append_extension(bc).map_err(|_| gen_err("ext"))?;
    let ku = KeyUsage::new()
        .critical()
        .digital_signature()
        .non_repudiation()
        .key_encipherment()
        .build()
        .map_err(|_| gen_err("ext"))?;
    b.append_extension(ku).map_err(|_| gen_err("ext"))?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(None, None))
        .map_err(|_| gen_err("ext"))?;
    b.append_extension(ski).map_err(|_| gen_err("ext"))?;
    b.sign(pkey, MessageDigest::sha256())
        .map_err(|_| gen_err("sign"))?;
    let cert_der = b.build().to_der().map_err(|_| gen_err("encode"))?;
    Certificate::from_der(&cert_der).map_err(|_| gen_err("encode"))
}

fn new_pgp(name: &str) -> Result<Cert, Error> {
    use openpgp::cert::prelude::*;
    let uid = format!("{name} <opes@reseal.invalid>");
    let (cert, _rev) = CertBuilder::new()
        .add_userid(uid)
        .set_cipher_suite(CipherSuite::Cv25519)
        .set_primary_key_flags(
            openpgp::types::KeyFlags::empty()
                .set_certification()
                .set_signing(),
        )
        .generate()
        .map_err(|_| gen_err("OpenPGP key"))?;
    Ok(cert)
}

impl Keystore {
    /// Creates the gateway's OPES identity (X.509 and OpenPGP), replacing any existing one.
    pub fn create_identity(&mut self, name: &str) -> Result<(), Error> {
        let (pkcs8, cert) = new_x509(name)?;
        self.store_x509_identity(&pkcs8, cert, Vec::new())?;
        let pgp = new_pgp(name)?;
        let tsk = Zeroizing::new(pgp.as_tsk().to_vec().map_err(|_| gen_err("encode"))?);
        let public = pgp.clone().strip_secret_key_material();
        let armored = String::from_utf8(public.armored().to_vec().map_err(|_| gen_err("encode"))?)
            .map_err(|_| gen_err("encode"))?;
        let created = now();
        self.write_entry(
            &Body::IdentityPgp {
                id: PGP_ID.to_owned(),
                certificate: armored,
                created,
            },
            &tsk,
        )?;
        let info = OpenpgpKeyInfo {
            id: PGP_ID.to_owned(),
            cert: public,
            delegations: Vec::new(),
            uses: Uses {
                sign: true,
                decrypt: false,
            },
            created,
        };
        self.identity_pgp = Some(HeldPgpKey::from_tsk(info, &tsk)?);
        Ok(())
    }

    /// Replaces the X.509 identity with a key and certificate (and chain) issued by the
    /// organisation's CA.
    pub fn import_identity(
        &mut self,
        key_pem: &[u8],
        cert_pem: &[u8],
        chain_pem: Option<&[u8]>,
    ) -> Result<(), Error> {
        let pkey = PKey::private_key_from_pem(key_pem).map_err(|_| {
            Error::Import("the key file is not an unencrypted PEM private key".into())
        })?;
        let pkcs8 = Zeroizing::new(
            pkey.private_key_to_pkcs8()
                .map_err(|_| Error::Import("the private key cannot be re-encoded".into()))?,
        );
        let mut certs = parse_certificates(cert_pem)?;
        let cert = certs.remove(0);
        if let Some(c) = chain_pem {
            certs.extend(parse_certificates(c)?);
        }
        let key_spki = pkey
            .public_key_to_der()
            .map_err(|_| Error::Import("the public key cannot be encoded".into()))?;
        let cert_spki = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
            .map_err(|_| Error::Import("certificate public key".into()))?;
        if key_spki != cert_spki {
            return Err(Error::Import(
                "the private key does not match the certificate".into(),
            ));
        }
        self.store_x509_identity(&pkcs8, cert, certs)
    }

    fn store_x509_identity(
        &mut self,
        pkcs8: &[u8],
        cert: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<(), Error> {
        let algorithm = pkcs8_algorithm(pkcs8)?;
        if let KeyAlgorithm::Rsa { bits } = algorithm
            && bits < 2048
        {
            return Err(Error::Import(format!(
                "RSA-{bits} is below the 2048-bit floor"
            )));
        }
        let created = now();
        let body = Body::Identity {
            id: X509_ID.to_owned(),
            algorithm,
            certificate: cert_to_b64(&cert)?,
            chain: chain.iter().map(cert_to_b64).collect::<Result<_, _>>()?,
            created,
        };
        let info = KeyInfo {
            id: X509_ID.to_owned(),
            algorithm,
            certificate: cert,
            chain,
            delegations: Vec::new(),
            uses: Uses {
                sign: true,
                decrypt: false,
            },
            created,
        };
        let held = HeldKey::from_pkcs8(info, pkcs8)?;
        self.write_entry(&body, pkcs8)?;
        self.identity = Some(held);
        Ok(())
    }

    /// The X.509 identity certificate and its chain.
    pub fn identity(&self) -> Option<&KeyInfo> {
        self.identity.as_ref().map(|h| &h.info)
    }

    /// The OpenPGP identity certificate.
    pub fn identity_pgp(&self) -> Option<&Cert> {
        self.identity_pgp.as_ref().map(|h| &h.info.cert)
    }

    /// Signs a digest with the X.509 identity key (for a modification record).
    pub fn identity_sign_digest(
        &self,
        hash: HashAlg,
        digest: &[u8],
    ) -> Result<SignatureOutput, Error> {
        self.identity
            .as_ref()
            .ok_or_else(|| Error::NoSuchEntry(X509_ID.to_owned()))?
            .sign_raw(hash, digest)
    }

    /// A signer for the OpenPGP identity key (for a modification record).
    pub fn identity_pgp_signer(&self) -> Result<PgpSigner, Error> {
        self.identity_pgp
            .as_ref()
            .ok_or_else(|| Error::NoSuchEntry(PGP_ID.to_owned()))?
            .signer()
    }
}
