#!/usr/bin/env python3
"""Helper for benches/smtp_memory.sh (Python 3 standard library only).

    smtp_memory.py freeport
        Prints a free TCP port on 127.0.0.1.
    smtp_memory.py gen BYTES PATH
        Writes a plain RFC 5322 message of about BYTES bytes to PATH: CRLF line ends,
        a text/plain body in base64 (76-character lines), no line starting with ".".
    smtp_memory.py sink PORT_FILE LOG_FILE
        Runs an SMTP next hop on 127.0.0.1 that accepts and discards every message.
        Writes its port to PORT_FILE, then appends one line "<bytes>" to LOG_FILE per
        message it accepted (so `wc -l LOG_FILE` counts them). Runs until killed.
    smtp_memory.py send PORT PATH N
        Sends the message in PATH N times at once (N connections from 127.0.0.1, one
        thread each) to 127.0.0.1:PORT. Prints one line per message; exits 1 if any
        message was not accepted with a 2xx reply.
"""

import base64
import os
import socket
import socketserver
import sys
import threading
import time

MAIL_FROM = "alice@example.com"
RCPT_TO = "bob@example.org"


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def gen(size, path):
    head = (
        "From: Alice <alice@example.com>\r\n"
        "To: Bob <bob@example.org>\r\n"
        "Subject: reseal memory benchmark, about %d bytes\r\n"
        "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
        "Message-ID: <bench-%d@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n" % (size, size)
    ).encode()
    # Each 57 decoded bytes become one 76-character line plus CRLF (78 bytes).
    lines = max(1, (size - len(head)) // 78)
    text = b"".join(
        b"%08d the quick brown fox jumps over the lazy dog, 0123456789\n" % i
        for i in range(4096)
    )
    block_lines = 1000
    block = 57 * block_lines
    written = 0
    i = 0
    with open(path, "wb") as f:
        f.write(head)
        while written < lines:
            n = min(block_lines, lines - written)
            start = (i * block) % (len(text) - block)
            raw = text[start:start + 57 * n]
            enc = base64.encodebytes(raw).replace(b"\n", b"\r\n")
            f.write(enc)
            written += n
            i += 1
    return path


class SinkHandler(socketserver.BaseRequestHandler):
    """One SMTP session of the next hop. Reads DATA in large chunks and scans for the
    end-of-data marker instead of line by line, so the sink keeps up with the gateway."""

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
        # The marker is CRLF "." CRLF; the CRLF that ended the DATA command counts as
        # the first CRLF, so an empty message ends at once.
        size = 0
        window = b"\r\n" + self.buf
        self.buf = b""
        while True:
            k = window.find(b"\r\n.\r\n")
            if k >= 0:
                size += k
                self.buf = window[k + 5:]
                # Less the leading CRLF, plus the message's own final CRLF.
                return size
            keep = window[-4:]
            size += len(window) - len(keep)
            window = keep + self.recv()

    def handle(self):
        send = self.request.sendall
        try:
            send(b"220 sink ESMTP\r\n")
            while True:
                l = self.line()
                up = l.upper()
                if up.startswith(b"EHLO"):
                    send(b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 1000000000\r\n")
                elif up.startswith(b"HELO"):
                    send(b"250 sink\r\n")
                elif up.startswith(b"DATA"):
                    send(b"354 go ahead\r\n")
                    n = self.data()
                    with self.server.lock:
                        with open(self.server.log, "a") as f:
                            f.write("%d\n" % n)
                    send(b"250 2.0.0 discarded\r\n")
                elif up.startswith(b"QUIT"):
                    send(b"221 bye\r\n")
                    return
                else:  # MAIL, RCPT, RSET, NOOP, ...
                    send(b"250 ok\r\n")
        except (EOFError, OSError):
            return


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def sink(port_file, log):
    srv = Sink(("127.0.0.1", 0), SinkHandler)
    srv.lock = threading.Lock()
    srv.log = log
    open(log, "w").close()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)
    srv.serve_forever()


class Client:
    def __init__(self, port):
        self.s = socket.socket()
        self.s.settimeout(900)
        self.s.bind(("127.0.0.1", 0))
        self.s.connect(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def reply(self):
        out = []
        while True:
            l = self.f.readline()
            if not l:
                raise EOFError("connection closed")
            out.append(l.decode("latin-1").rstrip("\r\n"))
            if len(l) < 4 or l[3:4] != b"-":
                return out[-1][:3], "\n".join(out)

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()


def send_one(port, path, size, barrier, results, idx):
    t0 = time.monotonic()
    try:
        c = Client(port)
        code, text = c.reply()
        if code != "220":
            raise RuntimeError("greeting: " + text)
        code, text = c.cmd("EHLO bench.example")
        if code != "250":
            raise RuntimeError("EHLO: " + text)
        code, text = c.cmd("MAIL FROM:<%s> SIZE=%d" % (MAIL_FROM, size))
        if code != "250":
            raise RuntimeError("MAIL: " + text)
        code, text = c.cmd("RCPT TO:<%s>" % RCPT_TO)
        if code != "250":
            raise RuntimeError("RCPT: " + text)
        barrier.wait()
        t0 = time.monotonic()
        code, text = c.cmd("DATA")
        if code != "354":
            raise RuntimeError("DATA: " + text)
        # The file is already in wire form (CRLF, no line starts with "."), so it goes
        # out as it is, without a copy in this process.
        with open(path, "rb") as f:
            c.s.sendfile(f)
        c.s.sendall(b".\r\n")
        code, text = c.reply()
        try:
            c.cmd("QUIT")
        except (OSError, EOFError):
            pass
        c.s.close()
        results[idx] = (code.startswith("2"), time.monotonic() - t0, text.replace("\n", " | "))
    except Exception as e:  # report, do not hang the others
        barrier.abort()
        results[idx] = (False, time.monotonic() - t0, "%s: %s" % (type(e).__name__, e))


def send(port, path, n):
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\r\n") or b"\r\n." in data or data.startswith(b"."):
        sys.exit("the message must be in wire form (CRLF, no dot-stuffing needed)")
    del data
    barrier = threading.Barrier(n)
    results = [None] * n
    ts = [threading.Thread(target=send_one, args=(port, path, size, barrier, results, i))
          for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = True
    for i, (good, secs, text) in enumerate(results):
        print("  message %d: %s in %.1f s: %s" % (i + 1, "accepted" if good else "NOT accepted", secs, text))
        ok = ok and good
    sys.exit(0 if ok else 1)


def main(argv):
    if len(argv) >= 2 and argv[1] == "freeport":
        freeport()
    elif len(argv) == 4 and argv[1] == "gen":
        gen(int(argv[2]), argv[3])
    elif len(argv) == 4 and argv[1] == "sink":
        sink(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "send":
        send(int(argv[2]), argv[3], int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
