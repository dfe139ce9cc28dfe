//! `reseal verify`: check a delivered message on its own, the way a recipient or an
//! auditor would: the outer signature, the modification record and its binding to the
//! header, and the original the record rebuilds (docs/modification-record.md,
//! docs/verify-json.md). Exit 0 when everything present verifies, 1 otherwise, 65 for
//! an input file that is not what it should be, 2 for other usage errors.

use std::io::{Read as _, Write as _};

use reseal::Failure;
use reseal_keystore::{Delegation, KeySource, Keystore, SecretString, Uses};

use super::args::VerifyArgs;
use super::settings::{bad_input, keystore_failure, read_file, read_secret_file};

/// `reseal verify`: exit 0 when everything present verifies, 1 otherwise, 2 on usage
/// errors.
pub fn run(args: &VerifyArgs) -> Result<i32, Failure> {
    use reseal::record::seal::Identities;
    use reseal::record::verify::{Inputs, verify};
    let mut input = Vec::new();
    let limit = u64::try_from(reseal::config::DEFAULT_MAX_MESSAGE).unwrap_or(u64::MAX);
    std::io::stdin()
        .lock()
        .take(limit)
        .read_to_end(&mut input)
        .map_err(|e| Failure::config(format!("cannot read the message: {e}")))?;
    let mut anchors = Vec::new();
    for t in &args.trust {
        anchors.extend(
            reseal_keystore::parse_certificates(&read_file(t)?).map_err(|e| bad_input(t, &e))?,
        );
    }
    let mut identities = Identities::default();
    for p in &args.opes_cert {
        let ids = Identities::load(&read_file(p)?).map_err(|e| bad_input(p, &e))?;
        identities.x509.extend(ids.x509);
        identities.openpgp.extend(ids.openpgp);
    }
    let mut known_certs = Vec::new();
    let mut pgp_certs = Vec::new();
    let mut cert_files = Vec::new();
    for c in &args.cert {
        let data = read_file(c)?;
        if reseal_keystore::looks_like_openpgp(&data) {
            use sequoia_openpgp::parse::Parse as _;
            for cert in sequoia_openpgp::cert::CertParser::from_bytes(&data)
                .map_err(|e| bad_input(c, &e))?
                .flatten()
            {
                pgp_certs.push(cert.strip_secret_key_material());
            }
        } else {
            known_certs
                .extend(reseal_keystore::parse_certificates(&data).map_err(|e| bad_input(c, &e))?);
        }
        cert_files.push(data);
    }
    // The recipient's key goes into a throwaway keystore, so that decryption runs
    // through the same keystore operations as in the gateway.
    let parties = recipient_parties(&input);
    // A private, unpredictable folder (mode 0700, random name), removed on return: a
    // predictable path in a shared temp folder could be planted by another user.
    let tmpdir = tempfile::Builder::new()
        .prefix("reseal-verify-")
        .tempdir()
        .map_err(|e| Failure::temporary(format!("cannot create a temporary folder: {e}")))?;
    let tmp = tmpdir.path().join("keystore");
    let mut keystore = None;
    if args.key.is_some() || args.pkcs12.is_some() || args.openpgp_key.is_some() {
        let pass = SecretString::from(reseal::crypto::random_hex(16)?);
        Keystore::init(&tmp, &pass, reseal_keystore::KdfParams::FLOOR).map_err(keystore_failure)?;
        let mut ks = Keystore::open(&tmp, &pass).map_err(keystore_failure)?;
        let delegations: Vec<Delegation> = parties.iter().filter_map(|p| p.parse().ok()).collect();
        let delegations = if delegations.is_empty() {
            vec![
                "@invalid.invalid"
                    .parse()
                    .map_err(|e: reseal_keystore::Error| Failure::config(e.to_string()))?,
            ]
        } else {
            delegations
        };
        let uses = Uses {
            sign: false,
            decrypt: true,
        };
        if let Some(k) = &args.key {
            let key = zeroize::Zeroizing::new(read_file(k)?);
            // The key's certificate, if one of the --cert files is it; otherwise the key
            // is tried on every recipient.
            let with_cert = cert_files
                .iter()
                .filter(|c| !reseal_keystore::looks_like_openpgp(c))
                .any(|cert| {
                    ks.import_key(
                        KeySource::Pem {
                            key: &key,
                            cert,
                            chain: None,
                        },
                        delegations.clone(),
                        uses,
                    )
                    .is_ok()
                });
            if !with_cert {
                ks.import_key(
                    KeySource::PemKeyOnly { key: &key },
                    delegations.clone(),
                    uses,
                )
                .map_err(keystore_failure)?;
            }
        }
        if let Some(p) = &args.pkcs12 {
            let der = read_file(p)?;
            let password = match &args.pkcs12_password_file {
                Some(f) => read_secret_file(f)?,
                None => SecretString::from(String::new()),
            };
            ks.import_key(
                KeySource::Pkcs12 {
                    der: &der,
                    password: &password,
                },
                delegations.clone(),
                uses,
            )
            .map_err(keystore_failure)?;
        }
        if let Some(p) = &args.openpgp_key {
            let data = zeroize::Zeroizing::new(read_file(p)?);
            ks.import_openpgp(&data, None, delegations.clone(), uses)
                .map_err(keystore_failure)?;
        }
        keystore = Some(ks);
    }
    let report = verify(
        &input,
        &Inputs {
            keystore: keystore.as_ref(),
            parties,
            anchors,
            known_certs,
            pgp_certs,
            identities,
            now: reseal_keystore::now(),
            max_bytes: reseal::config::DEFAULT_MAX_MESSAGE,
        },
    );
    if let Some(path) = &args.extract_original {
        match &report.original_message {
            Some(m) => std::fs::write(path, m)
                .map_err(|e| Failure::config(format!("cannot write {}: {e}", path.display())))?,
            None => eprintln!(
                "reseal verify: the original cannot be rebuilt; nothing written to {}",
                path.display()
            ),
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer_pretty(&mut out, &report);
        let _ = writeln!(out);
    } else {
        render(&mut out, &report);
    }
    Ok(if report.verdict == reseal::record::verify::PASS {
        0
    } else {
        1
    })
}

/// The human-readable `reseal verify` report. The signer's address comes first, before
/// anything the message itself claims (a From display name is never shown: it is the
/// ID spoofing of docs/verify-json.md). Text from the message, its certificates and its
/// record goes through `log_text`.
fn render(out: &mut impl std::io::Write, report: &reseal::record::verify::Report) {
    use reseal::sanitize::log_text;
    let text = |s: Option<&str>| s.map_or_else(|| "-".to_owned(), log_text);
    let signer = match (&report.outer.signer, report.outer.valid) {
        (Some(s), true) => log_text(s),
        (Some(s), false) => format!("{} (signature not valid)", log_text(s)),
        (None, _) => "none".to_owned(),
    };
    let _ = writeln!(out, "signer: {signer}");
    let _ = writeln!(
        out,
        "verdict: {}{}",
        report.verdict,
        if report.altered_after_gateway {
            " (altered after the gateway)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "outer: encrypted={} signed={} valid={} signer={}",
        report.outer.encrypted,
        report.outer.signed,
        report.outer.valid,
        text(report.outer.signer.as_deref())
    );
    let _ = writeln!(
        out,
        "record: present={} valid={} system={}",
        report.record.present,
        report.record.valid,
        text(report.record.system.as_deref())
    );
    for c in &report.record.changes {
        let _ = writeln!(
            out,
            "  change: {} {} at {} (reversible: {})",
            log_text(&c.service),
            log_text(&c.kind),
            log_text(&c.place),
            c.reversible
        );
    }
    let _ = writeln!(out, "header: covered={}", report.header.covered);
    for u in report
        .header
        .uncovered
        .iter()
        .filter(|u| u.place != reseal::record::verify::Place::Unbound || !u.allowed)
    {
        let place = match u.place {
            reseal::record::verify::Place::AboveTrace => "above the gateway's trace",
            reseal::record::verify::Place::Trace => "the gateway's trace",
            reseal::record::verify::Place::Wrapping => "wrapping",
            reseal::record::verify::Place::Unbound => "not bound",
        };
        let _ = writeln!(
            out,
            "  not covered: {} ({place}{})",
            log_text(&u.field),
            if u.allowed { "" } else { ", not allowed" }
        );
    }
    let _ = writeln!(
        out,
        "original: reconstructible={} signed={} valid={} signer={} digest={}",
        report.original.reconstructible,
        report.original.signed,
        report.original.valid,
        text(report.original.signer.as_deref()),
        text(report.original.digest.as_deref())
    );
    for w in &report.warnings {
        let _ = writeln!(out, "warning: {}", log_text(w));
    }
    for p in &report.problems {
        let _ = writeln!(out, "problem: {}", log_text(p));
    }
}

/// The addresses a recipient's key may decrypt for: To, Cc and From of the message.
fn recipient_parties(message: &[u8]) -> Vec<String> {
    let msg = reseal::mime::to_crlf(message);
    let Ok(top) = reseal::mime::Entity::parse(&msg) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in ["To", "Cc", "From", "Delivered-To", "X-Original-To"] {
        for f in top.get_all(name) {
            out.extend(reseal::mime::address::addr_specs(top.field_value(f)));
        }
    }
    out.sort();
    out.dedup();
    out
}
