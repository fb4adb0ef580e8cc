"""`ferry bench` (issue 15) against the local hub: the options and usage errors, a null run
and a disk run that leave nothing behind (the temporary folder removed, nothing in the cache),
the --json figures present and consistent with each other and with the hub's access log, the
errors of a bad target, and the Hub token never sent to a URL target off the Hub's origin.
Speed is never asserted: only that the figures agree with each other."""
import http.server
import json
import os
import socket
import subprocess
import threading

import pytest

from ferrytest import FERRY_BIN
from conftest import recording_server

EXIT_USAGE, EXIT_HTTP, EXIT_REPO, EXIT_ENTRY = 2, 4, 11, 13
MiB = 1024 * 1024
KEYS = {"ok", "error", "target", "mirror", "file", "file_size", "to", "dir", "grace_seconds", "seconds",
        "settled", "bytes", "bytes_received", "mb_per_s", "gbit_per_s", "rates_mb_per_s",
        "connections", "connections_peak", "requests", "requests_complete", "ttfb_ms",
        "latency_ms", "rtt_ms", "retries", "errors", "rounds", "cpu_seconds", "cpu_s_per_gb",
        "peak_rss", "edge", "stages", "cpu_shares", "limit", "verdict", "direction", "scratch_repo",
        "objects_completed"}


