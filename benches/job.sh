#!/usr/bin/env bash
# One message of the corpus, for `xargs -P` in benches/run.sh (not run by hand).
#
#   job.sh reseal|anchor WORK FILE KIND SENDER RCPTS CLASS INNER_BYTES WIRE_BYTES
#
# reseal: `reseal process` (config WORK/process.toml, keystore in it), output to WORK/out/reseal.
# anchor: the same job with shell-outs, output to WORK/out/anchor:
#   S/MIME  openssl cms -decrypt (sender's key), -verify (bench CA), -sign (sender's key,
#           SHA-256), -encrypt (AES-256-CBC, RSA PKCS#1 v1.5 key transport, every recipient:
#           Reseal's default form);
#   OpenPGP gpg --decrypt (decrypts and verifies), gpg --sign --encrypt to every recipient.
# A failed step exits 255, which stops xargs: a benchmark of failing jobs is no benchmark.
set -uo pipefail
mode=$1 work=$2 file=$3 kind=$4 sender=$5 rcpts=$6
in="$work/corpus/$file"
K="$work/keys"
IFS=, read -r -a rs <<< "$rcpts"
fail() { echo "job.sh $mode $file: $*" >&2; exit 255; }

if [ "$mode" = reseal ]; then
  args=()
  for r in "${rs[@]}"; do args+=(--rcpt "$r"); done
  "$RESEAL" process --config "$work/process.toml" --mail-from "$sender" "${args[@]}" \
    < "$in" > "$work/out/reseal/$file" 2> "$work/out/reseal/$file.err" || fail "reseal process exited $?: $(head -c 300 "$work/out/reseal/$file.err")"
  exit 0
fi

o="$work/out/anchor/$file"
case $kind in
  smime-*)
    dec="$K/$sender"; [ -f "$K/$sender.enc.key" ] && dec="$K/$sender.enc"
    openssl cms -decrypt -recip "$dec.pem" -inkey "$dec.key" -in "$in" -out "$o.1" || fail decrypt
    openssl cms -verify -CAfile "$K/ca.pem" -purpose smimesign -in "$o.1" -out "$o.2" 2>/dev/null || fail verify
    openssl cms -sign -md sha256 -signer "$K/$sender.pem" -inkey "$K/$sender.key" -in "$o.2" -out "$o.3" || fail sign
    certs=(); for r in "${rs[@]}"; do certs+=("$K/$r.pem"); done
    openssl cms -encrypt -aes-256-cbc -in "$o.3" -out "$o" "${certs[@]}" || fail encrypt
    rm -f "$o.1" "$o.2" "$o.3"
    ;;
  pgp-*)
    G=(gpg --batch --yes --quiet --trust-model always)
    GNUPGHOME="$K/gnupg" "${G[@]}" --decrypt -o "$o.1" "$in" 2>/dev/null || fail "gpg --decrypt"
    args=(); for r in "${rs[@]}"; do args+=(-r "<$r>"); done
    GNUPGHOME="$K/gnupg" "${G[@]}" -a --sign --encrypt -u "<$sender>" "${args[@]}" -o "$o" "$o.1" || fail "gpg --sign --encrypt"
    rm -f "$o.1"
    ;;
  *) fail "unknown kind $kind" ;;
esac
