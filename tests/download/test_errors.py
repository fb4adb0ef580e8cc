"""Errors as the hub signals them, each with its exit code; tokens from every documented source."""
import json
import os

import pytest

from dlhelpers import (EXIT_BAD_TOKEN, EXIT_ENTRY_NOT_FOUND, EXIT_GATED, EXIT_OK,
                       EXIT_REPO_NOT_FOUND, EXIT_REVISION_NOT_FOUND, EXIT_USAGE, resolve_gets)
from ferrytest import read_bytes


def test_missing_file_is_13_and_leaves_a_no_exist_marker(ferry, tiny):
    r = ferry("demo/tiny-model", "nested/missing.txt")
    assert r.returncode == EXIT_ENTRY_NOT_FOUND, r.describe()
    marker = os.path.join(ferry.cache, tiny.folder, ".no_exist", tiny.commit, "nested",
                          "missing.txt")
    assert os.path.isfile(marker), f"no marker {marker}"
    assert os.path.getsize(marker) == 0
    assert not os.path.lexists(os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit,
                                            "nested", "missing.txt"))


def test_missing_repo_is_11_with_a_token_hint(ferry):
    r = ferry("demo/no-such-repo")
    assert r.returncode == EXIT_REPO_NOT_FOUND, r.describe()
    assert "token" in r.stderr.lower(), r.stderr
    # with a valid token the hub answers 404: still "not found"
    r = ferry("demo/no-such-repo", "--token", ferry.hub.tokens["demo-read"])
    assert r.returncode == EXIT_REPO_NOT_FOUND, r.describe()


def test_missing_revision_is_12(ferry):
    r = ferry("demo/tiny-model", "--revision", "no-such-branch")
    assert r.returncode == EXIT_REVISION_NOT_FOUND, r.describe()
    r = ferry("demo/tiny-model", "config.json", "--revision", "no-such-branch")
    assert r.returncode == EXIT_REVISION_NOT_FOUND, r.describe()


def test_private_repo_needs_the_token(ferry, hub, tmp_path):
    private_files = ["secret.txt"]
    r = ferry("demo/private-model")
    assert r.returncode == EXIT_REPO_NOT_FOUND, r.describe()
    assert "token" in r.stderr.lower(), r.stderr
    folder = os.path.join(ferry.cache, "models--demo--private-model")
    assert not os.path.exists(os.path.join(folder, "blobs")) or \
        os.listdir(os.path.join(folder, "blobs")) == []

    token = hub.tokens["demo-read"]
    expected = hub.get("/demo/private-model/resolve/main/secret.txt", token=token).body
    sources = {
        "--token": (["--token", token], {}),
        "HF_TOKEN": ([], {"HF_TOKEN": token}),
        "token file": ([], {}),
        "HF_TOKEN_PATH": ([], {"HF_TOKEN_PATH": str(tmp_path / "elsewhere" / "tok")}),
    }
    os.makedirs(ferry.hf_home, exist_ok=True)
    with open(os.path.join(ferry.hf_home, "token"), "w") as f:
        f.write(token)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "tok").write_text(token + "\n")
    for name, (args, env) in sources.items():
        cache = tmp_path / ("cache-" + name.replace(" ", "-").strip("-"))
        if name == "HF_TOKEN_PATH":  # the default token file must not be what makes it work
            os.unlink(os.path.join(ferry.hf_home, "token"))
        r = ferry("demo/private-model", "--cache-dir", cache, "-q", *args, env=env)
        assert r.returncode == EXIT_OK, f"token from {name}: " + r.describe()
        snap = r.stdout.strip()
        assert sorted(os.listdir(snap)) == sorted([".gitattributes"] + private_files)
        assert read_bytes(os.path.join(snap, "secret.txt")) == expected
        assert token not in r.stdout + r.stderr


@pytest.mark.parametrize("user,expected", [("bob", EXIT_GATED), (None, EXIT_GATED),
                                           ("alice", EXIT_OK)])
def test_gated_repo(ferry, hub, user, expected):
    """bob is not approved (the hub answers 403 GatedRepo on resolve), anonymous gets 401
    GatedRepo, alice is approved."""
    token = ["--token", hub.tokens[user]] if user else []
    r = ferry("demo/gated-model", "-q", *token)
    assert r.returncode == expected, r.describe()
    snap = os.path.join(ferry.cache, "models--demo--gated-model", "snapshots")
    if expected == EXIT_OK:
        body = hub.get("/demo/gated-model/resolve/main/config.json",
                       token=hub.tokens["alice"]).body
        assert read_bytes(os.path.join(r.stdout.strip(), "config.json")) == body
    else:
        blobs = os.path.join(ferry.cache, "models--demo--gated-model", "blobs")
        assert not os.path.isdir(blobs) or os.listdir(blobs) == []
        assert not os.path.isdir(snap) or all(os.listdir(os.path.join(snap, c)) == []
                                               for c in os.listdir(snap))


def test_invalid_token_is_15(ferry, log):
    bad = "hf_" + "x" * 34
    r = ferry("demo/tiny-model", "--token", bad)
    assert r.returncode == EXIT_BAD_TOKEN, r.describe()
    assert bad not in r.stdout + r.stderr
    assert resolve_gets(log.lines()) == []


def test_filenames_with_include_is_a_usage_error(ferry, log):
    r = ferry("demo/tiny-model", "config.json", "--include", "*.json")
    assert r.returncode == EXIT_USAGE, r.describe()
    r = ferry("demo/tiny-model", "config.json", "--exclude", "*.json")
    assert r.returncode == EXIT_USAGE, r.describe()
    r = ferry("demo/tiny-model", "--repo-type", "nonsense")
    assert r.returncode == EXIT_USAGE, r.describe()
    r = ferry()
    assert r.returncode == EXIT_USAGE, r.describe()
    assert log.lines() == [], "a usage error must not reach the hub"


def test_json_error_object(ferry, tiny):
    r = ferry("demo/no-such-repo", "--json")
    assert r.returncode == EXIT_REPO_NOT_FOUND, r.describe()
    summary = json.loads(r.stdout)
    assert summary["ok"] is False
    error = summary["error"]
    assert {"code", "name", "message", "http_status"} <= set(error)
    assert error["code"] == EXIT_REPO_NOT_FOUND
    assert error["http_status"] == 401  # anonymous: the hub hides the repo behind a 401
    assert isinstance(error["name"], str) and error["name"]
    assert "token" in error["message"].lower()

    r = ferry("demo/tiny-model", "missing.txt", "--json")
    assert r.returncode == EXIT_ENTRY_NOT_FOUND, r.describe()
    summary = json.loads(r.stdout)
    assert summary["ok"] is False
    assert summary["error"]["code"] == EXIT_ENTRY_NOT_FOUND
    assert summary["commit"] == tiny.commit
