"""A real disk slower than the network, for tests (root only): an ext4 filesystem on a loop
device over a sparse file, mounted in a folder of the run, its writes throttled by the kernel.

What binds, measured on this machine (Debian 12 userland, kernel 6.18, cgroup v1 blkio):
 - a blkio.throttle.write_bps_device rule in a cgroup of the writing process binds its
   O_DIRECT writes and the writeback its own fsync starts (dd conv=fsync: 17.8 MB/s under a
   20 MB/s rule), but not buffered writes left to the kernel: v1 has no cgroup writeback, so
   the flusher threads write them as the root group, unthrottled (602 MB/s under the rule,
   even with the dirty limits below). ferry's own fsync is caught that way (ferry bench's
   disk stage, writes then one fsync, in such a cgroup: 18 MB/s), but its pwrites never wait
   for the disk, so a download's backpressure would not be tested;
 - so the rule goes into the root blkio group, naming this run's loop device only (nothing
   else is throttled; it is removed at the end), and the device's dirty pages are capped
   (its bdi's strict_limit and max_bytes): a buffered writer then blocks in the kernel's
   dirty throttling at the throttled rate (dd without fsync: 20.8 MB/s), as on a slow disk.
   ferry's pwrites, on its writers and on the loop thread, and its final fsync all wait.

Everything a run makes is named by the run (state in /tmp/ferry-slowdisk/<pid>-<random>/:
the image, the mount point); start() first removes what runs of dead processes left (a
crashed test: unmount, losetup -d, rule and dirty limits reset, folder removed), and so does
`python3 tests/support/slowdisk.py clean`.

    with slow_disk(20e6) as disk:   # bytes per second
        ... write into disk.mnt ...
"""
import os
import secrets
import shutil
import subprocess
import sys
from contextlib import contextmanager

from nginx import pid_alive

BASE = "/tmp/ferry-slowdisk"
BLKIO_ROOT = "/sys/fs/cgroup/blkio"
RULE = os.path.join(BLKIO_ROOT, "blkio.throttle.write_bps_device")
DIRTY_BYTES = 8 << 20  # dirty pages the device may hold: the writer waits beyond this


def _run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _loops_of(image):
    """The loop devices backed by image (losetup -j): a crashed run's too."""
    r = _run("losetup", "-j", image)
    return [line.split(":", 1)[0] for line in r.stdout.splitlines() if line.startswith("/dev/")]


def _majmin(dev):
    st = os.stat(dev)
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def _release(folder):
    """Undo everything a run made in folder, whatever state it reached."""
    mnt, image = os.path.join(folder, "mnt"), os.path.join(folder, "image")
    if os.path.ismount(mnt):
        r = _run("umount", mnt)
        if r.returncode != 0:
            _run("umount", "-l", mnt)
    if os.path.exists(image):
        for dev in _loops_of(image):
            mm = _majmin(dev)
            _write(RULE, f"{mm} 0")  # removes the rule
            bdi = f"/sys/class/bdi/{mm}"
            if os.path.isdir(bdi):  # the device outlives us: leave it as the kernel made it
                _write(f"{bdi}/strict_limit", "0")
                _write(f"{bdi}/max_ratio", "100")
            _run("losetup", "-d", dev)
    shutil.rmtree(folder, ignore_errors=True)


def clean_stale():
    """Release the disks of runs whose process is gone."""
    if not os.path.isdir(BASE):
        return
    for name in os.listdir(BASE):
        pid = name.split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            _release(os.path.join(BASE, name))


class SlowDisk:
    def __init__(self, folder, dev, rate):
        self.folder, self.dev, self.rate = folder, dev, rate
        self.mnt = os.path.join(folder, "mnt")
        self.majmin = _majmin(dev)

    def written(self):
        """The bytes written to the device (the root group counts every write; the count
        includes earlier users of the device: compare two readings)."""
        with open(os.path.join(BLKIO_ROOT, "blkio.throttle.io_service_bytes")) as f:
            for line in f:
                parts = line.split()
                if parts[:2] == [self.majmin, "Write"]:
                    return int(parts[2])
        return 0


def start(rate, size=1 << 30):
    """A slow disk of `size` bytes writing at most `rate` bytes per second."""
    assert os.geteuid() == 0, "a slow disk needs root (losetup, mount, blkio)"
    assert os.path.exists(RULE), f"no cgroup v1 blkio throttling here ({RULE})"
    clean_stale()
    folder = os.path.join(BASE, f"{os.getpid()}-{secrets.token_hex(4)}")
    os.makedirs(os.path.join(folder, "mnt"))
    try:
        image = os.path.join(folder, "image")
        with open(image, "wb") as f:
            f.truncate(size)
        r = _run("losetup", "--find", "--show", image)
        assert r.returncode == 0, r.stderr
        dev = r.stdout.strip()
        r = _run("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", dev)
        assert r.returncode == 0, r.stderr
        r = _run("mount", dev, os.path.join(folder, "mnt"))
        assert r.returncode == 0, r.stderr
        disk = SlowDisk(folder, dev, rate)
        bdi = f"/sys/class/bdi/{disk.majmin}"
        _write(f"{bdi}/strict_limit", "1")
        _write(f"{bdi}/max_bytes", str(DIRTY_BYTES))
        _write(RULE, f"{disk.majmin} {int(rate)}")
        return disk
    except BaseException:
        _release(folder)
        raise


def stop(disk):
    _release(disk.folder)


@contextmanager
def slow_disk(rate, size=1 << 30):
    disk = start(rate, size)
    try:
        yield disk
    finally:
        stop(disk)


if __name__ == "__main__":
    if sys.argv[1:] == ["clean"]:
        clean_stale()
    else:
        sys.exit("usage: slowdisk.py clean   (releases the slow disks of dead test runs)")
