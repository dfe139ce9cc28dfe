#!/usr/bin/env bash
# The benchmark suite (not tests): one run, Markdown tables on stdout.
#
#   benches/run.sh [--quick] [--parts LIST] [--n N] [--seed S] [--sizes LIST]
#                  [--load-count N] [--load-sessions N] [--write] [--keep]
#
# Parts (default: all), in this order:
#   corpus   bench keys (test CA, S/MIME RSA-2048/RSA-3072/P-256 senders, OpenPGP
#            Ed25519/Cv25519 and RSA-3072 senders, recipients) and N messages
#            (benches/corpus.py; 70 % 10 KB, 20 % 100 KB, 10 % 1 MB); always made when
#            another part needs it
#   anchor   the corpus through `reseal process` (xargs -P nproc), through the shell-out
#            anchor (openssl cms / gpg, benches/job.sh, xargs -P nproc) and through
#            `reseal serve` (SMTP, loopback sink): msg/s, CPU per message, ratios
#   floor    the crypto floor per message (benches/floor.py, `openssl speed`) and
#            Reseal's CPU per message as a multiple of it
#   sweep    one S/MIME and one OpenPGP message of each size through `reseal process`:
#            time, peak RSS, PASS/FAIL against peak RSS <= 3 x size + 64 MiB
#   load     LOAD_SESSIONS concurrent SMTP sessions deliver LOAD_COUNT messages through
#            `reseal serve`: msg/s, p50/p99 latency (end of DATA to reply), lost/duplicated
#            Message-IDs at the sink
#   profile  `perf record` of `reseal process` on a typical S/MIME and OpenPGP message:
#            top 15 functions by self time
#   spool    SPOOL_COUNT messages over SPOOL_SESSIONS sessions through a fresh
#            `reseal serve` with smtp.spool_sync = "each", then "group": msg/s, latency
#   hsm      the S/MIME RSA-2048 sender's key put on a SoftHSM2 token (PKCS#11): its
#            10 KB corpus messages through `reseal agent` with the key in the keystore,
#            then on the token: ms and agent CPU per message, side by side
# --quick: N=60, sizes 10k..10m, 1,000 load messages, shorter floor and profile (~4 min
# once reseal is built). --write: also writes docs/performance.md. --keep: keep the
# work directory. Builds reseal once (`cargo build --release --locked`; honours
# CARGO_TARGET_DIR). Needs openssl, gpg, python3, perf (linux-perf; the profile part is
# skipped without it) and /usr/bin/time.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
B="$here/benches"

N=400 SEED=1 SIZES=10k,100k,1m,10m,50m LOAD_COUNT=10000 LOAD_SESSIONS=200 FLOOR_SECS=3 PROF_ITER=40
SPOOL_COUNT=3000 SPOOL_SESSIONS=100
ALL_PARTS=corpus,anchor,floor,sweep,load,profile,spool,hsm
PARTS=$ALL_PARTS WRITE=0 KEEP=0 QUICK=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 N=60 SIZES=10k,100k,1m,10m LOAD_COUNT=1000 FLOOR_SECS=1 PROF_ITER=15 SPOOL_COUNT=600 ;;
    --parts) PARTS=$2; shift ;;
    --n) N=$2; shift ;;
    --seed) SEED=$2; shift ;;
    --sizes) SIZES=$2; shift ;;
    --load-count) LOAD_COUNT=$2; shift ;;
    --load-sessions) LOAD_SESSIONS=$2; shift ;;
    --write) WRITE=1 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
want() { [[ ",$PARTS," == *",$1,"* ]]; }

log() { echo "== $*" >&2; }
NPROC=$(nproc)
TARGET=${CARGO_TARGET_DIR:-$here/target}
log "building reseal (release)"
cargo build --release --locked --manifest-path "$here/Cargo.toml" -q
export RESEAL="$TARGET/release/reseal"
export RESEAL_PASSPHRASE=bench-passphrase
# The production default. With RUST_BACKTRACE set, every `reseal` invocation re-executes
# itself once (cli::without_error_backtraces, against a backtrace per parse error), which
# the pipe-mode figures would then include (about 3 ms here).
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
unset RESEAL_LOG RESEAL_CONFIG

