"""A cluster on this machine (issue 16): the local hub as the origin behind a WAN lab link with
a bandwidth cap, the cache tier (deploy/mirror) and the nodes on the datacenter's side of the
link (the lab's client namespace; each node is a `ferry download` with its own cache, all
sharing the link to the origin as a cluster's machines do), a DNS stub there for the tier's
nginx. Used by tests/wan/test_cluster.py and bench/cluster_run. Needs root.

    with Cluster(tmp, rtt_ms=20, rate_mbit=640, seed_size="32M") as c:
        results = c.run_nodes(4)                 # all at once, through the tier
        c.origin_bytes(mark)                     # what the origin sent since a mark
"""
import glob
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from hubrun import AccessLog
from wanlab import lab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LOCALHUB = os.path.join(ROOT, "tests", "hub", "localhub")
TIER = os.path.join(ROOT, "deploy", "mirror", "tier")
STUBDNS = os.path.join(HERE, "stubdns.py")
SECRET = "cluster-node-secret-0123456789"
REPO = "demo/tiny-model"


class Node:
    """One finished node: exit code, wall seconds, its --json summary, stderr, its cache."""

    def __init__(self, code, seconds, stdout, stderr, home):
        self.code, self.seconds, self.stderr, self.home = code, seconds, stderr, home
        try:
            self.json = json.loads(stdout)
        except ValueError:
            self.json = {}

    def weights_ok(self):
        """The weights in this node's cache hash to their blob name (the Hub's SHA-256)."""
        blobs = [b for b in glob.glob(os.path.join(self.home, "hub", "models--demo--tiny-model",
                                                   "blobs", "*")) if len(os.path.basename(b)) == 64]
        if not blobs:
            return False
        for b in blobs:
            h = hashlib.sha256()
            with open(b, "rb") as f:
                for piece in iter(lambda: f.read(1 << 20), b""):
                    h.update(piece)
            if h.hexdigest() != os.path.basename(b):
                return False
        return True


