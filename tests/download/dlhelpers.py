"""Helpers of the `ferry download` tests: run `ferry download`, pick requests out of the hub's
access log, compute the expected cache layout from the hub's tree. (The environment, the log
itself and process control are shared with the other folders: tests/support/hubrun.py.)"""
import fnmatch
import os
import subprocess
import tempfile

from ferrytest import FERRY_BIN, git_blob_id, read_bytes, sha256_bytes

# exit codes of the `ferry download` contract
EXIT_OK, EXIT_USAGE, EXIT_CHECKSUM = 0, 2, 5
EXIT_REPO_NOT_FOUND, EXIT_REVISION_NOT_FOUND, EXIT_ENTRY_NOT_FOUND = 11, 12, 13
EXIT_GATED, EXIT_BAD_TOKEN, EXIT_OFFLINE, EXIT_INTERRUPTED = 14, 15, 16, 130

JSON_KEYS = {"ok", "repo_id", "repo_type", "revision", "commit", "path", "files", "files_total",
             "files_downloaded", "files_cached", "bytes_total", "bytes_downloaded", "seconds",
             "mb_per_s", "requests", "connections", "peak_memory", "held_back_seconds", "peak_rss",
             "error"}
JSON_FILE_KEYS = {"path", "size", "etag", "lfs", "status", "error"}
CACHEDIR_TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"


def repo_folder_name(repo_id, repo_type="model"):
    return f"{repo_type}s--" + repo_id.replace("/", "--")


def etag_of(entry):
    """The blob name huggingface_hub uses: the LFS sha256, else the git blob sha1."""
    return entry["lfs"]["oid"] if "lfs" in entry else entry["oid"]


def fmt_bytes(b):
    """A size as ferry prints it (cli_fmt_bytes): decimal units, two decimals from 1 kB."""
    units = ["B", "kB", "MB", "GB", "TB"]
    i = 0
    while b >= 1000 and i < 4:
        b /= 1000
        i += 1
    return f"{b:.2f} {units[i]}" if i else f"{b:.0f} {units[i]}"


def matches(path, includes, excludes):
    """huggingface_hub's filter_repo_objects: fnmatchcase (`*` crosses `/`), a trailing `/`
    means the folder (`data/` -> `data/*`)."""
    def fix(p):
        return p + "*" if p.endswith("/") else p
    if includes and not any(fnmatch.fnmatchcase(path, fix(p)) for p in includes):
        return False
    return not any(fnmatch.fnmatchcase(path, fix(p)) for p in excludes)


# ---- running ferry ------------------------------------------------------------------------

def start_download(args, env):
    """ferry download in the background; stderr to an unnamed temp file (a pipe could fill)."""
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen([FERRY_BIN, "download"] + [str(a) for a in args], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=stderr)
    process.stderr_file = stderr
    return process


# ---- requests in the hub's access log (hubrun.AccessLog) --------------------------------

def data_requests(lines):
    """Requests that move file content: resolve on the hub, anything on the CDN."""
    return [ln for ln in lines if ln.origin == "cdn" or "/resolve/" in ln.path]


def resolve_gets(lines, path=None):
    return [ln for ln in lines if ln.origin == "hub" and ln.method == "GET"
            and "/resolve/" in ln.path and (path is None or ln.path.endswith("/" + path))]


def cdn_gets(lines, sha=None):
    return [ln for ln in lines if ln.origin == "cdn" and ln.method == "GET"
            and (sha is None or sha in ln.path)]


def ferry_reuses(ferry, log, info, cache, *paths):
    """`ferry download` of `paths` (the whole repo when none) into `cache`, which another client
    filled: it succeeds without one data request and prints the snapshot folder, whose files are
    the hub's. Returns that folder."""
    log.mark()
    r = ferry(info.repo_id, *paths, "--repo-type", info.repo_type, "--cache-dir", cache, "-q")
    assert r.returncode == EXIT_OK, r.describe()
    assert data_requests(log.lines()) == [], log.lines()[:20]
    snap = os.path.join(str(cache), info.folder, "snapshots", info.commit)
    assert r.stdout == snap + "\n"
    for path in paths or info.by_path:
        assert sha256_bytes(read_bytes(os.path.join(snap, path))) == info.reference[path], path
    return snap


# ---- the cache layout ---------------------------------------------------------------------

def snapshot_files(folder):
    """Every file path below a snapshot folder (symlinks followed to files), relative, '/'."""
    found = set()
    for root, dirs, files in os.walk(folder):
        for name in files:
            found.add(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    return found


def check_snapshot(cache, repo_id, repo_type, commit, entries, reference, revision="main",
                   tag=True):
    """Assert the exact huggingface_hub cache layout for `entries` (tree entries) at commit;
    reference maps path -> sha256 of the bytes the hub serves."""
    repo_dir = os.path.join(cache, repo_folder_name(repo_id, repo_type))
    snap = os.path.join(repo_dir, "snapshots", commit)
    assert os.path.isdir(snap), f"no snapshot folder {snap}"
    assert snapshot_files(snap) == {e["path"] for e in entries}
    for entry in entries:
        pointer = os.path.join(snap, entry["path"])
        assert os.path.islink(pointer), f"{entry['path']} is not a symlink"
        depth = entry["path"].count("/")
        etag = etag_of(entry)
        assert os.readlink(pointer) == "../" * (depth + 2) + "blobs/" + etag, entry["path"]
        data = read_bytes(os.path.join(repo_dir, "blobs", etag))
        assert len(data) == entry["size"], entry["path"]
        if "lfs" in entry:
            assert sha256_bytes(data) == entry["lfs"]["oid"], entry["path"]
        else:
            assert git_blob_id(data) == entry["oid"], entry["path"]
        assert sha256_bytes(data) == reference[entry["path"]], f"{entry['path']} differs from the hub"
    blobs = os.listdir(os.path.join(repo_dir, "blobs"))
    assert sorted(blobs) == sorted({etag_of(e) for e in entries}), "stray files in blobs/"
    if revision is not None:
        with open(os.path.join(repo_dir, "refs", revision), "rb") as f:
            assert f.read() == commit.encode(), "refs content must be the commit, no newline"
    assert os.path.isfile(os.path.join(repo_dir, "trees", commit + ".json"))
    if tag:
        with open(os.path.join(cache, "CACHEDIR.TAG")) as f:
            assert f.read().startswith(CACHEDIR_TAG_SIGNATURE)
    return snap
