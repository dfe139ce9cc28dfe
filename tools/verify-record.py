#!/usr/bin/python3
"""An independent verifier of the Reseal modification record.

A second implementation of docs/modification-record.md §4, steps 2 to 8, written from
the specification alone: Python's standard library, plus `openssl` and `gpg` for every
signature. It does not decrypt and does not check the outer signature (step 1): do that
with openssl or gpg, and give it what they decrypted.

    verify-record.py --message DELIVERED.eml [--decrypted PLAINTEXT]
                     --opes-cert IDENTITY [--ca CA.pem ...] [--sender-pgp KEY.asc ...]
                     [--write-original OUT.eml] [--json]

--message     the delivered message as received (its header is the delivered header).
--decrypted   for an encrypted message, its plaintext, as `openssl cms -decrypt` or
              `gpg --decrypt` print it. Without it, the message itself is the content.
--opes-cert   the gateway's identity, as `reseal keys export-identity` writes it (a PEM
              certificate, or a CA that issued it, and/or an armored OpenPGP key).
--ca          S/MIME trust anchors for the sender's original signature.
--sender-pgp  OpenPGP certificates of senders, for the original signature.
--write-original  where to write the rebuilt original message.

Exit status: 0 when every check passes, 1 when one fails, 2 on a usage error.
"""

import argparse
import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

CRLF = b"\r\n"


class Failed(Exception):
    """A check failed; the message says which and why."""


def digest(data):
    return "sha-256:" + base64.b64encode(hashlib.sha256(data).digest()).decode()


# --- Header fields and MIME (just what the record needs) ------------------------------


def split_header(entity):
    """(header block including its last CRLF, body) at the first empty line."""
    if entity.startswith(CRLF):
        return b"", entity[2:]
    end = entity.find(CRLF + CRLF)
    if end < 0:
        raise Failed("no empty line ends the header")
    return entity[: end + 2], entity[end + 4 :]


def fields(header):
    """The header block's fields, each as its bytes (folds and final CRLF included)."""
    out = []
    for line in header.split(CRLF)[:-1]:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line + CRLF
        else:
            out.append(line + CRLF)
    return out


def name(field):
    return field.split(b":", 1)[0].strip().lower().decode("ascii", "replace")


def value(field):
    return field.split(b":", 1)[1] if b":" in field else b""


def content_type(header):
    """The media type (lower case) of a header block's Content-Type, and its boundary."""
    ctype = b"".join(value(f) for f in fields(header) if name(f) == "content-type")
    ctype = re.sub(rb"\r\n[ \t]", b" ", ctype)
    m = re.search(rb';\s*boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', ctype, re.I)
    return ctype.split(b";")[0].strip().lower(), (m and (m.group(1) or m.group(2)))


def boundary(header):
    """The boundary of a multipart/signed header, or None for any other content."""
    kind, bnd = content_type(header)
    if kind != b"multipart/signed":
        return None
    if not bnd:
        raise Failed("multipart/signed without a boundary")
    return bnd


def multipart(body, bnd):
    """(preamble, parts, epilogue) of a multipart body (RFC 2046 §5.1.1)."""
    delim = CRLF + b"--" + bnd
    pieces = (CRLF + body).split(delim)
    out = []
    for i, piece in enumerate(pieces[1:], 1):
        if piece.startswith(b"--"):  # the close delimiter; the rest is the epilogue
            return pieces[0][2:], out, delim.join([piece[2:]] + pieces[i + 1 :])
        if CRLF not in piece:
            break
        out.append(piece[piece.index(CRLF) + 2 :])  # after the delimiter line
    raise Failed("a multipart without its closing boundary")


# --- §3.1 Lines and recipes ------------------------------------------------------------


def apply_recipe(steps, source):
    lines = source.split(CRLF)
    out = []
    for step in steps:
        if set(step) == {"c"} and len(step["c"]) == 2:
            s, e = step["c"]
            if not (isinstance(s, int) and isinstance(e, int) and 1 <= s <= e <= len(lines)):
                raise Failed(f"recipe step {step} is out of range (source has {len(lines)} lines)")
            out.extend(lines[s - 1 : e])
        elif set(step) == {"d"} and all(isinstance(x, str) for x in step["d"]):
            out.extend(x.encode("utf-8") for x in step["d"])
        else:
            raise Failed(f"recipe step {step} is neither c nor d")
    return CRLF.join(out)


