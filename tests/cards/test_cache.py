"""`ferry cache ls`, `rm` and `prune` on caches filled by ferry download and by the official
JavaScript client from the local hub: sizes against the real files, the deletion strategy of
hub-protocol.md §3.7, dry runs that change nothing, confirmation rules, corrupted entries."""
import os
import pty
import socket
import subprocess
import time

import pytest

from conftest import EXIT_IO, EXIT_OK, EXIT_OTHER, EXIT_USAGE, run_js, tree_state
from ferrytest import FERRY_BIN

LS_KEYS = {"ok", "cache_dir", "size_on_disk", "repos", "partial_files", "warnings", "error"}
REPO_KEYS = {"repo_type", "repo_id", "path", "size_on_disk", "files", "last_accessed",
             "last_modified", "refs", "revisions"}
REV_KEYS = {"commit", "path", "size_on_disk", "files", "last_modified", "refs"}
RM_KEYS = {"ok", "dry_run", "deleted", "failed", "freed_bytes", "items", "error"}
ITEM_KEYS = {"kind", "path", "bytes", "repo_type", "repo_id", "commit"}


def blob_facts(repo_dir):
    """(total size, count, newest mtime, newest atime) of the real blob files."""
    folder = os.path.join(repo_dir, "blobs")
    blobs = [os.path.join(folder, b) for b in os.listdir(folder)]
    stats = [os.stat(b) for b in blobs]
    return (sum(s.st_size for s in stats), len(stats), max(s.st_mtime for s in stats),
            max(s.st_atime for s in stats))


def find(ls, repo_id, repo_type="model"):
    for repo in ls["repos"]:
        assert set(repo) == REPO_KEYS
        for rev in repo["revisions"]:
            assert set(rev) == REV_KEYS
        if repo["repo_id"] == repo_id and repo["repo_type"] == repo_type:
            return repo
    raise AssertionError(f"{repo_type}/{repo_id} not listed: {ls}")


def check_against_disk(ls, cache_dir, repo_id, repo_type="model"):
    assert set(ls) == LS_KEYS and ls["ok"] is True and ls["error"] is None
    repo = find(ls, repo_id, repo_type)
    repo_dir = os.path.join(cache_dir, f"{repo_type}s--" + repo_id.replace("/", "--"))
    assert os.path.samefile(repo["path"], repo_dir)
    size, count, mtime, atime = blob_facts(repo_dir)
    assert repo["size_on_disk"] == size and repo["files"] == count
    assert abs(repo["last_modified"] - mtime) < 1e-3
    assert abs(repo["last_accessed"] - atime) < 1e-3
    for rev in repo["revisions"]:
        snap = os.path.join(repo_dir, "snapshots", rev["commit"])
        files = [os.path.join(b, f) for b, _, fs in os.walk(snap) for f in fs]
        assert rev["files"] == len(files)
        assert rev["size_on_disk"] == sum(os.path.getsize(os.path.realpath(f))
                                          for f in {os.path.realpath(f) for f in files})
    return repo


def hub_tree(hub, repo_id, commit):
    ans = hub.get(f"/api/models/{repo_id}/tree/{commit}?recursive=true")
    assert ans.status == 200, ans.body
    return [e for e in ans.json() if e["type"] == "file"]


def read_refs(repo_dir):
    refs = {}
    for base, _, files in os.walk(os.path.join(repo_dir, "refs")):
        for name in files:
            path = os.path.join(base, name)
            refs[os.path.relpath(path, os.path.join(repo_dir, "refs"))] = open(path).read()
    return refs


# ---- ls -----------------------------------------------------------------------------------

