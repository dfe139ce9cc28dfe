#!/usr/bin/env bash
# Makes the committed seeds that cannot be copied from vectors/: delivered messages that
# carry a signed modification record (fuzz/seeds/record_verify/) and the OPES identity
# that signed them (fuzz/seeds/opes-identity.pem), which the record_verify target trusts.
# Run it again only when the record format changes: the seeds are checked in.
#
# Usage: fuzz/make-seeds.sh   (from anywhere; builds the reseal binary)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/fuzz/seeds"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bin reseal
bin="$root/target/debug/reseal"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export RESEAL_PASSPHRASE="fuzz seed keystore"
ks=(--keystore "$tmp/ks")
sv="$root/vectors/smime"
pv="$root/vectors/openpgp"
"$bin" keys init "${ks[@]}" --kdf-memory-mib 8 --kdf-passes 1 >/dev/null
"$bin" keys import "${ks[@]}" --pkcs12 "$sv/alice.p12" --pkcs12-password-file "$sv/alice.p12.pass" \
    --for alice@example.com >/dev/null
"$bin" keys import "${ks[@]}" --openpgp "$pv/alice.sec.asc" --for alice@example.com >/dev/null
"$bin" keys trust "${ks[@]}" "$sv/ca.pem" >/dev/null
"$bin" keys export-identity "${ks[@]}" >"$out/opes-identity.pem"

mkdir -p "$out/record_verify"
rm -f "$out/record_verify/"*.eml
services='
[[service]]
id = "https://gw.example.com/opes/disclaimer"
kind = "disclaimer"
text = "Example Corp: this e-mail is confidential."
consent = "sender"
[[service]]
id = "https://gw.example.com/opes/tag"
kind = "subject-tag"
tag = "[Ext]"
[[service]]
id = "https://gw.example.com/opes/headers"
kind = "headers"
add = ["X-Classification: internal"]
remove = ["Message-ID"]
'
irreversible='
[[service]]
id = "https://gw.example.com/opes/dlp"
kind = "dlp"
action = "redact"
patterns = ["builtin:card-number", "account [0-9]+"]
[[service]]
id = "https://gw.example.com/opes/attachments"
kind = "attachments"
action = "remove"
extensions = ["pdf"]
'
for tech in smime openpgp; do
    for set in services irreversible; do
        cfg="$tmp/$tech-$set.toml"
        printf '[opes]\nsystem = "https://gw.example.com/opes"\nprivacy_policy = "https://gw.example.com/privacy"\n[policy]\nencrypt = "never"\ntechnology = "%s"\n%s' \
            "$tech" "${!set}" >"$cfg"
        if [ "$tech" = smime ]; then
            inputs=("$sv/msg-plain.eml" "$sv/msg-attach.eml" "$sv/openssl-signed-plain.eml" "$sv/openssl-signed-attach.eml")
        else
            inputs=("$pv/msg-plain.eml" "$pv/msg-attach.eml" "$pv/gpg-pgpmime-signed.eml")
        fi
        for in in "${inputs[@]}"; do
            name="$tech-$set-$(basename "$in" .eml).eml"
            if "$bin" process "${ks[@]}" --config "$cfg" --mail-from alice@example.com \
                --rcpt bob@example.org <"$in" >"$out/record_verify/$name" 2>"$tmp/err"; then
                :
            else
                echo "skipped $name: $(head -c 300 "$tmp/err")" >&2
                rm -f "$out/record_verify/$name"
            fi
        done
    done
done
ls "$out/record_verify"

# The record documents alone, for record_parse.
mkdir -p "$out/record_parse"
rm -f "$out/record_parse/"*.json
python3 - "$out/record_verify" "$out/record_parse" <<'PY'
import base64, pathlib, re, sys
src, dst = map(pathlib.Path, sys.argv[1:])
for eml in sorted(src.glob("*.eml")):
    text = eml.read_bytes().decode("latin-1")
    m = re.search(r"^OPES-Record:((?:\r?\n[ \t].*)+)", text, re.M)
    if m:
        b64 = re.sub(r"\s", "", m.group(1))
        (dst / (eml.stem + ".json")).write_bytes(base64.b64decode(b64))
PY
ls "$out/record_parse"
