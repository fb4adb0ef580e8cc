"""Tests of the local hub itself: start/stop, git semantics, error answers, uploads, knobs,
access log, and the conformance script of the official JavaScript client."""
import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.parse
import uuid

import pytest

from ferrytest import git_blob_id
from hubtest import HERE, SEED_SIZE, Hub, start_hub, stop_hub

HEX40 = re.compile(r"^[0-9a-f]{40}$")


def lfs_pointer(sha, size):
    return ("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha, size)).encode()


def new_repo(hub, private=False, rtype="model", token=None):
    name = "t-" + uuid.uuid4().hex[:10]
    body = {"name": name, "organization": "demo", "type": rtype}
    if private:
        body["visibility"] = "private"
    ans = hub.post("/api/repos/create", token=token or hub.token, json_body=body)
    assert ans.status == 200, ans.body
    return "demo/" + name


def commit(hub, repo, lines, rev="main", create_pr=False, parent=None, summary="test commit",
           token=None, rtype="models"):
    header = {"summary": summary, "description": ""}
    if parent:
        header["parentCommit"] = parent
    body = "\n".join(json.dumps(x) for x in [{"key": "header", "value": header}] + lines) + "\n"
    url = "/api/%s/%s/commit/%s" % (rtype, repo, urllib.parse.quote(rev, safe=""))
    if create_pr:
        url += "?create_pr=1"
    return hub.post(url, token=token or hub.token, body=body.encode(),
                    headers={"Content-Type": "application/x-ndjson"})


def add_file(path, content: bytes):
    return {"key": "file", "value": {"path": path, "encoding": "base64",
                                     "content": base64.b64encode(content).decode()}}


def lfs_upload(hub, repo, content: bytes, prefix=""):
    """Uploads content through the LFS batch API (basic or multipart); returns the sha256."""
    sha = hashlib.sha256(content).hexdigest()
    ans = hub.post("/%s%s.git/info/lfs/objects/batch" % (prefix, repo), token=hub.token, json_body={
        "operation": "upload", "transfers": ["basic", "multipart"], "hash_algo": "sha256",
        "objects": [{"oid": sha, "size": len(content)}], "ref": {"name": "main"}},
        headers={"Accept": "application/vnd.git-lfs+json"})
    assert ans.status == 200, ans.body
    assert ans.json()["transfer"] != "xet"
    obj = ans.json()["objects"][0]
    if "actions" not in obj:
        return sha
    upload = obj["actions"]["upload"]
    header = upload.get("header") or {}
    if "chunk_size" in header:
        chunk = int(header["chunk_size"])
        parts = sorted((k for k in header if k.isdigit()), key=int)
        etags = []
        for i, key in enumerate(parts):
            put = hub.request("PUT", header[key], body=content[i * chunk:(i + 1) * chunk])
            assert put.status in (200, 201, 204), put.body
            assert put.header("etag")
            etags.append({"partNumber": i + 1, "etag": put.header("etag")})
        done = hub.post(upload["href"], json_body={"oid": sha, "parts": etags},
                        headers={"Content-Type": "application/vnd.git-lfs+json"})
        assert done.status == 200, done.body
    else:
        put = hub.request("PUT", upload["href"], body=content)
        assert put.status in (200, 201, 204), put.body
        if "verify" in obj["actions"]:
            ver = hub.post(obj["actions"]["verify"]["href"], token=hub.token,
                           json_body={"oid": sha, "size": len(content)})
            assert ver.status == 200, ver.body
    return sha


def lfs_file(path, sha, size):
    return {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": sha, "size": size}}


def tree_all(hub, url, token=None):
    out, pages = [], 0
    while url:
        ans = hub.get(url, token=token)
        assert ans.status == 200, ans.body
        out += ans.json()
        pages += 1
        link = ans.header("link")
        url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None
        assert pages < 100
    return out, pages


# --- start / stop ------------------------------------------------------------------------------
def test_start_prints_env_lines(hub):
    env = hub.env
    assert re.match(r"^https://127\.0\.0\.1:\d+$", env["HF_ENDPOINT"])
    assert os.path.isfile(env["LOCALHUB_CA"])
    assert re.match(r"^hf_[A-Za-z]{34}$", env["HF_TOKEN"])
    lines = hub.start_output.stdout.splitlines()
    assert lines[:3] == ["HF_ENDPOINT=" + env["HF_ENDPOINT"], "LOCALHUB_CA=" + env["LOCALHUB_CA"],
                         "HF_TOKEN=" + env["HF_TOKEN"]]
    assert all("export" not in line and '"' not in line for line in lines)


def test_http2_and_http11_are_offered(hub):
    for proto, expected in (("--http2", "HTTP/2 401"), ("--http1.1", "HTTP/1.1 401")):
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-D", "-", proto, "--cacert",
                              hub.env["LOCALHUB_CA"], hub.endpoint + "/api/whoami-v2"],
                             capture_output=True, text=True, timeout=30)
        assert out.stdout.startswith(expected), out.stdout + out.stderr


