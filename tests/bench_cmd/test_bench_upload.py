"""`ferry bench --upload` (issue 15) against the local hub: generated LFS objects sent as
`ferry upload` sends them (LFS batch, multipart parts, completion) into a scratch repo that is
gone afterwards, also after Ctrl-C and after a kill -9 and the next run; the bytes counted
against what the hub's access log received; the token checked before anything is created; and
parts PUT to a URL that never get the Hub token. Speed is never asserted."""
import http.server
import os
import socket
import subprocess
import threading
import time

import pytest

from ferrytest import FERRY_BIN
from hubrun import wait_until
from conftest import recording_server

from test_bench import KEYS, MiB

EXIT_USAGE, EXIT_NETWORK, EXIT_HTTP, EXIT_AUTH = 2, 3, 4, 15
PARALLEL = 8          # parts in flight at once: the engine's default connections
HEADERS_MAX = 2048    # a PUT's request line and headers, at most, in the log's bytes


def records(bench):
    d = os.path.join(bench.hf_home, "ferry", "bench-upload")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def repo_exists(hub, repo):
    return hub.get(f"/api/models/{repo}", token=hub.token).status == 200


def upload_figures(r):
    assert r.returncode == 0, r.describe()
    out = r.json
    assert set(out) == KEYS, set(out) ^ KEYS
    assert out["ok"] is True and out["direction"] == "upload" and out["to"] is None
    return out


def check_consistent(out, seconds):
    """The figures agree with each other (never a speed). Unlike a download's, `bytes` (the
    window, with the parts in flight at the stop) may pass `bytes_received` (the parts the
    storage accepted, grace included)."""
    assert out["grace_seconds"] == pytest.approx(min(1.0, seconds / 4))
    assert 0 < out["seconds"] <= seconds - out["grace_seconds"] + 1.0, out["seconds"]
    assert out["bytes"] > 0 and out["bytes_received"] > 0
    assert out["mb_per_s"] == pytest.approx(out["bytes"] / out["seconds"] / 1e6, rel=1e-6)
    assert out["gbit_per_s"] == pytest.approx(out["mb_per_s"] * 8 / 1000, rel=1e-6)
    for key in ("ttfb_ms", "latency_ms"):  # ttfb: the answer after a part's last byte
        p = out[key]
        assert 0 < p["p50"] <= p["p90"] <= p["p99"], (key, p)
    assert out["requests"] == out["requests_complete"] > 0  # accepted parts in the window
    assert out["connections"] and all(c["mb_per_s"] > 0 for c in out["connections"])
    assert out["connections_peak"] >= 1
    assert out["rounds"] >= 1 and out["errors"] == 0
    assert out["cpu_s_per_gb"] == pytest.approx(out["cpu_seconds"] / (out["bytes"] / 1e9),
                                                rel=1e-6)
    assert out["peak_rss"] > 0 and out["stages"]["sha256_mb_per_s_per_core"] > 0
    assert out["stages"]["disk_mb_per_s"] > 0 and out["cpu_shares"]["write"] == 0  # nothing written
    assert out["limit"] in ("network", "cpu", "server") and out["verdict"]


def test_upload_counts_match_the_hub_and_the_repo_is_gone(bench, hub, log):
    r = bench("--upload", "--seconds", "4", "--json", env={"HF_TOKEN": hub.token})
    out = upload_figures(r)
    check_consistent(out, 4)
    repo = out["scratch_repo"]
    assert repo.startswith("demo/ferry-bench-") and out["target"].startswith(repo)
    lines = log.lines()
    created = [ln for ln in lines if ln.method == "POST" and ln.path == "/api/repos/create"]
    deleted = [ln for ln in lines if ln.method == "DELETE" and ln.path == "/api/repos/delete"]
    assert [ln.status for ln in created] == [200] and [ln.status for ln in deleted] == [200]
    assert not repo_exists(hub, repo) and records(bench) == []
    # the parts: every accepted one counted, and nothing more received than those plus the
    # parts in flight when the clock stopped the run
    puts = [ln for ln in lines if ln.method == "PUT" and ln.path.startswith("/upload/")]
    accepted = [ln for ln in puts if 200 <= ln.status < 300]
    assert accepted and all(ln.auth == "no" for ln in puts)  # signed URLs: no token
    assert out["bytes_received"] <= sum(ln.bytes_received for ln in accepted)
    # beyond those: the requests in flight at the stop (some of them whole and accepted by
    # the storage, their answer not read yet), at most PARALLEL parts of 8 MiB
    beyond = sum(ln.bytes_received for ln in puts) - out["bytes_received"]
    assert 0 <= beyond <= PARALLEL * 8 * MiB + len(puts) * HEADERS_MAX, beyond
    assert out["rounds"] == len({ln.path.split("/")[2] for ln in puts})  # one upload id each
    completed = [ln for ln in lines if ln.path.startswith("/api/lfs/complete/")]
    assert completed and all(ln.status == 200 and ln.auth == "no" for ln in completed)
    assert out["objects_completed"] == len(completed)
    batches = [ln for ln in lines if ln.path.endswith(".git/info/lfs/objects/batch")]
    assert len(batches) == out["rounds"] and all(ln.auth == "yes" for ln in batches)