# --- §3.3 The frame around the original entity ------------------------------------------


def crc24(data):
    """RFC 9580 §6.1."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ (0x1864CFB if crc & 0x800000 else 0)
    return crc & 0xFFFFFF


def armor(packets):
    b64 = base64.b64encode(packets)
    lines = [b"-----BEGIN PGP MESSAGE-----", b""]
    lines += [b64[i : i + 64] for i in range(0, len(b64), 64)]
    lines.append(b"=" + base64.b64encode(crc24(packets).to_bytes(3, "big")))
    lines.append(b"-----END PGP MESSAGE-----")
    return CRLF.join(lines) + CRLF


def frame(frm, entity):
    s = entity if frm.get("content", "entity") == "entity" else split_header(entity)[1]
    if frm.get("line_ends", "crlf") == "lf":
        s = s.replace(CRLF, b"\n")
    p = base64.b64decode(frm["prefix"], validate=True) + s
    p += base64.b64decode(frm["suffix"], validate=True)
    return armor(p) if frm.get("armor") == "message" else p


# --- §2 The record document ---------------------------------------------------------------

MEMBERS = {
    "": {"v", "system", "id", "time", "policy", "technology", "original", "delivered",
         "changes", "recipe"},
    "original": {"digest", "entity_digest", "header_digest", "signature"},
    "delivered": {"entity_digest", "parts", "header_digest"},
    "recipe": {"h", "b"},
}


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Failed(f"record: repeats a member: {keys}")
    return dict(pairs)


def parse_record(raw):
    try:
        doc = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise Failed(f"record: not UTF-8 JSON: {e}") from None
    if not isinstance(doc, dict):
        raise Failed("record: not a JSON object")
    for where, want in MEMBERS.items():
        obj = doc.get(where) if where else doc
        if not isinstance(obj, dict):
            raise Failed(f"record: member {where} is not an object")
        have = set(obj) - ({"signature_lost"} if where == "original" else set())
        if have != want:
            raise Failed(f"record: {where or 'document'} has members {sorted(have)}, not {sorted(want)}")
    if doc["v"] != 1 or doc["technology"] not in ("smime", "openpgp"):
        raise Failed("record: version or technology unknown")
    return doc


# --- signatures, by openssl and gpg -------------------------------------------------------


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, env=env, check=False)


def pem_part(data):
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\s*", data, re.S)
    return b"".join(blocks)


def pgp_part(data):
    m = re.search(rb"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", data, re.S)
    return m.group(0) if m else b""


def gpg_verify(tmp, keys, sig_path, data_path=None):
    """gpg --verify in a throwaway home that knows only `keys`; returns (ok, why)."""
    home = tempfile.mkdtemp(dir=tmp)
    env = dict(os.environ, GNUPGHOME=home)
    try:
        for k in keys:
            path = os.path.join(tmp, "key.asc")
            with open(path, "wb") as f:
                f.write(k)
            run(["gpg", "--batch", "--import", path], env)
        cmd = ["gpg", "--batch", "--status-fd", "1", "--verify", sig_path]
        out = run(cmd + ([data_path] if data_path else []), env)
    finally:
        run(["gpgconf", "--kill", "all"], env)
    status = out.stdout.decode("utf-8", "replace")
    if out.returncode == 0 and "[GNUPG:] VALIDSIG " in status and "BADSIG" not in status:
        return True, ""
    lines = (out.stderr.decode("utf-8", "replace").strip() or status.strip()).splitlines()
    return False, "gpg: " + (lines[-1] if lines else f"exit status {out.returncode}")


def openssl_verify(tmp, anchors, args):
    ca = os.path.join(tmp, "anchors.pem")
    with open(ca, "wb") as f:
        f.write(anchors)
    out = run(["openssl", "cms", "-verify", "-CAfile", ca, "-out", os.devnull] + args)
    if out.returncode == 0:
        return True, ""
    lines = out.stderr.decode("utf-8", "replace").strip().splitlines()
    return False, "openssl: " + (lines[0] if lines else f"exit status {out.returncode}")


def record_signature_ok(tmp, identity, technology, record, sig):
    rec, sig_path = os.path.join(tmp, "record.json"), os.path.join(tmp, "record.sig")
    with open(rec, "wb") as f:
        f.write(record)
    with open(sig_path, "wb") as f:
        f.write(sig)
    if technology == "smime":
        if not pem_part(identity):
            return False, "no X.509 identity given"
        return openssl_verify(tmp, pem_part(identity),
                              ["-purpose", "any", "-binary", "-inform", "DER", "-in", sig_path,
                               "-content", rec])
    if not pgp_part(identity):
        return False, "no OpenPGP identity given"
    return gpg_verify(tmp, [pgp_part(identity)], sig_path, rec)


def original_signature_ok(tmp, args, technology, original):
    """Verifies the sender's signature over the rebuilt original; None: no key given."""
    path = os.path.join(tmp, "original.eml")
    with open(path, "wb") as f:
        f.write(original)
    if technology == "smime":
        anchors = pem_part(b"".join(open(p, "rb").read() + b"\n" for p in args.ca))
        return openssl_verify(tmp, anchors, ["-purpose", "smimesign", "-in", path]) if anchors else None
    keys = [open(p, "rb").read() for p in args.sender_pgp]
    if not keys:
        return None
    header, body = split_header(original)
    bnd = boundary(header)
    if bnd is None:  # inline: the body is clearsigned text or an armored message
        return gpg_verify(tmp, keys, path)
    first, second = multipart(body, bnd)[1][:2]
    data, sig = os.path.join(tmp, "signed-part"), os.path.join(tmp, "signature.asc")
    with open(data, "wb") as f:
        f.write(first)  # as it stands: no line-end conversion (§3.3 "LF line ends")
    with open(sig, "wb") as f:
        f.write(split_header(second)[1])
    return gpg_verify(tmp, keys, sig, data)


