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
  /huge-length          Content-Length: 99999999999999999999, 1000 bytes, then close
  /two-lengths          Content-Length: 1000 and Content-Length: 5000, 1000 bytes, close
  /short-body           Content-Length: 5000, 1000 bytes, then close (every time)
  /big-header           one 1 MiB header line
  /many-headers         100,000 short header lines
  /redirect?to=URL      302 to URL
Every loop is bounded: a trickle stops when the client goes away, or after 10 minutes.
"""
import socket
import socketserver
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

    def url(self, path):
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def headers_of(self, route):
        with self.lock:
            return [h for p, h in self.requests if p.partition("?")[0] == route]


def hostile_server():
    return serving(HostileServer())
