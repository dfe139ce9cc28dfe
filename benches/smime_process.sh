#!/usr/bin/env bash
# Benchmark (not a test): `reseal process` on a 50 KB signed+encrypted S/MIME message,
# side by side with the same job done by `openssl cms` invocations (decrypt, verify,
# sign, encrypt), and the crypto floor (the four openssl private/public-key steps
# measured the same way are the floor a CLI pipeline can reach). Prints the ratio.
#
#   benches/smime_process.sh [ITERATIONS]
set -euo pipefail
N=${1:-30}
here="$(cd "$(dirname "$0")/.." && pwd)"
V="$here/vectors/smime"
"$here/scripts/setup.sh"
cargo build --release --locked --manifest-path "$here/Cargo.toml" -q
R="$here/target/release/reseal"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RESEAL_PASSPHRASE=bench-passphrase

# The input: alice signs msg-50k and encrypts it (AES-256-GCM) to alice, the key the
# gateway holds, exactly as a client would send it through the gateway.
python3 - "$V/msg-50k.eml" "$work/inner.eml" "$work/outer.txt" <<'PY'
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
open(sys.argv[3], 'wb').write(b'\r\n'.join(outer) + b'\r\n')
PY
openssl cms -sign -md sha256 -signer "$V/alice.pem" -inkey "$V/alice.key" -in "$work/inner.eml" -out "$work/signed.eml"
openssl cms -encrypt -aes-256-gcm -in "$work/signed.eml" -out "$work/enc.eml" "$V/alice.pem"
{ cat "$work/outer.txt"; cat "$work/enc.eml"; } | sed 's/\r*$/\r/' > "$work/input.eml"
size=$(wc -c < "$work/input.eml")

"$R" keys init --keystore "$work/ks" >/dev/null
"$R" keys import --keystore "$work/ks" --pkcs12 "$V/alice.p12" --pkcs12-password-file "$V/alice.p12.pass" --for alice@example.com >/dev/null
"$R" keys import-cert --keystore "$work/ks" "$V/bob.pem" >/dev/null
"$R" keys trust --keystore "$work/ks" "$V/ca.pem" >/dev/null

reseal_job() {
  "$R" process --keystore "$work/ks" --mail-from alice@example.com --rcpt bob@example.org \
    < "$work/input.eml" > "$work/out.eml"
}
openssl_job() {
  openssl cms -decrypt -recip "$V/alice.pem" -inkey "$V/alice.key" -in "$work/input.eml" -out "$work/o1.eml"
  openssl cms -verify -CAfile "$V/ca.pem" -purpose smimesign -in "$work/o1.eml" -out "$work/o2.eml" 2>/dev/null
  openssl cms -sign -md sha256 -signer "$V/alice.pem" -inkey "$V/alice.key" -in "$work/o2.eml" -out "$work/o3.eml"
  openssl cms -encrypt -aes-256-gcm -in "$work/o3.eml" -out "$work/o4.eml" -recip "$V/bob.pem" -keyopt rsa_padding_mode:oaep
}
# The keystore's Argon2id unlock alone (a `keys list`), which every `process` pays.
unlock_job() {
  "$R" keys list --keystore "$work/ks" > /dev/null
}

time_it() { # name function -> mean ms
  local f=$1 t0 t1
  "$f"; "$f"  # warm up
  t0=$(date +%s%N)
  for _ in $(seq "$N"); do "$f"; done
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / N / 1000 ))
}

# Sanity: both jobs produce something bob can open.
reseal_job; openssl cms -decrypt -recip "$V/bob.pem" -inkey "$V/bob.key" -in "$work/out.eml" | openssl cms -verify -CAfile "$V/ca.pem" -purpose smimesign >/dev/null 2>&1
openssl_job

r=$(time_it reseal_job)
o=$(time_it openssl_job)
u=$(time_it unlock_job)
echo "input: ${size} bytes (signed by alice, AES-256-GCM to the gateway key), $N iterations"
printf "reseal process (1 invocation):        %8.2f ms\n" "$(echo "$r/1000" | bc -l)"
printf "  of which keystore unlock (Argon2id): %8.2f ms\n" "$(echo "$u/1000" | bc -l)"
printf "openssl cms (4 invocations):          %8.2f ms\n" "$(echo "$o/1000" | bc -l)"
printf "ratio reseal/openssl:                 %8.2f\n" "$(echo "$r/$o" | bc -l)"
printf "ratio reseal without unlock/openssl:  %8.2f\n" "$(echo "($r-$u)/$o" | bc -l)"
