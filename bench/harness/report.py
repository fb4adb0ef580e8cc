"""Summaries, tables (markdown) and the target checks of issue 2."""
import statistics
from dataclasses import dataclass


@dataclass
class Run:
    case: str
    tool: str
    round: int
    size: int
    wall: float
    cpu: float
    rss_kib: int
    nginx_cpu: float   # None when unknown
    ok: bool
    note: str = ""

    @property
    def mbps(self):
        return self.size / self.wall / 1e6

    @property
    def cpu_per_gb(self):
        return self.cpu / (self.size / 1e9)


@dataclass
class Summary:
    tool: str
    label: str
    good: int
    bad: int
    mbps: float = None       # median
    mbps_min: float = None
    mbps_max: float = None
    cpu_per_gb: float = None  # median
    rss_mib: float = None     # max
    nginx_cpu_per_gb: float = None  # median
    notes: str = ""


def summarize(runs, tool, label):
    good = [r for r in runs if r.tool == tool and r.ok]
    bad = [r for r in runs if r.tool == tool and not r.ok]
    s = Summary(tool, label, len(good), len(bad))
    s.notes = "; ".join(sorted({r.note for r in bad if r.note}))
    if good:
        rates = [r.mbps for r in good]
        s.mbps = statistics.median(rates)
        s.mbps_min, s.mbps_max = min(rates), max(rates)
        s.cpu_per_gb = statistics.median(r.cpu_per_gb for r in good)
        s.rss_mib = max(r.rss_kib for r in good) / 1024
        ng = [r.nginx_cpu / (r.size / 1e9) for r in good if r.nginx_cpu is not None]
        s.nginx_cpu_per_gb = statistics.median(ng) if ng else None
    return s


def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


def table(summaries, ferry_mbps):
    lines = ["| tool | median MB/s | min-max MB/s | CPU s/GB | peak RSS MiB | ferry / tool "
             "| nginx CPU s/GB | good runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in summaries:
        ratio = (ferry_mbps / s.mbps) if (ferry_mbps and s.mbps) else None
        runs = f"{s.good}/{s.good + s.bad}"
        if s.bad:
            runs += f" (WRONG/FAILED {s.bad}: {s.notes})"
        span = "-" if s.mbps is None else f"{s.mbps_min:.0f}-{s.mbps_max:.0f}"
        lines.append(f"| {s.label} | {_f(s.mbps, '.0f')} | {span} | {_f(s.cpu_per_gb, '.2f')} "
                     f"| {_f(s.rss_mib, '.1f')} | {_f(ratio, '.2f')} "
                     f"| {_f(s.nginx_cpu_per_gb, '.2f')} | {runs} |")
    return "\n".join(lines)


class Checks:
    """Collects PASS / MISS / n/a lines."""

    def __init__(self):
        self.lines = []

    def ratio(self, what, ferry, other, other_name, need):
        if ferry is None or other is None:
            self.lines.append(f"- n/a  {what} (missing figures)")
            return
        got = ferry / other
        verdict = "PASS" if got >= need else "MISS"
        self.lines.append(f"- {verdict} {what}: ferry {ferry:.0f} MB/s / {other_name} "
                          f"{other:.0f} MB/s = {got:.2f}x (need >= {need:g}x)")

    def ahead(self, what, ferry, other, other_name):
        if ferry is None or other is None:
            self.lines.append(f"- n/a  {what} (missing figures)")
            return
        verdict = "PASS" if ferry > other else "MISS"
        self.lines.append(f"- {verdict} {what}: ferry {ferry:.0f} MB/s vs {other_name} "
                          f"{other:.0f} MB/s ({ferry / other:.2f}x)")

    def at_most(self, what, value, limit, unit):
        if value is None:
            self.lines.append(f"- n/a  {what} (missing figures)")
            return
        verdict = "PASS" if value <= limit else "MISS"
        self.lines.append(f"- {verdict} {what}: {value:.1f} {unit} (need <= {limit:g} {unit})")

    def at_least(self, what, value, limit, unit, kind="PASS"):
        if value is None:
            self.lines.append(f"- n/a  {what} (missing figures)")
            return
        verdict = kind if value >= limit else "MISS"
        self.lines.append(f"- {verdict} {what}: {value:.0f} {unit} (need >= {limit:g} {unit})")

    def text(self):
        return "\n".join(self.lines)


def case1_checks(by_tool):
    """by_tool: tool name -> Summary for case 1."""
    c = Checks()
    ferry = by_tool.get("ferry")
    f = ferry.mbps if ferry else None
    singles = [s for n, s in by_tool.items()
               if n in ("curl", "axel", "aria2c", "wget2") and s.mbps is not None]
    if singles:
        best = max(singles, key=lambda s: s.mbps)
        c.ratio("case 1: as fast as the fastest single unverified tool", f, best.mbps,
                best.label, 1.0)
    else:
        c.ratio("case 1: as fast as the fastest single unverified tool", f, None, "", 1.0)
    for name, need, what in (("curl-pipe", 1.2, "curl | openssl dgst"),
                             ("curl-verify", 1.5, "curl -o then openssl dgst"),
                             ("aria2c-sha", 2.0, "aria2c with its checksum")):
        s = by_tool.get(name)
        c.ratio(f"case 1: >= {need:g}x {what}", f, s.mbps if s else None,
                s.label if s else name, need)
    c.at_least("case 1 aim (beyond the targets): 0.7 GB/s verified", f, 700, "MB/s",
               kind="PASS")
    return c
