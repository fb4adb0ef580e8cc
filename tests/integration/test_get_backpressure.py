"""Memory under backpressure: a disk slower than the link. Bytes in flight are not memory
(engine/src/budget.c): requests ask for many blocks, a block is taken from the budget as bytes
arrive, and when the writers fall behind the loop thread writes the full block itself (TCP
then holds the server back). The disk is slowed by the engine's test hook
FERRY_TEST_WRITE_MS_PER_MIB (a sleep per block write, writers and loop thread alike)."""
import os
import re
import subprocess

from ferrytest import FERRY_BIN, MiB
from helpers import assert_identical, check_summary, run_ferry

SLOW_DISK = "25"  # ms per MiB: about 40 MB/s per writer, well under loopback's link


def sanitized():
    """An ASan build (tests/run's second pass): its shadow memory makes RSS meaningless."""
    with open(FERRY_BIN, "rb") as f:
        return b"__asan_init" in f.read()


def test_slow_disk_keeps_memory_bounded(ferry_bin, nginx, files, out_dir):
    served = files["crash.bin"]  # 96 MiB
    output = out_dir / "slow-disk.bin"
    env = dict(os.environ, FERRY_TEST_WRITE_MS_PER_MIB=SLOW_DISK)
    # 32 MiB requests, 16 in flight: 512 MiB asked at once against a 32 MiB budget
    r = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                   "--sha256", served.sha256, "--chunk-size", "32M", "--connections", "8",
                   "--streams", "2", "--max-memory", "32M", "--json", "-v"], env=env, timeout=120)
    assert r.returncode == 0, r.describe()
    assert_identical(output, served)
    summary = r.json
    check_summary(summary, size=served.size, sha256=served.sha256, path=output, verified=True)
    # the requests were as large as asked (not cut down to fit memory) ...
    sizes = [int(b) - int(a) + 1 for a, b in
             re.findall(r"request #\d+ range bytes (\d+)-(\d+) of", r.stderr)]
    assert sizes and max(sizes) >= 32 * MiB, sizes
    # ... the budget filled up and the loop thread wrote blocks itself ...
    assert "written on the loop thread (memory budget full" in r.stderr, r.stderr[-3000:]
    # ... and the hasher read those blocks back from the file (counted, not in memory) ...
    written_now = sum(int(b) - int(a) + 1 for a, b in re.findall(
        r"bytes (\d+)-(\d+) of \S+: written on the loop thread", r.stderr))
    assert written_now <= summary["bytes_read_back"] <= served.size, (written_now, summary)
    # ... and the run says so: memory held the network back at least while the loop thread
    # wrote (each of those writes sleeps SLOW_DISK ms a MiB), about half of the run in a
    # release build, a fifth under ASan; under --limit-rate (test_get_rate.py) for none of it
    slept = written_now / MiB * int(SLOW_DISK) / 1000
    assert summary["held_back_seconds"] >= 0.9 * slept > 0, (slept, summary)
    # ... and memory stayed within the budget, the process within 64 MiB
    assert summary["peak_memory"] <= 32 * MiB, summary["peak_memory"]
    assert summary["peak_rss"] <= 64 * MiB or sanitized(), summary["peak_rss"]


def resident_bytes(path):
    """Bytes of the file in the page cache now (fincore, util-linux)."""
    r = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.strip())


def test_bytes_read_back_around_the_page_cache(ferry_bin, nginx, files, out_dir):
    """Requests spanning far more than the budget: most blocks arrive ahead of the in-order
    hasher, are evicted or written on the loop thread, and read back from the file. Both the
    write and the read back go around the page cache (O_DIRECT: the device copies, not the
    CPU). Written through the page cache so that the read back came from memory, they cost
    3.5-3.9 CPU s/GB on the WAN lab's cross and cloud links against 2.1-2.2; read back through
    the page cache after an O_DIRECT write, 3.5. Either leaves the file's pages cached."""
    served = files["crash.bin"]  # 96 MiB
    output = out_dir / "read-back.bin"
    r = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                   "--sha256", served.sha256, "--chunk-size", "32M", "--connections", "8",
                   "--streams", "2", "--max-memory", "32M", "--json", "-v"], timeout=120)
    assert r.returncode == 0, r.describe()
    # the file's tail and a request cut short at a split are the only buffered writes (looked
    # at before the comparison below reads the file through the page cache)
    cached = resident_bytes(output)
    assert cached <= 8 * MiB, f"{cached / MiB:.1f} MiB of the file in the page cache"
    assert_identical(output, served)
    read_back = r.json["bytes_read_back"]
    assert read_back >= 16 * MiB, f"{read_back / MiB:.1f} MiB read back: the case did not happen"