W=$(mktemp -d /tmp/rbenchXXXX)   # short: gpg-agent's socket lives under it
sink_pid= srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && { kill -9 "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; }
  [ -n "$sink_pid" ] && { kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; }
  GNUPGHOME="$W/keys/gnupg" gpgconf --kill all 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then echo "work directory kept: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$W/md" "$W/out/reseal" "$W/out/anchor"
MD="$W/md"
emit() { tee "$MD/$1.md"; echo; }   # a part's Markdown: to stdout and into the report
py() { python3 - "$@"; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
now() { date +%s%N; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime of a process
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- corpus + keystore
log "corpus: keys and $N messages (seed $SEED)"
python3 "$B/corpus.py" keys "$W"
t0=$(now); python3 "$B/corpus.py" gen "$W" "$N" "$SEED"; t1=$(now)
export GNUPGHOME="$W/keys/gnupg"
K="$W/keys"
"$RESEAL" keys init --keystore "$W/ks" >/dev/null
py "$K/keys.json" > "$W/import.sh" <<'PY'
import json, sys, shlex
k = json.load(open(sys.argv[1]))
for a, s in k["senders"].items():
    if s["tech"] == "openpgp":
        print('"$RESEAL" keys import --keystore "$W/ks" --openpgp %s --for %s' % (shlex.quote(s["sign"]["sec"]), a))
    elif s["sign"] is s["decrypt"] or s["sign"]["key"] == s["decrypt"]["key"]:
        print('"$RESEAL" keys import --keystore "$W/ks" --key %s --cert %s --for %s' % (s["sign"]["key"], s["sign"]["cert"], a))
    else:
        print('"$RESEAL" keys import --keystore "$W/ks" --key %s --cert %s --for %s --use sign' % (s["sign"]["key"], s["sign"]["cert"], a))
        print('"$RESEAL" keys import --keystore "$W/ks" --key %s --cert %s --for %s --use decrypt' % (s["decrypt"]["key"], s["decrypt"]["cert"], a))
print('"$RESEAL" keys import-cert --keystore "$W/ks" ' + " ".join(r["cert"] for r in k["recipients"].values()))
print('"$RESEAL" keys trust --keystore "$W/ks" ' + k["ca"])
PY
W="$W" bash -e "$W/import.sh" >/dev/null
conf() { # FILE DATA_DIR [SMTP/RELAY TOML]
  cat > "$1" <<EOF
keystore = "$W/ks"
data_dir = "$2"
[opes]
system = "https://gw.example.com/opes"
privacy_policy = "https://gw.example.com/privacy"
[limits]
max_message_bytes = 268435456
max_inflight_bytes = 536870912
${3:-}
EOF
}
conf "$W/process.toml" "$W/data-process"
py "$W/corpus/manifest.tsv" "$SEED" <<'PY' | emit 10-corpus
import sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = collections.OrderedDict()
for r in sorted(rows, key=lambda r: (r[1], ["10k", "100k", "1m"].index(r[4]))):
    by.setdefault((r[1], r[4]), []).append(r)
print("### Corpus\n")
print("%d messages (seed %s); wire size is what the client hands the gateway.\n" % (len(rows), sys.argv[2]))
print("| sender kind | size class | messages | mean recipients | mean wire bytes |")
print("|---|---|---:|---:|---:|")
for (k, c), rs in by.items():
    print("| %s | %s | %d | %.1f | %d |" % (k, c, len(rs), sum(len(r[3].split(",")) for r in rs) / len(rs),
          sum(int(r[6]) for r in rs) / len(rs)))
PY
log "corpus ready in $(ms "$t0" "$t1") ms of generation"

# ---------------------------------------------------------------- sink + serve
start_serve() { # (env SPOOL_SYNC, SERVE_DATA: the spool_sync setting and the data folder)
  [ -n "$srv_pid" ] && return 0
  if [ -z "$sink_pid" ]; then
    python3 "$B/load.py" sink "$W/sink.port" "$W/sink.log" 2>"$W/sink.err" &
    sink_pid=$!
  fi
  for _ in $(seq 100); do [ -s "$W/sink.port" ] && break; sleep 0.1; done
  [ -s "$W/sink.port" ] || { echo "the sink did not start" >&2; cat "$W/sink.err" >&2; exit 1; }
  SRV_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  conf "$W/serve.toml" "${SERVE_DATA:-$W/data-serve}" "[smtp]
listen = \"127.0.0.1:$SRV_PORT\"
spool_sync = \"${SPOOL_SYNC:-each}\"
max_connections = 1000
max_connections_per_client = 1000
reserved_connections = 0
max_new_sessions_per_minute = 0
[relay]
next_hop = \"127.0.0.1:$(cat "$W/sink.port")\"
retry_base_secs = 1
retry_max_secs = 2"
  # reseal::pipeline=debug: one "pipeline CPU ... cpu_us=N" line per message (the
  # pipeline's own thread CPU time, read by the floor part).
  RESEAL_LOG=warn,reseal::pipeline=debug "$RESEAL" serve --config "$W/serve.toml" > "$W/serve.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 200); do
    kill -0 "$srv_pid" 2>/dev/null || { echo "reseal serve exited:" >&2; cat "$W/serve.log" >&2; exit 1; }
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$SRV_PORT" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "reseal serve did not listen" >&2; exit 1
}
# deliver TAG COUNT SESSIONS: sends, waits for the sink, sets D_* (wall ns until relayed, CPU ticks)
deliver() {
  local tag=$1 count=$2 sessions=$3 c0 c1 t0 t1 got
  c0=$(ticks "$srv_pid"); t0=$(now)
  python3 "$B/load.py" send "$SRV_PORT" "$W/corpus" "$sessions" "$count" "$tag" "$W/$tag"
  local acc; acc=$(py "$W/$tag.json" <<<'import json,sys; print(json.load(open(sys.argv[1]))["accepted"])')
  for _ in $(seq 6000); do
    got=$(grep -c "^<$tag-" "$W/sink.log" || true)
    [ "$got" -ge "$acc" ] && break
    sleep 0.1
  done
  t1=$(now); c1=$(ticks "$srv_pid")
  D_WALL=$((t1 - t0)) D_TICKS=$((c1 - c0)) D_ACC=$acc D_GOT=$got
}

# ---------------------------------------------------------------- anchor
if want anchor; then
  log "anchor: $N messages through reseal process, the openssl/gpg anchor and reseal serve ($NPROC parallel)"
  run_par() { # MODE -> WORK/MODE.run: wall ns, CPU seconds of all the jobs
    local t0 t1
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$W/$1.cpu" xargs -P "$NPROC" -L 1 "$B/job.sh" "$1" "$W" < "$W/corpus/manifest.tsv" ||
      { echo "run.sh: the $1 jobs failed" >&2; exit 1; }
    t1=$(now)
    echo "$((t1 - t0)) $(awk '{ print $1 + $2 }' "$W/$1.cpu")" > "$W/$1.run"
  }
  run_par reseal; read -r rw rc < "$W/reseal.run"
  run_par anchor; read -r aw ac < "$W/anchor.run"
  # The same `reseal process` jobs with `reseal agent` holding the unlocked keystore:
  # CPU is the clients' plus the agent's.
  "$RESEAL" agent --config "$W/process.toml" 2> "$W/agent.log" & agent_pid=$!
  for _ in $(seq 600); do [ -S "$W/data-process/agent.sock" ] && break; sleep 0.05; done
  [ -S "$W/data-process/agent.sock" ] || { echo "run.sh: reseal agent did not start: $(cat "$W/agent.log")" >&2; exit 1; }
  ga=$(ticks "$agent_pid")
  run_par reseal; read -r gw gc < "$W/reseal.run"
  gc=$(awk -v c="$gc" -v t=$(( $(ticks "$agent_pid") - ga )) -v h="$HZ" 'BEGIN { print c + t / h }')
  # Pipe-mode overhead: one 10 KB message, sequentially, through the agent; wall time per
  # message minus the agent's CPU for it (the pipeline's own work).
  one=$(awk -F'\t' '$5 == "10k" && $2 ~ /^smime-rsa2048/ { print; exit }' "$W/corpus/manifest.tsv")
  IFS=$'\t' read -r of _ osender orcpts _ <<< "$one"
  oargs=(); IFS=, read -r -a ors <<< "$orcpts"; for r in "${ors[@]}"; do oargs+=(--rcpt "$r"); done
  ga=$(ticks "$agent_pid"); t0=$(now)
  for _ in $(seq 50); do
    "$RESEAL" process --config "$W/process.toml" --mail-from "$osender" "${oargs[@]}" < "$W/corpus/$of" > /dev/null
  done
  t1=$(now); gt=$(( $(ticks "$agent_pid") - ga ))
  agent_ms=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 50 / 1e6 }')
  agent_cpu_ms=$(awk -v t="$gt" -v h="$HZ" 'BEGIN { printf "%.1f", t / h / 50 * 1000 }')
  # The same through reseal-pipe, the small client meant for pipe(8).
  ga=$(ticks "$agent_pid"); t0=$(now)
  for _ in $(seq 50); do
    "$RESEAL-pipe" --config "$W/process.toml" --mail-from "$osender" "${oargs[@]}" < "$W/corpus/$of" > /dev/null
  done
  t1=$(now); gt=$(( $(ticks "$agent_pid") - ga ))
  pipe_ms=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 50 / 1e6 }')
  pipe_cpu_ms=$(awk -v t="$gt" -v h="$HZ" 'BEGIN { printf "%.1f", t / h / 50 * 1000 }')
  kill -TERM "$agent_pid"; wait "$agent_pid" || true
  # Spot checks: the first message of each kind opens for its first recipient.
  checked=0
  while IFS=$'\t' read -r f kind sender rcpts _; do
    r=${rcpts%%,*}; o="$W/out/reseal/$f"
    case $kind in
      smime-*) openssl cms -decrypt -recip "$K/$r.pem" -inkey "$K/$r.key" -in "$o" |
                 openssl cms -verify -CAfile "$K/ca.pem" -purpose smimesign >/dev/null 2>&1 || { echo "check FAILED: $f" >&2; exit 1; } ;;
      pgp-*) gpg --batch --quiet --decrypt "$o" >/dev/null 2>&1 || { echo "check FAILED: $f" >&2; exit 1; } ;;
    esac
    checked=$((checked + 1))
  done < <(sort -t$'\t' -k2,2 -u "$W/corpus/manifest.tsv")
  # What one `reseal process` pays before any message: start and keystore unlock.
  t0=$(now); for _ in $(seq 10); do "$RESEAL" keys list --keystore "$W/ks" >/dev/null; done; t1=$(now)
  unlock_ms=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 10 / 1e6 }')
  start_serve
  deliver thru "$N" $((NPROC * 4))
  sw=$D_WALL sc=$(awk -v t="$D_TICKS" -v h="$HZ" 'BEGIN { print t / h }')
  [ "$D_GOT" -ge "$N" ] || echo "serve: only $D_GOT of $N relayed" >&2
  # The pipeline's own CPU for these messages (serve's debug lines; the server started here).
  read -r pl_us pl_n < <(grep -o 'cpu_us=[0-9]*' "$W/serve.log" | awk -F= '{ s += $2; n++ } END { printf "%d %d\n", s, n }')
  printf '%s\n' "$rw $rc $aw $ac $sw $sc $N $NPROC $unlock_ms $checked $gw $gc $agent_ms $agent_cpu_ms $pipe_ms $pipe_cpu_ms $pl_us $pl_n" > "$W/anchor.res"
  py "$W/anchor.res" <<'PY' | emit 20-anchor
