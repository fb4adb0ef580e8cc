"""A hostile HTTP/1.1 server on loopback for the hardening tests: each path is one scripted,
misbehaving answer, written byte by byte as a hostile server would (no HTTP library between
the script and the socket). Every request is recorded with its headers.

    with hostile_server() as srv:
        srv.url("/trickle-body")
        srv.requests            # [(path, {header-name-lowercase: value})]

Paths:
  /ok/N                 200, N bytes (a control)
  /trickle-body         200 with Content-Length 100000, then one byte every 0.2 s
  /trickle-headers      a status line, then one short header line every 0.2 s, forever
  /wait/S               503 with Retry-After: S (every time)
  /wait-once/S          503 with Retry-After: S the first time, then 200 with 1000 bytes
  /ratelimit/T          429 with the Hub's RateLimit header, reset in T s (every time)
  /ratelimit-once/T     the same the first time, then 200 with 1000 bytes
  /huge-length          Content-Length: 99999999999999999999, 1000 bytes, then close
  /two-lengths          Content-Length: 1000 and Content-Length: 5000, 1000 bytes, close
  /short-body           Content-Length: 5000, 1000 bytes, then close (every time)
  /big-header           one 1 MiB header line
  /many-headers         100,000 short header lines
  /redirect?to=URL      302 to URL
  /loop                 302 to itself, every time
  /ping                 302 to the peer server's /ping (srv.peer: two servers bouncing, A-B-A)
  /no-location          302 without a Location
  /range/MODE/N         a file of N bytes (byte i is i % 251) that honours Range, ETag "v1":
                          ok        the control
                          shift     every 206 starts 7 bytes after the asked start
                          nocr      every 206 comes without a Content-Range
                          shortlen  from the 2nd request: Content-Length half the range, then
                                    the whole range
                          longlen   from the 2nd request: Content-Length 1000 beyond the range,
                                    the range, then close
                          grow      the total in Content-Range grows by one on each request
                          huge      a total of 4 EiB in Content-Range (the body: the asked range)
                          negative  a total of -N
                          garbage   a total of "x"
  /garbage              random bytes instead of an answer
  /not-http             an SSH banner, then close
  /http09               a body without a status line or headers (HTTP/0.9)
  /chunked/MODE         Transfer-Encoding: chunked, broken as MODE says:
                          badhex    a chunk size of "zz"
                          huge      a chunk size of 2^80
                          cut       a chunk of 5000 announced, 1000 sent, then close
                          noend     chunks, then close without the last (0) chunk
  /rst                  the request read, then a reset (RST) before any byte
Every loop is bounded: a trickle stops when the client goes away, or after 10 minutes.
"""
import os
import re
import socket
import socketserver
import struct
import threading
import time
import urllib.parse

from serving import serving

