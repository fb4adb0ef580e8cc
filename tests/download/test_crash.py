"""kill -9 and Ctrl-C during a snapshot, then the same command again: completed files are not
fetched again, the partial one resumes; two processes on the same cache download each blob once."""
import glob
import os
import signal
import subprocess

from dlhelpers import EXIT_INTERRUPTED, EXIT_OK, cdn_gets, resolve_gets, start_download
from ferrytest import MiB, bytes_written, read_bytes, sha256_bytes
from hubrun import stop_process, wait_until

RATE = "8M"  # 32 MiB of weights take about 4 s
# as tests/integration/test_get_crash.py: the journal records in-flight progress at least every
# 4 MiB per request; two requests at most in flight
ENGINE = ["--connections", "2", "--streams", "1"]
PROGRESS_SLACK = 4 * MiB * 2


def leftovers(cache):
    return (glob.glob(os.path.join(cache, "*", "blobs", "*.incomplete")) +
            glob.glob(os.path.join(cache, "*", "blobs", "*.journal")) +
            glob.glob(os.path.join(cache, ".locks", "**", "*.ferry-lock"), recursive=True))


def check_complete(ferry, tiny):
    snap = os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)
    for path in tiny.by_path:
        assert sha256_bytes(read_bytes(os.path.join(snap, path))) == tiny.reference[path], path
    assert leftovers(ferry.cache) == []


def small_files_done(ferry, tiny):
    blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
    return all(os.path.isfile(os.path.join(blobs, e["oid"]))
               for e in tiny.entries if "lfs" not in e)


def interrupt_and_resume(ferry, tiny, log, sig):
    weights = tiny.by_path["model.safetensors"]
    sha = weights["lfs"]["oid"]
    args = ferry.args(["demo/tiny-model", "--limit-rate", RATE, *ENGINE])
    process = start_download(args, ferry.env)
    try:
        wait_until(lambda: small_files_done(ferry, tiny) and
                   (bytes_written(process.pid) or 0) >= 14 * MiB,
                   "small files done and 14 MiB written", process=process)
        written = bytes_written(process.pid)
    except BaseException:
        stop_process(process)
        raise
    code, stderr = stop_process(process, sig)
    blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
    assert os.path.isfile(os.path.join(blobs, sha + ".incomplete")), os.listdir(blobs)
    assert os.path.isfile(os.path.join(blobs, sha + ".journal")), os.listdir(blobs)
    assert not os.path.exists(os.path.join(blobs, sha))
    if sig == signal.SIGINT:  # a clean stop releases its locks
        assert glob.glob(os.path.join(ferry.cache, ".locks", "*", "*.ferry-lock")) == []

    log.mark()
    r = ferry("demo/tiny-model", "-q", *ENGINE)
    assert r.returncode == EXIT_OK, r.describe()
    lines = log.lines()
    for entry in tiny.entries:
        if "lfs" not in entry:
            assert resolve_gets(lines, entry["path"]) == [], f"{entry['path']} fetched again"
    again = sum(ln.bytes_sent for ln in cdn_gets(lines, sha))
    allowed = weights["size"] - written + PROGRESS_SLACK
    assert again <= allowed, f"fetched {again} bytes again, allowed {allowed}"
    check_complete(ferry, tiny)
    return code, stderr


def wait_all(processes, timeout):
    """Wait for every process (killing all of them on a timeout); returns their stderr."""
    try:
        for process in processes:
            process.wait(timeout)
    except subprocess.TimeoutExpired:
        for process in processes:
            if process.poll() is None:
                stop_process(process)
        raise
    stderr = []
    for process in processes:
        process.stderr_file.seek(0)
        stderr.append(process.stderr_file.read().decode(errors="replace"))
        process.stderr_file.close()
    return stderr


def test_kill_9_then_resume(ferry, tiny, log):
    code, _ = interrupt_and_resume(ferry, tiny, log, signal.SIGKILL)
    assert code == 128 + 9


def test_ctrl_c_exits_130_then_resume(ferry, tiny, log):
    code, stderr = interrupt_and_resume(ferry, tiny, log, signal.SIGINT)
    assert code == EXIT_INTERRUPTED, stderr


def test_two_processes_on_the_same_cache(ferry, tiny, log):
    args = ferry.args(["demo/tiny-model", "--limit-rate", "16M"])
    processes = [start_download(args, ferry.env) for _ in range(2)]
    stderr = wait_all(processes, 90)
    assert [p.returncode for p in processes] == [0, 0], "\n---\n".join(stderr)
    lines = log.lines()
    weights = tiny.by_path["model.safetensors"]
    sent = sum(ln.bytes_sent for ln in cdn_gets(lines, weights["lfs"]["oid"])
               if ln.status in (200, 206))
    assert weights["size"] <= sent < weights["size"] * 1.1, sent
    for entry in tiny.entries:
        if "lfs" not in entry:
            got = [ln for ln in resolve_gets(lines, entry["path"]) if ln.status in (200, 206)]
            assert len(got) == 1, (entry["path"], got)
    check_complete(ferry, tiny)


def test_two_processes_on_many_small_files(ferry, many, log):
    args = ferry.args(["demo/many-files", "--repo-type", "dataset", "--include", "data/group-0[0-3]/"])
    expected = [p for p in many.by_path if p.startswith(("data/group-00/", "data/group-01/",
                                                         "data/group-02/", "data/group-03/"))]
    processes = [start_download(args, ferry.env) for _ in range(2)]
    stderr = wait_all(processes, 120)
    assert [p.returncode for p in processes] == [0, 0], "\n---\n".join(stderr)
    fetched = {}
    for ln in resolve_gets(log.lines()):
        if ln.status in (200, 206):
            path = ln.path.split("/resolve/", 1)[1].split("/", 1)[1]
            fetched[path] = fetched.get(path, 0) + 1
    assert set(fetched) == set(expected)
    twice = {p: n for p, n in fetched.items() if n > 1}
    assert twice == {}, f"{len(twice)} files fetched more than once, e.g. {list(twice)[:5]}"
    snap = os.path.join(ferry.cache, many.folder, "snapshots", many.commit)
    for path in expected:
        assert sha256_bytes(read_bytes(os.path.join(snap, path))) == many.reference[path], path
    assert leftovers(ferry.cache) == []
