"""Runs, summaries, the markdown tables and the target checks of issue 4."""
import statistics
from dataclasses import dataclass, field


@dataclass
class Run:
    case: str
    tool: str
    label: str
    round: int
    bytes: int
    files: int
    wall: float
    cpu: float
    rss_kib: int
    server_cpu: float      # hub nginx + application CPU seconds during the run (None: unknown)
    requests: dict = field(default_factory=dict)   # access-log counts (hub.requests_since)
    ok: bool = True
    note: str = ""

    @property
    def mbps(self):
        return self.bytes / self.wall / 1e6

    @property
    def files_per_s(self):
        return self.files / self.wall

    @property
    def cpu_per_gb(self):
        return self.cpu / (self.bytes / 1e9)


@dataclass
class Summary:
    tool: str
    label: str
    good: list
    bad: list

    def median(self, attr):
        """Over the good runs that have it (a figure only some tools report is None on the
        others): None when none has."""
        vals = [v for v in (getattr(r, attr) for r in self.good) if v is not None]
        return statistics.median(vals) if vals else None

    def span(self, attr):
        vals = [getattr(r, attr) for r in self.good]
        return (min(vals), max(vals)) if vals else (None, None)

    def median_requests(self, kind):
        vals = [r.requests.get(kind, 0) for r in self.good]
        return statistics.median(vals) if vals else None

    @property
    def rss_mib(self):
        return max(r.rss_kib for r in self.good) / 1024 if self.good else None

    @property
    def server_cpu_per_gb(self):
        vals = [r.server_cpu / (r.bytes / 1e9) for r in self.good if r.server_cpu is not None]
        return statistics.median(vals) if vals else None


def summarize(runs, tool):
    mine = [r for r in runs if r.tool == tool.name]
    return Summary(tool.name, tool.label, [r for r in mine if r.ok], [r for r in mine if not r.ok])


def _f(v, fmt):
    return "-" if v is None else format(v, fmt)


def _rate(v):
    """MB/s: whole numbers, one decimal below 10 (the JS client on small files)."""
    return "-" if v is None else format(v, ".1f" if v < 10 else ".0f")


def _runs_cell(s):
    cell = f"{len(s.good)}/{len(s.good) + len(s.bad)}"
    if s.bad:
        notes = "; ".join(sorted({r.note for r in s.bad}))
        cell += f" (WRONG/FAILED {len(s.bad)}: {notes})"
    return cell


def download_table(summaries, with_files):
    """One row per tool; ratio = ferry's median MB/s over the tool's."""
    ferry = next((s for s in summaries if s.tool == "ferry"), None)
    fm = ferry.median("mbps") if ferry else None
    head = ["tool", "median s", "median MB/s", "min-max MB/s"]
    if with_files:
        head.append("files/s")
    head += ["CPU s/GB", "peak RSS MiB", "requests (all / data)", "hub CPU s/GB",
             "ferry / tool", "good runs"]
    lines = ["| " + " | ".join(head) + " |",
             "| --- | " + " | ".join("---:" for _ in head[1:-1]) + " | --- |"]
    for s in summaries:
        m = s.median("mbps")
        lo, hi = s.span("mbps")
        row = [s.label, _f(s.median("wall"), ".2f"), _rate(m),
               "-" if lo is None else f"{_rate(lo)}-{_rate(hi)}"]
        if with_files:
            row.append(_f(s.median("files_per_s"), ".0f"))
        req = "-" if not s.good else \
            f"{s.median_requests('all'):.0f} / {s.median_requests('data'):.0f}"
        row += [_f(s.median("cpu_per_gb"), ".2f"), _f(s.rss_mib, ".1f"), req,
                _f(s.server_cpu_per_gb, ".2f"),
                _f(fm / m if fm and m else None, ".2f"), _runs_cell(s)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def rerun_table(summaries):
    """Case 3: ferry on a complete cache, one row per repository."""
    lines = ["| repository | median s | min-max s | requests (median all) | data requests (max) "
             "| of which API | CPU s | peak RSS MiB | good runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for s in summaries:
        lo, hi = s.span("wall")
        data = max((r.requests.get("data", 0) for r in s.good), default=None)
        lines.append(f"| {s.label} | {_f(s.median('wall'), '.3f')} | "
                     f"{'-' if lo is None else f'{lo:.3f}-{hi:.3f}'} | "
                     f"{_f(s.median_requests('all'), '.0f')} | {_f(data, '.0f')} | "
                     f"{_f(s.median_requests('api'), '.0f')} | {_f(s.median('cpu'), '.2f')} | "
                     f"{_f(s.rss_mib, '.1f')} | {_runs_cell(s)} |")
    return "\n".join(lines)


def speed_check(case, ferry, other, need):
    """PASS/MISS line: ferry's median MB/s at least need x the other tool's."""
    what = f"case {case}: ferry >= {need:g}x {other.label if other else '?'}"
    f = ferry.median("mbps") if ferry else None
    o = other.median("mbps") if other else None
    if f is None or o is None:
        return f"- n/a  {what} (missing figures)"
    got = f / o
    verdict = "PASS" if got >= need else "MISS"
    miss = "" if got >= need else \
        f"; short by {(1 - got / need) * 100:.0f} %: needs {_rate(need * o)} MB/s"
    return (f"- {verdict} {what}: {_rate(f)} MB/s vs {_rate(o)} MB/s = {got:.2f}x "
            f"(need >= {need:g}x{miss})")


def rerun_check(summary):
    what = f"case 3: {summary.label} rerun under 1 s with zero data requests"
    if not summary.good:
        return f"- n/a  {what} (no good runs)"
    worst = max(r.wall for r in summary.good)
    data = max(r.requests.get("data", 0) for r in summary.good)
    verdict = "PASS" if worst < 1.0 and data == 0 else "MISS"
    return (f"- {verdict} {what}: slowest {worst:.3f} s (median {summary.median('wall'):.3f} s), "
            f"data requests {data}, all requests {summary.median_requests('all'):.0f}")
