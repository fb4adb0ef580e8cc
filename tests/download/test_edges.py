"""Edges of `ferry download` (issue 14 part B): a folder as FILENAME and hf:// URIs, the
message after Ctrl-C, the summary line, --local-dir with --cache-dir, an unwritable cache, an
incomplete snapshot offline, and a full disk."""
import glob
import os
import re
import shutil
import signal
import subprocess

import pytest

from dlhelpers import (EXIT_ENTRY_NOT_FOUND, EXIT_INTERRUPTED, EXIT_OFFLINE, EXIT_OK,
                       EXIT_USAGE, check_snapshot, etag_of, start_download)
from ferrytest import FERRY_BIN, TIMEOUT_SCALE, mounted, small_tmpfs_at
from hubrun import stop_process, wait_until

OFFLINE = {"HF_HUB_OFFLINE": "1"}
EXIT_DISK_FULL, EXIT_IO = 7, 6


def snapshot_of(ferry, info):
    return os.path.join(ferry.cache, info.folder, "snapshots", info.commit)


def under(info, folder):
    return [e for e in info.entries if e["path"].startswith(folder + "/")]


def ferry_cmd(ferry, *args):
    """Any ferry command (ls, info, repo ...) in the test's environment, trusting the hub."""
    done = subprocess.run([FERRY_BIN, *args, "--cacert", ferry.hub.ca], env=ferry.env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60 * TIMEOUT_SCALE)
    return done


# ---- 1. a folder as FILENAME, hf:// URIs ---------------------------------------------------

def test_folder_with_a_trailing_slash(ferry, many):
    """`data/group-00/` is everything under that folder (as `hf download`); the result is the
    snapshot folder."""
    r = ferry("datasets/demo/many-files", "data/group-00/")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == snapshot_of(ferry, many) + "\n"
    wanted = under(many, "data/group-00")
    assert len(wanted) == 100
    check_snapshot(ferry.cache, many.repo_id, many.repo_type, many.commit, wanted,
                   many.reference)
    assert re.search(r": 100 files, 100 downloaded", r.stderr), r.stderr


def test_folder_without_the_slash_says_how(ferry, many):
    r = ferry("datasets/demo/many-files", "data/group-00")
    assert r.returncode == EXIT_ENTRY_NOT_FOUND, r.describe()
    assert "it is a folder, write 'data/group-00/'" in r.stderr, r.stderr
    assert "from the server" not in r.stderr


def test_bad_file_name_does_not_blame_the_server(ferry):
    r = ferry("datasets/demo/many-files", "data//x")
    assert r.returncode == EXIT_USAGE, r.describe()
    assert "bad file name 'data//x'" in r.stderr and "server" not in r.stderr, r.stderr


def test_hf_uri_with_revision_and_folder(ferry, many):
    r = ferry(f"hf://datasets/demo/many-files@{many.commit}/data/group-01/")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == snapshot_of(ferry, many) + "\n"
    check_snapshot(ferry.cache, many.repo_id, many.repo_type, many.commit,
                   under(many, "data/group-01"), many.reference, revision=None)
    # the revision was a commit: no ref written for it
    assert not os.path.exists(os.path.join(ferry.cache, many.folder, "refs", "main"))