def plain(*args):
    """ferry without a reachable hub: for what must be refused before any request."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HOME": "/nonexistent-ferry-home",
           "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([FERRY_BIN, "bench", *args], capture_output=True, text=True,
                          timeout=30, env=env, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args, words", [
    (["--to", "tape"], ["--to", "tape"]),
    (["--seconds", "0"], ["--seconds"]),
    (["--seconds", "601"], ["--seconds"]),
    (["https://example.invalid/f", "extra"], ["no FILENAME", "extra"]),
    (["https://example.invalid/f", "--revision", "v1"], ["--revision", "URL"]),
    (["--repo-type", "dataset"], ["REPO_ID"]),
    (["ftp://example.invalid/f"], ["http://"]),
    (["hf://demo/tiny-model/model.safetensors", "config.json"], ["not both"]),
    (["demo/tiny-model", "a", "b"], ["unexpected argument 'b'"]),
    (["demo/tiny-model", "--save"], ["--save goes with --sweep"]),
    # --sweep's value lists (test_sweep.py has the sweep)
    (["demo/tiny-model", "--connections", "1,2"], ["--connections", "1,2", "--sweep"]),
    (["demo/tiny-model", "--sweep", "--connections", "1,,2"], ["--connections", "1,,2"]),
    (["demo/tiny-model", "--sweep", "--streams", "0"], ["--streams", "'0'"]),
    (["demo/tiny-model", "--sweep", "--chunk-size", "4k"], ["--chunk-size", "'4k'"]),
    (["--sweep"], ["--sweep needs a target"]),
])
def test_usage_errors(args, words):
    r = plain(*args)
    assert r.returncode == EXIT_USAGE, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferry: error: "), r.stderr
    assert "see 'ferry bench --help'" in lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_help_lists_what_is_there_only():
    r = plain("--help")
    assert r.returncode == 0, r.stderr
    for opt in ("--to SINK", "--dir DIR", "--seconds N", "--sweep", "--connections LIST",
                "--streams LIST", "--chunk-size LIST", "--save", "--plot FILE.png", "--json"):
        assert opt in r.stdout, opt
    assert "--upload" in r.stdout


def figures(r):
    assert r.returncode == 0, r.describe()
    out = r.json
    assert set(out) == KEYS, set(out) ^ KEYS
    assert out["ok"] is True and out["error"] is None
    assert out["direction"] == "download" and out["scratch_repo"] is None
    assert out["objects_completed"] is None
    return out


def check_consistent(out, seconds):
    """The figures agree with each other (never a speed)."""
    assert out["grace_seconds"] == pytest.approx(min(1.0, seconds / 4))
    assert 0 < out["seconds"] <= seconds - out["grace_seconds"] + 1.0, out["seconds"]
    assert 0 < out["bytes"] <= out["bytes_received"]
    assert out["mb_per_s"] == pytest.approx(out["bytes"] / out["seconds"] / 1e6, rel=1e-6)
    assert out["gbit_per_s"] == pytest.approx(out["mb_per_s"] * 8 / 1000, rel=1e-6)
    for key in ("ttfb_ms", "latency_ms"):
        p = out[key]
        assert 0 < p["p50"] <= p["p90"] <= p["p99"], (key, p)
    assert out["requests"] >= out["requests_complete"] > 0
    assert out["connections"] and all(c["mb_per_s"] > 0 for c in out["connections"])
    assert out["connections_peak"] >= 1
    assert out["rounds"] >= 1 and out["errors"] == 0
    assert out["cpu_s_per_gb"] == pytest.approx(out["cpu_seconds"] / (out["bytes"] / 1e9),
                                                rel=1e-6)
    assert out["peak_rss"] > 0
    assert out["stages"]["sha256_mb_per_s_per_core"] > 0 and out["stages"]["cores"] >= 1
    assert out["stages"]["disk_mb_per_s"] > 0
    check_stage_shares(out)
    assert out["limit"] in ("network", "cpu", "disk", "server") and out["verdict"]


def check_stage_shares(out):
    """The TLS-receive stage ran (the same target, hash off) and the shares of the CPU per GB
    are the stages' costs over the run's."""
    st, shares = out["stages"], out["cpu_shares"]
    assert st["tls_receive_mb_per_s"] > 0 and st["tls_receive_cpu_s_per_gb"] > 0
    assert st["sha256_cpu_s_per_gb"] == pytest.approx(1000 / st["sha256_mb_per_s_per_core"],
                                                      rel=1e-6)
    assert st["write_cpu_s_per_gb"] > 0
    for key, cost in (("sha256", st["sha256_cpu_s_per_gb"]),
                      ("receive", st["tls_receive_cpu_s_per_gb"]),
                      ("write", st["write_cpu_s_per_gb"] if out["to"] == "disk" else 0)):
        assert shares[key] == pytest.approx(min(1.0, cost / out["cpu_s_per_gb"]), rel=1e-6), key


def test_null_run_writes_nothing(bench, hub):
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "2", "--json")
    out = figures(r)
    check_consistent(out, 2)
    assert out["to"] == "null" and out["file"] == "model.safetensors"
    assert out["file_size"] == 8 * MiB
    assert out["target"].startswith("demo/tiny-model/model.safetensors@") and out["mirror"] is None
    assert out["dir"].startswith(bench.cache + "/.ferry-bench-")
    assert not os.path.exists(out["dir"])
    assert os.listdir(bench.cache) == []  # no repo folder, no blob, no snapshot


def test_disk_run_removes_its_folder(bench, tmp_path):
    where = tmp_path / "scratch"
    where.mkdir()
    r = bench("hf://demo/tiny-model", "--dir", where, "--seconds", "2", "--json")
    out = figures(r)
    check_consistent(out, 2)
    assert out["to"] == "disk"
    assert out["dir"].startswith(str(where) + "/.ferry-bench-")
    assert os.listdir(where) == []
    assert not os.path.exists(os.path.join(bench.cache, "models--demo--tiny-model"))


def test_disk_run_in_the_cache_by_default(bench):
    r = bench("demo/tiny-model", "config.json", "--seconds", "1", "--json")
    out = figures(r)
    assert out["file"] == "config.json" and out["to"] == "disk"
    assert out["dir"].startswith(bench.cache + "/.ferry-bench-")
    assert os.listdir(bench.cache) == []


def test_bytes_counted_match_the_access_log(bench, log):
    """What the bench counts is what nginx served, within the requests in flight at the stop.
    The rate cap keeps the run inside one round: no tail of the file split between two
    requests (the first one's bytes past the split would be sent and never counted)."""
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "2", "--connections", "2",
              "--streams", "1", "--chunk-size", "1M", "--limit-rate", "2M", "--json")
    out = figures(r)
    assert out["rounds"] == 1, out
    served = [ln for ln in log.lines() if ln.origin == "cdn" and ln.path.startswith("/lfs/")]
    assert served and all(ln.status == 206 for ln in served)
    sent = sum(ln.bytes_sent for ln in served)  # bodies and their headers
    # the TLS-receive stage fetched the same file afterwards: its bytes are in the log too
    stage = out["stages"]["tls_receive_bytes"]
    assert stage > 0
    # Never more than the server sent, but for the requests in flight at the two stops: nginx
    # logs a stream the client reset with what it had counted as sent by then, which can be
    # less than what reached the client (once in CI: 20 KB over 8.4 MB, the rest equal).
    in_flight = 2 * 2 * 1 * MiB  # stops x connections x streams x the 1 MiB requests
    assert sent + in_flight >= out["bytes_received"] + stage, (sent, out)
    # Every request nginx sent whole was counted, but for those in flight at the stops
    # (connections x streams of 1 MiB at most, in the run and in the stage). Requests cut short (a split of the file's
    # tail, the stop) sent part of their range, and are left out of this sum.
    whole = 0
    for ln in served:
        first, last = (int(x) for x in ln.range.split("=", 1)[1].split("-"))
        if ln.bytes_sent >= last - first + 1:
            whole += last - first + 1
    assert whole > 0
    assert whole <= out["bytes_received"] + stage + 2 * 2 * 1 * MiB, (whole, out)


