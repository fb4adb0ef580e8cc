"""A server that ignores `Accept-Encoding: identity` and Range and sends the file gzipped:
ferry must decode it and hash and write the decoded bytes, never the compressed ones.
A tiny server of the test's own (standard library, loopback, bounded) plays that server."""
import gzip
import hashlib
import http.server
import os
import threading

import pytest

from ferrytest import MiB, sha256_file
from helpers import EXIT_OK, run_ferry


class GzipEverything(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = b""
    seen = []

    def do_GET(self):
        GzipEverything.seen.append((self.headers.get("Range"), self.headers.get("Accept-Encoding")))
        packed = gzip.compress(GzipEverything.body)
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(packed)))
        self.end_headers()
        self.wfile.write(packed)

    def log_message(self, *args):
        pass


@pytest.fixture
def gzip_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GzipEverything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_content_encoded_whole_file_is_decoded(gzip_server, tmp_path):
    # Compressible but not trivial: repeated random lines.
    rnd = os.urandom(64 * 1024).hex().encode()
    GzipEverything.body = (rnd + b"\n") * 24  # about 3 MiB decoded
    GzipEverything.seen = []
    want = hashlib.sha256(GzipEverything.body).hexdigest()
    out = tmp_path / "decoded.bin"
    r = run_ferry(["get", f"{gzip_server}/model.bin", "-o", out, "--json", "--sha256", want])
    assert r.returncode == EXIT_OK, r.describe()
    assert out.read_bytes() == GzipEverything.body
    assert sha256_file(out) == want
    summary = r.json
    assert summary["bytes"] == len(GzipEverything.body)
    assert summary["files"][0]["verified"] is True
    # ferry asked for a range and for identity; the server ignored both.
    assert GzipEverything.seen[0][0] is not None
    assert GzipEverything.seen[0][1] == "identity"
    assert not os.path.exists(f"{out}.part")


def test_content_encoded_file_with_wrong_expected_size_fails(gzip_server, tmp_path):
    GzipEverything.body = b"abc" * MiB
    out = tmp_path / "sized.bin"
    r = run_ferry(["get", f"{gzip_server}/model.bin", "-o", out, "--size", str(3 * MiB + 1)])
    assert r.returncode != EXIT_OK, r.describe()
    assert not out.exists()
