"""A user's whole day with ferry and the official JavaScript client on one repo: create, upload
(by the JS client, ferry upload is not there yet), tag, branch, search, ls, info, settings,
delete; and the JS client sees what ferry did (and the other way round)."""
import os

from ferrytest import git_blob_id, sha256_bytes
from mghelpers import (CREATE_KEYS, EXIT_REPO_NOT_FOUND, INFO_KEYS, LS_KEYS, SEARCH_KEYS,
                       TAG_LIST_KEYS, commit_file, fails, hub_create, js, json_of, ok, unique)

README = b"""---
license: mit
language:
- en
tags:
- ferry-scenario
datasets: [demo/many-files]
---

# scenario model
"""


def test_full_scenario(ferry, hub, tmp_path):
    name = "demo/" + unique("scenario")
    # 1. create: the JS client sees the new repo
    created = json_of(ok(ferry("repo", "create", name, "--json")), CREATE_KEYS)
    assert created["created"] is True
    assert js(hub, "exists", "model", name) == {"exists": True}

    # 2. upload with the JS client: a card, a config, LFS weights and a nested file
    files = {"README.md": README, "config.json": b'{"hidden_size": 8}\n',
             "weights.bin": os.urandom(1 << 20) + b"\0",
             "sub/dir/notes.txt": b"nested notes\n"}
    specs = []
    for path, data in files.items():
        local = tmp_path / path.replace("/", "_")
        local.write_bytes(data)
        specs.append(f"{path}={local}")
    upload = js(hub, "upload", "model", name, *specs)["commit"]

    # 3. tag the upload and branch from the tag; a commit on the branch only
    ok(ferry("tag", "create", name, "v1.0", "-m", "first weights"))
    ok(ferry("branch", "create", name, "experiment", "--revision", "v1.0"))
    dev = commit_file(hub, name, "experiment.txt", "only here\n", branch="experiment")
    tags = json_of(ok(ferry("tag", "list", name, "--json")), TAG_LIST_KEYS)["tags"]
    assert tags == [{"name": "v1.0", "ref": "refs/tags/v1.0", "commit": upload}]
    assert js(hub, "info", "model", name, "v1.0")["sha"] == upload  # the JS client reads the tag
    assert js(hub, "info", "model", name, "experiment")["sha"] == dev

    # 4. search finds it, by part of its name and its author
    found = json_of(ok(ferry("search", "models", name.split("/")[1], "--author", "demo",
                             "--json")), SEARCH_KEYS)
    assert [x["id"] for x in found["results"]] == [name]

    # 5. ls: every file, its size and LFS flag, as uploaded
    listing = json_of(ok(ferry("ls", name, "-R", "--json")), LS_KEYS)
    entries = {e["path"]: e for e in listing["entries"] if e["type"] == "file"}
    assert set(entries) == set(files) | {".gitattributes"}
    for path, data in files.items():
        e = entries[path]
        assert e["size"] == len(data), path
        if path == "weights.bin":
            assert e["lfs"] is True and e["sha256"] == sha256_bytes(data)
        else:
            assert e["lfs"] is False and e["oid"] == git_blob_id(data), path
    assert {e["path"] for e in listing["entries"] if e["type"] == "directory"} == {"sub", "sub/dir"}
    assert listing["commit"] == upload and listing["lfs_files"] == 1
    on_branch = json_of(ok(ferry("ls", name, "--revision", "experiment", "-q", "--json")),
                        LS_KEYS)
    assert "experiment.txt" in [e["path"] for e in on_branch["entries"]]
    assert "experiment.txt" not in entries

    # 6. info: the commit, the card's metadata, the files and the total size
    info = json_of(ok(ferry("info", name, "--json")), INFO_KEYS)
    assert info["sha"] == upload and info["private"] is False and info["gated"] == "false"
    assert info["card_data"] == {"license": "mit", "language": ["en"], "tags": ["ferry-scenario"],
                                 "datasets": ["demo/many-files"]}
    sizes = {f["path"]: (f["size"], f["lfs"]) for f in info["files"]}
    assert sizes["weights.bin"] == (len(files["weights.bin"]), True)
    uploaded = sum(len(d) for d in files.values())
    assert info["total_size"] == uploaded + entries[".gitattributes"]["size"]

    # 7. settings: private and gated, as the JS client reads them
    ok(ferry("repo", "settings", name, "--private", "--gated", "auto"))
    seen = js(hub, "info", "model", name)
    assert seen["private"] is True and seen["gated"] == "auto"

    # 8. delete: gone for ferry and for the JS client
    ok(ferry("repo", "delete", name, "-y"))
    assert js(hub, "exists", "model", name) == {"exists": False}
    fails(ferry("info", name), EXIT_REPO_NOT_FOUND)


def test_js_client_repo_is_managed_by_ferry(ferry, hub):
    name = "demo/" + unique("fromjs")
    url = js(hub, "create", "dataset", name)["url"]
    assert url.endswith("/datasets/" + name)
    info = json_of(ok(ferry("info", "datasets/" + name, "--json")), INFO_KEYS)
    assert [f["path"] for f in info["files"]] == [".gitattributes"]
    ok(ferry("tag", "create", "datasets/" + name, "v0"))
    assert js(hub, "info", "dataset", name, "v0")["sha"] == info["sha"]
    ok(ferry("repo", "move", name, "demo-org/" + name.split("/")[1], "--repo-type", "dataset"))
    assert js(hub, "exists", "dataset", name) == {"exists": False}
    assert js(hub, "exists", "dataset", "demo-org/" + name.split("/")[1]) == {"exists": True}


def test_private_repo_created_by_ferry_as_the_js_client_sees_it(ferry, hub):
    name = "demo/" + unique("priv")
    ok(ferry("repo", "create", name, "--private"))
    assert js(hub, "info", "model", name)["private"] is True
    assert js(hub, "exists", "model", name, token=hub.tokens["bob"]) == {"exists": False}
    hub_create(hub, name + "-b")  # the hub's API and ferry agree on names
    assert json_of(ok(ferry("info", name + "-b", "--json")), INFO_KEYS)["private"] is False
