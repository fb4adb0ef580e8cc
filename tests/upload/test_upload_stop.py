"""Ctrl-C ends an upload's waits at once (one way to stop, ferry.h's ferry_stop): a part's
Retry-After wait and the wait between retries of a repo creation the Hub answers 409
("conflicting operation in progress"). Timed from the signal to the exit, with a wide margin:
the waits asked for are 30 s and several seconds."""
import signal
import time

from ferrytest import MiB, TIMEOUT_SCALE
from hubrun import stop_process, wait_until
from uphelpers import EXIT_INTERRUPTED, binary_blob, upload_puts, write_tree


def signal_and_time(process, sig=signal.SIGINT):
    t0 = time.monotonic()
    code, stderr = stop_process(process, sig)
    return code, stderr, time.monotonic() - t0


def test_ctrl_c_ends_a_parts_retry_after_wait(hub, up, knobs, log, repo_id, tmp_path):
    knobs(upload_fault={"mode": "status", "status": 503, "nth": [2], "retry_after": 30})
    folder = write_tree(tmp_path / "f", {"README.md": b"# stop\n",
                                         "model.bin": binary_blob(6 * MiB, "stop-" + repo_id)})
    process = up.start(repo_id, folder)
    wait_until(lambda: any(ln.status == 503 for ln in upload_puts(log.lines(settle=False))),
               "a part answered 503", timeout=30, process=process)
    time.sleep(0.3)  # into the 30 s wait
    code, stderr, seconds = signal_and_time(process)
    assert code == EXIT_INTERRUPTED, stderr
    assert "the server asks to wait 30 s" in stderr, stderr
    assert seconds < 1.0 * TIMEOUT_SCALE, seconds


def test_ctrl_c_ends_a_409_retry_wait(hub, up, knobs, log, repo_id, tmp_path):
    knobs(create_conflict=True)
    folder = write_tree(tmp_path / "f", {"README.md": b"# conflict\n"})
    process = up.start(repo_id, folder)

    def creates():
        return [ln for ln in log.lines(settle=False)
                if ln.method == "POST" and ln.path == "/api/repos/create"]
    wait_until(lambda: len(creates()) >= 2, "two 409s", timeout=30, process=process)
    time.sleep(0.3)  # into the 2 s wait after the second 409 (then 3 s, 4 s)
    code, stderr, seconds = signal_and_time(process)
    assert code == EXIT_INTERRUPTED, stderr
    assert "interrupted" in stderr, stderr
    assert seconds < 1.0 * TIMEOUT_SCALE, seconds
    assert all(ln.status == 409 for ln in creates())
    assert len(creates()) == 2, creates()  # no attempt after the stop
