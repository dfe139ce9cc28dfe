#![forbid(unsafe_code)]
//! Padding-oracle timing benchmark (SECURITY.md invariant 3, SECURITY.md invariant 3).
//!
//! Does the time Reseal takes to open an RSA PKCS#1 v1.5 key transport tell an attacker
//! whether the padding was valid (Bleichenbacher, Marvin)? We time two layers on
//! ciphertexts made for alice's key (vectors/smime/alice.pem):
//!
//! - `Keystore::unwrap_cek`: the private-key operation with implicit rejection and the
//!   constant-time length check;
//! - `unwrap::smime::decrypt_enveloped`: the whole S/MIME decryption of
//!   `openssl-enc-aes256cbc.eml` with its encrypted key replaced.
//!
//! Classes: `valid-real` (the message's own key transport: decryption succeeds),
//! `valid-random` (valid padding, 32-byte key, but not the message's key: the content
//! layer fails), `bad-padding` (wrong block type, no separator, short padding string,
//! random), `bad-length` (valid padding around a 0, 16, 24 or 48-byte key where 32 is
//! expected). The classes an attacker must not tell apart are the three failing ones.
//!
//! Measurements are interleaved in random order, round by round, so that drift (CPU
//! frequency, other load) spreads over every class alike. This is a benchmark, not a
//! test: it reports numbers and passes no verdict beyond printing Welch's t.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use cms::enveloped_data::{EnvelopedData, RecipientInfo, RecipientInfos};
use der::asn1::{OctetString, SetOfVec};
use reseal::mime::Entity;
use reseal::mime::compose::content_entity;
use reseal::unwrap::UnwrapContext;
use reseal::unwrap::smime::{self, CmsObject};
use reseal_keystore::{KdfParams, KeySource, KeyTransport, Keystore, SecretString, Uses};

const K: usize = 256; // alice's RSA-2048 modulus, in bytes
const CEK_LEN: usize = 32; // AES-256-CBC

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/smime")
}

fn rand_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).expect("random");
    v
}

fn nonzero(n: usize) -> Vec<u8> {
    rand_bytes(n)
        .into_iter()
        .map(|b| if b == 0 { 0x5a } else { b })
        .collect()
}

fn rand_below(n: usize) -> usize {
    let b = rand_bytes(8);
    let x = u64::from_le_bytes(b.try_into().expect("8 bytes"));
    usize::try_from(x % u64::try_from(n).expect("fits")).expect("fits")
}

/// EME-PKCS1-v1_5 encoding of a random message of `mlen` bytes (RFC 8017 §7.2.1).
fn valid_em(mlen: usize) -> Vec<u8> {
    let mut em = vec![0u8, 2];
    em.extend(nonzero(K - 3 - mlen));
    em.push(0);
    em.extend(rand_bytes(mlen));
    em
}

/// Invalid encodings, by `variant`.
fn invalid_em(variant: usize) -> Vec<u8> {
    match variant % 4 {
        // Block type 1 (signature padding) instead of 2.
        0 => {
            let mut em = vec![0u8, 1];
            em.extend(nonzero(K - 3 - CEK_LEN));
            em.push(0);
            em.extend(rand_bytes(CEK_LEN));
            em
        }
        // No zero separator at all.
        1 => {
            let mut em = vec![0u8, 2];
            em.extend(nonzero(K - 2));
            em
        }
        // Padding string shorter than 8 bytes.
        2 => {
            let mut em = vec![0u8, 2];
            em.extend(nonzero(5));
            em.push(0);
            em.extend(rand_bytes(K - 8));
            em
        }
        // A random representative (first byte below the modulus's 0xbf).
        _ => {
            let mut em = rand_bytes(K);
            em[0] = 0x01;
            em
        }
    }
}

/// Raw RSA encryption of `em` to the public key in `pub_pem` (openssl, no padding).
fn rsa_raw(pub_pem: &Path, em: &[u8], tmp: &Path) -> Vec<u8> {
    let input = tmp.join("em.bin");
    let output = tmp.join("ct.bin");
    std::fs::write(&input, em).expect("write em");
    let st = Command::new("openssl")
        .args(["pkeyutl", "-encrypt", "-pubin", "-inkey"])
        .arg(pub_pem)
        .args(["-pkeyopt", "rsa_padding_mode:none", "-in"])
        .arg(&input)
        .arg("-out")
        .arg(&output)
        .status()
        .expect("run openssl");
    assert!(st.success(), "openssl pkeyutl failed");
    std::fs::read(&output).expect("read ct")
}

