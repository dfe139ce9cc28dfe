#!/usr/bin/env python3
"""Corpus for benches/run.sh (Python 3 standard library; shells out to openssl and gpg).

    corpus.py keys WORK
        Makes the bench's keys under WORK/keys (at run time, never committed): a P-256
        test CA; S/MIME senders with RSA-2048, RSA-3072 and P-256 (the P-256 sender signs
        with P-256 and is decrypted with an RSA-2048 key: CMS key agreement is not
        something clients send a gateway, and Reseal decrypts key transport only);
        OpenPGP senders with Ed25519/Cv25519 and RSA-3072 (gpg --quick-gen-key in
        WORK/keys/gnupg); recipients: S/MIME RSA-2048 x2 + RSA-3072, OpenPGP Cv25519 x2 +
        RSA-3072. Writes WORK/keys/keys.json (who is who, key sizes, files).
    corpus.py gen WORK N SEED
        Writes WORK/corpus/NNNNN.eml and WORK/corpus/manifest.tsv. Deterministic from
        SEED (choices and cleartext; the crypto is randomised as always): 70 % 10 KB
        text, 20 % 100 KB with an attachment, 10 % 1 MB (an attachment); the sender
        kind is uniform over the five; 1-3 recipients of the sender's technology. Each
        message is signed by the sender and encrypted to the sender's own (delegated)
        key, as a client sends it through the gateway (like benches/smime_process.sh).
    corpus.py one WORK BYTES OUT [SENDER]
        One message whose wire form is about BYTES bytes (size sweep), from SENDER
        (default the S/MIME RSA-2048 one) to one recipient of its technology.

manifest.tsv columns: file kind sender rcpts(comma-separated) class inner_bytes wire_bytes
"""

import concurrent.futures as cf
import json
import os
import random
import subprocess
import sys

SENDERS = [
    # kind, address, technology, signing algorithm, decryption algorithm
    ("smime-rsa2048", "s2048@corp.example", "smime", "rsa2048", "rsa2048"),
    ("smime-rsa3072", "s3072@corp.example", "smime", "rsa3072", "rsa3072"),
    ("smime-p256", "sp256@corp.example", "smime", "p256", "rsa2048"),
    ("pgp-ed25519", "ped@corp.example", "openpgp", "ed25519", "x25519"),
    ("pgp-rsa3072", "prsa@corp.example", "openpgp", "rsa3072", "rsa3072"),
]
RECIPIENTS = {
    "smime": [("m1@partner-smime.example", "rsa2048"), ("m2@partner-smime.example", "rsa2048"),
              ("m3@partner-smime.example", "rsa3072")],
    "openpgp": [("g1@partner-pgp.example", "x25519"), ("g2@partner-pgp.example", "x25519"),
                ("g3@partner-pgp.example", "rsa3072")],
}
CLASSES = [("10k", 10_000, 70), ("100k", 100_000, 20), ("1m", 1_000_000, 10)]

X509_CNF = """[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ ee_rsa ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SAN_EMAIL
[ ee_ec ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature,nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SAN_EMAIL
"""


def run(args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        sys.exit("corpus.py: %s failed: %s" % (" ".join(args[:3]), r.stderr.decode(errors="replace")[-500:]))
    return r


def smime_key(d, name, alg, addr, ca):
    key, crt, csr = (os.path.join(d, name + e) for e in (".key", ".pem", ".csr"))
    if alg == "p256":
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        ext = "ee_ec"
    else:
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:" + alg[3:], "-out", key])
        ext = "ee_rsa"
    cnf = os.path.join(d, "x509.cnf")
    env = dict(os.environ, SAN_EMAIL=addr, OPENSSL_CONF=cnf)
    run(["openssl", "req", "-new", "-config", cnf, "-key", key, "-subj", "/CN=%s/emailAddress=%s" % (addr, addr),
         "-out", csr], env=env)
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca + ".pem", "-CAkey", ca + ".key", "-set_serial",
         "0x" + os.urandom(8).hex(), "-days", "3650", "-sha256", "-extfile", cnf, "-extensions", ext,
         "-out", crt], env=env)
    return {"key": key, "cert": crt, "alg": alg}


