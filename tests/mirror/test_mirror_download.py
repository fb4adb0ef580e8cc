"""`ferry download` with a mirror (FERRY_MIRROR): file bodies from the cluster's cache tier,
the Hub after it. Every file is verified as always: a tier that is gone, hangs, answers 404,
or serves a wrong copy costs time or bytes, never a wrong file; the Hub token never reaches
the mirror."""
import glob
import hashlib
import os
import signal
import subprocess
import time

import pytest

from conftest import SECRET, start_tier, stop_tier
from fakemirror import Mirror, SilentMirror
from hubrun import AccessLog, HubEnv, run_download, wait_until
from serving import serving

REPO = "demo/tiny-model"


def node(hub, home, mirror=None, token=None, extra=None):
    """One cluster node's environment: its own cache; no Hub token unless given."""
    env = HubEnv(hub, home).env_with(dict(extra or {}), drop=("HF_TOKEN",))
    if mirror:
        env["FERRY_MIRROR"] = mirror
        env["FERRY_MIRROR_TOKEN"] = SECRET
    if token:
        env["HF_TOKEN"] = token
    return env


def download(hub, env, *args, timeout=90):
    r = run_download([REPO, "--cacert", hub.ca, "--json", *args], env, timeout)
    return r


def assert_snapshot(env, commit, expected):
    snap = os.path.join(env["HF_HOME"], "hub", "models--demo--tiny-model", "snapshots", commit)
    for path, body in expected.items():
        with open(os.path.join(snap, path), "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(body).digest(), path
    assert not glob.glob(os.path.join(env["HF_HOME"], "hub", "**", "*.incomplete"),
                         recursive=True)


def direct_resolves(lines):
    """The node's own file requests to the Hub (the tier's carry its token, nodes here none)."""
    return [x for x in lines if x.origin == "hub" and "/resolve/" in x.uri and x.auth == "no"]


def test_a_cluster_fetches_each_byte_from_the_origin_once(tmp_path, hub, dns, reference):
    commit, expected = reference
    tier = start_tier(str(tmp_path / "t"), hub, dns)
    try:
        log = AccessLog(hub.dir).mark()
        for n in range(3):
            env = node(hub, tmp_path / f"node{n}", tier.url)
            r = download(hub, env)
            assert r.returncode == 0, r.describe()
            assert "mirror" not in r.stderr, r.stderr  # nothing to report
            assert_snapshot(env, commit, expected)
        lines = log.lines()
        assert direct_resolves(lines) == []  # every body came through the tier
        origin = sum(x.bytes_sent for x in lines if x.origin == "cdn")
        lfs = sum(len(b) for p, b in expected.items() if p.endswith(".safetensors"))
        assert lfs <= origin <= 1.1 * lfs, (origin, lfs)  # 1.0x the file, for three nodes
        assert any(f[5] == "HIT" for f in tier.access_log())
    finally:
        stop_tier(tier)


def test_requests_cover_whole_slices(tmp_path, hub, dns, reference):
    """The tier announces its slice size (X-Ferry-Mirror-Slice): every range a node asks for
    starts and ends on a slice boundary or the file's end, so a cold slice is fetched from the
    origin for one request and no request waits on another's cache lock (nginx polls a lock
    every 500 ms). With 1 MiB requests on 2 MiB slices, half the requests waited."""
    commit, expected = reference
    size = len(expected["model.safetensors"])
    slice_bytes = 2 << 20
    tier = start_tier(str(tmp_path / "t"), hub, dns, "--slice", "2m")
    try:
        env = node(hub, tmp_path / "n", tier.url)
        r = download(hub, env, "-v")
        assert r.returncode == 0, r.describe()
        assert "stores files in slices of 2048 KiB" in r.stderr, r.stderr[-3000:]
        assert_snapshot(env, commit, expected)
        ranges = [f[7] for f in tier.access_log()
                  if f[1] == "GET" and f[2].endswith("/model.safetensors")]
        ranges = [x for x in ranges if x != "bytes=0-0"]  # the first answer's probe
        assert len(ranges) >= 2, ranges
        for x in ranges:
            first, last = (int(v) for v in x[len("bytes="):].split("-"))
            assert first % slice_bytes == 0, ranges
            assert (last + 1) % slice_bytes == 0 or last + 1 == size, ranges
    finally:
        stop_tier(tier)


def test_the_hub_token_never_reaches_the_mirror_and_404_falls_back(tmp_path, hub, reference):
    commit, expected = reference
    mirror = Mirror(os.path.join(hub.dir, "tls", "server.pem"),
                    os.path.join(hub.dir, "tls", "server.key"))
    with serving(mirror):
        env = node(hub, tmp_path / "n", mirror.url, token=hub.token)
        r = download(hub, env)
        assert r.returncode == 0, r.describe()
        assert_snapshot(env, commit, expected)
    assert {path for _, path, _ in mirror.seen} == {f"/{REPO}/resolve/{commit}/{p}"
                                                    for p in expected}
    assert {auth for _, _, auth in mirror.seen} == {"Bearer " + SECRET}
    assert hub.token not in r.stderr + r.stdout


def test_a_hanging_mirror_is_dropped_after_seconds_with_one_notice(tmp_path, hub, reference):
    commit, expected = reference
    silent = SilentMirror()
    try:
        env = node(hub, tmp_path / "n", silent.url)
        r = download(hub, env)
    finally:
        silent.close()
    assert r.returncode == 0, r.describe()
    assert_snapshot(env, commit, expected)
    assert r.stderr.count("using the Hub for the rest of this run") == 1, r.stderr
    assert r.seconds < 30, r.seconds  # a few seconds of connect timeout, not libcurl's 300


def test_a_mirror_refused_is_dropped(tmp_path, hub, reference):
    commit, expected = reference
    s = __import__("socket").socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    env = node(hub, tmp_path / "n", f"https://127.0.0.1:{port}")
    r = download(hub, env)
    assert r.returncode == 0, r.describe()
    assert_snapshot(env, commit, expected)
    assert r.stderr.count("using the Hub for the rest of this run") == 1, r.stderr


def test_a_wrong_copy_is_purged_and_never_kept(tmp_path, hub, dns, reference):
    commit, expected = reference
    tier = start_tier(str(tmp_path / "t"), hub, dns)
    try:
        first = node(hub, tmp_path / "a", tier.url)
        assert download(hub, first).returncode == 0
        for entry in glob.glob(os.path.join(tier.dir, "cache", "*", "*", "*")):
            with open(entry, "r+b") as f:  # a flipped last byte: a slice's last body byte
                f.seek(-1, os.SEEK_END)
                byte = f.read(1)
                f.seek(-1, os.SEEK_END)
                f.write(bytes([byte[0] ^ 0x5A]))
        second = node(hub, tmp_path / "b", tier.url)
        r = download(hub, second)
        assert r.returncode == 0, r.describe()
        assert_snapshot(second, commit, expected)
        assert "served a wrong copy of model.safetensors" in r.stderr, r.stderr
        assert "purged model.safetensors" in r.stderr, r.stderr
        purges = [f for f in tier.access_log() if f[1] == "PURGE"]
        assert purges and all(f[3] == "200" for f in purges), purges
        third = node(hub, tmp_path / "c", tier.url)  # the next node gets a good copy again
        r = download(hub, third)
        assert r.returncode == 0, r.describe()
        assert "wrong copy" not in r.stderr, r.stderr
        assert_snapshot(third, commit, expected)
    finally:
        stop_tier(tier)


def test_the_tier_killed_mid_run_every_node_finishes_from_the_hub(tmp_path, hub, dns, reference,
                                                                   ferry_bin):
    commit, expected = reference
    tier = start_tier(str(tmp_path / "t"), hub, dns)
    env = node(hub, tmp_path / "n", tier.url)
    p = subprocess.Popen([ferry_bin, "download", REPO, "--cacert", hub.ca, "--limit-rate", "1M"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: glob.glob(os.path.join(env["HF_HOME"], "hub", "**", "*.incomplete"),
                                     recursive=True), "a partial file", process=p)
        time.sleep(1)
    finally:
        for pid in [tier.pid] + [int(x) for x in subprocess.run(
                ["pgrep", "-P", str(tier.pid)], capture_output=True, text=True).stdout.split()]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert_snapshot(env, commit, expected)
    assert "using the Hub for the rest of this run" in err, err


def test_a_resume_may_switch_source(tmp_path, hub, reference, ferry_bin):
    """Killed while the mirror (its own ETag) was serving; run again without it: the Hub's copy
    (another ETag) continues the same partial file instead of starting over."""
    commit, expected = reference
    weights = f"/{REPO}/resolve/{commit}/model.safetensors"
    size = len(expected["model.safetensors"])
    mirror = Mirror(os.path.join(hub.dir, "tls", "server.pem"),
                    os.path.join(hub.dir, "tls", "server.key"),
                    files={weights: expected["model.safetensors"]}, rate=256 << 10)
    env = node(hub, tmp_path / "n", mirror.url)
    with serving(mirror):
        p = subprocess.Popen([ferry_bin, "download", REPO,
                              "model.safetensors", "--cacert", hub.ca, "--connections", "1",
                              "--streams", "1"],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        journal = os.path.join(env["HF_HOME"], "hub", "models--demo--tiny-model", "blobs")
        wait_until(lambda: glob.glob(os.path.join(journal, "*.journal")), "a journal",
                   timeout=60, process=p)
        time.sleep(3)  # ~750 KiB at the mirror's rate; partial blocks are journaled each 0.5 s
        p.kill()
        p.wait()
    del env["FERRY_MIRROR"]
    r = download(hub, env, "model.safetensors")
    assert r.returncode == 0, r.describe()
    assert "starting over" not in r.stderr, r.stderr
    assert r.json["bytes_downloaded"] < size, r.json  # the mirror's bytes were kept
    assert_snapshot(env, commit, {"model.safetensors": expected["model.safetensors"]})


def test_a_secret_only_over_https(tmp_path, hub):
    env = node(hub, tmp_path / "n", "http://127.0.0.1:9")
    r = download(hub, env)
    assert r.returncode == 2, r.describe()
    assert "only over HTTPS" in r.stderr


def test_bench_measures_the_tier(tmp_path, hub, dns, reference, ferry_bin):
    """`ferry bench REPO --mirror URL`: the file comes from the tier at the Hub's commit, with
    the tier's secret, verified as always."""
    commit, expected = reference
    tier = start_tier(str(tmp_path / "t"), hub, dns)
    try:
        env = node(hub, tmp_path / "n")  # no Hub token: its own file requests would show
        log = AccessLog(hub.dir).mark()
        r = subprocess.run([ferry_bin, "bench", REPO, "--mirror", tier.url, "--to", "null",
                            "--seconds", "2", "--cacert", hub.ca, "--json"],
                           env=dict(env, FERRY_MIRROR_TOKEN=SECRET), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out = __import__("json").loads(r.stdout)
        assert out["mirror"] == tier.url + "/" and out["bytes"] > 0, out
        assert any(f[2].endswith(f"/resolve/{commit}/model.safetensors") and f[3] in ("200", "206")
                   for f in tier.access_log())
        # the node asked the Hub only for the listing; the tier's requests carry its token
        assert direct_resolves(log.lines()) == []
        bad = subprocess.run([ferry_bin, "bench", "https://127.0.0.1:9/x", "--mirror", tier.url],
                             env=env, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "--mirror goes with a repo target" in bad.stderr, bad.stderr
    finally:
        stop_tier(tier)
