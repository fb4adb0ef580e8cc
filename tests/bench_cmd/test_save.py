"""`ferry bench --sweep --save` (issue 15): the best setting goes into $HF_HOME/ferry/config.json
(no secret in it), `ferry env` shows it, and `ferry get` and `ferry download` start from it
(the concurrency controller's start, in -v; pinned flags seen from the hub's side), while a
flag still wins; a broken file is an error naming it, and --save needs --sweep."""
import json
import os
import subprocess

from ferrytest import FERRY_BIN
from test_bench import EXIT_USAGE, MiB


def ferry(bench, *args):
    return subprocess.run([FERRY_BIN, *[str(a) for a in args]], env=bench.env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def file_requests(log):
    """The CDN's ranged GETs of the weights: (nginx connection serials, request sizes). A
    connection warm-up beside the probe (one byte, engine/src/warmup.c) counts its
    connection, not as a request of the file."""
    conns, sizes = set(), []
    for ln in log.lines():
        if ln.origin == "cdn" and ln.method == "GET" and ln.range and ln.range != "-":
            a, b = ln.range[len("bytes="):].split("-")
            conns.add(ln.connection)
            if ln.range != "bytes=0-0":
                sizes.append(int(b) - int(a) + 1)
    assert sizes, "no ranged request reached the CDN"
    return conns, sizes


def settings_path(bench):
    return os.path.join(bench.hf_home, "ferry", "config.json")


def test_save_is_what_env_shows_and_get_and_download_use(bench, hub, log, tmp_path):
    before = json.loads(ferry(bench, "env", "--offline", "--json").stdout)["settings"]
    assert before["found"] is False and before["download"] is None
    assert before["path"] == settings_path(bench)
    r = bench("demo/tiny-model", "--to", "null", "--sweep", "--connections", "1",
              "--streams", "1", "--chunk-size", "2M", "--seconds", "1", "--save", "--json",
              env={"HF_TOKEN": hub.token}, timeout=120)
    assert r.returncode == 0, r.describe()
    assert r.json["sweep"]["saved"] == settings_path(bench)
    with open(settings_path(bench)) as f:
        text = f.read()
    assert hub.token not in text
    saved = json.loads(text)
    assert saved["download"] == {"connections": 1, "streams": 1, "chunk_size": 2 * MiB}
    assert saved["saved_by"] == "ferry bench --sweep" and "upload" not in saved
    env = ferry(bench, "env", "--offline", "--json")
    assert json.loads(env.stdout)["settings"]["download"] == saved["download"]
    env = ferry(bench, "env", "--offline")
    assert "  download: --connections 1 --streams 1 --chunk-size 2M" in env.stdout, env.stdout

    # download: the concurrency controller starts from the saved point (1 x 1, and 2 MiB
    # requests until the file's requests show a rate: its first request, the probe, is one);
    # it is free to move from there, so what is checked is the start
    log.mark()
    d = ferry(bench, "download", "demo/tiny-model", "model.safetensors", "--cache-dir",
              tmp_path / "c1", "-v")
    assert d.returncode == 0, d.stderr
    assert "concurrency: adaptive: 1 requests in flight (1 connections x 1 streams)" in d.stderr
    conns, sizes = file_requests(log)
    assert sizes[0] == 2 * MiB, sizes  # without the setting: 1 MiB
    # a flag pins its value; the saved ones are still where the rest starts
    log.mark()
    d = ferry(bench, "download", "demo/tiny-model", "model.safetensors", "--cache-dir",
              tmp_path / "c2", "--connections", "2", "-v")
    assert d.returncode == 0, d.stderr
    assert "concurrency: adaptive: 2 requests in flight (2 connections x 1 streams)" in d.stderr
    conns, sizes = file_requests(log)
    # pinned to 2: never more (a small file may not need the second)
    assert 1 <= len(conns) <= 2 and sizes[0] == 2 * MiB, (conns, sizes)
    # get: the same start
    url = f"{hub.state['endpoint']}/demo/tiny-model/resolve/main/model.safetensors"
    log.mark()
    g = ferry(bench, "get", url, "-o", tmp_path / "w1", "-v")
    assert g.returncode == 0, g.stderr
    assert "concurrency: adaptive: 1 requests in flight" in g.stderr
    conns, sizes = file_requests(log)
    assert sizes[0] == 2 * MiB, sizes
    log.mark()
    g = ferry(bench, "get", url, "-o", tmp_path / "w2", "-q", "--chunk-size", "4M")
    assert g.returncode == 0, g.stderr
    conns, sizes = file_requests(log)
    assert max(sizes) == 4 * MiB, (conns, sizes)  # a flag: every request as given


def test_a_broken_settings_file_is_named(bench, tmp_path):
    os.makedirs(os.path.dirname(settings_path(bench)))
    with open(settings_path(bench), "w") as f:
        f.write('{"download": {"connections": 0}}\n')
    d = ferry(bench, "download", "demo/tiny-model", "config.json", "--cache-dir", tmp_path / "c")
    assert d.returncode == EXIT_USAGE, d.stderr
    assert settings_path(bench) in d.stderr and '"connections"' in d.stderr
    assert not os.path.exists(tmp_path / "c")  # refused before anything was fetched
    env = ferry(bench, "env", "--offline")
    assert env.returncode == 0 and "(unreadable: " in env.stdout
    with open(settings_path(bench), "w") as f:
        f.write("not json")
    g = ferry(bench, "get", "https://127.0.0.1:9/x", "-o", tmp_path / "x")
    assert g.returncode == EXIT_USAGE and "not a JSON object" in g.stderr, g.stderr


def test_save_needs_a_sweep(bench):
    r = bench("demo/tiny-model", "--save")
    assert r.returncode == EXIT_USAGE and "--save goes with --sweep" in r.stderr
    assert not os.path.exists(settings_path(bench))
