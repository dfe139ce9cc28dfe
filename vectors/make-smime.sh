#!/usr/bin/env bash
# make-smime.sh - (re)generate the S/MIME test vectors of Reseal with the REAL tools
# (OpenSSL 3.0 `openssl cms` and GnuPG 2.2 `gpgsm`) into vectors/smime/.
#
# Layout and file names are deterministic; keys, serial numbers, signatures and
# MIME boundaries are random on every run.  Re-runnable: vectors/smime/ is wiped first.
# Needs: bash, openssl (3.x), gpgsm + gpg-agent (2.2), python3 (stdlib only), coreutils.
# Debian 12: apt-get install -y openssl gpgsm gpg-agent python3   (gpgsm only Recommends gpg-agent)
# Non-interactive.  Every produced vector is checked with openssl (and a few with gpgsm):
# the script fails loudly if a positive vector does not verify/decrypt, or if a negative
# one is accepted where openssl would reject it.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
O="$HERE/smime"
P12PASS='reseal-test-p12'
DAYS=36525                       # 100 years

die() { echo "make-smime.sh: FATAL: $*" >&2; exit 1; }
for t in openssl gpgsm gpg-agent gpgconf python3 base64; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done

T=$(mktemp -d)                   # scratch
GNUPGHOME=$(mktemp -d)           # short path: gpg-agent puts its sockets in here
export GNUPGHOME
chmod 700 "$GNUPGHOME"
cleanup() {
  gpgconf --kill all >/dev/null 2>&1 || true
  rm -rf "$T" "$GNUPGHOME"
}
trap cleanup EXIT

rm -rf "$O"
mkdir -p "$O"
cd "$O"

###########################################################################
# python3 helper: CRLF, MIME splitting/assembly, BER walking, tampering
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

def b64lines(der, width=64):
    s = base64.b64encode(der)
    return b''.join(s[i:i + width] + b'\r\n' for i in range(0, len(s), width))

# ---------------------------------------------------------------- BER walker
def tlv(d, o):
    st = o; t = d[o]; o += 1
    if t & 0x1f == 0x1f:
        while d[o] & 0x80: o += 1
        o += 1
    l = d[o]; o += 1
    if l == 0x80:
        ln = None
    elif l & 0x80:
        n = l & 0x7f; ln = int.from_bytes(d[o:o + n], 'big'); o += n
    else:
        ln = l
    n = {'tag': t, 'cons': bool(t & 0x20), 'start': st, 'coff': o, 'clen': ln}
    n['end'] = end_of(d, n)
    return n

def end_of(d, n):
    if n['clen'] is not None: return n['coff'] + n['clen']
    o = n['coff']
    while not (d[o] == 0 and d[o + 1] == 0):
        o = tlv(d, o)['end']
    return o + 2

def kids(d, n):
    out, o = [], n['coff']
    stop = n['end'] - (2 if n['clen'] is None else 0)
    while o < stop:
        c = tlv(d, o); out.append(c); o = c['end']
    return out

def segs(d, n):
    """content bytes of a (possibly constructed) string as [(offset, len)]"""
    if not n['cons']: return [(n['coff'], n['clen'])]
    r = []
    for c in kids(d, n): r += segs(d, c)
    return r

def content(d):
    ci = tlv(d, 0)
    k = kids(d, ci)
    return tlv(d, kids(d, k[1])[0]['start'])  # [0] EXPLICIT -> SignedData/EnvelopedData/...

def first(ns, tag):
    for n in ns:
        if n['tag'] == tag: return n
    raise SystemExit('tag %#x not found' % tag)

def sig_value(d):
    sd = kids(d, content(d))
    sis = [n for n in sd if n['tag'] == 0x31][-1]      # signerInfos SET
    si = kids(d, sis)[0]
    return first(kids(d, si), 0x04)                     # signature OCTET STRING

def enc_content(d):
    ed = kids(d, content(d))
    eci = first(ed, 0x30)                               # (Auth)EncryptedContentInfo
    k = kids(d, eci)
    return ed, k

def ct_offsets(d):
    ed, k = enc_content(d)
    offs = []
    for o, l in segs(d, k[2]): offs += range(o, o + l)
    return offs

# ---------------------------------------------------------------- commands
def cmd_crlf(a):            # IN OUT
    wr(a[1], crlf(rd(a[0])))

def cmd_inner(a):           # MSG OUT : Content-* headers + body = the MIME entity to protect
    fields, body = split(crlf(rd(a[0])))
    keep = [f for f in fields if name(f).startswith(b'content-')]
    wr(a[1], b'\r\n'.join(keep) + b'\r\n\r\n' + body)

def cmd_outer(a):           # MSG OUT MESSAGE-ID [FROM] [TO] : RFC 5322 headers a MUA sends
    fields, _ = split(crlf(rd(a[0])))
    over = {b'message-id': a[2].encode()}
    if len(a) > 3 and a[3]: over[b'from'] = a[3].encode()
    if len(a) > 4 and a[4]: over[b'to'] = a[4].encode()
    out = []
    for f in fields:
        n = name(f)
        if n in (b'received', b'mime-version') or n.startswith(b'content-'): continue
        if n in over:
            f = f.split(b':', 1)[0] + b': ' + over[n]
        out.append(f)
    wr(a[1], b'\r\n'.join(out) + b'\r\n')

def cmd_assemble(a):        # HDRFILE ENTITY OUT
    wr(a[2], crlf(rd(a[0])) + crlf(rd(a[1])))

def cmd_stripmv(a):         # IN OUT : drop MIME-Version from an entity that gets nested
    fields, body = split(crlf(rd(a[0])))
    keep = [f for f in fields if name(f) != b'mime-version']
    wr(a[1], b'\r\n'.join(keep) + b'\r\n\r\n' + body)

def cmd_p7mder(a):          # EML OUT : base64 body of a single-part message -> DER
    fields, body = split(crlf(rd(a[0])))
    wr(a[1], base64.b64decode(body, validate=False))

