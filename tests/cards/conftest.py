"""Fixtures of the `ferry card` and `ferry cache ls|rm|prune` tests: the ferry binary, one
local hub for the session (always stopped), a repo with two commits that share a blob, and
helpers to run ferry and the official JavaScript client on a cache.

Run:  /usr/bin/python3 -m pytest tests/cards -q      (binary: env FERRY_BIN, default build/ferry)
"""
import base64
import json
import os
import subprocess
import time
import uuid

import pytest

from ferrytest import FERRY_BIN, REPO, TIMEOUT_SCALE, FerryResult
from hubrun import ferry_env
from hubtest import running_hub

JS_CLIENT = os.path.join(REPO, "tests", "download", "jsclient.mjs")
JS_PACKAGE = os.path.join(REPO, "tests", "hub", "conformance", "node_modules", "@huggingface",
                          "hub", "package.json")

# exit codes of the contract (README)
EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_IO, EXIT_CARD = 0, 1, 2, 6, 19


def run_ferry(*args, env=None, stdin=subprocess.DEVNULL, timeout=30, cwd=None):
    """ferry ARGS with stdin from /dev/null (not a terminal) unless given."""
    args = [str(a) for a in args]
    start = time.monotonic()
    done = subprocess.run([FERRY_BIN] + args, env=env, stdin=stdin, capture_output=True,
                          text=True, errors="replace", timeout=timeout * TIMEOUT_SCALE, cwd=cwd)
    return FerryResult(args, done.returncode, done.stdout, done.stderr, time.monotonic() - start)


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("cards-hub"), "--seed", "--seed-size", "4M") as h:
        yield h


def hub_commit(hub, repo, files, message="test"):
    header = {"key": "header", "value": {"summary": message, "description": ""}}
    lines = [header] + [{"key": "file", "value": {"path": p, "encoding": "base64",
                                                  "content": base64.b64encode(c).decode()}}
                        for p, c in files.items()]
    ans = hub.post(f"/api/models/{repo}/commit/main", token=hub.token,
                   body=("\n".join(json.dumps(x) for x in lines) + "\n").encode(),
                   headers={"Content-Type": "application/x-ndjson"})
    assert ans.status == 200, ans.body
    return ans.json()["commitOid"]


@pytest.fixture(scope="session")
def two_commits(hub):
    """A model repo: commit `first` (a.txt v1, shared.bin), then `second` on main (a.txt v2,
    shared.bin unchanged), and a tag v1.0 on the first."""
    name = "cache-" + uuid.uuid4().hex[:8]
    ans = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": name, "organization": "demo", "type": "model"})
    assert ans.status == 200, ans.body
    repo = "demo/" + name
    shared = os.urandom(70_000)
    first = hub_commit(hub, repo, {"a.txt": b"version one\n", "sub/shared.bin": shared})
    assert hub.post(f"/api/models/{repo}/tag/main", token=hub.token,
                    json_body={"tag": "v1.0"}).status == 200
    second = hub_commit(hub, repo, {"a.txt": b"version two, longer\n"})
    return {"repo": repo, "first": first, "second": second, "shared": shared,
            "folder": "models--" + repo.replace("/", "--")}


class Cache:
    """An isolated HOME / HF_HOME for one test; `ferry(...)` runs with it."""

    def __init__(self, hub, home):
        self.hub = hub
        self.env = ferry_env(hub, home)
        self.dir = os.path.join(self.env["HF_HOME"], "hub")

    def ferry(self, *args, **kw):
        return run_ferry(*args, env=self.env, **kw)

    def download(self, repo, *args):
        r = self.ferry("download", repo, "--cacert", self.hub.ca, "-q", *args, timeout=120)
        assert r.returncode == EXIT_OK, r.describe()
        return r.stdout.strip()

    def ls(self, *args):
        r = self.ferry("cache", "ls", "--json", *args)
        assert r.returncode == EXIT_OK, r.describe()
        return r.json


@pytest.fixture
def cache(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Cache(hub, home)


def run_js(hub, op, repo_id, repo_type, cache_dir, revision="", path=""):
    """The official JavaScript client (tests/download/jsclient.mjs) on cache_dir."""
    assert os.path.isfile(JS_PACKAGE), "run tests/hub/setup (npm install of @huggingface/hub)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_ENDPOINT": hub.endpoint,
           "NODE_EXTRA_CA_CERTS": hub.ca, "HOME": str(cache_dir)}
    done = subprocess.run(["node", JS_CLIENT, op, repo_id, repo_type, str(cache_dir), revision,
                           path], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def tree_state(root):
    """Every path below root with what it is: (kind, size or link target). Links are not
    followed, so the comparison sees exactly what a deletion would change."""
    state = {}
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = ("link", os.readlink(path))
            elif os.path.isdir(path):
                state[rel] = ("dir", None)
            else:
                state[rel] = ("file", os.path.getsize(path))
    return state
