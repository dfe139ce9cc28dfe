#!/usr/bin/env bash
# Runs every test of the workspace against the real peers, after installing them.
# The suite runs with RESEAL_TRANSCRIPTS set: every `reseal` run's output and every
# daemon log is kept, and afterwards tests/secrets.rs searches all of it for the test
# passphrase, passwords and private-key bytes (DESIGN §3 rule 8).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
RESEAL_TRANSCRIPTS="$(mktemp -d "${TMPDIR:-/tmp}/reseal-transcripts.XXXXXX")"
export RESEAL_TRANSCRIPTS
trap 'rm -rf "$RESEAL_TRANSCRIPTS"' EXIT
cargo test --workspace --locked "$@"
# The scan needs the whole suite's output; a filtered run (arguments given) skips it.
if [ $# -eq 0 ]; then
    echo "secrets scan over $(find "$RESEAL_TRANSCRIPTS" -type f | wc -l) transcripts"
    cargo test --locked --test secrets -- --ignored --exact whole_suite_output_holds_no_secret
fi