def test_hf_uri_single_file_and_plain_repo(ferry, tiny):
    r = ferry("hf://demo/tiny-model@main/config.json")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == os.path.join(snapshot_of(ferry, tiny), "config.json") + "\n"
    r = ferry("hf://models/demo/tiny-model", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == snapshot_of(ferry, tiny) + "\n"


@pytest.mark.parametrize("args, needle", [
    (["hf://datasets/demo/many-files", "--repo-type", "dataset"], "--repo-type cannot be used"),
    (["hf://demo/tiny-model@main", "--revision", "main"], "--revision cannot be used"),
    (["hf://demo/tiny-model/config.json", "README.md"], "not both"),
    (["hf://dataset/demo/many-files"], "plural"),
    (["hf://buckets/demo/b"], "buckets are not repositories ferry handles"),
    (["hf://demo"], "NAMESPACE/NAME"),
    (["hf://demo/tiny-model@"], "empty revision"),
])
def test_hf_uri_usage_errors(ferry, log, args, needle):
    r = ferry(*args)
    assert r.returncode == EXIT_USAGE, r.describe()
    assert needle in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert log.lines() == [], "a request was sent"


def test_hf_uri_in_the_other_commands(ferry, many, tiny):
    """The same REPO_ID handling in ls, info, repo and cache verify."""
    r = ferry_cmd(ferry, "ls", "hf://datasets/demo/many-files@main/data/group-03", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["data/group-03/part-%d/" % i for i in range(5)], r.stdout
    r = ferry_cmd(ferry, "info", f"hf://demo/tiny-model@{tiny.commit}", "--json")
    assert r.returncode == 0, r.stderr
    assert '"sha":"%s"' % tiny.commit in r.stdout.replace(" ", ""), r.stdout
    r = ferry_cmd(ferry, "info", "hf://demo/tiny-model/config.json")
    assert r.returncode == EXIT_USAGE and "takes no path" in r.stderr, r.stderr
    r = ferry_cmd(ferry, "repo", "delete", "hf://demo/tiny-model@main", "-y")
    assert r.returncode == EXIT_USAGE and "takes no revision" in r.stderr, r.stderr
    assert ferry("hf://demo/tiny-model", "-q").returncode == EXIT_OK
    r = ferry_cmd(ferry, "cache", "verify", f"hf://demo/tiny-model@{tiny.commit}")
    assert r.returncode == 0, r.stderr


# ---- 2. Ctrl-C -------------------------------------------------------------------------------

def test_ctrl_c_says_interrupted_and_what_was_kept(ferry, many):
    """Files still queued fail "before they started": the message is about the run, not them."""
    args = ferry.args(["datasets/demo/many-files", "--connections", "1", "--streams", "1"])
    process = start_download(args, ferry.env)
    blobs = os.path.join(ferry.cache, many.folder, "blobs")

    def done():
        return [n for n in os.listdir(blobs) if not n.endswith((".incomplete", ".journal"))] \
            if os.path.isdir(blobs) else []
    try:
        wait_until(lambda: len(done()) >= 20, "20 files done", process=process)
    except BaseException:
        stop_process(process)
        raise
    code, stderr = stop_process(process, signal.SIGINT)
    assert code == EXIT_INTERRUPTED, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("ferry: error:")]
    assert len(errors) == 1, stderr
    m = re.fullmatch(r"ferry: error: interrupted: (\d+) bytes kept; run the same command again "
                     r"to resume", errors[0])
    assert m, errors
    assert len(done()) < len(many.entries), "everything was done before the interruption"
    on_disk = sum(os.path.getsize(os.path.join(blobs, n)) for n in os.listdir(blobs)
                  if not n.endswith((".incomplete", ".journal")))
    assert int(m[1]) >= on_disk > 0, (m[1], on_disk)


# ---- 4. the summary line -----------------------------------------------------------------

def summary(stderr):
    m = re.search(r"ferry: \S+@[0-9a-f]{12}: (\d+) (files?), (\d+) downloaded \([^)]*\), "
                  r"(\d+) cached", stderr)
    assert m, stderr
    return int(m[1]), m[2], int(m[3]), int(m[4])


def test_summary_of_one_file_online_and_offline(ferry, tiny):
    r = ferry("demo/tiny-model", "config.json")
    assert r.returncode == EXIT_OK, r.describe()
    assert summary(r.stderr) == (1, "file", 1, 0)
    r = ferry("demo/tiny-model", "config.json", env=OFFLINE)
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == os.path.join(snapshot_of(ferry, tiny), "config.json") + "\n"
    assert summary(r.stderr) == (1, "file", 0, 1)


def test_summary_offline_without_a_tree_cache(ferry, tiny):
    """Older clients keep no trees/: the files are counted from the snapshot itself."""
    assert ferry("demo/tiny-model", "-q").returncode == EXIT_OK
    shutil.rmtree(os.path.join(ferry.cache, tiny.folder, "trees"))
    n = len(tiny.entries)
    r = ferry("demo/tiny-model", "--json", env=OFFLINE)
    assert r.returncode == EXIT_OK, r.describe()
    j = r.json
    assert (j["files_total"], j["files_cached"], j["files_downloaded"]) == (n, n, 0)
    assert sorted(f["path"] for f in j["files"]) == sorted(tiny.by_path)
    assert all(f["status"] == "cached" for f in j["files"])
    assert j["bytes_total"] == tiny.size
    r = ferry("demo/tiny-model", env=OFFLINE)
    assert summary(r.stderr) == (n, "files", 0, n)


def test_seconds_count_the_wait_for_another_process(ferry, hub_clean, tiny):
    """A second process waits for the first one's lock on the weights: its `seconds` is the
    time it took, waiting included."""
    hub_clean.knobs(cdn_rate=4 << 20)  # 32 MiB of weights: several seconds
    first = start_download(ferry.args(["demo/tiny-model", "--connections", "1"]), ferry.env)
    try:
        blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
        wait_until(lambda: glob.glob(os.path.join(blobs, "*.incomplete")), "weights started",
                   process=first)
        r = ferry("demo/tiny-model", "--json", timeout=120)
        first.wait(60 * TIMEOUT_SCALE)
    finally:
        if first.poll() is None:
            stop_process(first)
    assert r.returncode == EXIT_OK, r.describe()
    assert r.seconds > 2, r.seconds
    assert r.json["seconds"] >= r.seconds * 0.8, (r.json["seconds"], r.seconds)


# ---- 5. --local-dir with --cache-dir -----------------------------------------------------

def test_local_dir_and_cache_dir_refused(ferry, log, tmp_path):
    r = ferry("demo/tiny-model", "--local-dir", tmp_path / "here", "--cache-dir", tmp_path / "c")
    assert r.returncode == EXIT_USAGE, r.describe()
    assert "--local-dir and --cache-dir" in r.stderr and len(r.stderr.splitlines()) == 1
    assert log.lines() == [] and not os.path.exists(tmp_path / "here")


# ---- 6. an unwritable cache --------------------------------------------------------------

@pytest.fixture
def read_only_dir(tmp_path):
    """A folder that even root cannot write in: a read-only bind mount."""
    ro = tmp_path / "ro"
    ro.mkdir()
    with mounted(ro, "--bind", ro):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        yield ro


@pytest.mark.parametrize("where", ["cache-dir", "local-dir"])
def test_unwritable_cache_is_one_line_before_any_request(ferry, log, read_only_dir, where):
    target = read_only_dir / "hub"
    r = ferry("demo/tiny-model", f"--{where}", target)
    assert r.returncode == EXIT_IO, r.describe()
    folder = target / "models--demo--tiny-model" if where == "cache-dir" else target
    assert r.stderr == f"ferry: error: cannot create {folder}: Read-only file system\n", r.stderr
    assert log.lines() == [], "a request was sent"


def test_read_only_cache_serves_what_it_has_and_says_what_it_cannot(ferry, tiny, tmp_path, log):
    """A shared cache mounted read-only: what it holds is served (no word about symlinks, whose
    probe cannot run there); a file it lacks is one line naming the folder, and no transfer."""
    cache = tmp_path / "shared"
    cache.mkdir()
    assert ferry("demo/tiny-model", "config.json", "--cache-dir", cache).returncode == EXIT_OK
    with mounted(cache, "--bind", cache):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(cache)], check=True)
        r = ferry("demo/tiny-model", "config.json", "--cache-dir", cache)
        assert r.returncode == EXIT_OK, r.describe()
        assert r.stdout == os.path.join(cache, tiny.folder, "snapshots", tiny.commit,
                                        "config.json") + "\n"
        assert len(r.stderr.splitlines()) == 1 and "1 file, 0 downloaded" in r.stderr, r.stderr
        log.mark()
        r = ferry("demo/tiny-model", "--cache-dir", cache)
        assert r.returncode == EXIT_IO, r.describe()
        assert re.fullmatch(r"ferry: error: cannot create files in %s: Read-only file system "
                            r"\(\S+ is not there\)\n" % re.escape(str(cache / tiny.folder)),
                            r.stderr), r.stderr
        assert [ln for ln in log.lines() if "/resolve/" in ln.path or ln.origin == "cdn"] == []