def sigparts(msg):
    fields, body = split(msg)
    ct = header(fields, b'content-type')
    m = re.search(rb'boundary="?([^";\r\n]+)"?', ct, re.I)
    if not m: raise SystemExit('no boundary')
    s = b'\r\n' + body
    dl = b'\r\n--' + m.group(1)
    idx, pos = [], 0
    while True:
        i = s.find(dl, pos)
        if i < 0: break
        idx.append(i); pos = i + len(dl)
    if len(idx) < 3: raise SystemExit('multipart/signed needs 2 parts')
    def start(i): return s.index(b'\r\n', i + len(dl)) + 2
    return s, (start(idx[0]), idx[1]), (start(idx[1]), idx[2])

def rebuild(msg, s, new_s):
    fields, _ = split(msg)
    return b'\r\n'.join(fields) + b'\r\n\r\n' + new_s[2:]

def cmd_sigparts(a):        # EML CONTENT_OUT SIGDER_OUT : exact signed bytes + detached DER
    s, p1, p2 = sigparts(crlf(rd(a[0])))
    wr(a[1], s[p1[0]:p1[1]])
    f2, b2 = split(s[p2[0]:p2[1]] + b'\r\n')
    wr(a[2], base64.b64decode(b2))

def cmd_mkp7m(a):           # DER SMIMETYPE OUT : application/pkcs7-mime entity
    wr(a[2], b'MIME-Version: 1.0\r\n'
       b'Content-Disposition: attachment; filename="smime.p7m"\r\n'
       b'Content-Type: application/pkcs7-mime; smime-type=' + a[1].encode() +
       b'; name="smime.p7m"\r\n'
       b'Content-Transfer-Encoding: base64\r\n\r\n' + b64lines(rd(a[0])))

def cmd_mksigned(a):        # CONTENT SIGDER MICALG BOUNDARY OUT : multipart/signed entity
    c, sig, micalg, b = rd(a[0]), rd(a[1]), a[2].encode(), a[3].encode()
    out = (b'MIME-Version: 1.0\r\n'
           b'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
           b' micalg=' + micalg + b';\r\n boundary="' + b + b'"\r\n\r\n'
           b'This is a cryptographically signed message in MIME format.\r\n\r\n'
           b'--' + b + b'\r\n' + c + b'\r\n--' + b + b'\r\n'
           b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
           b'Content-Transfer-Encoding: base64\r\n'
           b'Content-Disposition: attachment; filename="smime.p7s"\r\n'
           b'Content-Description: S/MIME Cryptographic Signature\r\n\r\n' +
           b64lines(sig) + b'\r\n--' + b + b'--\r\n')
    wr(a[4], out)

def cmd_replp7m(a):         # EML DER OUT : same headers, new base64 body
    fields, _ = split(crlf(rd(a[0])))
    wr(a[2], b'\r\n'.join(fields) + b'\r\n\r\n' + b64lines(rd(a[1])))

def cmd_replsig(a):         # EML SIGDER OUT : replace the base64 body of the signature part
    msg = crlf(rd(a[0]))
    s, p1, p2 = sigparts(msg)
    part = s[p2[0]:p2[1]]
    i = part.index(b'\r\n\r\n') + 4
    wr(a[2], rebuild(msg, s, s[:p2[0]] + part[:i] + b64lines(rd(a[1]))[:-2] + s[p2[1]:]))

def cmd_tamperbody(a):      # EML OUT OLD NEW : change text inside the signed part's body
    msg = crlf(rd(a[0]))
    s, p1, p2 = sigparts(msg)
    part = s[p1[0]:p1[1]]
    hb = part.index(b'\r\n\r\n') + 4
    old, new = a[2].encode(), a[3].encode()
    if len(old) != len(new) or part[hb:].count(old) != 1: raise SystemExit('tamper-body: bad OLD')
    part = part[:hb] + part[hb:].replace(old, new)
    wr(a[1], rebuild(msg, s, s[:p1[0]] + part + s[p1[1]:]))

