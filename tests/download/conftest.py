"""Session fixtures of the `ferry download` tests: one seeded local hub (always stopped), the
hub's trees and the sha256 of every file as the hub serves it, an isolated environment per test.

Run:  /usr/bin/python3 -m pytest tests/download -q      (binary: env FERRY_BIN, default build/ferry)
"""
import hashlib
import http.client
import os
import ssl
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

import dlhelpers
from hubrun import AccessLog, HubEnv, run_download, type_prefix
from hubtest import running_hub

SEED_SIZE = "32M"
MANY = 20000  # demo/many-20000: the memory test of a large snapshot (test_many_files.py)


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("download-hub"), "--seed", "--seed-size", SEED_SIZE,
                     "--seed-many", str(MANY)) as h:
        yield h


def list_tree(hub, repo_id, repo_type, revision, token=None):
    """The recursive tree (files only), following the Link pagination."""
    url = f"/api/{repo_type}s/{repo_id}/tree/{urllib.parse.quote(revision, safe='')}?recursive=true"
    files = []
    for _ in range(100):
        ans = hub.get(url, token=token)
        assert ans.status == 200, ans.body
        files += [e for e in ans.json() if e["type"] == "file"]
        link = ans.header("link")
        if not link or 'rel="next"' not in link:
            return files
        url = link.split(";")[0].strip("<> ")
    raise AssertionError("tree pagination did not end")


def commit_of(hub, repo_id, repo_type="model", revision="main", token=None):
    ans = hub.get(f"/api/{repo_type}s/{repo_id}/revision/{urllib.parse.quote(revision, safe='')}",
                  token=token)
    assert ans.status == 200, ans.body
    return ans.json()["sha"]


def served_sha256(hub, repo_id, repo_type, commit, paths, token=None):
    """sha256 of each file as the hub serves it (resolve, redirect to the CDN followed), fetched
    over HTTPS with the hub's CA, on a few keep-alive connections."""
    hub_url = urllib.parse.urlsplit(hub.endpoint)
    ctx = ssl.create_default_context(cafile=hub.ca)

    def fetch_all(chunk):
        conn = http.client.HTTPSConnection(hub_url.hostname, hub_url.port, context=ctx, timeout=60)
        digests = {}
        headers = {"Authorization": "Bearer " + token} if token else {}
        try:
            for path in chunk:
                target = f"/{type_prefix(repo_type)}{repo_id}/resolve/{commit}/{urllib.parse.quote(path)}"
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 302:
                    cdn = urllib.parse.urlsplit(resp.getheader("Location"))
                    c2 = http.client.HTTPSConnection(cdn.hostname, cdn.port, context=ctx, timeout=60)
                    c2.request("GET", cdn.path + "?" + cdn.query)
                    r2 = c2.getresponse()
                    body = r2.read()
                    assert r2.status == 200, (path, r2.status)
                    c2.close()
                else:
                    assert resp.status == 200, (path, resp.status)
                digests[path] = hashlib.sha256(body).hexdigest()
        finally:
            conn.close()
        return digests

    paths = list(paths)
    chunks = [paths[i::4] for i in range(4)]
    result = {}
    with ThreadPoolExecutor(4) as pool:
        for digests in pool.map(fetch_all, chunks):
            result.update(digests)
    return result


class RepoInfo:
    def __init__(self, hub, repo_id, repo_type="model", revision="main", token=None):
        self.repo_id, self.repo_type = repo_id, repo_type
        self.commit = commit_of(hub, repo_id, repo_type, revision, token)
        self.entries = list_tree(hub, repo_id, repo_type, self.commit, token)
        self.by_path = {e["path"]: e for e in self.entries}
        self.reference = served_sha256(hub, repo_id, repo_type, self.commit,
                                       self.by_path, token)
        self.size = sum(e["size"] for e in self.entries)
        self.folder = dlhelpers.repo_folder_name(repo_id, repo_type)


@pytest.fixture(scope="session")
def tiny(hub):
    return RepoInfo(hub, "demo/tiny-model")


@pytest.fixture(scope="session")
def many(hub):
    return RepoInfo(hub, "demo/many-files", "dataset")


@pytest.fixture
def hub_clean(hub):
    """The hub with default knobs, reset again after the test (faults must not leak)."""
    defaults = {"cdn_fault": None, "url_lifetime": 3600, "cdn_rate": 0}
    hub.knobs(**defaults)
    yield hub
    hub.knobs(**defaults)


@pytest.fixture
def log(hub):
    """The access log from this point on."""
    return AccessLog(hub.dir).mark()


class Runner(HubEnv):
    """`ferry download` with an isolated HOME/HF_HOME under the test's tmp_path, trusting the
    hub's CA with --cacert (unless cacert=False)."""

    def __init__(self, hub, home):
        super().__init__(hub, home)
        self.cache = os.path.join(self.hf_home, "hub")

    def args(self, args, cacert=True):
        return list(args) + (["--cacert", self.hub.ca] if cacert else [])

    def __call__(self, *args, env=None, drop=(), cacert=True, timeout=60):
        return run_download(self.args(args, cacert), self.env_with(env, drop), timeout)


@pytest.fixture
def ferry(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Runner(hub, home)
