"""Whole snapshots: the exact huggingface_hub cache layout, content identical to what the hub
serves, the printed path, -q and --json."""
import base64
import json
import os
import uuid

from dlhelpers import EXIT_OK, JSON_FILE_KEYS, JSON_KEYS, check_snapshot, data_requests, etag_of
from ferrytest import read_bytes, sha256_bytes


def check_tree_cache(cache, info):
    """trees/<commit>.json in huggingface_hub's format (hub-protocol.md section 3.5)."""
    path = os.path.join(cache, info.folder, "trees", info.commit + ".json")
    with open(path) as f:
        tree = json.load(f)
    assert tree["format_version"] == 1
    assert set(tree["files"]) == set(info.by_path)
    for p, entry in info.by_path.items():
        cached = tree["files"][p]
        assert cached["size"] == entry["size"], p
        assert cached["blob_id"] == entry["oid"], p
        if "lfs" in entry:
            assert cached["lfs_sha256"] == entry["lfs"]["oid"], p
            assert cached["lfs_size"] == entry["lfs"]["size"], p
        else:
            assert "lfs_sha256" not in cached, p


def test_tiny_model_snapshot_layout(ferry, tiny, log):
    # progress bars on (not a terminal): they and any summary go to stderr, stdout is the path
    r = ferry("demo/tiny-model", drop=["HF_HUB_DISABLE_PROGRESS_BARS"])
    assert r.returncode == EXIT_OK, r.describe()
    snap = os.path.join(ferry.cache, "models--demo--tiny-model", "snapshots", tiny.commit)
    assert r.stdout == snap + "\n"
    check_snapshot(ferry.cache, "demo/tiny-model", "model", tiny.commit, tiny.entries,
                   tiny.reference)
    check_tree_cache(ferry.cache, tiny)
    # one resolve per file, nothing else fetched twice
    resolves = [ln.path.split("/resolve/", 1)[1].split("/", 1)[1]
                for ln in data_requests(log.lines()) if ln.origin == "hub" and ln.method == "GET"]
    assert sorted(resolves) == sorted(tiny.by_path), resolves
    # sizes and hashes come from the tree: no HEAD per file
    assert [ln for ln in log.lines() if ln.method == "HEAD"] == []
    # the weights went through the CDN, not through the hub
    weights = tiny.by_path["model.safetensors"]
    cdn = [ln for ln in log.lines() if ln.origin == "cdn"]
    assert cdn and all(weights["lfs"]["oid"] in ln.path for ln in cdn)


def test_many_files_snapshot_layout(ferry, many):
    assert len(many.entries) >= 2000
    r = ferry("demo/many-files", "--repo-type", "dataset", timeout=120)
    assert r.returncode == EXIT_OK, r.describe()
    snap = os.path.join(ferry.cache, "datasets--demo--many-files", "snapshots", many.commit)
    assert r.stdout.strip().splitlines()[-1] == snap
    check_snapshot(ferry.cache, "demo/many-files", "dataset", many.commit, many.entries,
                   many.reference)
    check_tree_cache(ferry.cache, many)
    # nested folders are real directories, not links
    nested = next(e["path"] for e in many.entries if e["path"].count("/") >= 3)
    assert os.path.isdir(os.path.join(snap, os.path.dirname(nested)))
    assert not os.path.islink(os.path.join(snap, os.path.dirname(nested)))


def test_datasets_prefix_is_the_repo_type(ferry, many):
    r = ferry("datasets/demo/many-files", "--include", "README.md", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    snap = os.path.join(ferry.cache, "datasets--demo--many-files", "snapshots", many.commit)
    assert r.stdout == snap + "\n"
    assert os.listdir(snap) == ["README.md"]


def test_quiet_prints_only_the_path(ferry, tiny):
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit) + "\n"


