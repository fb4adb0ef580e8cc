"""Errors (no write permission, invalid token, no token, wrong or unknown repo type, missing local
path, hostile PATH_IN_REPO), nothing read outside LOCAL_PATH (symlinks), and the token: only on
the Hub's API, never on upload targets or the completion, never printed."""
import os

from ferrytest import MiB
from uphelpers import (EXIT_BAD_TOKEN, EXIT_INVALID, EXIT_IO, EXIT_REPO_NOT_FOUND, EXIT_USAGE, binary_blob,
                       commits, completions, json_summary, ok, repo_exists, served_files,
                       upload_puts, write_tree)

CARD = {"README.md": b"# card\n"}


def owned_repo(up, repo_id, tmp_path):
    ok(up(repo_id, write_tree(tmp_path / "seed", {**CARD, "a.txt": b"a\n"})))
    return repo_id


def test_no_write_permission(hub, up, repo_id, tmp_path):
    owned_repo(up, repo_id, tmp_path)
    history = commits(hub, repo_id)
    folder = write_tree(tmp_path / "f", {"evil.txt": b"evil\n"})
    # alice is not a member of demo; demo-read is a read-only token of the owner
    for who in ("alice", "demo-read"):
        r = up(repo_id, folder, env={"HF_TOKEN": hub.tokens[who]})
        assert r.returncode == EXIT_BAD_TOKEN, (who, r.describe())
        assert "403" in r.stderr or "write" in r.stderr.lower(), r.describe()
    assert commits(hub, repo_id) == history


def test_invalid_token(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", CARD)
    bad = "hf_" + "x" * 34
    r = up(repo_id, folder, env={"HF_TOKEN": bad})
    assert r.returncode == EXIT_BAD_TOKEN, r.describe()
    assert bad not in r.stdout + r.stderr
    r = up(repo_id, folder, "--token", bad, "--json")
    assert r.returncode == EXIT_BAD_TOKEN, r.describe()
    s = json_summary(r)
    assert s["ok"] is False and s["error"]["code"] == EXIT_BAD_TOKEN
    assert s["error"]["http_status"] == 401
    assert bad not in r.stdout + r.stderr
    assert not repo_exists(hub, repo_id)


def test_no_token(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", CARD)
    r = up(repo_id, folder, drop=("HF_TOKEN",))
    assert r.returncode in (EXIT_BAD_TOKEN, EXIT_REPO_NOT_FOUND), r.describe()
    assert not repo_exists(hub, repo_id)


def test_repo_type(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", CARD)
    r = up(repo_id, folder, "--repo-type", "kernel-module")
    assert r.returncode == EXIT_USAGE, r.describe()
    # a repo of another user seen through the wrong type: creating it is refused (403), and
    # as a dataset it does not exist. hf falls back to repo info after the 403 and reports
    # "not found" (11); stopping at the refused creation (15) says the same thing as well
    other = owned_repo(up, repo_id + "-model", tmp_path)
    r = up(other, folder, "--repo-type", "dataset", env={"HF_TOKEN": hub.tokens["alice"]})
    assert r.returncode in (EXIT_REPO_NOT_FOUND, EXIT_BAD_TOKEN), r.describe()
    assert other in r.stderr, r.describe()
    assert not repo_exists(hub, other, "dataset")


def test_missing_local_path(hub, up, repo_id, tmp_path):
    """A path the file system does not have is a file error (exit 6), not a usage error, and
    nothing is created on the Hub."""
    r = up(repo_id, tmp_path / "does-not-exist")
    assert r.returncode == EXIT_IO, r.describe()
    assert "does-not-exist" in r.stderr and "No such file" in r.stderr, r.describe()
    assert not repo_exists(hub, repo_id)


def test_hostile_path_in_repo(hub, up, repo_id, tmp_path):
    owned_repo(up, repo_id, tmp_path)
    history = commits(hub, repo_id)
    data = tmp_path / "x.bin"
    data.write_bytes(b"x\n")
    for target in ("../escape.txt", "a/../../b.txt", "..", ".git/config", "sub/.git/hooks/x",
                   "a/./../../etc"):
        r = up(repo_id, data, target)
        assert r.returncode in (EXIT_USAGE, EXIT_INVALID), (target, r.describe())
        assert target.split("/")[0] in r.stderr or "path" in r.stderr.lower(), r.describe()
    assert commits(hub, repo_id) == history
    assert set(served_files(hub, repo_id)) == {"README.md", "a.txt"}


def test_symlinks_followed_only_inside_the_folder(hub, up, repo_id, tmp_path):
    outside = tmp_path / "outside"
    secret = b"SECRET-OUTSIDE-" * 100
    write_tree(outside, {"secret.txt": secret, "dir/more.txt": secret})
    folder = write_tree(tmp_path / "f", {**CARD, "real/data.txt": b"real\n"})
    os.symlink(outside / "secret.txt", folder / "leak.txt")             # absolute, outside
    os.symlink("../outside/secret.txt", folder / "leak-relative.txt")   # relative, outside
    os.symlink(outside / "dir", folder / "leak-dir")                    # folder outside
    os.symlink("real/data.txt", folder / "inside-link.txt")             # inside: followed
    os.symlink("real", folder / "alias")                                # folder inside
    os.symlink(".", folder / "real" / "loop")                           # a loop: not endless
    os.symlink("missing-target", folder / "dangling")
    r = ok(up(repo_id, folder))
    got = served_files(hub, repo_id)
    assert not any(secret[:15] in d for d in got.values()), "content outside LOCAL_PATH uploaded"
    assert not any(p.startswith(("leak", "dangling")) for p in got), got.keys()
    assert got["inside-link.txt"] == b"real\n"
    assert got["real/data.txt"] == b"real\n"
    # a folder link inside (alias) may be walked or not (a cycle check by inode can skip it);
    # the loop must not make the walk endless, and nothing else may appear
    assert set(got) - {"README.md", "real/data.txt", "inside-link.txt"} <= {
        "alias/data.txt", "real/loop/data.txt"}, got.keys()
    assert "secret" not in r.stdout


def test_token_only_on_the_api(hub, up, log, repo_id, tmp_path):
    files = {**CARD, "big.bin": binary_blob(5 * MiB, "tok"), "small.bin": binary_blob(5000, "t")}
    folder = write_tree(tmp_path / "f", files)
    r = ok(up(repo_id, folder, "-v"))
    lines = log.lines()
    puts = upload_puts(lines)
    assert len(puts) == 6, puts   # 5 parts + 1 basic
    cdn = [ln for ln in lines if ln.origin == "cdn"]
    assert cdn and all(ln.auth == "no" for ln in cdn), [ln for ln in cdn if ln.auth != "no"]
    done = completions(lines)
    assert len(done) == 1 and done[0].auth == "no", done
    # the basic upload's verify action is called (with the token: it is on the Hub's API)
    verify = [ln for ln in lines if ln.method == "POST" and ln.path.endswith("/objects/verify")]
    assert len(verify) == 1 and verify[0].status == 200, verify
    api = [ln for ln in lines if ln.origin == "hub" and "/api/lfs/complete/" not in ln.path]
    assert api and all(ln.auth == "yes" for ln in api), [ln for ln in api if ln.auth != "yes"]
    for text in (r.stdout, r.stderr):
        assert hub.token not in text
        assert hub.token[3:12] not in text
    assert served_files(hub, repo_id) == files
