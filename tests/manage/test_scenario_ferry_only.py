"""The issue's whole scenario with ferry alone: log in, create a model repo, write and check a
card, upload, tag, branch, search finds it, list it, download it back, delete it, log out."""
import hashlib
import json
import os

from mghelpers import (EXIT_REPO_NOT_FOUND, LS_KEYS, SEARCH_KEYS, TAG_LIST_KEYS, fails, hub_refs,
                       json_of, ok, unique)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def test_ferry_only_scenario(ferry, hub, tmp_path):
    token = hub.tokens["demo"]
    name = "demo/" + unique("ferryday")

    # 1. login from stdin (not a terminal); afterwards no HF_TOKEN is needed
    with open(tmp_path / "token.txt", "w") as f:
        f.write(token + "\n")
    with open(tmp_path / "token.txt") as f:
        ok(ferry("auth", "login", token=None, stdin=f))
    who = json.loads(ok(ferry("auth", "whoami", "--json", token=None)).stdout)
    assert who["user"] == "demo"

    # 2. create the repo
    ok(ferry("repo", "create", name, token=None))

    # 3. a card: the scaffold, given a license and tags, passes the checker
    folder = tmp_path / "ckpt"
    folder.mkdir()
    ok(ferry("card", "new", "-o", folder / "README.md", token=None))
    card = (folder / "README.md").read_text()
    ok(ferry("card", "check", folder / "README.md", token=None))

    # 4. upload a checkpoint: a multi-part LFS file, a config, a nested file
    weights = os.urandom(20 << 20)
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "config.json").write_text('{"hidden_size": 8}\n')
    (folder / "extra").mkdir()
    (folder / "extra" / "notes.txt").write_text("nested\n")
    up = ok(ferry("upload", name, folder, "--json", token=None))
    summary = json.loads(up.stdout)
    assert summary["ok"] and summary["commits"] == 1 and summary["files_committed"] == 4
    assert "no README.md" not in up.stderr
    head = summary["commit_oid"]

    # 5. tag the upload, branch from the tag
    ok(ferry("tag", "create", name, "v1", "-m", "first weights", token=None))
    ok(ferry("branch", "create", name, "exp", "--revision", "v1", token=None))
    tags = json_of(ok(ferry("tag", "list", name, "--json", token=None)), TAG_LIST_KEYS)["tags"]
    assert [(t["name"], t["commit"]) for t in tags] == [("v1", head)]
    branches, hub_tags = hub_refs(hub, name)
    assert branches["exp"] == head and hub_tags["v1"] == head

    # 6. search finds it; ls shows sizes and which file is LFS
    found = json_of(ok(ferry("search", "models", name.split("/")[1], "--json", token=None)),
                    SEARCH_KEYS)
    assert [r["id"] for r in found["results"]] == [name]
    ls = json_of(ok(ferry("ls", name, "-R", "--json", token=None)), LS_KEYS)
    files = {e["path"]: e for e in ls["entries"] if e["type"] == "file"}
    assert files["model.safetensors"]["size"] == len(weights)
    assert files["model.safetensors"]["lfs"] is True
    assert files["model.safetensors"]["sha256"] == sha256(weights)
    assert files["config.json"]["lfs"] is False

    # 7. download back from the tag: the same bytes
    got = ok(ferry("download", name, "--revision", "v1", "-q", token=None)).stdout.strip()
    assert open(os.path.join(got, "model.safetensors"), "rb").read() == weights
    assert open(os.path.join(got, "README.md")).read() == card
    assert open(os.path.join(got, "extra", "notes.txt")).read() == "nested\n"

    # 8. delete (no terminal: -y needed), then it is gone; log out
    fails(ferry("repo", "delete", name, token=None), 2, "-y")
    ok(ferry("repo", "delete", name, "-y", token=None))
    fails(ferry("ls", name, token=None), EXIT_REPO_NOT_FOUND)
    ok(ferry("auth", "logout", token=None))
    assert not os.path.exists(os.path.join(ferry.env["HF_HOME"], "token"))
    r = ferry("auth", "whoami", token=None)
    assert r.returncode == 15, r.describe()
    assert token not in r.stdout + r.stderr + up.stdout + up.stderr
