"""The cache tier (deploy/mirror) against the local hub: it serves the Hub's bytes for
commit-pinned paths only, to nodes holding its secret only, fetches each slice from the
origin once however many nodes ask, follows the CDN redirect itself (the Hub token to the Hub,
never to the CDN), and drops a slice a node purges."""
import glob
import hashlib
import http.client
import os
import ssl
import subprocess
import threading
import urllib.parse

import pytest

from conftest import SECRET, SLICE, TIER, commit_of, from_hub, start_tier, stop_tier
from hubrun import AccessLog

NODE = {"Authorization": "Bearer " + SECRET}


def fetch(tier, hub, path, headers=None, method="GET"):
    url = urllib.parse.urlsplit(tier.url)
    conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=60,
                                       context=ssl.create_default_context(cafile=hub.ca))
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def weights_path(hub):
    return f"/demo/tiny-model/resolve/{commit_of(hub, 'demo/tiny-model')}/model.safetensors"


def origin_slices(log):
    """Range headers of the CDN requests since the mark (what the origin served)."""
    return [line.range for line in log.lines() if line.origin == "cdn" and line.method == "GET"]


def test_only_the_cluster_s_nodes(tier, hub):
    path = weights_path(hub)
    log = AccessLog(hub.dir).mark()
    for headers in ({}, {"Authorization": "Bearer wrong-secret-123456"},
                    {"Authorization": "Bearer " + hub.token}):
        status, _, body = fetch(tier, hub, path, headers)
        assert status == 403, (headers, status)
        assert b"cluster" in body
    assert log.lines() == []  # nothing reached the origin


@pytest.mark.parametrize("revision", ["main", "v1.0", "0123abc"])
def test_moving_names_are_refused(tier, hub, revision):
    status, _, body = fetch(tier, hub, f"/demo/tiny-model/resolve/{revision}/config.json", NODE)
    assert status == 403
    assert b"commit-pinned" in body


def test_the_hub_s_bytes_each_slice_fetched_once(tier, hub):
    path = weights_path(hub)
    expected = from_hub(hub, path)
    log = AccessLog(hub.dir).mark()
    status, headers, body = fetch(tier, hub, path, NODE)
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()
    assert headers["X-Ferry-Mirror-Slice"] == str(SLICE)
    slices = len(expected) // SLICE + (len(expected) % SLICE > 0)
    first = origin_slices(log)
    assert sorted(first) == sorted(f"bytes={i * SLICE}-{(i + 1) * SLICE - 1}"
                                   for i in range(slices))
    # again, whole and ranged (across a slice boundary): from the cache only
    log.mark()
    assert fetch(tier, hub, path, NODE)[2] == expected
    start, end = SLICE - 100, 3 * SLICE + 100
    status, headers, part = fetch(tier, hub, path, dict(NODE, Range=f"bytes={start}-{end}"))
    assert status == 206 and part == expected[start:end + 1]
    assert origin_slices(log) == []


def test_slices_after_a_cached_one_are_the_right_bytes(tier, hub):
    """A node's range whose first slice is cached and whose next slices are not: each of those
    is fetched from the origin with its own range and served as itself. (With the CDN redirect
    followed in the cached location, a slice's subrequest lost its range there: the origin sent
    the file from byte 0, stored under a key later misses hit, and nodes got wrong bytes.)"""
    path = weights_path(hub)
    expected = from_hub(hub, path)
    assert len(expected) >= 6 * SLICE
    log = AccessLog(hub.dir).mark()
    status, _, part = fetch(tier, hub, path, dict(NODE, Range=f"bytes=0-{SLICE - 1}"))
    assert status == 206 and part == expected[:SLICE]
    for start, end in ((100, 3 * SLICE + 100), (SLICE + 7, 5 * SLICE - 1), (0, 6 * SLICE - 1)):
        status, _, part = fetch(tier, hub, path, dict(NODE, Range=f"bytes={start}-{end}"))
        assert status == 206 and part == expected[start:end + 1], (start, end)
    served = origin_slices(log)
    assert sorted(served) == sorted(f"bytes={i * SLICE}-{(i + 1) * SLICE - 1}" for i in range(6))


@pytest.mark.parametrize("keep", [True, False], ids=["with --cdn", "without"])
def test_connections_to_the_cdn_kept_open_with_cdn(tmp_path, hub, dns, keep):
    """--cdn: the relay's fetches from the CDN host go over connections kept open between
    slices (in the cluster bench each cold slice paid a TCP and TLS handshake and a slow start
    on the origin's link), with the right bytes and the CDN's own Host and certificate name.
    Without it each slice opens a connection of its own (the CDN's log names nginx's
    connection serial number)."""
    extra = ("--cdn", hub.state["cdn_endpoint"]) if keep else ()
    t = start_tier(str(tmp_path / "t"), hub, dns, *extra)
    try:
        path = weights_path(hub)
        expected = from_hub(hub, path)
        log = AccessLog(hub.dir).mark()
        status, _, body = fetch(t, hub, path, NODE)
        assert status == 200 and body == expected
        slices = len(expected) // SLICE + (len(expected) % SLICE > 0)
        cdn = [line for line in log.lines() if line.origin == "cdn" and line.method == "GET"]
        assert len(cdn) == slices and all(line.status == 206 for line in cdn), cdn
        connections = {line.connection for line in cdn}
        assert len(connections) == (1 if keep else slices), [line.connection for line in cdn]
    finally:
        stop_tier(t)