def test_start_stop_without_seed_and_restart_keeps_unfinished_multipart(tmp_path):
    d = tmp_path / "hub"
    t0 = time.time()
    env, _ = start_hub(d, "--multipart-threshold", "64K", "--chunk-size", "32K")
    assert time.time() - t0 < 10
    h = Hub(d, env, None)
    try:
        repo = new_repo(h)
        content = os.urandom(80 * 1024)
        sha = hashlib.sha256(content).hexdigest()
        batch = h.post("/%s.git/info/lfs/objects/batch" % repo, token=h.token, json_body={
            "operation": "upload", "transfers": ["basic", "multipart"],
            "objects": [{"oid": sha, "size": len(content)}]}).json()
        upload = batch["objects"][0]["actions"]["upload"]
        header = upload["header"]
        assert header["chunk_size"] == str(32 * 1024)
        parts = sorted((k for k in header if k.isdigit()), key=int)
        assert parts == ["00001", "00002", "00003"]
        assert h.request("PUT", header["00001"], body=content[:32768]).status in (201, 204)
        stop_hub(d)
        env2, _ = start_hub(d)
        assert env2 == env  # same ports and token after a restart
        etags = [{"partNumber": 1, "etag": '"x"'}]
        for i in (2, 3):
            put = h.request("PUT", header["%05d" % i], body=content[(i - 1) * 32768:i * 32768])
            assert put.status in (201, 204)
            etags.append({"partNumber": i, "etag": put.header("etag")})
        done = h.post(upload["href"], json_body={"oid": sha, "parts": etags})
        assert done.status == 200, done.body
        ans = commit(h, repo, [lfs_file("blob.bin", sha, len(content))])
        assert ans.status == 200, ans.body
        loc = h.head("/%s/resolve/main/blob.bin" % repo).header("location")
        assert hashlib.sha256(h.get(loc).body).hexdigest() == sha
    finally:
        stop_hub(d)
    port = int(env["HF_ENDPOINT"].rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "nginx still listening after stop"
    assert not os.path.exists(d / "run" / "nginx.pid")


def test_optional_plain_http_ports(tmp_path):
    d = tmp_path / "plain"
    env, _ = start_hub(d, "--http")
    h = Hub(d, env, None)
    try:
        plain = env["LOCALHUB_HTTP_ENDPOINT"]
        assert plain.startswith("http://127.0.0.1:")
        h.endpoint = plain
        repo = new_repo(h)
        created = h.post("/api/repos/create", token=h.token, json_body={"name": repo.split("/")[1]})
        assert created.json()["url"] == "%s/%s" % (plain, repo)
        sha = lfs_upload(h, repo, b"plain http payload" * 100)
        assert commit(h, repo, [lfs_file("p.bin", sha, 1800)]).status == 200
        loc = h.head("/%s/resolve/main/p.bin" % repo).header("location")
        assert loc.startswith("http://127.0.0.1:") and not loc.startswith(plain)
        assert h.get(loc).body == b"plain http payload" * 100
        h.endpoint = env["HF_ENDPOINT"]  # the TLS origin still answers with https links
        assert h.head("/%s/resolve/main/p.bin" % repo).header("location").startswith("https://")
    finally:
        stop_hub(d)


# --- identity --------------------------------------------------------------------------------
def test_whoami(hub):
    ans = hub.get("/api/whoami-v2", token=hub.token)
    assert ans.status == 200
    me = ans.json()
    assert me["name"] == "demo" and me["type"] == "user"
    assert [o["name"] for o in me["orgs"]] == ["demo-org"]
    assert me["auth"]["accessToken"]["role"] == "write"
    assert hub.get("/api/whoami-v2", token=hub.tokens["demo-read"]).json()["auth"]["accessToken"]["role"] == "read"


def test_invalid_token_is_401_with_the_real_message(hub):
    for url in ("/api/whoami-v2", "/api/models/demo/tiny-model",
                "/demo/tiny-model/resolve/main/config.json"):
        ans = hub.get(url, token="hf_invalidinvalidinvalid")
        assert ans.status == 401
        assert ans.header("x-error-message") == "Invalid credentials in Authorization header"
        assert ans.json()["error"] == "Invalid credentials in Authorization header"


def test_anonymous_reads_public_repos(hub):
    ans = hub.get("/demo/tiny-model/resolve/main/config.json")
    assert ans.status == 200 and json.loads(ans.body)["model_type"] == "llama"


# --- seeded content --------------------------------------------------------------------------
def test_seeded_tiny_model(hub):
    info = hub.get("/api/models/demo/tiny-model?blobs=true").json()
    sib = {s["rfilename"]: s for s in info["siblings"]}
    assert set(sib) == {".gitattributes", "config.json", "tokenizer.json", "README.md",
                        "model.safetensors"}
    st = sib["model.safetensors"]
    assert st["size"] == SEED_SIZE and st["lfs"]["size"] == SEED_SIZE
    assert st["blobId"] == git_blob_id(lfs_pointer(st["lfs"]["sha256"], SEED_SIZE))
    head = hub.head("/demo/tiny-model/resolve/main/model.safetensors")
    assert head.status == 302
    assert head.header("x-linked-etag") == '"%s"' % st["lfs"]["sha256"]
    assert head.header("x-linked-size") == str(SEED_SIZE)
    assert head.header("x-repo-commit") == info["sha"]
    data = hub.get(head.header("location")).body
    assert len(data) == SEED_SIZE and hashlib.sha256(data).hexdigest() == st["lfs"]["sha256"]
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + header_len])
    assert header["weight"]["data_offsets"][1] == SEED_SIZE - 8 - header_len


def test_seeded_many_files_and_tree_pagination(hub):
    entries, pages = tree_all(hub, "/api/datasets/demo/many-files/tree/main?recursive=true")
    files = [e for e in entries if e["type"] == "file"]
    dirs = [e for e in entries if e["type"] == "directory"]
    data_files = [f for f in files if f["path"].startswith("data/")]
    assert len(data_files) == 2000
    assert pages >= 3  # 1000 entries a page
    assert all(4096 <= f["size"] <= 65536 for f in data_files)
    assert {"data", "data/group-00", "data/group-00/part-0"} <= {d["path"] for d in dirs}
    assert len({e["path"] for e in entries}) == len(entries)
    top = hub.get("/api/datasets/demo/many-files/tree/main").json()
    assert sorted(e["path"] for e in top) == [".gitattributes", "README.md", "data"]
    sub = hub.get("/api/datasets/demo/many-files/tree/main/data%2Fgroup-03").json()
    assert {e["path"] for e in sub} == {"data/group-03/part-%d" % i for i in range(5)}