import sys
rw, rc, aw, ac, sw, sc, n, nproc, unlock, checked, gw, gc, agent_ms, agent_cpu, pipe_ms, pipe_cpu, pl_us, pl_n = open(sys.argv[1]).read().split()
n = int(n); nproc = int(nproc)
rows = [("`reseal process` (xargs -P %d)" % nproc, int(rw) / 1e9, float(rc)),
        ("`reseal process` through `reseal agent` (xargs -P %d)" % nproc, int(gw) / 1e9, float(gc)),
        ("`reseal serve` (%d SMTP sessions, relayed to the sink)" % (nproc * 4), int(sw) / 1e9, float(sc)),
        ("anchor: `openssl cms` x4 / `gpg` x2 (xargs -P %d)" % nproc, int(aw) / 1e9, float(ac))]
anchor_rate = n / rows[3][1]
print("### Throughput: reseal vs the shell-out anchor\n")
print("The same %d corpus messages, all cores busy. CPU is user+system time of every process"
      " involved (for `serve`, the server process only).\n" % n)
print("| path | wall s | msg/s | CPU ms/msg | msg/s ratio vs anchor |")
print("|---|---:|---:|---:|---:|")
for name, wall, cpu in rows:
    print("| %s | %.2f | %.1f | %.1f | %.2f |" % (name, wall, n / wall, cpu * 1000 / n, (n / wall) / anchor_rate))
