"""--local-dir (real files and three-line metadata), --force-download, the cache root from
--cache-dir / HF_HUB_CACHE / HUGGINGFACE_HUB_CACHE / HF_HOME, the CA from the environment,
HF_HUB_DISABLE_SYMLINKS."""
import os
import signal
import subprocess
import time

import pytest

from dlhelpers import (CACHEDIR_TAG_SIGNATURE, EXIT_OK, cdn_gets, etag_of, resolve_gets,
                       start_download)
from ferrytest import read_bytes, sha256_bytes
from hubrun import stop_process


def check_metadata(local_dir, path, commit, etag, started, ended):
    meta = os.path.join(local_dir, ".cache", "huggingface", "download", path + ".metadata")
    with open(meta) as f:
        text = f.read()
    lines = text.split("\n")
    assert len(lines) == 4 and lines[3] == "", f"three lines, each ending in a newline: {text!r}"
    assert lines[0] == commit
    assert lines[1] == etag
    assert started - 2 <= float(lines[2]) <= ended + 2
    # huggingface_hub trusts the metadata only if file mtime - 1 s <= timestamp
    assert os.path.getmtime(os.path.join(local_dir, path)) - 1 <= float(lines[2])


def test_local_dir_snapshot(ferry, tiny, tmp_path):
    local = tmp_path / "local"
    started = time.time()
    r = ferry("demo/tiny-model", "--local-dir", local, "-q")
    ended = time.time()
    assert r.returncode == EXIT_OK, r.describe()
    assert os.path.realpath(r.stdout.strip()) == os.path.realpath(local)
    for path, entry in tiny.by_path.items():
        target = local / path
        assert target.is_file() and not target.is_symlink(), path
        assert sha256_bytes(read_bytes(target)) == tiny.reference[path], path
        check_metadata(str(local), path, tiny.commit, etag_of(entry), started, ended)
    visible = {p for p in os.listdir(local) if p != ".cache"}
    assert visible == set(tiny.by_path)
    # nothing of the snapshot in the main cache's blobs
    blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
    assert not os.path.isdir(blobs) or os.listdir(blobs) == []


def test_local_dir_nested_single_file(ferry, many, tmp_path):
    local = tmp_path / "local"
    path = next(p for p in sorted(many.by_path) if p.count("/") == 3)
    started = time.time()
    r = ferry("demo/many-files", path, "--repo-type", "dataset", "--local-dir", local, "-q")
    ended = time.time()
    assert r.returncode == EXIT_OK, r.describe()
    assert os.path.realpath(r.stdout.strip()) == os.path.realpath(local / path)
    assert sha256_bytes(read_bytes(local / path)) == many.reference[path]
    check_metadata(str(local), path, many.commit, many.by_path[path]["oid"], started, ended)


