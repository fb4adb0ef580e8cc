"""A small fake hub, for the three things the local hub (tests/hub) cannot be made to do by its
knobs (hubapp/knobs.py) or its API; all other download tests use the local hub.

- Serve a tree with names the local hub refuses: its commit route rejects a path with an
  empty, `.` or `..` segment (so `../x`, `a/../../x`, `/tmp/x`; hubapp/routes_write.py).
  test_unsafe_names.py serves its fourth name, `C:/x`, from here too so that its four cases and
  their control (test_the_fake_hub_works) run against the same server.
- Serve a regular (non-LFS) file whose bytes do not match the tree's git blob id: the local
  hub sends regular files from its content-addressed store, and its corrupting fault
  (cdn_fault) only touches LFS objects on the CDN (test_faults.py).
- Answer 5xx to every /api/ request: no knob fails the hub's API (rate_limit gives 429 only;
  cdn_fault and upload_fault act on the CDN and upload targets) (test_cache_reuse.py).

HTTPS with the local hub's server certificate (so --cacert of the hub trusts it), loopback,
one thread per request. One model repo, regular files only; every request is recorded as
"METHOD path"."""
import http.server
import json
import os
import ssl
import urllib.parse
from contextlib import contextmanager

from ferrytest import git_blob_id
from serving import serving

COMMIT = "1" * 40


class FakeHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tls_dir, repo, files, served=None, api_status=None, tree_next=None):
        """files: path -> the content the tree describes (oid, size); served: path -> the bytes
        resolve sends instead; api_status: answer every /api/ request with this status;
        tree_next: a URL the first tree page names as its next page (Link rel="next"); a page
        asked with a cursor is empty and names none."""
        super().__init__(("127.0.0.1", 0), FakeHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(tls_dir, "server.pem"),
                            os.path.join(tls_dir, "server.key"))
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.repo, self.files, self.served = repo, files, served or {}
        self.api_status = api_status
        self.tree_next = tree_next
        self.requests = []
        self.authorized = []  # "METHOD path" of the requests that carried Authorization
        self.endpoint = f"https://127.0.0.1:{self.server_address[1]}"

    def gets(self, part):
        return [r for r in self.requests if r.startswith("GET ") and part in r]


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        hub = self.server
        hub.requests.append(f"{self.command} {self.path}")
        if self.headers.get("Authorization"):
            hub.authorized.append(f"{self.command} {self.path}")
        path = urllib.parse.unquote(self.path.split("?", 1)[0])
        api = f"/api/models/{hub.repo}/"
        resolve = f"/{hub.repo}/resolve/{COMMIT}/"
        if path.startswith("/api/") and hub.api_status:
            return self.answer(hub.api_status, b'{"error": "fake outage"}',
                               [("Content-Type", "application/json")])
        if path.startswith(api + "revision/"):
            value = {"id": hub.repo, "sha": COMMIT,
                     "siblings": [{"rfilename": p} for p in hub.files]}
        elif path.startswith(api + "tree/") and "cursor=" in self.path:
            value = []  # a next page (tree_next): the files were all on the first
        elif path.startswith(api + "tree/"):
            value = [{"type": "file", "path": p, "oid": git_blob_id(data), "size": len(data)}
                     for p, data in hub.files.items()]
        elif path.startswith(resolve) and path[len(resolve):] in hub.files:
            name = path[len(resolve):]
            body = hub.served.get(name, hub.files[name])
            return self.answer(200, body, [("ETag", f'"{git_blob_id(hub.files[name])}"'),
                                           ("X-Repo-Commit", COMMIT)])
        else:
            return self.answer(404)
        headers = [("Content-Type", "application/json")]
        if path.startswith(api + "tree/") and hub.tree_next and "cursor=" not in self.path:
            headers.append(("Link", f'<{hub.tree_next}>; rel="next"'))
        self.answer(200, json.dumps(value).encode(), headers)

    do_HEAD = do_GET


@contextmanager
def fake_hub(hub, repo, files, served=None, api_status=None, tree_next=None):
    """A running FakeHub using the local hub's TLS files (its CA is what --cacert trusts)."""
    with serving(FakeHub(os.path.join(hub.dir, "tls"), repo, files, served, api_status,
                         tree_next)) as fake:
        yield fake