print("\nTarget (issue 15): `serve` at least 20x the anchor's throughput; this run: **%.2fx**."
      % ((n / rows[2][1]) / anchor_rate))
print("\nEach `reseal process` also pays process start and the keystore unlock (Argon2id, default"
      " 19 MiB, 2 passes): %s ms per invocation (`reseal keys list`, sequential). Outputs checked:"
      " the first message of each of %s sender kinds opens and verifies for its first recipient"
      " (openssl cms / gpg)." % (unlock, checked))
print("\nThrough `reseal agent` no invocation unlocks the keystore. One 10 KB S/MIME message, 50"
      " times in a row: %s ms per `reseal process` (wall), of which the agent's pipeline CPU is %s"
      " ms; the rest, **%.1f ms**, is the pipe-mode overhead (process start, reading stdin, the"
      " socket, writing stdout; target <= 5 ms)." % (agent_ms, agent_cpu, float(agent_ms) - float(agent_cpu)))
print("\nThe same through `reseal-pipe` (the small client for pipe(8)):"
      " %s ms per message, of which the agent's pipeline CPU is %s"
      " ms; pipe-mode overhead **%.1f ms** (target <= 5 ms)." % (pipe_ms, pipe_cpu,
      float(pipe_ms) - float(pipe_cpu)))
PY
fi

# ---------------------------------------------------------------- floor
if want floor; then
  log "floor: openssl speed (${FLOOR_SECS}s per primitive)"
  python3 "$B/floor.py" "$W" "$FLOOR_SECS"
  py "$W/floor.json" "$W/anchor.res" <<'PY' | emit 30-floor
import json, os, sys, collections
f = json.load(open(sys.argv[1]))
u, b = f["us_per_op"], f["us_per_byte"]
print("### Crypto floor\n")
print("One core, `openssl speed`: the same library as Reseal's RSA (the keystore's OpenSSL"
      " provider) and its OpenPGP (sequoia on OpenSSL).\n")
print("| primitive | µs/op |\n|---|---:|")
for k in sorted(u):
    print("| %s | %.1f |" % (k, u[k]))
for k in sorted(b):
    print("| %s (per MB) | %.1f |" % (k, b[k] * 1e6))
by = collections.OrderedDict()
for m in sorted(f["messages"], key=lambda m: (m["kind"], ["10k", "100k", "1m"].index(m["class"]))):
    by.setdefault((m["kind"], m["class"]), []).append(m)
print("\n| sender kind | size | messages | public-key µs | symmetric+hash µs | floor µs/msg |\n|---|---|---:|---:|---:|---:|")
for (k, c), ms in by.items():
    n = len(ms)
    print("| %s | %s | %d | %.0f | %.0f | %.0f |" % (k, c, n, sum(m["pubkey_us"] for m in ms) / n,
          sum(m["sym_us"] for m in ms) / n, sum(m["floor_us"] for m in ms) / n))
fl = f["mean_floor_us"]
print("\nMean floor over the corpus: **%.0f µs per message** (one core)." % fl)
if os.path.exists(sys.argv[2]):
    rw, rc, aw, ac, sw, sc, n, nproc, unlock, checked = open(sys.argv[2]).read().split()[:10]
    n = int(n)
    print("\n| path | CPU µs/msg | multiple of the floor |\n|---|---:|---:|")
    extra = open(sys.argv[2]).read().split()[10:]
    pl_us, pl_n = (float(extra[6]), int(extra[7])) if len(extra) > 7 else (float("nan"), 1)
    for name, cpu in (("the pipeline in `reseal serve` (`Gateway::process`, its thread's CPU clock, %d messages)"
                       % pl_n, pl_us / 1e6 / max(pl_n, 1) * n),
                      ("`reseal serve` (server process CPU / messages)", float(sc)),
                      ("`reseal process` (all invocations' CPU / messages)", float(rc)),
                      ("`reseal process` through the agent (clients' and agent's CPU / messages)",
                       float(extra[1]) if len(extra) > 1 else float("nan")),
                      ("anchor (openssl cms / gpg CPU / messages)", float(ac))):
        us = cpu * 1e6 / n
        print("| %s | %.0f | %.1fx |" % (name, us, us / fl))
    print("\nTarget (issue 15): in-process time at most 2x the floor. This run: the pipeline"
          " **%.1fx**; the whole `serve` process (SMTP, spool, relay, TLS-free loopback) **%.1fx**."
          % (pl_us / max(pl_n, 1) / fl, float(sc) * 1e6 / n / fl))
PY
fi

