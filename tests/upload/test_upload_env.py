"""The environment like ferry download (token file, HF_TOKEN_PATH, --token over HF_TOKEN), and a
folder of many files: preupload and LFS batch in batches of 256, one commit."""
import os

from uphelpers import (EXIT_BAD_TOKEN, binary_blob, check_tree_ids, commit_posts, commits,
                       json_summary, lfs_batches, lfs_paths, ok, served_files, upload_puts,
                       write_tree)

CARD = {"README.md": b"# env\n"}


def preuploads(lines):
    return [ln for ln in lines if ln.origin == "hub" and ln.method == "POST"
            and "/preupload/" in ln.path]


def test_token_file_in_hf_home(hub, up, repo_id, tmp_path):
    os.makedirs(up.hf_home, exist_ok=True)
    with open(os.path.join(up.hf_home, "token"), "w") as f:
        f.write(hub.token + "\n")
    ok(up(repo_id, write_tree(tmp_path / "f", CARD), drop=("HF_TOKEN",)))
    assert served_files(hub, repo_id) == CARD


def test_hf_token_path(hub, up, repo_id, tmp_path):
    path = tmp_path / "elsewhere" / "my-token"
    path.parent.mkdir()
    path.write_text(hub.token)
    ok(up(repo_id, write_tree(tmp_path / "f", CARD), drop=("HF_TOKEN",),
          env={"HF_TOKEN_PATH": str(path)}))
    assert served_files(hub, repo_id) == CARD


def test_token_option_wins_over_the_environment(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", CARD)
    bad = "hf_" + "y" * 34
    r = up(repo_id, folder, env={"HF_TOKEN": bad})
    assert r.returncode == EXIT_BAD_TOKEN, r.describe()
    ok(up(repo_id, folder, "--token", hub.token, env={"HF_TOKEN": bad}))
    assert served_files(hub, repo_id) == CARD


def test_many_files_in_batches_of_256(hub, up, log, repo_id, tmp_path):
    files = dict(CARD)
    files.update({f"text/{i // 50:02d}/t{i:04d}.txt": b"text %d\n" % i for i in range(300)})
    files.update({f"bin/b{i:04d}.bin": binary_blob(600, f"{repo_id}-{i}") for i in range(260)})
    s = json_summary(ok(up(repo_id, write_tree(tmp_path / "many", files), "--json",
                           timeout=120)))
    lines = log.lines()
    # batches of at most 256 (they may be cut smaller as hashing goes): 561 files need at
    # least 3 preupload calls, 260 LFS objects at least 2 batch calls; and batched, not per file
    assert 3 <= len(preuploads(lines)) <= 10, preuploads(lines)
    assert 2 <= len(lfs_batches(lines)) <= 10, lfs_batches(lines)
    assert len(upload_puts(lines)) == 260
    assert len(commit_posts(lines)) == 1 and s["commits"] == 1
    assert s["files_committed"] == len(files) and s["lfs_objects_sent"] == 260
    assert len(commits(hub, repo_id)) == 2
    assert lfs_paths(hub, repo_id) == {p for p in files if p.startswith("bin/")}
    check_tree_ids(hub, repo_id, files)   # downloading 561 files back would take ~15 s