def test_ls_on_a_cache_filled_by_ferry(cache, two_commits):
    cache.download("demo/tiny-model")
    cache.download(two_commits["repo"], "--revision", "v1.0")
    cache.download(two_commits["repo"])
    ls = cache.ls()
    assert os.path.samefile(ls["cache_dir"], cache.dir)
    tiny = check_against_disk(ls, cache.dir, "demo/tiny-model")
    assert tiny["refs"] == ["main"] and len(tiny["revisions"]) == 1
    assert tiny["size_on_disk"] > 4 << 20  # the seeded weights are in it
    two = check_against_disk(ls, cache.dir, two_commits["repo"])
    # distinct blobs over both commits as the hub lists them: a.txt twice, the rest once
    blobs = {}
    for commit in (two_commits["first"], two_commits["second"]):
        for e in hub_tree(cache.hub, two_commits["repo"], commit):
            blobs[e.get("lfs", {}).get("oid", e["oid"])] = e["size"]
    assert two["files"] == len(blobs)
    assert two["size_on_disk"] == sum(blobs.values())
    revs = {r["commit"]: r for r in two["revisions"]}
    assert set(revs) == {two_commits["first"], two_commits["second"]}
    assert revs[two_commits["first"]]["refs"] == ["v1.0"]
    assert revs[two_commits["second"]]["refs"] == ["main"]
    first_tree = hub_tree(cache.hub, two_commits["repo"], two_commits["first"])
    assert revs[two_commits["first"]]["size_on_disk"] == sum(e["size"] for e in first_tree)
    assert revs[two_commits["first"]]["files"] == len(first_tree)
    assert ls["size_on_disk"] == tiny["size_on_disk"] + two["size_on_disk"]
    assert ls["warnings"] == [] and ls["partial_files"] == []

    # the table, one line per revision, and -q
    r = cache.ferry("cache", "ls")
    assert r.returncode == EXIT_OK, r.describe()
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "SIZE", "FILES"]
    assert any(line.startswith("model/demo/tiny-model ") and line.rstrip().endswith("main")
               for line in lines)
    assert "2 repo(s)" in lines[-1]
    r = cache.ferry("cache", "ls", "--revisions")
    rows = [line.split() for line in r.stdout.splitlines() if two_commits["repo"] in line]
    assert sorted(row[1] for row in rows) == sorted([two_commits["first"], two_commits["second"]])
    r = cache.ferry("cache", "ls", "-q")
    assert r.stdout.splitlines() == sorted(["model/demo/tiny-model",
                                            "model/" + two_commits["repo"]])
    r = cache.ferry("cache", "ls", "-q", "--revisions")
    assert sorted(r.stdout.split()) == sorted([tiny["revisions"][0]["commit"],
                                               two_commits["first"], two_commits["second"]])


def test_ls_on_a_cache_filled_by_the_js_client(cache, hub, tmp_path):
    shared = tmp_path / "js-cache"
    run_js(hub, "snapshot", "demo/tiny-model", "model", shared)
    ls = cache.ls("--cache-dir", shared)
    repo = check_against_disk(ls, str(shared), "demo/tiny-model")
    assert repo["refs"] == ["main"]
    tree = hub.get("/api/models/demo/tiny-model/tree/main?recursive=true").json()
    assert repo["size_on_disk"] == sum(e["size"] for e in tree if e["type"] == "file")
    assert ls["warnings"] == []


def test_ls_missing_cache_is_empty_and_a_file_is_an_error(cache, tmp_path):
    ls = cache.ls("--cache-dir", tmp_path / "nothing-here")
    assert ls["repos"] == [] and ls["size_on_disk"] == 0
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = cache.ferry("cache", "ls", "--cache-dir", not_a_dir, "--json")
    assert r.returncode == EXIT_IO
    assert set(r.json) == LS_KEYS and r.json["ok"] is False and r.json["repos"] == []
    assert "cannot read the cache" in r.json["error"]["message"]
    r, out = rm(cache, "--cache-dir", not_a_dir, "model/a/b", "-y")
    assert r.returncode == EXIT_IO and out["items"] == []
    r = cache.ferry("cache", "prune", "--cache-dir", not_a_dir, "-y")
    assert r.returncode == EXIT_IO and "cannot read the cache" in r.stderr


def age_blobs(repo_dir, seconds):
    """Sets the access and modification times of a repo's blobs `seconds` in the past."""
    when = time.time() - seconds
    for blob in os.listdir(os.path.join(repo_dir, "blobs")):
        os.utime(os.path.join(repo_dir, "blobs", blob), (when, when))