def pgp_key(gnupghome, d, addr, alg):
    env = dict(os.environ, GNUPGHOME=gnupghome)
    g = ["gpg", "--batch", "--quiet", "--passphrase", "", "--pinentry-mode", "loopback"]
    prim, sub = ("ed25519", "cv25519") if alg == "x25519" or alg == "ed25519" else ("rsa3072", "rsa3072")
    run(g + ["--quick-gen-key", "<%s>" % addr, prim, "sign,cert", "never"], env=env)
    fpr = [l.split(":")[9] for l in run(["gpg", "--batch", "--with-colons", "--list-keys", "<%s>" % addr],
                                         env=env).stdout.decode().splitlines() if l.startswith("fpr:")][0]
    run(g + ["--quick-add-key", fpr, sub, "encr", "never"], env=env)
    sec, pub = os.path.join(d, addr + ".sec.asc"), os.path.join(d, addr + ".pub.asc")
    with open(sec, "wb") as f:
        f.write(run(g + ["--armor", "--export-secret-keys", fpr], env=env).stdout)
    with open(pub, "wb") as f:
        f.write(run(g + ["--armor", "--export", fpr], env=env).stdout)
    return {"sec": sec, "pub": pub, "fpr": fpr, "alg": alg}


def keys(work):
    d = os.path.join(work, "keys")
    gh = os.path.join(d, "gnupg")
    os.makedirs(gh, mode=0o700, exist_ok=True)
    with open(os.path.join(d, "x509.cnf"), "w") as f:
        f.write(X509_CNF)
    ca = os.path.join(d, "ca")
    run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ca + ".key"])
    run(["openssl", "req", "-new", "-x509", "-config", os.path.join(d, "x509.cnf"), "-key", ca + ".key",
         "-subj", "/CN=Reseal bench CA", "-days", "3650", "-sha256", "-extensions", "v3_ca", "-out", ca + ".pem"],
        env=dict(os.environ, SAN_EMAIL="ca@corp.example", OPENSSL_CONF=os.path.join(d, "x509.cnf")))
    out = {"ca": ca + ".pem", "gnupghome": gh, "senders": {}, "recipients": {}}
    jobs = {}
    with cf.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        for kind, addr, tech, sig, dec in SENDERS:
            if tech == "smime":
                jobs[("s", addr, "sign")] = ex.submit(smime_key, d, addr, sig, addr, ca)
                if sig != dec:
                    jobs[("s", addr, "decrypt")] = ex.submit(smime_key, d, addr + ".enc", dec, addr, ca)
        for addr, alg in RECIPIENTS["smime"]:
            jobs[("r", addr, "")] = ex.submit(smime_key, d, addr, alg, addr, ca)
        res = {k: v.result() for k, v in jobs.items()}
    for kind, addr, tech, sig, dec in SENDERS:  # gpg: one after the other (one keyring)
        if tech == "openpgp":
            res[("s", addr, "sign")] = pgp_key(gh, d, addr, sig)
    for addr, alg in RECIPIENTS["openpgp"]:
        res[("r", addr, "")] = pgp_key(gh, d, addr, alg)
    for kind, addr, tech, sig, dec in SENDERS:
        s = {"kind": kind, "tech": tech, "sign_alg": sig, "decrypt_alg": dec, "sign": res[("s", addr, "sign")]}
        s["decrypt"] = res.get(("s", addr, "decrypt"), s["sign"])
        out["senders"][addr] = s
    for tech, lst in RECIPIENTS.items():
        for addr, alg in lst:
            r = res[("r", addr, "")]
            out["recipients"][addr] = {"tech": tech, "alg": alg, "cert": r.get("cert") or r.get("pub")}
    with open(os.path.join(d, "keys.json"), "w") as f:
        json.dump(out, f, indent=1)


WORDS = ("the gateway signs and encrypts every message for the sender with a delegated key while "
         "recipients open it with their own certificate quarterly report budget meeting agenda minutes "
         "project schedule invoice contract review draft final approved pending").split()


def text(rng, n):
    """About n bytes of CRLF text lines (<= 72 characters, none starting with a dot)."""
    out, size, line = [], 0, []
    while size < n:
        w = rng.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            s = " ".join(line).encode() + b"\r\n"
            out.append(s)
            size += len(s)
            line = []
        line.append(w)
    return b"".join(out)


