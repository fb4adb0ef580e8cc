"""--create-pr, --revision (new and existing branch), --delete, --include/--exclude, commit
message and description, and what the folder walk leaves out (.git/, .cache/huggingface/)."""
from ferrytest import MiB
from uphelpers import (binary_blob, commits, head_commit, json_summary, ok, pr_refs,
                       repo_exists, revision_status, served_files, write_tree)

BASE = {"README.md": b"# base\n", "keep.txt": b"keep\n",
        "old/a.txt": b"old a\n", "old/b.bin": binary_blob(64 * 1024, "old-b"),
        "logs/run1.txt": b"1\n", "logs/deep/run2.txt": b"2\n"}


def seeded(up, repo_id, tmp_path):
    ok(up(repo_id, write_tree(tmp_path / "base", BASE)))
    return dict(BASE)


def test_create_pr(hub, up, repo_id, tmp_path):
    expected_main = seeded(up, repo_id, tmp_path)
    main_head = head_commit(hub, repo_id)
    change = {"keep.txt": b"changed in a PR\n", "new/file.bin": binary_blob(5 * MiB, "pr")}
    r = ok(up(repo_id, write_tree(tmp_path / "pr", change), "--create-pr"))
    prs = pr_refs(hub, repo_id)
    assert list(prs) == ["refs/pr/1"], prs
    assert f"{hub.endpoint}/{repo_id}/discussions/1" in r.stdout, r.describe()
    assert f"/commit/{prs['refs/pr/1']}" in r.stdout, r.describe()
    assert head_commit(hub, repo_id) == main_head, "main moved"
    assert served_files(hub, repo_id) == expected_main
    assert served_files(hub, repo_id, revision="refs/pr/1") == {**expected_main, **change}

    r = ok(up(repo_id, write_tree(tmp_path / "pr2", {"z.txt": b"z\n"}), "--create-pr", "--json"))
    s = json_summary(r)
    assert s["pr_url"] == f"{hub.endpoint}/{repo_id}/discussions/2", s
    assert s["commit_oid"] == pr_refs(hub, repo_id)["refs/pr/2"]


def test_revision_new_branch_from_main(hub, up, repo_id, tmp_path):
    expected = seeded(up, repo_id, tmp_path)
    main_head = head_commit(hub, repo_id)
    assert revision_status(hub, repo_id, "model", "dev") == 404
    change = {"dev-only.txt": b"on dev\n"}
    r = ok(up(repo_id, write_tree(tmp_path / "dev", change), "--revision", "dev"))
    dev_head = head_commit(hub, repo_id, revision="dev")
    assert f"/commit/{dev_head}" in r.stdout, r.describe()
    assert commits(hub, repo_id, revision="dev")[1]["id"] == main_head   # branched from main
    assert served_files(hub, repo_id, revision="dev") == {**expected, **change}
    assert head_commit(hub, repo_id) == main_head
    # an existing branch: committed on top of it
    ok(up(repo_id, write_tree(tmp_path / "dev2", {"second.txt": b"2\n"}), "--revision", "dev"))
    assert commits(hub, repo_id, revision="dev")[1]["id"] == dev_head
    assert "second.txt" in served_files(hub, repo_id, revision="dev")
    assert "second.txt" not in served_files(hub, repo_id)


def test_delete_patterns_in_the_same_commit(hub, up, repo_id, tmp_path):
    seeded(up, repo_id, tmp_path)
    before = len(commits(hub, repo_id))
    new = {"old/a.txt": b"re-added\n", "fresh.txt": b"fresh\n"}
    s = json_summary(ok(up(repo_id, write_tree(tmp_path / "n", new), "--delete", "old/*",
                           "--delete", "logs/*", "--json")))
    assert s["commits"] == 1 and len(commits(hub, repo_id)) == before + 1
    # old/b.bin and logs/** deleted (`*` crosses `/`), old/a.txt re-added (not deleted),
    # keep.txt and README.md untouched
    assert served_files(hub, repo_id) == {"README.md": b"# base\n", "keep.txt": b"keep\n",
                                          "old/a.txt": b"re-added\n", "fresh.txt": b"fresh\n"}


