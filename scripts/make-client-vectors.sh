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
#   neomutt-gpgme-pgpmime.eml    NeoMutt (gpgme backend), PGP/MIME signed and encrypted
#   neomutt-classic-pgpmime.eml  NeoMutt (classic backend, gpg --textmode), the same
#   neomutt-classic-inline.eml   NeoMutt (classic backend), inline PGP, text only
#   neomutt-smime.eml            NeoMutt (gpgme + gpgsm), S/MIME signed and encrypted
# NeoMutt also needs gpg and tmux.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
V="$here/vectors/smime"
out="$here/vectors/clients"
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
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

# NeoMutt, as a user sends: batch mode ignores crypt_autosign/crypt_autoencrypt, so it
# runs in a private tmux server and the compose screen is confirmed with "y" once it
# shows "Security:" (PEERS: NeoMutt). alice's OpenPGP key signs; encryption is to bob
# and, with pgp_self_encrypt, to alice (the key the gateway holds).
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$here/vectors/openpgp/alice.sec.asc" "$here/vectors/openpgp/bob.pub.asc" 2>/dev/null
gpg --batch --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ && !seen[$10]++ {print $10 ":6:"}' \
  | gpg --batch --import-ownertrust 2>/dev/null
mkdir -p "$work/Mail/cur" "$work/Mail/new" "$work/Mail/tmp"
printf '%s' "$body" > "$work/body.txt"
printf '#!/bin/sh\ncat > "%s/sent.eml"\n' "$work" > "$work/sendmail.sh"
chmod +x "$work/sendmail.sh"

neomutt_send() {
  local name=$1 subject=$2 extra=$3 mode=${4:-attach}
  local args
  if [ "$mode" = attach ]; then
    args="-s '$subject' -i '$work/body.txt' -a '$work/report.pdf' -- bob@example.org"
  else
    # Text only, from a draft (-i without -a makes NeoMutt exit at once here).
    printf 'To: bob@example.org\nSubject: %s\n\n%s' "$subject" "$body" > "$work/draft"
    args="-H '$work/draft'"
  fi
  cat > "$work/neomuttrc" <<RC
set from="Alice <alice@example.com>"
set use_from=yes
set sendmail="$work/sendmail.sh"
set editor="true"
set crypt_autosign=yes
set crypt_autoencrypt=yes
set pgp_self_encrypt=yes
set pgp_default_key="alice@example.com"
set pgp_sign_as="alice@example.com"
set askcc=no
set fast_reply=yes
set edit_headers=no
set copy=no
set record=""
set postpone=no
set abort_noattach=no
set mbox_type=Maildir
set folder="$work/Mail"
set spoolfile="$work/Mail"
$extra
RC
  rm -f "$work/sent.eml"
  tmux -L reseal-vectors kill-server 2>/dev/null || true
  tmux -L reseal-vectors new-session -d -x 200 -y 50 \
    "GNUPGHOME='$GNUPGHOME' neomutt -n -F '$work/neomuttrc' $args 2>'$work/neomutt.err'"
  for _ in $(seq 100); do
    screen=$(tmux -L reseal-vectors capture-pane -p 2>/dev/null || true)
    if grep -q 'Security:' <<<"$screen"; then break; fi
    # A To:, Cc: or Subject: prompt on the last line: take what is there.
    if grep -Eq '^(To|Cc|Bcc|Subject): ' <<<"$(grep -v '^ *$' <<<"$screen" | tail -1)"; then
      tmux -L reseal-vectors send-keys Enter
    fi
    sleep 0.1
  done
  tmux -L reseal-vectors capture-pane -p > "$work/screen" 2>/dev/null || true
  tmux -L reseal-vectors send-keys y 2>/dev/null || true
  for _ in $(seq 200); do
    [ -s "$work/sent.eml" ] && break
    sleep 0.1
  done
  tmux -L reseal-vectors kill-server 2>/dev/null || true
  [ -s "$work/sent.eml" ] || {
    echo "NeoMutt sent nothing for $name; its screen was:" >&2
    cat "$work/screen" "$work/neomutt.err" >&2 2>/dev/null || true
    exit 1
  }
  cp "$work/sent.eml" "$out/$name"
  chmod 644 "$out/$name"
  echo "wrote vectors/clients/$name" >&2
}

# gpgme backend (the default; KMail-like): PGP/MIME, the entity signed in binary mode
# with LF line ends, inside one OpenPGP message (RFC 3156 §6.2).
neomutt_send neomutt-gpgme-pgpmime.eml 'Report (NeoMutt gpgme, PGP/MIME)' 'set crypt_use_gpgme=yes'
# Classic backend (crypt_use_gpgme=no with Debian's gpg.rc): PGP/MIME signed in text
# mode (--textmode), signed-and-encrypted likewise.
neomutt_send neomutt-classic-pgpmime.eml 'Report (NeoMutt classic, PGP/MIME)' \
  'set crypt_use_gpgme=no
source /etc/neomuttrc.d/gpg.rc'
# Inline PGP (pgp_autoinline), text only (with an attachment NeoMutt asks to fall back
# to PGP/MIME); NeoMutt marks the part x-action=pgp-encrypted.
neomutt_send neomutt-classic-inline.eml 'Report (NeoMutt classic, inline)' \
  'set crypt_use_gpgme=no
source /etc/neomuttrc.d/gpg.rc
set pgp_autoinline=yes' text
# S/MIME through gpgme and gpgsm (smime_is_default), signed and encrypted to bob and,
# with smime_self_encrypt, to alice. gpgsm 2.2 reads only legacy PKCS#12 (PEERS: gpgsm).
echo disable-crl-checks > "$GNUPGHOME/gpgsm.conf"
echo allow-loopback-pinentry > "$GNUPGHOME/gpg-agent.conf"
openssl pkcs12 -export -in "$V/alice.pem" -inkey "$V/alice.key" -certfile "$V/ica.pem" \
  -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass: -out "$work/alice.p12"
gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 --import "$work/alice.p12" </dev/null 2>/dev/null
gpgsm --batch --import "$V/ca.pem" "$V/ica.pem" "$V/bob.pem" 2>/dev/null
echo "$(openssl x509 -noout -fingerprint -sha1 -in "$V/ca.pem" | cut -d= -f2 | tr -d :) S relax" \
  > "$GNUPGHOME/trustlist.txt"
gpgconf --reload gpg-agent
alice_smime=$(gpgsm --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
neomutt_send neomutt-smime.eml 'Report (NeoMutt, S/MIME)' \
  "set crypt_use_gpgme=yes
set smime_is_default=yes
set smime_self_encrypt=yes
set smime_default_key=0x$alice_smime
set smime_sign_as=0x$alice_smime"
gpgconf --kill all 2>/dev/null || true
chmod 644 "$out"/*