def b64(data):
    import base64
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def inner_entity(rng, cls, target):
    if cls == "10k":
        return (b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                + text(rng, target - 80))
    body = text(rng, 3000)
    att = b64(rng.randbytes(int((target - len(body) - 400) * 57 / 78)))
    return (b'Content-Type: multipart/mixed; boundary="=-bench-part"\r\n\r\n'
            b"--=-bench-part\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body +
            b"--=-bench-part\r\nContent-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="data.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + att + b"--=-bench-part--\r\n")


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def build(keys, tmp, sender, rcpts, msgid, subject, inner):
    s = keys["senders"][sender]
    outer = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
             "Message-ID: <%s>\r\n" % (sender, ", ".join("<%s>" % r for r in rcpts), subject, msgid)).encode()
    with open(tmp + ".in", "wb") as f:
        f.write(inner)
    try:
        if s["tech"] == "smime":
            run(["openssl", "cms", "-sign", "-md", "sha256", "-signer", s["sign"]["cert"], "-inkey",
                 s["sign"]["key"], "-in", tmp + ".in", "-out", tmp + ".sig"])
            enc = run(["openssl", "cms", "-encrypt", "-aes-256-gcm", "-in", tmp + ".sig", s["decrypt"]["cert"]]).stdout
            return outer + crlf(enc)
        env = dict(os.environ, GNUPGHOME=keys["gnupghome"])
        arm = run(["gpg", "--batch", "--yes", "--quiet", "--trust-model", "always", "-a", "--sign", "--encrypt",
                   "-r", s["sign"]["fpr"], "-u", s["sign"]["fpr"], "-o", "-", tmp + ".in"], env=env).stdout
        return (outer + b"MIME-Version: 1.0\r\n"
                b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"\r\n\r\n'
                b"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n"
                b"--b\r\nContent-Type: application/octet-stream\r\n\r\n" + crlf(arm) + b"\r\n--b--\r\n")
    finally:
        for e in (".in", ".sig"):
            if os.path.exists(tmp + e):
                os.unlink(tmp + e)


def gen(work, n, seed):
    keys = json.load(open(os.path.join(work, "keys", "keys.json")))
    d = os.path.join(work, "corpus")
    os.makedirs(d, exist_ok=True)
    rng = random.Random(seed)
    plan = []
    weights = [c[2] for c in CLASSES]
    for i in range(n):
        cls, target, _ = rng.choices(CLASSES, weights)[0]
        kind, sender, tech, _, _ = rng.choice(SENDERS)
        rcpts = [a for a, _ in rng.sample(RECIPIENTS[tech], rng.randint(1, 3))]
        inner = inner_entity(random.Random("%s-%d" % (seed, i)), cls, target)
        plan.append((i, cls, kind, sender, rcpts, inner))

    def one(p):
        i, cls, kind, sender, rcpts, inner = p
        name = "%05d.eml" % i
        msg = build(keys, os.path.join(d, name), sender, rcpts, "corpus-%s-%d@corp.example" % (seed, i),
                    "bench %s %s #%d" % (kind, cls, i), inner)
        with open(os.path.join(d, name), "wb") as f:
            f.write(msg)
        return "\t".join([name, kind, sender, ",".join(rcpts), cls, str(len(inner)), str(len(msg))])

    with cf.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        rows = list(ex.map(one, plan))
    with open(os.path.join(d, "manifest.tsv"), "w") as f:
        f.write("\n".join(rows) + "\n")


def one(work, size, out, sender="s2048@corp.example"):
    keys = json.load(open(os.path.join(work, "keys", "keys.json")))
    # The wire form is base64 of a CMS envelope of the signed entity: about 1.37x + 3 KB
    # (OpenPGP: armor of a compressed message of base64 text, about the same).
    inner = inner_entity(random.Random(size), "1m", max(4000, int((size - 3000) / 1.37)))
    rcpt = "m1@partner-smime.example" if keys["senders"][sender]["tech"] == "smime" else "g1@partner-pgp.example"
    msg = build(keys, out, sender, [rcpt], "sweep-%d@corp.example" % size, "sweep %d" % size, inner)
    with open(out, "wb") as f:
        f.write(msg)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 3 and a[1] == "keys":
        keys(a[2])
    elif len(a) == 5 and a[1] == "gen":
        gen(a[2], int(a[3]), a[4])
    elif len(a) in (5, 6) and a[1] == "one":
        one(a[2], int(a[3]), a[4], *a[5:])
    else:
        sys.exit(__doc__)
