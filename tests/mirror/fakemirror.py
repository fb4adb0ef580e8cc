"""A scripted stand-in for a cache tier, for what the real one (deploy/mirror) cannot be made to
do on purpose: answer 404 to everything, serve the right bytes under its own ETag slowly, or
accept connections and never answer. Every request's method, path and Authorization header is
recorded. HTTPS with the local hub's certificate (so ferry trusts it with the hub's CA)."""
import http.server
import re
import socket
import ssl
import threading
import time


class Mirror(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cert, key, files=None, rate=0):
        """files: {request path: bytes} served (206 to a Range) under ETag "mirror-<n>"; any
        other path is 404. rate: bytes per second per response (0: no limit)."""
        super().__init__(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.files = files or {}
        self.rate = rate
        self.seen = []  # (method, path, Authorization or None)
        self.url = "https://127.0.0.1:%d" % self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        path = self.path.split("?", 1)[0]
        srv.seen.append(("GET", path, self.headers.get("Authorization")))
        body = srv.files.get(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = 0, len(body) - 1
        m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)), end) if m.group(2) else end
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, len(body)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", '"mirror-%d"' % len(body))
        self.end_headers()
        at = start
        try:
            while at <= end:
                piece = body[at:min(at + 16384, end + 1)]
                self.wfile.write(piece)
                at += len(piece)
                if srv.rate:
                    time.sleep(len(piece) / srv.rate)
        except OSError:
            pass

    def do_PURGE(self):
        self.server.seen.append(("PURGE", self.path, self.headers.get("Authorization")))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()


class SilentMirror:
    """Accepts TCP connections and never says a word (not even TLS's): a tier that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "https://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.held = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()
