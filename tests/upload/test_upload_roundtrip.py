"""ferry upload of a folder (small files, nested paths, an LFS file in several multipart parts, a
basic LFS upload, an empty file), read back byte for byte with ferry download and with the
official JavaScript client; the JavaScript client's upload read back with ferry; the defaults
of LOCAL_PATH and PATH_IN_REPO; --json; --private; the model card warning."""
import base64
import hashlib
import json
import os
import re
import shutil

from ferrytest import MiB
from hubrun import run_download
from uphelpers import (binary_blob, commits, completions, head_commit, js_snapshot, js_upload,
                       json_summary, lfs_paths, ok, part_of, read_tree, served_files, upload_puts,
                       write_tree)

BIG = 6 * MiB + 123          # 7 parts of 1 MiB on the session hub (threshold 4 MiB)
BIG_PARTS = 7


def checkpoint_files(tag):
    return {
        "README.md": b"---\nlicense: mit\n---\n# A test model\n",
        "config.json": b'{"hidden_size": 64, "layers": 2}\n',
        "nested/deeper/notes.txt": "über nested text\n".encode() * 50,
        "nested/data.bin": binary_blob(100 * 1024, "data" + tag),
        "weights/model.bin": binary_blob(BIG, "weights" + tag),
    }


def test_folder_upload_then_download_with_ferry_and_js(hub, up, log, repo_id, tmp_path):
    files = checkpoint_files(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    r = ok(up(repo_id, folder))
    head = head_commit(hub, repo_id)
    assert f"{hub.endpoint}/{repo_id}/commit/{head}" in r.stdout, r.describe()
    assert [c["id"] for c in commits(hub, repo_id)][0] == head

    # what the hub serves is exactly the folder
    assert served_files(hub, repo_id) == files
    assert lfs_paths(hub, repo_id) == {"nested/data.bin", "weights/model.bin"}

    # on the wire: 7 distinct parts for the big file, one basic PUT, one completion
    lines = log.lines()
    puts = upload_puts(lines)
    parts = sorted(int(p) for _, p in map(part_of, puts) if p != "basic")
    assert parts == list(range(1, BIG_PARTS + 1)), puts
    assert [p for _, p in map(part_of, puts) if p == "basic"] == ["basic"], puts
    assert all(200 <= ln.status < 300 for ln in puts), puts
    assert len(completions(lines)) == 1

    # read back by ferry download (a real folder) and by the official JS client (its cache)
    local = tmp_path / "back-ferry"
    dl = run_download([repo_id, "--local-dir", local, "--cacert", hub.ca], up.env)
    assert dl.returncode == 0, dl.describe()
    back = read_tree(local)
    back = {p: d for p, d in back.items() if not p.startswith(".cache/")}
    back.pop(".gitattributes", None)
    assert back == files

    snap = js_snapshot(hub, repo_id, "model", tmp_path / "js-cache")
    back_js = read_tree(snap)
    back_js.pop(".gitattributes", None)
    assert back_js == files


def test_empty_file_round_trip(hub, up, repo_id, tmp_path):
    """Empty files go inline (size 0 is always regular). Read back by ferry download; not by
    the JS client: it asks every file with Range: bytes=0-0 and needs a Content-Range in the
    answer, which an empty file cannot have (the local hub answers 416, as RFC 9110 says)."""
    files = {"README.md": b"# empty\n", "empty.txt": b"", "sub/empty.bin": b""}
    ok(up(repo_id, write_tree(tmp_path / "e", files)))
    assert served_files(hub, repo_id) == files
    assert lfs_paths(hub, repo_id) == set()
    local = tmp_path / "back-ferry"
    dl = run_download([repo_id, "--local-dir", local, "--cacert", hub.ca], up.env)
    assert dl.returncode == 0, dl.describe()
    back = {p: d for p, d in read_tree(local).items() if not p.startswith(".cache/")}
    back.pop(".gitattributes", None)
    assert back == files


def test_js_client_upload_then_ferry_download(hub, up, repo_id, tmp_path):
    files = {"README.md": b"# uploaded by the JS client\n",
             "a/b/c.txt": b"deep\n" * 1000,
             "big.bin": binary_blob(5 * MiB + 7, "js-big")}
    folder = write_tree(tmp_path / "js", files)
    oid = js_upload(hub, repo_id, "model", folder)
    assert oid == head_commit(hub, repo_id)
    local = tmp_path / "back"
    dl = run_download([repo_id, "--local-dir", local, "--cacert", hub.ca], up.env)
    assert dl.returncode == 0, dl.describe()
    back = {p: d for p, d in read_tree(local).items() if not p.startswith(".cache/")}
    back.pop(".gitattributes", None)
    assert back == files

    # and ferry upload on top of it: the unchanged big file is not sent again
    (folder / "a" / "b" / "c.txt").write_bytes(b"changed\n")
    r = ok(up(repo_id, folder, "--json"))
    s = json_summary(r)
    assert s["files_unchanged"] == 2 and s["files_committed"] == 1, s
    assert s["lfs_objects_sent"] == 0, s
    files["a/b/c.txt"] = b"changed\n"
    assert served_files(hub, repo_id) == files


def test_json_summary(hub, up, log, repo_id, tmp_path):
    files = checkpoint_files(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    r = ok(up(repo_id, folder, "--json"))
    s = json_summary(r)
    head = head_commit(hub, repo_id)
    lfs_bytes = BIG + 100 * 1024
    assert s["ok"] is True and s["error"] is None
    assert (s["repo_id"], s["repo_type"], s["revision"]) == (repo_id, "model", "main")
    assert s["commit_oid"] == head
    assert s["commit_url"] == f"{hub.endpoint}/{repo_id}/commit/{head}"
    assert s["pr_url"] is None
    assert s["files_total"] == len(files) and s["files_committed"] == len(files)
    assert s["files_unchanged"] == 0
    assert (s["lfs_objects_sent"], s["lfs_objects_present"]) == (2, 0)
    assert s["bytes_total"] == sum(len(d) for d in files.values())
    assert lfs_bytes <= s["bytes_sent"] <= s["bytes_total"], s
    assert s["bytes_skipped"] == 0
    # the multipart parts, and the basic PUT when it is counted as a part of one
    assert s["parts_sent"] in (BIG_PARTS, BIG_PARTS + 1), s
    assert (s["parts_resumed"], s["parts_retried"]) == (0, 0)
    assert s["commits"] == 1
    assert s["seconds"] > 0 and s["mb_per_s"] >= 0
    # what the summary says was sent is what the hub received
    received = sum(ln.bytes_received for ln in upload_puts(log.lines()))
    assert lfs_bytes <= received <= lfs_bytes + 64 * 1024 * (BIG_PARTS + 1)


def test_single_file_and_path_in_repo(hub, up, repo_id, tmp_path):
    data = binary_blob(200 * 1024, "single")
    path = tmp_path / "weights.safetensors"
    path.write_bytes(data)
    ok(up(repo_id, path))                                  # file -> its basename
    ok(up(repo_id, path, "sub/dir/renamed.bin"))           # file -> PATH_IN_REPO
    folder = write_tree(tmp_path / "f", {"x.txt": b"x\n", "y/z.txt": b"z\n"})
    ok(up(repo_id, folder, "prefix"))                      # folder -> under PATH_IN_REPO
    got = served_files(hub, repo_id)
    assert got == {"weights.safetensors": data, "sub/dir/renamed.bin": data,
                   "prefix/x.txt": b"x\n", "prefix/y/z.txt": b"z\n"}
    assert len(commits(hub, repo_id)) == 4                 # initial + three uploads


def test_default_local_path_is_the_repo_name(hub, up, repo_id, tmp_path):
    name = repo_id.split("/")[1]
    work = tmp_path / "cwd"
    write_tree(work / name, {"README.md": b"# card\n", "m/a.txt": b"a\n"})
    ok(up(repo_id, cwd=work))
    assert served_files(hub, repo_id) == {"README.md": b"# card\n", "m/a.txt": b"a\n"}


def test_private_repo_is_created_private(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "p", {"README.md": b"# private\n"})
    ok(up(repo_id, folder, "--private"))
    assert hub.get(f"/api/models/{repo_id}").status == 401          # anonymous: not found
    assert hub.get(f"/api/models/{repo_id}", token=hub.token).json()["private"] is True


def test_dataset_repo(hub, up, repo_id, tmp_path):
    files = {"data/train.csv": b"a,b\n1,2\n", "README.md": b"# data\n"}
    folder = write_tree(tmp_path / "d", files)
    r = ok(up(repo_id, folder, "--repo-type", "dataset"))
    head = head_commit(hub, repo_id, "dataset")
    assert f"{hub.endpoint}/datasets/{repo_id}/commit/{head}" in r.stdout, r.describe()
    assert served_files(hub, repo_id, "dataset") == files
    assert hub.get(f"/api/models/{repo_id}", token=hub.token).status == 404


def test_warning_without_model_card(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "nocard", {"config.json": b"{}\n"})
    r = ok(up(repo_id, folder))
    assert "README.md" in r.stderr and "ferry card new" in r.stderr, r.describe()
    # with a card: no warning
    (folder / "README.md").write_bytes(b"# now documented\n")
    r = ok(up(repo_id, folder))
    assert "ferry card new" not in r.stderr, r.describe()
    # the repo has its card now: a later upload without one in the folder is not warned about
    more = write_tree(tmp_path / "more", {"weights/extra.json": b"{}\n"})
    r = ok(up(repo_id, more))
    assert "ferry card new" not in r.stderr, r.describe()


def test_quiet_prints_only_the_url(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "q", {"README.md": b"# q\n", "w.bin": binary_blob(5 * MiB, "q")})
    r = ok(up(repo_id, folder, "-q"))
    head = head_commit(hub, repo_id)
    assert r.stdout.strip() == f"{hub.endpoint}/{repo_id}/commit/{head}", r.describe()
    assert not re.search(r"\d+(\.\d+)? ?MB/s", r.stderr), r.describe()   # no progress
    assert os.path.isdir(up.hash_cache_dir) and os.listdir(up.hash_cache_dir)


def test_commit_body_is_the_ndjson_huggingface_hub_sends(hub, up, knobs, repo_id, tmp_path):
    """The commit body, made line by line while it is sent (never whole in memory), byte for
    byte: compact JSON lines, the header (summary, description, parentCommit), the deletions,
    then the files in path order, regular ones inline as base64, LFS ones by oid and size; in
    several commits when beyond --max-commit-files, each on the one before."""
    ok(up(repo_id, write_tree(tmp_path / "old", {"x.txt": b"x\n", "y.txt": b"y\n"}), "old"))
    parent = head_commit(hub, repo_id)
    files = {"a.txt": b"a\n", "empty.txt": b"", "caf\u00e9 \"q\"/n.txt": "\u00fcber\n".encode() * 9,
             "blob.bin": binary_blob(100 * 1024, "body" + repo_id), "z/last.txt": b"z" * 4000}
    record = os.path.join(hub.dir, "commits")
    shutil.rmtree(record, ignore_errors=True)
    knobs(record_commits=True)
    ok(up(repo_id, write_tree(tmp_path / "new", files), "--delete", "old/*", "--max-commit-files",
          "4", "--commit-message", "body test"))
    knobs(record_commits=False)
    bodies = [open(os.path.join(record, name), "rb").read() for name in sorted(os.listdir(record))]
    lfs = lfs_paths(hub, repo_id)
    assert lfs == {"blob.bin"}, lfs

    def line(obj):
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"

    def file_line(path):
        data = files[path]
        if path in lfs:
            return line({"key": "lfsFile", "value": {"path": path, "algo": "sha256",
                                                     "oid": hashlib.sha256(data).hexdigest(),
                                                     "size": len(data)}})
        return line({"key": "file", "value": {"content": base64.b64encode(data).decode(),
                                              "path": path, "encoding": "base64"}})

    order = sorted(files, key=lambda p: p.encode())
    heads = [c["id"] for c in reversed(commits(hub, repo_id))]  # oldest first
    first = (line({"key": "header", "value": {"summary": "body test", "description": "",
                                              "parentCommit": parent}}) +
             line({"key": "deletedFile", "value": {"path": "old/x.txt"}}) +
             line({"key": "deletedFile", "value": {"path": "old/y.txt"}}) +
             b"".join(file_line(p) for p in order[:2]))
    second = (line({"key": "header", "value": {"summary": "body test (part 2)", "description": "",
                                               "parentCommit": heads[-2]}}) +
              b"".join(file_line(p) for p in order[2:]))
    assert bodies == [first, second]
    assert served_files(hub, repo_id) == files