class Cluster:
    def __init__(self, tmp, ferry, rtt_ms=20, rate_mbit=640, seed_size="32M", slice_size="2m"):
        self.tmp, self.ferry = str(tmp), ferry
        self.rtt_ms, self.rate_mbit, self.seed_size = rtt_ms, rate_mbit, seed_size
        self.slice = slice_size
        self._lab = None
        self.dns = None
        self.tier_url = None
        self.nodes_made = 0

    # ---- set-up and tear-down ---------------------------------------------------------------

    def __enter__(self):
        self._lab_cm = lab(pathlib.Path(self.tmp), "--rtt", str(self.rtt_ms), "--rate", str(self.rate_mbit))
        self.lab = self._lab_cm.__enter__()
        try:
            self._start_hub()
            self._start_dns()
            self.start_tier()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop_tier()
            if self.dns:
                self.dns.kill()
                self.dns.wait()
            subprocess.run(self.lab.server(LOCALHUB, "stop", "--dir", self.hub_dir),
                           capture_output=True, timeout=60)
        finally:
            self._lab_cm.__exit__(*exc)

    def _start_hub(self):
        self.hub_dir = os.path.join(self.tmp, "hub")
        name = self.lab.env["WAN_SERVER_NAME"]
        r = subprocess.run(self.lab.server(LOCALHUB, "start", "--dir", self.hub_dir, "--listen",
                                           name, "--seed", "--seed-size", self.seed_size),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        self.hub = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.ca = self.hub["LOCALHUB_CA"]
        self.log = AccessLog(self.hub_dir)

    def _start_dns(self):
        server = self.lab.env["WAN_SERVER_NAME"] + "=" + self.lab.server_addr
        self.dns = subprocess.Popen(self.lab.client(sys.executable, STUBDNS, server),
                                    stdout=subprocess.PIPE, text=True)
        self.dns_addr = self.dns.stdout.readline().strip()
        assert self.dns_addr, "the DNS stub did not start"

    def start_tier(self):
        """A tier with an empty cache, on the nodes' side of the link."""
        d = os.path.join(self.tmp, "tier")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "secret"), "w") as f:
            f.write(SECRET)
        with open(os.path.join(d, "hub-token"), "w") as f:
            f.write(self.hub["HF_TOKEN"])
        self.tier_dir = os.path.join(d, "state-%d" % time.monotonic_ns())
        r = subprocess.run(self.lab.client(
            TIER, "start", "--dir", self.tier_dir, "--hub", self.hub["HF_ENDPOINT"], "--hub-ca",
            self.ca, "--hub-token-file", os.path.join(d, "hub-token"), "--secret-file",
            os.path.join(d, "secret"), "--cert", os.path.join(self.hub_dir, "tls", "server.pem"),
            "--key", os.path.join(self.hub_dir, "tls", "server.key"), "--listen", "127.0.0.1",
            "--resolver", self.dns_addr, "--slice", self.slice, "--cdn", self.hub["LOCALHUB_CDN"]),
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.tier_url, self.tier_pid = env["FERRY_MIRROR"], int(env["TIER_PID"])

    def stop_tier(self):
        if self.tier_url:
            subprocess.run([TIER, "stop", "--dir", self.tier_dir], capture_output=True, timeout=60)
            self.tier_url = None

    def kill_tier(self):
        """kill -9 of the tier's nginx, workers and all: a cache machine that died."""
        workers = subprocess.run(["pgrep", "-P", str(self.tier_pid)], capture_output=True,
                                 text=True).stdout.split()
        for pid in [self.tier_pid] + [int(w) for w in workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def corrupt_tier_cache(self):
        """Flips the last byte of every cached entry (a slice's last body byte): a tier whose
        disk went bad. Returns how many entries."""
        entries = glob.glob(os.path.join(self.tier_dir, "cache", "*", "*", "*"))
        for entry in entries:
            with open(entry, "r+b") as f:
                f.seek(-1, os.SEEK_END)
                byte = f.read(1)
                f.seek(-1, os.SEEK_END)
                f.write(bytes([byte[0] ^ 0x5A]))
        return len(entries)

    # ---- nodes -------------------------------------------------------------------------------

    def node_env(self, home, via_tier=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "FERRY_"))}
        env.update(HF_HOME=home, HF_ENDPOINT=self.hub["HF_ENDPOINT"], HF_TOKEN=self.hub["HF_TOKEN"],
                   HF_HUB_DISABLE_PROGRESS_BARS="1")
        if via_tier:
            env.update(FERRY_MIRROR=self.tier_url, FERRY_MIRROR_TOKEN=SECRET)
        return env

    def start_nodes(self, n, via_tier=True, args=()):
        """n nodes started at once (each its own empty cache); returns their processes."""
        procs = []
        for _ in range(n):
            self.nodes_made += 1
            home = os.path.join(self.tmp, "node-%d" % self.nodes_made)
            p = subprocess.Popen(self.lab.client(self.ferry, "download", REPO, "--cacert", self.ca,
                                                 "--json", *args),
                                 env=self.node_env(home, via_tier), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            p.home, p.started = home, time.monotonic()
            procs.append(p)
        return procs

    @staticmethod
    def wait_nodes(procs, timeout=600):
        done = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            done.append(Node(p.returncode, time.monotonic() - p.started, out, err, p.home))
        return done

    def run_nodes(self, n, via_tier=True, args=(), timeout=600):
        return self.wait_nodes(self.start_nodes(n, via_tier, args), timeout)

    def origin_bytes(self):
        """Bytes the origin's CDN sent since the log's mark (self.log.mark())."""
        return sum(x.bytes_sent for x in self.log.lines() if x.origin == "cdn")

    @staticmethod
    def lfs_bytes(node):
        """The snapshot's LFS bytes (what the origin's CDN serves), from a node's --json."""
        return sum(f["size"] for f in node.json.get("files", []) if f["lfs"])
