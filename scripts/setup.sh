#!/usr/bin/env bash
# Installs what Reseal needs on a fresh Debian/Ubuntu machine that has only Rust:
# the build dependencies (for sequoia's OpenSSL back-end: libssl-dev, pkg-config, clang)
# and the real peers the tests run against. Idempotent: it installs only what is
# missing, and runs `apt-get update` at most once.
set -euo pipefail

PACKAGES=(
  # build
  libssl-dev pkg-config clang g++
  # S/MIME peers
  openssl gpgsm gpg-agent gnupg
  # OpenPGP peers
  sq sqop rnp
  # test tooling
  python3 ca-certificates
  # ICAP server for the callout tests
  c-icap
  # SMTP peers: Postfix (end-to-end tests) and swaks with TLS/AUTH support
  postfix swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  # Postfix must not ask, and must not configure the machine's own mail system.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
