"""The progress display of `ferry download` (cli/progress.c) as a terminal shows it,
HF_HUB_DISABLE_PROGRESS_BARS, and what -q leaves on stdout and stderr.

The display is one line on stderr, drawn only when stderr is a terminal, redrawn in place
every 200 ms and once more at the end:
  \\r[=====>   ]  42% 14.09 MB / 33.56 MB  8.00 MB/s  ETA 0:02  conn 4  files 3/5
      | model.safetensors 40% \\033[K      (one line; the bar is 24 wide)
never wider than the terminal: what does not fit is left out, the largest files first, then
the connections, files, ETA and rate, then the bar gets shorter (the pseudo-terminal of these
tests is 200 columns unless a test says otherwise)
so these tests give ferry a pseudo-terminal as stderr (stdout stays a pipe: the path)."""
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from dlhelpers import EXIT_OK, check_snapshot, fmt_bytes
from ferrytest import FERRY_BIN, TIMEOUT_SCALE

PROGRESS_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"
WEIGHTS = "model.safetensors"

# one frame as progress.c draws it, up to the largest files in flight (drawn only with
# several files and while one is in flight)
FRAME = re.compile(
    r"\r\[[=> ]{24}\] +(?P<pct>\d+)% (?P<done>\d+(?:\.\d\d)? [kMGT]?B) / "
    r"(?P<total>\d+(?:\.\d\d)? [kMGT]?B)  (?P<rate>\d+(?:\.\d\d)? [kMGT]?B)/s  "
    r"ETA (?P<eta>--:--|\d+:\d\d(?::\d\d)?)  conn (?P<conn>\d+)  "
    r"files (?P<done_files>\d+)/(?P<files>\d+)(?P<largest>  \|[^\r\033]*)? \033\[K")


