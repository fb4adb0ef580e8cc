"""A complete cache costs no data request (and no tree listing); offline mode serves it with no
request at all and fails with 16 when it is not complete; so does a Hub that cannot be reached
or answers its API with a server error."""
import json
import os

import pytest

from dlhelpers import EXIT_OFFLINE, EXIT_OK, data_requests
from fakehub import fake_hub
from ferrytest import read_bytes, sha256_bytes


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


def failing_api(hub, status):
    """A hub whose API answers `status` to everything (the repo-info call first of all)."""
    return fake_hub(hub, "demo/tiny-model", {}, api_status=status)


def test_hub_error_on_the_api_falls_back_to_a_complete_cache(ferry, tiny):
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    # huggingface_hub: an HTTP error on repo info -> the cached files, if they are all there
    for status, args in ((503, []), (500, ["config.json"])):
        with failing_api(ferry.hub, status) as down:
            got = ferry("demo/tiny-model", *args, env={"HF_ENDPOINT": down.endpoint})
        assert got.returncode == EXIT_OK, got.describe()
        want = os.path.join(r.stdout.strip(), *args)
        assert got.stdout.strip() == want, got.describe()
        assert f"HTTP {status}" in got.stderr, got.stderr
        asked = down.requests
        # retried (5 tries, as huggingface_hub's http_backoff), then no tree, no file asked for
        assert 1 <= len(asked) <= 5 and all("/revision/main" in q for q in asked), asked
    assert sha256_bytes(read_bytes(want)) == tiny.reference["config.json"]


def test_hub_error_on_the_api_without_a_cache_is_an_error(ferry, tiny):
    part = ferry("demo/tiny-model", "config.json", "-q")
    assert part.returncode == EXIT_OK, part.describe()
    with failing_api(ferry.hub, 503) as down:
        env = {"HF_ENDPOINT": down.endpoint}
        # nothing cached (another cache folder), then a file the cached snapshot lacks
        empty = ferry("demo/tiny-model", "--cache-dir", ferry.home / "empty", env=env)
        single = ferry("demo/tiny-model", "tokenizer.json", env=env)
        whole = ferry("demo/tiny-model", env=env)
    for got in (empty, single, whole):
        assert got.returncode == EXIT_OFFLINE, got.describe()
        assert got.stdout == "", got.describe()
        assert "not" in got.stderr and "in the cache" in got.stderr and "HTTP 503" in got.stderr, \
            got.stderr
    assert not os.path.exists(ferry.home / "empty" / tiny.folder / "snapshots")


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