def test_ls_filter_sort_limit_and_ages(cache, two_commits):
    """hf cache ls's --filter, --sort and --limit, and ages relative to now."""
    cache.download("demo/tiny-model")
    cache.download(two_commits["repo"], "--revision", "v1.0")
    cache.download(two_commits["repo"])
    tiny, two = "model/demo/tiny-model", "model/" + two_commits["repo"]
    age_blobs(os.path.join(cache.dir, two_commits["folder"]), 3 * 86400)

    def ids(*args):
        r = cache.ferry("cache", "ls", "-q", *args)
        assert r.returncode == EXIT_OK, r.describe()
        return r.stdout.split()

    assert ids("--filter", "size>1MB") == [tiny]  # the seeded weights are MBs, two is KBs
    assert ids("-f", "size<=1MB") == [two]
    assert ids("--filter", "type=dataset") == []
    assert ids("--filter", "refs=v1.0") == [two]
    assert ids("--filter", "accessed>2d") == [two]
    assert ids("--filter", "modified<1h") == [tiny]
    assert ids("--filter", "accessed>2d", "--filter", "size>1MB") == []  # all must match
    assert ids("--revisions", "--filter", "refs=v1.0") == [two_commits["first"]]
    assert ids("--sort", "size") == [tiny, two]  # biggest first
    assert ids("--sort", "size:asc") == [two, tiny]
    assert ids("--sort", "accessed") == [tiny, two]  # newest first
    assert ids("--sort", "name:desc") == sorted([tiny, two], reverse=True)
    assert ids("--sort", "size", "--limit", "1") == [tiny]
    assert ids("--limit", "0") == []
    ls = cache.ls("--filter", "refs=v1.0", "--revisions")
    assert [r["repo_id"] for r in ls["repos"]] == [two_commits["repo"]]
    assert [v["commit"] for v in ls["repos"][0]["revisions"]] == [two_commits["first"]]
    assert [r["repo_id"] for r in cache.ls("--sort", "size:asc")["repos"]] == [
        two_commits["repo"], "demo/tiny-model"]
    # ages relative to now in the table; --json keeps unix seconds
    r = cache.ferry("cache", "ls")
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith(two + " "))
    assert line.count("3 days ago") == 2, line
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith(tiny + " "))
    assert "ago" in line and "days" not in line, line
    for bad in (["--filter", "size>lots"], ["--filter", "colour=red"], ["--filter", "type>x"],
                ["--sort", "colour"], ["--sort", "size:up"], ["--limit", "-1"]):
        r = cache.ferry("cache", "ls", *bad)
        assert r.returncode == EXIT_USAGE, r.describe()
        assert r.stderr.startswith("ferry: error: ") and r.stdout == "", r.describe()


