"""Run one tool invocation (a sequence of pipelines) and measure wall time, CPU and peak RSS.

CPU comes from os.wait4 on each direct child: its rusage covers the child and every descendant
it waited for, so a tool's threads and helper processes are included.

Peak RSS does not come from that rusage: on Linux a child's ru_maxrss starts at the RSS of the
process it was forked from (here: this Python, which can be 100+ MiB), so a small tool would
show the harness's memory. Each command therefore runs under GNU time (/usr/bin/time, a ~1 MiB
process), which forks it afresh and reports its true maximum resident set size (%M, KiB).
"""
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field


@dataclass
class StepOutput:
    returncodes: list
    stdout: bytes
    stderr: bytes


@dataclass
class Measurement:
    wall: float = 0.0          # seconds, first process started .. last process reaped
    cpu: float = 0.0           # user + system seconds of all processes of all steps
    max_rss_kib: int = 0       # largest peak RSS of any single process (pipeline: max of parts)
    steps: list = field(default_factory=list)   # StepOutput per step
    cut: bool = False          # stopped at run_steps' time_limit (the tool did not finish)

    @property
    def ok_exit(self):
        return all(rc == 0 for s in self.steps for rc in s.returncodes)


TIME_BIN = "/usr/bin/time"


def _read_rss(path):
    """The %M figure GNU time wrote (its last line; earlier lines may name a signal)."""
    try:
        with open(path) as f:
            lines = f.read().split()
        return int(lines[-1]) if lines and lines[-1].isdigit() else 0
    except OSError:
        return 0


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _stop(procs):
    """Stop the still-running processes of an interrupted step and reap them."""
    for p in procs:
        if p.returncode is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    for p in procs:
        if p.returncode is None:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class _Cutter:
    """Stops the running pipeline at a deadline: SIGINT to each command's process group (GNU
    time ignores SIGINT while it waits, so it still reports the tool's peak RSS), SIGKILL 5 s
    later for a tool that does not stop."""

    def __init__(self, deadline, m):
        self.deadline, self.m = deadline, m
        self.procs = []
        self.lock = threading.Lock()
        self.timer = None

    def watch(self, procs):
        self.procs = procs
        left = self.deadline - time.monotonic()
        self.timer = threading.Timer(max(0.0, left), self._signal, (signal.SIGINT,))
        self.timer.daemon = True
        self.timer.start()

    def _signal(self, sig):
        with self.lock:
            for p in self.procs:
                if p.returncode is None:
                    try:
                        os.killpg(p.pid, sig)
                        self.m.cut = True
                    except ProcessLookupError:
                        pass
        if sig == signal.SIGINT:
            self.timer = threading.Timer(5.0, self._signal, (signal.SIGKILL,))
            self.timer.daemon = True
            self.timer.start()

    def done(self):
        with self.lock:
            if self.timer:
                self.timer.cancel()


def _run_pipeline(cmds, env, scratch, m, cutter=None):
    """Start cmds connected by pipes; return StepOutput. Adds CPU and RSS into m.

    With a cutter, each command runs in its own process group, which the cutter stops at its
    deadline."""
    rss_paths = [os.path.join(scratch, f"rss{i}") for i in range(len(cmds))]
    for path in rss_paths:
        if os.path.exists(path):
            os.unlink(path)
    out_path = os.path.join(scratch, "stdout")
    err_path = os.path.join(scratch, "stderr")
    procs = []
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            prev = subprocess.DEVNULL
            for i, cmd in enumerate(cmds):
                last = i == len(cmds) - 1
                timed = [TIME_BIN, "-q", "-f", "%M", "-o", rss_paths[i], *cmd]
                p = subprocess.Popen(timed, stdin=prev, stdout=out if last else subprocess.PIPE,
                                     stderr=err, env=env, close_fds=True,
                                     process_group=0 if cutter else None)
                if prev is not subprocess.DEVNULL:
                    prev.close()   # only the next process holds the read end
                prev = p.stdout if not last else None
                procs.append(p)
            if cutter:
                cutter.watch(procs)
            codes = []
            for p in procs:
                _, status, ru = os.wait4(p.pid, 0)
                p.returncode = _exit_code(status)   # tell Popen it is reaped
                codes.append(p.returncode)
                m.cpu += ru.ru_utime + ru.ru_stime
        except BaseException:
            _stop(procs)
            raise
        finally:
            if cutter:
                cutter.done()
    for path in rss_paths:
        m.max_rss_kib = max(m.max_rss_kib, _read_rss(path))
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()
    return StepOutput(codes, stdout, stderr)


def run_steps(steps, env, scratch, time_limit=None):
    """Run steps (each a list of commands forming a pipeline) one after the other.

    A step runs only if the previous one succeeded. Wall time covers all steps. time_limit
    (seconds): stop the tools then and set m.cut (the WAN benchmark's slow links).
    """
    m = Measurement()
    t0 = time.monotonic()
    for cmds in steps:
        cutter = _Cutter(t0 + time_limit, m) if time_limit else None
        out = _run_pipeline(cmds, env, scratch, m, cutter)
        m.steps.append(out)
        if m.cut or any(rc != 0 for rc in out.returncodes):
            break
    m.wall = time.monotonic() - t0
    return m
