#!/usr/bin/env bash
# Padding-oracle timing benchmark (SECURITY.md invariant 3): builds benches/oracle-timing in
# release and times Keystore::unwrap_cek and unwrap::smime::decrypt_enveloped on valid,
# bad-padding and bad-length PKCS#1 v1.5 key transports. Run it on a quiet machine (no
# fuzzers or builds beside it); it prints Markdown tables. Needs openssl.
#
# Usage: benches/oracle_timing.sh [ROUNDS]   (default 2000; one round = 8 timed calls)
set -euo pipefail
cd "$(dirname "$0")/oracle-timing"
cargo build --release --quiet
exec target/release/reseal-oracle-timing "${1:-2000}"
