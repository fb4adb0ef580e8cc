"""Re-upload: an unchanged folder sends no data and makes no commit; a changed file is the only
one sent; the second run trusts the hash cache (path, size, mtime, inode) instead of re-hashing;
an object the server already has (another repo) is not sent again."""
import os

from ferrytest import MiB
from uphelpers import (binary_blob, commit_posts, commits, head_commit, json_summary, lfs_batches,
                       ok, served_files, upload_puts, write_tree)


def folder_files(tag):
    return {"README.md": b"# re-upload\n",
            "config.json": b'{"a": 1}\n',
            "shards/one.bin": binary_blob(5 * MiB, "one" + tag),
            "shards/two.bin": binary_blob(300 * 1024, "two" + tag),
            "deep/x/y.txt": b"y\n" * 100}


def test_unchanged_folder_sends_nothing_and_makes_no_commit(hub, up, log, repo_id, tmp_path):
    files = folder_files(repo_id)
    folder = write_tree(tmp_path / "f", files)
    ok(up(repo_id, folder))
    history = commits(hub, repo_id)
    head = history[0]["id"]

    log.mark()
    r = ok(up(repo_id, folder))
    lines = log.lines()
    assert upload_puts(lines) == [], "data sent again"
    assert commit_posts(lines) == [], "a commit was posted"
    assert [ln for ln in lines if ln.origin == "cdn"] == []
    assert commits(hub, repo_id) == history, "the commit list changed"
    assert head in r.stdout or f"{hub.endpoint}/{repo_id}" in r.stdout, r.describe()
    assert r.stderr.strip(), "a note that nothing changed is expected on stderr"

    log.mark()
    s = json_summary(ok(up(repo_id, folder, "--json")))
    assert s["ok"] is True and s["commits"] == 0
    assert s["files_total"] == len(files) and s["files_unchanged"] == len(files)
    assert s["files_committed"] == 0
    assert (s["bytes_sent"], s["parts_sent"], s["lfs_objects_sent"]) == (0, 0, 0)
    # like huggingface_hub's no-op commit (CommitInfo of the revision's current commit)
    assert s["commit_oid"] == head, f"no-op: commit_oid should be the revision's head: {s}"
    assert upload_puts(log.lines()) == []


def test_changed_file_is_the_only_one_sent(hub, up, log, repo_id, tmp_path):
    files = folder_files(repo_id)
    folder = write_tree(tmp_path / "f", files)
    ok(up(repo_id, folder))
    before = len(commits(hub, repo_id))
    files["shards/two.bin"] = binary_blob(300 * 1024, "two-v2" + repo_id)
    (folder / "shards" / "two.bin").write_bytes(files["shards/two.bin"])
    log.mark()
    s = json_summary(ok(up(repo_id, folder, "--json")))
    puts = upload_puts(log.lines())
    assert len(puts) == 1 and puts[0].path.endswith("/basic"), puts   # the small LFS file only
    assert s["files_committed"] == 1 and s["files_unchanged"] == len(files) - 1, s
    assert s["lfs_objects_sent"] == 1 and s["commits"] == 1
    assert len(commits(hub, repo_id)) == before + 1
    assert served_files(hub, repo_id) == files


def test_second_run_uses_the_hash_cache(hub, up, log, repo_id, tmp_path):
    """Sound check that the second run does not re-hash: change a file's bytes in place (same
    size, same inode) and put its mtime back. A run that re-hashed would see new content and
    commit; a run that trusts the cache (path, size, mtime, inode) reports it unchanged. Then
    a real mtime change makes ferry hash and upload it."""
    files = folder_files(repo_id)
    folder = write_tree(tmp_path / "f", files)
    ok(up(repo_id, folder))
    assert os.listdir(up.hash_cache_dir), "no hash cache written"
    history = commits(hub, repo_id)

    target = folder / "shards" / "two.bin"
    st = os.stat(target)
    with open(target, "r+b") as f:   # same inode, same size
        f.seek(1000)
        f.write(b"\xff" * 16)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(target).st_ino == st.st_ino

    log.mark()
    s = json_summary(ok(up(repo_id, folder, "--json")))
    assert s["commits"] == 0 and s["files_unchanged"] == len(files), \
        f"the file was re-hashed (the hash cache was not used): {s}"
    assert commits(hub, repo_id) == history
    assert upload_puts(log.lines()) == []

    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    s = json_summary(ok(up(repo_id, folder, "--json")))
    assert s["commits"] == 1 and s["files_committed"] == 1, s
    assert served_files(hub, repo_id)["shards/two.bin"] == target.read_bytes()


def test_objects_already_on_the_server_are_not_sent(hub, up, log, repo_id, tmp_path):
    files = folder_files(repo_id)
    ok(up(repo_id + "-first", write_tree(tmp_path / "a", files)))
    log.mark()
    s = json_summary(ok(up(repo_id, write_tree(tmp_path / "b", files), "--json")))
    lines = log.lines()
    assert upload_puts(lines) == [], "objects the hub has were sent again"
    assert len(lfs_batches(lines)) >= 1
    assert s["lfs_objects_present"] == 2 and s["lfs_objects_sent"] == 0, s
    assert s["bytes_skipped"] >= 5 * MiB + 300 * 1024, s
    assert s["commits"] == 1 and s["files_committed"] == len(files)
    assert served_files(hub, repo_id) == files
    assert head_commit(hub, repo_id) == s["commit_oid"]
