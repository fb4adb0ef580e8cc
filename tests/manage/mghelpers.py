"""Helpers of the Hub management tests: run ferry against the local hub with an isolated
environment, unique repo names, the hub's own view of repos and refs, the JavaScript client."""
import base64
import json
import os
import subprocess
import time
import urllib.parse
import uuid

from ferrytest import FERRY_BIN, REPO, TIMEOUT_SCALE, FerryResult
from hubrun import ferry_env

HERE = os.path.dirname(os.path.abspath(__file__))

# exit codes of the contract (README "Exit codes")
EXIT_OK, EXIT_OTHER, EXIT_USAGE = 0, 1, 2
EXIT_REPO_NOT_FOUND, EXIT_REVISION_NOT_FOUND, EXIT_ENTRY_NOT_FOUND = 11, 12, 13
EXIT_AUTH, EXIT_CONFLICT, EXIT_BAD_REQUEST = 15, 17, 18

# the documented --json keys (README "Managing repositories")
LS_KEYS = {"ok", "repo_id", "repo_type", "revision", "path", "recursive", "commit", "entries",
           "files", "directories", "lfs_files", "total_size", "error"}
ENTRY_KEYS = {"type", "path", "size", "lfs", "oid", "sha256"}
INFO_KEYS = {"ok", "repo_id", "repo_type", "revision", "sha", "last_modified", "created_at",
             "private", "gated", "disabled", "downloads", "likes", "card_data", "files",
             "files_total", "lfs_files", "total_size", "error"}
INFO_FILE_KEYS = {"path", "size", "lfs", "blob_id", "sha256"}
SEARCH_KEYS = {"ok", "repo_type", "query", "author", "filters", "sort", "limit", "count",
               "pages", "results", "error"}
RESULT_KEYS = {"id", "private", "gated", "downloads", "likes", "last_modified", "created_at",
               "pipeline_tag"}
TAG_LIST_KEYS = {"ok", "repo_id", "repo_type", "tags", "error"}
CREATE_KEYS = {"ok", "repo_id", "repo_type", "url", "created", "error"}

JS_CLIENT = os.path.join(HERE, "jsmanage.mjs")
NODE_MODULES = os.path.join(REPO, "tests", "hub", "conformance", "node_modules")


