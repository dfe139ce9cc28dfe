#!/usr/bin/env bash
# For maintainers: composes vectors/clients/ with real mail clients, as their users send
# mail, with the keys in vectors/smime (rebuild after vectors/ is rebuilt). Needs
# s-nail and openssl (scripts/setup.sh installs them). The messages are kept as the
# clients wrote them (LF line ends); tests/clients.rs runs them through the gateway.
#
#   s-nail-signed.eml            S/MIME multipart/signed by alice, with a PDF attachment
#   s-nail-signed-encrypted.eml  the same, then encrypted (AES-128-CBC) to alice's
#                                certificate: s-nail encrypts each copy to one
#                                certificate, the first of the list mapped to the
#                                recipient, so the list starts with the sender's (the
#                                gateway holds that key)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
V="$here/vectors/smime"
out="$here/vectors/clients"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

cat "$V/alice.key" "$V/alice.pem" > "$work/alice-key+cert.pem"
cat "$V/alice.pem" "$V/bob.pem" > "$work/alice+bob.pem"
# A small binary PDF-like file (bytes >= 0x80 and NUL), so that the clients base64 it as
# they do real documents.
python3 -c 'import sys; sys.stdout.buffer.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 4 + b"\n%%EOF\n")' > "$work/report.pdf"
printf '#!/bin/sh\ncat > "$OUT"\n' > "$work/mta.sh"
chmod +x "$work/mta.sh"
body='Hello Bob,

here is the report. Please transfer 100 EUR before Friday.

Alice
'

snail() {
  local name=$1; shift
  printf '%s' "$body" | OUT="$out/$name" s-nail -:/ -Sv15-compat -Smta="$work/mta.sh" \
    -Sfrom='Alice <alice@example.com>' -Ssmime-sign -Ssmime-sign-cert="$work/alice-key+cert.pem" \
    -Ssmime-sign-digest=SHA256 -a "$work/report.pdf" "$@" bob@example.org
  echo "wrote vectors/clients/$name" >&2
}

snail s-nail-signed.eml -s 'Report (s-nail, signed)'
snail s-nail-signed-encrypted.eml -s 'Report (s-nail, signed and encrypted)' \
  "-Ssmime-encrypt-bob@example.org=$work/alice+bob.pem"
cp "$work/report.pdf" "$out/report.pdf"
