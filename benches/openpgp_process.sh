#!/usr/bin/env bash
# Benchmark (not a test): `reseal process` on a 50 KB signed+encrypted PGP/MIME message,
# side by side with the same job done by gpg invocations (decrypt+verify, then
# sign+encrypt to the recipient). Prints the ratio.
#
#   benches/openpgp_process.sh [ITERATIONS]
set -euo pipefail
N=${1:-30}
here="$(cd "$(dirname "$0")/.." && pwd)"
V="$here/vectors/openpgp"
"$here/scripts/setup.sh"
cargo build --release --locked --manifest-path "$here/Cargo.toml" -q
R="$here/target/release/reseal"
work=$(mktemp -d /tmp/rbXXXX)
export GNUPGHOME="$work/g"
mkdir -m 700 "$GNUPGHOME"
trap 'gpgconf --kill all; rm -rf "$work"' EXIT
export RESEAL_PASSPHRASE=bench-passphrase
G="gpg --batch --yes --quiet --trust-model always"
$G --import "$V/alice.sec.asc" "$V/bob.pub.asc" 2>/dev/null

# The input: alice signs and encrypts (to the gateway's key, alice) the inner entity of
# the 50 KB S/MIME plain message, wrapped as RFC 3156 PGP/MIME.
python3 - "$here/vectors/smime/msg-50k.eml" "$work/inner.eml" "$work/outer.txt" <<'PY'
import sys
raw = open(sys.argv[1], 'rb').read()
head, body = raw.split(b'\r\n\r\n', 1)
fields = []
for line in head.split(b'\r\n'):
    if line[:1] in (b' ', b'\t') and fields:
        fields[-1] += b'\r\n' + line
    else:
        fields.append(line)
inner = [f for f in fields if f.lower().startswith(b'content-')]
outer = [f for f in fields if not f.lower().startswith(b'content-') and not f.lower().startswith(b'mime-version')]
open(sys.argv[2], 'wb').write(b'\r\n'.join(inner) + b'\r\n\r\n' + body)
open(sys.argv[3], 'wb').write(b'\r\n'.join(outer) + b'\r\nMIME-Version: 1.0\r\n')
PY
$G -a --sign --encrypt -r alice@example.com -u alice@example.com -o "$work/data.asc" "$work/inner.eml"
{
  cat "$work/outer.txt"
  printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r\n\r\n--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n'
  sed 's/\r*$/\r/' "$work/data.asc"
  printf '\r\n--b--\r\n'
} > "$work/input.eml"
size=$(wc -c < "$work/input.eml")

"$R" keys init --keystore "$work/ks" >/dev/null
"$R" keys import --keystore "$work/ks" --openpgp "$V/alice.sec.asc" --for alice@example.com >/dev/null
"$R" keys import-cert --keystore "$work/ks" "$V/bob.pub.asc" >/dev/null

reseal_job() {
  "$R" process --keystore "$work/ks" --mail-from alice@example.com --rcpt bob@example.org \
    < "$work/input.eml" > "$work/out.eml"
}
gpg_job() {
  $G --decrypt -o "$work/dec.eml" "$work/data.asc" 2>/dev/null
  $G -a --sign --encrypt -r bob@example.org -u alice@example.com -o "$work/re.asc" "$work/dec.eml"
}
unlock_job() {
  "$R" keys list --keystore "$work/ks" > /dev/null
}
time_it() {
  local f=$1 t0 t1
  "$f"; "$f"
  t0=$(date +%s%N)
  for _ in $(seq "$N"); do "$f"; done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / N / 1000 ))
}
reseal_job; gpg_job
r=$(time_it reseal_job)
g=$(time_it gpg_job)
u=$(time_it unlock_job)
echo "input: ${size} bytes PGP/MIME (signed by alice, encrypted to the gateway key), $N iterations"
printf "reseal process (1 invocation):        %8.2f ms\n" "$(echo "$r/1000" | bc -l)"
printf "  of which keystore unlock (Argon2id): %8.2f ms\n" "$(echo "$u/1000" | bc -l)"
printf "gpg (2 invocations):                  %8.2f ms\n" "$(echo "$g/1000" | bc -l)"
printf "ratio reseal/gpg:                     %8.2f\n" "$(echo "$r/$g" | bc -l)"
printf "ratio reseal without unlock/gpg:      %8.2f\n" "$(echo "($r-$u)/$g" | bc -l)"
