"""What every pytest folder shares about the binary under test, in one place so that a change
(where the binary is, how sanitizer builds stretch timeouts, how a git blob is named) is made
once: the ferry binary, the timeout scale, the result of one run, and content ids.

Importable by name from any test folder: tests/pytest.ini puts tests/support on sys.path.
"""
import contextlib
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY_BIN = os.environ.get("FERRY_BIN", os.path.join(REPO, "build", "ferry"))
# sanitizer builds run slower: tests/run sets this (e.g. 4) and every timeout and timing
# tolerance is scaled by it
TIMEOUT_SCALE = float(os.environ.get("FERRY_TEST_TIMEOUT_MULTIPLIER", "1") or 1)
MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass
class FerryResult:
    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def json(self):
        return json.loads(self.stdout)

    def describe(self):
        return (f"ferry {' '.join(self.args)}\n exit {self.returncode} after {self.seconds:.1f}s\n"
                f" stdout: {self.stdout[-2000:]}\n stderr: {self.stderr[-3000:]}")


# ---- content ids --------------------------------------------------------------------------
# Computed here on their own (not with tests/hub/hubapp/gitobj.py), so the tests check the
# hub's ids and ferry's checks against git's definition rather than against the hub's code.

def git_blob_id(data: bytes) -> str:
    """Git's id of a blob: the sha1 of "blob <size>\\0" and the bytes (a regular file's oid)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(4 * MiB)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# ---- a running ferry ----------------------------------------------------------------------

def bytes_written(pid):
    """Bytes the process has passed to write()/pwrite() so far (/proc/PID/io wchar): progress
    without relying on ferry's output format. Journal and log writes are small next to data."""
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


@contextlib.contextmanager
def mounted(mount_point, *mount_args):
    """`mount MOUNT_ARGS mount_point` for the duration (the tests run as root), unmounted
    after (lazily when still busy)."""
    subprocess.run(["mount", *map(str, mount_args), str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)]).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=True)


@contextlib.contextmanager
def small_tmpfs_at(mount_point, size):
    """A fresh folder with a tmpfs of `size` ("20m") mounted on it, for disk-full tests."""
    os.mkdir(mount_point)
    with mounted(mount_point, "-t", "tmpfs", "-o", f"size={size}", "tmpfs"):
        yield mount_point
