"""Per-thread CPU during a run, for the binding column: a link that is not full and cores that
are not all busy can still be bound by one thread at 100 % of its core (a client's event-loop
thread, a server worker, the single-threaded delay line). Sampled from /proc every
INTERVAL seconds, because the tool's threads are gone when it exits; a thread seen first
after the start counts from zero (it began during the run)."""
import os
import threading
import time

INTERVAL = 0.2
TICK = os.sysconf("SC_CLK_TCK")


def netns_inode(name):
    """The inode that names a namespace made by `ip netns add` (its /run/netns file)."""
    return os.stat(f"/run/netns/{name}").st_ino


def _pids_in(inodes):
    """{pid: role} of every process whose network namespace is one of inodes {inode: role}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            link = os.readlink(f"/proc/{entry}/ns/net")   # "net:[4026532281]"
        except OSError:
            continue
        role = inodes.get(int(link[5:-1])) if link.startswith("net:[") else None
        if role:
            found[int(entry)] = role
    return found


def _threads(pid):
    """[(tid, name, cpu seconds)] of one process (empty when it is gone)."""
    out = []
    try:
        with open(f"/proc/{pid}/comm") as f:
            proc = f.read().strip()
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / TICK
            # the main thread runs the event loop in ferry, curl, aria2c and nginx's workers
            name = proc if int(tid) == pid else f"{proc} (thread)"
            out.append((int(tid), name, cpu))
    except (OSError, IndexError, ValueError):
        pass
    return out


class ThreadSampler:
    """Start before a run, stop after it: then busiest() names the thread that used most of a
    core. namespaces: {netns name: role}; extra: {pid: role} (the delay line)."""

    def __init__(self, namespaces, extra):
        self.inodes = {netns_inode(ns): role for ns, role in namespaces.items()}
        self.extra = dict(extra)
        self.first = {}   # (pid, tid) -> cpu at first sight (0 for threads born in the run)
        self.last = {}    # (pid, tid) -> (role, name, cpu)
        self._stop = threading.Event()
        self._thread = None
        self.t0 = self.t1 = None

    def _sample(self, initial):
        pids = _pids_in(self.inodes)
        pids.update(self.extra)
        for pid, role in pids.items():
            for tid, name, cpu in _threads(pid):
                key = (pid, tid)
                if key not in self.first:
                    self.first[key] = cpu if initial else 0.0
                self.last[key] = (role, name, cpu)

    def _loop(self):
        while not self._stop.wait(INTERVAL):
            self._sample(False)

    def start(self):
        self._sample(True)
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._sample(False)
        self.t1 = time.monotonic()

    def seconds_by_process(self):
        """{(role, process name): CPU seconds during the run}, threads summed."""
        out = {}
        for key, (role, name, cpu) in self.last.items():
            proc = name[:-len(" (thread)")] if name.endswith(" (thread)") else name
            out[(role, proc)] = out.get((role, proc), 0.0) + cpu - self.first[key]
        return out

    def busiest(self):
        """(role, thread name, share of one core) of the busiest thread, None if none ran."""
        wall = max(self.t1 - self.t0, 1e-9)
        best = None
        for key, (role, name, cpu) in self.last.items():
            share = (cpu - self.first[key]) / wall
            if best is None or share > best[2]:
                best = (role, name, share)
        return best


def machine_busy():
    """CPU seconds the whole machine spent busy so far (every core, /proc/stat: all but idle
    and iowait), to take differences of."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK
