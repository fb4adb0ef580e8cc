"""Run-time switches for tests and benchmarks, persisted in DIR/knobs.json. Changing an
nginx-side knob (CDN bandwidth cap, CDN fault routing) rewrites DIR/nginx/knobs.conf and
reloads nginx."""
import json
import os
import signal
import threading
import time

DEFAULTS = {
    "rate_limit": 0,          # API requests per window per token (0 = off)
    "rate_window": 60,        # seconds
    "url_lifetime": 3600,     # seconds a signed CDN / upload / completion URL stays valid
    "cdn_rate": 0,            # bytes per second per CDN request (nginx limit_rate; 0 = off)
    "hub_gzip": False,        # gzip JSON and text answers of the hub origin, as the Hub does
    "cdn_fault": None,        # see faults.py
    "upload_fault": None,     # see faults.py
    "create_conflict": False, # POST /api/repos/create answers the Hub's 409 "conflicting
                              # operation is in progress" (what clients retry)
    "record_commits": False,  # each commit POST's raw body into DIR/commits/NNNNNN.ndjson
                              # (tests of the bytes a client sends)
    "tree_page_size": 1000,
    "list_page_size": 1000,   # most results in one page of /api/models|datasets|spaces
    "multipart_threshold": 16 << 20,
    "chunk_size": 8 << 20,
    # what GET /api/agent-harnesses answers: the Registry huggingface_hub's agent detection
    # reads (utils/_detect_agent.py); empty by default, so no agent is ever detected
    "agent_harnesses": {"standardEnvVars": [], "harnesses": {}},
}
NGINX_KNOBS = ("cdn_rate", "cdn_fault", "upload_fault", "hub_gzip")


class Knobs:
    def __init__(self, hub):
        self.hub = hub
        self.path = os.path.join(hub.dir, "knobs.json")
        self.lock = threading.Lock()
        self.values = dict(DEFAULTS)
        self.values.update(hub.config.get("knobs", {}))
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.values.update(json.load(f))
        self.counters = {}

    def get(self, key):
        return self.values.get(key)

    def update(self, changes):
        unknown = [k for k in changes if k not in DEFAULTS]
        if unknown:
            raise KeyError(", ".join(unknown))
        check(changes)
        with self.lock:
            self.values.update(changes)
            self.counters.clear()
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.values, f, indent=1)
            os.replace(tmp, self.path)
        # a reload only when nginx's side changed: tests set the defaults around every test,
        # and each reload waits for the new workers
        if any(k in NGINX_KNOBS for k in changes) and write_nginx_knobs(self.hub.dir, self.values):
            reload_nginx(self.hub.dir)

    def next_count(self, name):
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1
            return self.counters[name]


def check(changes):
    """Raises ValueError for a knob value the hub could not serve as the Hub does."""
    if "agent_harnesses" in changes:
        reg = changes["agent_harnesses"]
        ok = (isinstance(reg, dict) and set(reg) == {"standardEnvVars", "harnesses"}
              and isinstance(reg["standardEnvVars"], list)
              and all(isinstance(v, str) for v in reg["standardEnvVars"])
              and isinstance(reg["harnesses"], dict)
              and all(isinstance(h, dict) and isinstance(h.get("envVars", {}), dict)
                      for h in reg["harnesses"].values()))
        if not ok:
            raise ValueError('agent_harnesses must be {"standardEnvVars": [names], '
                             '"harnesses": {id: {"envVars": {name: pattern}}}}')


def write_nginx_knobs(state_dir, values):
    """Variables the generated nginx.conf reads; faults route the CDN through the app. True
    when a file's text changed (nginx must reload to see it)."""
    lines = ["set $cdn_rate %d;" % int(values.get("cdn_rate") or 0),
             "set $cdn_via_app %d;" % (1 if values.get("cdn_fault") else 0),
             "set $upload_via_app %d;" % (1 if values.get("upload_fault") else 0)]
    changed = write_file(os.path.join(state_dir, "nginx", "knobs.conf"), "\n".join(lines) + "\n")
    hub_lines = ["gzip off;"]
    if values.get("hub_gzip"):
        hub_lines = ["gzip on;", "gzip_proxied any;", "gzip_min_length 256;",
                     "gzip_types application/json text/plain;"]
    changed |= write_file(os.path.join(state_dir, "nginx", "hub-knobs.conf"),
                          "\n".join(hub_lines) + "\n")
    return changed


def write_file(path, text):
    """Writes text to path unless it holds that already; True when it wrote."""
    try:
        with open(path) as f:
            if f.read() == text:
                return False
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return True


def reload_nginx(state_dir):
    """SIGHUP to the master, back once the new workers took over: every worker from before
    is gone or says it is shutting down (its listening sockets closed), and a new one runs.
    A fixed half second was what this waited before; 5 s at most now."""
    with open(os.path.join(state_dir, "run", "nginx.pid")) as f:
        pid = int(f.read().strip())
    before = set(workers(pid))
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        now = workers(pid)
        if any(w not in before for w in now) and all(
                w not in before or "shutting down" in now[w] for w in now):
            return
        time.sleep(0.01)


def workers(master):
    """{pid: process title} of the master's children."""
    found = {}
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        return found
    for child in pids:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                found[child] = f.read().decode(errors="replace")
        except OSError:
            pass  # ended meanwhile
    return found
