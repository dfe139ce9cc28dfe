//! The gateway's own OPES identity: the key that signs modification records.
//!
//! Two keys, one identity: an X.509 certificate with an ECDSA P-256 key (records in
//! S/MIME mail are CMS-signed with it) and an OpenPGP Ed25519 key (records in OpenPGP
//! mail). `keys init` creates both, self-signed; an organisation can replace the X.509
//! one with a key and certificate its CA issued. Unlike delegated keys, the identity is
//! never used for a sender: it signs only the records the pipeline builds.

use der::Decode as _;
use openpgp::Cert;
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

use crate::Error;

pub(crate) const X509_ID: &str = "opes-identity";
pub(crate) const PGP_ID: &str = "opes-identity-pgp";

pub(crate) fn gen_err(what: &str) -> Error {
    Error::Import(format!("cannot create the OPES identity ({what})"))
}

/// A fresh self-signed X.509 identity: ECDSA P-256, ten years.
pub(crate) fn new_x509(name: &str) -> Result<(Zeroizing<Vec<u8>>, Certificate), Error> {
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

pub(crate) fn new_pgp(name: &str) -> Result<Cert, Error> {
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
