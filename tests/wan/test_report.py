"""bench/wan_run's binding column, on made-up runs: what a row names as the resource that
limits it, and what it shows beside it (bench/wanbench/report.py binding)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))

from harness import machine  # noqa: E402
from wanbench import report  # noqa: E402
from wanbench.lab import Scenario  # noqa: E402

CROSS = Scenario("cross", 80, 0, 0, 0)
FAR = Scenario("far", 200, 2500, 0, 0)


def row(mbps, cpu, held=None, tool="ferry", disk=None, read_back=None):
    """Three runs of 2 GB at `mbps`, the cores they kept busy `cpu` (client + server + delay
    line over the wall time), ferry's held-back share `held`, the disk's busy share `disk`
    (a list: one a run), ferry's read-back share `read_back`."""
    wall = 2e9 / (mbps * 1e6)
    runs = [report.Run("x", tool, tool, k, int(2e9), 1, wall, cpu * wall / 3, 50000,
                       cpu * wall / 3, link_cpu=cpu * wall / 3, held_share=held,
                       disk_busy=disk[k] if disk else None, read_back_share=read_back)
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


def test_a_busy_disk_is_named_with_what_ferry_read_back():
    got = report.binding(CROSS, row(320, 0.7 * report.CORES, disk=[0.95, 0.92, 0.5],
                                    read_back=0.98), {})
    assert got == "disk (busy 92 % of the run, the hasher read back 98 % of the file)", got


def test_a_disk_not_busy_is_shown_beside_the_window():
    got = report.binding(CROSS, row(320, 0.7 * report.CORES, held=0.1, disk=[0.5, 0.6, 0.55],
                                    read_back=0.4), {})
    assert got.startswith("window"), got
    assert "disk busy 55 %, the hasher read back 40 % of the file" in got, got
    assert "memory held the network back 10 % of the run" in got, got


def test_the_cores_come_before_the_disk():
    got = report.binding(CROSS, row(320, 0.95 * report.CORES, disk=[0.95] * 3), {})
    assert got.startswith("CPU ("), got


def test_a_tool_that_reads_nothing_back_says_nothing_of_it():
    got = report.binding(CROSS, row(320, 0.7 * report.CORES, tool="axel", disk=[0.95] * 3), {})
    assert got == "disk (busy 95 % of the run)", got


def test_the_disk_busy_time_grows_with_synced_writes(tmp_path):
    """What the runner reads for the disk column: the device's busy seconds, which a synced
    write moves on; None where no block device backs the folder."""
    dev = os.stat(tmp_path).st_dev
    backed = os.path.exists(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/stat")
    before = machine.disk_busy_seconds(str(tmp_path))
    if not backed:
        assert before is None
        return
    with open(tmp_path / "f", "wb") as f:
        for _ in range(32):
            f.write(os.urandom(1 << 20))
            f.flush()
            os.fsync(f.fileno())
    after = machine.disk_busy_seconds(str(tmp_path))
    assert before is not None and after > before, (before, after)