@pytest.fixture
def hub_faults(hub):
    """The hub with no upload fault, reset again after the test."""
    hub.knobs(upload_fault=None)
    yield hub
    hub.knobs(upload_fault=None)


def test_failed_parts_are_sent_again_with_the_same_bytes(bench, hub_faults, log):
    """Two parts answered 500 are retried; the hub completes an object only when the SHA-256
    of what it assembled is the oid, so a retried part carried the bytes that were hashed."""
    hub_faults.knobs(upload_fault={"mode": "status", "status": 500, "nth": [2, 3]})
    r = bench("--upload", "--seconds", "5", "--json", env={"HF_TOKEN": hub_faults.token})
    out = upload_figures(r)
    assert out["retries"] == 2 and out["errors"] == 0
    failed = [ln for ln in log.lines() if ln.method == "PUT" and ln.status == 500]
    assert len(failed) == 2
    first = failed[0].path.split("/")[2]  # the upload id of the object they belong to
    completed = [ln.path for ln in log.lines() if ln.path.startswith("/api/lfs/complete/")]
    assert f"/api/lfs/complete/{first}" in completed, completed
    assert out["objects_completed"] == len(completed) and not repo_exists(hub_faults,
                                                                          out["scratch_repo"])


def test_upload_table(bench, hub):
    r = bench("--upload", "--seconds", "2", "--connections", "3", env={"HF_TOKEN": hub.token})
    assert r.returncode == 0, r.describe()
    for label in ("target ", "sink ", "goodput ", "per connection ", "answer ", "request ",
                  "objects ", "limit "):
        assert any(line.startswith(label) for line in r.stdout.splitlines()), (label, r.stdout)
    assert "upload (generated LFS objects, multipart parts), 3 parts at once" in r.stdout
    assert " deleted" in r.stdout and hub.token not in r.stdout + r.stderr


@pytest.mark.parametrize("token", [None, "demo-read"])
def test_no_write_token_is_refused_before_anything_is_created(bench, hub, log, token):
    env = {"HF_TOKEN": hub.tokens[token]} if token else None
    r = bench("--upload", "--seconds", "1", env=env)
    assert r.returncode == EXIT_AUTH, r.describe()
    lines = r.stderr.splitlines()
    assert r.stdout == "" and len(lines) == 1, r.describe()
    assert lines[0].startswith("ferry: error: ferry bench --upload needs a token with write access")
    assert ("read-only" if token else "not logged in") in lines[0]
    assert not [ln for ln in log.lines() if ln.method != "GET"]  # nothing created or sent
    assert records(bench) == []


def test_ctrl_c_deletes_the_scratch_repo(bench, hub, log):
    def ready(p):
        wait_until(lambda: any(ln.path.startswith("/api/lfs/complete/")
                               for ln in log.lines(settle=False)),
                   "an object sent", process=p)
        time.sleep(1.5)  # well past the grace (it began before the first object)

    fig = bench.interrupted("--upload", "--seconds", "60", env={"HF_TOKEN": hub.token},
                            ready=ready)
    assert not repo_exists(hub, fig["scratch_repo"]) and records(bench) == []


def killed_bench(bench, hub, log, *args):
    """`ferry bench ARGS` killed with SIGKILL once parts are being sent: the scratch repo its
    record names (the one record of that process)."""
    p = subprocess.Popen([FERRY_BIN, "bench", *args], env=bench.env_with({"HF_TOKEN": hub.token}),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: any(ln.path.startswith("/upload/") for ln in log.lines(settle=False)),
                   "parts being sent", process=p)
    finally:
        p.kill()
        p.wait()
    prefix = f"{socket.gethostname()}-{p.pid}-"
    (mine,) = [n for n in records(bench) if n.startswith(prefix)]
    return "demo/" + mine[len(prefix):]