def test_tree_directory_oids_match_git(hub, tmp_path):
    """Directory oids are real git tree ids: rebuild the folder with git and compare."""
    repo = new_repo(hub)
    files = {"a.txt": b"alpha\n", "sub/b.txt": b"beta\n", "sub/deeper/c.md": b"# c\n",
             "sub-file": b"sorts between sub and sub/\n"}
    ans = commit(hub, repo, [add_file(p, c) for p, c in files.items()])
    assert ans.status == 200
    entries, _ = tree_all(hub, "/api/models/%s/tree/main?recursive=true" % repo)
    by_path = {e["path"]: e for e in entries}
    work = tmp_path / "git"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    attrs = hub.get("/%s/resolve/main/.gitattributes" % repo).body
    for p, c in list(files.items()) + [(".gitattributes", attrs)]:
        (work / p).parent.mkdir(parents=True, exist_ok=True)
        (work / p).write_bytes(c)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    tree = subprocess.run(["git", "-C", str(work), "write-tree"], capture_output=True, text=True,
                          check=True).stdout.strip()
    for d in ("sub", "sub/deeper"):
        want = subprocess.run(["git", "-C", str(work), "rev-parse", "%s:%s" % (tree, d)],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert by_path[d]["oid"] == want
    for p, c in files.items():
        assert by_path[p]["oid"] == git_blob_id(c)


# --- git semantics ---------------------------------------------------------------------------
def test_new_repo_has_initial_commit_with_gitattributes(hub):
    repo = new_repo(hub)
    commits = hub.get("/api/models/%s/commits/main" % repo).json()
    assert len(commits) == 1 and commits[0]["title"] == "initial commit"
    assert commits[0]["authors"][0]["user"] == "demo"
    files = hub.get("/api/models/%s/tree/main" % repo).json()
    assert [f["path"] for f in files] == [".gitattributes"]
    attrs = hub.get("/%s/resolve/main/.gitattributes" % repo).body.decode()
    assert "*.safetensors filter=lfs diff=lfs merge=lfs -text" in attrs
    info = hub.get("/api/models/%s" % repo).json()
    assert info["sha"] == commits[0]["id"] and HEX40.match(info["sha"])


def test_commits_have_parents_and_page_with_link(hub):
    repo = new_repo(hub)
    shas = [hub.get("/api/models/%s/revision/main" % repo).json()["sha"]]
    for i in range(4):
        ans = commit(hub, repo, [add_file("f%d.txt" % i, b"%d\n" % i)], summary="c%d" % i,
                     parent=shas[-1])
        assert ans.status == 200, ans.body
        body = ans.json()
        assert body["commitUrl"] == "%s/%s/commit/%s" % (hub.endpoint, repo, body["commitOid"])
        shas.append(body["commitOid"])
    first = hub.get("/api/models/%s/commits/main?limit=2" % repo)
    assert first.header("x-total-count") == "5"
    assert [c["id"] for c in first.json()] == shas[::-1][:2]
    everything, pages = tree_all(hub, "/api/models/%s/commits/main?limit=2" % repo)
    assert pages == 3 and [c["id"] for c in everything] == shas[::-1]
    assert [c["title"] for c in everything] == ["c3", "c2", "c1", "c0", "initial commit"]


def test_stale_parent_commit_is_refused(hub):
    repo = new_repo(hub)
    base = hub.get("/api/models/%s/revision/main" % repo).json()["sha"]
    assert commit(hub, repo, [add_file("a.txt", b"a")], parent=base).status == 200
    ans = commit(hub, repo, [add_file("b.txt", b"b")], parent=base)
    assert ans.status == 412
    assert "b.txt" not in [f["path"] for f in hub.get("/api/models/%s/tree/main" % repo).json()]


def test_branches_tags_and_refs(hub):
    repo = new_repo(hub)
    main1 = commit(hub, repo, [add_file("a.txt", b"a\n")]).json()["commitOid"]
    assert hub.post("/api/models/%s/branch/dev" % repo, token=hub.token, json_body={}).status == 200
    assert hub.post("/api/models/%s/branch/dev" % repo, token=hub.token, json_body={}).status == 409
    dev1 = commit(hub, repo, [add_file("dev.txt", b"dev\n")], rev="dev").json()["commitOid"]
    dev_commit = hub.get("/api/models/%s/commits/dev" % repo).json()
    assert [c["id"] for c in dev_commit[:2]] == [dev1, main1]
    assert hub.get("/%s/resolve/main/dev.txt" % repo).status == 404
    assert hub.get("/%s/resolve/dev/dev.txt" % repo).body == b"dev\n"
    # a tag on main, then main moves on; the tag stays
    assert hub.post("/api/models/%s/tag/main" % repo, token=hub.token,
                    json_body={"tag": "v1.0", "message": "first"}).status == 200
    assert hub.post("/api/models/%s/tag/main" % repo, token=hub.token,
                    json_body={"tag": "v1.0"}).status == 409
    main2 = commit(hub, repo, [add_file("a.txt", b"a2\n")]).json()["commitOid"]
    assert hub.get("/%s/resolve/v1.0/a.txt" % repo).body == b"a\n"
    assert hub.get("/%s/resolve/main/a.txt" % repo).body == b"a2\n"
    refs = hub.get("/api/models/%s/refs" % repo).json()
    assert {b["name"]: b["targetCommit"] for b in refs["branches"]} == {"main": main2, "dev": dev1}
    assert refs["tags"] == [{"name": "v1.0", "ref": "refs/tags/v1.0", "targetCommit": main1}]
    assert refs["converts"] == [] and "pullRequests" not in refs
    # branch from a starting point; delete branch and tag
    assert hub.post("/api/models/%s/branch/from-tag" % repo, token=hub.token,
                    json_body={"startingPoint": "v1.0"}).status == 200
    assert hub.get("/api/models/%s/revision/from-tag" % repo).json()["sha"] == main1
    assert hub.request("DELETE", "/api/models/%s/branch/dev" % repo, token=hub.token).status == 200
    assert hub.request("DELETE", "/api/models/%s/tag/v1.0" % repo, token=hub.token).status == 200
    refs = hub.get("/api/models/%s/refs" % repo).json()
    assert sorted(b["name"] for b in refs["branches"]) == ["from-tag", "main"]
    assert refs["tags"] == []
    assert hub.get("/%s/resolve/dev/dev.txt" % repo).header("x-error-code") == "RevisionNotFound"


def test_create_pr_makes_refs_pr_n(hub):
    repo = new_repo(hub)
    main = hub.get("/api/models/%s/revision/main" % repo).json()["sha"]
    ans = commit(hub, repo, [add_file("pr.txt", b"pr\n")], create_pr=True)
    assert ans.status == 200
    body = ans.json()
    assert body["pullRequestUrl"] == "%s/%s/discussions/1" % (hub.endpoint, repo)
    ans2 = commit(hub, repo, [add_file("pr2.txt", b"pr2\n")], create_pr=True)
    assert ans2.json()["pullRequestUrl"].endswith("/discussions/2")
    assert hub.get("/api/models/%s/revision/main" % repo).json()["sha"] == main
    refs = hub.get("/api/models/%s/refs?include_prs=1" % repo).json()
    assert {p["ref"]: p["targetCommit"] for p in refs["pullRequests"]} == {
        "refs/pr/1": body["commitOid"], "refs/pr/2": ans2.json()["commitOid"]}
    # percent-encoded (Python client) and raw (JS client tree/commits) revisions
    assert hub.get("/%s/resolve/refs%%2Fpr%%2F1/pr.txt" % repo).body == b"pr\n"
    assert "pr.txt" in [e["path"] for e in hub.get("/api/models/%s/tree/refs/pr/1" % repo).json()]
    assert hub.get("/api/models/%s/commits/refs/pr/1" % repo).json()[0]["id"] == body["commitOid"]
    # a commit onto the PR ref itself
    more = commit(hub, repo, [add_file("pr-more.txt", b"x")], rev="refs/pr/1")
    assert more.status == 200
    assert hub.get("/api/models/%s/revision/refs%%2Fpr%%2F1" % repo).json()["sha"] == more.json()["commitOid"]


def test_revisions_by_full_and_short_sha_and_head(hub):
    repo = new_repo(hub)
    first = commit(hub, repo, [add_file("v.txt", b"one\n")]).json()["commitOid"]
    commit(hub, repo, [add_file("v.txt", b"two\n")])
    assert hub.get("/%s/resolve/%s/v.txt" % (repo, first)).body == b"one\n"
    assert hub.get("/%s/resolve/%s/v.txt" % (repo, first[:7])).body == b"one\n"
    assert hub.get("/api/models/%s/revision/%s" % (repo, first[:8])).json()["sha"] == first
    head = hub.get("/api/models/%s/revision/HEAD" % repo).json()["sha"]
    assert head == hub.get("/api/models/%s/revision/main" % repo).json()["sha"] != first
    ans = hub.get("/%s/resolve/main/v.txt" % repo)
    assert ans.header("x-repo-commit") == head and ans.body == b"two\n"


def test_delete_file_and_folder(hub):
    repo = new_repo(hub)
    commit(hub, repo, [add_file("keep.txt", b"k"), add_file("dir/a.txt", b"a"),
                       add_file("dir/b/c.txt", b"c"), add_file("gone.txt", b"g")])
    ans = commit(hub, repo, [{"key": "deletedFile", "value": {"path": "gone.txt"}},
                             {"key": "deletedFolder", "value": {"path": "dir/"}}])
    assert ans.status == 200, ans.body
    paths = [e["path"] for e in tree_all(hub, "/api/models/%s/tree/main?recursive=true" % repo)[0]]
    assert sorted(paths) == [".gitattributes", "keep.txt"]
    missing = commit(hub, repo, [{"key": "deletedFile", "value": {"path": "nope.txt"}}])
    assert missing.status == 404 and missing.header("x-error-code") == "EntryNotFound"


# --- uploads ---------------------------------------------------------------------------------
def test_preupload_modes_and_oids(hub):
    repo = new_repo(hub)
    commit(hub, repo, [add_file("existing.txt", b"hello\n")])
    files = [{"path": "existing.txt", "size": 6, "sample": base64.b64encode(b"hello\n").decode()},
             {"path": "text.md", "size": 5, "sample": base64.b64encode(b"# hi\n").decode()},
             {"path": "bin.dat", "size": 4, "sample": base64.b64encode(b"\0\1\2\3").decode()},
             {"path": "w.safetensors", "size": 3, "sample": base64.b64encode(b"abc").decode()},
             {"path": "big.txt", "size": 20 << 20, "sample": base64.b64encode(b"aaaa").decode()}]
    ans = hub.post("/api/models/%s/preupload/main" % repo, token=hub.token, json_body={"files": files})
    assert ans.status == 200
    modes = {f["path"]: f for f in ans.json()["files"]}
    assert modes["existing.txt"]["uploadMode"] == "regular"
    assert modes["existing.txt"]["oid"] == git_blob_id(b"hello\n")
    assert modes["text.md"]["uploadMode"] == "regular" and "oid" not in modes["text.md"]
    assert modes["bin.dat"]["uploadMode"] == "lfs"
    assert modes["w.safetensors"]["uploadMode"] == "lfs"
    assert modes["big.txt"]["uploadMode"] == "lfs"
    assert all(f["shouldIgnore"] is False for f in modes.values())


def test_lfs_basic_upload_commit_and_gitattributes(hub):
    repo = new_repo(hub)
    content = os.urandom(300 * 1024)
    sha = lfs_upload(hub, repo, content)
    ans = commit(hub, repo, [lfs_file("weights/custom.ext", sha, len(content))])
    assert ans.status == 200, ans.body
    attrs = hub.get("/%s/resolve/main/.gitattributes" % repo).body.decode()
    assert "weights/custom.ext filter=lfs diff=lfs merge=lfs -text" in attrs
    info = hub.post("/api/models/%s/paths-info/main" % repo, token=hub.token,
                    body=b"paths=weights%2Fcustom.ext&paths=weights&expand=true",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}).json()
    f = info[0]
    assert f["lfs"] == {"oid": sha, "size": len(content), "pointerSize": len(lfs_pointer(sha, len(content)))}
    assert f["oid"] == git_blob_id(lfs_pointer(sha, len(content)))
    assert f["lastCommit"]["id"] == ans.json()["commitOid"]
    assert info[1]["type"] == "directory" and info[1]["path"] == "weights"
    raw = hub.get("/%s/raw/main/weights/custom.ext" % repo)
    assert raw.status == 200 and raw.body == lfs_pointer(sha, len(content))
    assert raw.header("etag") == '"%s"' % f["oid"]
    # the same object again needs no upload
    again = hub.post("/%s.git/info/lfs/objects/batch" % repo, token=hub.token, json_body={
        "operation": "upload", "objects": [{"oid": sha, "size": len(content)}]}).json()
    assert "actions" not in again["objects"][0]


