"""Runs of the WAN benchmark, the table per scenario, the binding resource of a row and the
targets of issue 12."""
import json
import os
import re
import statistics
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness.report import Checks  # noqa: E402
from hubbench import report as hub_report  # noqa: E402
from hubbench.report import Summary, _f, _rate  # noqa: E402

CORES = os.cpu_count() or 2


@dataclass
class Run(hub_report.Run):
    """A run of bench/hub_run's kind (case = the scenario; bytes: for a cut run what the link
    delivered; server_cpu: every process in the server namespace) and the link's side."""
    link_cpu: float = 0.0    # the delay line's CPU seconds
    link_bytes: int = 0      # IP bytes the link delivered to the client
    connections: int = 0     # TCP connections the tool opens (for a per-connection cap)
    cut: bool = False        # stopped at --max-seconds: rate from the link's bytes, unverified
    late_mbps: float = None  # the rate after a sample point (the sweep), from the link's bytes
    busiest: tuple = None    # (role, thread, share of a core) of the run's busiest thread
    held_share: float = None  # ferry's own: the share of its run that memory held the network
                              # back (--json held_back_seconds / seconds: the writes behind)
    read_back_share: float = None  # ferry's own: the share of the file its hasher read back
                                   # from disk (--json bytes_read_back / bytes)
    disk_busy: float = None   # the share of the run the output's disk had a request in flight

    @property
    def cores_busy(self):
        """Client + server + delay line CPU over the run's wall time."""
        return (self.cpu + self.server_cpu + self.link_cpu) / self.wall


def summarize(runs, tool, label):
    mine = [r for r in runs if r.tool == tool]
    return Summary(tool, label, [r for r in mine if r.ok], [r for r in mine if not r.ok])


def capacity(scenario, connections):
    """What the link allows this many connections, MB/s (None: no limit set) and how."""
    caps = []
    if scenario.rate_mbps:
        caps.append((scenario.rate_mbps, f"link {scenario.rate_mbit:g} Mbit/s"))
    if scenario.flow_mbyte:
        caps.append((connections * scenario.flow_mbyte,
                     f"{connections} conn x {scenario.flow_mbyte:g} MB/s"))
    return min(caps) if caps else (None, "none set")


def _busiest_thread(s):
    """(role, thread, median share of a core) of a row's busiest thread, None if unknown: the
    thread named most often across the runs, the share the median of the runs'."""
    seen = [r.busiest for r in s.good if r.busiest]
    if not seen:
        return None
    names = [(role, name) for role, name, _ in seen]
    role, name = max(set(names), key=names.count)
    return role, name, statistics.median(share for _, _, share in seen)


def binding(scenario, s, connections):
    """The resource that limits a row: a set rate or per-connection cap reached to 90 %, the
    CPU (client + server + delay line) near all cores, one thread near all of its core (an
    event loop, a server worker, the delay line), or the output's disk busy most of the run.
    When none of them is, the row is bound by the bytes it keeps in flight (its windows and
    requests): 'window', with the cores used, the busiest thread, the disk's busy share and,
    for ferry, the share of the file its hasher read back from disk and of the run its
    memory held the network back (the writes behind). The held share is shown, not named the
    binding: on `cloud` ferry held back 60 % of the run at its 32 MiB budget, and with
    256 MiB it held back nothing and ran no faster (the writer threads wait for the same
    cores)."""
    mbps = s.median("mbps")
    if mbps is None:
        return "-"
    cap, how = capacity(scenario, connections)
    if cap and mbps >= 0.9 * cap:
        return f"{how} ({mbps / cap * 100:.0f} %)"
    busy = s.median("cores_busy")
    if busy is not None and busy >= 0.9 * CORES:
        return f"CPU ({busy:.1f} of {CORES} cores)"
    thread = _busiest_thread(s)
    if thread and thread[2] >= 0.9:
        return f"CPU: one thread, {thread[0]} {thread[1]} ({thread[2] * 100:.0f} % of a core)"
    disk = s.median("disk_busy")
    read_back = s.median("read_back_share")
    # ferry writes with O_DIRECT and its hasher reads back what left memory: its disk work
    # is in the run; the others' writes wait in the page cache until after it
    verify = f", the hasher read back {read_back * 100:.0f} % of the file" if read_back else ""
    if disk is not None and disk >= 0.9:
        return f"disk (busy {disk * 100:.0f} % of the run{verify})"
    detail = [f"cores {busy:.1f} of {CORES}"] if busy is not None else []
    if disk is not None:
        detail.append(f"disk busy {disk * 100:.0f} %{verify}")
    if thread:
        detail.append(f"busiest thread {thread[0]} {thread[1]} {thread[2] * 100:.0f} %")
    held = s.median("held_share")
    if held is not None:
        detail.append(f"memory held the network back {held * 100:.0f} % of the run")
    return "window (nothing saturated: " + ", ".join(detail) + ")" if detail else "?"


