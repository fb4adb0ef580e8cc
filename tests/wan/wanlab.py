"""What the WAN lab tests share: a link between two network namespaces made by bench/wan/lab
(always stopped), programs run inside them, the probe server.

Run:  /usr/bin/python3 -m pytest tests/wan -q   (as root; binaries from build/, or FERRY_BIN and
FERRY_WANLINK)"""
import os
import subprocess
import sys
import time
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(ROOT, "bench", "wan", "lab")
PROBE = os.path.join(ROOT, "bench", "wan", "probe.py")
WANLINK = os.environ.get("FERRY_WANLINK", os.path.join(ROOT, "build", "ferry-wanlink"))


class Lab:
    def __init__(self, env):
        self.env = env
        self.client_ns, self.server_ns = env["WAN_CLIENT_NS"], env["WAN_SERVER_NS"]
        self.server_addr = env["WAN_SERVER_ADDR"]
        self.dir = env["WAN_DIR"]

    def client(self, *cmd, **kw):
        return ["ip", "netns", "exec", self.client_ns, *cmd]

    def server(self, *cmd):
        return ["ip", "netns", "exec", self.server_ns, *cmd]

    def link_stats(self):
        """The delay line's counters (sent on SIGUSR1) per direction."""
        os.kill(int(self.env["WAN_LINK_PID"]), 10)
        time.sleep(0.2)
        with open(os.path.join(self.dir, "link.stats")) as f:
            return {line.split()[0]: dict(kv.split("=") for kv in line.split()[1:]) for line in f}


def parse_env(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@contextmanager
def lab(tmp_path, *args):
    """A running link (bench/wan/lab start ARGS), stopped however the test ends."""
    assert os.access(WANLINK, os.X_OK), f"no delay line at {WANLINK}: build first"
    d = str(tmp_path / "lab")
    env = dict(os.environ, FERRY_WANLINK=WANLINK)
    r = subprocess.run([LAB, "start", "--dir", d, *args], capture_output=True, text=True, env=env,
                       timeout=60)
    try:
        assert r.returncode == 0, r.stderr
        yield Lab(parse_env(r.stdout))
    finally:
        subprocess.run([LAB, "stop", "--dir", d], capture_output=True, timeout=60)


@contextmanager
def probe_server(the_lab):
    p = subprocess.Popen(the_lab.server(sys.executable, PROBE, "serve"), stdout=subprocess.PIPE,
                         text=True)
    try:
        assert "serving" in p.stdout.readline()
        yield p
    finally:
        p.kill()
        p.wait()
