//! gpgsm (GnuPG's S/MIME engine, used by KMail, Mutt/NeoMutt with gpgme, notmuch and
//! Claws) as a peer, in a throwaway home.

use std::process::Command;

use super::*;

/// A gpgsm home with the keys of `who` (vectors/smime/WHO.pem and .key, as PKCS#12 in
/// the legacy form gpgsm 2.2 reads) and the test CA trusted (PEERS: gpgsm).
pub struct Gpgsm {
    home: tempfile::TempDir,
}

impl Gpgsm {
    pub fn new(who: &[&str]) -> Gpgsm {
        // A short path: gpg-agent's socket must fit in sun_path.
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(home.path().join("gpgsm.conf"), "disable-crl-checks\n").unwrap();
        std::fs::write(
            home.path().join("gpg-agent.conf"),
            "allow-loopback-pinentry\n",
        )
        .unwrap();
        let g = Gpgsm { home };
        for name in who {
            let p12 = g.home.path().join(format!("{name}.p12"));
            let mut c = Command::new("openssl");
            c.args(["pkcs12", "-export", "-in"])
                .arg(v(&format!("{name}.pem")))
                .arg("-inkey")
                .arg(v(&format!("{name}.key")))
                .arg("-certfile")
                .arg(v("ica.pem"))
                .args([
                    "-keypbe",
                    "PBE-SHA1-3DES",
                    "-certpbe",
                    "PBE-SHA1-3DES",
                    "-macalg",
                    "sha1",
                    "-passout",
                    "pass:",
                    "-out",
                ])
                .arg(&p12);
            ok(&run(c, b""), "openssl pkcs12 -export");
            let mut c = g.cmd();
            c.args([
                "--pinentry-mode",
                "loopback",
                "--passphrase-fd",
                "0",
                "--import",
            ])
            .arg(&p12);
            ok(&run(c, b""), "gpgsm --import");
        }
        let mut c = g.cmd();
        c.arg("--import")
            .arg(v("ca.pem"))
            .arg(v("ica.pem"))
            .arg(v("alice.pem"));
        ok(&run(c, b""), "gpgsm --import certificates");
        // Trust the CA for signing ("S"), relaxed (no CRL or chain-model checks).
        let mut c = Command::new("openssl");
        c.args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
            .arg(v("ca.pem"));
        let out = run(c, b"");
        let fpr: String = String::from_utf8_lossy(&out.stdout)
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .replace(':', "");
        std::fs::write(
            g.home.path().join("trustlist.txt"),
            format!("{fpr} S relax\n"),
        )
        .unwrap();
        let mut c = Command::new("gpgconf");
        c.env("GNUPGHOME", g.home.path())
            .args(["--reload", "gpg-agent"]);
        let _ = run(c, b"");
        g
    }

    /// The GNUPGHOME, for other gpgme users (notmuch).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("gpgsm");
        c.env("GNUPGHOME", self.home.path()).arg("--batch");
        c
    }

    /// `gpgsm --decrypt` of the message's CMS object.
    pub fn decrypt(&self, f: &Fixture, msg: &[u8]) -> Result<Vec<u8>, String> {
        let top = reseal::mime::Entity::parse(msg).unwrap();
        let p = f.tmp("for-gpgsm.p7m", &top.decoded_body().unwrap());
        let mut c = self.cmd();
        c.args([
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--decrypt",
        ])
        .arg(&p);
        let out = run(c, b"");
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(stderr(&out))
        }
    }

    /// `gpgsm --verify` of a multipart/signed entity: the status lines.
    pub fn verify(&self, f: &Fixture, entity: &[u8]) -> String {
        let e = reseal::mime::Entity::parse(entity).unwrap();
        let mp = e.multipart().unwrap();
        let content = entity.get(mp.parts[0].clone()).unwrap();
        let sig = reseal::mime::Entity::parse(entity.get(mp.parts[1].clone()).unwrap())
            .unwrap()
            .decoded_body()
            .unwrap()
            .into_owned();
        let sp = f.tmp("sig.p7s", &sig);
        let cp = f.tmp("content", content);
        let mut c = self.cmd();
        c.args(["--status-fd", "1", "--verify"]).arg(&sp).arg(&cp);
        String::from_utf8_lossy(&run(c, b"").stdout).into_owned()
    }
}

impl Drop for Gpgsm {
    fn drop(&mut self) {
        let mut c = Command::new("gpgconf");
        c.env("GNUPGHOME", self.home.path()).args(["--kill", "all"]);
        let _ = c.output();
    }
}

impl Gpgsm {
    /// `gpgsm --sign` (opaque signed-data, BER with the content in chunks) of `data`
    /// by `signer`, with the signer's certificate included.
    pub fn sign_opaque(&self, signer: &str, data: &[u8]) -> Vec<u8> {
        let mut c = self.cmd();
        c.args([
            "--pinentry-mode",
            "loopback",
            "--passphrase-fd",
            "0",
            "--include-certs",
            "1",
            "-u",
            signer,
            "--sign",
        ]);
        let input = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(input.path(), data).expect("write");
        c.arg(input.path());
        let out = run(c, b"");
        ok(&out, "gpgsm --sign");
        out.stdout
    }
}