def test_delete_everything_but_gitattributes(hub, up, repo_id, tmp_path):
    seeded(up, repo_id, tmp_path)
    ok(up(repo_id, write_tree(tmp_path / "n", {"only.txt": b"only\n"}), "--delete", "*"))
    got = served_files(hub, repo_id, skip=())
    assert set(got) == {".gitattributes", "only.txt"}


def test_delete_under_path_in_repo_only(hub, up, repo_id, tmp_path):
    seeded(up, repo_id, tmp_path)
    ok(up(repo_id, write_tree(tmp_path / "n", {"a.txt": b"new a\n"}), "old", "--delete", "*"))
    got = served_files(hub, repo_id)
    assert got["old/a.txt"] == b"new a\n"
    assert "old/b.bin" not in got
    assert got["keep.txt"] == b"keep\n" and "logs/run1.txt" in got   # outside old/: kept


def test_include_exclude(hub, up, repo_id, tmp_path):
    files = {"a.txt": b"a\n", "b.bin": binary_blob(1000, "b"), "sub/c.txt": b"c\n",
             "sub/d.md": b"d\n", "sub/deep/e.txt": b"e\n", "README.md": b"# r\n"}
    folder = write_tree(tmp_path / "f", files)
    ok(up(repo_id, folder, "--include", "*.txt", "--include", "README.md"))
    # fnmatch without FNM_PATHNAME: `*.txt` matches in subfolders too
    assert set(served_files(hub, repo_id)) == {"a.txt", "sub/c.txt", "sub/deep/e.txt",
                                               "README.md"}
    repo2 = repo_id + "-ex"
    ok(up(repo2, folder, "--exclude", "sub/*", "--exclude", "*.bin"))
    assert set(served_files(hub, repo2)) == {"a.txt", "README.md"}
    repo3 = repo_id + "-both"
    ok(up(repo3, folder, "--include", "sub/*", "--exclude", "*.md"))
    assert set(served_files(hub, repo3)) == {"sub/c.txt", "sub/deep/e.txt"}


