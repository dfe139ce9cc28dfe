//! `reseal serve` and `reseal milter`: the long-running gateways, and `reseal
//! hash-password` for their users file.

use std::sync::Arc;

use reseal::error::exit;
use reseal::{Failure, Gateway};

use super::args::SettingsArgs;
use super::settings::Settings;

/// Loads the configuration and opens the keystore for the long-running modes.
fn gateway(args: &SettingsArgs) -> Result<Gateway, Failure> {
    let settings = Settings::resolve(args)?;
    let keystore = settings.keystore_if_present(true)?;
    Gateway::new(settings.config, keystore)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::config(format!("cannot start the runtime: {e}")))
}

/// `reseal serve`: the ESMTP gateway.
pub fn serve(args: &SettingsArgs) -> Result<i32, Failure> {
    let gw = gateway(args)?;
    let again = args.clone();
    let reload: reseal::smtp::server::Reload = Box::new(move || gateway(&again));
    runtime()?.block_on(reseal::smtp::server::serve(gw, Some(reload)))?;
    Ok(exit::OK)
}

/// `reseal milter`: the gateway as a Postfix milter.
pub fn milter(listen: &str, args: &SettingsArgs) -> Result<i32, Failure> {
    let gw = gateway(args)?;
    runtime()?.block_on(reseal::milter::run(listen, Arc::new(gw)))?;
    Ok(exit::OK)
}

/// `reseal agent`: the unlocked keystore for pipe mode.
pub fn agent(args: &SettingsArgs) -> Result<i32, Failure> {
    let gw = gateway(args)?;
    runtime()?.block_on(reseal::agent::run(gw))?;
    Ok(exit::OK)
}

/// `reseal hash-password`: one line from stdin, hashed for the users file.
pub fn hash_password() -> Result<i32, Failure> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::config(format!("cannot read the password: {e}")))?;
    let pw = zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    println!("{}", reseal::submission::hash_password(&pw)?);
    Ok(exit::OK)
}
