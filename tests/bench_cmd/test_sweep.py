"""`ferry bench --sweep` (issue 15) against the local hub: the points run (the default first,
then connections x streams x chunk size in order), the figures of each point agree with each
other and with what the hub's access log saw, the best point follows the documented rule
(the cheapest within 5 % of the fastest), the table, progress naming the point on a terminal
and nothing on stderr with -q, Ctrl-C keeping the points so far, and the usage errors of the
value lists. Speed is never asserted: only that the figures agree with each other."""
import json
import os
import pty
import subprocess

import pytest

from ferrytest import FERRY_BIN
from test_bench import EXIT_USAGE, KEYS

MiB = 1024 * 1024
POINT_KEYS = {"default", "connections", "streams", "chunk_size", "error", "seconds", "settled",
              "bytes", "mb_per_s", "gbit_per_s", "per_connection_mb_per_s", "connections_peak",
              "ttfb_p90_ms", "latency_p50_ms", "retries", "errors", "rounds", "cpu_s_per_gb"}
SWEEP_KEYS = {"direction", "point_seconds", "points", "best", "default_share_of_best", "saved",
              "cap_mb_per_s_per_connection", "limit", "verdict"}
SMALL = ["demo/tiny-model", "--to", "null", "--sweep", "--connections", "1,3", "--streams", "1",
         "--chunk-size", "1M,2M", "--seconds", "2"]


def best_by_rule(points):
    """The documented rule, from the figures: among the measured fixed points, those within
    5 % of the fastest, then the fewest requests in flight, connections, request size."""
    fixed = [(i, p) for i, p in enumerate(points)
             if not p["default"] and p["error"] is None and p["bytes"] > 0]
    fastest = max(p["mb_per_s"] for _, p in fixed)
    near = [(i, p) for i, p in fixed if p["mb_per_s"] >= 0.95 * fastest]
    return min(near, key=lambda ip: (ip[1]["connections"] * ip[1]["streams"],
                                     ip[1]["connections"], ip[1]["chunk_size"],
                                     -ip[1]["mb_per_s"]))[0]


def test_sweep_json_has_every_point(bench, log):
    r = bench(*SMALL, "--json", timeout=120)
    assert r.returncode == 0, r.describe()
    out = r.json
    assert set(out) == KEYS | {"sweep"}, set(out) ^ (KEYS | {"sweep"})
    sw = out["sweep"]
    assert set(sw) == SWEEP_KEYS
    assert sw["point_seconds"] == 2
    points = sw["points"]
    assert all(set(p) == POINT_KEYS for p in points)
    # the default first (the engine's own setting), then chunk size x streams x connections
    assert points[0]["default"] is True
    assert (points[0]["connections"], points[0]["streams"], points[0]["chunk_size"]) == \
        (8, 2, 8 * MiB)
    assert [(p["connections"], p["streams"], p["chunk_size"]) for p in points[1:]] == \
        [(1, 1, MiB), (3, 1, MiB), (1, 1, 2 * MiB), (3, 1, 2 * MiB)]
    assert not any(p["default"] for p in points[1:])
    for p in points:
        assert p["error"] is None and p["bytes"] > 0 and 0 < p["seconds"] <= 2
        assert p["mb_per_s"] == pytest.approx(p["bytes"] / p["seconds"] / 1e6, rel=1e-6)
        assert p["gbit_per_s"] == pytest.approx(p["mb_per_s"] * 8 / 1000, rel=1e-6)
        assert p["rounds"] >= 1 and p["errors"] == 0 and p["per_connection_mb_per_s"] > 0
    # the default's run is the full one: its figures are the top-level ones, with the stages
    assert out["bytes"] == points[0]["bytes"] and out["verdict"]
    assert out["stages"]["sha256_mb_per_s_per_core"] > 0
    assert sw["best"] == best_by_rule(points)
    assert sw["limit"] in ("network", "cpu", "disk", "server", "connection_cap") and sw["verdict"]
    assert sw["default_share_of_best"] == pytest.approx(
        points[0]["mb_per_s"] / points[sw["best"]]["mb_per_s"], rel=1e-6)
    # each point asked for its own request size: the ranges nginx saw for the file
    sizes = set()
    for ln in log.lines():
        if ln.range and ln.range.startswith("bytes="):
            a, b = ln.range[6:].split("-")
            sizes.add(int(b) - int(a) + 1)
    assert {MiB, 2 * MiB} <= sizes, sorted(sizes)


def test_sweep_table_names_the_best(bench):
    r = bench(*SMALL[:-2], "--seconds", "1", "-q", timeout=120)
    assert r.returncode == 0, r.describe()
    assert r.stderr == ""  # -q: nothing but the result
    lines = r.stdout.splitlines()
    assert any(ln.startswith("sweep           5 points of at most 1 s") for ln in lines), r.stdout
    rows = [ln for ln in lines if ln.startswith("  ") and " ms" in ln]
    assert len(rows) == 5 and "(dflt)" in rows[0]
    assert sum("<- best" in ln for ln in rows) == 1
    best = [ln for ln in lines if ln.startswith("best            --connections ")]
    assert len(best) == 1 and "within 5 %" in best[0]
    assert any(ln.startswith("default         ") and "% of the best" in ln for ln in lines)
    assert any(ln.startswith("limit           ") for ln in lines)
    assert any(ln.startswith("limit at best   ") for ln in lines)


def test_sweep_progress_names_the_point(bench):
    """On a terminal, progress says which point runs ("point 2/3 (1 x 1, 1M)")."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([FERRY_BIN, "bench", "demo/tiny-model", "--to", "null", "--sweep",
                            "--connections", "1,2", "--streams", "1", "--chunk-size", "1M",
                            "--seconds", "1"], env=bench.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=slave, timeout=120)
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert p.returncode == 0, seen
    text = seen.decode(errors="replace")
    for want in ("point 1/3 (the default, 8 x 2, 8", "point 2/3 (1 x 1, 1", "point 3/3 (2 x 1, 1"):
        assert want in text, (want, text[-2000:])


def interrupted_sweep(code, out, err, npoints):
    """A sweep of npoints (the default's included) stopped by SIGINT after a point: exit 130,
    --json with the points so far, all but the last whole; returns the figures."""
    assert code == 130, (out, err)
    fig = json.loads(out)
    assert fig["ok"] is False and fig["error"]["name"] == "INTERRUPTED"
    points = fig["sweep"]["points"]
    assert 2 <= len(points) < npoints, points
    assert all(pt["error"] is None and pt["bytes"] > 0 for pt in points[:-1])
    assert points[-1]["error"] in (None, "INTERRUPTED")
    return fig


def test_sweep_ctrl_c_keeps_the_points_so_far(bench):
    # after the default (2 s and the stages) and a point or two
    interrupted_sweep(*bench.interrupted_raw("demo/tiny-model", "--to", "null", "--sweep",
                                             "--connections", "1,2,3,4,5,6", "--streams", "1",
                                             "--seconds", "2", "--json", after=6), 7)
    assert os.listdir(bench.cache) == []  # every point's temporary folder removed


def test_sweep_of_too_many_points_is_refused(bench, log):
    r = bench("demo/tiny-model", "--sweep", "--connections", "1,2,3,4,5,6,7,8",
              "--streams", "1,2,3,4,5,6,7,8")
    assert r.returncode == EXIT_USAGE, r.describe()
    assert "64 points: a sweep takes at most 63" in r.stderr
    assert log.lines() == []  # refused before any request
