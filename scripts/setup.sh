#!/usr/bin/env bash
# Installs what Reseal needs on a fresh Debian/Ubuntu machine that has only Rust:
# the build dependencies (for sequoia's OpenSSL back-end: libssl-dev, pkg-config, clang)
# and the real peers the tests run against. Idempotent: it installs only what is
# missing, and runs `apt-get update` at most once.
set -euo pipefail

# Every package is named even when another one pulls it in: apt runs with
# --no-install-recommends, and a minimal Debian (debootstrap --variant=minbase, most
# container images) lacks much that a desktop or server install has.
# scripts/fresh-check.sh proves the list on such a system.
PACKAGES=(
  # build (bindgen finds libclang through clang)
  libssl-dev pkg-config clang g++
  # S/MIME peers (gpgconf comes with gpg; the tests stop their agents with it)
  openssl gpgsm gpg gpg-agent gpgconf gnupg
  # OpenPGP peers (rnp also has rnpkeys)
  sq sqop rnp
  # test tooling: python3 for scripts/make-corpus.py; ca-certificates for HTTPS
  # (cargo, apt); procps for kill (some tests still shell out to it), ps and pgrep
  python3 ca-certificates procps
  # DKIM verifier for tests/dkim.rs: Debian's dkimpy, and PyNaCl for its Ed25519
  # (RFC 8463) signatures
  python3-dkim python3-nacl
  # /etc/services and /etc/protocols: without them Perl's sockets (swaks) fail with
  # "Bad protocol 'tcp'" and Postfix cannot resolve service names
  netbase
  # ICAP server for the callout tests (the package ships srv_echo.so)
  c-icap
  # SMTP peers: Postfix (end-to-end tests) and swaks with TLS/AUTH support.
  # libsasl2-modules holds Cyrus SASL's mechanisms: the tests' private Postfix enables
  # SASL, and without them it dies with "fatal: no SASL authentication mechanisms"
  # (a Recommends of libsasl2-2, so --no-install-recommends skips it).
  postfix libsasl2-modules swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
  # Real mail clients: notmuch (GMime + gpgme) reads what Reseal delivers in the tests;
  # NeoMutt and s-nail (driven through tmux) composed vectors/clients/ and can make it
  # again (scripts/make-client-vectors.sh)
  notmuch neomutt s-nail tmux
  # LDAP key discovery (tests/discovery.rs): the tests start their own slapd on loopback
  # from a private slapd.conf; the distribution's slapd service is not used (its postinst
  # runs non-interactively under DEBIAN_FRONTEND=noninteractive below)
  slapd ldap-utils
  # PKCS#11: SoftHSM2 (the token the tests initialise) and OpenSC's pkcs11-tool (keys
  # generated on the token, as an operator would)
  softhsm2 opensc
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
