"""--revision by branch, tag, short sha, full sha and refs/pr/N, on a repo made for the test
through the hub's API."""
import base64
import json
import os
import uuid

import pytest

from dlhelpers import EXIT_OK, resolve_gets
from ferrytest import git_blob_id, read_bytes


def commit(hub, repo, files, rev="main", create_pr=False):
    header = {"key": "header", "value": {"summary": "test", "description": ""}}
    lines = [header] + [{"key": "file", "value": {"path": p, "encoding": "base64",
                                                  "content": base64.b64encode(c).decode()}}
                        for p, c in files.items()]
    url = "/api/models/%s/commit/%s" % (repo, rev.replace("/", "%2F"))
    if create_pr:
        url += "?create_pr=1"
    ans = hub.post(url, token=hub.token, body=("\n".join(json.dumps(x) for x in lines) + "\n")
                   .encode(), headers={"Content-Type": "application/x-ndjson"})
    assert ans.status == 200, ans.body
    return ans.json()["commitOid"]


@pytest.fixture(scope="module")
def revisions(hub):
    """A repo with main, a branch `dev`, a tag `v1.0` on the first commit and a PR refs/pr/1."""
    name = "rev-" + uuid.uuid4().hex[:8]
    ans = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": name, "organization": "demo", "type": "model"})
    assert ans.status == 200, ans.body
    repo = "demo/" + name
    v1 = {"a.txt": b"version one\n", "sub/dir/b.txt": b"nested one\n"}
    first = commit(hub, repo, v1)
    assert hub.post(f"/api/models/{repo}/tag/main", token=hub.token,
                    json_body={"tag": "v1.0"}).status == 200
    assert hub.post(f"/api/models/{repo}/branch/dev", token=hub.token,
                    json_body={}).status == 200
    dev = commit(hub, repo, {"a.txt": b"dev version\n", "dev-only.txt": b"dev\n"}, rev="dev")
    second = commit(hub, repo, {"a.txt": b"version two\n"})
    pr = commit(hub, repo, {"pr.txt": b"from the pull request\n"}, create_pr=True)
    refs = hub.get(f"/api/models/{repo}/refs?include_prs=1").json()
    assert {p["ref"]: p["targetCommit"] for p in refs["pullRequests"]} == {"refs/pr/1": pr}
    return {"repo": repo, "first": first, "dev": dev, "second": second, "pr": pr}


def snapshot_content(folder):
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = read_bytes(path)
    return found


CASES = {
    "branch": ("dev", "dev", {"a.txt": b"dev version\n", "dev-only.txt": b"dev\n",
                              "sub/dir/b.txt": b"nested one\n"}),
    "tag": ("v1.0", "first", {"a.txt": b"version one\n", "sub/dir/b.txt": b"nested one\n"}),
    "main": ("main", "second", {"a.txt": b"version two\n", "sub/dir/b.txt": b"nested one\n"}),
    "pr": ("refs/pr/1", "pr", {"a.txt": b"version two\n", "sub/dir/b.txt": b"nested one\n",
                               "pr.txt": b"from the pull request\n"}),
    "full sha": (None, "first", {"a.txt": b"version one\n", "sub/dir/b.txt": b"nested one\n"}),
    "short sha": (None, "dev", {"a.txt": b"dev version\n", "dev-only.txt": b"dev\n",
                                "sub/dir/b.txt": b"nested one\n"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_revision(ferry, revisions, case, log):
    revision, commit_key, content = CASES[case]
    commit_id = revisions[commit_key]
    if case == "full sha":
        revision = commit_id
    elif case == "short sha":
        revision = commit_id[:7]
    r = ferry(revisions["repo"], "--revision", revision, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    repo_dir = os.path.join(ferry.cache, "models--" + revisions["repo"].replace("/", "--"))
    snap = os.path.join(repo_dir, "snapshots", commit_id)
    assert r.stdout == snap + "\n"
    got = snapshot_content(snap)
    got.pop(".gitattributes")
    assert got == content
    for path, data in content.items():
        target = os.readlink(os.path.join(snap, path))
        assert target == "../" * (path.count("/") + 2) + "blobs/" + git_blob_id(data)
    if case in ("branch", "tag", "main", "pr"):
        with open(os.path.join(repo_dir, "refs", *revision.split("/")), "rb") as f:
            assert f.read() == commit_id.encode()
    if case == "full sha":
        assert not os.path.exists(os.path.join(repo_dir, "refs", commit_id))
    # the files are fetched at the commit, whatever the revision's name
    assert all(f"/resolve/{commit_id}/" in ln.path for ln in resolve_gets(log.lines()))


def test_single_file_at_a_tag(ferry, revisions):
    r = ferry(revisions["repo"], "sub/dir/b.txt", "--revision", "v1.0", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    repo_dir = os.path.join(ferry.cache, "models--" + revisions["repo"].replace("/", "--"))
    pointer = os.path.join(repo_dir, "snapshots", revisions["first"], "sub", "dir", "b.txt")
    assert r.stdout == pointer + "\n"
    assert os.readlink(pointer) == "../../../../blobs/" + git_blob_id(b"nested one\n")
    with open(os.path.join(repo_dir, "refs", "v1.0"), "rb") as f:
        assert f.read() == revisions["first"].encode()


def test_blobs_shared_between_revisions_are_not_fetched_again(ferry, revisions, log):
    r = ferry(revisions["repo"], "--revision", "v1.0", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    r = ferry(revisions["repo"], "--revision", "main", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    fetched = {ln.path.rsplit("/", 1)[-1] for ln in resolve_gets(log.lines())}
    # main changed a.txt only; b.txt and .gitattributes have the same blobs as at v1.0
    assert fetched == {"a.txt"}


@pytest.mark.parametrize("case", ["branch", "tag", "main", "pr", "full sha"])
def test_offline_revision_from_refs(ferry, revisions, case, log):
    revision, commit_key, _ = CASES[case]
    revision = revision or revisions[commit_key]
    r = ferry(revisions["repo"], "--revision", revision, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    offline = ferry(revisions["repo"], "--revision", revision, "-q", env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == EXIT_OK, offline.describe()
    assert offline.stdout == r.stdout
    assert log.lines() == []
