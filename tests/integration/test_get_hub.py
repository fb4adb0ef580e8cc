"""`ferry get` against the local hub's resolve endpoint: the 302 to a signed CDN URL, the
token kept to the hub's origin, and a signed URL that expires mid-download (403) resolved
again without losing what was fetched."""
import json
import os
import subprocess
import urllib.request
import ssl

import pytest

from ferrytest import REPO, sha256_file
from helpers import EXIT_OK, run_ferry

LOCALHUB = os.path.join(REPO, "tests", "hub", "localhub")
SEED = "24M"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hub-for-get")
    out = subprocess.run([LOCALHUB, "start", "--dir", str(directory), "--seed", "--seed-size",
                          SEED, "--knob", "url_lifetime=1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines())
    env["DIR"] = str(directory)
    try:
        yield env
    finally:
        subprocess.run([LOCALHUB, "stop", "--dir", str(directory)], timeout=60, check=True)


def api_json(hub, path):
    ctx = ssl.create_default_context(cafile=hub["LOCALHUB_CA"])
    req = urllib.request.Request(hub["HF_ENDPOINT"] + path,
                                 headers={"Authorization": f"Bearer {hub['HF_TOKEN']}"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return json.loads(r.read())


def access_log(hub):
    with open(os.path.join(hub["DIR"], "logs", "access.log")) as f:
        return [line.split() for line in f]


def test_expired_signed_url_is_resolved_again(hub, out_dir):
    tree = api_json(hub, "/api/models/demo/tiny-model/tree/main")
    weights = next(e for e in tree if e["path"] == "model.safetensors")
    oid = weights["lfs"]["oid"]
    url = f"{hub['HF_ENDPOINT']}/demo/tiny-model/resolve/main/model.safetensors"
    out = out_dir / "model.safetensors"
    mark = len(access_log(hub))
    # 24 MiB at 8 MiB/s takes about 3 s: the 1-second signed URLs expire on the way.
    r = run_ferry(["get", url, "-o", out, "--cacert", hub["LOCALHUB_CA"], "--sha256", oid,
                   "--header", f"Authorization: Bearer {hub['HF_TOKEN']}",
                   "--limit-rate", "8M", "--json"])
    assert r.returncode == EXIT_OK, r.describe()
    assert sha256_file(out) == oid
    assert hub["HF_TOKEN"] not in r.stdout + r.stderr
    lines = access_log(hub)[mark:]
    resolves = [l for l in lines if l[0] == "hub" and "/resolve/" in l[2]]
    cdn = [l for l in lines if l[0] == "cdn"]
    expired = [l for l in cdn if l[3] == "403"]
    assert len(expired) >= 1, "the signed URL never expired: the test proves nothing"
    assert len(resolves) >= 2, "after a 403 the resolve URL must be asked again"
    # The token goes to the hub only; the signed CDN URLs never see it.
    assert all(l[6] == "yes" for l in resolves)
    assert all(l[6] == "no" for l in cdn)
    assert r.json["files"][0]["verified"] is True
