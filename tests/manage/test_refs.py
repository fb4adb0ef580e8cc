"""ferry branch create|delete and ferry tag create|delete|list against the local hub."""
import os

from mghelpers import (EXIT_AUTH, EXIT_BAD_REQUEST, EXIT_CONFLICT, EXIT_REPO_NOT_FOUND, EXIT_REVISION_NOT_FOUND,
                       EXIT_USAGE, TAG_LIST_KEYS, commit_file, fails, hub_create, hub_info,
                       hub_refs, json_of, ok, unique)

BRANCH_KEYS = {"ok", "repo_id", "repo_type", "branch", "revision", "created", "error"}
BRANCH_DELETE_KEYS = {"ok", "repo_id", "repo_type", "branch", "error"}
TAG_KEYS = {"ok", "repo_id", "repo_type", "tag", "revision", "message", "error"}
TAG_DELETE_KEYS = {"ok", "repo_id", "repo_type", "tag", "error"}


def test_branch_create_from_main_and_from_a_revision(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    first = hub_info(hub, name).json()["sha"]
    second = commit_file(hub, name, "a.txt", "a\n")
    r = ok(ferry("branch", "create", name, "dev", "--json"))
    assert json_of(r, BRANCH_KEYS) == {"ok": True, "repo_id": name, "repo_type": "model",
                                       "branch": "dev", "revision": "main", "created": True,
                                       "error": None}
    ok(ferry("branch", "create", name, "old", "--revision", first))
    ok(ferry("branch", "create", name, "feature/x", "--revision", "dev"))
    branches, _ = hub_refs(hub, name)
    assert branches == {"main": second, "dev": second, "old": first, "feature/x": second}


def test_branch_exists(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    ok(ferry("branch", "create", name, "dev"))
    fails(ferry("branch", "create", name, "dev"), EXIT_CONFLICT, "already exists")
    r = ok(ferry("branch", "create", name, "dev", "--exist-ok", "--json"))
    assert json_of(r, BRANCH_KEYS)["created"] is False


def test_branch_errors(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    fails(ferry("branch", "create", name, "x", "--revision", "nope"), EXIT_REVISION_NOT_FOUND)
    fails(ferry("branch", "create", name, "x", token="bob"), EXIT_AUTH)
    fails(ferry("branch", "create", name, "../x"), EXIT_USAGE, "branch name")
    fails(ferry("branch", "create", "demo/" + unique("none"), "x"), EXIT_REPO_NOT_FOUND)
    fails(ferry("branch", "create", name, "x", "-m", "msg"), EXIT_USAGE, "does not take")
    assert set(hub_refs(hub, name)[0]) == {"main"}


def test_branch_delete(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    ok(ferry("branch", "create", name, "dev"))
    r = ok(ferry("branch", "delete", name, "dev", "--json"))
    assert json_of(r, BRANCH_DELETE_KEYS)["branch"] == "dev"
    assert set(hub_refs(hub, name)[0]) == {"main"}
    fails(ferry("branch", "delete", name, "dev"), EXIT_REVISION_NOT_FOUND)
    # the Hub's reason, not a guess about the token; the exit code of a refused operation
    r = fails(ferry("branch", "delete", name, "main"), EXIT_BAD_REQUEST,
              "refused by the Hub", "Cannot delete the default branch")
    assert "write access" not in r, r
    assert set(hub_refs(hub, name)[0]) == {"main"}
    # a 403 about rights still says so, with its own exit code
    fails(ferry("branch", "delete", name, "main", token="demo-read"), EXIT_AUTH, "read access")


def test_tag_create_with_message_and_revision(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    first = hub_info(hub, name).json()["sha"]
    second = commit_file(hub, name, "b.txt", "b\n")
    r = ok(ferry("tag", "create", name, "v1.0", "-m", "first release", "--json"))
    assert json_of(r, TAG_KEYS) == {"ok": True, "repo_id": name, "repo_type": "model",
                                    "tag": "v1.0", "revision": "main",
                                    "message": "first release", "error": None}
    ok(ferry("tag", "create", name, "v0", "--revision", first))
    _, tags = hub_refs(hub, name)
    assert tags == {"v1.0": second, "v0": first}
    fails(ferry("tag", "create", name, "v1.0"), EXIT_CONFLICT, "already exists")
    fails(ferry("tag", "create", name, "v2", "--revision", "0" * 40), EXIT_REVISION_NOT_FOUND)
    fails(ferry("tag", "create", name, "v2", token="demo-read"), EXIT_AUTH)
    fails(ferry("tag", "create", name, "v2", "--exist-ok"), EXIT_USAGE, "does not take")
    fails(ferry("tag", "create", name, os.fsdecode(b"v\xff")), EXIT_USAGE, "UTF-8")
    fails(ferry("tag", "create", name, "v3", "-m", os.fsdecode(b"\xc3(")), EXIT_USAGE, "UTF-8")
    fails(ferry("branch", "create", name, "b", "--revision", os.fsdecode(b"\xff")), EXIT_USAGE,
          "UTF-8")


def test_tag_list(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    sha = hub_info(hub, name).json()["sha"]
    r = ok(ferry("tag", "list", name, "--json"))
    assert json_of(r, TAG_LIST_KEYS)["tags"] == []
    for t in ("b", "a"):
        ok(ferry("tag", "create", name, t))
    r = ok(ferry("tag", "list", name, "--json"))
    assert sorted(json_of(r, TAG_LIST_KEYS)["tags"], key=lambda t: t["name"]) == [
        {"name": "a", "ref": "refs/tags/a", "commit": sha},
        {"name": "b", "ref": "refs/tags/b", "commit": sha}]
    assert sorted(ok(ferry("tag", "list", name, "-q")).stdout.split()) == ["a", "b"]
    human = ok(ferry("tag", "ls", name)).stdout.splitlines()
    assert sorted(line.split() for line in human) == [["a", sha], ["b", sha]]
    fails(ferry("tag", "list", "demo/" + unique("none")), EXIT_REPO_NOT_FOUND)


def test_tag_delete(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    ok(ferry("tag", "create", name, "v1"))
    fails(ferry("tag", "delete", name, "v1"), EXIT_USAGE, "refusing", "-y")
    assert "v1" in hub_refs(hub, name)[1]
    r = ok(ferry("tag", "delete", name, "v1", "-y", "--json"))
    assert json_of(r, TAG_DELETE_KEYS)["tag"] == "v1"
    assert hub_refs(hub, name)[1] == {}
    fails(ferry("tag", "delete", name, "v1", "-y"), EXIT_REVISION_NOT_FOUND)


def test_refs_of_a_dataset(ferry, hub):
    name = hub_create(hub, "demo/" + unique("ds"), "dataset")
    ok(ferry("tag", "create", "datasets/" + name, "v1"))
    ok(ferry("branch", "create", name, "dev", "--repo-type", "dataset"))
    branches, tags = hub_refs(hub, name, "dataset")
    assert set(branches) == {"main", "dev"} and set(tags) == {"v1"}
    # the same id as a model does not exist
    fails(ferry("tag", "list", name), EXIT_REPO_NOT_FOUND)


def test_refs_usage(ferry):
    for args in (["tag"], ["tag", "push"], ["branch"], ["branch", "create", "a/b"],
                 ["tag", "list", "a/b", "c"]):
        assert ferry(*args).returncode == EXIT_USAGE, args