def test_lfs_multipart_upload_and_corruption_detection(hub):
    repo = new_repo(hub)
    content = os.urandom(17 * 1024 * 1024)  # >= 16 MiB: multipart with 8 MiB parts
    sha = lfs_upload(hub, repo, content)
    assert commit(hub, repo, [lfs_file("big.bin", sha, len(content))]).status == 200
    loc = hub.head("/%s/resolve/main/big.bin" % repo).header("location")
    part = hub.get(loc, headers={"Range": "bytes=8388600-8388615"})
    assert part.status == 206 and part.body == content[8388600:8388616]
    assert part.header("content-range") == "bytes 8388600-8388615/%d" % len(content)
    # parts whose bytes do not hash to the announced oid are refused at completion
    bogus = hashlib.sha256(b"something else").hexdigest()
    obj = hub.post("/%s.git/info/lfs/objects/batch" % repo, token=hub.token, json_body={
        "operation": "upload", "objects": [{"oid": bogus, "size": len(content)}]}).json()["objects"][0]
    header = obj["actions"]["upload"]["header"]
    chunk = int(header["chunk_size"])
    etags = []
    for i, key in enumerate(sorted((k for k in header if k.isdigit()), key=int)):
        put = hub.request("PUT", header[key], body=content[i * chunk:(i + 1) * chunk])
        etags.append({"partNumber": i + 1, "etag": put.header("etag")})
    done = hub.post(obj["actions"]["upload"]["href"], json_body={"oid": bogus, "parts": etags})
    assert done.status == 400 and "sha256 mismatch" in done.json()["error"]
    ans = commit(hub, repo, [lfs_file("bogus.bin", bogus, len(content))])
    assert ans.status == 422


