"""Conformance of the local hub with the official Python client (huggingface_hub).
Usage: HF_ENDPOINT=... HF_TOKEN=... HF_HOME=... SSL_CERT_FILE=<the hub's CA> HF_HUB_DISABLE_XET=1 \
       python3 conformance.py ALICE_TOKEN BOB_TOKEN
(the client on PYTHONPATH, see tests/hub/pyclient.py). Every step checks values; the exit
status is non-zero if any step fails. The client runs in its default environment: telemetry
and agent detection stay on, so their requests reach the hub too."""
import hashlib
import os
import sys
import tempfile
import traceback
import uuid

from huggingface_hub import (CommitOperationAdd, CommitOperationDelete, HfApi, get_hf_file_metadata,
                             hf_hub_download, hf_hub_url, snapshot_download)
from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, RemoteEntryNotFoundError,
                                    RepositoryNotFoundError, RevisionNotFoundError)

ENDPOINT = os.environ["HF_ENDPOINT"].rstrip("/")
ALICE, BOB = sys.argv[1], sys.argv[2]
api = HfApi()
anonymous = HfApi(token=False)

failures = 0
steps = 0


def check(name):
    def run(fn):
        global failures, steps
        steps += 1
        try:
            fn()
            print(f"ok {steps} - {name}", flush=True)
        except Exception:
            failures += 1
            text = traceback.format_exc().rstrip().replace("\n", "\n  # ")
            print(f"not ok {steps} - {name}\n  # {text}", flush=True)
        return fn
    return run


def equal(actual, expected, what):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"


def raises(kind, fn, what, status=None):
    try:
        fn()
    except kind as err:
        if status is not None:
            equal(err.response.status_code, status, what + " status")
        return err
    raise AssertionError(f"{what}: expected {kind.__name__}")


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


suffix = uuid.uuid4().hex[:8]
repo_id = f"demo/py-conformance-{suffix}"
text = b"hello from the Python conformance script\n"
nested = b'{"nested": true}\n'
big = os.urandom(20 << 20)  # above the hub's 16 MiB multipart threshold: 3 parts of 8 MiB
state = {}


@check("whoami returns user demo with a write token and its orgs")
def _():
    me = api.whoami()
    equal(me["name"], "demo", "name")
    equal(me["type"], "user", "type")
    equal(me["auth"]["accessToken"]["role"], "write", "token role")
    assert "demo-org" in [o["name"] for o in me["orgs"]], me["orgs"]
    raises(HfHubHTTPError, lambda: HfApi(token="hf_" + "x" * 34).whoami(), "bad token", 401)


@check("create_repo makes a repo under the endpoint holding .gitattributes; again is 409")
def _():
    url = api.create_repo(repo_id)
    equal(str(url), f"{ENDPOINT}/{repo_id}", "repo url")
    assert api.repo_exists(repo_id)
    equal(api.list_repo_files(repo_id), [".gitattributes"], "initial files")
    raises(HfHubHTTPError, lambda: api.create_repo(repo_id), "second create", 409)
    equal(str(api.create_repo(repo_id, exist_ok=True)), f"{ENDPOINT}/{repo_id}", "exist_ok")


@check("upload_folder: text file, nested path and a 20 MiB binary through LFS multipart")
def _():
    with tempfile.TemporaryDirectory() as folder:
        os.makedirs(os.path.join(folder, "nested", "dir"))
        for path, data in (("hello.txt", text), ("nested/dir/deep.json", nested),
                           ("weights.bin", big)):
            with open(os.path.join(folder, path), "wb") as f:
                f.write(data)
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="three files")
    assert len(info.oid) == 40 and int(info.oid, 16) >= 0, info.oid
    equal(info.commit_url, f"{ENDPOINT}/{repo_id}/commit/{info.oid}", "commit url")
    state["head"] = info.oid


@check("list_repo_tree lists files and directories with git oids and the LFS oid and size")
def _():
    entries = {e.path: e for e in api.list_repo_tree(repo_id, recursive=True)}
    equal(entries["hello.txt"].blob_id, git_blob_id(text), "hello.txt blob id")
    equal(entries["hello.txt"].size, len(text), "hello.txt size")
    equal(type(entries["nested/dir"]).__name__, "RepoFolder", "nested/dir is a folder")
    equal(entries["nested/dir/deep.json"].blob_id, git_blob_id(nested), "deep.json blob id")
    w = entries["weights.bin"]
    equal(w.lfs.sha256, sha256(big), "weights.bin lfs sha256")
    equal(w.lfs.size, len(big), "weights.bin lfs size")
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256(big)}\nsize {len(big)}\n"
    equal(w.blob_id, git_blob_id(pointer.encode()), "pointer blob id")
    equal(w.lfs.pointer_size, len(pointer), "pointer size")
    infos = {p.path: p for p in api.get_paths_info(repo_id, ["hello.txt", "weights.bin"])}
    equal(infos["weights.bin"].lfs.sha256, sha256(big), "paths-info lfs")
    equal(infos["hello.txt"].blob_id, git_blob_id(text), "paths-info blob id")