# --- §3.2 The gateway's Received field ------------------------------------------------------

DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[^\[\]\s\\]+\])"
GW_RECEIVED = re.compile(
    r"Received: by " + HOST + r" \(Reseal [A-Za-z0-9.+-]+\) id (?P<id>[A-Za-z0-9]+)"
    r"(?:\r\n\tfor <[^<>\s]+@[^<>\s]+>)?;\r\n\t"
    r"(?P<date>" + DAY + r", [0-9]{1,2} " + MONTH + r" [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}) \+0000\r\n"
)


def rfc3339(text):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not m:
        raise Failed(f"trace: the record's time {text!r} is not RFC 3339")
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")


def gateway_received(outer_fields, doc, problems):
    """The index of the gateway's Received field (None if there is none), checked as
    §3.2 says; what fails goes to `problems`."""
    rid = doc["id"]
    mine = [i for i, f in enumerate(outer_fields) if name(f) == "received"
            and b"(Reseal " in f and b" id " + rid.encode() in f]
    if not mine:
        problems.append(f"trace: no gateway Received field with id {rid}")
        return None
    at = mine[0]
    m = GW_RECEIVED.fullmatch(outer_fields[at].decode("ascii", "replace"))
    if not m or m.group("id") != rid:
        problems.append("trace: the gateway's Received field is not as the gateway writes it")
    else:
        date = datetime.datetime.strptime(m.group("date") + " +0000", "%a, %d %b %Y %H:%M:%S %z")
        time = rfc3339(doc["time"])
        if not time - datetime.timedelta(hours=1) <= date <= time + datetime.timedelta(minutes=1):
            problems.append(f"trace: the Received date {m.group('date')} is too far from {doc['time']}")
    if len(mine) > 1:
        problems.append(f"trace: {len(mine)} Received fields carry the gateway's id {rid}")
    return at


# --- §3.4 What the record does not cover (step 8) ---------------------------------------

ALLOWED_ABOVE = {"received", "return-path", "delivered-to", "x-original-to", "dkim-signature",
                 "arc-seal", "arc-message-signature", "arc-authentication-results",
                 "authentication-results", "received-spf"}