def test_cdn_must_be_an_origin(tmp_path, hub, dns):
    for bad in ("http://cdn.example", "https://cdn.example/path", "https://", "cdn.example"):
        with pytest.raises(AssertionError, match="--cdn must be an https:// origin"):
            start_tier(str(tmp_path / "t"), hub, dns, "--cdn", bad)


def test_small_files_too(tier, hub):
    path = f"/demo/tiny-model/resolve/{commit_of(hub, 'demo/tiny-model')}/config.json"
    expected = from_hub(hub, path)
    for _ in range(2):
        status, _, body = fetch(tier, hub, path, NODE)
        assert status == 200 and body == expected


def test_many_nodes_at_once_one_origin_fetch(tier, hub):
    path = weights_path(hub)
    expected = from_hub(hub, path)
    log = AccessLog(hub.dir).mark()
    bodies = [None] * 8

    def node(i):
        bodies[i] = fetch(tier, hub, path, NODE)[2]

    threads = [threading.Thread(target=node, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(b == expected for b in bodies)
    served = origin_slices(log)
    assert len(served) == len(set(served)) == len(expected) // SLICE  # each slice once


def test_hub_token_to_the_hub_only(tier, hub):
    """The tier's own token opens a private repo; the CDN never sees it; the node's secret
    never leaves the tier."""
    commit = commit_of(hub, "demo/private-model")
    log = AccessLog(hub.dir).mark()
    status, _, body = fetch(tier, hub, f"/demo/private-model/resolve/{commit}/secret.txt", NODE)
    assert status == 200 and b"only demo" in body
    fetch(tier, hub, weights_path(hub), NODE)
    lines = log.lines()
    assert [line.auth for line in lines if line.origin == "hub" and "/resolve/" in line.uri]
    assert all(line.auth == "yes" for line in lines if line.origin == "hub"
               and "/resolve/" in line.uri)
    assert all(line.auth == "no" for line in lines if line.origin == "cdn")
    with open(os.path.join(hub.dir, "logs", "user-agent.log")) as f:
        assert SECRET not in f.read()


def test_a_purged_slice_is_fetched_again(tier, hub):
    """A corrupted cache entry is served as it is (the tier cannot know); the node that finds
    the file wrong purges its slices, and the next fetch has the Hub's bytes again."""
    path = weights_path(hub)
    expected = from_hub(hub, path)
    assert fetch(tier, hub, path, NODE)[2] == expected
    entries = glob.glob(os.path.join(tier.dir, "cache", "*", "*", "*"))
    assert len(entries) == len(expected) // SLICE
    for entry in entries:  # the last byte of every entry is the last byte of a slice's body
        with open(entry, "r+b") as f:
            f.seek(-1, os.SEEK_END)
            byte = f.read(1)
            f.seek(-1, os.SEEK_END)
            f.write(bytes([byte[0] ^ 0xFF]))
    assert fetch(tier, hub, path, NODE)[2] != expected
    log = AccessLog(hub.dir).mark()
    for i in range(len(expected) // SLICE):
        status, _, _ = fetch(tier, hub, "/_purge" + path,
                             dict(NODE, Range=f"bytes={i * SLICE}-"), method="PURGE")
        assert status == 200, i
    status, _, _ = fetch(tier, hub, "/_purge" + path, dict(NODE, Range="bytes=0-"),
                         method="PURGE")
    assert status == 404  # already gone
    assert fetch(tier, hub, "/_purge" + path, {"Range": "bytes=0-"}, method="PURGE")[0] == 403
    assert fetch(tier, hub, path, NODE)[2] == expected
    assert len(origin_slices(log)) == len(expected) // SLICE


@pytest.mark.parametrize("change,says", [
    (["--hub", "http://localhost:1"], "https://"),
    (["--max-size", "10 g"], "--max-size"),
    (["--slice", "1m; evil"], "--slice"),
])
def test_bad_settings_are_refused(tmp_path, hub, change, says):
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    args = {"--hub": hub.endpoint, "--secret-file": str(secret), "--cert": "c", "--key": "k"}
    args.update(dict(zip(change[::2], change[1::2])))
    r = subprocess.run([TIER, "render", "--dir", str(tmp_path)] +
                       [x for kv in args.items() for x in kv], capture_output=True, text=True)
    assert r.returncode == 2 and says in r.stderr, r.stderr


def test_a_state_folder_too_long_for_the_relay_socket_is_refused(tmp_path, hub):
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    deep = tmp_path / ("d" * 120)
    r = subprocess.run([TIER, "render", "--dir", str(deep), "--hub", hub.endpoint,
                        "--secret-file", str(secret), "--cert", "c", "--key", "k"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "relay's socket" in r.stderr, r.stderr


def test_a_secret_that_would_break_the_config_is_refused(tmp_path, hub):
    secret = tmp_path / "secret"
    secret.write_text('abc"; return 200; #')
    r = subprocess.run([TIER, "render", "--dir", str(tmp_path), "--hub", hub.endpoint,
                        "--secret-file", str(secret), "--cert", "c", "--key", "k"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "must be" in r.stderr, r.stderr


def test_the_config_holding_secrets_is_private(tier):
    assert os.stat(os.path.join(tier.dir, "nginx.conf")).st_mode & 0o077 == 0
