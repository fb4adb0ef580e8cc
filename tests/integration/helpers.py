"""Helpers shared by the integration tests: running ferry, checking its --json, watching progress."""
import filecmp
import os
import signal
import subprocess
import tempfile
import time

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, FerryResult, MiB, bytes_written, sha256_file

# exit codes of the contract (README)
EXIT_OK, EXIT_OTHER, EXIT_USAGE, EXIT_NETWORK, EXIT_HTTP = 0, 1, 2, 3, 4
EXIT_CHECKSUM, EXIT_IO, EXIT_DISK_FULL, EXIT_CHANGED, EXIT_TLS = 5, 6, 7, 8, 9
EXIT_PROTOCOL, EXIT_INTERRUPTED = 10, 130
EXIT_BUSY = 20  # the output is locked by another process

SUMMARY_KEYS = {"ok", "bytes", "bytes_received", "bytes_refetched", "resumed_bytes", "seconds",
                "mb_per_s", "connections", "requests", "retries", "peak_memory",
                "held_back_seconds", "peak_rss",
                "files", "error"}
FILE_KEYS = {"url", "path", "size", "sha256", "verified", "ok", "error"}


def run_ferry(args, timeout=60, cwd=None, env=None):
    """Run `ferry ARGS` to completion, bounded by timeout (scaled by TIMEOUT_SCALE)."""
    args = [str(a) for a in args]
    start = time.monotonic()
    completed = subprocess.run([FERRY_BIN] + args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=timeout * TIMEOUT_SCALE)
    return FerryResult(args, completed.returncode, completed.stdout, completed.stderr,
                       time.monotonic() - start)


def start_ferry(args, cwd=None, env=None, binary=FERRY_BIN):
    """Start `ferry ARGS` (or another build of the command line: `binary`) in the background.
    stderr goes to an unnamed temp file (a pipe could fill up and block ferry); read it with
    process_stderr()."""
    stderr = tempfile.TemporaryFile()
    process = subprocess.Popen([binary] + [str(a) for a in args], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=stderr)
    process.stderr_file = stderr
    return process


def process_stderr(process):
    process.stderr_file.seek(0)
    return process.stderr_file.read().decode(errors="replace")


def wait_for_progress(process, at_least, timeout=60):
    """Poll until the running process has written at least `at_least` bytes; returns the count.
    Fails if the process ends first."""
    timeout *= TIMEOUT_SCALE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ferry ended (exit {process.returncode}) before writing "
                                 f"{at_least} bytes: {process_stderr(process)[-2000:]!r}")
        written = bytes_written(process.pid)
        if written is not None and written >= at_least:
            return written
        time.sleep(0.005)
    raise AssertionError(f"ferry wrote fewer than {at_least} bytes in {timeout}s")


def threads_of(pid):
    """Every thread's stack of a running process (gdb attaches for a moment), for the message of
    a test whose ferry did not end: a hang is then found from the first failure, not a rerun."""
    try:
        dump = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid),
                               "-ex", "thread apply all bt"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(no stacks: {e})"
    return dump.stdout[-12000:]


def wait_for_exit(process, timeout):
    """Wait for a started ferry to end; if it does not within timeout seconds (already scaled),
    fail with its threads' stacks and the end of its stderr, then kill it."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        stacks = threads_of(process.pid)
        process.kill()
        process.wait(20)
        raise AssertionError(f"ferry did not end within {timeout:.0f} s.\nstacks:\n{stacks}\n"
                             f"stderr:\n{process_stderr(process)[-4000:]}") from None


def kill_and_wait(process, sig=signal.SIGKILL, timeout=20):
    timeout *= TIMEOUT_SCALE
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError(f"ferry did not exit within {timeout}s of signal {sig}")
    stderr = process_stderr(process)
    process.stderr_file.close()
    return process.returncode, stderr


def same_bytes(path_a, path_b):
    return filecmp.cmp(path_a, path_b, shallow=False)


def assert_identical(output, source_file):
    """The output exists and is byte-identical to the served file (size and SHA-256 via hashlib)."""
    assert os.path.isfile(output), f"no file at {output}"
    assert os.path.getsize(output) == source_file.size
    assert sha256_file(output) == source_file.sha256
    assert same_bytes(output, source_file.path)


def assert_no_final_file(output):
    assert not os.path.exists(output), f"a file exists at {output} after a failed download"


def check_summary(summary, *, size, sha256, path, verified):
    """The documented --json shape and values for one successful download."""
    assert SUMMARY_KEYS <= set(summary), f"missing keys: {SUMMARY_KEYS - set(summary)}"
    assert summary["ok"] is True
    assert summary["error"] is None
    assert summary["bytes"] == size
    assert summary["sha256"] == sha256
    assert os.path.realpath(summary["path"]) == os.path.realpath(path)
    for key in ("bytes", "bytes_received", "bytes_refetched", "resumed_bytes", "connections",
                "requests", "retries", "peak_memory", "peak_rss"):
        assert isinstance(summary[key], int) and not isinstance(summary[key], bool), key
        assert summary[key] >= 0, key
    for key in ("seconds", "mb_per_s", "held_back_seconds"):
        assert isinstance(summary[key], (int, float)) and not isinstance(summary[key], bool), key
        assert summary[key] >= 0, key
    # a share of the run's time
    assert summary["held_back_seconds"] <= summary["seconds"], summary
    moved = size - summary["resumed_bytes"]
    if summary["seconds"] > 0.05 and moved >= MiB:
        # README: mb_per_s is what this run moved, (bytes - resumed_bytes) / seconds
        expected = moved / summary["seconds"] / 1e6
        assert abs(summary["mb_per_s"] - expected) <= 0.05 * expected + 0.5, \
            f"mb_per_s {summary['mb_per_s']} vs (bytes - resumed_bytes)/seconds {expected}"
    assert summary["peak_rss"] > 0
    assert len(summary["files"]) == 1
    entry = summary["files"][0]
    assert FILE_KEYS <= set(entry), f"missing file keys: {FILE_KEYS - set(entry)}"
    assert entry["size"] == size
    assert entry["sha256"] == sha256
    assert entry["ok"] is True
    assert entry["error"] is None
    assert entry["verified"] is verified
    assert os.path.realpath(entry["path"]) == os.path.realpath(path)


def entries_for(log_entries, uri_part):
    return [e for e in log_entries if uri_part in e["uri"]]


def wait_for_log_quiet(read_entries, settle=0.3, timeout=10):
    """nginx writes a log line when a request ends; after a client is killed the aborted requests
    are logged a moment later. Wait until the log stops growing."""
    deadline = time.monotonic() + timeout
    previous = -1
    while time.monotonic() < deadline:
        count = len(read_entries())
        if count == previous:
            return
        previous = count
        time.sleep(settle)


def most_connections_open_at_once(log_entries):
    """From nginx log lines (end time and duration of each request): the most connections that
    were open at the same moment, taking each connection's life as its first request's start
    to its last request's end."""
    life = {}
    for e in log_entries:
        start, end = e["end"] - e["request_time"], e["end"]
        first, last = life.get(e["conn"], (start, end))
        life[e["conn"]] = (min(first, start), max(last, end))
    events = sorted([(t, 1) for t, _ in life.values()] + [(t, -1) for _, t in life.values()],
                    key=lambda ev: (ev[0], ev[1]))  # a close before an open at the same time
    most = current = 0
    for _, step in events:
        current += step
        most = max(most, current)
    return most
