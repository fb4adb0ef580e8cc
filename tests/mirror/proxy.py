"""An HTTPS proxy for tests (CONNECT), standard library only: a plain tunnel, or one that
intercepts TLS the way a P2P daemon on a node does (Dragonfly's dfdaemon as the nodes'
HTTPS_PROXY): it presents a certificate of its own CA for the host asked for, reads the
requests, and forwards them over its own TLS connection. Every CONNECT target and, when
intercepting, every request line is recorded. HTTP/1.1 only (it offers no other by ALPN)."""
import socket
import ssl
import threading


class Proxy:
    def __init__(self, upstream_ca, intercept_cert=None, intercept_key=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.connects, self.requests = [], []
        self.upstream = ssl.create_default_context(cafile=upstream_ca)
        self.upstream.set_alpn_protocols(["http/1.1"])
        self.intercept = None
        if intercept_cert:
            self.intercept = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.intercept.load_cert_chain(intercept_cert, intercept_key)
            self.intercept.set_alpn_protocols(["http/1.1"])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                piece = conn.recv(4096)
                if not piece:
                    return
                head += piece
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) < 2 or line[0] != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = line[1].rsplit(":", 1)
            self.connects.append(line[1])
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if self.intercept:
                try:
                    conn = self.intercept.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client did not trust our certificate: nothing is forwarded
                upstream = self.upstream.wrap_socket(upstream, server_hostname=host.strip("[]"))
            self._relay(conn, upstream)
        except OSError:
            pass
        finally:
            conn.close()

    def _relay(self, client, upstream):
        def pump(src, dst, record):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if record and self.intercept:
                        for l in data.split(b"\r\n"):
                            if l.startswith((b"GET ", b"HEAD ", b"PURGE ")):
                                self.requests.append(l.decode("latin-1"))
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        back = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
        back.start()
        pump(client, upstream, True)
        back.join(30)
        upstream.close()

    def close(self):
        self._closed = True
        self.sock.close()
