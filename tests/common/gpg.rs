//! gpg as a peer, in a throwaway home: bob's secret key and the senders' certificates
//! (vectors/openpgp).

use std::process::Command;

use super::*;

/// A gpg home for bob: his secret key, alice's certificates.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    pub fn for_bob() -> Gpg {
        let home = tempfile::Builder::new()
            .prefix("g")
            .tempdir_in("/tmp")
            .unwrap();
        let g = Gpg { home };
        for k in [
            "bob.sec.asc",
            "alice.pub.asc",
            "alice-rsa.pub.asc",
            "carol.pub.asc",
            "dave.pub.asc",
        ] {
            let mut c = g.cmd();
            c.arg("--import").arg(pv(k));
            ok(&run(c, b""), "gpg --import");
        }
        g
    }

    /// The GNUPGHOME, for other gpgme users (notmuch).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.home.path())
            .args(["--batch", "--yes", "--status-fd", "2"]);
        c
    }

    /// Decrypts; returns (plaintext, status lines).
    pub fn decrypt(&self, armored: &[u8]) -> (Vec<u8>, String) {
        let mut c = self.cmd();
        c.arg("--decrypt");
        let out = run(c, armored);
        ok(&out, "gpg --decrypt");
        (
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn verify_detached(&self, sig: &[u8], data: &[u8]) -> String {
        let s = self.home.path().join("sig.asc");
        let d = self.home.path().join("data");
        std::fs::write(&s, sig).unwrap();
        std::fs::write(&d, data).unwrap();
        let mut c = self.cmd();
        c.arg("--verify").arg(&s).arg(&d);
        let out = run(c, b"");
        ok(&out, "gpg --verify");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "all"])
            .status();
    }
}
