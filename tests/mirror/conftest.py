"""Fixtures of the cache-tier tests (deploy/mirror): a seeded local hub named `localhub` would
be, started on the host name `localhost` (nginx checks an upstream's certificate by host name
only), a DNS stub that resolves that name for the tier's nginx, and the tier itself.

Run:  /usr/bin/python3 -m pytest tests/mirror -q        (needs nginx and its cache-purge module)
"""
import http.client
import os
import ssl
import subprocess
import urllib.parse

import pytest

from hubtest import running_hub
from stubdns import StubDNS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIER = os.path.join(ROOT, "deploy", "mirror", "tier")
SECRET = "node-secret-for-tests-0123456789"
SLICE = 1 << 20
SEED_SIZE = "6M"  # demo/tiny-model's weights: six slices


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("mirror-hub"), "--seed", "--seed-size", SEED_SIZE,
                     "--listen", "localhost") as h:
        yield h


@pytest.fixture(scope="session")
def dns():
    with StubDNS({"localhost": "127.0.0.1"}) as d:
        yield d


class Tier:
    def __init__(self, directory, env):
        self.dir = directory
        self.url = env["FERRY_MIRROR"]
        self.pid = int(env["TIER_PID"])

    def access_log(self):
        path = os.path.join(self.dir, "logs", "access.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [line.split() for line in f if line.strip()]


def start_tier(directory, hub, dns, *extra, hub_token=True):
    os.makedirs(directory, exist_ok=True)
    secret_file = os.path.join(directory, "secret")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    args = [TIER, "start", "--dir", os.path.join(directory, "tier"), "--hub", hub.endpoint,
            "--hub-ca", hub.ca, "--secret-file", secret_file,
            "--cert", os.path.join(hub.dir, "tls", "server.pem"),
            "--key", os.path.join(hub.dir, "tls", "server.key"),
            "--slice", "1m", "--resolver", dns.address, *extra]
    if hub_token:
        token_file = os.path.join(directory, "hub-token")
        with open(token_file, "w") as f:
            f.write(hub.token + "\n")
        args += ["--hub-token-file", token_file]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return Tier(os.path.join(directory, "tier"),
                dict(line.split("=", 1) for line in r.stdout.splitlines()))


def stop_tier(tier):
    subprocess.run([TIER, "stop", "--dir", tier.dir], timeout=60, check=True)


@pytest.fixture
def tier(tmp_path, hub, dns):
    """A fresh tier (empty cache) per test, always stopped."""
    t = start_tier(str(tmp_path / "tier-state"), hub, dns)
    try:
        yield t
    finally:
        stop_tier(t)


def commit_of(hub, repo_id, repo_type="model"):
    ans = hub.get(f"/api/{repo_type}s/{repo_id}/revision/main", token=hub.token)
    assert ans.status == 200, ans.body
    return ans.json()["sha"]


def from_hub(hub, path):
    """The file as the Hub serves it (redirect followed), the reference bytes."""
    ans = hub.get(path, token=hub.token)
    if ans.status == 302:
        cdn = urllib.parse.urlsplit(ans.header("location"))
        conn = http.client.HTTPSConnection(cdn.hostname, cdn.port, timeout=60,
                                           context=ssl.create_default_context(cafile=hub.ca))
        conn.request("GET", cdn.path + "?" + cdn.query)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        return body
    assert ans.status == 200, ans.status
    return ans.body


@pytest.fixture(scope="session")
def reference(hub):
    """The commit of demo/tiny-model, and path -> the bytes the Hub serves for each file."""
    commit = commit_of(hub, "demo/tiny-model")
    ans = hub.get(f"/api/models/demo/tiny-model/tree/{commit}?recursive=true", token=hub.token)
    paths = [e["path"] for e in ans.json() if e["type"] == "file"]
    return commit, {p: from_hub(hub, f"/demo/tiny-model/resolve/{commit}/{p}") for p in paths}
