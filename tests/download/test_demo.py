"""README's first command: `bench/demo` (here `bench/demo hub 16M`, the same path with smaller
weights) starts its own local hub, downloads demo/tiny-model into a fresh cache, prints the
snapshot and the weights' sha256, runs again from the cache, and removes everything.

bench/demo configures and builds ./build of the checkout it lives in with
`-DCMAKE_BUILD_TYPE=Release` only; the other options stay as cached (tests/run's
-DFERRY_WERROR=ON), so on a built tree it rebuilds nothing. It therefore runs only when the
binary under test is that build/ferry: tests/run's ASan pass leaves this file out."""
import os
import re
import signal
import subprocess

import pytest

from conftest import RepoInfo
from dlhelpers import etag_of, fmt_bytes
from ferrytest import FERRY_BIN, REPO, TIMEOUT_SCALE
from hubtest import running_hub

DEMO = os.path.join(REPO, "bench", "demo")
DEMO_BIN = os.path.join(REPO, "build", "ferry")
SIZE = "16M"



def test_binary_under_test_is_the_demos():
    """bench/demo runs build/ferry; tests/run leaves this file out of its ASan pass."""
    assert os.path.realpath(FERRY_BIN) == os.path.realpath(DEMO_BIN)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """What a hub seeded like the demo's serves (the seed is deterministic for a size)."""
    with running_hub(tmp_path_factory.mktemp("demo-reference-hub"), "--seed", "--seed-size",
                     SIZE) as hub:
        yield RepoInfo(hub, "demo/tiny-model")


def run_demo(tmp_path, timeout=120):
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    proc = subprocess.Popen([DEMO, "hub", SIZE], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # its trap stops the hub and removes its folder
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        raise AssertionError(f"bench/demo did not end in {timeout}s\n{out}\n{err}")
    return proc.returncode, out, err


def test_bench_demo_hub(tmp_path, reference):
    built = os.stat(DEMO_BIN).st_mtime_ns
    code, out, err = run_demo(tmp_path)
    described = f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert code == 0, described
    assert os.stat(DEMO_BIN).st_mtime_ns == built, "bench/demo rebuilt build/ferry"

    # the snapshot path, in the demo's own HF_HOME
    m = re.search(r"^demo: snapshot (/tmp/ferry-demo\.[^/\s]+)/hf-home/hub/"
                  r"models--demo--tiny-model/snapshots/([0-9a-f]{40})$", out, re.M)
    assert m, described
    work = m.group(1)
    # every file of the tree is listed (ls -l: the ones not starting with a dot)
    for path, entry in reference.by_path.items():
        if not path.startswith("."):
            link = rf" {re.escape(path)} -> \.\./\.\./blobs/{etag_of(entry)}$"
            assert re.search(link, out, re.M), (path, described)

    # the weights' sha256, as printed, is the hub's: computed over the bytes it serves
    served = reference.reference["model.safetensors"]
    m = re.search(r"^demo: model\.safetensors -> blobs/([0-9a-f]{64}); sha256 of the bytes: "
                  r"([0-9a-f]{64})$", out, re.M)
    assert m, described
    assert m.group(2) == served, described
    assert m.group(1) == served == reference.by_path["model.safetensors"]["lfs"]["oid"]

    # first run: every file downloaded; second run: nothing downloaded, everything cached
    n = len(reference.entries)
    runs = re.findall(r"^ferry: demo/tiny-model@[0-9a-f]{12}: (\d+) files, (\d+) downloaded "
                      r"\(([^,]+), [^)]*\), (\d+) cached$", err, re.M)
    assert len(runs) == 2, described
    assert runs[0] == (str(n), str(n), fmt_bytes(reference.size), "0"), described
    assert runs[1] == (str(n), "0", "0 B", str(n)), described
    assert "demo: a second run finds everything in the cache:" in out, described

    # everything it started is gone with its folder
    assert not os.path.exists(work), f"{work} left behind"
