"""What `ferry download` does on the wire, read from the hub's access log (protocol, nginx's
connection serial number and the Range header of every request): many small files multiplex
over a few HTTP/2 connections, a large LFS file is fetched as ranges that tile it, and
huggingface_hub's `.locks/<repo>/<etag>.lock` files (held with flock) neither block ferry nor
get touched by it."""
import fcntl
import hashlib
import json
import os
import re
import subprocess
import uuid

from dlhelpers import EXIT_OK, cdn_gets, check_snapshot, etag_of, resolve_gets
from ferrytest import FERRY_BIN, TIMEOUT_SCALE, MiB
from hubrun import AccessLog, ferry_env, run_download

MAX_CONNECTIONS = 32         # README: the level in flight is laid out as connections first, up to 32
DEFAULT_CHUNK = 8 * MiB      # README: --chunk-size, largest ranged request (default 8M)


def test_many_small_files_multiplex_over_few_http2_connections(ferry, many, log):
    r = ferry("demo/many-files", "--repo-type", "dataset", "--json", timeout=60)
    assert r.returncode == EXIT_OK, r.describe()
    summary = json.loads(r.stdout)
    assert summary["ok"] is True and summary["files_downloaded"] == len(many.entries)
    check_snapshot(ferry.cache, "demo/many-files", "dataset", many.commit, many.entries,
                   many.reference)

    lines = log.lines()
    assert summary["requests"] == len(lines), "requests must count what the hub saw"
    files = resolve_gets(lines)
    assert len(files) == len(many.entries) >= 2000, len(files)
    # what ferry reports: a few connections for ~2,000 requests
    assert 1 <= summary["connections"] <= MAX_CONNECTIONS, summary["connections"]
    # what the hub saw: every request over HTTP/2, on at most that many connections
    protocols = {ln.protocol for ln in lines}
    assert protocols == {"HTTP/2.0"}, protocols
    per_connection = {}
    for ln in lines:
        per_connection[ln.connection] = per_connection.get(ln.connection, 0) + 1
    assert len(per_connection) <= min(summary["connections"], MAX_CONNECTIONS), per_connection
    # the connections are reused for dozens of requests each, not one per file
    assert len(lines) / len(per_connection) >= 50, per_connection


def parse_range(header):
    m = re.fullmatch(r"bytes=(\d+)-(\d+)", header or "")
    assert m, f"not a single closed byte range: {header!r}"
    return int(m.group(1)), int(m.group(2))


def check_ranges_tile(ranges, size):
    """The requested ranges (inclusive) cover [0, size) with no overlap other than what the
    engine documents: when a running request is split, it keeps its Range header but stops
    where the split starts the rest as a new request up to its current end (and a retry
    resumes the same way, from the bytes received). So any two ranges are disjoint or one
    holds the other, and each request stops at the first start of another one inside it: those
    pieces must tile the file exactly."""
    assert len(set(ranges)) == len(ranges), f"a range requested twice: {sorted(ranges)}"
    pieces = []
    for s, e in ranges:
        assert 0 <= s <= e < size, (s, e, size)
        stop = e + 1
        for s2, e2 in ranges:
            if (s2, e2) == (s, e) or e2 < s or s2 > e:
                continue  # itself, or disjoint
            inside = s <= s2 and e2 <= e
            assert inside or (s2 <= s and e <= e2), f"ranges {s}-{e} and {s2}-{e2} straddle"
            if inside and (s2 > s or e2 < e):
                stop = min(stop, s2)
        if stop > s:
            pieces.append((s, stop))
    pieces.sort()
    position = 0
    for s, stop in pieces:
        assert s == position, \
            f"{'gap' if s > position else 'overlap'} at byte {position}: pieces {pieces}"
        position = stop
    assert position == size, f"ranges end at {position}, the file has {size} bytes"


def test_large_file_is_fetched_as_ranges_that_tile_it(ferry, tiny, log, hub_clean):
    r = ferry("demo/tiny-model", "--json")
    assert r.returncode == EXIT_OK, r.describe()
    check_snapshot(ferry.cache, "demo/tiny-model", "model", tiny.commit, tiny.entries,
                   tiny.reference)

    weights = tiny.by_path["model.safetensors"]
    size, oid = weights["size"], weights["lfs"]["oid"]
    assert size >= 32 * MiB
    lines = log.lines()
    # no HEAD per file (sizes come from the tree), one resolve for the weights (its redirect
    # gives the CDN URL), then the ranges straight from the CDN
    assert [ln for ln in lines if ln.method == "HEAD"] == []
    resolves = resolve_gets(lines, "model.safetensors")
    assert [ln.status for ln in resolves] == [302], resolves
    cdn = cdn_gets(lines, oid)
    assert cdn, "the weights did not come from the CDN"
    assert [ln for ln in lines if ln.origin == "cdn" and oid not in ln.path] == []
    assert {ln.status for ln in cdn} == {206}, [(ln.status, ln.range) for ln in cdn]
    assert {ln.protocol for ln in cdn} == {"HTTP/2.0"}
    ranges = [parse_range(ln.range) for ln in cdn]
    # beside the probe, the other connections opened with a one-byte range each
    # (engine/src/warmup.c): not part of the file's ranges, and only at the CDN
    warm_ups = [r for r in ranges if r == (0, 0)]
    assert len(warm_ups) == 15, ranges  # 16 connections at the start, less the probe's
    ranges = [r for r in ranges if r != (0, 0)]
    assert len(set(ranges)) >= size // DEFAULT_CHUNK >= 4, ranges
    assert max(end + 1 - start for start, end in ranges) <= DEFAULT_CHUNK, ranges
    check_ranges_tile(ranges, size)
    # bytes on the wire (bodies plus a few hundred bytes of headers each): the file once, plus
    # little. A split request is reset at the split point, but what the server had already
    # sent within the HTTP/2 window is counted too (bytes_refetched), at most the rest of a
    # 1 MiB range here per split.
    sent = sum(ln.bytes_sent for ln in cdn)
    assert size <= sent < size * 1.1, sent


