"""A scripted hostile hub for `ferry download` (test_hostile_hub.py): plain HTTP on loopback,
no local hub needed (HF_ENDPOINT may be http://). Its answers are given whole by the test, so
they can be anything a hostile server could send: a revision answer with a non-hex commit, tree
pages that are not arrays or that carry `../`, NUL or backslash paths, non-hex oids, negative
or huge sizes, duplicates, a second page (Link rel="next", on the hub's own origin) with bad
paths. Resolve serves the bytes of the files it is given, with the ETag and X-Repo-Commit the
Hub sends. Every request is recorded as "METHOD path".

    with hostile_hub(files={"good.txt": b"..."}, pages=[[entry("good.txt", b"..."), ...]]) as h:
        env = {"HF_ENDPOINT": h.endpoint}; ... ; h.requests
"""
import http.server
import json
import urllib.parse

from fakehub import FakeHandler
from ferrytest import git_blob_id
from serving import serving

REPO = "evil/repo"
COMMIT = "1" * 40


def entry(path, data, **changes):
    """A tree entry of a regular file with `data`, as the Hub lists it; `changes` overrides
    fields (a bad oid, a bad size)."""
    value = {"type": "file", "path": path, "oid": git_blob_id(data), "size": len(data)}
    value.update(changes)
    return value


class HostileHub(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files, pages, info):
        """files: path -> the bytes resolve serves; pages: the tree pages, each a JSON value or
        raw bytes (page k names page k+1 by Link on this origin); info: the revision answer, a
        JSON value or raw bytes (default: this repo at COMMIT)."""
        super().__init__(("127.0.0.1", 0), HubHandler)
        self.files, self.pages = files, pages
        self.info = info if info is not None else {
            "id": REPO, "sha": COMMIT, "siblings": [{"rfilename": p} for p in files]}
        self.requests = []
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"

    def serve_forever(self, poll_interval=0.05):
        super().serve_forever(poll_interval)  # a quick shutdown: one hub per test

    def handle_error(self, request, client_address):
        pass  # a client that gives up early is part of these tests

    def resolves(self):
        return [r for r in self.requests if "/resolve/" in r]


def raw(value):
    return value if isinstance(value, bytes) else json.dumps(value).encode()


class HubHandler(FakeHandler):
    """fakehub's handler (HTTP/1.1, answer(), quiet) with the scripted routes."""

    def do_GET(self):
        hub = self.server
        hub.requests.append(f"{self.command} {self.path}")
        path, _, query = self.path.partition("?")
        path = urllib.parse.unquote(path)
        api = f"/api/models/{REPO}/"
        resolve = f"/{REPO}/resolve/{COMMIT}/"
        json_type = [("Content-Type", "application/json")]
        if path.startswith(api + "revision/"):
            return self.answer(200, raw(hub.info), json_type)
        if path.startswith(api + "tree/"):
            page = int(urllib.parse.parse_qs(query).get("cursor", ["0"])[0])
            if page >= len(hub.pages):
                return self.answer(404)
            headers = list(json_type)
            if page + 1 < len(hub.pages):
                following = f"{hub.endpoint}{api}tree/{COMMIT}?recursive=true&cursor={page + 1}"
                headers.append(("Link", f'<{following}>; rel="next"'))
            return self.answer(200, raw(hub.pages[page]), headers)
        if path.startswith(resolve) and path[len(resolve):] in hub.files:
            data = hub.files[path[len(resolve):]]
            return self.answer(200, data, [("ETag", f'"{git_blob_id(data)}"'),
                                           ("X-Repo-Commit", COMMIT)])
        return self.answer(404)

    do_HEAD = do_GET


def hostile_hub(files, pages=None, info=None):
    """A running HostileHub; pages default to one page listing `files` truthfully."""
    if pages is None:
        pages = [[entry(p, data) for p, data in files.items()]]
    return serving(HostileHub(files, pages, info))