def test_ls_reports_corrupted_entries_as_warnings(cache, two_commits):
    cache.download(two_commits["repo"])
    root = cache.dir
    repo_dir = os.path.join(root, two_commits["folder"])
    snap = os.path.join(repo_dir, "snapshots", two_commits["second"])
    os.symlink("../../blobs/" + "0" * 64, os.path.join(snap, "broken.bin"))
    open(os.path.join(root, "stray.txt"), "w").write("x")
    os.makedirs(os.path.join(root, "not-a-repo"))
    os.makedirs(os.path.join(root, "models--org--nosnapshots", "blobs"))
    open(os.path.join(repo_dir, "refs", "gone"), "w").write("f" * 40)
    r = cache.ferry("cache", "ls", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    ls = r.json
    warnings = "\n".join(ls["warnings"])
    assert "broken symlink" in warnings and "broken.bin" in warnings
    assert "stray.txt" in warnings and "not-a-repo" in warnings
    assert "models--org--nosnapshots" in warnings
    assert "'gone'" in warnings
    assert len(ls["warnings"]) == 5
    repo = find(ls, two_commits["repo"])
    # the broken link is not counted
    assert repo["files"] == len(hub_tree(cache.hub, two_commits["repo"], two_commits["second"]))
    r = cache.ferry("cache", "ls")
    assert r.returncode == EXIT_OK and r.stderr.count("ferry: warning:") == 5


# ---- rm -----------------------------------------------------------------------------------

@pytest.fixture
def two_revisions(cache, two_commits):
    cache.download(two_commits["repo"], "--revision", "v1.0")
    cache.download(two_commits["repo"])
    return os.path.join(cache.dir, two_commits["folder"])


def test_rm_of_a_bare_repo_id_suggests_its_type(cache, hub):
    cache.download("demo/tiny-model")
    before = tree_state(cache.dir)
    r = cache.ferry("cache", "rm", "demo/tiny-model", "-y")
    assert r.returncode == EXIT_USAGE, r.describe()
    assert "did you mean model/demo/tiny-model?" in r.stderr, r.describe()
    r = cache.ferry("cache", "rm", "demo/not-cached", "-y")
    assert "did you mean model/demo/not-cached?" in r.stderr, r.describe()
    assert tree_state(cache.dir) == before


def rm(cache, *args, **kw):
    r = cache.ferry("cache", "rm", "--json", *args, **kw)
    out = r.json
    assert set(out) == RM_KEYS
    for item in out["items"]:
        assert set(item) == ITEM_KEYS
    return r, out


def test_rm_revision_keeps_shared_blobs(cache, two_commits, two_revisions):
    repo_dir = two_revisions
    before = tree_state(cache.dir)
    first_a = os.path.realpath(os.path.join(repo_dir, "snapshots", two_commits["first"], "a.txt"))
    shared = os.path.realpath(os.path.join(repo_dir, "snapshots", two_commits["first"],
                                           "sub", "shared.bin"))
    r, out = rm(cache, two_commits["first"], "-y")
    assert r.returncode == EXIT_OK, r.describe()
    rel = {os.path.relpath(i["path"], cache.dir): i["kind"] for i in out["items"]}
    folder = two_commits["folder"]
    assert rel == {f"{folder}/snapshots/{two_commits['first']}": "snapshot",
                   f"{folder}/refs/v1.0": "ref",
                   f"{folder}/blobs/{os.path.basename(first_a)}": "blob"}
    assert out["freed_bytes"] == len(b"version one\n") and out["deleted"] == 3
    after = tree_state(cache.dir)
    removed = set(before) - set(after)
    snapshot = f"{folder}/snapshots/{two_commits['first']}"
    assert removed == {p for p in before if p == snapshot or p.startswith(snapshot + "/")} | {
        f"{folder}/refs/v1.0", f"{folder}/blobs/{os.path.basename(first_a)}"}
    assert set(after) <= set(before)
    assert os.path.isfile(shared)
    main = os.path.join(repo_dir, "snapshots", two_commits["second"])
    assert open(os.path.join(main, "sub", "shared.bin"), "rb").read() == two_commits["shared"]
    assert open(os.path.join(main, "a.txt"), "rb").read() == b"version two, longer\n"
    assert read_refs(repo_dir) == {"main": two_commits["second"]}


def test_dry_run_deletes_nothing_and_shows_what_rm_deletes(cache, two_commits, two_revisions):
    before = tree_state(cache.dir)
    r, dry = rm(cache, two_commits["first"], "--dry-run")
    assert r.returncode == EXIT_OK and dry["dry_run"] is True and dry["deleted"] == 0
    assert tree_state(cache.dir) == before
    planned = sum(i["bytes"] for i in dry["items"])
    assert dry["freed_bytes"] == planned == len(b"version one\n")
    # human form: the same paths and the space it frees
    r = cache.ferry("cache", "rm", two_commits["first"], "--dry-run")
    assert r.returncode == EXIT_OK
    assert "Would delete:" in r.stdout and "Dry run: nothing deleted." in r.stdout
    for item in dry["items"]:
        assert item["path"] in r.stdout
    assert tree_state(cache.dir) == before
    r, real = rm(cache, two_commits["first"], "-y")
    assert r.returncode == EXIT_OK
    assert real["items"] == dry["items"] and real["freed_bytes"] == planned
    gone = set(before) - set(tree_state(cache.dir))
    assert {os.path.relpath(i["path"], cache.dir) for i in dry["items"]} <= gone


def test_rm_whole_repos(cache, two_commits, two_revisions):
    cache.download("demo/tiny-model")
    r, out = rm(cache, "model/DEMO/Tiny-Model", "-y")  # matching is case-insensitive
    assert r.returncode == EXIT_OK, r.describe()
    assert [(i["kind"], os.path.basename(i["path"])) for i in out["items"]] == [
        ("repo", "models--demo--tiny-model")]
    assert not os.path.exists(os.path.join(cache.dir, "models--demo--tiny-model"))
    assert os.path.isdir(two_revisions)
    # both revisions selected by hash: the repo folder goes whole
    r, out = rm(cache, "hf://" + two_commits["repo"], "-y")
    assert r.returncode == EXIT_OK and out["items"][0]["kind"] == "repo"
    assert not os.path.exists(two_revisions)
    assert cache.ls()["repos"] == []


def test_rm_refusals_delete_nothing(cache, two_commits, two_revisions):
    before = tree_state(cache.dir)
    # stdin is not a terminal and no -y
    r, out = rm(cache, two_commits["first"])
    assert r.returncode == EXIT_USAGE and out["deleted"] == 0
    assert "not a terminal" in out["error"]["message"]
    r = cache.ferry("cache", "rm", two_commits["first"])
    assert r.returncode == EXIT_USAGE and "use -y" in r.stderr and "Deleting" not in r.stdout
    # targets that are not in the cache, or not targets at all
    for target, needle in [("model/demo/not-cached", "not in the cache"),
                           ("dataset/" + two_commits["repo"], "not in the cache"),
                           ("c" * 40, "not in the cache"),
                           ("just-a-name", "neither a 40-hex revision")]:
        r, out = rm(cache, two_commits["first"], target, "-y")
        assert r.returncode == EXIT_USAGE, target
        assert needle in out["error"]["message"] and out["items"] == []
    assert cache.ferry("cache", "rm", "-y").returncode == EXIT_USAGE
    assert tree_state(cache.dir) == before


def run_on_terminal(cache, args, answer):
    """ferry with a pseudo-terminal as stdin; `answer` is typed at the prompt."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([FERRY_BIN] + args, env=cache.env, stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.close(slave)
        slave = None
        time.sleep(0.3)
        os.write(master, answer.encode())
        out, err = proc.communicate(timeout=30)
        return proc.returncode, out, err
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


def test_rm_asks_on_a_terminal(cache, two_commits, two_revisions):
    before = tree_state(cache.dir)
    code, out, err = run_on_terminal(cache, ["cache", "rm", two_commits["first"]], "n\n")
    assert code == EXIT_OTHER and "[y/N]" in err and "nothing deleted" in err
    assert "Will delete:" in out
    assert tree_state(cache.dir) == before
    code, out, err = run_on_terminal(cache, ["cache", "rm", two_commits["first"]], "y\n")
    assert code == EXIT_OK, err
    assert not os.path.exists(os.path.join(two_revisions, "snapshots", two_commits["first"]))


def test_rm_never_follows_symlinks_out_of_the_cache(cache, two_commits, two_revisions, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "precious.bin"
    victim.write_bytes(b"keep me")
    snap = os.path.join(two_revisions, "snapshots", two_commits["first"])
    os.symlink(str(victim), os.path.join(snap, "escape.bin"))  # absolute, out of the cache
    os.symlink(str(outside), os.path.join(snap, "escape-dir"))
    # a repo folder that is a symlink to a folder outside: not listed, not a target
    (outside / "snapshots").mkdir()
    os.symlink(str(outside), os.path.join(cache.dir, "models--evil--link"))
    ls = cache.ls()
    assert [r["repo_id"] for r in ls["repos"]] == [two_commits["repo"]]
    r, out = rm(cache, "model/evil/link", "-y")
    assert r.returncode == EXIT_USAGE
    r, out = rm(cache, two_commits["first"], "-y")
    assert r.returncode == EXIT_OK, r.describe()
    assert all(os.path.realpath(i["path"]).startswith(os.path.realpath(cache.dir))
               for i in out["items"])
    assert victim.read_bytes() == b"keep me"
    assert os.path.isdir(outside / "snapshots")
    assert not os.path.lexists(snap)
    # the whole repo (every revision), with the cache's own link to outside left alone
    r, out = rm(cache, "model/" + two_commits["repo"], "-y")
    assert r.returncode == EXIT_OK
    assert victim.read_bytes() == b"keep me"
    assert os.path.islink(os.path.join(cache.dir, "models--evil--link"))


# ---- prune --------------------------------------------------------------------------------

def write_lock(path, pid):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    host = "".join(c if c > " " and c != "\x7f" else "_" for c in socket.gethostname())
    with open(path, "w") as f:
        f.write(f"ferry-lock 1\npid {pid}\nhost {host}\nstarted {int(time.time())}\n"
                f"nonce {'ab' * 16}\n")


def test_prune_removes_detached_revisions_and_partial_files(cache, two_commits):
    # the first commit by its hash: no ref points to it (detached); main has one
    cache.download(two_commits["repo"], "--revision", two_commits["first"])
    cache.download(two_commits["repo"])
    folder = two_commits["folder"]
    repo_dir = os.path.join(cache.dir, folder)
    locks = os.path.join(cache.dir, ".locks", folder)
    dead = subprocess.Popen(["true"])
    dead.wait()
    a_live, b_dead, c_hf = "1" * 64, "2" * 64, "3" * 40
    partials = {
        f"{folder}/blobs/{b_dead}.incomplete": b"x" * 1000,  # ferry's, owner dead
        f"{folder}/blobs/{b_dead}.journal": b"j" * 64,
        f"{folder}/blobs/{c_hf}.0a1b2c3d.incomplete": b"y" * 500,  # huggingface_hub's
        f"{folder}/blobs/{a_live}.incomplete": b"z" * 300,  # ferry's, owner alive: kept
    }
    for rel, data in partials.items():
        with open(os.path.join(cache.dir, rel), "wb") as f:
            f.write(data)
    write_lock(os.path.join(locks, b_dead + ".ferry-lock"), dead.pid)
    write_lock(os.path.join(locks, a_live + ".ferry-lock"), os.getpid())
    ls = cache.ls()
    listed = {os.path.relpath(p["path"], cache.dir): p["in_use"] for p in ls["partial_files"]}
    assert listed == {**{k: False for k in partials}, f"{folder}/blobs/{a_live}.incomplete": True,
                      f".locks/{folder}/{b_dead}.ferry-lock": False}

    # a.txt of the first commit is the only blob no remaining revision uses
    blob_v1 = os.path.relpath(os.path.realpath(
        os.path.join(repo_dir, "snapshots", two_commits["first"], "a.txt")),
        os.path.realpath(cache.dir))
    before = tree_state(cache.dir)
    r = cache.ferry("cache", "prune", "--dry-run", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    dry = r.json
    assert tree_state(cache.dir) == before
    r = cache.ferry("cache", "prune")  # not a terminal, no -y
    assert r.returncode == EXIT_USAGE and tree_state(cache.dir) == before

    r = cache.ferry("cache", "prune", "-y", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    out = r.json
    assert out["items"] == dry["items"]
    after = tree_state(cache.dir)
    removed = set(before) - set(after)
    snapshot = f"{folder}/snapshots/{two_commits['first']}"
    expected = ({p for p in before if p == snapshot or p.startswith(snapshot + "/")}
                | {f"{folder}/blobs/{b_dead}.incomplete", f"{folder}/blobs/{b_dead}.journal",
                   f"{folder}/blobs/{c_hf}.0a1b2c3d.incomplete",
                   f".locks/{folder}/{b_dead}.ferry-lock", blob_v1})
    assert removed == expected
    sizes = {os.path.relpath(i["path"], cache.dir): i["bytes"] for i in out["items"]}
    assert sizes[f"{folder}/blobs/{b_dead}.incomplete"] == 1000
    assert sizes[f"{folder}/blobs/{b_dead}.journal"] == 64
    assert sizes[f"{folder}/blobs/{c_hf}.0a1b2c3d.incomplete"] == 500
    assert sizes[blob_v1] == len(b"version one\n")
    assert out["freed_bytes"] == sum(sizes.values())
    # the live download's files and the referenced revision stay
    assert os.path.exists(os.path.join(cache.dir, f"{folder}/blobs/{a_live}.incomplete"))
    main = os.path.join(repo_dir, "snapshots", two_commits["second"])
    assert open(os.path.join(main, "sub", "shared.bin"), "rb").read() == two_commits["shared"]
    # nothing left to prune but the live one
    r = cache.ferry("cache", "prune", "-y")
    assert r.returncode == EXIT_OK and "Nothing to delete." in r.stdout


def test_quiet_flags(cache, two_commits, two_revisions):
    r = cache.ferry("cache", "rm", two_commits["first"], "-y", "-q")
    assert r.returncode == EXIT_OK and r.stdout == "" and r.stderr == ""
    r = cache.ferry("cache", "prune", "-y", "-q")
    assert r.returncode == EXIT_OK and r.stdout == ""


def test_huggingface_hub_layouts(cache, tmp_path):
    """What huggingface_hub also writes: nested refs (refs/pr/1), .no_exist markers, trees/,
    and snapshots of real files (its no-symlink fallback), hard links counted once."""
    root = tmp_path / "hf-cache"
    repo = root / "datasets--org--ds"
    c1, c2 = "a" * 40, "b" * 40
    for sub in ["blobs", f"snapshots/{c1}/data", f"snapshots/{c2}", "refs/refs/pr",
                f".no_exist/{c1}", "trees"]:
        (repo / sub).mkdir(parents=True)
    (repo / "blobs" / ("e" * 64)).write_bytes(b"E" * 5000)
    os.symlink("../../../blobs/" + "e" * 64, repo / "snapshots" / c1 / "data" / "train.bin")
    (repo / "snapshots" / c2 / "copied.bin").write_bytes(b"C" * 3000)  # a real file
    os.link(repo / "snapshots" / c2 / "copied.bin", repo / "snapshots" / c2 / "hardlink.bin")
    (repo / ".no_exist" / c1 / "missing.txt").write_bytes(b"")
    (repo / "trees" / f"{c1}.json").write_text('{"format_version": 1, "files": {}}')
    (repo / "refs" / "main").write_text(c1)
    (repo / "refs" / "refs" / "pr" / "1").write_text(c2)
    ls = cache.ls("--cache-dir", root)
    ds = find(ls, "org/ds", "dataset")
    assert ds["size_on_disk"] == 5000 + 3000 and ds["files"] == 2
    revs = {r["commit"]: r for r in ds["revisions"]}
    assert revs[c1]["refs"] == ["main"] and revs[c1]["size_on_disk"] == 5000
    assert revs[c2]["refs"] == ["refs/pr/1"] and revs[c2]["files"] == 2
    assert revs[c2]["size_on_disk"] == 3000
    assert ls["warnings"] == []
    # removing the PR revision takes its ref and the now empty refs/refs/pr folders
    r, out = rm(cache, "--cache-dir", root, c2.upper(), "-y")
    assert r.returncode == EXIT_OK, r.describe()
    assert sorted(i["kind"] for i in out["items"]) == ["ref", "snapshot"]
    assert out["freed_bytes"] == 0  # a hard-linked file frees nothing until its last name goes
    assert not (repo / "refs" / "refs").exists()
    assert (repo / "refs" / "main").read_text() == c1
    assert (repo / "snapshots" / c1 / "data" / "train.bin").read_bytes() == b"E" * 5000