@check("get_hf_file_metadata: etag (sha256 for LFS, git sha1 otherwise), size, commit")
def _():
    m = get_hf_file_metadata(hf_hub_url(repo_id, "weights.bin"))
    equal(m.etag, sha256(big), "LFS etag")
    equal(m.size, len(big), "LFS size")
    equal(m.commit_hash, state["head"], "commit")
    assert m.location.startswith(os.environ.get("LOCALHUB_CDN", "https://")), m.location
    m = get_hf_file_metadata(hf_hub_url(repo_id, "hello.txt"))
    equal(m.etag, git_blob_id(text), "regular etag")
    equal(m.size, len(text), "regular size")


@check("hf_hub_download and snapshot_download fill the cache: blobs by etag, symlinks, refs")
def _():
    path = hf_hub_download(repo_id, "nested/dir/deep.json")
    with open(path, "rb") as f:
        equal(f.read(), nested, "deep.json bytes")
    snap = snapshot_download(repo_id)
    equal(os.path.basename(snap), state["head"], "snapshot folder")
    repo_dir = os.path.dirname(os.path.dirname(snap))
    for rel, data in (("hello.txt", text), ("nested/dir/deep.json", nested), ("weights.bin", big)):
        p = os.path.join(snap, rel)
        assert os.path.islink(p), rel
        with open(p, "rb") as f:
            assert f.read() == data, rel
    assert os.readlink(os.path.join(snap, "weights.bin")).endswith("blobs/" + sha256(big))
    with open(os.path.join(repo_dir, "refs", "main")) as f:
        equal(f.read(), state["head"], "refs/main")


@check("branches, tags, refs and commits; a download by tag")
def _():
    api.create_branch(repo_id, branch="dev")
    api.create_tag(repo_id, tag="v1", revision=state["head"])
    refs = api.list_repo_refs(repo_id)
    equal(sorted(b.name for b in refs.branches), ["dev", "main"], "branches")
    equal([(t.name, t.target_commit) for t in refs.tags], [("v1", state["head"])], "tags")
    commits = api.list_repo_commits(repo_id)
    equal(len(commits), 2, "commits")
    equal(commits[0].commit_id, state["head"], "newest commit first")
    equal(commits[0].title, "three files", "title")
    path = hf_hub_download(repo_id, "hello.txt", revision="v1")
    with open(path, "rb") as f:
        equal(f.read(), text, "hello.txt at v1")


@check("create_commit: a PR deleting a file, a stale parent commit is refused")
def _():
    pr = api.create_commit(repo_id, [CommitOperationDelete("hello.txt")], commit_message="rm",
                           create_pr=True)
    equal(pr.pr_revision, "refs/pr/1", "pr revision")
    equal(api.list_repo_files(repo_id), [".gitattributes", "hello.txt", "nested/dir/deep.json",
                                         "weights.bin"], "main untouched")
    assert "hello.txt" not in api.list_repo_files(repo_id, revision="refs/pr/1")
    add = CommitOperationAdd("second.txt", b"second\n")
    api.create_commit(repo_id, [add], commit_message="second", parent_commit=state["head"])
    stale = CommitOperationAdd("third.txt", b"third\n")
    raises(HfHubHTTPError, lambda: api.create_commit(repo_id, [stale], commit_message="stale",
                                                     parent_commit=state["head"]),
           "stale parent", 412)


@check("errors: missing entry, revision, repo; gated and private repos")
def _():
    raises(RemoteEntryNotFoundError, lambda: hf_hub_download(repo_id, "nope.txt"), "entry", 404)
    raises(RevisionNotFoundError, lambda: hf_hub_download(repo_id, "hello.txt", revision="nope"),
           "revision", 404)
    raises(RepositoryNotFoundError, lambda: api.model_info("demo/no-such-repo"), "repo", 404)
    raises(RepositoryNotFoundError, lambda: anonymous.model_info("demo/private-model"),
           "private, anonymous", 401)
    raises(GatedRepoError, lambda: hf_hub_download("demo/gated-model", "config.json", token=BOB),
           "gated, not approved", 403)
    path = hf_hub_download("demo/gated-model", "config.json", token=ALICE)
    assert os.path.getsize(path) > 0


@check("model_info, list_models and the many-files dataset's paginated tree")
def _():
    info = api.model_info("demo/tiny-model")
    assert {"config.json", "model.safetensors"} <= {s.rfilename for s in info.siblings}
    assert "text-generation" in info.tags, info.tags
    equal(info.card_data.get("license"), "apache-2.0", "cardData license")
    equal(info.pipeline_tag, "text-generation", "pipeline_tag")
    names = [m.id for m in api.list_models(author="demo", search="tiny")]
    assert "demo/tiny-model" in names, names
    files = api.list_repo_files("demo/many-files", repo_type="dataset")
    equal(len([f for f in files if f.startswith("data/")]), 2000, "dataset files")
    assert api.file_exists("demo/tiny-model", "config.json")
    assert not api.file_exists("demo/tiny-model", "nope.json")


@check("update_repo_settings, move_repo and delete_repo")
def _():
    api.update_repo_settings(repo_id, private=True)
    raises(RepositoryNotFoundError, lambda: anonymous.model_info(repo_id), "now private", 401)
    moved = repo_id + "-moved"
    api.move_repo(repo_id, moved)
    assert api.repo_exists(moved) and not api.repo_exists(repo_id)
    api.delete_repo(moved)
    assert not api.repo_exists(moved)


print(f"# all {steps} steps passed" if failures == 0 else f"# {failures} of {steps} steps failed")
sys.exit(1 if failures else 0)
