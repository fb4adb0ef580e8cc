"""One scenario of the WAN benchmark: the sweep, the rounds of the 2 GiB rows, the snapshot rows
and, for a missed target, a diagnostic run of ferry (-v log, perf profile)."""
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import machine, tools as harness_tools  # noqa: E402
from harness.measure import run_steps  # noqa: E402
from hubbench import tools as hub_tools, verify  # noqa: E402

from . import tools  # noqa: E402
from .report import Run  # noqa: E402
from .threads import ThreadSampler  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def clear(folder):
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)


class ScenarioRunner:
    def __init__(self, a, work, lab, hub, axel, weights, ferry_bin, all_runs):
        self.a = a
        self.lab = lab
        self.hub = hub
        self.axel = axel
        self.sha, self.size, self.cdn_url = weights
        self.ferry_bin = ferry_bin
        self.all_runs = all_runs
        self.out = os.path.join(work, "out")
        self.scratch = os.path.join(work, "scratch")
        self.home = os.path.join(work, "home")   # tools' dotfiles go here
        for d in (self.scratch, self.home):
            os.makedirs(d, exist_ok=True)
        clear(self.out)

    def counters(self):
        """Server CPU, delay-line CPU, the link's bytes, the output disk's busy seconds."""
        return (machine.processes_cpu(self.lab.server_pids()),
                machine.processes_cpu([self.lab.link_pid]), self.lab.down_bytes(),
                machine.disk_busy_seconds(self.out))

    def measure(self, tool, label, rnd, steps, env, size, files, connections, limit,
                sample_after=None):
        """A timed run; the correctness check is the caller's (after the timed part).
        sample_after: also the rate from then on (run.late_mbps, from the link's bytes)."""
        os.sync()   # no earlier writeback pending
        s0, l0, b0, d0 = self.counters()
        threads = ThreadSampler({self.lab.client_ns: "client", self.lab.server_ns: "server"},
                                {self.lab.link_pid: "delay line"}).start()
        sample = []
        timer = threading.Timer(sample_after, lambda: sample.append(
            (time.monotonic(), self.lab.down_bytes()))) if sample_after else None
        if timer:
            timer.start()
        m = run_steps(steps, env, self.scratch, time_limit=limit)
        t_end = time.monotonic()
        threads.stop()
        if timer:
            timer.cancel()
            timer.join()
        s1, l1, b1, d1 = self.counters()
        run = Run(self.lab.scenario.name, tool, label, rnd, size, files, m.wall, m.cpu,
                  m.max_rss_kib, s1 - s0, link_cpu=l1 - l0, link_bytes=b1 - b0,
                  connections=connections, busiest=threads.busiest())
        if d0 is not None and d1 is not None and m.wall > 0:
            run.disk_busy = (d1 - d0) / m.wall
        if sample:
            run.late_mbps = (b1 - sample[0][1]) / (t_end - sample[0][0]) / 1e6
        if m.cut:
            run.cut, run.bytes = True, b1 - b0
            run.note = f"cut at {limit:g} s"
        elif not m.ok_exit:
            err = b" ".join(s.stderr.strip() for s in m.steps).decode(errors="replace")
            run.ok, run.note = False, f"exit {[s.returncodes for s in m.steps]} {err[-200:]}"
        return run, m

    # ---- the 2 GiB file ----

    def file_run(self, tool, rnd, limit, check=True, sample_after=None):
        url = self.axel.url(self.sha) if tool.on_axel_listener else self.cdn_url
        ctx = tools.context(url, os.path.join(self.out, "weights.bin"), self.hub, self.sha,
                            self.size, self.ferry_bin)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
               "LC_ALL": "C", **tool.env(ctx)}
        run, m = self.measure(tool.name, tool.label, rnd, tool.steps(ctx, self.lab), env,
                              self.size, 1, tool.connections, limit, sample_after)
        said = harness_tools.ferry_json(m.steps[0].stdout) if tool.name.startswith("ferry") \
            and m.steps else None
        if said and said.get("max_connections"):   # ferry's own: its controller chooses
            run.connections = said["max_connections"]
        if said and said.get("seconds") and "held_back_seconds" in said:
            run.held_share = said["held_back_seconds"] / said["seconds"]
        if said and said.get("bytes") and "bytes_read_back" in said:
            run.read_back_share = said["bytes_read_back"] / said["bytes"]
        if check and run.ok and not run.cut:
            run.ok, run.note = self.check_file(ctx.out)
        clear(self.out)
        return run

    def check_file(self, path):
        if not os.path.exists(path):
            return False, "no output file"
        if os.path.getsize(path) != self.size:
            return False, f"size {os.path.getsize(path)}"
        return (True, "") if machine.sha256_of(path) == self.sha else (False, "sha256 differs")

    def sweep(self, quick):
        """Each setting once for --sweep-seconds (or the whole file, if sooner); the best
        connections x streams, then request sizes at it. Returns (best, [(setting, MB/s)])."""
        grid, chunks = tools.sweep_grid(quick)
        tried = []

        def point(setting):
            # the rate after the first third: less of the slow start, which on a long link
            # would rank the settings by how fast they open connections
            run = self.file_run(tools.ferry_tool(setting), 0, self.a.sweep_seconds, check=False,
                                sample_after=self.a.sweep_seconds / 3)
            mbps = 0.0 if not run.ok else (run.late_mbps if run.late_mbps else run.mbps)
            tried.append((setting, mbps))
            log(f"  [{self.lab.scenario.name} sweep] {str(setting):40s} {mbps:7.1f} MB/s "
                f"(whole run {run.mbps:.1f}{', cut' if run.cut else ''})"
                f"{'' if run.ok else ' FAILED: ' + run.note}")
            return mbps

        best, best_mbps = None, -1.0
        for setting in grid + [None] * len(chunks):
            if setting is None:   # the request sizes, at the best connections x streams
                setting = tools.Setting(best.connections, best.streams, chunks.pop(0))
            mbps = point(setting)
            if mbps > best_mbps:
                best, best_mbps = setting, mbps
        return best, tried

    def file_rounds(self, file_tools):
        runs = []
        for rnd in range(1, self.a.runs + 1):
            k = (rnd - 1) % len(file_tools)
            for tool in file_tools[k:] + file_tools[:k]:
                run = self.file_run(tool, rnd, self.a.max_seconds)
                self.record(run)
                runs.append(run)
        return runs

    def record(self, run):
        self.all_runs.append(run)
        state = "cut (rate from the link's bytes)" if run.cut else \
            ("ok" if run.ok else "WRONG: " + run.note)
        log(f"  [{run.case} round {run.round}] {run.label:44s} {run.wall:7.2f} s "
            f"{run.mbps:7.1f} MB/s cpu {run.cpu:6.2f} s rss {run.rss_kib / 1024:6.1f} MiB "
            f"server {run.server_cpu:5.2f} s link {run.link_cpu:5.2f} s  {state}")

    # ---- the snapshot (demo/many-files) ----

    def snapshot_rounds(self, repo):
        """ferry download, aria2c -j16 on the resolve URLs, the JS client."""
        names = [("ferry-dl", hub_tools.Ferry()), ("aria2c-j16", hub_tools.Aria2c("2")),
                 ("js", hub_tools.JsClient())]
        runs = []
        for rnd in range(1, self.a.runs + 1):
            k = (rnd - 1) % len(names)
            for name, tool in names[k:] + names[:k]:
                dest = os.path.join(self.out, "dest")
                clear(dest)
                ctx = hub_tools.Context(self.hub, repo, dest, self.scratch, self.ferry_bin, "2")
                tool.prepare(ctx)   # untimed: aria2c's list
                env = hub_tools.base_env(ctx, self.home)
                env.update(tool.env(ctx))
                steps = [[self.lab.client(cmd) for cmd in pipeline] for pipeline in tool.steps(ctx)]
                run, _ = self.measure(name, tool.label, rnd, steps, env, repo.bytes,
                                      len(repo.files), 16 if name == "aria2c-j16" else 0,
                                      self.a.max_seconds)
                if run.ok and not run.cut:
                    run.ok, run.note = verify.check_tree(tool.result_root(ctx), repo.files)
                clear(self.out)
                self.record(run)
                runs.append(run)
        return runs

    # ---- a missed target ----

    def diagnose(self, folder, tag, repo=None):
        """ferry once more with -v (its log) under perf record (a profile), into folder: ferry
        get with its defaults, or ferry download of repo. Returns the files."""
        os.makedirs(folder, exist_ok=True)
        logf = os.path.join(folder, f"{tag}-ferry-v.log")
        prof = os.path.join(folder, f"{tag}-perf.txt")
        data = os.path.join(self.scratch, "perf.data")
        env = None
        if repo:
            ctx = hub_tools.Context(self.hub, repo, os.path.join(self.out, "dest"), self.scratch,
                                    self.ferry_bin, "2")
            env = hub_tools.base_env(ctx, self.home)
            args = ["download", repo.repo_id, "--repo-type", repo.repo_type, "--cache-dir",
                    ctx.dest]
        else:
            args = ["get", self.cdn_url, "-o", os.path.join(self.out, "weights.bin"),
                    "--sha256", self.sha]
        cmd = self.lab.client([self.ferry_bin, *args, "--cacert", self.hub.ca, "-v", "--json"])
        perf = shutil.which("perf")
        if perf:
            cmd = [perf, "record", "-q", "-g", "-F", "499", "-o", data, "--", *cmd]
        with open(logf, "wb") as f:
            f.write(("$ " + " ".join(cmd) + "\n").encode())
            f.flush()
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                 stdin=subprocess.DEVNULL, process_group=0)
            try:
                p.wait(timeout=self.a.max_seconds)
            except subprocess.TimeoutExpired:   # SIGINT: perf writes its data, ferry stops
                os.killpg(p.pid, signal.SIGINT)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
                f.write(b"\n(bench: stopped after --max-seconds)\n")
        written = [logf]
        if perf and os.path.exists(data):
            with open(prof, "wb") as f:
                subprocess.run([perf, "report", "-i", data, "--stdio", "--no-children",
                                "--percent-limit", "1", "--sort", "comm,dso,symbol"],
                               stdout=f, stderr=subprocess.DEVNULL, timeout=300)
            written.append(prof)
            os.unlink(data)
        clear(self.out)
        return written
