#!/usr/bin/env bash
# Builds Reseal (release) after installing its dependencies, then runs it with the
# given arguments. With no arguments it shows the help.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
"$here/scripts/setup.sh"
cargo build --release --locked --manifest-path "$here/Cargo.toml" -q
exec "$here/target/release/reseal" "$@"
