"""`ferry get` against other processes and planted files: one process per output (its lock
PATH.ferry-lock), stale locks taken over, locks removed at the end; symbolic links planted
where ferry writes are refused, never followed."""
import os
import secrets
import socket
import subprocess
import time

import pytest
from helpers import (EXIT_BUSY, EXIT_CHECKSUM, EXIT_HTTP, EXIT_IO, EXIT_OK, TIMEOUT_SCALE,
                     assert_identical, entries_for, process_stderr, run_ferry, start_ferry,
                     wait_for_exit, wait_for_log_quiet)


def slow_get(nginx, served, output, sha256):
    """A download that runs for a few seconds (one request at a time through /slow/)."""
    return ["get", nginx.url(served.name, prefix="/slow/"), "-o", output, "--sha256", sha256,
            "--cacert", nginx.cacert, "--connections", "1", "--streams", "1", "-q"]


def wait_for_file(path, process, timeout=20):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if process.poll() is not None:
            raise AssertionError(f"ferry ended (exit {process.returncode}) before {path} "
                                 f"appeared: {process_stderr(process)[-2000:]!r}")
        time.sleep(0.01)
    raise AssertionError(f"{path} did not appear within {timeout}s")


def lock_pid(path):
    with open(path) as f:
        fields = dict(line.split(" ", 1) for line in f.read().splitlines())
    return int(fields["pid"])


def finish(process, timeout=60):
    wait_for_exit(process, timeout * TIMEOUT_SCALE)
    stderr = process_stderr(process)
    process.stderr_file.close()
    return process.returncode, stderr


def test_second_get_on_the_same_output_is_refused(nginx, files, out_dir):
    first_src, second_src = files["fault.bin"], files["list-a.bin"]
    output = str(out_dir / "out.bin")
    lock = output + ".ferry-lock"
    first = start_ferry(slow_get(nginx, first_src, output, first_src.sha256))
    try:
        wait_for_file(output + ".part", first)
        mark = nginx.log_size()
        second = run_ferry(["get", nginx.url(second_src.name), "-o", output, "--sha256",
                            second_src.sha256, "--cacert", nginx.cacert], timeout=30)
        assert second.returncode == EXIT_BUSY, second.describe()
        assert second.seconds < 3 * TIMEOUT_SCALE, second.describe()  # at once, no waiting
        assert f"pid {first.pid}" in second.stderr, second.describe()
        assert output in second.stderr, second.describe()
        assert "in use by another process" in second.stderr, second.describe()
        assert first.poll() is None, "the first run should still be downloading"
        # the first holds the lock while it downloads, under its own pid
        assert lock_pid(lock) == first.pid
    finally:
        code, stderr = finish(first)
    assert code == EXIT_OK, stderr
    # the file renamed into place is the one the first run verified
    assert_identical(output, first_src)
    assert sorted(os.listdir(out_dir)) == ["out.bin"]  # lock and owner file gone
    wait_for_log_quiet(nginx.log_entries)
    assert entries_for(nginx.log_entries_since(mark), second_src.name) == [], \
        "the refused run sent a request"


def test_busy_in_json(nginx, files, out_dir):
    served = files["fault.bin"]
    output = str(out_dir / "out.bin")
    first = start_ferry(slow_get(nginx, served, output, served.sha256))
    try:
        wait_for_file(output + ".part", first)
        second = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert",
                            nginx.cacert, "--json"], timeout=30)
    finally:
        code, stderr = finish(first)
    assert code == EXIT_OK, stderr
    assert second.returncode == EXIT_BUSY, second.describe()
    error = second.json["error"]
    assert error["code"] == EXIT_BUSY and error["name"] == "BUSY", error
    assert f"pid {first.pid}" in error["message"]


def dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_stale_lock_of_a_dead_process_is_taken_over(nginx, files, out_dir):
    served = files["list-b.bin"]
    output = str(out_dir / "out.bin")
    lock = output + ".ferry-lock"
    with open(lock, "w") as f:
        f.write(f"ferry-lock 1\npid {dead_pid()}\nhost {socket.gethostname()}\n"
                f"started {int(time.time())}\nnonce {secrets.token_hex(16)}\n")
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--sha256", served.sha256,
                        "--cacert", nginx.cacert])
    assert result.returncode == EXIT_OK, result.describe()
    assert_identical(output, served)
    assert sorted(os.listdir(out_dir)) == ["out.bin"]


def test_lock_of_a_live_process_on_another_host_is_respected(nginx, files, out_dir):
    served = files["list-b.bin"]
    output = str(out_dir / "out.bin")
    lock = output + ".ferry-lock"
    with open(lock, "w") as f:  # pid 1 would be alive here; on another host it cannot be checked
        f.write(f"ferry-lock 1\npid 4242\nhost other-host.example\n"
                f"started {int(time.time())}\nnonce {secrets.token_hex(16)}\n")
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert])
    assert result.returncode == EXIT_BUSY, result.describe()
    assert "pid 4242 on other-host.example" in result.stderr
    assert sorted(os.listdir(out_dir)) == ["out.bin.ferry-lock"]  # nothing else touched