# ---- 7. offline with a partial snapshot ------------------------------------------------------

def test_offline_names_the_missing_files(ferry, many):
    group = ["--include", "data/group-02/*"]
    assert ferry("datasets/demo/many-files", *group, "-q").returncode == EXIT_OK
    snap = snapshot_of(ferry, many)
    gone = sorted(e["path"] for e in under(many, "data/group-02"))[:5]
    for path in gone:
        os.unlink(os.path.join(snap, path))
    r = ferry("datasets/demo/many-files", *group, env=OFFLINE)
    assert r.returncode == EXIT_OFFLINE, r.describe()
    assert "5 file(s) are missing (%s, %s, %s, ... (2 more))" % tuple(gone[:3]) in r.stderr, \
        r.stderr
    assert "is not completely in the cache" in r.stderr


# ---- 8. a full disk ------------------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    with small_tmpfs_at(tmp_path / "small", "20m") as mount_point:
        yield mount_point


def test_full_disk_leaves_no_empty_partial_files(ferry, many, small_tmpfs):
    cache = small_tmpfs / "hub"
    r = ferry("datasets/demo/many-files", "--cache-dir", cache, timeout=180)
    assert r.returncode == EXIT_DISK_FULL, r.describe()
    blobs = cache / many.folder / "blobs"
    partial = glob.glob(str(blobs / "*.incomplete"))
    journals = glob.glob(str(blobs / "*.journal"))
    # whatever stays holds data and has the journal a rerun resumes from
    assert [p for p in partial if os.path.getsize(p) == 0] == [], len(partial)
    assert sorted(p[:-len(".incomplete")] for p in partial) == \
        sorted(j[:-len(".journal")] for j in journals)
    done = [n for n in os.listdir(blobs) if not n.endswith((".incomplete", ".journal"))]
    assert done, "nothing was downloaded before the disk filled up"
    assert set(done) <= {etag_of(e) for e in many.entries}
