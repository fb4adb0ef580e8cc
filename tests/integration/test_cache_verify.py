"""`ferry cache verify`: re-hashes a snapshot that `ferry download` put in the cache against
the local hub's tree; a changed byte, a missing file and an extra file are all caught."""
import json
import os
import subprocess

import pytest

from ferrytest import REPO
from helpers import EXIT_CHECKSUM, EXIT_OK, run_ferry

LOCALHUB = os.path.join(REPO, "tests", "hub", "localhub")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hub-for-verify")
    out = subprocess.run([LOCALHUB, "start", "--dir", str(directory), "--seed", "--seed-size", "4M"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines())
    try:
        yield env
    finally:
        subprocess.run([LOCALHUB, "stop", "--dir", str(directory)], timeout=60, check=True)


def ferry_env(hub):
    env = dict(os.environ)
    env.update(HF_ENDPOINT=hub["HF_ENDPOINT"], HF_TOKEN=hub["HF_TOKEN"])
    return env


def test_verify_catches_changed_missing_and_extra_files(hub, tmp_path):
    cache = tmp_path / "cache"
    common = ["--cache-dir", cache, "--cacert", hub["LOCALHUB_CA"]]
    env = ferry_env(hub)
    r = run_ferry(["download", "demo/tiny-model", "-q", *common], env=env)
    assert r.returncode == EXIT_OK, r.describe()
    snapshot = r.stdout.strip()
    assert os.path.isdir(snapshot)

    r = run_ferry(["cache", "verify", "demo/tiny-model", "--json", *common], env=env)
    assert r.returncode == EXIT_OK, r.describe()
    report = json.loads(r.stdout)
    assert report["verified"] == 5 and report["mismatched"] == 0 and report["missing"] == 0
    assert {f["status"] for f in report["files"]} == {"ok"}

    # One changed byte in a regular file (git SHA-1) and in the LFS weights (SHA-256).
    for name in ("config.json", "model.safetensors"):
        blob = os.path.realpath(os.path.join(snapshot, name))
        with open(blob, "r+b") as f:
            f.seek(3)
            byte = f.read(1)
            f.seek(3)
            f.write(bytes([byte[0] ^ 0xFF]))
    r = run_ferry(["cache", "verify", "demo/tiny-model", "--json", *common], env=env)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    report = json.loads(r.stdout)
    bad = {f["path"] for f in report["files"] if f["status"] == "mismatch"}
    assert bad == {"config.json", "model.safetensors"}

    # Restore them by downloading again with --force-download, then remove one and add one.
    r = run_ferry(["download", "demo/tiny-model", "-q", "--force-download", *common], env=env)
    assert r.returncode == EXIT_OK, r.describe()
    os.unlink(os.path.join(snapshot, "tokenizer.json"))
    with open(os.path.join(snapshot, "notes.txt"), "w") as f:
        f.write("not from the hub\n")
    r = run_ferry(["cache", "verify", "demo/tiny-model", "--json", *common], env=env)
    assert r.returncode == EXIT_OK, r.describe()  # missing/extra fail only when asked
    report = json.loads(r.stdout)
    assert report["missing"] == 1 and report["extra"] == 1 and report["mismatched"] == 0
    r = run_ferry(["cache", "verify", "demo/tiny-model", "--fail-on-missing-files", *common],
                  env=env)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    r = run_ferry(["cache", "verify", "demo/tiny-model", "--fail-on-extra-files", *common], env=env)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    # the error says what failed: not "SHA-256 mismatch" when no hash failed
    assert "SHA-256" not in r.stderr and "1 extra file(s)" in r.stderr, r.describe()
    r = run_ferry(["cache", "verify", "demo/tiny-model", "--fail-on-missing-files",
                   "--fail-on-extra-files", "--json", *common], env=env)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    message = json.loads(r.stdout)["error"]["message"]
    assert "1 file(s) of the revision missing" in message and "1 extra file(s)" in message


def test_verify_of_a_repo_not_found_prints_no_summary(hub, tmp_path):
    common = ["--cache-dir", tmp_path / "cache", "--cacert", hub["LOCALHUB_CA"]]
    r = run_ferry(["cache", "verify", "demo/nothing", *common], env=ferry_env(hub))
    assert r.returncode == 11, r.describe()
    assert "not found" in r.stderr, r.describe()
    assert r.stdout == "", r.describe()  # no "0 verified" line for a repo that is not there