def _runs_cell(s):
    cut = sum(1 for r in s.good if r.cut)
    cell = f"{len(s.good)}/{len(s.good) + len(s.bad)}"
    if cut:
        cell += f" ({cut} cut)"
    if s.bad:
        cell += f" (WRONG/FAILED {len(s.bad)}: {'; '.join(sorted({r.note for r in s.bad}))})"
    return cell


def _connections(s, connections):
    """The connections a row's tool opened: what ferry said it opened (the median of its
    runs), else what the tool is told to open."""
    said = [r.connections for r in s.good if r.connections]
    return round(statistics.median(said)) if said else connections.get(s.tool, 1)


def table(scenario, summaries, connections):
    """One row per tool; connections: tool name -> connections it is told to open."""
    ferry = next((s for s in summaries if s.tool in ("ferry", "ferry-dl")), None)
    fm = ferry.median("mbps") if ferry else None
    lines = ["| tool | median MB/s | min-max MB/s | link allows MB/s | CPU s/GB | server CPU "
             "s/GB | delay line CPU s/GB | peak RSS MiB | ferry / tool | binding | good runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for s in summaries:
        m = s.median("mbps")
        lo, hi = s.span("mbps")
        cap, how = capacity(scenario, _connections(s, connections))
        link = "-" if not s.good else \
            statistics.median(r.link_cpu / (r.bytes / 1e9) for r in s.good)
        lines.append(
            f"| {s.label} | {_rate(m)} | {'-' if lo is None else f'{_rate(lo)}-{_rate(hi)}'} "
            f"| {'none set' if cap is None else f'{cap:.0f} ({how})'} "
            f"| {_f(s.median('cpu_per_gb'), '.2f')} | {_f(s.server_cpu_per_gb, '.2f')} "
            f"| {_f(link if s.good else None, '.2f')} | {_f(s.rss_mib, '.1f')} "
            f"| {_f(fm / m if fm and m else None, '.2f')} "
            f"| {binding(scenario, s, _connections(s, connections))} | {_runs_cell(s)} |")
    return "\n".join(lines)


class Targets(Checks):
    """bench/run's PASS / MISS / n/a lines, each naming its scenario."""

    def line(self, verdict, what, detail):
        self.lines.append(f"- {verdict} {what}: {detail}")

    def misses_since(self, n):
        """The targets missed in the lines added after the first n ("SCENARIO: TARGET: ...")."""
        return [ln.split(": ", 2)[1] for ln in self.lines[n:] if ln.startswith("- MISS")]


def scenario_targets(t, scenario, by_tool, dc_ferry, best_is_default):
    """by_tool: name -> Summary of the 2 GiB rows; dc_ferry: ferry's median in dc (or None);
    best_is_default: the sweep found the defaults best (both rows then run one setting)."""
    name = scenario.name
    ferry, best = by_tool.get("ferry"), by_tool.get("ferry-best")
    f = ferry.median("mbps") if ferry else None
    t.ratio(f"{name}: ferry's defaults >= 0.9x its best swept setting", f,
            best.median("mbps") if best else None,
            "the best setting (= the defaults: two samples of one setting)" if best_is_default
            else "the best setting", 0.9)
    rss = max((s.rss_mib for s in (ferry, best) if s and s.rss_mib is not None), default=None)
    t.at_most(f"{name}: ferry's peak RSS <= 64 MiB", rss, 64, "MiB")
    if scenario.rtt_ms >= 20:
        cap = scenario.rate_mbps
        for other, need in (("aria2c", 1.2), ("axel", 1.2), ("curl", 1.5)):
            s = by_tool.get(other)
            o = s.median("mbps") if s else None
            what = f"{name}: ferry >= {need:g}x {other}"
            if f is not None and cap is not None and f >= 0.9 * cap:
                t.line("PASS", what, f"exempt: ferry {_rate(f)} MB/s is {f / cap * 100:.0f} % of "
                       f"the link's {cap:.1f} MB/s ({other} {_rate(o)} MB/s)")
            else:
                t.ratio(what, f, o, other, need)
    if not scenario.rate_mbit and not scenario.flow_mbyte and scenario.rtt_ms in (20, 80):
        within = 0.10 if scenario.rtt_ms == 20 else 0.20
        what = f"{name}: ferry at {scenario.rtt_ms:g} ms within {within * 100:.0f} % of its " \
            "dc figure"
        if dc_ferry is None:
            t.line("n/a ", what, "needs the dc scenario in the same run")
        else:
            t.ratio(what, f, dc_ferry, "ferry in dc", 1 - within)


def snapshot_targets(t, scenario, by_tool):
    ferry, aria = by_tool.get("ferry-dl"), by_tool.get("aria2c-j16")
    t.ratio(f"{scenario.name}: many-files ferry download >= 2x aria2c -j16",
            ferry.median("mbps") if ferry else None, aria.median("mbps") if aria else None,
            "aria2c -j16", 2.0)


def every_run(runs):
    lines = ["| scenario | round | tool | bytes | s | MB/s | CPU s | RSS MiB | server CPU s "
             "| delay line CPU s | link bytes | ok |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in runs:
        state = "cut" if r.cut else ("ok" if r.ok else "WRONG: " + r.note)
        lines.append(f"| {r.case} | {r.round} | {r.label} | {r.bytes} | {r.wall:.2f} "
                     f"| {r.mbps:.1f} | {r.cpu:.2f} | {r.rss_kib / 1024:.1f} "
                     f"| {r.server_cpu:.2f} | {r.link_cpu:.2f} | {r.link_bytes} | {state} |")
    return "\n".join(lines)


def diagnostic_excerpt(files, top=5):
    """What one diagnostic run showed: ferry's --json figures from its log, and the hottest
    entries of the perf profile (comm, object, symbol)."""
    lines = []
    for path in files:
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            continue
        if path.endswith("-ferry-v.log"):
            summary = next((ln for ln in reversed(text.splitlines()) if ln.startswith("{")), "")
            try:
                j = json.loads(summary)
                keys = ("ok", "mb_per_s", "seconds", "connections", "max_connections",
                        "requests", "retries", "bytes_refetched", "peak_memory", "peak_rss")
                lines.append("ferry --json: " + ", ".join(f"{k} {j[k]:.1f}" if isinstance(
                    j.get(k), float) else f"{k} {j.get(k)}" for k in keys if k in j))
            except ValueError:
                lines.append("ferry printed no --json summary (see the log)")
        else:
            hot = [re.sub(r"( -)+$", "", " ".join(ln.split())) for ln in text.splitlines()
                   if re.match(r"\s+\d+\.\d+%\s", ln)][:top]
            if hot:
                lines.append("perf (top entries): " + "; ".join(hot))
    return lines
