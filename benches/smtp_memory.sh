#!/usr/bin/env bash
# Benchmark (not a test): peak memory (RSS) of `reseal serve` while it takes big plain
# messages over SMTP on loopback, spools them and relays them to a next hop (a Python
# sink that discards them). No keystore, so no crypto: the message is traced, spooled
# and relayed. Each scenario runs on a freshly started server, because the high-water
# mark (VmHWM in /proc/PID/status) only grows.
#
#   benches/smtp_memory.sh [SCENARIO...]
#
# Scenarios (default: all three): 1x10, 1x50, 4x50 (COUNT x MiB; the COUNT messages are
# sent at once over COUNT connections). Sizes are MiB (2^20 bytes). Targets: one message
# <= 3 x size + 64 MiB; four concurrent 50 MiB messages <= 1 GiB (1024 MiB).
# Needs only python3 (standard library) and the Rust toolchain. Exits 0 whatever the
# numbers are; the table says PASS or OVER per row.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
H="$here/benches/smtp_memory.py"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(1x10 1x50 4x50)

cargo build --release --locked --manifest-path "$here/Cargo.toml" -q
R="$here/target/release/reseal"

work=$(mktemp -d /tmp/rsmemXXXX)
sink_pid=
srv_pid=
cleanup() {
  if [ -n "$srv_pid" ]; then kill -9 "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

MiB=1048576
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
status_kib() { awk -v f="$2" '$1 == f":" { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# The next hop.
python3 "$H" sink "$work/sink.port" "$work/sink.log" 2>"$work/sink.err" &
sink_pid=$!
for _ in $(seq 100); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
[ -s "$work/sink.port" ] || { echo "the sink did not start:" >&2; cat "$work/sink.err" >&2; exit 1; }
sink_port=$(cat "$work/sink.port")

# The messages, one file per size.
message() {
  local mib=$1 f="$work/msg-$1.eml"
  [ -f "$f" ] || python3 "$H" gen $((mib * MiB)) "$f"
  echo "$f"
}

start_server() { # DIR PORT
  local d=$1 port=$2
  mkdir -p "$d"
  cat > "$d/reseal.toml" <<EOF
keystore = "$d/no-keystore"
data_dir = "$d/data"
[opes]
system = "https://gw.example.com/opes"
privacy_policy = "https://gw.example.com/privacy"
[smtp]
listen = "127.0.0.1:$port"
[limits]
max_message_bytes = 67108864
[relay]
next_hop = "127.0.0.1:$sink_port"
retry_base_secs = 1
retry_max_secs = 2
EOF
  "$R" serve --config "$d/reseal.toml" > "$d/serve.log" 2>&1 &
  srv_pid=$!
  for _ in $(seq 200); do
    if ! kill -0 "$srv_pid" 2>/dev/null; then
      echo "reseal serve exited at start:" >&2; cat "$d/serve.log" >&2; exit 1
    fi
    if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "reseal serve did not listen on 127.0.0.1:$port:" >&2; cat "$d/serve.log" >&2; exit 1
}

stop_server() {
  kill "$srv_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$srv_pid" 2>/dev/null || true
  wait "$srv_pid" 2>/dev/null || true
  srv_pid=
}

rows=()
echo "reseal serve memory benchmark: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f MiB", $2/1024 }' /proc/meminfo) RAM, $R"
for sc in "${scenarios[@]}"; do
  n=${sc%x*}; mib=${sc#*x}
  msg=$(message "$mib")
  bytes=$(wc -c < "$msg")
  d="$work/$sc"
  port=$(python3 "$H" freeport)
  start_server "$d" "$port"
  sleep 1
  idle=$(status_kib "$srv_pid" VmRSS)
  before=$(wc -l < "$work/sink.log")
  echo "== $sc: $n x $bytes bytes (server pid $srv_pid, idle RSS $(kib_to_mib "$idle") MiB)"
  t0=$(date +%s%N)
  sent=ok
  python3 "$H" send "$port" "$msg" "$n" || sent=FAILED
  t1=$(date +%s%N)
  # Wait until the sink has every message, so the relay is part of the peak.
  got=0
  for _ in $(seq 3000); do
    got=$(( $(wc -l < "$work/sink.log") - before ))
    [ "$got" -ge "$n" ] && break
    [ "$sent" = ok ] || break
    sleep 0.1
  done
  t2=$(date +%s%N)
  sleep 0.5
  hwm=$(status_kib "$srv_pid" VmHWM)
  after=$(status_kib "$srv_pid" VmRSS)
  echo "   accepted in $(( (t1 - t0) / 1000000 )) ms, relayed $got/$n in $(( (t2 - t0) / 1000000 )) ms (sink got $(tail -n +$((before + 1)) "$work/sink.log" | tr '\n' ' ')bytes); peak RSS $(kib_to_mib "$hwm") MiB, RSS afterwards $(kib_to_mib "$after") MiB"
  if [ "$sent" != ok ] || [ "$got" -lt "$n" ]; then
    echo "   server log (tail):"; tail -n 20 "$d/serve.log" | sed 's/^/     /'
  fi
  stop_server
  if [ "$n" -eq 1 ]; then
    target=$((3 * mib + 64)); tdesc="<= 3 x size + 64 = $target"
  else
    target=1024; tdesc="<= 1 GiB = $target"
  fi
  peak=$(kib_to_mib "$hwm")
  if [ "$sent" != ok ]; then verdict="SEND FAILED"
  elif [ "$got" -lt "$n" ]; then verdict="NOT RELAYED"
  elif awk -v p="$peak" -v t="$target" 'BEGIN { exit !(p <= t) }'; then verdict=PASS
  else verdict=OVER; fi
  label="$n x $mib MiB"; [ "$n" -gt 1 ] && label="$label, concurrent"
  rows+=("$(printf '%-24s %12s %10s %10s %12s  %-26s %s' "$label" "$bytes" "$(kib_to_mib "$idle")" "$peak" "$(kib_to_mib "$after")" "$tdesc" "$verdict")")
done

echo
printf '%-24s %12s %10s %10s %12s  %-26s %s\n' "scenario" "msg bytes" "idle MiB" "peak MiB" "after MiB" "target (MiB)" "result"
printf '%s\n' "${rows[@]}"
echo "(peak = VmHWM of the reseal process over receive, pipeline, spool and relay; idle = VmRSS before the first message; after = VmRSS once relayed)"
exit 0
