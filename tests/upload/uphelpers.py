"""Helpers of the `ferry upload` tests: run ferry upload against the local hub with an isolated
environment, build local folders, read back what the hub holds (tree, commits, served bytes),
and read the upload requests out of the hub's access log.

The generic parts (environment, access log, process control) come from tests/support/hubrun.py.
"""
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import tempfile
import time
import urllib.parse

from ferrytest import FERRY_BIN, REPO, TIMEOUT_SCALE, FerryResult, git_blob_id, sha256_bytes
from hubrun import HubEnv, type_prefix

HERE = os.path.dirname(os.path.abspath(__file__))
JSCLIENT_DOWNLOAD = os.path.join(REPO, "tests", "download", "jsclient.mjs")
JSCLIENT_UPLOAD = os.path.join(HERE, "jsupload.mjs")

# exit codes of the contract (README "Exit codes")
EXIT_OK, EXIT_USAGE, EXIT_HTTP, EXIT_IO = 0, 2, 4, 6
EXIT_REPO_NOT_FOUND, EXIT_BAD_TOKEN, EXIT_CONFLICT, EXIT_INVALID = 11, 15, 17, 18
EXIT_INTERRUPTED = 130

JSON_KEYS = {"ok", "repo_id", "repo_type", "revision", "commit_oid", "commit_url", "pr_url",
             "files_total", "files_committed", "files_unchanged", "lfs_objects_sent",
             "lfs_objects_present", "bytes_total", "bytes_sent", "bytes_skipped", "parts_sent",
             "parts_resumed", "parts_retried", "parts_at_once", "commits", "seconds", "mb_per_s", "error"}
ERROR_KEYS = {"code", "name", "message", "http_status"}


def binary_blob(size, seed):
    """Deterministic incompressible bytes with a NUL up front (the hub treats them as binary,
    so they go through LFS whatever their size)."""
    out = bytearray(b"\0bin")
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%s-%d" % (seed.encode(), counter)).digest() * 64
        counter += 1
    return bytes(out[:size])


def write_tree(root, files):
    """files: {relative path: bytes}; folders made as needed."""
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root