TRICKLE_PAUSE = 0.2
TRICKLE_LIMIT_S = 600


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def read_request(self):
        line = self.rfile.readline(65536)
        if not line:
            return None, None
        parts = line.decode("latin-1").split()
        headers = {}
        while True:
            h = self.rfile.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return (parts[1] if len(parts) > 1 else "/"), headers

    def send(self, data):
        self.wfile.write(data if isinstance(data, bytes) else data.encode("latin-1"))
        self.wfile.flush()

    def reset(self):
        """Close with SO_LINGER 0: the peer gets an RST instead of a FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # the file holds the socket open: it goes first
        self.connection.close()

    def ranged(self, mode, n, headers, count):
        """The /range/MODE/N answers; False closes the connection."""
        data = file_bytes(n)
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", headers.get("range", ""))
        if not m:
            self.send(f"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nContent-Length: {n}\r\n\r\n")
            self.send(data)
            return True
        first = int(m.group(1))
        last = min(int(m.group(2)) if m.group(2) else n - 1, n - 1)
        total = {"grow": n + count - 1, "huge": 1 << 62, "negative": -n,
                 "garbage": "x"}.get(mode, n)
        shown = first + 7 if mode == "shift" else first
        body = data[shown:shown + last - first + 1]
        length = len(body)
        if count > 1:  # the lengths lie after the first answer: a range, not the probe
            length = {"shortlen": len(body) // 2, "longlen": len(body) + 1000}.get(mode, length)
        head = f"HTTP/1.1 206 Partial Content\r\nETag: \"v1\"\r\nContent-Length: {length}\r\n"
        if mode != "nocr":
            head += f"Content-Range: bytes {shown}-{shown + len(body) - 1}/{total}\r\n"
        self.send(head + "\r\n")
        self.send(body)
        return mode != "longlen" or count == 1

    def chunked(self, mode):
        self.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        self.send({"badhex": "zz\r\n" + "c" * 100 + "\r\n0\r\n\r\n",
                   "huge": "100000000000000000000\r\n" + "c" * 1000,
                   "cut": "1388\r\n" + "c" * 1000,
                   "noend": "3e8\r\n" + "c" * 1000 + "\r\n"}[mode])

    def trickle(self, pieces):
        end = time.monotonic() + TRICKLE_LIMIT_S
        try:
            for piece in pieces:
                if time.monotonic() > end:
                    return
                self.send(piece)
                time.sleep(TRICKLE_PAUSE)
        except OSError:
            return  # the client went away: the trickle ends

    def handle(self):
        while True:
            path, headers = self.read_request()
            if path is None:
                return
            srv = self.server
            with srv.lock:
                srv.requests.append((path, headers))
                srv.counts[path] = srv.counts.get(path, 0) + 1
                count = srv.counts[path]
            if not self.answer(path, headers, count):
                return

    def answer(self, path, headers, count):
        """Writes the scripted answer; False closes the connection."""
        route, _, query = path.partition("?")
        if route.startswith("/ok/"):
            n = int(route[4:])
            self.send(f"HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n")
            self.send(b"x" * n)
            return True
        if route == "/trickle-body":
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            self.trickle(b"x" for _ in range(100000))
            return False
        if route == "/trickle-headers":
            self.send("HTTP/1.1 200 OK\r\n")
            self.trickle(f"X-Slow-{i}: a\r\n" for i in range(1000000))
            return False
        if route.startswith("/wait/") or (route.startswith("/wait-once/") and count == 1):
            seconds = route.rsplit("/", 1)[1]
            self.send(f"HTTP/1.1 503 Service Unavailable\r\nRetry-After: {seconds}\r\n"
                      "Content-Length: 0\r\n\r\n")
            return True
        if route.startswith("/wait-once/"):
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "y" * 1000)
            return True
        if route.startswith("/ratelimit/") or (route.startswith("/ratelimit-once/") and count == 1):
            reset = route.rsplit("/", 1)[1]
            self.send(f"HTTP/1.1 429 Too Many Requests\r\nRateLimit: \"api\";r=0;t={reset}\r\n"
                      f"RateLimit-Policy: \"fixed window\";\"api\";q=500;w=300\r\n"
                      "Content-Length: 0\r\n\r\n")
            return True
        if route.startswith("/ratelimit-once/"):
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "y" * 1000)
            return True
        if route == "/huge-length":
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n" + "z" * 1000)
            return False
        if route == "/two-lengths":
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Length: 5000\r\n\r\n"
                      + "z" * 1000)
            return False
        if route == "/short-body":
            self.send("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + "z" * 1000)
            return False
        if route == "/big-header":
            self.send("HTTP/1.1 200 OK\r\nX-Big: " + "b" * (1 << 20) + "\r\nContent-Length: 10\r\n\r\n"
                      + "z" * 10)
            return False
        if route == "/many-headers":
            self.send("HTTP/1.1 200 OK\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(100000)) +
                      "Content-Length: 10\r\n\r\n" + "z" * 10)
            return False
        if route.startswith("/range/"):
            _, _, mode, n = route.split("/")
            return self.ranged(mode, int(n), headers, count)
        if route == "/loop":
            self.send("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")
            return True
        if route == "/ping":
            self.send(f"HTTP/1.1 302 Found\r\nLocation: {self.server.peer.url('/ping')}\r\n"
                      "Content-Length: 0\r\n\r\n")
            return True
        if route == "/no-location":
            self.send("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n")
            return True
        if route == "/garbage":
            self.send(os.urandom(4096))
            return False
        if route == "/not-http":
            self.send("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
            return False
        if route == "/http09":
            self.send("x" * 1000)
            return False
        if route.startswith("/chunked/"):
            self.chunked(route.rsplit("/", 1)[1])
            return False
        if route == "/rst":
            self.reset()
            return False
        if route == "/redirect":
            to = urllib.parse.parse_qs(query).get("to", [""])[0]
            self.send(f"HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n")
            return True
        self.send("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        return True


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.requests, self.counts = [], {}
        self.peer = self  # /ping's target: set to another server for an A-B loop

    def serve_forever(self, poll_interval=0.05):
        super().serve_forever(poll_interval)  # a quick shutdown: a server or two per test

    def handle_error(self, request, client_address):
        pass  # a client that resets or goes away is what these tests do: no traceback

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def headers_of(self, route):
        with self.lock:
            return [h for p, h in self.requests if p.partition("?")[0] == route]


def file_bytes(n):
    """The content of /range/MODE/N: byte i is i % 251 (a shift by any count under 251 shows)."""
    return (bytes(range(251)) * (n // 251 + 1))[:n]


def hostile_server():
    return serving(HostileServer())
