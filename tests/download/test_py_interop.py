"""Interoperability with the official Python client (huggingface_hub, tests/hub/pyclient.py), in
its default environment with a fresh HF_HOME each: it reads a cache ferry wrote (offline, and
online without fetching a byte again, and scan_cache_dir sees it whole), and ferry finds in a
cache what it downloaded, without fetching it again (the hub's access log)."""
import json
import os

import pytest

from dlhelpers import EXIT_OK, check_snapshot, data_requests, ferry_reuses
from pyclient import run_script

OPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyclient_ops.py")


def run_py(hub, hf_home, *args, offline=False):
    done = run_script(hub, hf_home, OPS, *args, token=False,
                      extra={"HF_HUB_OFFLINE": "1"} if offline else None)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def content_requests(lines):
    """Requests that move file content: a GET of a resolve URL or anything on the CDN (the
    client's HEAD of a resolve URL asks for the etag and commit only)."""
    return [ln for ln in data_requests(lines) if ln.origin == "cdn" or ln.method != "HEAD"]


@pytest.mark.parametrize("which", ["tiny", "many"])
def test_python_client_reads_the_cache_ferry_wrote(ferry, hub, tiny, many, which, log):
    info = tiny if which == "tiny" else many
    r = ferry(info.repo_id, "--repo-type", info.repo_type, "-q", timeout=120)
    assert r.returncode == EXIT_OK, r.describe()
    snap = r.stdout.strip()

    log.mark()
    offline = run_py(hub, ferry.hf_home, "snapshot", info.repo_id, info.repo_type, offline=True)
    local = run_py(hub, ferry.hf_home, "snapshot", info.repo_id, info.repo_type, "--local")
    assert log.lines() == []  # offline and local_files_only: not one request
    for got in (offline, local):
        assert got["path"] == snap
        assert got["sha256"] == info.reference

    online = run_py(hub, ferry.hf_home, "snapshot", info.repo_id, info.repo_type)
    assert online["path"] == snap and online["sha256"] == info.reference
    assert data_requests(log.lines()) == [], log.lines()[:20]

    scan = run_py(hub, ferry.hf_home, "scan", offline=True)
    assert scan["warnings"] == []
    (repo,) = scan["repos"]
    assert (repo["repo_id"], repo["repo_type"]) == (info.repo_id, info.repo_type)
    assert repo["nb_files"] == len(info.entries) and repo["size_on_disk"] == info.size
    assert repo["refs"] == ["main"]
    (rev,) = repo["revisions"]
    assert rev["commit"] == info.commit and rev["refs"] == ["main"]
    assert rev["files"] == {e["path"]: e["size"] for e in info.entries}


def test_python_client_reuses_single_files_ferry_downloaded(ferry, hub, tiny, log):
    r = ferry(tiny.repo_id, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    got = run_py(hub, ferry.hf_home, "files", tiny.repo_id, "model", "main", *sorted(tiny.by_path))
    for path, (local, digest) in got.items():
        assert local == os.path.join(r.stdout.strip(), path)
        assert digest == tiny.reference[path]
    assert content_requests(log.lines()) == [], log.lines()[:20]


def test_ferry_reuses_the_snapshot_the_python_client_downloaded(ferry, hub, tiny, log, tmp_path):
    hf_home = tmp_path / "py-home"
    got = run_py(hub, hf_home, "snapshot", tiny.repo_id, "model")
    assert got["sha256"] == tiny.reference
    cache = hf_home / "hub"
    assert ferry_reuses(ferry, log, tiny, cache) == got["path"]
    check_snapshot(str(cache), tiny.repo_id, tiny.repo_type, tiny.commit, tiny.entries,
                   tiny.reference, tag=False)


def test_ferry_reuses_files_the_python_client_downloaded(ferry, hub, many, log, tmp_path):
    hf_home = tmp_path / "py-home"
    sample = sorted(many.by_path)[::50]
    got = run_py(hub, hf_home, "files", many.repo_id, "dataset", many.commit, *sample)
    assert {p: d for p, (_, d) in got.items()} == {p: many.reference[p] for p in sample}
    snap = ferry_reuses(ferry, log, many, hf_home / "hub", *sample)
    assert all(local == os.path.join(snap, p) for p, (local, _) in got.items())
