"""Running ferry against the local hub (tests/hub), as the download, upload, auth, cards and
manage tests all do: an isolated environment per test, the hub's access log from a mark on,
and waiting on or stopping a ferry in the background. One copy here, so the environment a
test gives ferry is the same in every folder.
"""
import os
import signal
import subprocess
import time
import urllib.parse

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, FerryResult

# what the caller's environment passes through: sanitizer builds need their options and scale
PASSED_THROUGH = ("FERRY_TEST_TIMEOUT_MULTIPLIER", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                  "LSAN_OPTIONS")


def ferry_env(hub, home, extra=None, drop=()):
    """A clean environment: no token, no CA and no cache variables from the caller."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "LANG": "C.UTF-8", "HF_ENDPOINT": hub.endpoint,
           "HF_HOME": os.path.join(str(home), "hf-home"),
           "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    for key in PASSED_THROUGH:
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra or {})
    for key in drop:
        env.pop(key, None)
    return env


class HubEnv:
    """The per-test environment of a runner: ferry_env under `home`, and variations of it."""

    def __init__(self, hub, home, extra=None):
        self.hub, self.home = hub, home
        self.env = ferry_env(hub, home, extra)
        self.hf_home = self.env["HF_HOME"]

    def env_with(self, extra=None, drop=()):
        env = dict(self.env)
        env.update(extra or {})
        for key in drop:
            env.pop(key, None)
        return env


def type_prefix(repo_type):
    """Web route prefix: empty for models, `datasets/` or `spaces/` otherwise."""
    return "" if repo_type == "model" else repo_type + "s/"


# ---- running ferry ------------------------------------------------------------------------

def run_download(args, env, timeout=60):
    """`ferry download ARGS` to the end (the upload tests read back with it too)."""
    args = ["download"] + [str(a) for a in args]
    start = time.monotonic()
    done = subprocess.run([FERRY_BIN] + args, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout * TIMEOUT_SCALE)
    return FerryResult(args, done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def stop_process(process, sig=signal.SIGKILL, timeout=20):
    """Send sig, wait for the end; returns (exit code as the shell reports it, stderr).
    process.stderr_file: the unnamed temp file its stderr went to (a pipe could fill up)."""
    process.send_signal(sig)
    try:
        process.wait(timeout * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        raise AssertionError(f"ferry did not exit within {timeout}s of signal {sig}")
    process.stderr_file.seek(0)
    stderr = process.stderr_file.read().decode(errors="replace")
    process.stderr_file.close()
    code = process.returncode
    return (128 - code if code < 0 else code), stderr


def wait_until(condition, what, timeout=30, process=None):
    deadline = time.monotonic() + timeout * TIMEOUT_SCALE
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"ferry ended (exit {process.returncode}) before: {what}")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for: {what}")


# ---- the hub's access log -----------------------------------------------------------------

class LogLine:
    def __init__(self, fields):
        (self.origin, self.method, self.uri, status, sent, received, self.auth,
         when) = fields[:8]
        self.status, self.bytes_sent, self.bytes_received = int(status), int(sent), int(received)
        self.time = float(when)
        # protocol (HTTP/2.0, HTTP/1.1), nginx's connection serial number, Range header or "-"
        self.protocol, self.connection, self.range = (fields[8:11] + [None] * 3)[:3]

    @property
    def path(self):
        return urllib.parse.unquote(self.uri.split("?", 1)[0])

    def __repr__(self):
        return f"{self.origin} {self.method} {self.uri} {self.status} {self.bytes_sent} {self.auth}"


class AccessLog:
    """Lines of the hub's access log written after mark()."""

    def __init__(self, hub_dir):
        self.path = os.path.join(hub_dir, "logs", "access.log")
        self.start = 0

    def _all(self):
        with open(self.path) as f:
            return [line.split() for line in f if line.strip()]

    def _settled(self):
        """The lines once the log stops growing: nginx writes a request's line when the request
        ends, which can be after its client (an earlier test, an aborted ferry) moved on."""
        previous = -1
        for _ in range(20):
            lines = self._all()
            if len(lines) == previous:
                break
            previous = len(lines)
            time.sleep(0.15)
        return lines

    def mark(self):
        self.start = len(self._settled())
        return self

    def lines(self, settle=True):
        return [LogLine(f) for f in (self._settled() if settle else self._all())[self.start:]]
