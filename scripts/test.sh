#!/usr/bin/env bash
# Runs every test of the workspace against the real peers, after installing them.
# The suite runs with RESEAL_TRANSCRIPTS set: every `reseal` run's output and every
# daemon log is kept, and afterwards tests/secrets.rs searches all of it for the test
# passphrase, passwords and private-key bytes (SECURITY.md invariant 8).
#
# Usage: scripts/test.sh [CARGO TEST ARGS ...]
#   No arguments: the whole suite (every test binary runs, even after one fails:
#   --no-fail-fast), then the secrets scan, which runs even when tests failed. The
#   script exits non-zero when either failed.
#   With arguments (a filter, `--test NAME`, `-- --nocapture` ...): they go to
#   `cargo test`, and the scan is skipped, since it needs the whole suite's output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
RESEAL_TRANSCRIPTS="$(mktemp -d "${TMPDIR:-/tmp}/reseal-transcripts.XXXXXX")"
export RESEAL_TRANSCRIPTS
trap 'rm -rf "$RESEAL_TRANSCRIPTS"' EXIT

tests_status=0
cargo test --workspace --locked --no-fail-fast "$@" || tests_status=$?

# The scan needs the whole suite's output; a filtered run (arguments given) skips it.
if [ $# -gt 0 ]; then
    exit "$tests_status"
fi

echo "secrets scan over $(find "$RESEAL_TRANSCRIPTS" -type f | wc -l) transcripts"
scan_status=0
cargo test --locked --test secrets -- --ignored --exact whole_suite_output_holds_no_secret ||
    scan_status=$?

if [ "$tests_status" -ne 0 ] || [ "$scan_status" -ne 0 ]; then
    echo "test.sh: FAILED (tests: exit $tests_status, secrets scan: exit $scan_status)" >&2
    exit 1
fi
