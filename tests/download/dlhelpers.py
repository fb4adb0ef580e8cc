"""Helpers of the `ferry download` tests: run ferry against the local hub with an isolated
environment, read the hub's access log, compute the expected cache layout from the hub's tree."""
import fnmatch
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "hub"))

from helpers import FERRY_BIN, TIMEOUT_SCALE, FerryResult  # noqa: E402

MiB = 1024 * 1024

# exit codes of the `ferry download` contract
EXIT_OK, EXIT_USAGE, EXIT_CHECKSUM = 0, 2, 5
EXIT_REPO_NOT_FOUND, EXIT_REVISION_NOT_FOUND, EXIT_ENTRY_NOT_FOUND = 11, 12, 13
EXIT_GATED, EXIT_BAD_TOKEN, EXIT_OFFLINE, EXIT_INTERRUPTED = 14, 15, 16, 130

JSON_KEYS = {"ok", "repo_id", "repo_type", "revision", "commit", "path", "files", "files_total",
             "files_downloaded", "files_cached", "bytes_total", "bytes_downloaded", "seconds",
             "mb_per_s", "requests", "connections", "peak_rss", "error"}
JSON_FILE_KEYS = {"path", "size", "etag", "lfs", "status", "error"}
CACHEDIR_TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def repo_folder_name(repo_id, repo_type="model"):
    return f"{repo_type}s--" + repo_id.replace("/", "--")


def type_prefix(repo_type):
    """Web route prefix: empty for models, `datasets/` or `spaces/` otherwise."""
    return "" if repo_type == "model" else repo_type + "s/"


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

def ferry_env(hub, home, extra=None, drop=()):
    """A clean environment: no token, no CA and no cache variables from the caller."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "HF_ENDPOINT": hub.endpoint,
           "HF_HOME": os.path.join(str(home), "hf-home"),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    for key in ("FERRY_TEST_TIMEOUT_MULTIPLIER", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra or {})
    for key in drop:
        env.pop(key, None)
    return env


def run_download(args, env, timeout=60):
    args = ["download"] + [str(a) for a in args]
    start = time.monotonic()
    done = subprocess.run([FERRY_BIN] + args, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout * TIMEOUT_SCALE)
    return FerryResult(args, done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def start_download(args, env):
    """ferry download in the background; stderr to an unnamed temp file (a pipe could fill)."""
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen([FERRY_BIN, "download"] + [str(a) for a in args], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=stderr)
    process.stderr_file = stderr
    return process


def stop_process(process, sig=signal.SIGKILL, timeout=20):
    """Send sig, wait for the end; returns (exit code as the shell reports it, stderr)."""
    process.send_signal(sig)
    try:
        process.wait(timeout * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError(f"ferry did not exit within {timeout}s of signal {sig}")
    process.stderr_file.seek(0)
    stderr = process.stderr_file.read().decode(errors="replace")
    process.stderr_file.close()
    code = process.returncode
    return (128 - code if code < 0 else code), stderr


def wait_until(condition, what, timeout=30, process=None):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"ferry ended (exit {process.returncode}) before: {what}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for: {what}")


# ---- the hub's access log -----------------------------------------------------------------

class LogLine:
    def __init__(self, fields):
        (self.origin, self.method, self.uri, status, sent, received, self.auth,
         when) = fields[:8]
        self.status, self.bytes_sent, self.bytes_received = int(status), int(sent), int(received)
        self.time = float(when)
        # protocol (HTTP/2.0, HTTP/1.1), nginx's connection serial number, Range header or "-"
        self.protocol, self.connection, self.range = (fields[8:11] + [None] * 3)[:3]

    @property
    def path(self):
        return urllib.parse.unquote(self.uri.split("?", 1)[0])

    def __repr__(self):
        return f"{self.origin} {self.method} {self.uri} {self.status} {self.bytes_sent} {self.auth}"


class AccessLog:
    """Lines of the hub's access log written after mark()."""

    def __init__(self, hub_dir):
        self.path = os.path.join(hub_dir, "logs", "access.log")
        self.start = 0

    def _all(self):
        with open(self.path) as f:
            return [line.split() for line in f if line.strip()]

    def _settled(self):
        """The lines once the log stops growing: nginx writes a request's line when the request
        ends, which can be after its client (an earlier test, an aborted ferry) moved on."""
        previous = -1
        for _ in range(20):
            lines = self._all()
            if len(lines) == previous:
                break
            previous = len(lines)
            time.sleep(0.15)
        return lines

    def mark(self):
        self.start = len(self._settled())
        return self

    def lines(self, settle=True):
        return [LogLine(f) for f in (self._settled() if settle else self._all())[self.start:]]


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
            assert git_blob_sha1(data) == entry["oid"], entry["path"]
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