def unique(prefix="m"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


class Runner:
    """Runs `ferry ARGS` with HOME/HF_HOME under the test's tmp_path, HF_ENDPOINT of the hub,
    its CA in SSL_CERT_FILE, and in HF_TOKEN the token of user `token` (a name in the hub's
    state: demo, demo-read, alice, bob), or `token` itself, or none for token=None."""

    def __init__(self, hub, home):
        self.hub, self.home = hub, home
        self.env = ferry_env(hub, home, {"SSL_CERT_FILE": hub.ca},
                             drop=("HF_HUB_DISABLE_PROGRESS_BARS",))

    def __call__(self, *args, token="demo", env=None, stdin=subprocess.DEVNULL, timeout=60):
        e = dict(self.env)
        if token is not None:
            e["HF_TOKEN"] = self.hub.tokens[token] if token in self.hub.tokens else token
        e.update(env or {})
        args = [str(a) for a in args]
        start = time.monotonic()
        done = subprocess.run([FERRY_BIN] + args, env=e, stdin=stdin, capture_output=True,
                              text=True, errors="replace", timeout=timeout * TIMEOUT_SCALE)
        return FerryResult(args, done.returncode, done.stdout, done.stderr,
                           time.monotonic() - start)


def ok(result):
    assert result.returncode == 0, result.describe()
    return result


def fails(result, code, *words):
    """The command failed with `code`, one clear line on stderr holding each of `words`."""
    assert result.returncode == code, result.describe()
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert len(errors) == 1, result.describe()
    for w in words:
        assert w.lower() in errors[0].lower(), (w, result.describe())
    return errors[0]


def json_of(result, keys):
    """The --json object: exactly the documented keys."""
    obj = json.loads(result.stdout)
    assert set(obj) == set(keys), (sorted(obj), sorted(keys))
    return obj


# ---- the hub's access log ----------------------------------------------------------------

def log_lines(hub):
    """The hub's access log once it stopped growing: nginx writes a line after the answer
    went out, so the last request of a test may land a moment later."""
    previous = None
    for _ in range(40):
        with open(os.path.join(hub.dir, "logs", "access.log")) as f:
            lines = [ln.split() for ln in f if ln.strip()]
        if previous is not None and len(lines) == len(previous):
            return lines
        previous = lines
        time.sleep(0.1)
    return previous


def log_size(hub):
    return len(log_lines(hub))


def api_requests(hub, start, path):
    """URIs of the hub-origin requests for `path` logged after line `start`."""
    return [ln[2] for ln in log_lines(hub)[start:]
            if ln[0] == "hub" and ln[2].split("?")[0] == path]


# ---- the hub's own view -------------------------------------------------------------------

def api_prefix(repo_type):
    return "/api/%ss/" % repo_type


def hub_info(hub, repo_id, repo_type="model", token=None, revision=None, blobs=False):
    url = api_prefix(repo_type) + repo_id
    if revision:
        url += "/revision/" + urllib.parse.quote(revision, safe="")
    if blobs:
        url += "?blobs=true"
    return hub.get(url, token=token or hub.token)


def hub_refs(hub, repo_id, repo_type="model"):
    ans = hub.get(api_prefix(repo_type) + repo_id + "/refs", token=hub.token)
    assert ans.status == 200, ans.body
    refs = ans.json()
    return ({b["name"]: b["targetCommit"] for b in refs["branches"]},
            {t["name"]: t["targetCommit"] for t in refs["tags"]})


def hub_tree(hub, repo_id, revision="main", recursive=True, repo_type="model"):
    url = "%s%s/tree/%s?recursive=%s" % (api_prefix(repo_type), repo_id,
                                         urllib.parse.quote(revision, safe=""),
                                         "true" if recursive else "false")
    entries = []
    for _ in range(1000):
        ans = hub.get(url, token=hub.token)
        assert ans.status == 200, ans.body
        entries += ans.json()
        link = ans.header("link")
        if not link:
            return entries
        url = link.split(";")[0].strip("<> ")
    raise AssertionError("tree pages did not end")


def hub_create(hub, name, repo_type="model", **extra):
    ns, _, short = name.partition("/")
    body = {"name": short, "organization": ns, "type": repo_type, **extra}
    ans = hub.post("/api/repos/create", token=hub.token, json_body=body)
    assert ans.status == 200, ans.body
    return name


def commit_file(hub, repo_id, path, text, branch="main", repo_type="model"):
    """A commit through the hub's commit API; returns its id."""
    lines = [{"key": "header", "value": {"summary": "add " + path}},
             {"key": "file", "value": {"path": path, "encoding": "base64",
                                       "content": base64.b64encode(text.encode()).decode()}}]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    ans = hub.post(f"/api/{repo_type}s/{repo_id}/commit/{branch}", token=hub.token, body=body,
                   headers={"Content-Type": "application/x-ndjson"})
    assert ans.status == 200, ans.body
    return ans.json()["commitOid"]


# ---- the official JavaScript client -------------------------------------------------------

def js(hub, *args, token=None):
    """Runs jsmanage.mjs OP ARGS... with the hub's endpoint and CA; returns its JSON output."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_ENDPOINT": hub.endpoint,
           "NODE_EXTRA_CA_CERTS": hub.ca, "HF_TOKEN": token or hub.token}
    done = subprocess.run(["node", JS_CLIENT] + [str(a) for a in args], env=env,
                          capture_output=True, text=True, timeout=120 * TIMEOUT_SCALE)
    assert done.returncode == 0, f"jsmanage {args}: {done.stderr}"
    return json.loads(done.stdout)
