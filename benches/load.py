#!/usr/bin/env python3
"""SMTP helpers for benches/run.sh (Python 3 standard library only).

    load.py sink PORT_FILE LOG_FILE
        An SMTP next hop on 127.0.0.1 (after benches/smtp_memory.py's sink) that accepts
        and discards every message, and appends "<Message-ID> <bytes>" to LOG_FILE per
        message (so lost and duplicated messages can be counted). Runs until killed.
    load.py send PORT CORPUS_DIR SESSIONS COUNT TAG OUT_PREFIX
        Delivers COUNT messages over SESSIONS concurrent SMTP sessions to 127.0.0.1:PORT.
        Message k is corpus message k mod N (manifest.tsv order) with its Message-ID
        replaced by <TAG-k@bench.example> (the outer header is outside the signature), its
        envelope the manifest's sender and recipients. Each session sends transaction
        after transaction (MAIL, RCPT..., DATA) until the messages run out. Latency is per
        message, from the end of DATA (".") to the reply. Writes OUT_PREFIX.json (counts,
        elapsed, msg/s, latency percentiles, first errors) and OUT_PREFIX.ids (the
        Message-IDs accepted with 2xx, one a line).
"""

import json
import os
import re
import socket
import socketserver
import sys
import threading
import time

MSGID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.I | re.M)


class SinkHandler(socketserver.BaseRequestHandler):
    def setup(self):
        self.buf = b""
        self.request.settimeout(900)

    def recv(self):
        d = self.request.recv(1 << 20)
        if not d:
            raise EOFError
        return d

    def line(self):
        while b"\n" not in self.buf:
            self.buf += self.recv()
        l, _, self.buf = self.buf.partition(b"\n")
        return l + b"\n"

    def data(self):
        """-> (size, head): head is the first 64 KiB of the message."""
        size, head = 0, b""
        window = b"\r\n" + self.buf
        self.buf = b""
        while True:
            k = window.find(b"\r\n.\r\n")
            if k >= 0:
                if len(head) < 65536:
                    head += window[:k][: 65536 - len(head)]
                size += k
                self.buf = window[k + 5:]
                return size, head
            keep = window[-4:]
            if len(head) < 65536:
                head += window[: len(window) - 4][: 65536 - len(head)]
            size += len(window) - len(keep)
            window = keep + self.recv()

    def handle(self):
        send = self.request.sendall
        try:
            send(b"220 sink ESMTP\r\n")
            while True:
                up = self.line().upper()
                if up.startswith(b"EHLO"):
                    send(b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 1000000000\r\n")
                elif up.startswith(b"HELO"):
                    send(b"250 sink\r\n")
                elif up.startswith(b"DATA"):
                    send(b"354 go ahead\r\n")
                    n, head = self.data()
                    hend = head.find(b"\r\n\r\n")
                    m = MSGID.search(head[: hend if hend >= 0 else len(head)])
                    mid = m.group(1).decode("latin-1") if m else "<none>"
                    with self.server.lock:
                        with open(self.server.log, "a") as f:
                            f.write("%s %d\n" % (mid, n))
                    send(b"250 2.0.0 discarded\r\n")
                elif up.startswith(b"QUIT"):
                    send(b"221 bye\r\n")
                    return
                else:
                    send(b"250 ok\r\n")
        except (EOFError, OSError):
            return


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def sink(port_file, log):
    srv = Sink(("127.0.0.1", 0), SinkHandler)
    srv.lock = threading.Lock()
    srv.log = log
    open(log, "w").close()
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()


class Session:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 60)
        self.s.settimeout(900)
        self.f = self.s.makefile("rb")
        code, text = self.reply()
        if code != "220":
            raise RuntimeError("greeting: " + text)
        code, text = self.cmd(b"EHLO load.bench.example")
        if code != "250":
            raise RuntimeError("EHLO: " + text)

    def reply(self):
        out = []
        while True:
            l = self.f.readline()
            if not l:
                raise EOFError("connection closed")
            out.append(l.decode("latin-1").rstrip("\r\n"))
            if len(l) < 4 or l[3:4] != b"-":
                return out[-1][:3], " | ".join(out)

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.cmd(b"QUIT")
        except (OSError, EOFError):
            pass
        self.s.close()


