#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ (gitignored) from vectors/ and fuzz/seeds/ (both copied,
# never moved). Safe to run again: each seed is stored under its SHA-1, as libFuzzer
# names corpus files, so nothing is duplicated and what the fuzzer found is kept.
# Needs openssl (for the CMS seeds); gpg is used when present (OpenPGP plaintext seeds).
#
# Usage: fuzz/seed-corpora.sh [TARGET ...]   (default: every target)
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
vec="$fuzz/../vectors"
seeds="$fuzz/seeds"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# add TARGET FILE [PREFIX-BYTE-OCTAL]: stores FILE (optionally after one prefix byte).
add() {
    local dir="$fuzz/corpus/$1" src="$2"
    mkdir -p "$dir"
    if [ $# -ge 3 ]; then
        { printf "\\$3"; cat "$src"; } >"$tmp/prefixed"
        src="$tmp/prefixed"
    fi
    [ -s "$src" ] || return 0
    cp "$src" "$dir/$(sha1sum "$src" | cut -c1-40)"
}

# Every armored block of KIND ("MESSAGE", "SIGNATURE", "SIGNED MESSAGE") in FILE, one
# file per block, written as $tmp/blk.N; prints their names.
blocks() {
    local kind="$1" file="$2"
    rm -f "$tmp"/blk.*
    tr -d '\r' <"$file" | awk -v kind="$kind" -v out="$tmp/blk." '
        $0 == "-----BEGIN PGP " kind "-----" { n++; on = 1 }
        on { print > (out n) }
        on && (($0 == "-----END PGP " kind "-----") ||
               (kind == "SIGNED MESSAGE" && $0 == "-----END PGP SIGNATURE-----")) {
            on = 0; close(out n)
        }'
    ls "$tmp"/blk.* 2>/dev/null || true
}

# The binary packets of an armored block (RFC 9580 §6.2: skip the armor headers, drop
# the checksum line).
dearmor() {
    awk 'NR == 1 { next } !body && $0 == "" { body = 1; next }
         body && /^-----END/ { exit } body && /^=/ { next } body { print }' "$1" |
        base64 -d 2>/dev/null
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mime_entity mime_tree smime_cms unwrap_smime unwrap_openpgp
    openpgp_packets openpgp_plaintext record_parse record_recipe record_verify config smtp_session)

messages=("$vec"/smime/*.eml "$vec"/openpgp/*.eml "$vec"/openpgp/*.mime "$vec"/openpgp/*.dec
    "$seeds"/record_verify/*.eml)

for t in "${targets[@]}"; do
    case "$t" in
    mime_entity | mime_tree | record_recipe)
        for f in "${messages[@]}"; do add "$t" "$f"; done ;;
    unwrap_smime)
        for f in "$vec"/smime/*.eml "$seeds"/record_verify/smime-*.eml; do add "$t" "$f"; done ;;
    unwrap_openpgp)
        for f in "$vec"/openpgp/*.eml "$seeds"/record_verify/openpgp-*.eml "$vec"/smime/openssl-signed-plain.eml; do
            add "$t" "$f"
        done ;;
    smime_cms)
        for f in "$vec"/smime/*.eml "$seeds"/record_verify/smime-*.eml; do
            if openssl cms -cmsout -outform DER -in "$f" -out "$tmp/cms.der" 2>/dev/null; then
                add "$t" "$tmp/cms.der"
            fi
        done ;;
    openpgp_packets)
        for f in "$vec"/openpgp/*.eml "$seeds"/record_verify/openpgp-*.eml; do
            for b in $(blocks MESSAGE "$f"); do
                add "$t" "$b" '000'
                add "$t" "$b" '001'
                dearmor "$b" >"$tmp/bin" && add "$t" "$tmp/bin" '000'
            done
            for b in $(blocks "SIGNED MESSAGE" "$f"); do add "$t" "$b" '001'; done
            for b in $(blocks SIGNATURE "$f"); do
                add "$t" "$b" '002'
                dearmor "$b" >"$tmp/bin" && add "$t" "$tmp/bin" '002'
            done
        done ;;
    openpgp_plaintext)
        # A literal data packet made by hand (RFC 9580 §5.9: tag 11, binary, no name).
        printf '\313\023b\000\000\000\000\000hello, world\n' >"$tmp/lit"
        add "$t" "$tmp/lit" '000'
        add "$t" "$tmp/lit" '001'
        if command -v gpg >/dev/null; then
            export GNUPGHOME="$tmp/gnupg"
            mkdir -m 700 -p "$GNUPGHOME"
            gpg --batch --quiet --import "$vec/openpgp/alice.sec.asc" 2>/dev/null || true
            body="$vec/openpgp/inner-plain.mime"
            i=0
            for args in "--store -z 0" "--store --compress-algo zlib" "--store --compress-algo zip" \
                "--store --compress-algo bzip2" "--sign -z 0" "--sign --compress-algo zlib"; do
                i=$((i + 1))
                # shellcheck disable=SC2086
                if gpg --batch --yes --quiet --local-user alice@example.com $args \
                    -o "$tmp/pt.$i" "$body" 2>/dev/null; then
                    add "$t" "$tmp/pt.$i" '000'
                    add "$t" "$tmp/pt.$i" '001'
                fi
            done
            unset GNUPGHOME
        fi ;;
    record_parse)
        for f in "$seeds"/record_parse/*.json "$seeds"/record_verify/*.eml; do add "$t" "$f"; done ;;
    record_verify)
        for f in "$seeds"/record_verify/*.eml; do add "$t" "$f"; done ;;
    config)
        for f in "$seeds"/config/*.toml; do add "$t" "$f"; done ;;
    smtp_session)
        # Hand-written dialogs (fuzz/seeds/smtp_session/), then one whole transaction per
        # message: DSN and bypass parameters, the message dot-stuffed (RFC 5321 §4.5.2),
        # from an admitted (mode byte 1) and an unadmitted (0) peer.
        for f in "$seeds"/smtp_session/*; do add "$t" "$f"; done
        for f in "$vec"/smime/openssl-signed-plain.eml "$vec"/openpgp/*.mime "$seeds"/record_verify/smime-*.eml; do
            [ -f "$f" ] || continue
            {
                printf 'EHLO client.example.net\r\n'
                printf 'MAIL FROM:<alice@example.com> BODY=8BITMIME RET=HDRS ENVID=x+2Bq XOPES-BYPASS=*\r\n'
                printf 'RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org\r\n'
                printf 'DATA\r\n'
                sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/' "$f" | head -c 60000
                printf '\r\n.\r\nQUIT\r\n'
            } >"$tmp/dialog"
            add "$t" "$tmp/dialog" '001'
            add "$t" "$tmp/dialog" '000'
        done ;;
    *)
        echo "seed-corpora.sh: unknown target $t" >&2
        exit 2 ;;
    esac
    echo "$t: $(find "$fuzz/corpus/$t" -type f | wc -l) corpus files"
done
