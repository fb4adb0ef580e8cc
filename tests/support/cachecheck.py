"""The final files of a Hugging Face cache checked against their names, for the tests that
stop ferry at random moments (tests/soak, tests/oom): a blob's name is its etag (the sha256
of an LFS file, the git blob id of another), and a snapshot entry must point at the blob of
its path in the tree. Not final, so not checked: *.incomplete and *.journal."""
import glob
import os

from ferrytest import git_blob_id, sha256_file


def repo_etags(hub, repo_id):
    """{path: etag} of the files of a model repo at main, from the hub's recursive tree."""
    ans = hub.get(f"/api/models/{repo_id}/tree/main?recursive=true")
    assert ans.status == 200, ans.body
    return {e["path"]: (e["lfs"]["oid"] if "lfs" in e else e["oid"])
            for e in ans.json() if e["type"] == "file"}


def wrong_in_cache(hf_home, etags):
    """Paths of blobs whose content is not what their name says, and of snapshot entries that
    point at another blob than the tree's (`etags`: {path: etag})."""
    wrong = []
    for blob in glob.glob(os.path.join(hf_home, "hub", "*", "blobs", "*")):
        name = os.path.basename(blob)
        if "." in name:
            continue
        if len(name) == 64:
            good = sha256_file(blob) == name
        else:
            with open(blob, "rb") as f:
                good = git_blob_id(f.read()) == name
        if not good:
            wrong.append(blob)
    for snap in glob.glob(os.path.join(hf_home, "hub", "*", "snapshots", "*")):
        for path, etag in etags.items():
            entry = os.path.join(snap, path)
            if os.path.lexists(entry) and os.path.basename(os.path.realpath(entry)) != etag:
                wrong.append(entry)
    return wrong
