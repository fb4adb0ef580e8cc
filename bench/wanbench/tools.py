"""The tools of the 2 GiB rows, as bench/run invokes them (bench/harness/tools.py), each run in
the lab's client namespace. ferry, aria2c and curl get the hub's CDN URL (resolved before
timing, as bench/hub_run does), axel the same file on its CN-only listener (servers.py)."""
import os
import sys
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import tools as harness_tools  # noqa: E402

DEFAULT = (8, 2, "8M")   # ferry get --help: --connections 8, --streams 2, --chunk-size 8M


@dataclass
class Setting:
    connections: int
    streams: int
    chunk: str

    def flags(self):
        return ["--connections", str(self.connections), "--streams", str(self.streams),
                "--chunk-size", self.chunk]

    def __str__(self):
        return f"{self.connections} conn x {self.streams} streams, {self.chunk} requests"


@dataclass
class FileTool:
    name: str
    label: str
    connections: int     # TCP connections it opens (for a per-connection cap)
    base: object         # the bench/run tool (harness.tools.Tool)
    extra: tuple = ()    # more arguments (ferry's setting)
    on_axel_listener: bool = False

    def steps(self, ctx, lab):
        steps = self.base.steps(ctx)
        steps[0][0] = lab.client(steps[0][0] + list(self.extra))
        return steps

    def env(self, ctx):
        return self.base.env(ctx) if self.base.env else {}


def ferry_tool(setting=None):
    base = harness_tools.BY_NAME["ferry"]
    if setting is None:
        return FileTool("ferry", "ferry get (defaults)", DEFAULT[0], base)
    return FileTool("ferry-best", f"ferry get ({setting})", setting.connections, base,
                    tuple(setting.flags()))


def others():
    by = harness_tools.BY_NAME
    return [FileTool("aria2c", "aria2c -x16 -s16", 16, by["aria2c"]),
            FileTool("axel", "axel -n 16 (CN-only listener)", 16, by["axel"],
                     on_axel_listener=True),
            FileTool("curl", "curl (one stream)", 1, by["curl"])]


def context(url, out, hub, sha256, size, ferry_bin):
    """ferry prints --json (its peak RSS and settings); the others write to out."""
    return harness_tools.Context(url=url, out=out, cacert=hub.ca, sha256=sha256, size=size,
                                 ferry_bin=ferry_bin, ferry_json=True)


def sweep_grid(quick):
    """Connections x streams at the default request size, then request sizes at the best of
    those (bench/wan_run's sweep)."""
    if quick:
        return [Setting(c, s, DEFAULT[2]) for c, s in ((8, 2), (16, 1), (16, 2))], ["16M"]
    return [Setting(c, s, DEFAULT[2]) for c in (4, 8, 16) for s in (1, 2, 4)], \
        ["4M", "16M", "32M"]
