//! Build script: link the `reseal` binary with packed relative relocations (DT_RELR,
//! glibc 2.36+, binutils 2.38+; Debian 12 has both). A position-independent executable
//! of this size otherwise spends most of its start-up applying relative relocations,
//! and `reseal process` starts once per message in pipe mode (docs/performance.md).
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
