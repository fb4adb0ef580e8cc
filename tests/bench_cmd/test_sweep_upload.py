"""`ferry bench --upload --sweep` (issue 15) against the local hub: the parts sent at once
(--connections, the one knob `ferry upload` has) swept, each point a short upload bench into
the sweep's one scratch repo, gone afterwards; a table with the best point, --json with every
documented key, a valid PNG, and --save writing the upload object of the settings file (the
download one untouched) that `ferry env` shows and `ferry upload` sends with. Short points
(3 points of 2 s): speed is never asserted."""
import json
import os
import subprocess

import pytest

from ferrytest import FERRY_BIN
from test_bench import EXIT_USAGE, KEYS, MiB
from conftest import recording_server
from test_bench_upload import EXIT_AUTH, PutHandler, killed_bench, records
from test_plot import png_size
from test_sweep import POINT_KEYS, SWEEP_KEYS, interrupted_sweep

SWEEP = ["--upload", "--sweep", "--connections", "1,2", "--seconds", "2"]


def ferry(bench, *args, env=None):
    return subprocess.run([FERRY_BIN, *[str(a) for a in args]], env=bench.env_with(env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def scratch_repos(hub):
    """The scratch repos the hub has (of any bench)."""
    r = hub.get("/api/models?author=demo&search=ferry-bench-&limit=1000", token=hub.token)
    assert r.status == 200
    return [m["id"] for m in r.json() if "/ferry-bench-" in m["id"]]


def check_scratch_gone(bench, hub, log):
    """One scratch repo for the whole sweep (a Hub limits how fast repos are made), created
    and deleted once."""
    lines = log.lines()
    created = [ln.status for ln in lines if ln.method == "POST" and ln.path == "/api/repos/create"]
    deleted = [ln.status for ln in lines if ln.method == "DELETE" and ln.path == "/api/repos/delete"]
    assert created == [200] and deleted == [200], (created, deleted)
    assert scratch_repos(hub) == [] and records(bench) == []


def test_upload_sweep_table_best_point_and_plot(bench, hub, log, tmp_path):
    path = tmp_path / "upload-sweep.png"
    r = bench(*SWEEP, "--plot", path, env={"HF_TOKEN": hub.token}, timeout=150)
    assert r.returncode == 0, r.describe()
    out = r.stdout
    assert "sweep           3 points of at most 2 s (parts sent at once: --connections)" in out, out
    rows = [ln.split() for ln in out.splitlines() if ln.startswith("  ") and " part" in ln
            and ln.split()[0].isdigit()]
    assert [row[:2] for row in rows] == [["8", "parts"], ["1", "part"], ["2", "parts"]], rows
    assert "(dflt)" in rows[0]
    best = [row for row in rows if row[-2:] == ["<-", "best"]]
    assert len(best) == 1 and best[0][0] in ("1", "2"), rows
    assert f"best            --connections {best[0][0]}: " in out, out
    assert "--streams" not in out.split("sweep  ")[1]  # no knob an upload does not have
    assert f"plot            {path}" in out and png_size(path) == (1000, 600)
    assert 10_000 < os.path.getsize(path) < 5_000_000
    check_scratch_gone(bench, hub, log)


def test_upload_sweep_json_and_save(bench, hub, log, tmp_path):
    config = os.path.join(bench.hf_home, "ferry", "config.json")
    os.makedirs(os.path.dirname(config))
    download = {"connections": 3, "streams": 1, "chunk_size": 2 * MiB}
    kept = {"download": download, "saved_by": "ferry bench --sweep", "target": "demo/x",
            "mb_per_s": 12.5}
    with open(config, "w") as f:
        json.dump(kept, f)
    r = bench(*SWEEP, "--save", "--json", env={"HF_TOKEN": hub.token}, timeout=150)
    assert r.returncode == 0, r.describe()
    fig = r.json
    assert set(fig) == KEYS | {"sweep"}, set(fig) ^ (KEYS | {"sweep"})
    assert fig["direction"] == "upload" and fig["scratch_repo"].startswith("demo/ferry-bench-")
    sw = fig["sweep"]
    assert set(sw) == SWEEP_KEYS, set(sw) ^ SWEEP_KEYS
    assert sw["direction"] == "upload" and sw["point_seconds"] == 2 and sw["saved"] == config
    points = sw["points"]
    assert all(set(p) == POINT_KEYS for p in points)
    # the default (8 parts at once, ferry upload's), then each --connections; streams and
    # the part size are not an upload's to set
    assert [(p["default"], p["connections"], p["streams"], p["chunk_size"]) for p in points] == \
        [(True, 8, None, None), (False, 1, None, None), (False, 2, None, None)]
    for p in points:
        assert p["error"] is None and p["bytes"] > 0 and 0 < p["seconds"] <= 2
        assert p["mb_per_s"] == pytest.approx(p["bytes"] / p["seconds"] / 1e6, rel=1e-6)
        assert p["rounds"] >= 1 and p["errors"] == 0
    assert sw["best"] in (1, 2) and sw["limit"] and sw["verdict"]
    best = points[sw["best"]]
    assert sw["default_share_of_best"] == pytest.approx(points[0]["mb_per_s"] / best["mb_per_s"])
    check_scratch_gone(bench, hub, log)
    batches = [ln.path for ln in log.lines() if ln.path.endswith(".git/info/lfs/objects/batch")]
    assert len(batches) >= 3  # every point sent into the sweep's repo
    assert set(batches) == {f"/{fig['scratch_repo']}.git/info/lfs/objects/batch"}, batches

    with open(config) as f:
        saved = json.load(f)
    assert hub.token not in json.dumps(saved)
    assert saved["upload"]["connections"] == best["connections"]
    assert saved["upload"]["mb_per_s"] == pytest.approx(best["mb_per_s"])
    assert {k: saved[k] for k in kept} == kept  # the download's keys untouched
    env = json.loads(ferry(bench, "env", "--offline", "--json").stdout)["settings"]
    assert env["upload"]["connections"] == best["connections"] and env["download"] == download
    text = ferry(bench, "env", "--offline").stdout
    assert f"  upload: --connections {best['connections']} (saved at " in text, text

    # ferry upload sends that many parts at once; a flag still wins
    src = tmp_path / "weights.bin"
    src.write_bytes(b"\0" + os.urandom(MiB))
    repo = "demo/sweep-upload-target"
    up = ferry(bench, "upload", repo, src, "--json", env={"HF_TOKEN": hub.token})
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["parts_at_once"] == best["connections"]
    up = ferry(bench, "upload", repo, src, "--connections", "5", "--json",
               env={"HF_TOKEN": hub.token})
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["parts_at_once"] == 5


@pytest.mark.parametrize("flag", [["--streams", "1,2"], ["--chunk-size", "8M"]])
def test_upload_sweep_refuses_knobs_uploads_lack(bench, hub, log, flag):
    r = bench(*SWEEP, *flag, env={"HF_TOKEN": hub.token})
    assert r.returncode == EXIT_USAGE, r.describe()
    assert f"--upload --sweep varies --connections alone" in r.stderr and flag[0] in r.stderr
    assert log.lines() == []  # refused before any request


def test_plot_of_one_upload_run(bench, hub, tmp_path):
    path = tmp_path / "upload.png"
    r = bench("--upload", "--seconds", "2", "--plot", path, env={"HF_TOKEN": hub.token})
    assert r.returncode == 0, r.describe()
    assert f"plot            {path}" in r.stdout and png_size(path) == (1000, 600)
    assert 10_000 < os.path.getsize(path) < 5_000_000
    assert scratch_repos(hub) == []


def test_upload_sweep_ctrl_c_keeps_the_points_and_deletes_the_repos(bench, hub):
    """SIGINT during a point (after the default's run and stages): exit 130 with the points so
    far, and no scratch repo left, the one being sent into included."""
    fig = interrupted_sweep(*bench.interrupted_raw("--upload", "--sweep", "--connections",
                                                   "1,2,3,4", "--seconds", "2", "--json",
                                                   env={"HF_TOKEN": hub.token}, after=7), 5)
    assert fig["sweep"]["saved"] is None
    assert scratch_repos(hub) == [] and records(bench) == []


def test_a_bad_upload_setting_stops_ferry_upload(bench, hub, log, tmp_path):
    config = os.path.join(bench.hf_home, "ferry", "config.json")
    os.makedirs(os.path.dirname(config))
    with open(config, "w") as f:
        f.write('{"upload": {"connections": 0}}\n')
    src = tmp_path / "w.bin"
    src.write_bytes(b"\0" + os.urandom(1024))
    up = ferry(bench, "upload", "demo/sweep-upload-bad", src, env={"HF_TOKEN": hub.token})
    assert up.returncode == EXIT_USAGE, up.stderr
    assert config in up.stderr and '"upload"."connections"' in up.stderr
    assert log.lines() == []  # refused before any request


def test_a_killed_sweep_repo_is_deleted_by_the_next_sweep(bench, hub, log):
    repo = killed_bench(bench, hub, log, *SWEEP[:-1], "30")  # the sweep's one repo
    assert scratch_repos(hub) == [repo]
    r = bench("--upload", "--sweep", "--connections", "1", "--seconds", "1", "--json",
              env={"HF_TOKEN": hub.token})
    assert r.returncode == 0, r.describe()
    assert scratch_repos(hub) == [] and records(bench) == []


def test_upload_sweep_needs_a_write_token_before_anything_is_created(bench, hub, log):
    r = bench(*SWEEP, env={"HF_TOKEN": hub.tokens["demo-read"]})
    assert r.returncode == EXIT_AUTH, r.describe()
    lines = r.stderr.splitlines()
    assert r.stdout == "" and len(lines) == 1, r.describe()
    assert "ferry bench --upload needs a token with write access" in lines[0]
    assert "read-only" in lines[0]
    assert not [ln for ln in log.lines() if ln.method != "GET"] and records(bench) == []


def test_upload_sweep_to_a_url_makes_no_repo_and_sends_no_token(bench, hub, log):
    with recording_server(PutHandler) as base:
        r = bench("--upload", base + "/bucket/part", "--sweep", "--connections", "1,2",
                  "--seconds", "1", "--json", env={"HF_TOKEN": hub.token})
    assert r.returncode == 0, r.describe()
    sw = r.json["sweep"]
    assert [p["connections"] for p in sw["points"]] == [8, 1, 2] and sw["best"] in (1, 2)
    assert r.json["scratch_repo"] is None and log.lines() == []  # the hub never asked
    assert PutHandler.seen and not any(k.lower() == "authorization"
                                       for h, _, _ in PutHandler.seen for k in h)
