"""A snapshot of 20,000 small files: memory stays bounded whatever the number of files (the
tree is held compactly and written to trees/<commit>.json entry by entry; jobs are made as the
engine has room for them), and the result is the complete, exact cache layout.
ferry's own peak RSS (the --json summary's peak_rss, getrusage) is checked against 64 MiB: at
20,000 files ferry needed 170 MB before, about 30 MB now."""
import json
import os

from conftest import MANY, list_tree
from dlhelpers import EXIT_OK, etag_of
from ferrytest import git_blob_id, read_bytes

REPO = f"demo/many-{MANY}"
RSS_LIMIT = 64 << 20
PER_FILE_LIMIT = 256  # bytes of peak RSS per file of a dry run, beyond 2,000 files


def test_many_files_bounded_memory(ferry, hub):
    entries = list_tree(hub, REPO, "dataset", "main")
    assert len(entries) == MANY + 1  # and the .gitattributes every new repo gets
    n = len(entries)
    r = ferry(REPO, "--repo-type", "dataset", "--json", timeout=300)
    assert r.returncode == EXIT_OK, r.describe()
    out = json.loads(r.stdout)
    assert out["files_total"] == n and out["files_downloaded"] == n, out
    assert 0 < out["peak_rss"] <= RSS_LIMIT, f"peak RSS {out['peak_rss'] >> 20} MiB at {n} files"
    repo_dir = os.path.join(ferry.cache, "datasets--demo--many-" + str(MANY))
    snap = os.path.join(repo_dir, "snapshots", out["commit"])
    assert out["path"] == snap
    # every file: its link, and the blob's git id is the tree's
    for e in entries:
        pointer = os.path.join(snap, e["path"])
        assert os.readlink(pointer) == "../" * (e["path"].count("/") + 2) + "blobs/" + etag_of(e)
        assert git_blob_id(read_bytes(os.path.join(repo_dir, "blobs", etag_of(e)))) == e["oid"]
    assert len(os.listdir(os.path.join(repo_dir, "blobs"))) == n
    # trees/<commit>.json: complete, sorted by path, and alone in its folder (no temp file)
    trees = os.path.join(repo_dir, "trees")
    assert os.listdir(trees) == [out["commit"] + ".json"]
    with open(os.path.join(trees, out["commit"] + ".json")) as f:
        files = json.load(f)["files"]
    assert list(files) == sorted(e["path"] for e in entries)
    assert all(files[e["path"]] == {"size": e["size"], "blob_id": e["oid"]} for e in entries)
    # again, all cached (the tree from trees/<commit>.json): bounded too, nothing fetched
    again = ferry(REPO, "--repo-type", "dataset", "--json", timeout=300)
    assert again.returncode == EXIT_OK, again.describe()
    out2 = json.loads(again.stdout)
    assert out2["files_cached"] == n and out2["files_downloaded"] == 0, out2
    assert 0 < out2["peak_rss"] <= RSS_LIMIT, f"cached run: peak RSS {out2['peak_rss'] >> 20} MiB"


def test_memory_per_file_of_a_selection(ferry, hub):
    """What one more file costs a download: the peak RSS of a dry run of 20,000 files against
    one of 2,000, per file. A million-file snapshot fits 128 MiB only if that stays near 100
    bytes: the tree entry and a 16-byte selection state, no result array (the CLI takes each
    file's outcome through file_cb), no repo info listing every file (expand=sha). It was
    451 bytes on the code before."""
    rss, files = [], []
    for repo in ("demo/many-files", REPO):
        r = ferry(repo, "--repo-type", "dataset", "--dry-run", "--json", timeout=300)
        assert r.returncode == EXIT_OK, r.describe()
        out = json.loads(r.stdout)
        assert len(out["files"]) == out["files_total"], out["files_total"]
        assert all(f["status"] == "planned" for f in out["files"])
        rss.append(out["peak_rss"])
        files.append(out["files_total"])
    assert files[0] < 2100 and files[1] > MANY
    per_file = (rss[1] - rss[0]) / (files[1] - files[0])
    assert per_file <= PER_FILE_LIMIT, f"{per_file:.0f} bytes per file (peak RSS {rss}, files {files})"