def load_corpus(d):
    msgs = []
    for row in open(os.path.join(d, "manifest.tsv")):
        f = row.rstrip("\n").split("\t")
        if len(f) < 4:
            continue
        data = open(os.path.join(d, f[0]), "rb").read()
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        data = data.replace(b"\r\n.", b"\r\n..")  # dot-stuffing (RFC 5321 4.5.2)
        hend = data.index(b"\r\n\r\n")
        head, body = data[:hend + 2], data[hend + 2:]
        head = re.sub(rb"(?im)^message-id:[^\r\n]*\r\n", b"", head)
        msgs.append((f[2], f[3].split(","), head, body))
    return msgs


def send(port, corpus, sessions, count, tag, out):
    msgs = load_corpus(corpus)
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0, "refused": 0, "errors": [], "lat": [], "ids": [], "reconnects": 0}

    def take():
        with lock:
            k = state["next"]
            if k >= count:
                return None
            state["next"] = k + 1
            return k

    def worker():
        sess = None
        k = take()
        while k is not None:
            sender, rcpts, head, body = msgs[k % len(msgs)]
            mid = "<%s-%d@bench.example>" % (tag, k)
            try:
                if sess is None:
                    sess = Session(port)
                code, text = sess.cmd(b"MAIL FROM:<%s>" % sender.encode())
                if code != "250":
                    raise RuntimeError("MAIL: " + text)
                for r in rcpts:
                    code, text = sess.cmd(b"RCPT TO:<%s>" % r.encode())
                    if code != "250":
                        raise RuntimeError("RCPT: " + text)
                code, text = sess.cmd(b"DATA")
                if code != "354":
                    raise RuntimeError("DATA: " + text)
                sess.s.sendall(head + b"Message-ID: " + mid.encode() + b"\r\n" + body)
                t0 = time.monotonic()
                sess.s.sendall(b".\r\n")
                code, text = sess.reply()
                dt = time.monotonic() - t0
                with lock:
                    if code.startswith("2"):
                        state["accepted"] += 1
                        state["lat"].append(dt)
                        state["ids"].append(mid)
                    else:
                        state["refused"] += 1
                        if len(state["errors"]) < 10:
                            state["errors"].append("%s: %s" % (mid, text))
                k = take()
            except Exception as e:  # one failed transaction; reconnect and go on
                with lock:
                    state["refused"] += 1
                    state["reconnects"] += 1
                    if len(state["errors"]) < 10:
                        state["errors"].append("%s: %s: %s" % (mid, type(e).__name__, e))
                if sess is not None:
                    try:
                        sess.s.close()
                    except OSError:
                        pass
                sess = None
                k = take()
        if sess is not None:
            sess.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(sessions)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.monotonic() - t0
    lat = sorted(state["lat"])

    def pct(p):
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

    res = {"sessions": sessions, "count": count, "accepted": state["accepted"], "refused": state["refused"],
           "reconnects": state["reconnects"], "elapsed_s": elapsed,
           "msg_per_s": state["accepted"] / elapsed if elapsed else 0,
           "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "max_ms": lat[-1] * 1000 if lat else float("nan"),
           "errors": state["errors"]}
    with open(out + ".json", "w") as f:
        json.dump(res, f, indent=1)
    with open(out + ".ids", "w") as f:
        f.write("".join(i + "\n" for i in state["ids"]))
    print("  sent %d over %d sessions in %.1f s: %d accepted, %d refused (p50 %.0f ms, p99 %.0f ms)"
          % (count, sessions, elapsed, res["accepted"], res["refused"], res["p50_ms"], res["p99_ms"]),
          file=sys.stderr)
    for e in state["errors"][:3]:
        print("    " + e, file=sys.stderr)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 4 and a[1] == "sink":
        sink(a[2], a[3])
    elif len(a) == 8 and a[1] == "send":
        send(int(a[2]), a[3], int(a[4]), int(a[5]), a[6], a[7])
    else:
        sys.exit(__doc__)