fn with_enc_key(ed: &EnvelopedData, ct: &[u8]) -> EnvelopedData {
    let mut ed = ed.clone();
    let infos: Vec<RecipientInfo> = ed
        .recip_infos
        .0
        .iter()
        .cloned()
        .map(|ri| match ri {
            RecipientInfo::Ktri(mut k) => {
                k.enc_key = OctetString::new(ct.to_vec()).expect("octet string");
                RecipientInfo::Ktri(k)
            }
            other => other,
        })
        .collect();
    ed.recip_infos = RecipientInfos(SetOfVec::try_from(infos).expect("set"));
    ed
}

struct Stats {
    n: usize,
    mean: f64,
    median: f64,
    sd: f64,
    mad: f64,
    p10: f64,
    p90: f64,
}

fn stats(xs: &[f64]) -> Stats {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let q = |p: f64| v[((n - 1) as f64 * p).round() as usize];
    let mean = v.iter().sum::<f64>() / n as f64;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let median = q(0.5);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
    dev.sort_by(f64::total_cmp);
    Stats {
        n,
        mean,
        median,
        sd,
        mad: dev[n / 2],
        p10: q(0.1),
        p90: q(0.9),
    }
}

/// Welch's t statistic of a against b.
fn welch(a: &Stats, b: &Stats) -> f64 {
    (a.mean - b.mean) / (a.sd.powi(2) / a.n as f64 + b.sd.powi(2) / b.n as f64).sqrt()
}

/// Samples trimmed to the 1st..99th percentile of the pooled data (drops preemptions).
fn trimmed(all: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut pooled: Vec<f64> = all.iter().flatten().copied().collect();
    pooled.sort_by(f64::total_cmp);
    let lo = pooled[pooled.len() / 100];
    let hi = pooled[pooled.len() * 99 / 100];
    all.iter()
        .map(|v| v.iter().copied().filter(|x| *x >= lo && *x <= hi).collect())
        .collect()
}

