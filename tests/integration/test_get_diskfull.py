"""Disk full: downloads into a small tmpfs or a small ext2 image (we run as root), then a rerun
once there is room.

tmpfs supports fallocate, so a preallocating download finds a full disk before it starts (or
never, once its blocks are reserved). ext2 has no fallocate: the file stays sparse and the disk
fills up under the running download, so the write path's ENOSPC handling is exercised.
"""
import errno
import os
import signal
import subprocess

import pytest

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, MiB, mounted, small_tmpfs_at
from helpers import (EXIT_DISK_FULL, assert_identical, assert_no_final_file, kill_and_wait,
                     process_stderr, run_ferry, start_ferry, wait_for_exit, wait_for_progress)

# The command line whose writes into a partial file fail from a set offset on (tests/faults)
FAULTS_BIN = os.path.join(os.path.dirname(FERRY_BIN), "ferry-faults")


@pytest.fixture
def small_tmpfs(tmp_path):
    with small_tmpfs_at(tmp_path / "small", "64m") as mount_point:
        yield mount_point


@pytest.fixture
def small_ext2(tmp_path):
    image = tmp_path / "ext2.img"
    with open(image, "wb") as f:
        f.truncate(160 * MiB)
    subprocess.run(["mkfs.ext2", "-q", "-F", "-m", "0", str(image)], check=True,
                   stdout=subprocess.DEVNULL)
    mount_point = tmp_path / "ext2"
    mount_point.mkdir()
    with mounted(mount_point, "-o", "loop", image):
        yield mount_point


def resize(mount_point, size):
    subprocess.run(["mount", "-o", f"remount,size={size}", str(mount_point)], check=True)


def fill(mount_point):
    """Write a filler file until the filesystem is full (bounded by the tmpfs size)."""
    filler = mount_point / "filler"
    block = bytes(MiB)
    with open(filler, "wb", buffering=0) as f:
        for _ in range(4096):
            try:
                f.write(block)
            except OSError as e:
                assert e.errno == errno.ENOSPC
                break
    return filler


def test_file_larger_than_free_space(ferry_bin, nginx, files, small_tmpfs):
    served = files["crash.bin"]  # 96 MiB into 64 MiB
    output = small_tmpfs / served.name
    args = ["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
            "--sha256", served.sha256, "--json"]
    result = run_ferry(args)
    assert result.returncode == EXIT_DISK_FULL, result.describe()
    assert_no_final_file(output)
    # nothing was written: no empty partial file, no journal of nothing (os.listdir: the
    # filler-free tmpfs holds nothing else)
    assert os.listdir(small_tmpfs) == [], os.listdir(small_tmpfs)
    error = result.json["error"]
    assert error["code"] == EXIT_DISK_FULL
    assert "space" in error["message"].lower() or "full" in error["message"].lower()
    # the same path, now with room: the same command succeeds
    resize(small_tmpfs, "256m")
    again = run_ferry(args)
    assert again.returncode == 0, again.describe()
    assert_identical(output, served)