def test_commit_message_and_description(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", {"README.md": b"# m\n"})
    ok(up(repo_id, folder, "--commit-message", "Add the first checkpoint",
          "--commit-description", "step 1000, loss 1.23"))
    c = commits(hub, repo_id)[0]
    assert c["title"] == "Add the first checkpoint"
    assert "step 1000, loss 1.23" in c["message"]
    (folder / "x.txt").write_bytes(b"x\n")
    ok(up(repo_id, folder))
    assert commits(hub, repo_id)[0]["title"]  # a default message (hf: "Upload folder ...")


def test_walk_skips_git_and_hf_cache(hub, up, repo_id, tmp_path):
    files = {"README.md": b"# w\n", "src/model.py": b"print(1)\n"}
    folder = write_tree(tmp_path / "f", {
        **files,
        ".git/config": b"[core]\n", ".git/objects/ab/cdef": b"\0git object",
        ".cache/huggingface/upload/README.md.metadata": b"meta\n",
        "sub/.git/HEAD": b"ref: refs/heads/main\n",
        "sub/.cache/huggingface/download/x.metadata": b"m\n"})
    ok(up(repo_id, folder))
    assert served_files(hub, repo_id) == files


def test_folder_beyond_one_commit_is_split(hub, up, repo_id, tmp_path):
    """More files than one commit may hold: several commits, each on the previous one, the
    deletions in the first, titled "MSG (part N)"; the end state has every file."""
    expected = seeded(up, repo_id, tmp_path)
    before = commits(hub, repo_id)
    files = {f"shard/{i:03d}.txt": b"file %d\n" % i for i in range(23)}
    files["big.bin"] = binary_blob(5 * MiB, "split")
    s = json_summary(ok(up(repo_id, write_tree(tmp_path / "many", files), "--max-commit-files", "10",
                           "--delete", "old/*", "--commit-message", "Many", "--json")))
    assert s["commits"] == 3 and s["files_committed"] == 24 and s["files_deleted"] == 2, s
    after = commits(hub, repo_id)
    assert len(after) == len(before) + 3
    titles = [c["title"] for c in after[:3]]
    assert titles == ["Many (part 3)", "Many (part 2)", "Many"], titles
    assert s["commit_oid"] == head_commit(hub, repo_id) == after[0]["id"]
    for k in ("old/a.txt", "old/b.bin"):
        del expected[k]
    assert served_files(hub, repo_id) == {**expected, **files}


def test_hf_uri_names_repo_revision_and_path(hub, up, repo_id, tmp_path):
    """`hf://NS/NAME@REV/PATH` as REPO_ID (as `hf upload`): the branch and PATH_IN_REPO come
    from the URI; a PATH_IN_REPO given as well is a usage error, before any request."""
    expected = seeded(up, repo_id, tmp_path)
    main_head = head_commit(hub, repo_id)
    folder = write_tree(tmp_path / "u", {"x.txt": b"x\n"})
    ok(up(f"hf://{repo_id}@dev/sub", folder))
    assert served_files(hub, repo_id, revision="dev") == {**expected, "sub/x.txt": b"x\n"}
    assert head_commit(hub, repo_id) == main_head, "main moved"
    r = up(f"hf://{repo_id}/sub", folder, "other")
    assert r.returncode == 2 and "not both" in r.stderr, r.describe()


# ---- hf's other names: repos delete-files (repo-files delete), upload-large-folder ----------

def test_repo_delete_files(hub, up, repo_id, tmp_path):
    """hf repos delete-files: one commit deleting what matches ('*' crosses '/', 'dir/' is
    what is below it), under both names; nothing matching makes no commit; a missing repo is
    an error and is not created."""
    seeded(up, repo_id, tmp_path)
    before = len(commits(hub, repo_id))
    r = ok(up(repo_id, "logs/", "*.bin", "--commit-message", "clean up",
              command=("repo", "delete-files")))
    assert len(commits(hub, repo_id)) == before + 1
    assert commits(hub, repo_id)[0]["title"] == "clean up"
    assert f"/commit/{head_commit(hub, repo_id)}" in r.stdout, r.describe()
    assert served_files(hub, repo_id) == {"README.md": b"# base\n", "keep.txt": b"keep\n",
                                          "old/a.txt": b"old a\n"}
    s = json_summary(ok(up(repo_id, "old/a.txt", "--json", command=("repo-files", "delete"))))
    assert s["files_deleted"] == 1 and s["commits"] == 1, s
    assert commits(hub, repo_id)[0]["title"] == "Delete files old/a.txt with ferry"
    s = json_summary(ok(up(repo_id, "nothing-*", "--json", command=("repo", "delete-files"))))
    assert s["files_deleted"] == 0 and s["commits"] == 0, s
    assert len(commits(hub, repo_id)) == before + 2
    r = up(repo_id + "-none", "*", command=("repo", "delete-files"))
    assert r.returncode == 11, r.describe()
    assert not repo_exists(hub, repo_id + "-none")
    r = up(repo_id, command=("repo", "delete-files"))  # no pattern: a usage error
    assert r.returncode == 2, r.describe()


def test_upload_large_folder_is_an_upload_of_the_folder(hub, up, repo_id, tmp_path):
    files = {"a.txt": b"a\n", "sub/b.bin": binary_blob(3 * MiB, "large-folder"),
             "skip.log": b"no\n"}
    folder = write_tree(tmp_path / "big", files)
    s = json_summary(ok(up(repo_id, folder, "--exclude", "*.log", "--num-workers", "2",
                           "--no-bars", "--json", command=("upload-large-folder",))))
    assert s["files_committed"] == 2 and s["commits"] == 1, s
    del files["skip.log"]
    assert served_files(hub, repo_id) == files
    r = up(repo_id, folder / "a.txt", command=("upload-large-folder",))
    assert r.returncode == 2 and "must be a folder" in r.stderr, r.describe()