fn report(layer: &str, names: &[&str], samples: &[Vec<f64>]) {
    println!("\n## {layer} (µs)\n");
    for (title, data) in [
        ("all samples", samples.to_vec()),
        ("1-99% trimmed", trimmed(samples)),
    ] {
        println!("{title}:");
        println!(
            "| class | n | mean | median | sd | MAD | p10 | p90 | mean - bad-padding | median - bad-padding | Welch t vs bad-padding |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        let st: Vec<Stats> = data.iter().map(|v| stats(v)).collect();
        let reference = names.iter().position(|n| *n == "bad-padding").expect("ref");
        for (name, s) in names.iter().zip(&st) {
            let r = &st[reference];
            println!(
                "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:+.2} | {:+.2} | {:+.2} |",
                s.n,
                s.mean,
                s.median,
                s.sd,
                s.mad,
                s.p10,
                s.p90,
                s.mean - r.mean,
                s.median - r.median,
                welch(s, r)
            );
        }
        // Noise floor: the same class against itself, even rounds against odd rounds.
        let b = &data[reference];
        let even: Vec<f64> = b.iter().step_by(2).copied().collect();
        let odd: Vec<f64> = b.iter().skip(1).step_by(2).copied().collect();
        let (e, o) = (stats(&even), stats(&odd));
        println!(
            "noise floor (bad-padding, even vs odd rounds): mean {:+.2}, median {:+.2}, Welch t {:+.2}\n",
            e.mean - o.mean,
            e.median - o.median,
            welch(&e, &o)
        );
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("rounds"))
        .unwrap_or(2000);
    let tmp = std::env::temp_dir().join(format!("reseal-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("tmp");

    // The keystore: alice's PKCS#12, delegated for alice.
    let pass = SecretString::from("oracle timing".to_owned());
    let ksdir = tmp.join("ks");
    Keystore::init(&ksdir, &pass, KdfParams::FLOOR).expect("init");
    let mut ks = Keystore::open(&ksdir, &pass).expect("open");
    let p12pw = std::fs::read_to_string(vectors().join("alice.p12.pass")).expect("p12 pass");
    let p12pw = SecretString::from(p12pw.trim_end().to_owned());
    let key_id = ks
        .import_key(
            KeySource::Pkcs12 {
                der: &std::fs::read(vectors().join("alice.p12")).expect("p12"),
                password: &p12pw,
            },
            vec!["alice@example.com".parse().expect("delegation")],
            Uses::BOTH,
        )
        .expect("import");
    let ctx = UnwrapContext {
        keystore: Some(&ks),
        parties: vec!["alice@example.com".into()],
        from: None,
        now: reseal_keystore::now(),
        anchors: Vec::new(),
        known_certs: Vec::new(),
        allow_cbc: true,
        pgp_certs: Vec::new(),
        max_plaintext: 1 << 20,
        trial_decryption: false,
    };

    // The message, and its own key transport for alice.
    let msg = std::fs::read(vectors().join("openssl-enc-aes256cbc.eml")).expect("vector");
    let msg = reseal::mime::to_crlf(&msg).into_owned();
    let entity = content_entity(&Entity::parse(&msg).expect("parse"));
    let der = Entity::parse(&entity)
        .expect("entity")
        .decoded_body()
        .expect("body")
        .into_owned();
    let CmsObject::Enveloped(ed) = smime::parse(&der).expect("cms") else {
        panic!("not EnvelopedData");
    };
    let real: Vec<Vec<u8>> = ed
        .recip_infos
        .0
        .iter()
        .filter_map(|ri| match ri {
            RecipientInfo::Ktri(k) => Some(k.enc_key.as_bytes().to_vec()),
            _ => None,
        })
        .filter(|ct| {
            ks.unwrap_cek(
                &key_id,
                &["alice@example.com"],
                KeyTransport::RsaPkcs1v15,
                ct,
                CEK_LEN,
            )
            .is_ok_and(|cek| {
                let e = with_enc_key(&ed, ct);
                smime::decrypt_enveloped(&e, &ctx).is_ok() && cek.len() == CEK_LEN
            })
        })
        .collect();
    assert_eq!(
        real.len(),
        1,
        "exactly one RecipientInfo opens with alice's key"
    );
    assert!(smime::decrypt_enveloped(&ed, &ctx).is_ok());

    let pub_pem = tmp.join("alice-pub.pem");
    let out = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(vectors().join("alice.pem"))
        .output()
        .expect("openssl x509");
    std::fs::write(&pub_pem, out.stdout).expect("pub");
    const PER_CLASS: usize = 16;
    let valid_random: Vec<Vec<u8>> = (0..PER_CLASS)
        .map(|_| rsa_raw(&pub_pem, &valid_em(CEK_LEN), &tmp))
        .collect();
    let bad_padding: Vec<Vec<u8>> = (0..PER_CLASS)
        .map(|i| rsa_raw(&pub_pem, &invalid_em(i), &tmp))
        .collect();
    let bad_length: Vec<Vec<u8>> = (0..PER_CLASS)
        .map(|i| rsa_raw(&pub_pem, &valid_em([0, 16, 24, 48][i % 4]), &tmp))
        .collect();
    let names = ["valid-real", "valid-random", "bad-padding", "bad-length"];
    let classes: [&Vec<Vec<u8>>; 4] = [&real, &valid_random, &bad_padding, &bad_length];
    let envs: Vec<Vec<EnvelopedData>> = classes
        .iter()
        .map(|c| c.iter().map(|ct| with_enc_key(&ed, ct)).collect())
        .collect();

    // Sanity: what each class does, functionally.
    for (name, e) in names.iter().zip(&envs) {
        let ok = e
            .iter()
            .filter(|e| smime::decrypt_enveloped(e, &ctx).is_ok())
            .count();
        eprintln!("{name}: decrypt_enveloped succeeds on {ok} of {}", e.len());
    }

    let mut cek_t: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let mut env_t: Vec<Vec<f64>> = vec![Vec::new(); 4];
    let warmup = rounds / 10 + 20;
    let started = Instant::now();
    for round in 0..warmup + rounds {
        // One sample of each class at each layer, in a random order.
        let mut order: Vec<usize> = (0..8).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rand_below(i + 1));
        }
        for slot in order {
            let (class, layer) = (slot % 4, slot / 4);
            let i = round % classes[class].len();
            let t0 = Instant::now();
            if layer == 0 {
                let r = ks.unwrap_cek(
                    &key_id,
                    &["alice@example.com"],
                    KeyTransport::RsaPkcs1v15,
                    &classes[class][i],
                    CEK_LEN,
                );
                std::hint::black_box(&r);
            } else {
                let r = smime::decrypt_enveloped(&envs[class][i], &ctx);
                std::hint::black_box(r.is_ok());
            }
            let us = t0.elapsed().as_secs_f64() * 1e6;
            if round >= warmup {
                if layer == 0 {
                    cek_t[class].push(us);
                } else {
                    env_t[class].push(us);
                }
            }
        }
    }
    println!(
        "# Oracle timing: {rounds} rounds (+{warmup} warm-up), {:.0} s, RSA-2048 PKCS#1 v1.5, AES-256-CBC",
        started.elapsed().as_secs_f64()
    );
    report("Keystore::unwrap_cek", &names, &cek_t);
    report("unwrap::smime::decrypt_enveloped", &names, &env_t);
    let _ = std::fs::remove_dir_all(&tmp);
}
