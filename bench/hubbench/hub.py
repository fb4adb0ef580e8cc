"""The benchmark's own local hub (tests/hub/localhub): start, stop, tree listings, resolve
redirects, and the access log counted per run."""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCALHUB = os.path.join(REPO, "tests", "hub", "localhub")
sys.path.insert(0, os.path.join(REPO, "tests", "hub"))

from hubclient import HubClient  # noqa: E402  (tests/hub/hubclient.py: no redirects followed)

# signed CDN URLs must outlive the whole benchmark (they are resolved before timing starts)
URL_LIFETIME = 4 * 3600


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


class LocalHub:
    """prefix: a command prefix for localhub (bench/wan_run: `ip netns exec SERVER_NS`), listen:
    its --listen address."""

    def __init__(self, directory, seed_size, prefix=(), listen=None):
        self.dir = directory
        self.seed_size = seed_size
        self.prefix = list(prefix)
        self.listen = listen
        self.env = None
        self.client = None

    def start(self):
        listen = ["--listen", self.listen] if self.listen else []
        out = subprocess.run([*self.prefix, LOCALHUB, "start", "--dir", self.dir, *listen,
                              "--seed", "--seed-size", str(self.seed_size),
                              "--knob", f"url_lifetime={URL_LIFETIME}"],
                             capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError("localhub start failed:\n" + out.stderr[-2000:])
        self.env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        self.client = HubClient(self.env)
        return self

    def stop(self):
        # its own session: a Ctrl-C at the terminal does not reach the stop command
        subprocess.run([*self.prefix, LOCALHUB, "stop", "--dir", self.dir], capture_output=True,
                       timeout=120,
                       stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def endpoint(self):
        return self.env["HF_ENDPOINT"]

    @property
    def ca(self):
        return self.env["LOCALHUB_CA"]

    @property
    def token(self):
        return self.env["HF_TOKEN"]

    def server_pids(self):
        """nginx master (its workers are counted through it) and the Python application."""
        return [p for p in (read_pid(os.path.join(self.dir, "run", n))
                            for n in ("nginx.pid", "app.pid")) if p]

    # ---- the API, outside the timed part ----

    def tree(self, repo_id, repo_type):
        """Every file entry of the recursive tree at main (all pages), and the commit."""
        prefix = f"/api/{repo_type}s/{repo_id}"
        info = self.client.get(f"{prefix}/revision/main", token=self.token)
        if info.status != 200:
            raise RuntimeError(f"repo info {repo_id}: {info.status}")
        commit = info.json()["sha"]
        url = f"{prefix}/tree/{commit}?recursive=true"
        files = []
        for _ in range(1000):   # bounded: 1,000 entries a page
            ans = self.client.get(url, token=self.token)
            if ans.status != 200:
                raise RuntimeError(f"tree {repo_id}: {ans.status}")
            files += [e for e in ans.json() if e["type"] == "file"]
            m = re.search(r'<([^>]+)>;\s*rel="next"', ans.header("link") or "")
            if not m:
                break
            url = m.group(1)
        return commit, files

    def resolve_url(self, repo_id, repo_type, commit, path):
        prefix = "" if repo_type == "model" else repo_type + "s/"
        return f"{self.endpoint}/{prefix}{repo_id}/resolve/{commit}/{path}"

    def cdn_url(self, resolve_url):
        """Where a resolve request redirects to (a signed CDN URL), without following it."""
        ans = self.client.head(resolve_url, token=self.token)
        if ans.status not in (301, 302, 307) or not ans.header("location"):
            raise RuntimeError(f"resolve {resolve_url}: {ans.status}, no redirect")
        return ans.header("location")

    # ---- access log ----

    @property
    def access_log(self):
        return os.path.join(self.dir, "logs", "access.log")

    def log_offset(self):
        try:
            return os.path.getsize(self.access_log)
        except OSError:
            return 0

    def requests_since(self, offset):
        """Counts of the access-log lines written after offset, by kind."""
        with open(self.access_log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        counts = {"all": 0, "api": 0, "resolve": 0, "cdn": 0, "other": 0}
        for line in lines:
            parts = line.split()
            if len(parts) < 3:
                continue
            counts["all"] += 1
            origin, uri = parts[0], parts[2]
            if origin == "cdn":
                counts["cdn"] += 1
            elif "/resolve/" in uri:
                counts["resolve"] += 1
            elif uri.startswith("/api/"):
                counts["api"] += 1
            else:
                counts["other"] += 1
        counts["data"] = counts["resolve"] + counts["cdn"]
        return counts, lines