def set_size(fd, columns, rows=24):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def run_on_terminal(ferry, args, env, timeout=60, columns=200, on_output=None):
    """`ferry download ARGS` with a pseudo-terminal of `columns` as stderr, stdout a pipe,
    stdin /dev/null. on_output(process, master, terminal so far) is called as output comes.
    Returns (exit code, stdout, everything written to the terminal)."""
    master, slave = os.openpty()
    set_size(slave, columns)
    try:
        proc = subprocess.Popen([FERRY_BIN, "download"] + ferry.args(args), env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    tty = b""
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    try:
        while True:  # drain the terminal while ferry runs (a full pty would block it)
            if time.monotonic() > deadline:
                raise AssertionError(f"ferry did not end; terminal so far: {tty!r}")
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every slave end is closed, ferry is gone
                break
            if not chunk:
                break
            tty += chunk
            if on_output:
                on_output(proc, master, tty)
        stdout = proc.stdout.read().decode()
        code = proc.wait(10 * TIMEOUT_SCALE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
        os.close(master)
    return code, stdout, tty.decode(errors="replace")


def frames(tty):
    return [m for m in FRAME.finditer(tty)]


def assert_no_progress(tty):
    """None of the markers of a frame: no carriage-return redraw, no bar, no rate, no ETA, no
    files count, no erase-to-end-of-line."""
    assert not frames(tty), tty
    for marker in ("\r[", "ETA ", "/s  ", " files ", "\033[K", "conn "):
        assert marker not in tty, (marker, tty)


def snapshot_of(ferry, info):
    return os.path.join(ferry.cache, info.folder, "snapshots", info.commit)


def test_progress_on_a_terminal(ferry, hub_clean, tiny):
    """Total bytes, a rate, an ETA, files done/total and the largest file in flight, in frames
    redrawn in place; the last frame is complete; the download is right."""
    # 2 MiB/s per CDN request: the 32 MiB of weights take about a second on ferry's parallel
    # ranged requests (unthrottled, a few tenths), so several 200 ms frames are drawn while
    # they are in flight
    hub_clean.knobs(cdn_rate=2 << 20)
    code, stdout, tty = run_on_terminal(ferry, ["demo/tiny-model"],
                                        ferry.env_with(drop=[PROGRESS_ENV]))
    assert code == EXIT_OK, tty
    assert stdout == snapshot_of(ferry, tiny) + "\n"
    check_snapshot(ferry.cache, tiny.repo_id, tiny.repo_type, tiny.commit, tiny.entries,
                   tiny.reference)
    found = frames(tty)
    assert len(found) >= 3, f"fewer than 3 frames drawn: {tty!r}"
    n = len(tiny.entries)
    assert n > 1 and tiny.size > 1000 * 1000
    total = fmt_bytes(tiny.size)
    for m in found:
        assert m["total"] == total, (m.group(0), total)
        assert int(m["files"]) == n, m.group(0)
        assert 0 <= int(m["done_files"]) <= n and 0 <= int(m["pct"]) <= 100, m.group(0)
    # a rate above zero and a real ETA at some point, the weights named while in flight
    assert any(m["rate"] != "0 B" and m["eta"] != "--:--" for m in found), tty
    in_flight = [m for m in found if m["largest"]]
    assert in_flight, f"no frame names the largest file in flight: {tty!r}"
    assert any(re.fullmatch(rf"  \| {re.escape(WEIGHTS)} \d+%(, .*)?", m["largest"])
               for m in in_flight), [m["largest"] for m in in_flight]
    # progress moves forward, and the last frame is the finished download
    done = [int(m["pct"]) for m in found]
    assert done == sorted(done), done
    last = found[-1]
    assert last["pct"] == "100" and last["done"] == total and last["eta"] == "0:00", last.group(0)
    assert last["done_files"] == str(n), last.group(0)
    assert not last["largest"], last.group(0)
    # the display ends its line before the summary line
    summary = re.search(r"\033\[K\r?\nferry: demo/tiny-model@[0-9a-f]{12}: %d files, %d downloaded"
                        % (n, n), tty)
    assert summary, tty


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_disable_progress_bars_draws_nothing(ferry, tiny, value):
    code, stdout, tty = run_on_terminal(ferry, ["demo/tiny-model"],
                                        ferry.env_with({PROGRESS_ENV: value}))
    assert code == EXIT_OK, tty
    assert stdout == snapshot_of(ferry, tiny) + "\n"
    check_snapshot(ferry.cache, tiny.repo_id, tiny.repo_type, tiny.commit, tiny.entries,
                   tiny.reference)
    assert_no_progress(tty)
    # the summary line still comes (the variable is about the bars only)
    assert re.search(r"ferry: demo/tiny-model@[0-9a-f]{12}: %d files, %d downloaded"
                     % (len(tiny.entries), len(tiny.entries)), tty), tty


@pytest.mark.parametrize("value", ["0", "false", ""])
def test_other_values_keep_the_progress_bars(ferry, tiny, value):
    """huggingface_hub's _is_true: anything but 1/ON/YES/TRUE leaves the bars on. A fast
    download still gets its final frame."""
    code, stdout, tty = run_on_terminal(ferry, ["demo/tiny-model"],
                                        ferry.env_with({PROGRESS_ENV: value}))
    assert code == EXIT_OK, tty
    assert stdout == snapshot_of(ferry, tiny) + "\n"
    found = frames(tty)
    assert found, tty
    n = len(tiny.entries)
    assert found[-1]["pct"] == "100" and found[-1]["files"] == str(n), found[-1].group(0)
    assert found[-1]["total"] == fmt_bytes(tiny.size)


def test_quiet_prints_only_the_path(ferry, tiny):
    """-q without --token: stdout is the snapshot path and a newline, stderr is empty."""
    r = ferry("demo/tiny-model", "-q", drop=[PROGRESS_ENV])
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == snapshot_of(ferry, tiny) + "\n"
    assert r.stderr == "", r.describe()
    check_snapshot(ferry.cache, tiny.repo_id, tiny.repo_type, tiny.commit, tiny.entries,
                   tiny.reference)
    # and again, everything cached: still the path alone
    r = ferry("demo/tiny-model", "-q", drop=[PROGRESS_ENV])
    assert r.returncode == EXIT_OK, r.describe()
    assert (r.stdout, r.stderr) == (snapshot_of(ferry, tiny) + "\n", "")


def test_quiet_on_a_terminal_draws_nothing(ferry, hub_clean, tiny):
    """-q with the bars enabled and stderr a terminal: not a byte on the terminal, even while
    the weights take a few frames' time."""
    hub_clean.knobs(cdn_rate=8 << 20)
    code, stdout, tty = run_on_terminal(ferry, ["demo/tiny-model", "-q"],
                                        ferry.env_with(drop=[PROGRESS_ENV]))
    assert code == EXIT_OK, tty
    assert stdout == snapshot_of(ferry, tiny) + "\n"
    assert tty == "", repr(tty)


def drawn_frames(tty):
    """Every frame as the terminal shows it (escape sequences gone), in order."""
    return [seg.replace("\033[K", "") for seg in re.split(r"[\r\n]", tty)
            if seg.startswith("[")]


def test_progress_fits_the_terminal(ferry, hub_clean, tiny):
    """An 80-column terminal: no frame is wider (a wrapped line stays on screen at every
    redraw), and the frames still show the bar, the percentage and the bytes."""
    hub_clean.knobs(cdn_rate=2 << 20)
    code, _, tty = run_on_terminal(ferry, ["demo/tiny-model"], ferry.env_with(drop=[PROGRESS_ENV]),
                                   columns=80)
    assert code == EXIT_OK, tty
    shown = drawn_frames(tty)
    assert len(shown) >= 3, tty
    assert max(len(f) for f in shown) <= 79, [f for f in shown if len(f) > 79]
    total = fmt_bytes(tiny.size)
    assert all(re.match(r"\[[=> ]+\] +\d+% .* / " + re.escape(total), f) for f in shown), shown
    assert shown[-1].startswith("[" + "=" * 24 + "] 100%"), shown[-1]


def test_progress_follows_a_resize(ferry, hub_clean, tiny):
    """The terminal narrows from 120 to 40 columns while ferry draws (SIGWINCH, as the kernel
    sends it to a terminal's foreground process): the frames drawn after it fit 40."""
    hub_clean.knobs(cdn_rate=1 << 20)
    resized = {}

    def narrow(proc, master, tty):
        if not resized and drawn_frames(tty.decode(errors="replace")):
            set_size(master, 40)
            proc.send_signal(signal.SIGWINCH)
            resized["at"] = len(tty)
            resized["time"] = time.monotonic()

    code, _, tty = run_on_terminal(ferry, ["demo/tiny-model"], ferry.env_with(drop=[PROGRESS_ENV]),
                                   columns=120, on_output=narrow)
    assert code == EXIT_OK, tty
    before = drawn_frames(tty[:resized["at"]])
    after = drawn_frames(tty[resized["at"]:])
    assert before and max(len(f) for f in before) > 40, before
    # a frame already on its way may be as wide as before; the last ones fit
    assert len(after) >= 2, after
    assert all(len(f) <= 39 for f in after[1:]), after