def test_upload_urls_are_signed(hub):
    repo = new_repo(hub)
    content = b"x" * 1000
    sha = hashlib.sha256(content).hexdigest()
    obj = hub.post("/%s.git/info/lfs/objects/batch" % repo, token=hub.token, json_body={
        "operation": "upload", "objects": [{"oid": sha, "size": 1000}]}).json()["objects"][0]
    href = obj["actions"]["upload"]["href"]
    tampered = href.replace("md5=", "md5=A")
    assert hub.request("PUT", tampered, body=content).status == 403
    other = re.sub(r"/upload/[0-9a-f]{32}/", "/upload/%s/" % ("0" * 32), href)
    assert hub.request("PUT", other, body=content).status == 403
    assert hub.request("PUT", href, body=content).status in (201, 204)
    # batch for upload needs a write token of a member
    ans = hub.post("/%s.git/info/lfs/objects/batch" % repo, token=hub.tokens["bob"], json_body={
        "operation": "upload", "objects": [{"oid": sha, "size": 1000}]})
    assert ans.status == 403


# --- errors ----------------------------------------------------------------------------------
def test_error_answers(hub):
    ans = hub.get("/api/models/demo/does-not-exist", token=hub.token)
    assert ans.status == 404 and ans.header("x-error-code") == "RepoNotFound"
    assert ans.json() == {"error": "Repository not found"}
    ans = hub.head("/demo/does-not-exist/resolve/main/x")
    assert ans.status == 401 and ans.header("x-error-code") == "RepoNotFound"
    assert ans.header("x-error-message") == "Repository not found"
    ans = hub.get("/demo/tiny-model/resolve/no-such-rev/config.json")
    assert ans.status == 404 and ans.header("x-error-code") == "RevisionNotFound"
    assert ans.json()["error"] == "Invalid rev id: no-such-rev"
    ans = hub.head("/demo/tiny-model/resolve/main/missing.bin")
    assert ans.status == 404 and ans.header("x-error-code") == "EntryNotFound"
    assert HEX40.match(ans.header("x-repo-commit"))
    ans = hub.get("/api/models/demo/tiny-model/revision/nope")
    assert ans.status == 404 and ans.header("x-error-code") == "RevisionNotFound"
    ans = hub.get("/api/datasets/demo/tiny-model")  # right name, wrong type
    assert ans.header("x-error-code") == "RepoNotFound"


def test_private_repo(hub):
    url = "/api/models/demo/private-model"
    assert hub.get(url, token=hub.token).json()["private"] is True
    assert hub.get(url).status == 401 and hub.get(url).header("x-error-code") == "RepoNotFound"
    bob = hub.get(url, token=hub.tokens["bob"])
    assert bob.status == 404 and bob.header("x-error-code") == "RepoNotFound"
    assert hub.get("/demo/private-model/resolve/main/secret.txt", token=hub.tokens["demo-read"]).status == 200
    listed = [m["id"] for m in hub.get("/api/models?author=demo").json()]
    assert "demo/private-model" not in listed and "demo/tiny-model" in listed
    assert "demo/private-model" in [m["id"] for m in hub.get("/api/models?author=demo", token=hub.token).json()]