def test_disk_fills_up_during_download(ferry_bin, nginx, files, small_tmpfs):
    """Room at the start, none later. Either the space was reserved at the start (preallocated)
    and the download completes, or the write fails: exit 7, no file at PATH, the journal kept,
    and a rerun after freeing space finishes the file."""
    served = files["crash.bin"]
    resize(small_tmpfs, "112m")  # room for the 96 MiB file, the journal, little else
    output = small_tmpfs / served.name
    args = ["get", nginx.url(served.name, prefix="/slow/"), "-o", output,
            "--cacert", nginx.cacert, "--sha256", served.sha256, "--json",
            "--connections", 2, "--streams", 2, "--chunk-size", "8M"]
    process = start_ferry(args)
    try:
        wait_for_progress(process, served.size // 5)
        filler = fill(small_tmpfs)
        wait_for_exit(process, 120 * TIMEOUT_SCALE)
    finally:
        if process.poll() is None:
            kill_and_wait(process, signal.SIGKILL)
    stderr = process_stderr(process)
    if process.returncode == 0:
        assert_identical(output, served)
        return
    assert process.returncode == EXIT_DISK_FULL, f"exit {process.returncode}: {stderr[-2000:]}"
    assert "space" in stderr.lower() or "full" in stderr.lower(), stderr[-2000:]
    assert_no_final_file(output)
    assert os.path.exists(f"{output}.part.journal"), "the journal should stay for a resume"
    os.unlink(filler)
    again = run_ferry(args)
    assert again.returncode == 0, again.describe()
    assert_identical(output, served)
    assert again.json["resumed_bytes"] > 0


def test_disk_full_while_writing(ferry_bin, nginx, files, small_ext2):
    """The disk fills up under the running download: exit 7, no file at PATH, the journal
    kept; after freeing space the same command resumes and finishes the file."""
    served = files["crash.bin"]
    output = small_ext2 / served.name
    args = ["get", nginx.url(served.name, prefix="/slow/"), "-o", output,
            "--cacert", nginx.cacert, "--sha256", served.sha256, "--json",
            "--connections", 2, "--streams", 2, "--chunk-size", "8M"]
    process = start_ferry(args)
    try:
        wait_for_progress(process, served.size // 4)
        filler = fill(small_ext2)
        wait_for_exit(process, 120 * TIMEOUT_SCALE)
    finally:
        if process.poll() is None:
            kill_and_wait(process, signal.SIGKILL)
    stderr = process_stderr(process)
    assert process.returncode == EXIT_DISK_FULL, f"exit {process.returncode}: {stderr[-2000:]}"
    assert "space" in stderr.lower() or "full" in stderr.lower(), stderr[-2000:]
    assert_no_final_file(output)
    assert os.path.exists(f"{output}.part.journal"), \
        f"the journal should stay for a resume: {os.listdir(small_ext2)}"
    os.unlink(filler)
    again = run_ferry(args)
    assert again.returncode == 0, again.describe()
    assert_identical(output, served)
    assert again.json["resumed_bytes"] >= served.size // 8


def test_writes_that_fail_while_others_succeed(ferry_bin, nginx, files, tmp_path):
    """The second half of a file cannot be written (slowly: each failing write takes 40 ms)
    while the first half's writes, fast, still succeed after the first failure: the job fails
    with written bytes that were never hashed. With 4 MiB of memory the loop thread writes
    blocks itself (and waits 40 ms on a failing one), so the last writer's failed block is
    taken in the writer's completion, where the job ends and the hasher was kicked next: ferry
    must end there (exit 7, no file at PATH, the journal kept), not hash the ended job's closed
    file (each step failed at once and started the next, forever), and the same command on a
    sound disk resumes from the bytes that were written."""
    assert os.access(FAULTS_BIN, os.X_OK), f"{FAULTS_BIN}: build the target ferry-faults"
    served = files["fault.bin"]  # 24 MiB: two requests of 12, one of them failing throughout
    output = tmp_path / served.name
    args = ["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
            "--sha256", served.sha256, "--json", "--connections", 1, "--streams", 2,
            "--chunk-size", "12M", "--max-memory", "4M"]
    env = dict(os.environ, FERRY_FAULT_WRITE_FROM=str(12 * MiB), FERRY_FAULT_WRITE_MS="40")
    for _ in range(3):  # the order of the writes varies a little from run to run
        process = start_ferry(args, env=env, binary=FAULTS_BIN)
        wait_for_exit(process, 30 * TIMEOUT_SCALE)
        stderr = process_stderr(process)
        assert process.returncode == EXIT_DISK_FULL, f"exit {process.returncode}: {stderr[-2000:]}"
        assert "no space left" in stderr, stderr[-2000:]
        assert_no_final_file(output)
        assert os.path.exists(f"{output}.part.journal"), os.listdir(tmp_path)
    again = run_ferry(args)
    assert again.returncode == 0, again.describe()
    assert_identical(output, served)
    assert again.json["resumed_bytes"] >= 8 * MiB, again.json
