"""A disk slower than the network (issue 15): `ferry bench --dir` on a real slow disk, an ext4
loop device whose writes the kernel throttles to 20 MB/s (tests/support/slowdisk.py: a blkio
rule on the device and a small dirty-page limit, so buffered writes wait as on a slow disk).
Loopback carries far more, and one core hashes far more, so the verdict must name the disk,
with the rate its own fsync'ed-write stage measured near the throttle."""
import os
import re

from slowdisk import slow_disk
from test_bench import figures

RATE = 20e6  # bytes per second the disk writes


def test_verdict_names_a_slow_disk(bench):
    with slow_disk(RATE, size=256 << 20) as disk:
        before = disk.written()
        r = bench("demo/tiny-model", "--dir", disk.mnt, "--seconds", "5", "--json", timeout=60)
        written = disk.written() - before
        assert os.listdir(disk.mnt) == ["lost+found"]  # the bench's folder is gone
    out = figures(r)
    # the downloads and the stage really wrote to that disk
    assert out["dir"].startswith(disk.mnt + "/.ferry-bench-")
    assert written >= out["bytes"], (written, out["bytes"])
    assert out["limit"] == "disk", out["verdict"]
    m = re.fullmatch(r"disk \(fsync'ed writes ≈ (\d+) MB/s\)", out["verdict"])
    assert m, out["verdict"]
    assert int(m.group(1)) == round(out["stages"]["disk_mb_per_s"])
    # the stage measured the throttle (a slice's burst and the last fsync move it a little)
    assert 0.75 * RATE / 1e6 <= out["stages"]["disk_mb_per_s"] <= 1.15 * RATE / 1e6, out["stages"]
