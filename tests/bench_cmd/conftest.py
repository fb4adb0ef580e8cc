"""Session fixtures of the `ferry bench` tests: one seeded local hub (always stopped) and an
isolated environment per test that trusts the hub's CA through SSL_CERT_FILE, as a user's
would (so the CA comes from the same place as for `ferry download`).

Run:  /usr/bin/python3 -m pytest tests/bench_cmd -q      (binary: env FERRY_BIN, default build/ferry)
"""
import http.server
import json
import os
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, FerryResult
from hubrun import AccessLog, HubEnv
from hubtest import running_hub
from serving import serving

SEED_SIZE = "8M"


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("bench-hub"), "--seed", "--seed-size", SEED_SIZE) as h:
        yield h


@pytest.fixture
def log(hub):
    """The access log from this point on."""
    return AccessLog(hub.dir).mark()


class Bench(HubEnv):
    """`ferry bench ARGS` with HOME and HF_HOME under the test's tmp_path."""

    def __init__(self, hub, home):
        super().__init__(hub, home, {"SSL_CERT_FILE": hub.ca})
        self.cache = os.path.join(self.hf_home, "hub")

    def __call__(self, *args, env=None, drop=(), timeout=60):
        argv = ["bench"] + [str(a) for a in args]
        start = time.monotonic()
        done = subprocess.run([FERRY_BIN] + argv, env=self.env_with(env, drop),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout * TIMEOUT_SCALE)
        return FerryResult(argv, done.returncode, done.stdout, done.stderr,
                           time.monotonic() - start)

    def interrupted(self, *args, env=None, ready=lambda p: time.sleep(2.5)):
        """`ferry bench ARGS --json` stopped by SIGINT once ready(process) returns: exit 130
        with the figures measured so far, which it returns."""
        code, out, err = self.interrupted_raw(*args, "--json", env=env, ready=ready)
        assert code == 130, (out, err)
        fig = json.loads(out)
        assert fig["ok"] is False and fig["error"]["name"] == "INTERRUPTED"
        assert fig["bytes"] > 0 and 0 < fig["seconds"] < 60
        assert fig["mb_per_s"] == pytest.approx(fig["bytes"] / fig["seconds"] / 1e6, rel=1e-6)
        return fig

    def interrupted_raw(self, *args, after=None, env=None, ready=None):
        """`ferry bench ARGS` sent SIGINT once ready(process) returns (or `after` seconds in):
        (exit code, stdout, stderr)."""
        p = subprocess.Popen([FERRY_BIN, "bench", *[str(a) for a in args]],
                             env=self.env_with(env), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if ready:
                ready(p)
            else:
                time.sleep(after)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60 * TIMEOUT_SCALE)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        return p.returncode, out, err

@contextmanager
def recording_server(handler):
    """A plain-HTTP server on loopback for the `with` block, its handler's `seen` emptied
    first; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    handler.seen = []
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def bench(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Bench(hub, home)
