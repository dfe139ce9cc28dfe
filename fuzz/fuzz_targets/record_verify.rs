//! `reseal verify` on a fuzzed delivered message (`record::verify::verify`): outer
//! unwrap, record detach and parse, record signature, binding digests, recipes,
//! reconstruction of the original and its signature. The verifier trusts the test root
//! and the OPES identity that signed the seed messages in `fuzz/seeds/record_verify`
//! (made by `fuzz/make-seeds.sh`), so the seeds verify all the way through.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reseal::record::seal::Identities;
use reseal::record::verify::{Inputs, verify};
use reseal_fuzz::{MAX_PLAINTEXT, PARTIES, now, pki};

fn identities() -> &'static Identities {
    static I: OnceLock<Identities> = OnceLock::new();
    I.get_or_init(|| {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/opes-identity.pem");
        let data = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        Identities::load(&data).expect("OPES identity")
    })
}

fuzz_target!(
    init: reseal_fuzz::allow_caught_panics(),
    |data: &[u8]| {
        let ids = identities();
        let pki = pki();
        let inputs = Inputs {
            keystore: None,
            parties: PARTIES.iter().map(|s| (*s).to_owned()).collect(),
            anchors: pki.anchors.clone(),
            known_certs: pki.known_certs.clone(),
            pgp_certs: pki.pgp_certs.clone(),
            identities: Identities {
                x509: ids.x509.clone(),
                openpgp: ids.openpgp.clone(),
            },
            now: now(),
            max_bytes: MAX_PLAINTEXT,
        };
        let report = verify(data, &inputs);
        let _ = serde_json::to_vec(&report).expect("the report serialises");
        assert!(report.verdict == "pass" || report.verdict == "fail");
    }
);
