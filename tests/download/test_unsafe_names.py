"""A file name from the server with `..`, an absolute path or a drive letter is refused (exit 10)
before anything is written. The local hub refuses such names in commits, so a small fake hub
(HTTPS with the local hub's server certificate, loopback, one thread per request) serves a tree
that contains one."""
import hashlib
import http.server
import json
import os
import ssl
import threading
from contextlib import contextmanager

import pytest

from dlhelpers import ferry_env, run_download

COMMIT = "1" * 40
GOOD = b"good file\n"
EXIT_PROTOCOL = 10


class FakeHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_dir, bad_path):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls_dir, "server.pem"), os.path.join(tls_dir, "server.key"))
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.bad_path = bad_path
        self.requests = []
        self.endpoint = f"https://127.0.0.1:{self.server_address[1]}"


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, value):
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.requests.append(self.path)
        good_oid = hashlib.sha1(b"blob %d\0" % len(GOOD) + GOOD).hexdigest()
        if self.path.startswith("/api/models/evil/repo/revision/"):
            self.send_json({"id": "evil/repo", "sha": COMMIT, "siblings": [
                {"rfilename": "good.txt"}, {"rfilename": self.server.bad_path}]})
        elif self.path.startswith("/api/models/evil/repo/tree/"):
            self.send_json([
                {"type": "file", "path": "good.txt", "oid": good_oid, "size": len(GOOD)},
                {"type": "file", "path": self.server.bad_path, "oid": good_oid,
                 "size": len(GOOD)}])
        elif "/resolve/" in self.path:
            self.send_response(200)
            self.send_header("ETag", f'"{good_oid}"')
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@contextmanager
def fake_hub(hub, path):
    fake = FakeHub(os.path.join(hub.dir, "tls"), path)
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.shutdown()
        fake.server_close()
        thread.join(10)


@pytest.mark.parametrize("bad_path", ["../escape.txt", "sub/../../escape.txt", "/tmp/abs.txt",
                                      "C:/drive.txt"])
def test_unsafe_file_name_is_refused(hub, tmp_path, bad_path):
    """(test_the_fake_hub_works shows the same fake with a safe name succeeds)"""
    with fake_hub(hub, bad_path) as fake:
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint})
        cache = tmp_path / "deep" / "er" / "cache"
        local = tmp_path / "deep" / "er" / "local"
        for where in (["--cache-dir", cache], ["--local-dir", local]):
            r = run_download(["evil/repo", *where, "--cacert", hub.ca], env, timeout=30)
            assert r.returncode == EXIT_PROTOCOL, r.describe()
            assert not any("escape" in str(p) or "abs.txt" in str(p) or "drive" in str(p)
                           for p in tmp_path.rglob("*")), sorted(tmp_path.rglob("*"))
            if bad_path == "/tmp/abs.txt":
                assert not os.path.exists(bad_path)
            assert not any("escape" in p or "abs" in p or "drive" in p
                           for p in fake.requests if "/resolve/" in p), fake.requests


def test_the_fake_hub_works(hub, tmp_path):
    """The control: the same fake hub with a safe nested name downloads fine."""
    with fake_hub(hub, "sub/fine.txt") as fake:
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint})
        r = run_download(["evil/repo", "--cache-dir", tmp_path / "cache", "--cacert", hub.ca,
                          "-q"], env, timeout=30)
        assert r.returncode == 0, r.describe()
        snap = r.stdout.strip()
        assert snap == str(tmp_path / "cache" / "models--evil--repo" / "snapshots" / COMMIT)
        with open(os.path.join(snap, "sub", "fine.txt"), "rb") as f:
            assert f.read() == GOOD