def test_json_summary(ferry, tiny, log):
    r = ferry("demo/tiny-model", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    summary = json.loads(r.stdout)
    assert JSON_KEYS <= set(summary), JSON_KEYS - set(summary)
    snap = os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)
    assert summary["ok"] is True and summary["error"] is None
    assert summary["repo_id"] == "demo/tiny-model"
    assert summary["repo_type"] == "model"
    assert summary["revision"] == "main"
    assert summary["commit"] == tiny.commit
    assert summary["path"] == snap
    assert summary["files_total"] == len(tiny.entries)
    assert summary["files_downloaded"] == len(tiny.entries)
    assert summary["files_cached"] == 0
    assert summary["bytes_total"] == tiny.size
    assert summary["bytes_downloaded"] == tiny.size
    for key in ("requests", "connections", "peak_memory", "peak_rss"):
        assert isinstance(summary[key], int) and summary[key] > 0, key
    assert summary["peak_memory"] <= 32 * 1024 * 1024  # the default --max-memory
    assert summary["requests"] == len(log.lines()), "requests must count what the hub saw"
    for key in ("seconds", "mb_per_s"):
        assert isinstance(summary[key], (int, float)) and summary[key] >= 0, key
    files = {f["path"]: f for f in summary["files"]}
    assert set(files) == set(tiny.by_path)
    for p, f in files.items():
        assert JSON_FILE_KEYS <= set(f), JSON_FILE_KEYS - set(f)
        entry = tiny.by_path[p]
        assert f["size"] == entry["size"]
        assert f["etag"] == etag_of(entry)
        assert f["lfs"] is ("lfs" in entry)
        assert f["status"] == "downloaded"
        assert f["error"] is None

    # the same again: everything cached
    log.mark()
    again = json.loads(ferry("demo/tiny-model", "--json").stdout)
    assert again["requests"] == len(log.lines())
    assert again["ok"] is True
    assert again["files_cached"] == len(tiny.entries)
    assert again["files_downloaded"] == 0
    assert again["bytes_downloaded"] == 0
    assert {f["status"] for f in again["files"]} == {"cached"}


def test_single_file_prints_its_path(ferry, tiny):
    r = ferry("demo/tiny-model", "config.json")
    assert r.returncode == EXIT_OK, r.describe()
    pointer = os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit, "config.json")
    assert r.stdout.strip().splitlines()[-1] == pointer
    assert os.readlink(pointer) == "../../blobs/" + tiny.by_path["config.json"]["oid"]
    assert sha256_bytes(read_bytes(pointer)) == tiny.reference["config.json"]
    assert os.listdir(os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)) == \
        ["config.json"]
    q = ferry("demo/tiny-model", "config.json", "-q")
    assert q.stdout == pointer + "\n"


def test_two_filenames_print_the_snapshot(ferry, tiny):
    r = ferry("demo/tiny-model", "config.json", "README.md", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    snap = os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)
    assert r.stdout == snap + "\n"
    assert sorted(os.listdir(snap)) == ["README.md", "config.json"]



def test_space_repo_and_type_prefixes(ferry, hub):
    name = "space-" + uuid.uuid4().hex[:8]
    ans = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": name, "organization": "demo", "type": "space",
                              "sdk": "static"})
    assert ans.status == 200, ans.body
    content = b"<html>ferry</html>\n"
    lines = [{"key": "header", "value": {"summary": "page", "description": ""}},
             {"key": "file", "value": {"path": "index.html", "encoding": "base64",
                                       "content": base64.b64encode(content).decode()}}]
    ans = hub.post(f"/api/spaces/demo/{name}/commit/main", token=hub.token,
                   body=("\n".join(json.dumps(x) for x in lines) + "\n").encode(),
                   headers={"Content-Type": "application/x-ndjson"})
    assert ans.status == 200, ans.body
    commit = ans.json()["commitOid"]
    snap = os.path.join(ferry.cache, f"spaces--demo--{name}", "snapshots", commit)
    for args in ([f"spaces/demo/{name}"], [f"demo/{name}", "--repo-type", "space"]):
        r = ferry(*args, "index.html", "-q")
        assert r.returncode == EXIT_OK, r.describe()
        assert r.stdout == os.path.join(snap, "index.html") + "\n"
        assert read_bytes(os.path.join(snap, "index.html")) == content
    # models/ is the default type spelled out
    r = ferry("models/demo/tiny-model", "config.json", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout.startswith(os.path.join(ferry.cache, "models--demo--tiny-model", "snapshots"))


def test_max_workers_bounds_the_connections(ferry, tiny):
    r = ferry("demo/tiny-model", "--max-workers", "2", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    summary = json.loads(r.stdout)
    assert summary["ok"] is True
    assert 1 <= summary["connections"] <= 2 * 2  # two per origin at most (hub and CDN)
    check_snapshot(ferry.cache, "demo/tiny-model", "model", tiny.commit, tiny.entries,
                   tiny.reference)