def test_table_names_the_limit(bench):
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "1")
    assert r.returncode == 0, r.describe()
    for label in ("target ", "goodput ", "per connection ", "TTFB ", "request ", "RTT ",
                  "retries/errors ", "CPU ", "peak RSS ", "stage SHA-256 ", "stage disk ",
                  "limit "):
        assert any(line.startswith(label) for line in r.stdout.splitlines()), (label, r.stdout)
    assert "slow-start grace" in r.stdout


def test_no_target_measures_the_local_stages(bench):
    out = figures(bench("--json", "--dir", bench.home))
    assert out["target"] is None and out["bytes"] == 0 and out["requests"] == 0
    assert out["limit"] in ("cpu", "disk") and "local stages only" in out["verdict"]
    assert [p for p in os.listdir(bench.home) if p.startswith(".ferry-bench-")] == []
    r = bench("--dir", bench.home)
    assert r.returncode == 0 and "no target: the local stages alone" in r.stdout, r.describe()


@pytest.mark.parametrize("args, code, words", [
    (["demo/no-such-repo"], EXIT_REPO, ["not found"]),
    (["demo/tiny-model", "no-such-file.bin"], EXIT_ENTRY, ["no-such-file.bin"]),
])
def test_bad_repo_target(bench, args, code, words):
    r = bench(*args, "--seconds", "1")
    assert r.returncode == code, r.describe()
    assert r.stdout == "" and r.stderr.startswith("ferry: error: ")
    for w in words:
        assert w in r.stderr, r.stderr
    assert not os.path.exists(bench.cache) or os.listdir(bench.cache) == []


def test_missing_url(bench, hub):
    r = bench(hub.state["cdn_endpoint"] + "/no/such/object", "--seconds", "1", "--json")
    assert r.returncode == EXIT_HTTP, r.describe()
    out = json.loads(r.stdout)
    assert out["ok"] is False and out["error"]["http_status"] == 404
    assert os.listdir(bench.cache) == []


def test_token_never_goes_to_a_url_off_the_hub(bench, hub, log):
    # control: a URL on the Hub's own origin gets the token (and the CDN it redirects to not)
    resolve = f"{hub.endpoint}/demo/tiny-model/resolve/main/model.safetensors"
    r = bench(resolve, "--to", "null", "--seconds", "1", "--json", env={"HF_TOKEN": hub.token})
    figures(r)
    lines = log.lines()
    assert any(ln.origin == "hub" and ln.auth == "yes" for ln in lines), lines
    cdn = [ln for ln in lines if ln.origin == "cdn"]
    assert cdn and all(ln.auth == "no" for ln in cdn)
    # the same file by its CDN URL, another origin: no request carries the token
    log.mark()
    r = bench(hub.state["cdn_endpoint"] + cdn[0].uri, "--to", "null", "--seconds", "1",
              "--json", env={"HF_TOKEN": hub.token})
    figures(r)
    lines = log.lines()
    assert lines and all(ln.origin == "cdn" and ln.auth == "no" for ln in lines), lines
    assert hub.token not in r.stdout + r.stderr


