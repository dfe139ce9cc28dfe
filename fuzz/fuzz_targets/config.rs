//! The configuration loader: `Config::parse` on TOML text (with and without a base
//! folder for relative paths), then the per-recipient policy lookup it feeds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reseal::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for base in [None, Some(std::path::Path::new("/etc/reseal"))] {
        if let Ok(c) = Config::parse(text, base) {
            let _ = c.policy_for("bob@example.org");
            let _ = c.policy_for("x@a.b.c.example.org");
            let _ = c.policy_for("");
        }
    }
});
