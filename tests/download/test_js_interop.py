"""Interoperability with the official JavaScript client (@huggingface/hub 2.17.5): each finds in
a shared cache what the other downloaded, without fetching it again (the hub's access log)."""
import os
import subprocess

import pytest

from dlhelpers import EXIT_OK, check_snapshot, data_requests, ferry_reuses
from ferrytest import REPO, read_bytes, sha256_bytes

JS_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsclient.mjs")
JS_PACKAGE = os.path.join(REPO, "tests", "hub", "conformance", "node_modules", "@huggingface",
                          "hub", "package.json")


def run_js(hub, op, info, cache, revision="", path=""):
    assert os.path.isfile(JS_PACKAGE), "run tests/hub/setup (npm install of @huggingface/hub)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_ENDPOINT": hub.endpoint,
           "NODE_EXTRA_CA_CERTS": hub.ca, "HOME": str(cache)}
    done = subprocess.run(["node", JS_CLIENT, op, info.repo_id, info.repo_type, str(cache),
                           revision, path], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("which", ["tiny", "many"])
def test_js_client_reuses_what_ferry_downloaded(ferry, hub, tiny, many, which, log):
    info = tiny if which == "tiny" else many
    r = ferry(info.repo_id, "--repo-type", info.repo_type, "-q", timeout=120)
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    snap = run_js(hub, "snapshot", info, ferry.cache)
    assert snap == r.stdout.strip()
    assert data_requests(log.lines()) == []
    # and file by file through downloadFileToCacheDir (revision main: paths-info only)
    some = sorted(info.by_path)[:3] + ([p for p in info.by_path if "lfs" in info.by_path[p]])
    log.mark()
    for path in some:
        pointer = run_js(hub, "file", info, ferry.cache, "main", path)
        assert sha256_bytes(read_bytes(pointer)) == info.reference[path]
    assert data_requests(log.lines()) == []


def test_ferry_reuses_the_snapshot_the_js_client_downloaded(ferry, hub, tiny, log, tmp_path):
    cache = tmp_path / "shared-cache"
    snap = run_js(hub, "snapshot", tiny, cache)
    assert ferry_reuses(ferry, log, tiny, cache) == snap
    check_snapshot(str(cache), tiny.repo_id, tiny.repo_type, tiny.commit, tiny.entries,
                   tiny.reference, tag=False)


def test_ferry_reuses_files_the_js_client_downloaded(ferry, hub, many, log, tmp_path):
    # the JS client is slow on 2,000 files (about 2.5 min): a nested sample of them
    cache = tmp_path / "shared-cache"
    sample = sorted(many.by_path)[::100]
    for path in sample:
        run_js(hub, "file", many, cache, many.commit, path)
    ferry_reuses(ferry, log, many, cache, *sample)
