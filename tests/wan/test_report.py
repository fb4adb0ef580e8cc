"""bench/wan_run's binding column, on made-up runs: what a row names as the resource that
limits it, and what it shows beside it (bench/wanbench/report.py binding)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))

from wanbench import report  # noqa: E402
from wanbench.lab import Scenario  # noqa: E402

CROSS = Scenario("cross", 80, 0, 0, 0)
FAR = Scenario("far", 200, 2500, 0, 0)


def row(mbps, cpu, held=None, tool="ferry"):
    """Three runs of 2 GB at `mbps`, the cores they kept busy `cpu` (client + server + delay
    line over the wall time), ferry's held-back share `held`."""
    wall = 2e9 / (mbps * 1e6)
    runs = [report.Run("x", tool, tool, k, int(2e9), 1, wall, cpu * wall / 3, 50000,
                       cpu * wall / 3, link_cpu=cpu * wall / 3, held_share=held)
            for k in range(3)]
    return report.summarize(runs, tool, tool)


def test_the_share_held_back_is_beside_the_window():
    got = report.binding(CROSS, row(320, 0.7 * report.CORES, held=0.62), {})
    assert got.startswith("window"), got
    assert "memory held the network back 62 % of the run" in got, got


def test_a_tool_that_does_not_say_shows_no_share():
    got = report.binding(CROSS, row(320, 0.7 * report.CORES, tool="axel"), {})
    assert got.startswith("window") and "held" not in got, got


def test_the_link_and_the_cores_are_named_first():
    # 300 MB/s of far's 312.5: the link, whatever ferry held back
    assert report.binding(FAR, row(300, 0.5 * report.CORES, held=0.8), {}).startswith(
        "link 2500 Mbit/s")
    got = report.binding(CROSS, row(320, 0.95 * report.CORES, held=0.8), {})
    assert got.startswith("CPU ("), got