def cmd_sigoff(a):          # DER : offset of the middle byte of the SignerInfo signature value
    d = rd(a[0]); n = sig_value(d)
    print(n['coff'] + n['clen'] // 2, n['coff'], n['clen'])

def cmd_macoff(a):          # DER : offset of the middle byte of AuthEnvelopedData.mac
    d = rd(a[0]); ed = kids(d, content(d))
    n = first(ed, 0x04)
    print(n['coff'] + n['clen'] // 2, n['coff'], n['clen'])

def cmd_ctoff(a):           # DER [IDX] : file offset of ciphertext byte IDX (neg from end ok)
    offs = ct_offsets(rd(a[0]))
    print(offs[int(a[1]) if len(a) > 1 else 0], len(offs))

def cmd_flip(a):            # DER OFFSET MASK OUT
    d = bytearray(rd(a[0])); d[int(a[1])] ^= int(a[2], 0); wr(a[3], bytes(d))

def cmd_half(a):            # DER OUT
    d = rd(a[0]); wr(a[1], d[:len(d) // 2])

def cmd_cbcparts(a):        # DER DIR : ek.bin (alice = 1st recipient), iv.hex, ct.bin, alg
    d = rd(a[0]); ed, k = enc_content(d)
    ri = kids(d, first(ed, 0x31))[0]
    ek = first(kids(d, ri), 0x04)
    wr(a[1] + '/ek.bin', d[ek['coff']:ek['end']])
    alg = kids(d, k[1])
    iv = alg[1]
    wr(a[1] + '/iv.hex', d[iv['coff']:iv['end']].hex().encode())
    wr(a[1] + '/ct.bin', bytes(d[o] for o in ct_offsets(d)))
    wr(a[1] + '/alg.der', d[alg[0]['start']:alg[0]['end']])

def cmd_hex(a):
    print(rd(a[0]).hex())

def cmd_garbage(a):         # RANDOMBYTES OUT : enveloped-data entity whose body is not CMS
    cmd_mkp7m([a[0], 'enveloped-data', a[1]])

cmd = sys.argv[1].replace('-', '')
globals()['cmd_' + cmd](sys.argv[2:])
PYEOF
H() { python3 "$T/h.py" "$@"; }

###########################################################################
# checks
###########################################################################
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); }
# must_verify EML [openssl verify opts...]   (detached or opaque, top level)
must_verify() {
  local f=$1; shift
  openssl cms -verify -in "$f" -CAfile "$O/ca.pem" -purpose smimesign "$@" \
      -out "$T/verified.out" 2>"$T/err" || { cat "$T/err" >&2; die "$f: does not verify with openssl"; }
  ok
}
# strict check of a multipart/signed: the exact bytes of part 1 (no re-canonicalisation)
must_verify_strict() {
  local f=$1; shift
  H sigparts "$f" "$T/sp.content" "$T/sp.sig.der"
  openssl cms -verify -binary -inform DER -in "$T/sp.sig.der" -content "$T/sp.content" \
      -CAfile "$O/ca.pem" -purpose smimesign "$@" -out /dev/null 2>"$T/err" \
      || { cat "$T/err" >&2; die "$f: exact part-1 bytes do not verify (CRLF/canonicalisation?)"; }
  ok
}
# must_not_verify EML REGEX [opts...]  : openssl must reject, with an error matching REGEX
must_not_verify() {
  local f=$1 re=$2; shift 2
  if openssl cms -verify -in "$f" -CAfile "$O/ca.pem" -purpose smimesign "$@" \
      -out /dev/null 2>"$T/err"; then
    die "$f: negative vector VERIFIES with openssl"
  fi
  grep -Eqi "$re" "$T/err" || { cat "$T/err" >&2; die "$f: rejected, but not for the expected reason ($re)"; }
  ok
}
# must_decrypt EML CERT KEY EXPECTED_FILE|-
must_decrypt() {
  local f=$1 c=$2 k=$3 exp=$4
  openssl cms -decrypt -in "$f" -recip "$c" -inkey "$k" -out "$T/dec.out" 2>"$T/err" \
      || { cat "$T/err" >&2; die "$f: does not decrypt with $k"; }
  if [ "$exp" != - ]; then cmp -s "$T/dec.out" "$exp" || die "$f: decrypted content differs from $exp"; fi
  ok
}
# must_not_decrypt EML CERT KEY [REGEX] : openssl must fail (with an error matching REGEX)
must_not_decrypt() {
  local f=$1 c=$2 k=$3 re=${4:-.}
  if openssl cms -decrypt -in "$f" -recip "$c" -inkey "$k" -out /dev/null 2>"$T/err"; then
    die "$f: negative vector DECRYPTS with $k"
  fi
  grep -Eqi "$re" "$T/err" || { cat "$T/err" >&2; die "$f: not decrypted, but not for the expected reason ($re)"; }
  ok
}

###########################################################################
# 1. PKI
###########################################################################
echo "== PKI"
cat > "$T/x509.cnf" <<'EOF'
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
[ v3_ica ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
[ ee_rsa ]
basicConstraints       = CA:FALSE
keyUsage               = digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = email:$ENV::SAN_EMAIL
[ ee_ec ]
basicConstraints       = CA:FALSE
keyUsage               = digitalSignature,nonRepudiation
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = email:$ENV::SAN_EMAIL
[ ee_tls ]
basicConstraints       = CA:FALSE
keyUsage               = digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
subjectAltName         = email:$ENV::SAN_EMAIL
EOF
export SAN_EMAIL=unused@example.com
export OPENSSL_CONF="$T/x509.cnf"
serial() { echo "0x$(openssl rand -hex 12)"; }

genrsa() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$1" 2>/dev/null; }
genec()  { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
             -pkeyopt ec_param_enc:named_curve -out "$1"; }
selfsigned() { # KEY CERT SUBJECT
  openssl req -new -x509 -config "$T/x509.cnf" -key "$1" -subj "$3" -days $DAYS -sha256 \
      -extensions v3_ca -set_serial "$(serial)" -out "$2"
}
issue() {      # KEY CERT SUBJECT EMAIL PROFILE CACERT CAKEY
  SAN_EMAIL=$4 openssl req -new -config "$T/x509.cnf" -key "$1" -subj "$3" -out "$T/csr.pem"
  SAN_EMAIL=$4 openssl x509 -req -in "$T/csr.pem" -CA "$6" -CAkey "$7" -set_serial "$(serial)" \
      -days $DAYS -sha256 -extfile "$T/x509.cnf" -extensions "$5" -out "$2" 2>/dev/null
}

genrsa ca.key 3072
selfsigned ca.key ca.pem "/O=Reseal Test/CN=Reseal Test Root CA"
genrsa ica.key 3072
issue ica.key ica.pem "/O=Reseal Test/CN=Reseal Test Intermediate CA" - v3_ica ca.pem ca.key
genrsa alice.key 2048
issue alice.key alice.pem "/O=Reseal Test/CN=Alice/emailAddress=alice@example.com" \
      alice@example.com ee_rsa ca.pem ca.key
genrsa bob.key 3072
openssl pkey -in bob.key -traditional -out bob.rsa.pem
issue bob.key bob.pem "/O=Reseal Test/CN=Bob/emailAddress=bob@example.org" \
      bob@example.org ee_rsa ica.pem ica.key
cp ica.pem bob-chain.pem
genec carol.key
openssl pkey -in carol.key -traditional -out carol.ec.pem
issue carol.key carol.pem "/O=Reseal Test/CN=Carol/emailAddress=carol@example.com" \
      carol@example.com ee_ec ca.pem ca.key
genrsa dave.key 3072
issue dave.key dave.pem "/O=Reseal Test/CN=Dave/emailAddress=dave@example.com" \
      dave@example.com ee_rsa ca.pem ca.key
genrsa erin.key 2048
issue erin.key erin.pem "/O=Reseal Test/CN=Erin/emailAddress=erin@example.net" \
      erin@example.net ee_rsa ca.pem ca.key
genrsa tlsonly.key 2048
issue tlsonly.key tlsonly.pem "/O=Reseal Test/CN=TLS Only/emailAddress=tlsonly@example.com" \
      tlsonly@example.com ee_tls ca.pem ca.key
genrsa evil-ca.key 2048
selfsigned evil-ca.key evil-ca.pem "/O=Evil Test/CN=Evil Test Root CA"
genrsa mallory.key 2048
issue mallory.key mallory.pem "/O=Reseal Test/CN=Alice/emailAddress=alice@example.com" \
      alice@example.com ee_rsa evil-ca.pem evil-ca.key

# expired: `openssl x509 -req` (3.0) cannot backdate; use `openssl ca` with a throw-away CA db
genrsa expired.key 2048
mkdir -p "$T/ca/new"; : > "$T/ca/index.txt"; openssl rand -hex 12 > "$T/ca/serial"
cat > "$T/ca.cnf" <<EOF
[ ca ]
default_ca = tmpca
[ tmpca ]
database        = $T/ca/index.txt
new_certs_dir   = $T/ca/new
serial          = $T/ca/serial
default_md      = sha256
policy          = pol
unique_subject  = no
copy_extensions = none
[ pol ]
organizationName = optional
commonName       = supplied
emailAddress     = optional
EOF
SAN_EMAIL=expired@example.com openssl req -new -config "$T/x509.cnf" -key expired.key \
    -subj "/O=Reseal Test/CN=Expired/emailAddress=expired@example.com" -out "$T/csr.pem"
SAN_EMAIL=expired@example.com openssl ca -batch -config "$T/ca.cnf" -cert ca.pem -keyfile ca.key \
    -in "$T/csr.pem" -startdate 20200101000000Z -enddate 20210101000000Z -preserveDN -notext \
    -extfile "$T/x509.cnf" -extensions ee_rsa -out expired.pem 2>/dev/null

# sanity of the PKI
openssl verify -CAfile ca.pem ca.pem alice.pem carol.pem dave.pem erin.pem >/dev/null
openssl verify -CAfile ca.pem -untrusted ica.pem bob.pem >/dev/null
openssl verify -CAfile ca.pem -purpose smimesign alice.pem >/dev/null
openssl verify -CAfile ca.pem -purpose smimesign tlsonly.pem >/dev/null 2>&1 \
    && die "tlsonly.pem is usable for S/MIME"
openssl verify -CAfile ca.pem expired.pem >/dev/null 2>&1 && die "expired.pem is not expired"
openssl verify -CAfile ca.pem mallory.pem >/dev/null 2>&1 && die "mallory.pem chains to ca.pem"
openssl verify -CAfile evil-ca.pem mallory.pem >/dev/null
for k in alice bob carol dave erin expired tlsonly mallory; do
  [ "$(openssl x509 -in $k.pem -noout -pubkey)" = "$(openssl pkey -in $k.key -pubout)" ] \
      || die "$k.key does not match $k.pem"
done
grep -q 'BEGIN PRIVATE KEY' alice.key || die "alice.key is not PKCS#8"
grep -q 'BEGIN RSA PRIVATE KEY' bob.rsa.pem || die "bob.rsa.pem is not PKCS#1"
grep -q 'BEGIN EC PRIVATE KEY' carol.ec.pem || die "carol.ec.pem is not SEC1"

# PKCS#12
printf '%s' "$P12PASS" > alice.p12.pass
openssl pkcs12 -export -inkey alice.key -in alice.pem -certfile ca.pem -name "Alice" \
    -passout "pass:$P12PASS" -out alice.p12
openssl pkcs12 -export -inkey alice.key -in alice.pem -certfile ca.pem -name "Alice" \
    -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
    -passout "pass:$P12PASS" -out alice-legacy.p12
openssl pkcs12 -in alice.p12 -info -noout -passin "pass:$P12PASS" 2>&1 \
    | grep -q 'PBES2, PBKDF2, AES-256-CBC' || die "alice.p12 is not AES-256-CBC/PBKDF2"
openssl pkcs12 -in alice-legacy.p12 -info -noout -passin "pass:$P12PASS" 2>&1 \
    | grep -q 'pbeWithSHA1And3-KeyTripleDES-CBC' || die "alice-legacy.p12 is not 3DES"

###########################################################################
# 2. plain messages (written with LF here, converted to CRLF)
###########################################################################
echo "== plain messages"
RECEIVED='Received: from mua.example.com (mua.example.com [192.0.2.25]) by mx.example.com (Postfix) with ESMTPS id 4VxQ2n0Z3Kz9sRt for <bob@example.org>; Tue, 03 Jun 2025 10:15:02 +0000'
hdrs() { # SUBJECT MSGID-LOCAL
  printf '%s\nFrom: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nSubject: %s\nDate: Tue, 03 Jun 2025 10:15:00 +0000\nMessage-ID: <%s@example.com>\nMIME-Version: 1.0\n' \
      "$RECEIVED" "$1" "$2"
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

{ hdrs "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=" "msg-8bit.20250603101500"
  cat <<'EOF'
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Bob,

Grüße, Zoë — naïve café.
Straße, Übergröße, 10 € pro Stück; 日本語のテキスト.

Alice
EOF
} > "$T/m"; H crlf "$T/m" msg-8bit.eml

{ hdrs "Quoted-printable test" "msg-qp.20250603101500"
  cat <<'EOF'
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hallo Bob,

Gr=C3=BC=C3=9Fe aus M=C3=BCnchen! Dies ist eine l=C3=A4ngere Zeile, die =
mit einem weichen Zeilenumbruch fortgesetzt wird, damit quoted-printa=
ble richtig getestet wird.
Zo=C3=AB =E2=80=94 na=C3=AFve caf=C3=A9, Preis: 10 =E2=82=AC, 1+1=3D2
Leerzeichen am Zeilenende:=20
Tab am Zeilenende:=09

Alice
EOF
} > "$T/m"; H crlf "$T/m" msg-qp.eml

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

{ hdrs "HTML newsletter" "msg-html.20250603101500"
  cat <<'EOF'
Content-Type: multipart/alternative; boundary="=_reseal_alt_0001"

This is a multi-part message in MIME format.

--=_reseal_alt_0001
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Bob,

this is the *plain text* version.

Alice

--=_reseal_alt_0001
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html><head><meta charset="us-ascii"><title>Newsletter</title></head>
<body>
<p>Hi Bob,</p>
<p>this is the <b>HTML</b> version.</p>
<p>Alice</p>
</body></html>

--=_reseal_alt_0001--
EOF
} > "$T/m"; H crlf "$T/m" msg-html.eml

rndbytes 35600 00000000000000000000000000000001 > "$T/data.bin"
{ hdrs "Benchmark message (50 KB)" "msg-50k.20250603101500"
  cat <<'EOF'
Content-Type: multipart/mixed; boundary="=_reseal_mixed_0050"

This is a multi-part message in MIME format.

--=_reseal_mixed_0050
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

EOF
  for i in $(seq 1 12); do
    printf 'Line %02d of the benchmark text part. The quick brown fox jumps over the lazy dog.\n' "$i"
  done
  cat <<'EOF'

--=_reseal_mixed_0050
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

EOF
  base64 -w 76 "$T/data.bin"
  printf '\n--=_reseal_mixed_0050--\n'
} > "$T/m"; H crlf "$T/m" msg-50k.eml

for m in plain 8bit qp attach html 50k; do
  H inner "msg-$m.eml" "$T/inner-$m"
done
python3 - msg-qp.eml <<'EOF' || die "msg-qp.eml: body line longer than 76"
import sys
d = open(sys.argv[1], 'rb').read(); b = d[d.index(b'\r\n\r\n') + 4:]
sys.exit(max(len(l) for l in b.split(b'\r\n')) > 76)
EOF

###########################################################################
# 3. OpenSSL-made S/MIME
###########################################################################
echo "== openssl signed"
ALICE='Alice <alice@example.com>'
BOB='Bob <bob@example.org>'
# outer SRC NAME [FROM] [TO] -> $T/NAME.hdr  (From/To/Subject/Date/Message-ID)
outer() { H outer "$O/$1" "$T/$2.hdr" "<$2.20250603101500@example.com>" "${3:-}" "${4:-}"; }
# osign IN OUT CERT KEY MD [opts] : detached multipart/signed entity, CRLF everywhere.
# Without -binary openssl canonicalises the content to CRLF itself; -crlfeol makes its
# own MIME lines CRLF; the base64 lines are then normalised by `H crlf`.
osign() {
  local in=$1 out=$2 cert=$3 key=$4 md=$5; shift 5
  openssl cms -sign -in "$in" -signer "$cert" -inkey "$key" -md "$md" -crlfeol "$@" -out "$out.raw"
  H crlf "$out.raw" "$out"
}
oenc() { # IN OUT opts... certs...
  local in=$1 out=$2; shift 2
  openssl cms -encrypt -in "$in" -out "$out.raw" "$@"
  H crlf "$out.raw" "$out"
}
final() { H assemble "$T/$1.hdr" "$2" "$O/$1.eml"; }
retitle() { # SRC-EML NEWNAME : same message, this vector's Message-ID
  outer msg-plain.eml $2
  python3 - "$1" "$T/$2.hdr" "$O/$2.eml" <<'EOF'
import sys
m = open(sys.argv[1], 'rb').read(); h = open(sys.argv[2], 'rb').read()
i = m.index(b'MIME-Version:')
open(sys.argv[3], 'wb').write(h + m[i:])
EOF
}

for m in plain 8bit qp attach; do
  n=openssl-signed-$m
  outer msg-$m.eml $n
  osign "$T/inner-$m" "$T/$n.ent" alice.pem alice.key sha256
  final $n "$T/$n.ent"
  must_verify $n.eml; must_verify_strict $n.eml
  cmp -s "$T/verified.out" "$T/inner-$m" || die "$n: signed content differs from msg-$m inner entity"
done

n=openssl-signed-sha384-bob
outer msg-plain.eml $n "$BOB" "$ALICE"
osign "$T/inner-plain" "$T/$n.ent" bob.pem bob.key sha384 -certfile ica.pem
final $n "$T/$n.ent"; must_verify $n.eml; must_verify_strict $n.eml
grep -q 'micalg="sha-384"' $n.eml || die "$n: micalg"

n=openssl-signed-sha512
outer msg-plain.eml $n
osign "$T/inner-plain" "$T/$n.ent" alice.pem alice.key sha512
final $n "$T/$n.ent"; must_verify $n.eml; must_verify_strict $n.eml
grep -q 'micalg="sha-512"' $n.eml || die "$n: micalg"

n=openssl-signed-ecdsa-carol
outer msg-plain.eml $n 'Carol <carol@example.com>'
osign "$T/inner-plain" "$T/$n.ent" carol.pem carol.key sha256
final $n "$T/$n.ent"; must_verify $n.eml; must_verify_strict $n.eml

n=openssl-signed-pss-dave          # openssl default PSS salt length = max (350 for RSA-3072/SHA-256)
outer msg-plain.eml $n 'Dave <dave@example.com>'
osign "$T/inner-plain" "$T/$n.ent" dave.pem dave.key sha256 -keyopt rsa_padding_mode:pss
final $n "$T/$n.ent"; must_verify $n.eml; must_verify_strict $n.eml
n=openssl-signed-pss-saltdigest-dave   # extra: salt length = digest length (32), as NSS/Outlook
outer msg-plain.eml $n 'Dave <dave@example.com>'
osign "$T/inner-plain" "$T/$n.ent" dave.pem dave.key sha256 \
    -keyopt rsa_padding_mode:pss -keyopt rsa_pss_saltlen:digest
final $n "$T/$n.ent"; must_verify $n.eml; must_verify_strict $n.eml
for n in openssl-signed-pss-dave openssl-signed-pss-saltdigest-dave; do
  H sigparts $n.eml "$T/c" "$T/s.der"
  openssl cms -cmsout -print -inform DER -in "$T/s.der" | grep -q rsassaPss || die "$n: not PSS"
done

n=openssl-signed-opaque
outer msg-plain.eml $n
openssl cms -sign -in "$T/inner-plain" -signer alice.pem -inkey alice.key -md sha256 -nodetach \
    -out "$T/$n.raw"
H crlf "$T/$n.raw" "$T/$n.ent"; final $n "$T/$n.ent"; must_verify $n.eml
cmp -s "$T/verified.out" "$T/inner-plain" || die "$n: content differs"
grep -q 'smime-type=signed-data' $n.eml || die "$n: smime-type"

echo "== openssl signed, negative"
n=openssl-signed-by-mallory
outer msg-plain.eml $n
osign "$T/inner-plain" "$T/$n.ent" mallory.pem mallory.key sha256
final $n "$T/$n.ent"
must_not_verify $n.eml 'unable to get local issuer certificate'
must_verify $n.eml -CAfile evil-ca.pem          # control: valid apart from the untrusted root

n=openssl-signed-expired
outer msg-plain.eml $n 'Expired <expired@example.com>'
osign "$T/inner-plain" "$T/$n.ent" expired.pem expired.key sha256
final $n "$T/$n.ent"
must_not_verify $n.eml 'certificate has expired'
must_verify $n.eml -no_check_time               # control: only the validity period is wrong

n=openssl-signed-tlsonly
outer msg-plain.eml $n 'TLS Only <tlsonly@example.com>'
osign "$T/inner-plain" "$T/$n.ent" tlsonly.pem tlsonly.key sha256
final $n "$T/$n.ent"
must_not_verify $n.eml 'unsuitable certificate purpose|unsupported certificate purpose'
must_verify $n.eml -purpose any                  # control: only the EKU is wrong

n=openssl-signed-wrong-from
outer msg-plain.eml $n 'Carol <carol@example.com>'
osign "$T/inner-plain" "$T/$n.ent" alice.pem alice.key sha256
final $n "$T/$n.ent"
must_verify $n.eml; must_verify_strict $n.eml    # crypto is fine: the gateway must compare From

n=openssl-signed-tampered-body
outer msg-plain.eml $n
H tamper-body openssl-signed-plain.eml "$T/$n.tmp" 'transfer 100 EUR' 'transfer 900 EUR'
retitle "$T/$n.tmp" $n
must_not_verify $n.eml 'CMS_SignerInfo_verify_content|content verify error'

n=openssl-signed-tampered-sig
outer msg-plain.eml $n
H sigparts openssl-signed-plain.eml "$T/c" "$T/s.der"
read -r off soff slen < <(H sigoff "$T/s.der")
H flip "$T/s.der" "$off" 0x01 "$T/s.bad.der"
H replsig openssl-signed-plain.eml "$T/s.bad.der" "$T/$n.tmp"
retitle "$T/$n.tmp" $n
SIGFLIP="byte at DER offset $off (middle of the ${slen}-byte SignerInfo.signature value, which starts at $soff) XOR 0x01"
must_not_verify $n.eml 'padding check failed|CMS_SignerInfo_verify:'

echo "== openssl encrypted"
encto() { # NAME SRC-INNER opts... (certs last)
  local n=$1 in=$2; shift 2
  outer msg-plain.eml $n
  oenc "$in" "$T/$n.ent" "$@"
  final $n "$T/$n.ent"
}
encto openssl-enc-aes256cbc  "$T/inner-plain" -aes-256-cbc alice.pem
encto openssl-enc-aes128cbc  "$T/inner-plain" -aes-128-cbc alice.pem
encto openssl-enc-aes192cbc  "$T/inner-plain" -aes-192-cbc alice.pem
encto openssl-enc-oaep       "$T/inner-plain" -aes-256-cbc -recip alice.pem -keyopt rsa_padding_mode:oaep
encto openssl-enc-oaep-sha256 "$T/inner-plain" -aes-256-cbc -recip alice.pem \
      -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
encto openssl-enc-gcm        "$T/inner-plain" -aes-256-gcm alice.pem
encto openssl-enc-gcm128     "$T/inner-plain" -aes-128-gcm alice.pem
encto openssl-enc-multi      "$T/inner-plain" -aes-256-cbc alice.pem bob.pem erin.pem
encto openssl-enc-to-bob-only "$T/inner-plain" -aes-256-cbc bob.pem
for n in aes256cbc aes128cbc aes192cbc oaep oaep-sha256 gcm gcm128 multi; do
  must_decrypt openssl-enc-$n.eml alice.pem alice.key "$T/inner-plain"
done
for n in aes256cbc aes128cbc aes192cbc oaep oaep-sha256 multi to-bob-only; do
  grep -q 'smime-type=enveloped-data' openssl-enc-$n.eml || die "openssl-enc-$n: smime-type"
done
for n in gcm gcm128; do
  grep -q 'smime-type=authEnveloped-data' openssl-enc-$n.eml || die "openssl-enc-$n: smime-type"
done
must_decrypt openssl-enc-multi.eml bob.pem bob.key "$T/inner-plain"
must_decrypt openssl-enc-multi.eml erin.pem erin.key "$T/inner-plain"
must_decrypt openssl-enc-to-bob-only.eml bob.pem bob.key "$T/inner-plain"
must_not_decrypt openssl-enc-to-bob-only.eml alice.pem alice.key 'using private key|no matching recipient'
# the algorithms are what the names say
algof() { H p7m-der "$1" "$T/a.der"; openssl asn1parse -inform DER -in "$T/a.der"; }
algof openssl-enc-aes128cbc.eml | grep -q ':aes-128-cbc' || die "aes128cbc"
algof openssl-enc-aes192cbc.eml | grep -q ':aes-192-cbc' || die "aes192cbc"
algof openssl-enc-aes256cbc.eml | grep -q ':aes-256-cbc' || die "aes256cbc"
algof openssl-enc-gcm.eml       | grep -q ':aes-256-gcm' || die "gcm"
algof openssl-enc-gcm128.eml    | grep -q ':aes-128-gcm' || die "gcm128"
algof openssl-enc-oaep.eml      | grep -q ':rsaesOaep'   || die "oaep"
algof openssl-enc-oaep-sha256.eml | grep -q ':rsaesOaep' || die "oaep-sha256"
algof openssl-enc-oaep-sha256.eml | grep -q ':sha256'    || die "oaep-sha256 md"

echo "== nestings"
signenc() { # NAME MSG CIPHER
  local n=$1 m=$2 c=$3
  outer msg-$m.eml $n
  osign "$T/inner-$m" "$T/$n.signed" alice.pem alice.key sha256
  H strip-mv "$T/$n.signed" "$T/$n.signed.ent"   # nested entity: no MIME-Version
  oenc "$T/$n.signed.ent" "$T/$n.ent" "$c" alice.pem
  final $n "$T/$n.ent"
  must_decrypt $n.eml alice.pem alice.key "$T/$n.signed.ent"
  must_verify "$T/dec.out"; cmp -s "$T/verified.out" "$T/inner-$m" || die "$n: inner content"
  must_verify_strict "$T/dec.out"
}
signenc openssl-sign-then-enc-cbc    plain  -aes-256-cbc
signenc openssl-sign-then-enc-gcm    plain  -aes-256-gcm
signenc openssl-sign-then-enc-attach attach -aes-256-cbc

n=openssl-enc-then-sign
outer msg-plain.eml $n
oenc "$T/inner-plain" "$T/$n.enc" -aes-256-gcm alice.pem
H strip-mv "$T/$n.enc" "$T/$n.enc.ent"
osign "$T/$n.enc.ent" "$T/$n.ent" alice.pem alice.key sha256
final $n "$T/$n.ent"
must_verify $n.eml; must_verify_strict $n.eml
cmp -s "$T/verified.out" "$T/$n.enc.ent" || die "$n: signed part is not the enveloped entity"
must_decrypt "$T/verified.out" alice.pem alice.key "$T/inner-plain"

echo "== tampered ciphertexts"
H p7m-der openssl-enc-gcm.eml "$T/gcm.der"

n=openssl-enc-gcm-tampered-tag
read -r off moff mlen < <(H macoff "$T/gcm.der")
H flip "$T/gcm.der" "$off" 0x01 "$T/$n.der"
H repl-p7m openssl-enc-gcm.eml "$T/$n.der" "$T/$n.tmp"; retitle "$T/$n.tmp" $n
TAGFLIP="byte at DER offset $off (middle of the ${mlen}-byte AuthEnvelopedData.mac, which starts at $moff) XOR 0x01"
must_not_decrypt $n.eml alice.pem alice.key 'Error decrypting CMS structure'

n=openssl-enc-gcm-tampered-ct
read -r off ctlen < <(H ctoff "$T/gcm.der" 0)
H flip "$T/gcm.der" "$off" 0x01 "$T/$n.der"
H repl-p7m openssl-enc-gcm.eml "$T/$n.der" "$T/$n.tmp"; retitle "$T/$n.tmp" $n
CTFLIP="byte at DER offset $off (first of the ${ctlen} encryptedContent bytes) XOR 0x01"
must_not_decrypt $n.eml alice.pem alice.key 'Error decrypting CMS structure'

# CBC: flip a bit in the LAST ciphertext block, so the last plaintext block (which carries
# the PKCS#7 padding) decrypts to garbage.  The padding is then checked directly with the
# content-encryption key (RSA-decrypted with alice.key); if by chance (~1/256) the garbage
# still looks like valid padding, another bit is flipped.
n=openssl-enc-cbc-tampered-padding
H p7m-der openssl-enc-aes256cbc.eml "$T/cbc.der"
mkdir -p "$T/cbc"; H cbcparts "$T/cbc.der" "$T/cbc"
openssl pkeyutl -decrypt -inkey alice.key -in "$T/cbc/ek.bin" -out "$T/cbc/cek.bin"
CEK=$(H hex "$T/cbc/cek.bin"); IV=$(cat "$T/cbc/iv.hex")
openssl enc -d -aes-256-cbc -K "$CEK" -iv "$IV" -in "$T/cbc/ct.bin" -out "$T/cbc/pt" \
    || die "cbc: cannot decrypt the untampered ciphertext with the extracted key"
cmp -s "$T/cbc/pt" "$T/inner-plain" || die "cbc: extracted-key decryption differs"
CBCFLIP=
for try in -1:0x01 -1:0x02 -2:0x01 -3:0x01 -4:0x01 -5:0x01 -6:0x01 -7:0x01; do
  idx=${try%%:*}; mask=${try##*:}
  read -r off ctlen < <(H ctoff "$T/cbc.der" "$idx")
  H flip "$T/cbc.der" "$off" "$mask" "$T/$n.der"
  H cbcparts "$T/$n.der" "$T/cbc"
  if ! openssl enc -d -aes-256-cbc -K "$CEK" -iv "$IV" -in "$T/cbc/ct.bin" -out /dev/null 2>/dev/null; then
    CBCFLIP="byte at DER offset $off (ciphertext byte $idx of $ctlen, i.e. in the last 16-byte block) XOR $mask"
    break
  fi
done
[ -n "$CBCFLIP" ] || die "cbc: could not produce bad padding"
H repl-p7m openssl-enc-aes256cbc.eml "$T/$n.der" "$T/$n.tmp"; retitle "$T/$n.tmp" $n
must_not_decrypt $n.eml alice.pem alice.key 'bad decrypt'

n=openssl-enc-truncated
H half "$T/cbc.der" "$T/$n.der"
H repl-p7m openssl-enc-aes256cbc.eml "$T/$n.der" "$T/$n.tmp"; retitle "$T/$n.tmp" $n
TRUNC="first $(stat -c %s "$T/$n.der") of $(stat -c %s "$T/cbc.der") bytes of an AES-256-CBC EnvelopedData to alice"
must_not_decrypt $n.eml alice.pem alice.key 'not enough data|asn1 parse error'

n=openssl-enc-garbage
rndbytes 1024 000000000000000000000000000000ff > "$T/garbage.bin"
H garbage "$T/garbage.bin" "$T/$n.ent"
outer msg-plain.eml $n; final $n "$T/$n.ent"
must_not_decrypt $n.eml alice.pem alice.key 'asn1 parse error|wrong tag'

###########################################################################
# 4. gpgsm-made S/MIME
###########################################################################
echo "== gpgsm"
cat > "$GNUPGHOME/gpgsm.conf" <<'EOF'
disable-crl-checks
disable-dirmngr
EOF
cat > "$GNUPGHOME/gpg-agent.conf" <<'EOF'
allow-loopback-pinentry
EOF
GS=(gpgsm --batch --yes --no-tty --pinentry-mode loopback)
"${GS[@]}" --import ca.pem ica.pem 2>"$T/gerr" || { cat "$T/gerr" >&2; die "gpgsm: import CA"; }
CAFPR=$(openssl x509 -in ca.pem -noout -fingerprint -sha1 | sed 's/.*=//')
printf '%s S relax\n' "$CAFPR" > "$GNUPGHOME/trustlist.txt"
# import the legacy (3DES) PKCS#12; passphrase via loopback on fd 0 (asked for the PKCS#12,
# and again by gpg-agent to protect the imported key)
printf '%s\n%s\n%s\n' "$P12PASS" "$P12PASS" "$P12PASS" \
  | "${GS[@]}" --passphrase-fd 0 --import alice-legacy.p12 2>"$T/gerr" \
  || { cat "$T/gerr" >&2; die "gpgsm: import alice-legacy.p12"; }
"${GS[@]}" --list-secret-keys alice@example.com >/dev/null 2>&1 || die "gpgsm: no secret key for alice"
gsign() { # IN OUTDER
  printf '%s\n' "$P12PASS" | "${GS[@]}" --passphrase-fd 0 -u alice@example.com \
      --digest-algo SHA256 --detach-sign -o "$2" "$1" 2>"$T/gerr" \
      || { cat "$T/gerr" >&2; die "gpgsm: sign"; }
}
genc() { # IN OUTDER
  "${GS[@]}" -r alice@example.com --encrypt -o "$2" "$1" 2>"$T/gerr" \
      || { cat "$T/gerr" >&2; die "gpgsm: encrypt"; }
}

n=gpgsm-signed
outer msg-plain.eml $n
gsign "$T/inner-plain" "$T/$n.der"
H mksigned "$T/inner-plain" "$T/$n.der" sha-256 "=_reseal_gpgsm_sig_0001" "$T/$n.ent"
final $n "$T/$n.ent"
must_verify $n.eml; must_verify_strict $n.eml

n=gpgsm-enc
outer msg-plain.eml $n
genc "$T/inner-plain" "$T/$n.der"
H mkp7m "$T/$n.der" enveloped-data "$T/$n.ent"
final $n "$T/$n.ent"
must_decrypt $n.eml alice.pem alice.key "$T/inner-plain"

n=gpgsm-sign-then-enc
outer msg-plain.eml $n
gsign "$T/inner-plain" "$T/$n.sig.der"
H mksigned "$T/inner-plain" "$T/$n.sig.der" sha-256 "=_reseal_gpgsm_sig_0002" "$T/$n.signed"
H strip-mv "$T/$n.signed" "$T/$n.signed.ent"
genc "$T/$n.signed.ent" "$T/$n.der"
H mkp7m "$T/$n.der" enveloped-data "$T/$n.ent"
final $n "$T/$n.ent"
must_decrypt $n.eml alice.pem alice.key "$T/$n.signed.ent"
must_verify "$T/dec.out"; must_verify_strict "$T/dec.out"
GPGSM_CIPHER=$(H p7m-der gpgsm-enc.eml "$T/g.der"; openssl asn1parse -inform DER -in "$T/g.der" \
    | grep -oE ':(aes-[0-9]+-cbc|des-ede3-cbc)' | head -1 | tr -d :)

# cross-check: gpgsm accepts what openssl made
H sigparts openssl-signed-plain.eml "$T/x.content" "$T/x.sig"
"${GS[@]}" --status-fd 3 --verify "$T/x.sig" "$T/x.content" 3>"$T/gstatus" 2>/dev/null \
    || die "gpgsm does not verify openssl-signed-plain"
grep -q '^\[GNUPG:\] GOODSIG' "$T/gstatus" || die "gpgsm: no GOODSIG for openssl-signed-plain"; ok
H p7m-der openssl-enc-aes256cbc.eml "$T/x.der"
printf '%s\n' "$P12PASS" | "${GS[@]}" --passphrase-fd 0 --decrypt -o "$T/x.dec" "$T/x.der" 2>/dev/null \
    || die "gpgsm does not decrypt openssl-enc-aes256cbc"
cmp -s "$T/x.dec" "$T/inner-plain" || die "gpgsm decryption of openssl-enc-aes256cbc differs"; ok

###########################################################################
# 5. final checks, notes
###########################################################################
python3 - "$O" <<'EOF' || die "bare LF found in a .eml"
import sys, glob
bad = [f for f in glob.glob(sys.argv[1] + '/*.eml')
       if b'\n' in open(f, 'rb').read().replace(b'\r\n', b'')]
bad and print('\n'.join(bad)); sys.exit(1 if bad else 0)
EOF
cat > "$O/TAMPERING.txt" <<EOF
How the tampered vectors of this run were made (offsets are into the base64-decoded body):
openssl-signed-tampered-body.eml: copy of openssl-signed-plain.eml, in the signed part "transfer 100 EUR" -> "transfer 900 EUR"
openssl-signed-tampered-sig.eml: copy of openssl-signed-plain.eml, signature DER $SIGFLIP
openssl-enc-gcm-tampered-tag.eml: copy of openssl-enc-gcm.eml, $TAGFLIP
openssl-enc-gcm-tampered-ct.eml: copy of openssl-enc-gcm.eml, $CTFLIP
openssl-enc-cbc-tampered-padding.eml: copy of openssl-enc-aes256cbc.eml, $CBCFLIP
openssl-enc-truncated.eml: $TRUNC
openssl-enc-garbage.eml: 1024 pseudo-random bytes (AES-128-CTR keystream, zero key), not BER
gpgsm-enc.eml content cipher: ${GPGSM_CIPHER:-unknown}
EOF
size=$(du -cb "$O" | tail -1 | cut -f1)
[ "$size" -lt 2000000 ] || die "vectors too big: $size bytes"
echo "== OK: $(ls "$O" | wc -l) files, $size bytes, $CHECKS checks passed"
