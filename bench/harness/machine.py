"""Test files and the machine's own reference figures (SHA-256 speed, page-cache read)."""
import hashlib
import os
import re
import subprocess
import time

CHUNK = 1 << 20


def make_test_file(path, size, seed):
    """Write size random bytes (AES-128-CTR keystream) to path; return their SHA-256 hex.

    The stream is hashed while it is written, so the file is read zero extra times.
    """
    key = hashlib.sha256(seed.encode()).hexdigest()[:32]
    gen = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key,
                            "-iv", "0" * 32, "-in", "/dev/zero"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL)
    h = hashlib.sha256()
    left = size
    try:
        with open(path, "wb") as out:
            while left:
                buf = gen.stdout.read(min(CHUNK * 4, left))
                if not buf:
                    raise RuntimeError("openssl enc stopped early")
                out.write(buf)
                h.update(buf)
                left -= len(buf)
    finally:
        gen.stdout.close()
        gen.kill()
        gen.wait()
    os.chmod(path, 0o644)
    return h.hexdigest()


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def openssl_sha256_speed():
    """SHA-256 MB/s on 16 KiB blocks, one core, as `openssl speed` measures it."""
    out = subprocess.run(["openssl", "speed", "-bytes", "16384", "-seconds", "2", "-evp",
                          "sha256"], capture_output=True, text=True, check=True).stdout
    # last line: "sha256   <rate>k" in 1000s of bytes per second
    for line in reversed(out.splitlines()):
        m = re.match(r"\s*sha256\s+([\d.]+)k", line, re.I)
        if m:
            return float(m.group(1)) * 1000 / 1e6
    raise RuntimeError("cannot parse openssl speed output:\n" + out)


def page_cache_read(path):
    """MB/s of reading an already cached file with cat > /dev/null (best of 3)."""
    size = os.path.getsize(path)
    best = 0.0
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        best = max(best, size / (time.monotonic() - t0) / 1e6)
    return best


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def process_tree_cpu(root_pid):
    """user+system seconds of root_pid and its current children (e.g. nginx master + workers)."""
    pids = [root_pid]
    try:
        with open(f"/proc/{root_pid}/task/{root_pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        return None
    return processes_cpu(pids)


def processes_cpu(pids):
    """user+system seconds of these processes (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def disk_busy_seconds(path):
    """Seconds the block device holding `path` has been busy since boot (io_ticks of
    /sys/dev/block/MAJ:MIN/stat: time with at least one request in flight), None when the
    kernel does not say (tmpfs, overlay without a block device)."""
    dev = os.stat(path).st_dev
    try:
        with open(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}/stat") as f:
            return int(f.read().split()[9]) / 1000
    except (OSError, IndexError, ValueError):
        return None
