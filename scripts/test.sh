#!/usr/bin/env bash
# Runs every test of the workspace against the real peers, after installing them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
