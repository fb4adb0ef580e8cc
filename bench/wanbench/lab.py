"""The WAN lab (bench/wan/lab) as the benchmark uses it: one link per scenario, commands run in
its namespaces, the delay line's counters and CPU, and Python calls made from inside the
client namespace (the hub's API answers only there)."""
import ctypes
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "bench", "wan", "lab")
CLONE_NEWNET = 0x40000000


@dataclass
class Scenario:
    name: str
    rtt_ms: float
    rate_mbit: float    # 0: none
    loss_pct: float
    flow_mbyte: float   # per-connection cap in MB/s, 0: none

    @property
    def rate_mbps(self):
        """The link's rate in MB/s (10^6 B/s, IP packets with their headers), None: no limit."""
        return self.rate_mbit / 8 if self.rate_mbit else None

    def describe(self):
        rate = f"{self.rate_mbit:g} Mbit/s ({self.rate_mbps:.1f} MB/s)" if self.rate_mbit \
            else "no rate limit"
        flow = f", {self.flow_mbyte:g} MB/s per connection" if self.flow_mbyte else ""
        return f"RTT {self.rtt_ms:g} ms, {rate}, loss {self.loss_pct:g} %{flow}"


def scenarios():
    """The lab's named scenarios, in its order (`lab scenarios`)."""
    out = subprocess.run([LAB, "scenarios"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        name, rtt, rate, loss, flow = line.split()
        found.append(Scenario(name, float(rtt), float(rate), float(loss), float(flow)))
    return found


def stop_all(parent):
    """Stops every lab started in a folder below parent (after a second Ctrl-C cut a stop)."""
    for name in sorted(os.listdir(parent)):
        if os.path.exists(os.path.join(parent, name, "state")):
            subprocess.run([LAB, "stop", "--dir", os.path.join(parent, name)],
                           capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
                           start_new_session=True)


def _enter_netns(name):
    """Moves the calling thread (only it) into the named network namespace."""
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
    finally:
        os.close(fd)


class Lab:
    """A running link; stop() removes it (also after a failed start)."""

    def __init__(self, scenario, directory):
        self.scenario = scenario
        self.dir = directory
        self.env = {}
        self.client_ns = self.server_ns = self.server_addr = None   # known once started
        self._client_thread = None

    def start(self):
        r = subprocess.run([LAB, "start", "--dir", self.dir, "--scenario", self.scenario.name],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            self.stop()
            raise RuntimeError(f"lab start {self.scenario.name}: {r.stderr.strip()}")
        self.env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
        self.client_ns, self.server_ns = self.env["WAN_CLIENT_NS"], self.env["WAN_SERVER_NS"]
        self.server_addr = self.env["WAN_SERVER_ADDR"]
        return self

    def stop(self):
        if self._client_thread:
            self._client_thread.shutdown(wait=False)
            self._client_thread = None
        # its own session: a Ctrl-C at the terminal does not reach the stop command
        subprocess.run([LAB, "stop", "--dir", self.dir], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL, start_new_session=True)

    def client(self, cmd):
        return ["ip", "netns", "exec", self.client_ns, *cmd]

    def server(self, cmd):
        return ["ip", "netns", "exec", self.server_ns, *cmd]

    def in_client(self, fn, *args):
        """fn(*args) called on a thread that lives in the client namespace (its sockets)."""
        if self._client_thread is None:
            self._client_thread = ThreadPoolExecutor(1, initializer=_enter_netns,
                                                     initargs=(self.client_ns,))
        return self._client_thread.submit(fn, *args).result()

    @property
    def link_pid(self):
        return int(self.env["WAN_LINK_PID"])

    def down_bytes(self):
        """IP bytes the delay line has delivered server -> client (its SIGUSR1 counters)."""
        path = os.path.join(self.dir, "link.stats")
        before = os.stat(path).st_ino if os.path.exists(path) else 0
        os.kill(self.link_pid, 10)   # SIGUSR1: a new file is renamed into place
        for _ in range(100):
            if os.path.exists(path) and os.stat(path).st_ino != before:
                break
            time.sleep(0.01)
        with open(path) as f:
            for line in f:
                fields = line.split()
                if fields and fields[0] == "down":
                    return int(dict(kv.split("=") for kv in fields[1:])["bytes_out"])
        raise RuntimeError("link.stats has no down line")

    def server_pids(self):
        out = subprocess.run(["ip", "netns", "pids", self.server_ns], capture_output=True,
                             text=True).stdout
        return [int(p) for p in out.split()]