SINGLE = {"date", "from", "sender", "reply-to", "to", "cc", "bcc", "message-id", "in-reply-to",
          "references", "subject"}
NOTES = [b"This is an S/MIME signed message", b"This is an OpenPGP/MIME signed message (RFC 3156)",
         b"This is an OpenPGP/MIME encrypted message (RFC 3156)"]


def header_checks(message, trace_at):
    """Step 8: the problems it finds; none of them makes the record invalid."""
    header, body = split_header(message)
    outer_fields = fields(header)
    problems = []
    for f in outer_fields[: trace_at or 0]:
        if name(f) not in ALLOWED_ABOVE:
            problems.append(f"header: {name(f)} stands above the gateway's Received field")
    names = [name(f) for f in outer_fields]
    for n in sorted(SINGLE):
        if names.count(n) > 1:
            problems.append(f"header: {n} appears {names.count(n)} times")
    kind, bnd = content_type(header)
    if kind in (b"multipart/signed", b"multipart/encrypted") and bnd:
        preamble, _, epilogue = multipart(body, bnd)
        if preamble.strip() not in [b""] + NOTES or epilogue.strip():
            problems.append("wrapper: text was added around the gateway's wrapper")
    return problems


# --- §4 Verification procedure ----------------------------------------------------------------


def verify(args, tmp, report):
    message = open(args.message, "rb").read()
    outer_header, outer_body = split_header(message)
    outer_fields = fields(outer_header)
    # Step 1 is the caller's: the content is the decrypted plaintext or the message itself.
    if args.decrypted:
        content_header, content_body = split_header(open(args.decrypted, "rb").read())
    else:
        content_header = b"".join(f for f in outer_fields if name(f).startswith("content-"))
        content_body = outer_body
    bnd = boundary(content_header)
    if bnd is None:  # signed inside the encryption: the plaintext is the delivered entity
        delivered = content_header + CRLF + content_body
    else:
        delivered = multipart(content_body, bnd)[1][0]

    # Step 2: exactly one OPES-Record and OPES-Record-Signature, at the top.
    d_header, d_body = split_header(delivered)
    d_fields = fields(d_header)
    names = [name(f) for f in d_fields]
    if "opes-record" not in names and "opes-record-signature" not in names:
        raise Failed("record: the delivered entity carries no modification record")
    report["record"]["present"] = True
    if names[:2] != ["opes-record", "opes-record-signature"] or \
            names.count("opes-record") != 1 or names.count("opes-record-signature") != 1:
        raise Failed("record: OPES-Record, then OPES-Record-Signature, must each appear once, at the top")
    b64 = {names[i]: re.sub(rb"\s", b"", value(d_fields[i])) for i in (0, 1)}
    try:
        raw = base64.b64decode(b64["opes-record"], validate=True)
        sig = base64.b64decode(b64["opes-record-signature"], validate=True)
    except binascii.Error as e:
        raise Failed(f"record: not base64: {e}") from None
    covered = b"".join(d_fields[2:]) + CRLF + d_body
    doc = parse_record(raw)
    report["record"].update(id=doc["id"], system=doc["system"], technology=doc["technology"],
                            changes=doc["changes"])
    report["original"]["digest"] = doc["original"]["digest"]

    # Step 3: the record's signature, by the gateway's OPES identity.
    problems = report["problems"]
    ok, why = record_signature_ok(tmp, args.identity, doc["technology"], raw, sig)
    report["record"]["signature_valid"] = ok
    if not ok:
        problems.append(f"record signature: {why}")

    # Step 4: binding to the covered entity, the delivered header and the trace.
    bound = True
    if digest(covered) != doc["delivered"]["entity_digest"]:
        changed = [sec for sec, dig in doc["delivered"]["parts"]
                   if part_digest(covered, sec) != dig]
        problems.append("record binding: the delivered entity changed "
                        f"(at {', '.join('body:' + c for c in changed) or 'entity'})")
        bound = False
    before = len(problems)
    at = gateway_received(outer_fields, doc, problems)
    traced = len(problems) == before
    if at is None:
        return
    report["trace_at"] = at
    header_block = b"".join(f for f in outer_fields[at + 1 :]
                            if not name(f).startswith("content-") and name(f) != "mime-version")
    if digest(header_block) != doc["delivered"]["header_digest"]:
        problems.append("record binding: the delivered header block changed (at header)")
        bound = False
    report["record"]["binding_valid"] = bound and traced
    if not (ok and bound and traced):
        return
    report["record"]["valid"] = True

    # Steps 5 and 7: rebuild the original, or report the commitment.
    orig = doc["original"]
    report["original"]["signed"] = orig["signature"] is not None or "signature_lost" in orig
    if doc["recipe"]["h"] is None or doc["recipe"]["b"] is None:
        report["original"]["reason"] = "an irreversible change: the record commits to the digest"
    else:
        o_header = apply_recipe(doc["recipe"]["h"], header_block)
        if digest(o_header) != orig["header_digest"]:
            raise Failed("original: the rebuilt header block does not match header_digest")
        o_entity = apply_recipe(doc["recipe"]["b"], covered)
        if digest(o_entity) != orig["entity_digest"]:
            raise Failed("original: the rebuilt entity does not match entity_digest")
        if orig["signature"] is not None:
            original = o_header + CRLF + frame(orig["signature"]["frame"], o_entity)
        else:
            original = o_header + CRLF + split_header(o_entity)[1]
        if digest(original) != orig["digest"]:
            raise Failed("original: the rebuilt message does not match original.digest")
        report["original"]["reconstructible"] = True
        if args.write_original:
            with open(args.write_original, "wb") as f:
                f.write(original)
        # Step 6: the sender's signature over the rebuilt original.
        if orig["signature"] is not None:
            result = original_signature_ok(tmp, args, orig["signature"]["technology"], original)
            if result is None:
                report["warnings"].append("original: no --ca / --sender-pgp; signature not checked")
            elif not result[0]:
                raise Failed(f"original signature: {result[1]}")
            else:
                report["original"]["valid"] = True
    if "signature_lost" in orig:
        raise Failed(f"original signature: lost ({orig['signature_lost'].get('reason')})")