# ---------------------------------------------------------------- sweep
if want sweep; then
  log "sweep: $SIZES through reseal process (S/MIME and OpenPGP)"
  : > "$W/sweep.res"
  for tech in smime openpgp; do
    if [ "$tech" = smime ]; then from=s2048@corp.example to=m1@partner-smime.example
    else from=ped@corp.example to=g1@partner-pgp.example; fi
    for s in ${SIZES//,/ }; do
      bytes=$(awk -v s="$s" 'BEGIN { n = s + 0; u = tolower(substr(s, length(n "") + 1));
        print int(n * (u == "k" ? 1000 : u == "m" ? 1000000 : 1)) }')
      f="$W/sweep-$tech-$s"
      python3 "$B/corpus.py" one "$W" "$bytes" "$f.eml" "$from"
      wire=$(wc -c < "$f.eml")
      best= peak=0 ok=1
      for _ in 1 2 3; do   # best wall time and highest peak RSS of three runs
        t0=$(now)
        /usr/bin/time -f '%M' -o "$f.time" "$RESEAL" process --config "$W/process.toml" \
          --mail-from "$from" --rcpt "$to" < "$f.eml" > "$f.out" 2>"$f.err" || { ok=0; break; }
        t1=$(now)
        [ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
        kb=$(cat "$f.time"); [ "$kb" -gt "$peak" ] && peak=$kb
      done
      if [ "$ok" = 0 ]; then
        echo "sweep $tech $s: reseal process failed: $(head -c 300 "$f.err")" >&2; echo "$tech $s $wire fail fail" >> "$W/sweep.res"; continue
      fi
      echo "$tech $s $wire $(awk -v n="$best" 'BEGIN { print n / 1e9 }') $peak $(wc -c < "$f.out")" >> "$W/sweep.res"
      rm -f "$f.eml" "$f.out"
    done
  done
  py "$W/sweep.res" <<'PY' | emit 40-sweep
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print("### Size sweep (`reseal process`, one recipient)\n")
print("S/MIME: RSA-2048 sender, RSA-2048 recipient (the wire form is base64 of the CMS envelope). OpenPGP:"
      " Ed25519/Cv25519 sender, Cv25519 recipient (gpg compresses the base64 text inside, so the wire form is"
      " smaller than the content; the output is not compressed). Best wall time of three runs (each includes"
      " process start and keystore unlock); peak RSS is the highest maximum resident set (`/usr/bin/time` %M) of"
      " the three. Bound: 3 x wire size + 64 MiB. Marginal ms/MB: (time - time of the smallest) / (size -"
      " smallest size).\n")
print("| technology | size | wire bytes | output bytes | time s | marginal ms/MB | peak RSS MiB | bound MiB | result |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
base = {}
for r in rows:
    if r[3] == "fail":
        print("| %s | %s | %s | - | - | - | - | - | FAIL (error) |" % (r[0], r[1], r[2]))
        continue
    tech, s, wire, t, kb, out = r[0], r[1], int(r[2]), float(r[3]), int(r[4]), int(r[5])
    b = base.setdefault(tech, (wire, t))
    marg = "%.1f" % ((t - b[1]) * 1000 / ((wire - b[0]) / 1e6)) if wire > b[0] * 5 else "-"
    bound = 3 * wire / 2**20 + 64
    print("| %s | %s | %d | %d | %.3f | %s | %.1f | %.1f | %s |" % (tech, s, wire, out, t, marg, kb / 1024, bound,
          "PASS" if kb / 1024 <= bound else "FAIL"))
PY
fi

# ---------------------------------------------------------------- load
if want load; then
  log "load: $LOAD_COUNT messages over $LOAD_SESSIONS sessions through reseal serve"
  start_serve
  hwm0=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$srv_pid/status")
  deliver load "$LOAD_COUNT" "$LOAD_SESSIONS"
  hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$srv_pid/status")
  grep "^<load-" "$W/sink.log" | awk '{ print $1 }' | sort > "$W/load.sink"
  sort "$W/load.ids" > "$W/load.sent"
  lost=$(comm -23 "$W/load.sent" <(sort -u "$W/load.sink") | wc -l)
  dup=$(uniq -d "$W/load.sink" | wc -l)
  extra=$(comm -13 "$W/load.sent" <(sort -u "$W/load.sink") | wc -l)
  spool=$(find "$W/data-serve" -type f -name '*.in' 2>/dev/null | wc -l)
  echo "$D_WALL $D_TICKS $HZ $lost $dup $extra $D_GOT $hwm $spool" > "$W/load.res"
  py "$W/load.json" "$W/load.res" <<'PY' | emit 50-load
import json, sys
j = json.load(open(sys.argv[1]))
wall, ticks, hz, lost, dup, extra, got, hwm, spool = open(sys.argv[2]).read().split()
wall = int(wall) / 1e9
print("### Load: %d concurrent SMTP sessions through `reseal serve`\n" % j["sessions"])
print("Messages cycle through the corpus with a fresh Message-ID each; the sink logs every Message-ID it"
      " receives. Latency: end of DATA (`.`) to the server's reply.\n")
print("| messages | accepted | refused | relayed | lost | duplicated | msg/s (accepted) | msg/s (relayed) | p50 ms | p90 ms | p99 ms | max ms | server CPU ms/msg | peak RSS MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print("| %d | %d | %d | %s | %s | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f |" % (
    j["count"], j["accepted"], j["refused"], got, lost, dup, j["msg_per_s"], int(got) / wall, j["p50_ms"],
    j["p90_ms"], j["p99_ms"], j["max_ms"], int(ticks) / int(hz) * 1000 / max(1, j["accepted"]), int(hwm) / 1024))
ok = j["refused"] == 0 and int(lost) == 0 and int(dup) == 0 and int(extra) == 0
print("\nResult: **%s** (0 refused, 0 lost, 0 duplicated, nothing unexpected at the sink)." % ("PASS" if ok else "FAIL"))
if int(spool):
    print(" %s messages still in the spool at the end." % spool)
for e in j["errors"][:5]:
    print("\n    " + e)
PY
fi

# ---------------------------------------------------------------- profile
if want profile; then
  top15() { awk 'NF >= 3 && $1 ~ /%$/ && n++ < 15 { pct = $1; $1 = ""; $2 = ""; sub(/^ +/, ""); gsub(/\|/, "\\|"); printf "| %s | `%s` |\n", pct, substr($0, 1, 110) }'; }
  if ! command -v perf >/dev/null || ! perf record -q -o /dev/null true 2>/dev/null; then
    printf '### Profile\n\nskipped: perf is not available (apt-get install linux-perf)\n' | emit 60-profile
  else
    {
      echo "### Profiles: \`reseal process\` on one typical message ($PROF_ITER runs), and \`reseal serve\`"
      echo
      echo "\`perf record -F 2999 -g\`, then \`perf report --comm reseal --no-children --sort sym\`: the top 15"
      echo "functions by self time (share of all reseal samples)."
      for kind in smime-rsa2048 pgp-ed25519; do
        IFS=$'\t' read -r f _ sender rcpts _ _ wire < <(awk -F'\t' -v k="$kind" '$2 == k && $5 == "10k" { print; exit }' "$W/corpus/manifest.tsv")
        [ -n "${f:-}" ] || continue
        args=(); IFS=, read -r -a rs <<< "$rcpts"; for r in "${rs[@]}"; do args+=(--rcpt "$r"); done
        perf record -q -F 2999 -g -o "$W/perf-$kind.data" -- bash -c '
          for i in $(seq "$1"); do "$RESEAL" process --config "$2" --mail-from "$3" "${@:5}" < "$4" > /dev/null; done
        ' _ "$PROF_ITER" "$W/process.toml" "$sender" "$W/corpus/$f" "${args[@]}" 2>/dev/null
        echo
        echo "$kind, 10 KB class ($wire bytes on the wire, ${#rs[@]} recipient(s)):"
        echo
        echo '| self % | function |'
        echo '|---:|---|'
        perf report -i "$W/perf-$kind.data" --comm reseal --no-children --sort sym --stdio -q -g none 2>/dev/null |
          top15
      done
      # The server's own hot path (no process start, no keystore unlock): the corpus once
      # more through `reseal serve`, 4 sessions per core, with perf attached to the server.
      start_serve
      perf record -q -F 999 -g -p "$srv_pid" -o "$W/perf-serve.data" 2>/dev/null &
      perf_pid=$!
      sleep 1
      deliver prof "$N" $((NPROC * 4)) 2>/dev/null
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      echo
      echo "\`reseal serve\` (perf attached to the server) while it takes the $N corpus messages:"
      echo
      echo '| self % | function |'
      echo '|---:|---|'
      perf report -i "$W/perf-serve.data" --no-children --sort sym --stdio -q -g none 2>/dev/null | top15
    } | emit 60-profile
  fi
fi

# ---------------------------------------------------------------- spool
# Group commit against one fsync per file: the same messages through a fresh `reseal
# serve` with each setting of smtp.spool_sync, on the same disk.
if want spool; then
  log "spool: $SPOOL_COUNT messages over $SPOOL_SESSIONS sessions, spool_sync each and group"
  stop_serve() {
    [ -n "$srv_pid" ] || return 0
    kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; srv_pid=
  }
  : > "$W/spool.res"
  for mode in each group; do
    stop_serve
    SPOOL_SYNC=$mode SERVE_DATA="$W/data-spool-$mode" start_serve
    deliver "spool-$mode" "$SPOOL_COUNT" "$SPOOL_SESSIONS"
    echo "$mode $D_WALL $D_TICKS $HZ $D_GOT $W/spool-$mode.json" >> "$W/spool.res"
    stop_serve
  done
  py "$W/spool.res" "$(df -T "$W" | awk 'NR == 2 { print $2 }')" <<'PY' | emit 70-spool
import json, sys
fs = sys.argv[2]
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print("### Spool: group commit (`smtp.spool_sync`)\n")
print("The same messages through a fresh `reseal serve` with each setting, %s file system. `each`: every"
      " file fsynced and the folder fsynced, 4 flushes per message; `group`: the message files, then the"
      " envelopes, of all messages finishing together share one syncfs(2). Latency: end of DATA to the"
      " reply (the 250 comes after the message is durable either way).\n" % fs)
print("| spool_sync | messages | sessions | accepted msg/s | relayed msg/s | p50 ms | p99 ms | server CPU ms/msg |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
res = {}
for mode, wall, ticks, hz, got, js in rows:
    j = json.load(open(js))
    wall = int(wall) / 1e9
    res[mode] = j["msg_per_s"]
    print("| %s | %d | %d | %.1f | %.1f | %.0f | %.0f | %.1f |" % (mode, j["count"], j["sessions"], j["msg_per_s"],
          int(got) / wall, j["p50_ms"], j["p99_ms"], int(ticks) / int(hz) * 1000 / max(1, j["accepted"])))
if "each" in res and "group" in res and res["each"]:
    print("\nGroup commit: **%.2fx** the accepted throughput of one fsync per file." % (res["group"] / res["each"]))
PY
fi

# ---------------------------------------------------------------- hsm
if want hsm; then
  log "hsm: the RSA-2048 sender's key in the keystore, then on a SoftHSM2 token"
  M=/usr/lib/softhsm/libsofthsm2.so
  H="$W/hsm"; mkdir -p "$H/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$H/tokens" > "$H/softhsm2.conf"
  export SOFTHSM2_CONF="$H/softhsm2.conf"
  softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null
  from=s2048@corp.example
  # The same key pair as the keystore's, written to the token, so that the same messages
  # serve both runs.
  openssl pkey -in "$K/$from.key" -outform DER -out "$H/key.der"
  pkcs11-tool --module "$M" --token-label bench --login --pin 1234 \
    --write-object "$H/key.der" --type privkey --id 01 --label bench >/dev/null 2>&1
  rm -f "$H/key.der"
  echo 1234 > "$H/pin"
  "$RESEAL" keys init --keystore "$W/ks-hsm" >/dev/null
  "$RESEAL" keys import --keystore "$W/ks-hsm" --pkcs11-uri 'pkcs11:token=bench;id=%01' \
    --pkcs11-module "$M" --pin-file "$H/pin" --cert "$K/$from.pem" --for "$from" >/dev/null
  py "$K/keys.json" <<'PY' | xargs "$RESEAL" keys import-cert --keystore "$W/ks-hsm" >/dev/null
import json, sys
print(" ".join(r["cert"] for r in json.load(open(sys.argv[1]))["recipients"].values()))
PY
  "$RESEAL" keys trust --keystore "$W/ks-hsm" "$K/ca.pem" >/dev/null
  sed "s|^keystore = .*|keystore = \"$W/ks-hsm\"|; s|^data_dir = .*|data_dir = \"$W/data-hsm\"|" \
    "$W/process.toml" > "$W/hsm.toml"
  awk -F'\t' '$2 == "smime-rsa2048" && $5 == "10k"' "$W/corpus/manifest.tsv" > "$W/hsm.list"
  : > "$W/hsm.res"
  for where in keystore token; do
    cfg="$W/process.toml" sock="$W/data-process/agent.sock"
    [ "$where" = token ] && cfg="$W/hsm.toml" sock="$W/data-hsm/agent.sock"
    "$RESEAL" agent --config "$cfg" 2> "$W/agent-$where.log" & agent_pid=$!
    for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.05; done
    [ -S "$sock" ] || { echo "run.sh: reseal agent did not start: $(cat "$W/agent-$where.log")" >&2; exit 1; }
    n=0 failed=0
    ga=$(ticks "$agent_pid"); t0=$(now)
    while IFS=$'\t' read -r f _ sender rcpts _ _ _; do
      args=(); IFS=, read -r -a rs <<< "$rcpts"; for r in "${rs[@]}"; do args+=(--rcpt "$r"); done
      "$RESEAL" process --config "$cfg" --mail-from "$sender" "${args[@]}" < "$W/corpus/$f" > /dev/null \
        2>> "$W/hsm-$where.err" || failed=$((failed + 1))
      n=$((n + 1))
    done < "$W/hsm.list"
    t1=$(now); gt=$(( $(ticks "$agent_pid") - ga ))
    kill -TERM "$agent_pid"; wait "$agent_pid" || true
    echo "$where $n $failed $((t1 - t0)) $gt" >> "$W/hsm.res"
  done
  unset SOFTHSM2_CONF
  py "$W/hsm.res" "$HZ" <<'PY' | emit 75-hsm
import sys
hz = int(sys.argv[2])
rows = {r[0]: r[1:] for r in (l.split() for l in open(sys.argv[1]) if l.strip())}
print("### Keys on an HSM (PKCS#11, SoftHSM2)\n")
print("The S/MIME RSA-2048 sender's 10 KB corpus messages, one after the other, through `reseal process` and")
print("`reseal agent`: once with the sender's key in the keystore (OpenSSL in process), once with the same key")
print("on a SoftHSM2 token (`keys import --pkcs11-uri`). Each message needs two private-key operations with")
print("it (unwrap the content key, sign). SoftHSM2 is software: a hardware HSM adds its own latency.\n")
print("| key held | messages | failed | ms per message (wall) | agent CPU ms per message |")
print("|---|---:|---:|---:|---:|")
for where in ("keystore", "token"):
    if where not in rows:
        continue
    n, failed, ns, ticks = (int(x) for x in rows[where])
    print("| %s | %d | %d | %.1f | %.1f |" % ("in the keystore" if where == "keystore" else "on the SoftHSM2 token",
          n, failed, ns / max(n, 1) / 1e6, ticks / hz / max(n, 1) * 1000))
if "keystore" in rows and "token" in rows:
    k, t = (int(rows[w][2]) / max(int(rows[w][0]), 1) for w in ("keystore", "token"))
    print("\nThe token costs %.1f ms more per message (%.2f x)." % ((t - k) / 1e6, t / k))
PY
fi

# ---------------------------------------------------------------- report
if [ "$WRITE" = 1 ]; then
  mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
  os=$(. /etc/os-release; echo "$PRETTY_NAME, kernel $(uname -r)")
  cmd="benches/run.sh"; [ "$QUICK" = 1 ] && cmd="$cmd --quick"; [ "$PARTS" != "$ALL_PARTS" ] && cmd="$cmd --parts $PARTS"
  {
    cat <<EOF
# Performance

Numbers from one run of \`$cmd --write\` on $(date -u +%Y-%m-%d) (commit $(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD -- src keystore || echo ", with uncommitted changes")).
They are what this machine did once, not a specification; re-run on yours.

## Machine

| | |
|---|---|
| CPUs | $NPROC ($cpu) |
| RAM | $mem |
| OS | $os |
| OpenSSL | $(openssl version) |
| GnuPG | $(gpg --version | head -1) |
| Rust | $(rustc --version) |

## Method

- **Corpus** (\`benches/corpus.py\`, deterministic from the seed; keys made at run time by
  openssl and gpg in a temporary directory): 70 % 10 KB text, 20 % 100 KB with an attachment,
  10 % 1 MB (attachment). Senders: S/MIME RSA-2048, RSA-3072 and P-256 (signs with P-256;
  encrypted to its RSA-2048 key, as Reseal opens key transport only), OpenPGP
  Ed25519/Cv25519 and RSA-3072; 1–3 recipients of the sender's technology (S/MIME: two
  RSA-2048, one RSA-3072; OpenPGP: two Cv25519, one RSA-3072). Each message is signed by the
  sender and encrypted to the sender's own delegated key (S/MIME: AES-256-GCM
  AuthEnvelopedData; OpenPGP: gpg's defaults, compressed), as a client sends it through the
  gateway. The keystore holds every sender's key (delegated), every recipient certificate
  and the test CA as trust anchor; no services are configured.
- **Throughput** (\`anchor\`): the whole corpus through \`reseal process\`, through the
  shell-out anchor (\`benches/job.sh\`: \`openssl cms\` decrypt, verify, sign, encrypt to every
  recipient with AES-256-CBC/PKCS#1 v1.5 as Reseal does by default; \`gpg --decrypt\` then
  \`gpg --sign --encrypt\`), both with \`xargs -P nproc\`, and through \`reseal serve\` over SMTP
  to a loopback sink (\`benches/load.py\`) with 4 sessions per core, timed until the sink has
  every message. The anchor writes no outer header and no trace; Reseal does both.
- **Floor** (\`benches/floor.py\`): \`openssl speed\` on one core for each public-key
  primitive a message needs and AES/SHA throughput times its bytes (see the script's header
  for the exact sum). Reseal's CPU per message (user+system from \`/proc/PID/stat\` for
  \`serve\`, from \`/usr/bin/time\` for the \`process\` and anchor runs) is given as a multiple.
- **Sweep**: one message per size through \`reseal process\`, peak RSS from \`/usr/bin/time\`.
- **Load**: \`benches/load.py send\`: the sessions send transaction after transaction,
  each message with a unique Message-ID; the sink (\`benches/load.py sink\`) logs every
  Message-ID; lost = accepted but never relayed, duplicated = relayed more than once.
  Client, sink and server share the machine's cores.
- **Profile**: \`perf record\` over repeated \`reseal process\` runs of one 10 KB message.
- **Spool**: the same messages through a fresh \`reseal serve\` with \`smtp.spool_sync =
  "each"\`, then \`"group"\` (docs/smtp-server.md, "Durability").

## Memory

The bound the sweep checks is peak RSS ≤ 3 × the message size + 64 MiB. A large S/MIME
message exists in several forms on its way through: as received (base64), as DER, as
ciphertext, as plaintext, signed, encrypted again, base64 again. The pipeline keeps at most
about three of them alive at once:

- \`unwrap\` hands each layer on as a shared view (\`bytes::Bytes\`): the content of a
  multipart/signed, the signed entity passed on and the record's original are slices of
  one buffer, not copies.
- base64 is decoded a 64 KiB piece at a time (no second copy without line breaks) and
  encoded straight into the output lines.
- BER is normalised in two passes (measure, then write once; DER is not copied at all),
  and the ContentInfo is read in place rather than decoded into an ANY and encoded again.
- The carrier of an encrypted object is dropped before it is opened, its DER once parsed,
  the plaintext once the signed entity exists, the unwrapped views before sealing, and
  the header is put in front of the sealed entity in its own buffer.

## Spool

Every accepted message is durable before its \`250\`. With \`smtp.spool_sync = "each"\`
(the default) every file and the folder are fsynced, four flushes per message. With
\`"group"\` messages that finish at about the same time share the flushes: the message
files of all of them, then their envelopes, each round one syncfs(2)
(\`src/smtp/spool.rs\`, \`Committer\`). The spool part measures both; on ext4, whose
journal already commits concurrent fsyncs together, \`each\` won, so it is the default.

## Results

EOF
    for f in "$MD"/*.md; do cat "$f"; echo; done
    cat <<'EOF'
## Re-running

```sh
benches/run.sh --quick            # about 4 minutes once reseal is built
benches/run.sh --write            # everything; writes this page
benches/run.sh --parts anchor,floor --n 1000
benches/run.sh --parts load --load-count 20000 --load-sessions 200
```

`benches/run.sh --help` lists the options. Set `CARGO_TARGET_DIR` to reuse a release
build elsewhere. The older single-message benches (`benches/smime_process.sh`,
`benches/openpgp_process.sh`, `benches/smtp_memory.sh`, `benches/oracle_timing.sh`) still work.
EOF
  } > "$here/docs/performance.md"
  log "wrote docs/performance.md"
fi