def test_gated_repo(hub):
    url = "/demo/gated-model/resolve/main/config.json"
    info = hub.get("/api/models/demo/gated-model").json()
    assert info["gated"] == "manual"
    anon = hub.head(url)
    assert anon.status == 401 and anon.header("x-error-code") == "GatedRepo"
    assert "Please log in" in anon.header("x-error-message")
    bob = hub.get(url, token=hub.tokens["bob"])
    assert bob.status == 403 and bob.header("x-error-code") == "GatedRepo"
    assert "authorized list" in bob.json()["error"]
    assert hub.get(url, token=hub.tokens["alice"]).status == 200
    assert hub.get(url, token=hub.token).status == 200  # the owner


def test_create_existing_repo_is_409_with_url(hub):
    ans = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": "tiny-model", "organization": "demo", "type": "model"})
    assert ans.status == 409
    assert ans.json()["url"] == hub.endpoint + "/demo/tiny-model"
    assert "error" in ans.json()
    ds = hub.post("/api/repos/create", token=hub.token,
                  json_body={"name": "many-files", "organization": "demo", "type": "dataset"})
    assert ds.status == 409 and ds.json()["url"] == hub.endpoint + "/datasets/demo/many-files"


def test_write_permissions(hub):
    repo = new_repo(hub)
    assert commit(hub, repo, [add_file("x", b"x")], token=hub.tokens["demo-read"]).status == 403
    assert commit(hub, repo, [add_file("x", b"x")], token=hub.tokens["bob"]).status == 403
    ans = hub.post("/api/repos/create", token=hub.tokens["bob"],
                   json_body={"name": "nope", "organization": "demo"})
    assert ans.status == 403
    org = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": "org-repo-" + uuid.uuid4().hex[:6], "organization": "demo-org"})
    assert org.status == 200 and "/demo-org/" in org.json()["url"]


def test_delete_repo(hub):
    repo = new_repo(hub, rtype="dataset")
    ns, name = repo.split("/")
    ans = hub.request("DELETE", "/api/repos/delete", token=hub.token,
                      json_body={"name": name, "organization": ns, "type": "dataset"})
    assert ans.status == 200
    gone = hub.get("/api/datasets/" + repo, token=hub.token)
    assert gone.status == 404 and gone.header("x-error-code") == "RepoNotFound"
    again = hub.request("DELETE", "/api/repos/delete", token=hub.token,
                        json_body={"name": name, "organization": ns, "type": "dataset"})
    assert again.header("x-error-code") == "RepoNotFound"


# --- downloads -------------------------------------------------------------------------------
def test_resolve_head_and_ranges_on_regular_files(hub):
    content = hub.get("/demo/tiny-model/resolve/main/tokenizer.json").body
    head = hub.head("/demo/tiny-model/resolve/main/tokenizer.json",
                    headers={"Accept-Encoding": "identity"})
    assert head.status == 200 and head.body == b""
    assert head.header("etag") == '"%s"' % git_blob_id(content)
    assert head.header("content-length") == str(len(content))
    assert head.header("accept-ranges") == "bytes"
    part = hub.get("/demo/tiny-model/resolve/main/tokenizer.json", headers={"Range": "bytes=0-0"})
    assert part.status == 206 and part.header("content-range") == "bytes 0-0/%d" % len(content)
    tail = hub.get("/demo/tiny-model/resolve/main/tokenizer.json", headers={"Range": "bytes=100-"})
    assert tail.body == content[100:]
    bad = hub.get("/demo/tiny-model/resolve/main/tokenizer.json",
                  headers={"Range": "bytes=%d-" % (len(content) + 5)})
    assert bad.status == 416


def test_no_xet_anywhere(hub):
    ans = hub.get("/demo/tiny-model/resolve/main/model.safetensors",
                  headers={"Accept": "application/vnd.xet-fileinfo+json, */*", "Range": "bytes=0-0"})
    assert ans.status == 302
    assert not any(k.startswith("x-xet") for k in ans.headers)
    assert "xet" not in (ans.header("content-type") or "")
    tree = hub.get("/api/models/demo/tiny-model/tree/main").body
    assert b"xetHash" not in tree


def test_repo_info_revision_and_siblings(hub):
    info = hub.get("/api/datasets/demo/many-files/revision/main").json()
    assert info["id"] == "demo/many-files" and HEX40.match(info["sha"])
    assert len(info["siblings"]) == 2002 and "size" not in info["siblings"][0]
    blobs = hub.get("/api/datasets/demo/many-files?blobs=true").json()
    assert all("blobId" in s and "size" in s for s in blobs["siblings"])


# --- listing ---------------------------------------------------------------------------------
def test_listing_search_filter_sort_and_pages(hub):
    found = hub.get("/api/models?search=tiny").json()
    assert [m["id"] for m in found] == ["demo/tiny-model"]
    assert [m["id"] for m in hub.get("/api/models?filter=text-generation").json()] == ["demo/tiny-model"]
    assert [m["id"] for m in hub.get("/api/datasets?author=demo&search=many").json()] == ["demo/many-files"]
    assert hub.get("/api/spaces").json() == []
    for i in range(3):
        new_repo(hub)
    everything, pages = tree_all(hub, "/api/models?author=demo&limit=2")
    assert pages >= 2 and len(everything) == len({m["id"] for m in everything})
    assert len(everything) == len(hub.get("/api/models?author=demo").json())
    hub.get("/demo/tiny-model/resolve/main/model.safetensors")  # counts a download
    top = hub.get("/api/models?sort=downloads&direction=-1&limit=1").json()
    assert top[0]["id"] == "demo/tiny-model" and top[0]["downloads"] >= 1


# --- knobs -----------------------------------------------------------------------------------
def test_admin_needs_the_secret(hub):
    assert hub.post("/admin/knobs", json_body={"rate_limit": 1}).status == 403
    assert hub.post("/admin/knobs", json_body={"rate_limit": 1},
                    headers={"X-Admin-Secret": "wrong"}).status == 403
    ans = hub.post("/admin/knobs", json_body={"no_such_knob": 1},
                   headers={"X-Admin-Secret": hub.state["admin_secret"]})
    assert ans.status == 400