def test_ctrl_c_prints_the_figures_so_far(bench, hub):
    """SIGINT during the download: exit 130 with what was measured, the folder removed."""
    fig = bench.interrupted("demo/tiny-model", "--seconds", "60")  # past the grace at 2.5 s
    assert not os.path.exists(fig["dir"]) and os.listdir(bench.cache) == []


@pytest.fixture
def hub_clean(hub):
    """The hub with default knobs, reset again after the test (faults must not leak)."""
    hub.knobs(cdn_fault=None)
    yield hub
    hub.knobs(cdn_fault=None)


def test_null_sink_still_hashes(bench, hub_clean):
    """The null sink writes nothing but checks every byte: a corrupted object fails the run
    with the checksum's exit code, as a download would, and leaves nothing behind."""
    hub_clean.knobs(cdn_fault={"mode": "corrupt", "offset": 123457})
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "20", "--json", timeout=90)
    assert r.returncode == 5, r.describe()
    out = json.loads(r.stdout)
    assert out["error"]["name"] == "CHECKSUM" and "SHA-256" in out["error"]["message"]
    assert os.listdir(bench.cache) == []


def test_a_killed_bench_folder_is_removed_next_time(bench, tmp_path):
    where = tmp_path / "scratch"
    where.mkdir()
    host = socket.gethostname()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process that is gone
    stale = where / f".ferry-bench-{host}-{dead.pid}-AbC123"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "download.part").write_bytes(b"x" * 100)
    alive = where / f".ferry-bench-{host}-{os.getpid()}-AbC123"  # a bench still running
    alive.mkdir()
    other = where / f".ferry-bench-otherhost-{dead.pid}-AbC123"  # not this host's to judge
    other.mkdir()
    mine = where / "keep-me"  # not a bench folder at all
    mine.mkdir()
    r = bench("--dir", where, "--json")
    assert r.returncode == 0, r.describe()
    assert sorted(os.listdir(where)) == sorted([alive.name, other.name, mine.name])


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """A plain HTTP origin with Range and an edge header, recording what it is sent."""
    protocol_version = "HTTP/1.1"
    body = bytes(range(256)) * 4096  # 1 MiB
    seen = []

    def do_GET(self):
        RangeHandler.seen.append(dict(self.headers))
        first, last = 0, len(self.body) - 1
        rng = self.headers.get("Range")
        if rng:
            a, b = rng.split("=", 1)[1].split("-")
            first, last = int(a), min(int(b), last)
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(self.body)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("ETag", '"fixed"')
        self.send_header("X-Amz-Cf-Pop", "TST50-P1")
        self.send_header("Via", "1.1 edge.example (CloudFront)")
        self.end_headers()
        self.wfile.write(self.body[first:last + 1])

    def log_message(self, *args):
        pass


def test_url_target_reports_the_edge_and_gets_no_token(bench, hub):
    with recording_server(RangeHandler) as base:
        url = base + "/file.bin"
        r = bench(url, "--to", "null", "--seconds", "1", "--json",
                  env={"HF_TOKEN": hub.token})
    out = figures(r)
    assert out["target"] == url and out["file"] is None
    assert out["edge"] == "X-Amz-Cf-Pop: TST50-P1"  # an x-*-pop header wins over Via
    assert RangeHandler.seen
    assert not any(k.lower() == "authorization" for h in RangeHandler.seen for k in h)
    assert hub.token not in r.stdout + r.stderr


def test_a_server_ignoring_range_is_refused(bench, hub_clean):
    hub_clean.knobs(cdn_fault={"mode": "ignore_range"})
    r = bench("demo/tiny-model", "--to", "null", "--seconds", "20", timeout=90)
    assert r.returncode == 10, r.describe()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert r.stdout == "" and len(errors) == 1, r.describe()  # (the engine's notice besides)
    assert "ignores Range" in errors[0]
    assert os.listdir(bench.cache) == []


def test_an_unreachable_host_is_an_error(bench):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = bench(f"https://127.0.0.1:{port}/file.bin", "--seconds", "2")
    assert r.returncode == 3, r.describe()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert r.stdout == "" and len(errors) == 1 and "no data in 2 s" in errors[0], r.describe()
    assert os.listdir(bench.cache) == []