def test_a_small_file_first_leaves_the_warm_up_to_the_large_one(hub, tmp_path):
    """A probe that covers its whole file (its size is known from the tree) opens no other
    connection, and does not use up the origin's one warm-up (engine/src/warmup.c): the large
    file fetched from the same CDN in the same run still gets its connections opened beside
    its probe. Eight small LFS files come first in the tree, so their probes reach the CDN
    first."""
    home = tmp_path / "home"
    home.mkdir()
    env = ferry_env(hub, home, {"HF_TOKEN": hub.token, "SSL_CERT_FILE": hub.ca})
    folder = tmp_path / "up"
    folder.mkdir()
    for i in range(8):
        (folder / f"a-small-{i}.bin").write_bytes(os.urandom(256 * 1024))  # binary: LFS
    large = os.urandom(40 * MiB)
    (folder / "b-large.bin").write_bytes(large)
    repo = "demo/warm-" + uuid.uuid4().hex[:8]
    up = subprocess.run([FERRY_BIN, "upload", repo, str(folder), "--cacert", hub.ca, "-q"],
                        env=env, capture_output=True, text=True, timeout=120 * TIMEOUT_SCALE)
    assert up.returncode == 0, up.stderr
    log = AccessLog(hub.dir).mark()
    r = run_download([repo, "--cache-dir", tmp_path / "cache", "--cacert", hub.ca, "-v"], env,
                     timeout=120)
    assert r.returncode == 0, r.describe()
    snap = r.stdout.strip().splitlines()[-1]
    with open(os.path.join(snap, "b-large.bin"), "rb") as f:
        assert f.read() == large
    cdn = [ln for ln in cdn_gets(log.lines()) if ln.range]
    warm = [ln for ln in cdn if parse_range(ln.range) == (0, 0)]
    said = re.findall(r"warm-up: (\d+) connections opened beside the probe", r.stderr)
    assert len(said) == 1 and int(said[0]) == len(warm) >= 1, (said, [ln.range for ln in cdn])
    oid = hashlib.sha256(large).hexdigest()
    assert all(oid in ln.path for ln in warm), [ln.path for ln in warm]  # the large file's URL


def hf_lock_path(cache, folder, entry):
    """huggingface_hub's filelock: {cache}/.locks/{repo_folder}/{etag}.lock (hub-protocol.md
    sections 2.6 and 3.2)."""
    return os.path.join(cache, ".locks", folder, etag_of(entry) + ".lock")


def test_huggingface_hub_lock_files_are_not_needed_nor_touched(ferry, tiny):
    # huggingface_hub is downloading every file of the repo (the weights among them): it made
    # its lock files and holds them with flock for the whole run of ferry
    held = {}
    try:
        for entry in tiny.entries:
            path = hf_lock_path(ferry.cache, tiny.folder, entry)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held[path] = fd
        weights = hf_lock_path(ferry.cache, tiny.folder, tiny.by_path["model.safetensors"])
        assert weights in held
        before = {p: os.stat(p) for p in held}

        r = ferry("demo/tiny-model", "-q", timeout=30)
        assert r.returncode == EXIT_OK, r.describe()
        # a normal run takes well under a second; waiting for the flock would never end, and
        # taking the file over as a stale lock of ferry's would take 10 s
        assert r.seconds < 8 * TIMEOUT_SCALE, r.describe()
        check_snapshot(ferry.cache, "demo/tiny-model", "model", tiny.commit, tiny.entries,
                       tiny.reference)

        # the .lock files are as huggingface_hub left them: same inode, empty, not rewritten
        for path, st in before.items():
            now = os.stat(path)
            assert (now.st_ino, now.st_size, now.st_mtime_ns, now.st_mode) == \
                (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode), path
            # and the flock is still ours: another open file description cannot take it
            probe = os.open(path, os.O_RDONLY)
            try:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    raise AssertionError(f"{path} is no longer locked")
                except BlockingIOError:
                    pass
            finally:
                os.close(probe)
        # ferry's own locks are gone after a clean run; huggingface_hub's are all that is left
        left = sorted(os.listdir(os.path.join(ferry.cache, ".locks", tiny.folder)))
        assert left == sorted(os.path.basename(p) for p in held), left
    finally:
        for fd in held.values():
            os.close(fd)