def test_rate_limit_knob(hub):
    hub.knobs(rate_limit=3, rate_window=60)
    try:
        answers = [hub.get("/api/models/demo/tiny-model", token=hub.token) for _ in range(4)]
        assert [a.status for a in answers] == [200, 200, 200, 429]
        last = answers[-1]
        assert re.match(r'^"api";r=0;t=\d+$', last.header("ratelimit"))
        assert int(last.header("retry-after")) >= 1
        assert last.header("ratelimit-policy") == '"fixed window";"api";q=3;w=60'
    finally:
        hub.knobs(rate_limit=0)
    assert hub.get("/api/models/demo/tiny-model", token=hub.token).status == 200


def test_signed_url_lifetime_knob(hub):
    hub.knobs(url_lifetime=1)
    try:
        loc = hub.head("/demo/tiny-model/resolve/main/model.safetensors").header("location")
    finally:
        hub.knobs(url_lifetime=3600)
    assert hub.get(loc, headers={"Range": "bytes=0-0"}).status == 206
    time.sleep(2.1)
    assert hub.get(loc, headers={"Range": "bytes=0-0"}).status == 403
    assert hub.get(loc.replace("md5=", "md5=B"), headers={"Range": "bytes=0-0"}).status == 403


def test_cdn_bandwidth_knob(hub):
    loc = hub.head("/demo/tiny-model/resolve/main/model.safetensors").header("location")
    hub.knobs(cdn_rate=1 << 20)
    try:
        t0 = time.time()
        ans = hub.get(loc, headers={"Range": "bytes=0-%d" % ((3 << 20) - 1)})
        elapsed = time.time() - t0
    finally:
        hub.knobs(cdn_rate=0)
    assert ans.status == 206 and len(ans.body) == 3 << 20
    assert elapsed >= 1.5, elapsed
    t0 = time.time()
    assert len(hub.get(loc, headers={"Range": "bytes=0-%d" % ((3 << 20) - 1)}).body) == 3 << 20
    assert time.time() - t0 < 1.0


# --- access log ------------------------------------------------------------------------------
def test_access_log_lines(hub):
    marker = "/api/models/demo/tiny-model?marker=" + uuid.uuid4().hex
    hub.get(marker, token=hub.token)
    loc = hub.head("/demo/tiny-model/resolve/main/model.safetensors").header("location")
    hub.get(loc, headers={"Range": "bytes=0-99"})
    repo = new_repo(hub)
    content = os.urandom(5000)
    lfs_upload(hub, repo, content)
    time.sleep(0.2)
    lines = hub.access_log()
    assert all(len(line) == 11 for line in lines)
    mine = [line for line in lines if line[2] == marker]
    assert len(mine) == 1
    origin, method, uri, status, sent, received, auth, _, protocol, conn, rng = mine[0]
    assert protocol in ("HTTP/2.0", "HTTP/1.1") and int(conn) > 0 and rng == "-"
    assert (origin, method, status, auth) == ("hub", "GET", "200", "yes")
    assert int(sent) > 500 and int(received) > 50
    cdn = [line for line in lines if line[2] == urllib.parse.urlsplit(loc).path + "?" + urllib.parse.urlsplit(loc).query]
    assert cdn and cdn[-1][0] == "cdn" and cdn[-1][3] == "206" and cdn[-1][6] == "no"
    assert cdn[-1][10] == "bytes=0-99"
    assert 100 <= int(cdn[-1][4]) < 2000
    puts = [line for line in lines if line[1] == "PUT" and line[2].startswith("/upload/")]
    assert puts and puts[-1][0] == "cdn" and int(puts[-1][5]) >= 5000 and puts[-1][6] == "no"


