#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each one briefly, failing on any
# crash, timeout or out-of-memory (see docs/fuzzing.md). Works on a fresh machine: it
# installs cargo-fuzz when it is missing (`cargo install cargo-fuzz --locked`, about a
# minute and a half here) and seeds the corpora from vectors/ first.
#
# Usage: scripts/fuzz-smoke.sh [TARGET ...]         (default: every target)
#
# Before fuzzing it replays tests/corpus/fuzz-regressions/<target>-* and fails if any of
# them still crashes.
# Environment:
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_JOBS     targets run at once (default 1; the machine has 2 cores)
#   FUZZ_SANITIZER  none (default; the code is safe Rust) or address (needs
#                 RUSTC_BOOTSTRAP=1 on a stable toolchain, which this script sets)
#   FUZZ_KEEP_GOING=1  fork mode: keep fuzzing after a crash, to find more than one
#                 (for long campaigns; the run still fails if any crash was found)
#
# Crash inputs land in fuzz/artifacts/<target>/, logs in fuzz/artifacts/logs/ (both
# gitignored). Stable Rust is enough with the default sanitizer: cargo-fuzz's coverage
# flags are all stable -C options.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
seconds="${FUZZ_SECONDS:-20}"
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$sanitizer" != none ]; then
    export RUSTC_BOOTSTRAP=1
fi
# The targets call the library directly, so they lack the re-exec with which the
# `reseal` binary turns library error backtraces off (src/main.rs,
# `without_error_backtraces`); do the same here, or RUST_BACKTRACE=1 in the caller's
# environment makes every anyhow::Error capture a backtrace and the run time out.
export RUST_LIB_BACKTRACE=0

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi
command -v c++ >/dev/null || {
    echo "fuzz-smoke: libFuzzer needs a C++ compiler (apt-get install g++)" >&2
    exit 1
}

all=(mime_entity mime_tree smime_cms unwrap_smime unwrap_openpgp openpgp_packets
    openpgp_plaintext record_parse record_recipe record_verify config smtp_session)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

./seed-corpora.sh "${targets[@]}" >/dev/null
cargo fuzz build -s "$sanitizer"

# Per-target libFuzzer options: input size bound and dictionary (paths as seen from
# fuzz/artifacts/<target>/, where the target runs).
opts() {
    case "$1" in
    config) echo "-max_len=8192 -dict=../../dicts/config.dict" ;;
    smtp_session) echo "-max_len=65536 -dict=../../dicts/smtp.dict" ;;
    record_parse) echo "-max_len=65536 -dict=../../dicts/record.dict" ;;
    record_recipe) echo "-max_len=8192" ;;
    smime_cms | openpgp_packets | openpgp_plaintext) echo "-max_len=65536" ;;
    *) echo "-max_len=131072 -dict=../../dicts/mime.dict" ;;
    esac
}

keep_going=""
if [ "${FUZZ_KEEP_GOING:-0}" = 1 ]; then
    keep_going="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
fi

# How many crash, timeout and out-of-memory inputs a target has saved so far.
findings() {
    [ -d "artifacts/$1" ] || { echo 0; return; }
    find "artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) 2>/dev/null | wc -l
}

mkdir -p artifacts/logs
triple="$(rustc -vV | sed -n 's/^host: //p')"
run_one() {
    local t="$1" log="$PWD/artifacts/logs/$1.log" before after status
    mkdir -p "artifacts/$t"
    before=$(findings "$t")
    # The binary cargo-fuzz built, run from its artifact folder: in fork mode libFuzzer
    # writes crash files to the working directory whatever -artifact_prefix says.
    # shellcheck disable=SC2046,SC2086
    if (cd "artifacts/$t" && "../../target/$triple/release/$t" -artifact_prefix=./ \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $(opts "$t") $keep_going "../../corpus/$t") >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
    fi
    after=$(findings "$t")
    if [ "$after" -gt "$before" ]; then
        status="FAILED ($((after - before)) new in fuzz/artifacts/$t)"
    fi
    echo "$status" >"artifacts/logs/$t.status"
}

# Replay the committed crash inputs first (tests/corpus/fuzz-regressions/<target>-*): a
# bug found once must stay fixed, whatever the short run below happens to find.
regressions_failed=0
for t in "${targets[@]}"; do
    for f in "$root"/tests/corpus/fuzz-regressions/"$t"-*; do
        [ -f "$f" ] || continue
        if ! "target/$triple/release/$t" -runs=1 -timeout=10 "$f" >"artifacts/logs/$t.replay.log" 2>&1; then
            echo "REGRESSION: $t crashes or times out on ${f#"$root"/}" >&2
            grep -m2 -E 'panicked at|ERROR: libFuzzer' "artifacts/logs/$t.replay.log" |
                sed 's/^/    /' >&2 || true
            regressions_failed=1
        fi
    done
done

pids=()
for t in "${targets[@]}"; do
    rm -f "artifacts/logs/$t.status"
    run_one "$t" &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
wait "${pids[@]}" 2>/dev/null || true

failed=0
printf '%-18s %12s %8s %8s %7s  %s\n' target execs exec/s cov corpus status
for t in "${targets[@]}"; do
    log="artifacts/logs/$t.log"
    # A missing statistic is "-", not an error: each grep may find nothing.
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}' | tail -1 || true)
    # Fork mode prints "#EXECS: cov: ..." lines and no final stats.
    [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+: cov' "$log" | tail -1 | tr -dc 0-9 || true)
    rate=$(grep -oE '(stat::average_exec_per_sec: *|exec/s: )[0-9]+' "$log" | tail -1 | tr -dc 0-9 || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
    status=$(cat "artifacts/logs/$t.status" 2>/dev/null || echo FAILED)
    printf '%-18s %12s %8s %8s %7s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "${corp:--}" "$status"
    if [ "$status" != ok ]; then
        failed=1
        grep -E 'panicked at|SUMMARY|Test unit written|ERROR: libFuzzer' "$log" | head -5 | sed 's/^/    /' || true
    fi
done
if [ "$regressions_failed" = 1 ]; then
    echo "fuzz-smoke: some inputs in tests/corpus/fuzz-regressions still crash (see above)" >&2
    failed=1
fi
exit "$failed"