def part_digest(entity, section):
    """The digest of an IMAP-style section ("1", "2.1") of a MIME entity, or None."""
    try:
        for number in section.split("."):
            kind, bnd = content_type(split_header(entity)[0])
            if kind.startswith(b"multipart/") and bnd:
                entity = multipart(split_header(entity)[1], bnd)[1][int(number) - 1]
            elif number != "1":  # part 1 of a single-part entity is the entity itself
                return None
    except (Failed, IndexError, ValueError):
        return None
    return digest(entity)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--message", required=True)
    p.add_argument("--decrypted")
    p.add_argument("--opes-cert", required=True, action="append")
    p.add_argument("--ca", action="append", default=[])
    p.add_argument("--sender-pgp", action="append", default=[])
    p.add_argument("--write-original")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    args.identity = b"".join(open(i, "rb").read() + b"\n" for i in args.opes_cert)
    report = {
        "record": {"present": False, "valid": False, "signature_valid": False,
                   "binding_valid": False, "id": None, "system": None, "technology": None,
                   "changes": []},
        "original": {"reconstructible": False, "digest": None, "signed": False,
                     "valid": False, "reason": None},
        "verdict": "fail", "problems": [], "warnings": [],
    }
    with tempfile.TemporaryDirectory(prefix="verify-record-") as tmp:
        try:
            verify(args, tmp, report)
        except Failed as e:
            report["problems"].append(str(e))
            if report["original"]["reason"] is None and str(e).startswith("original"):
                report["original"]["reason"] = str(e)
        try:
            report["problems"] += header_checks(open(args.message, "rb").read(),
                                                report.pop("trace_at", None))
        except Failed as e:
            report["problems"].append(f"header: {e}")
        report["verdict"] = "fail" if report["problems"] else "pass"
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for k in ("record", "original"):
            print(f"{k}: " + ", ".join(f"{n}={v}" for n, v in report[k].items() if n != "changes"))
        for w in report["warnings"]:
            print(f"warning: {w}")
        for pr in report["problems"]:
            print(f"FAILED {pr}")
        print(f"verdict: {report['verdict']}")
    return 0 if report["verdict"] == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