def test_force_download_fetches_again(ferry, tiny, log):
    weights = tiny.by_path["model.safetensors"]
    for attempt in range(2):
        log.mark()
        args = ["demo/tiny-model", "model.safetensors", "config.json", "-q"]
        r = ferry(*args, *(["--force-download"] if attempt else []))
        assert r.returncode == EXIT_OK, r.describe()
        lines = log.lines()
        assert len(resolve_gets(lines, "config.json")) == 1, lines
        cdn_bytes = sum(ln.bytes_sent for ln in cdn_gets(lines, weights["lfs"]["oid"]))
        assert cdn_bytes >= weights["size"], lines
        snap = os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)
        assert sha256_bytes(read_bytes(os.path.join(snap, "model.safetensors"))) == \
            tiny.reference["model.safetensors"]
    # and without --force-download: nothing
    log.mark()
    r = ferry("demo/tiny-model", "model.safetensors", "config.json", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    assert resolve_gets(log.lines()) == [] and cdn_gets(log.lines()) == []


def test_force_download_in_local_dir(ferry, tiny, tmp_path, log):
    local = tmp_path / "local"
    assert ferry("demo/tiny-model", "config.json", "--local-dir", local).returncode == EXIT_OK
    (local / "config.json").write_bytes(b"local edit")
    log.mark()
    r = ferry("demo/tiny-model", "config.json", "--local-dir", local, "--force-download")
    assert r.returncode == EXIT_OK, r.describe()
    assert len(resolve_gets(log.lines(), "config.json")) == 1
    assert sha256_bytes(read_bytes(local / "config.json")) == tiny.reference["config.json"]


CACHE_ROOTS = {
    # name: (extra args, env, expected cache root relative to tmp_path)
    "--cache-dir": (["--cache-dir", "{tmp}/opt"], {"HF_HUB_CACHE": "{tmp}/env"}, "opt"),
    "HF_HUB_CACHE": ([], {"HF_HUB_CACHE": "{tmp}/env", "HUGGINGFACE_HUB_CACHE": "{tmp}/legacy"},
                     "env"),
    "HUGGINGFACE_HUB_CACHE": ([], {"HUGGINGFACE_HUB_CACHE": "{tmp}/legacy"}, "legacy"),
    "HF_HOME": ([], {"HF_HOME": "{tmp}/home2"}, "home2/hub"),
}


@pytest.mark.parametrize("case", list(CACHE_ROOTS))
def test_cache_root(ferry, tiny, tmp_path, case):
    args, env, expected = CACHE_ROOTS[case]
    args = [a.format(tmp=tmp_path) for a in args]
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    r = ferry("demo/tiny-model", "config.json", "-q", *args, env=env)
    assert r.returncode == EXIT_OK, r.describe()
    root = os.path.join(str(tmp_path), expected)
    assert r.stdout == os.path.join(root, tiny.folder, "snapshots", tiny.commit,
                                    "config.json") + "\n"
    with open(os.path.join(root, "CACHEDIR.TAG")) as f:
        assert f.read().startswith(CACHEDIR_TAG_SIGNATURE)
    assert not os.path.exists(ferry.cache), "the default cache must stay unused"


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"])
def test_ca_from_the_environment(ferry, tiny, variable):
    r = ferry("demo/tiny-model", "config.json", "-q", cacert=False, env={variable: ferry.hub.ca})
    assert r.returncode == EXIT_OK, r.describe()
    assert sha256_bytes(read_bytes(r.stdout.strip())) == tiny.reference["config.json"]


def test_untrusted_certificate_is_a_tls_error(ferry):
    r = ferry("demo/tiny-model", "config.json", cacert=False)
    assert r.returncode == 9, r.describe()


def test_disable_symlinks_makes_real_files(ferry, tiny):
    r = ferry("demo/tiny-model", "-q", env={"HF_HUB_DISABLE_SYMLINKS": "1"})
    assert r.returncode == EXIT_OK, r.describe()
    snap = r.stdout.strip()
    assert snap == os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)
    for path in tiny.by_path:
        pointer = os.path.join(snap, path)
        assert os.path.isfile(pointer) and not os.path.islink(pointer), path
        assert sha256_bytes(read_bytes(pointer)) == tiny.reference[path], path


def test_local_dir_rerun_fetches_nothing(ferry, tiny, tmp_path, log):
    local = tmp_path / "local"
    r = ferry("demo/tiny-model", "--local-dir", local, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    again = ferry("demo/tiny-model", "--local-dir", local, "-q")
    assert again.returncode == EXIT_OK, again.describe()
    assert again.stdout == r.stdout
    assert resolve_gets(log.lines()) == [] and cdn_gets(log.lines()) == [], log.lines()
    for path in tiny.by_path:
        assert sha256_bytes(read_bytes(local / path)) == tiny.reference[path], path


def test_proxy_variables(ferry, tiny, log):
    dead_proxy = "http://127.0.0.1:1"  # nothing listens on port 1
    r = ferry("demo/tiny-model", "config.json", "-q",
              env={"HTTPS_PROXY": dead_proxy, "NO_PROXY": "127.0.0.1"})
    assert r.returncode == EXIT_OK, r.describe()
    assert sha256_bytes(read_bytes(r.stdout.strip())) == tiny.reference["config.json"]
    # through the dead proxy ferry retries for a long while: give it 3 s, then stop it; it
    # must not have succeeded nor reached the hub directly
    log.mark()
    process = start_download(ferry.args(["demo/tiny-model", "README.md", "-q"]),
                             ferry.env_with({"HTTPS_PROXY": dead_proxy}))
    try:
        process.wait(3)
    except subprocess.TimeoutExpired:
        pass
    code, stderr = stop_process(process, signal.SIGKILL) if process.returncode is None \
        else (process.returncode, "")
    assert code != EXIT_OK, "HTTPS_PROXY was ignored"
    assert log.lines() == []