def test_a_killed_bench_repo_is_deleted_by_the_next_run(bench, hub, log):
    # another host's record is not this host's to judge
    d = os.path.join(bench.hf_home, "ferry", "bench-upload")
    os.makedirs(d)
    other = os.path.join(d, "otherhost-1-ferry-bench-000000000000")
    with open(other, "w") as f:
        f.write(f"{hub.endpoint}\ndemo/ferry-bench-000000000000\n")
    # a dead process's record naming a repo no bench makes: never deleted
    dead = subprocess.Popen(["true"])
    dead.wait()
    forged = os.path.join(d, f"{socket.gethostname()}-{dead.pid}-tiny-model")
    with open(forged, "w") as f:
        f.write(f"{hub.endpoint}\ndemo/tiny-model\n")
    repo = killed_bench(bench, hub, log, "--upload", "--seconds", "60")
    assert repo_exists(hub, repo)  # left by the kill, and recorded
    r = bench("--upload", "--seconds", "1", "--json", env={"HF_TOKEN": hub.token})
    out = upload_figures(r)
    assert not repo_exists(hub, repo) and not repo_exists(hub, out["scratch_repo"])
    assert records(bench) == sorted([os.path.basename(other), os.path.basename(forged)])
    assert repo_exists(hub, "demo/tiny-model")


class PutHandler(http.server.BaseHTTPRequestHandler):
    """Takes PUT bodies as a storage takes parts, recording headers and sizes."""
    protocol_version = "HTTP/1.1"
    seen = []
    lock = threading.Lock()

    def do_PUT(self):
        n = int(self.headers["Content-Length"])
        got = 0
        while got < n:
            chunk = self.rfile.read(min(1 << 20, n - got))
            if not chunk:
                break
            got += len(chunk)
        with PutHandler.lock:
            PutHandler.seen.append((dict(self.headers), got, got == n))
        if got < n:
            return
        self.send_response(200)
        self.send_header("ETag", '"part"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_upload_to_a_url_never_sends_the_token(bench, hub):
    with recording_server(PutHandler) as base:
        url = base + "/bucket/part"
        r = bench("--upload", url, "--chunk-size", "1M", "--seconds", "2", "--json",
                  env={"HF_TOKEN": hub.token})
    out = upload_figures(r)
    assert out["target"] == url and out["scratch_repo"] is None
    whole = [n for _, n, done in PutHandler.seen if done]
    assert whole and all(n == MiB for n in whole)
    assert out["bytes_received"] <= sum(whole)  # every counted part arrived whole
    assert sum(whole) - out["bytes_received"] <= PARALLEL * MiB  # answers cut by the stop
    assert not any(k.lower() == "authorization" for h, _, _ in PutHandler.seen for k in h)
    assert hub.token not in r.stdout + r.stderr


class RefusingHandler(PutHandler):
    """A storage that refuses every part (an expired signature, say)."""

    def do_PUT(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        PutHandler.seen.append((dict(self.headers), 0, False))
        body = b"<Error><Message>nope</Message></Error>"
        self.send_response(403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_upload_to_a_refusing_or_unreachable_url_is_an_error(bench):
    with recording_server(RefusingHandler) as base:
        r = bench("--upload", base + "/part", "--chunk-size", "1M", "--seconds", "2")
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert r.returncode == EXIT_HTTP and r.stdout == "" and len(errors) == 1, r.describe()
    assert errors[0].endswith("HTTP 403: nope")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = bench("--upload", f"http://127.0.0.1:{port}/part", "--seconds", "2")
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert r.returncode == EXIT_NETWORK and r.stdout == "" and len(errors) == 1, r.describe()
    assert "no part accepted in 2 s" in errors[0]


@pytest.mark.parametrize("args, words", [
    (["--upload", "demo/tiny-model"], ["--upload", "scratch repo"]),
    (["--upload", "--to", "null"], ["--upload", "--to"]),
])
def test_upload_usage_errors(bench, args, words):
    r = bench(*args)
    assert r.returncode == EXIT_USAGE, r.describe()
    assert r.stdout == "" and len(r.stderr.splitlines()) == 1
    for w in words:
        assert w in r.stderr, (w, r.stderr)
