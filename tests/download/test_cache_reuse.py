"""A complete cache costs no data request (and no tree listing); offline mode serves it with no
request at all and fails with 16 when it is not complete."""
import json
import os

import pytest

from dlhelpers import EXIT_OFFLINE, EXIT_OK, data_requests, read_bytes, sha256_bytes


@pytest.mark.parametrize("which", ["tiny", "many"])
def test_rerun_on_a_complete_cache(ferry, tiny, many, which, log):
    info = tiny if which == "tiny" else many
    args = [info.repo_id, "--repo-type", info.repo_type, "-q"]
    first = ferry(*args, timeout=120)
    assert first.returncode == EXIT_OK, first.describe()
    trees = os.path.join(ferry.cache, info.folder, "trees", info.commit + ".json")
    tree_mtime = os.stat(trees).st_mtime_ns

    log.mark()
    again = ferry(*args, "--json")
    assert again.returncode == EXIT_OK, again.describe()
    lines = log.lines()
    assert data_requests(lines) == [], lines[:20]
    hub_calls = [ln for ln in lines if ln.origin == "hub"]
    assert all("/revision/" in ln.path for ln in hub_calls), hub_calls  # no tree listing
    assert len(hub_calls) <= 1
    summary = json.loads(again.stdout)
    assert summary["files_cached"] == len(info.entries)
    assert summary["bytes_downloaded"] == 0
    assert summary["requests"] == len(lines)
    assert os.stat(trees).st_mtime_ns == tree_mtime

    # by commit: nothing at all to ask
    log.mark()
    by_commit = ferry(info.repo_id, "--repo-type", info.repo_type, "--revision", info.commit, "-q")
    assert by_commit.returncode == EXIT_OK, by_commit.describe()
    assert by_commit.stdout == first.stdout
    assert log.lines() == []


def test_offline_serves_a_complete_snapshot_without_any_request(ferry, tiny, log):
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    offline = ferry("demo/tiny-model", "-q", env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == EXIT_OK, offline.describe()
    assert offline.stdout == r.stdout
    single = ferry("demo/tiny-model", "config.json", "-q", env={"HF_HUB_OFFLINE": "1"})
    assert single.returncode == EXIT_OK, single.describe()
    assert sha256_bytes(read_bytes(single.stdout.strip())) == tiny.reference["config.json"]
    assert log.lines() == []


def test_offline_uncached_is_16(ferry, tiny, log):
    r = ferry("demo/tiny-model", env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == EXIT_OFFLINE, r.describe()
    r = ferry("demo/tiny-model", "config.json", env={"HF_HUB_OFFLINE": "1"})
    assert r.returncode == EXIT_OFFLINE, r.describe()
    assert log.lines() == []


def test_offline_incomplete_snapshot_is_16(ferry, tiny, log):
    r = ferry("demo/tiny-model", "--exclude", "model.safetensors", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    offline = ferry("demo/tiny-model", env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == EXIT_OFFLINE, offline.describe()
    # the part that is there can be asked for
    part = ferry("demo/tiny-model", "--exclude", "model.safetensors", "-q",
                 env={"HF_HUB_OFFLINE": "1"})
    assert part.returncode == EXIT_OK, part.describe()
    assert part.stdout == r.stdout
    assert log.lines() == []


def test_unreachable_hub_falls_back_to_a_complete_cache(ferry, tiny):
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    # nothing listens on port 1: the API fails, the cached snapshot is served (as
    # huggingface_hub does on a connection error); ferry retries first (about 35 s today)
    down = ferry("demo/tiny-model", "-q", env={"HF_ENDPOINT": "https://127.0.0.1:1"}, timeout=90)
    assert down.returncode == EXIT_OK, down.describe()
    assert down.stdout == r.stdout


def test_missing_link_is_restored_without_a_request(ferry, tiny, log):
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    snap = r.stdout.strip()
    os.unlink(os.path.join(snap, "model.safetensors"))
    log.mark()
    again = ferry("demo/tiny-model", "-q")
    assert again.returncode == EXIT_OK, again.describe()
    assert data_requests(log.lines()) == []
    pointer = os.path.join(snap, "model.safetensors")
    assert os.readlink(pointer) == "../../blobs/" + tiny.by_path["model.safetensors"]["lfs"]["oid"]


def test_blob_of_the_wrong_size_is_fetched_again(ferry, tiny, log):
    r = ferry("demo/tiny-model", "config.json", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    blob = os.path.realpath(r.stdout.strip())
    with open(blob, "r+b") as f:
        f.truncate(10)
    log.mark()
    again = ferry("demo/tiny-model", "config.json", "-q")
    assert again.returncode == EXIT_OK, again.describe()
    assert sha256_bytes(read_bytes(again.stdout.strip())) == tiny.reference["config.json"]
    assert len([ln for ln in data_requests(log.lines()) if "config.json" in ln.path]) >= 1


def test_offline_local_dir(ferry, tiny, tmp_path, log):
    local = tmp_path / "local"
    r = ferry("demo/tiny-model", "--local-dir", local, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    offline = ferry("demo/tiny-model", "--local-dir", local, "-q", env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == EXIT_OK, offline.describe()
    assert offline.stdout == r.stdout
    assert log.lines() == []