def test_lock_is_removed_after_a_failure(nginx, files, out_dir):
    served = files["fault.bin"]
    output = str(out_dir / "out.bin")
    lock = output + ".ferry-lock"
    process = start_ferry(slow_get(nginx, served, output, "0" * 64))
    wait_for_file(output + ".part", process)
    assert lock_pid(lock) == process.pid
    code, stderr = finish(process)
    assert code == EXIT_CHECKSUM, stderr
    assert os.listdir(out_dir) == []
    # an HTTP error before any data
    result = run_ferry(["get", nginx.url("no-such-file.bin"), "-o", output, "--cacert",
                        nginx.cacert])
    assert result.returncode == EXIT_HTTP, result.describe()
    assert os.listdir(out_dir) == []


def test_missing_output_folders_are_made_but_not_through_a_dangling_link(nginx, files, out_dir):
    """-o a/b/f makes a/ and a/b/ (as aria2c does); a dangling link planted as a folder of the
    output is not followed to create its target: the download fails before any request."""
    served = files["edge-1.bin"]
    output = str(out_dir / "a" / "b" / "f.bin")
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert])
    assert result.returncode == EXIT_OK, result.describe()
    assert_identical(output, served)
    assert sorted(os.listdir(out_dir / "a" / "b")) == ["f.bin"]
    os.symlink("../elsewhere", out_dir / "planted")
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name), "-o", out_dir / "planted" / "x" / "f",
                        "--cacert", nginx.cacert])
    assert result.returncode == EXIT_IO, result.describe()
    assert "cannot create the folder" in result.stderr, result.describe()
    assert not os.path.lexists(out_dir.parent / "elsewhere")
    assert os.readlink(out_dir / "planted") == "../elsewhere"
    wait_for_log_quiet(nginx.log_entries)
    assert entries_for(nginx.log_entries_since(mark), served.name) == []


PRECIOUS = b"precious bytes that are not ferry's\n"


@pytest.mark.parametrize("suffix", [".part", ".part.journal", ".ferry-lock"])
@pytest.mark.parametrize("victim_exists", [True, False])
def test_planted_symlink_is_refused(nginx, files, out_dir, suffix, victim_exists):
    """`ln -s ../victim out/f.part; ferry get URL -o out/f`: nothing is written through the
    link (nor created at a dangling link's target), the link is named and left alone, and
    out/f never becomes a link to the victim. list-a.bin is large enough to get a journal."""
    served = files["list-a.bin"]
    victim = out_dir / "victim"
    if victim_exists:
        victim.write_bytes(PRECIOUS)
    sub = out_dir / "out"
    sub.mkdir()
    output = str(sub / "f")
    link = output + suffix
    os.symlink("../victim", link)
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--sha256", served.sha256,
                        "--cacert", nginx.cacert])
    if victim_exists:
        assert victim.read_bytes() == PRECIOUS, "written through the link"
    else:
        assert not victim.exists(), "created at the link's target"
    assert not os.path.lexists(output), "out/f was made despite the planted link"
    assert result.returncode == EXIT_IO, result.describe()
    assert link in result.stderr and "symbolic link" in result.stderr, result.describe()
    assert os.path.islink(link) and os.readlink(link) == "../victim"
    assert sorted(os.listdir(sub)) == ["f" + suffix]  # no lock, owner file or journal left
    wait_for_log_quiet(nginx.log_entries)
    assert entries_for(nginx.log_entries_since(mark), served.name) == []  # refused at once


def test_symlink_at_the_output_is_replaced_not_followed(nginx, files, out_dir):
    """A link at PATH itself: the verified file is renamed over the link (rename replaces the
    link, not its target), so PATH ends as a regular file and the victim is untouched."""
    served = files["list-b.bin"]
    victim = out_dir / "victim"
    victim.write_bytes(PRECIOUS)
    sub = out_dir / "out"
    sub.mkdir()
    output = str(sub / "f")
    os.symlink("../victim", output)
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--sha256", served.sha256,
                        "--cacert", nginx.cacert])
    assert result.returncode == EXIT_OK, result.describe()
    assert not os.path.islink(output)
    assert_identical(output, served)
    assert victim.read_bytes() == PRECIOUS


def test_same_output_twice_in_one_list(nginx, files, out_dir):
    """-i with two lines naming one output: the first keeps it, the second is refused (exit
    20) instead of both writing one .part."""
    first_src, second_src = files["list-a.bin"], files["list-b.bin"]
    output = str(out_dir / "out.bin")
    listing = out_dir / "list.txt"
    listing.write_text(f"{nginx.url(first_src.name)} {output} {first_src.sha256}\n"
                       f"{nginx.url(second_src.name)} {output} {second_src.sha256}\n")
    result = run_ferry(["get", "-i", listing, "--cacert", nginx.cacert])
    assert result.returncode == EXIT_BUSY, result.describe()
    assert "output of another download of this run" in result.stderr, result.describe()
    assert_identical(output, first_src)
    assert sorted(os.listdir(out_dir)) == ["list.txt", "out.bin"]
