#!/usr/bin/env python3
"""The crypto floor for benches/run.sh (Python 3 standard library; runs `openssl speed`).

    floor.py WORK SECONDS
        Times, with `openssl speed -mr` (one core), the primitives a corpus message needs
        and writes WORK/floor.json: per primitive the time per operation or per byte, and
        per manifest message the sum of its primitives (microseconds):
          S/MIME:  RSA private op (the key transport to the sender's key) + signature
                   verify (RSA public op or ECDSA P-256) + sign (RSA private op or ECDSA
                   P-256) + one RSA public op per recipient + AES-256-GCM over the
                   incoming envelope + AES-256-CBC over the outgoing one + SHA-256 twice
                   over the signed entity (verify, sign).
          OpenPGP: X25519 (or RSA-3072 private op) for the session key + Ed25519 (or
                   RSA-3072) verify + sign + per recipient X25519 twice (ephemeral key and
                   agreement) or an RSA-3072 public op + AES-256 (CBC speed stands in for
                   CFB) twice over the literal data + SHA-256 twice + SHA-1 twice (MDC).
        Base64, MIME, ASN.1, armour and compression are not in the floor.
"""

import json
import os
import subprocess
import sys


def speed(args, seconds):
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds)] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    return [l for l in out.splitlines() if l.startswith("+F")]


def main(work, seconds):
    us = {}  # microseconds per op
    for l in speed(["rsa2048", "rsa3072"], seconds):
        f = l.split(":")  # +F2:n:bits:sign/s:verify/s
        us["rsa%s_priv" % f[2]] = 1e6 / float(f[3])
        us["rsa%s_pub" % f[2]] = 1e6 / float(f[4])
    for l in speed(["ecdsap256"], seconds):
        f = l.split(":")  # +F4:n:bits:sign/s:verify/s
        us["p256_sign"] = 1e6 / float(f[3])
        us["p256_verify"] = 1e6 / float(f[4])
    for l in speed(["ecdhx25519"], seconds):
        f = l.split(":")  # +F5:n:bits:op/s:s/op
        us["x25519"] = 1e6 / float(f[3])
    for l in speed(["ed25519"], seconds):
        f = l.split(":")  # +F6:n:bits:name:sign/s:verify/s
        us["ed25519_sign"] = 1e6 / float(f[4])
        us["ed25519_verify"] = 1e6 / float(f[5])
    per_byte = {}
    for name, args in (("aes-256-gcm", ["-evp", "aes-256-gcm"]), ("aes-256-cbc", ["-evp", "aes-256-cbc"]),
                       ("sha256", ["sha256"]), ("sha1", ["sha1"])):
        for l in speed(["-bytes", "16384"] + args, seconds):
            f = l.split(":")  # +F:n:name:bytes/s
            per_byte[name] = 1e6 / float(f[3])
    keys = json.load(open(os.path.join(work, "keys", "keys.json")))

    def pub(alg):
        return us["x25519"] * 2 if alg == "x25519" else us[alg + "_pub"]

    msgs = []
    for row in open(os.path.join(work, "corpus", "manifest.tsv")):
        f = row.rstrip("\n").split("\t")
        if len(f) < 7:
            continue
        name, kind, sender, rcpts, cls, inner, wire = f[0], f[1], f[2], f[3].split(","), f[4], int(f[5]), int(f[6])
        s = keys["senders"][sender]
        sig, dec = s["sign_alg"], s["decrypt_alg"]
        if s["tech"] == "smime":
            pk = us[dec + "_priv"]
            sv = (us["p256_sign"], us["p256_verify"]) if sig == "p256" else (us[sig + "_priv"], us[sig + "_pub"])
            sym = inner * (per_byte["aes-256-gcm"] + per_byte["aes-256-cbc"] + 2 * per_byte["sha256"])
        else:
            pk = us["x25519"] if dec == "x25519" else us[dec + "_priv"]
            sv = ((us["ed25519_sign"], us["ed25519_verify"]) if sig == "ed25519"
                  else (us[sig + "_priv"], us[sig + "_pub"]))
            sym = inner * (2 * per_byte["aes-256-cbc"] + 2 * per_byte["sha256"] + 2 * per_byte["sha1"])
        enc = sum(pub(keys["recipients"][r]["alg"]) for r in rcpts)
        msgs.append({"file": name, "kind": kind, "class": cls, "rcpts": len(rcpts),
                     "pubkey_us": pk + sv[0] + sv[1] + enc, "sym_us": sym, "floor_us": pk + sv[0] + sv[1] + enc + sym})
    out = {"us_per_op": us, "us_per_byte": per_byte, "messages": msgs,
           "mean_floor_us": sum(m["floor_us"] for m in msgs) / len(msgs)}
    json.dump(out, open(os.path.join(work, "floor.json"), "w"), indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