def read_tree(root):
    """Every regular file below root (symlinks followed), {relative '/' path: bytes}."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            with open(path, "rb") as f:
                out[rel] = f.read()
    return out


# ---- running ferry upload -----------------------------------------------------------------

class Uploader(HubEnv):
    """`ferry upload` with an isolated HOME/HF_HOME (under the test's tmp_path), HF_TOKEN set to
    the write token of user demo, trusting the hub's CA with --cacert."""

    def __init__(self, hub, home):
        super().__init__(hub, str(home), {"HF_TOKEN": hub.token})

    def argv(self, args, cacert=True, command=("upload",)):
        return ([FERRY_BIN, *command] + [str(a) for a in args]
                + (["--cacert", self.hub.ca] if cacert else []))

    def __call__(self, *args, env=None, drop=(), cacert=True, timeout=60, cwd=None,
                 command=("upload",)):
        """`ferry upload ARGS`, or another command on the same setup (command=(...))."""
        argv = self.argv(args, cacert, command)
        start = time.monotonic()
        done = subprocess.run(argv, env=self.env_with(env, drop), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, cwd=cwd,
                              timeout=timeout * TIMEOUT_SCALE)
        return FerryResult(argv[1:], done.returncode, done.stdout, done.stderr,
                           time.monotonic() - start)

    def start(self, *args, env=None):
        """In the background; stderr to an unnamed temp file (a pipe could fill up)."""
        stderr = tempfile.TemporaryFile()
        process = subprocess.Popen(self.argv(args), env=self.env_with(env),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
        process.stderr_file = stderr
        return process

    # where the contract keeps the upload state
    @property
    def hash_cache_dir(self):
        return os.path.join(self.hf_home, "ferry", "upload", "hashes")

    def parts_journal(self, sha256):
        return os.path.join(self.hf_home, "ferry", "upload", "parts", sha256 + ".json")


def ok(result):
    assert result.returncode == 0, result.describe()
    return result


def json_summary(result):
    """The --json object, with its stable keys checked."""
    try:
        summary = json.loads(result.stdout)
    except ValueError:
        raise AssertionError("stdout is not one JSON object\n" + result.describe())
    missing = JSON_KEYS - set(summary)
    assert not missing, (f"--json lacks the contract's keys {sorted(missing)}", result.describe())
    if summary["error"] is not None:
        assert set(summary["error"]) == ERROR_KEYS, summary["error"]
    return summary


# ---- what the hub holds -------------------------------------------------------------------

def api_prefix(repo_type):
    return f"/api/{repo_type}s/"


def quote_rev(revision):
    return urllib.parse.quote(revision, safe="")


def repo_exists(hub, repo_id, repo_type="model"):
    ans = hub.get(f"{api_prefix(repo_type)}{repo_id}", token=hub.token)
    return ans.status == 200


def head_commit(hub, repo_id, repo_type="model", revision="main"):
    ans = hub.get(f"{api_prefix(repo_type)}{repo_id}/revision/{quote_rev(revision)}",
                  token=hub.token)
    assert ans.status == 200, (revision, ans.status, ans.body)
    return ans.json()["sha"]


def revision_status(hub, repo_id, repo_type, revision):
    return hub.get(f"{api_prefix(repo_type)}{repo_id}/revision/{quote_rev(revision)}",
                   token=hub.token).status


def commits(hub, repo_id, repo_type="model", revision="main"):
    """The commit list of a revision, newest first: [{id, title, message, ...}]."""
    ans = hub.get(f"{api_prefix(repo_type)}{repo_id}/commits/{quote_rev(revision)}?limit=1000",
                  token=hub.token)
    assert ans.status == 200, ans.body
    return ans.json()


def tree(hub, repo_id, repo_type="model", revision="main"):
    """{path: tree entry} of the files at revision (one page is enough for these tests)."""
    ans = hub.get(f"{api_prefix(repo_type)}{repo_id}/tree/{quote_rev(revision)}?recursive=true",
                  token=hub.token)
    assert ans.status == 200, ans.body
    assert 'rel="next"' not in (ans.header("link") or ""), "more than one page"
    return {e["path"]: e for e in ans.json() if e["type"] == "file"}


def served_files(hub, repo_id, repo_type="model", revision="main", skip=(".gitattributes",)):
    """{path: bytes} as the hub serves them at revision (LFS redirects to the CDN followed),
    on one keep-alive connection per origin."""
    commit = head_commit(hub, repo_id, repo_type, revision)
    ctx = ssl.create_default_context(cafile=hub.ca)
    hub_netloc = urllib.parse.urlsplit(hub.endpoint).netloc
    conns = {}

    def get(url):
        u = urllib.parse.urlsplit(url)
        if u.netloc not in conns:
            conns[u.netloc] = http.client.HTTPSConnection(u.hostname, u.port, context=ctx,
                                                          timeout=60)
        headers = {"Authorization": "Bearer " + hub.token} if u.netloc == hub_netloc else {}
        conns[u.netloc].request("GET", u.path + ("?" + u.query if u.query else ""),
                                headers=headers)
        resp = conns[u.netloc].getresponse()
        return resp, resp.read()

    out = {}
    try:
        for path in tree(hub, repo_id, repo_type, commit):
            if path in skip:
                continue
            resp, body = get(f"{hub.endpoint}/{type_prefix(repo_type)}{repo_id}/resolve/"
                             f"{commit}/{urllib.parse.quote(path)}")
            if resp.status in (301, 302, 307):
                resp, body = get(resp.getheader("Location"))
            assert resp.status == 200, (path, resp.status)
            out[path] = body
    finally:
        for conn in conns.values():
            conn.close()
    return out


def check_tree_ids(hub, repo_id, files, repo_type="model", revision="main"):
    """The tree at revision holds exactly files ({path: bytes}, .gitattributes aside), each with
    the right id: the LFS sha256 and size for LFS files, the git blob sha1 for the others.
    One request: for folders too large to download back file by file."""
    entries = tree(hub, repo_id, repo_type, revision)
    entries.pop(".gitattributes", None)
    assert set(entries) == set(files), sorted(set(entries) ^ set(files))[:10]
    for path, data in files.items():
        e = entries[path]
        if "lfs" in e:
            assert (e["lfs"]["oid"], e["lfs"]["size"]) == (sha256_bytes(data), len(data)), path
        else:
            assert e["oid"] == git_blob_id(data), path


def lfs_paths(hub, repo_id, repo_type="model", revision="main"):
    return {p for p, e in tree(hub, repo_id, repo_type, revision).items() if "lfs" in e}


def pr_refs(hub, repo_id, repo_type="model"):
    ans = hub.get(f"{api_prefix(repo_type)}{repo_id}/refs?include_prs=1", token=hub.token)
    assert ans.status == 200, ans.body
    return {p["ref"]: p["targetCommit"] for p in ans.json().get("pullRequests") or []}


# ---- the hub's access log: upload traffic -------------------------------------------------

def upload_puts(lines):
    """PUTs to upload targets on the CDN (multipart parts and basic uploads)."""
    return [ln for ln in lines if ln.origin == "cdn" and ln.method == "PUT"
            and ln.path.startswith("/upload/")]


def part_of(line):
    """(upload id, part number or 'basic') of an upload PUT."""
    _, _, uid, part = line.path.split("/", 3)
    return uid, part


def accepted_parts(lines):
    """{(upload id, part)} that the server accepted (2xx)."""
    return {part_of(ln) for ln in upload_puts(lines) if 200 <= ln.status < 300}


def completions(lines):
    return [ln for ln in lines if ln.origin == "hub" and ln.method == "POST"
            and "/api/lfs/complete/" in ln.path]


def lfs_batches(lines):
    return [ln for ln in lines if ln.origin == "hub" and ln.method == "POST"
            and ln.path.endswith(".git/info/lfs/objects/batch")]


def commit_posts(lines):
    return [ln for ln in lines if ln.origin == "hub" and ln.method == "POST"
            and "/commit/" in ln.path]


# ---- the official JavaScript client -------------------------------------------------------

def js_env(hub, token=None):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tempfile.gettempdir(),
           "HF_ENDPOINT": hub.endpoint, "NODE_EXTRA_CA_CERTS": hub.ca}
    if token:
        env["HF_TOKEN"] = token
    return env


def js_snapshot(hub, repo_id, repo_type, cache_dir, revision="main"):
    """The JS client's snapshotDownload; returns the snapshot folder it printed."""
    out = subprocess.run(["node", JSCLIENT_DOWNLOAD, "snapshot", repo_id, repo_type,
                          str(cache_dir), revision], env=js_env(hub), capture_output=True,
                         text=True, timeout=120 * TIMEOUT_SCALE)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def js_upload(hub, repo_id, repo_type, folder):
    """The JS client's uploadFiles of every file under folder (repo created if missing);
    returns the commit oid it printed."""
    out = subprocess.run(["node", JSCLIENT_UPLOAD, repo_id, repo_type, str(folder)],
                         env=js_env(hub, hub.token), capture_output=True, text=True,
                         timeout=120 * TIMEOUT_SCALE)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]
