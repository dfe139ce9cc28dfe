//! Settings: every command resolves what it runs with here, in one order (README.md,
//! "Settings"; docs/architecture.md, "Settings"): a flag, then an environment variable,
//! then the configuration file, then the built-in default.
//!
//! | setting            | flag                | environment         | configuration     | default                  |
//! |--------------------|---------------------|---------------------|-------------------|--------------------------|
//! | configuration file | `--config`          | `RESEAL_CONFIG`     | —                 | embedded defaults        |
//! | data folder        | —                   | `RESEAL_DATA_DIR`   | `data_dir`        | `~/.local/share/reseal`  |
//! | keystore folder    | `--keystore`        | `RESEAL_KEYSTORE`   | `keystore`        | `<data folder>/keystore` |
//! | passphrase         | `--passphrase-file` | `RESEAL_PASSPHRASE` | `passphrase_file` | none: asked for, exit 78 |
//!
//! The paths come from `reseal::config::resolve`, the one reader of those variables
//! (`reseal-pipe` uses it too); the passphrase, the only passphrase reader
//! ([`read_secret_file`]) and the only keystore opener ([`Settings::open_keystore`]) are
//! here.

use std::path::{Path, PathBuf};

use reseal::{Config, Failure};
use reseal_keystore::{Keystore, SecretString};

use super::args::SettingsArgs;

/// What a command runs with, resolved.
pub struct Settings {
    pub config: Config,
    /// The passphrase file named by a flag (it outranks `RESEAL_PASSPHRASE`).
    passphrase_flag: Option<PathBuf>,
    /// Whether a configuration file or a keystore folder was named (by flag or
    /// environment): then a missing keystore is worth a warning.
    named: bool,
}

impl Settings {
    /// Resolves the settings for a command from its flags, the environment and the
    /// configuration file.
    pub fn resolve(args: &SettingsArgs) -> Result<Settings, Failure> {
        let (config, named) =
            reseal::config::resolve(args.config.as_deref(), args.keystore.as_deref())?;
        Ok(Settings {
            config,
            passphrase_flag: args.passphrase_file.clone(),
            named,
        })
    }

    /// The keystore folder.
    pub fn keystore_dir(&self) -> &Path {
        &self.config.keystore
    }

    /// The keystore passphrase: the flag's file, else `RESEAL_PASSPHRASE`, else the
    /// configuration's `passphrase_file`.
    pub fn passphrase(&self) -> Result<SecretString, Failure> {
        if let Some(f) = &self.passphrase_flag {
            return read_secret_file(f);
        }
        if let Ok(p) = std::env::var("RESEAL_PASSPHRASE") {
            return Ok(SecretString::from(p));
        }
        if let Some(f) = &self.config.passphrase_file {
            return read_secret_file(f);
        }
        Err(Failure::config(
            "the keystore passphrase is needed: set RESEAL_PASSPHRASE or pass --passphrase-file",
        ))
    }

    /// Opens the keystore; it must exist.
    pub fn open_keystore(&self) -> Result<Keystore, Failure> {
        Keystore::open(self.keystore_dir(), &self.passphrase()?).map_err(keystore_failure)
    }

    /// Opens the keystore if there is one. Without one the gateway traces mail but
    /// signs and decrypts nothing; that is worth a warning when a keystore or a
    /// configuration was named, or when `daemon` (a long-running gateway).
    pub fn keystore_if_present(&self, daemon: bool) -> Result<Option<Keystore>, Failure> {
        if Keystore::exists(self.keystore_dir()) {
            return self.open_keystore().map(Some);
        }
        if daemon || self.named {
            tracing::warn!(
                "no keystore at {}: mail is traced but nothing is signed or decrypted",
                self.keystore_dir().display()
            );
        }
        Ok(None)
    }
}

/// A secret file (`reseal::config::read_secret_file`, the one reader) as a
/// `SecretString` for the keystore.
pub fn read_secret_file(path: &Path) -> Result<SecretString, Failure> {
    let line = reseal::config::read_secret_file(path)?;
    Ok(SecretString::from(line.as_str().to_owned()))
}

/// A keystore error as a command failure.
pub fn keystore_failure(e: reseal_keystore::Error) -> Failure {
    use reseal_keystore::Error as E;
    match e {
        E::Io { .. } | E::Random | E::TokenUnavailable(_) => {
            Failure::temporary(reseal::sanitize::log_text(&e.to_string()))
        }
        E::WrongPassphrase | E::NotFound(_) | E::Corrupt { .. } => Failure::config(e.to_string()),
        _ => Failure::policy(e.to_string()),
    }
}

/// An input file that is not what it should be: exit 65, naming the file.
pub fn bad_input(file: &Path, e: &dyn std::fmt::Display) -> Failure {
    Failure::malformed(format!(
        "{}: {}",
        reseal::sanitize::log_text(&file.display().to_string()),
        reseal::sanitize::log_text(&e.to_string())
    ))
}

/// A keystore failure about the input file `file`: a file that is not what it should be
/// (an import error) is bad input, exit 65, naming the file.
pub fn input_failure(file: &Path) -> impl Fn(reseal_keystore::Error) -> Failure + '_ {
    move |e| match e {
        reseal_keystore::Error::Import(_) => bad_input(file, &e),
        e => keystore_failure(e),
    }
}

/// Reads an input file named on the command line.
pub fn read_file(p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| {
        Failure::config(format!(
            "cannot read {}: {e}",
            reseal::sanitize::log_text(&p.display().to_string())
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_is_its_first_line_without_line_end() {
        use secrecy::ExposeSecret as _;
        let dir = tempfile::tempdir().unwrap();
        for (content, want) in [
            (&b"pass word\r\nsecond\n"[..], "pass word"),
            (b"pw\n", "pw"),
            (b"pw", "pw"),
            (b"", ""),
        ] {
            let p = dir.path().join("s");
            std::fs::write(&p, content).unwrap();
            assert_eq!(read_secret_file(&p).unwrap().expose_secret(), want);
        }
        std::fs::write(dir.path().join("bad"), b"\xff\xfe").unwrap();
        assert!(read_secret_file(&dir.path().join("bad")).is_err());
    }
}