# --- the official JavaScript client ------------------------------------------------------------
def test_conformance_with_the_javascript_client(hub, tmp_path):
    subprocess.run([os.path.join(HERE, "setup")], check=True, timeout=300)
    # the client's default environment: nothing of the caller's (no HF_* switches)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "LANG": "C.UTF-8", **hub.env}
    out = subprocess.run(["node", os.path.join(HERE, "conformance", "conformance.mjs")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "# all 16 steps passed" in out.stdout


# --- faults ----------------------------------------------------------------------------------
def seeded_location(hub):
    return hub.head("/demo/tiny-model/resolve/main/model.safetensors").header("location")


def test_cdn_faults(hub):
    loc = seeded_location(hub)
    whole = hub.get(loc).body
    assert len(whole) == SEED_SIZE
    try:
        hub.knobs(cdn_fault={"mode": "status", "status": 503, "nth": 2})
        statuses = [hub.get(loc, headers={"Range": "bytes=0-9"}).status for _ in range(3)]
        assert statuses == [206, 503, 206]

        hub.knobs(cdn_fault={"mode": "ignore_range"})
        ans = hub.get(loc, headers={"Range": "bytes=0-9"})
        assert ans.status == 200 and ans.body == whole

        hub.knobs(cdn_fault={"mode": "corrupt", "offset": 1000})
        bad = hub.get(loc).body
        assert len(bad) == len(whole) and bad != whole
        assert [i for i in range(0, len(whole), 1) if bad[i] != whole[i]][:2] == [1000]

        hub.knobs(cdn_fault={"mode": "stall", "after_bytes": 4096, "stall_seconds": 1})
        t0 = time.time()
        assert hub.get(loc).body == whole
        assert time.time() - t0 >= 1.0

        hub.knobs(cdn_fault={"mode": "reset", "after_bytes": 100000})
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            hub.get(loc)
    finally:
        hub.knobs(cdn_fault=None)
    assert hub.get(loc, headers={"Range": "bytes=0-9"}).status == 206


def test_upload_faults(hub):
    repo = new_repo(hub)
    content = os.urandom(40 * 1024)
    sha = hashlib.sha256(content).hexdigest()
    obj = hub.post("/%s.git/info/lfs/objects/batch" % repo, token=hub.token, json_body={
        "operation": "upload", "objects": [{"oid": sha, "size": len(content)}]}).json()["objects"][0]
    href = obj["actions"]["upload"]["href"]
    try:
        hub.knobs(upload_fault={"mode": "status", "status": 500, "nth": [1]})
        assert hub.request("PUT", href, body=content).status == 500
        ok = hub.request("PUT", href, body=content)
        assert ok.status == 201 and ok.header("etag")
        hub.knobs(upload_fault={"mode": "status", "status": 503, "retry_after": 0})
        busy = hub.request("PUT", href, body=content)
        assert busy.status == 503 and busy.header("retry-after") == "0"
        hub.knobs(upload_fault={"mode": "stall", "stall_seconds": 1, "nth": [1]})
        start = time.monotonic()
        slow = hub.request("PUT", href, body=content)
        assert slow.status == 201 and time.monotonic() - start >= 1.0
        hub.knobs(upload_fault={"mode": "reset"})
        # the reset reaches the client while it reads the answer, or while it still writes
        # the body (then TLS says EOF: ssl.SSLEOFError, not a ConnectionError)
        with pytest.raises((ConnectionError, ssl.SSLError, http.client.HTTPException)):
            hub.request("PUT", href, body=content)
    finally:
        hub.knobs(upload_fault=None)
    ans = commit(hub, repo, [lfs_file("up.bin", sha, len(content))])
    assert ans.status == 200, ans.body
    assert hub.get(hub.head("/%s/resolve/main/up.bin" % repo).header("location")).body == content


def test_settings_validate_yaml_and_request_id(hub):
    repo = new_repo(hub)
    url = "/%s/resolve/main/.gitattributes" % repo
    ans = hub.request("PUT", "/api/models/%s/settings" % repo, token=hub.token,
                      json_body={"gated": "auto"})
    assert ans.status == 200
    assert hub.get(url).header("x-error-code") == "GatedRepo"
    hub.request("PUT", "/api/models/%s/settings" % repo, token=hub.token,
                json_body={"gated": False, "visibility": "private"})
    assert hub.get(url, token=hub.token).status == 200
    assert hub.get(url).header("x-error-code") == "RepoNotFound"
    assert hub.request("PUT", "/api/models/%s/settings" % repo, token=hub.tokens["bob"],
                       json_body={"private": False}).status == 404
    ans = hub.post("/api/validate-yaml", token=hub.token,
                   json_body={"content": "---\nlicense: mit\n---\n", "repoType": "model"})
    assert ans.status == 200 and ans.json() == {}
    assert re.match(r"^[0-9a-f]{32}$", ans.header("x-request-id"))


def test_spaces_and_datasets_routes(hub):
    ans = hub.post("/api/repos/create", token=hub.token,
                   json_body={"name": "space-" + uuid.uuid4().hex[:6], "type": "space", "sdk": "static"})
    assert ans.status == 200 and "/spaces/demo/" in ans.json()["url"]
    repo = ans.json()["name"]
    assert commit(hub, repo, [add_file("index.html", b"<p>hi</p>\n")], rtype="spaces").status == 200
    assert hub.get("/spaces/%s/resolve/main/index.html" % repo).body == b"<p>hi</p>\n"
    info = hub.get("/api/spaces/" + repo).json()
    assert info["sdk"] == "static"
    assert repo in [s["id"] for s in hub.get("/api/spaces?author=demo").json()]
    assert hub.get("/datasets/demo/many-files/resolve/main/README.md").status == 200
    ds = new_repo(hub, rtype="dataset")
    content = os.urandom(3000)
    sha = lfs_upload(hub, ds, content, prefix="datasets/")
    assert commit(hub, ds, [lfs_file("train.parquet", sha, 3000)], rtype="datasets").status == 200
    loc = hub.head("/datasets/%s/resolve/main/train.parquet" % ds).header("location")
    assert hub.get(loc).body == content
    tree = hub.get("/api/datasets/%s/tree/main" % ds).json()
    assert [e["lfs"]["oid"] for e in tree if e["path"] == "train.parquet"] == [sha]


def test_hub_gzip_knob(hub):
    url = "/demo/tiny-model/resolve/main/tokenizer.json"
    plain = hub.get(url, headers={"Accept-Encoding": "gzip"})
    assert plain.header("content-encoding") is None
    hub.knobs(hub_gzip=True)
    try:
        ans = hub.get(url, headers={"Accept-Encoding": "gzip"})
        head = hub.head(url, headers={"Accept-Encoding": "identity"})
    finally:
        hub.knobs(hub_gzip=False)
    assert ans.header("content-encoding") == "gzip"
    assert gzip.decompress(ans.body) == plain.body
    assert head.header("content-length") == str(len(plain.body))
    assert head.header("etag") == plain.header("etag")


def test_appender_direct_then_buffered_is_the_concatenation(tmp_path):
    """The multipart assembler writes aligned bytes with O_DIRECT and the rest through the page
    cache: an unaligned part in the middle switches to buffered writes, and reopening the
    object for the next parts (as the assembler does on each poll) appends at its end."""
    from hubapp.store import Appender, feed
    parts = [os.urandom(3 * 4096), os.urandom(8 << 20), os.urandom(12345),
             os.urandom(4096), os.urandom(777)]
    paths = []
    for i, data in enumerate(parts):
        p = tmp_path / ("part%d" % i)
        p.write_bytes(data)
        paths.append(str(p))
    dest = str(tmp_path / "object")
    h = hashlib.sha256()
    with Appender(dest, fresh=True) as out:
        feed(paths[0], h, out)
        feed(paths[1], h, out)
    with Appender(dest, fresh=False) as out:
        for p in paths[2:]:
            feed(p, h, out)
    whole = b"".join(parts)
    with open(dest, "rb") as f:
        assert f.read() == whole
    assert h.hexdigest() == hashlib.sha256(whole).hexdigest()
