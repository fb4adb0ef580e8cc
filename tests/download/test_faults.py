"""The token stays on the hub; a corrupted CDN answer (or a regular file that does not match its
git blob id, from the fake hub) is fetched once more, then refused; a signed URL that expires
mid-download is resolved again; a 429 is waited out as long as the hub asks. Knobs are reset by
the hub_clean fixture."""
import math
import os

from dlhelpers import EXIT_CHECKSUM, EXIT_OK, cdn_gets, resolve_gets
from fakehub import COMMIT, fake_hub
from ferrytest import git_blob_id, read_bytes, sha256_bytes
from hubrun import ferry_env, run_download


def test_token_goes_only_to_the_hub(ferry, hub, tiny, log):
    token = hub.tokens["demo-read"]
    r = ferry("demo/tiny-model", "--token", token)
    assert r.returncode == EXIT_OK, r.describe()
    lines = log.lines()
    hub_lines = [ln for ln in lines if ln.origin == "hub"]
    cdn_lines = [ln for ln in lines if ln.origin == "cdn"]
    assert hub_lines and cdn_lines
    assert {ln.auth for ln in hub_lines} == {"yes"}, hub_lines
    assert {ln.auth for ln in cdn_lines} == {"no"}, cdn_lines
    assert token not in r.stdout + r.stderr


def weights_state(ferry, tiny):
    repo_dir = os.path.join(ferry.cache, tiny.folder)
    sha = tiny.by_path["model.safetensors"]["lfs"]["oid"]
    blob = os.path.join(repo_dir, "blobs", sha)
    pointer = os.path.join(repo_dir, "snapshots", tiny.commit, "model.safetensors")
    return blob, pointer


def test_corrupted_cdn_answers_are_refused(ferry, hub_clean, tiny, tmp_path, log):
    weights = tiny.by_path["model.safetensors"]
    hub_clean.knobs(cdn_fault={"mode": "corrupt", "offset": 123457})
    log.mark()
    r = ferry("demo/tiny-model", "model.safetensors")
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    blob, pointer = weights_state(ferry, tiny)
    assert not os.path.lexists(blob), "a corrupted blob was kept"
    assert not os.path.lexists(pointer), "a snapshot entry points at a corrupted blob"
    blobs = os.path.dirname(blob)
    assert not os.path.isdir(blobs) or os.listdir(blobs) == [], "refused bytes left in blobs/"
    # "fetched once more, then reported": one resolve and the whole file per try, two tries
    lines = log.lines()
    assert len(resolve_gets(lines, "model.safetensors")) == 2, lines
    sent = sum(ln.bytes_sent for ln in cdn_gets(lines, weights["lfs"]["oid"]))
    assert 2 * weights["size"] <= sent < 3 * weights["size"], sent

    local = tmp_path / "local"
    log.mark()
    r = ferry("demo/tiny-model", "model.safetensors", "--local-dir", local)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    assert not os.path.lexists(local / "model.safetensors")
    lines = log.lines()
    assert len(resolve_gets(lines, "model.safetensors")) == 2, lines
    sent = sum(ln.bytes_sent for ln in cdn_gets(lines, weights["lfs"]["oid"]))
    assert 2 * weights["size"] <= sent < 3 * weights["size"], sent


def test_corruption_on_the_first_request_only_is_refetched(ferry, hub_clean, tiny):
    # one connection: the first CDN request starts at byte 0, which is corrupted
    hub_clean.knobs(cdn_fault={"mode": "corrupt", "nth": 1, "offset": 0})
    r = ferry("demo/tiny-model", "model.safetensors", "--connections", "1", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    blob, pointer = weights_state(ferry, tiny)
    assert sha256_bytes(read_bytes(pointer)) == tiny.reference["model.safetensors"]
    assert os.path.realpath(pointer) == os.path.realpath(blob)


def test_signed_url_expiring_mid_download(ferry, hub_clean, tiny, log):
    hub_clean.knobs(url_lifetime=1)
    weights = tiny.by_path["model.safetensors"]
    # 32 MiB at 8 MiB/s on two connections (one request each at a time): about 4 s, so the
    # ranged requests after the first ones carry a URL older than its 1-second lifetime
    r = ferry("demo/tiny-model", "--limit-rate", "8M", "--connections", "2", "--streams", "1",
              "-q", timeout=90)
    assert r.returncode == EXIT_OK, r.describe()
    lines = log.lines()
    assert any(ln.status == 403 for ln in cdn_gets(lines)), "no URL expired: test too fast"
    assert len(resolve_gets(lines, "model.safetensors")) >= 2
    blob, pointer = weights_state(ferry, tiny)
    assert sha256_bytes(read_bytes(pointer)) == tiny.reference["model.safetensors"]
    # nothing fetched twice beyond the expired requests' bytes
    useful = sum(ln.bytes_sent for ln in cdn_gets(lines) if ln.status in (200, 206))
    assert useful < weights["size"] * 1.5


def rate_windows(lines, window):
    """The hub's fixed-window limiter (hubapp/app.py rate_limit) replayed on the access log:
    for each counted request, (line, end of the window it fell in)."""
    counted = sorted((ln for ln in lines if ln.origin == "hub" and not ln.path.startswith(
        ("/admin", "/api/lfs/complete"))), key=lambda ln: ln.time)
    start, out = None, []
    for ln in counted:
        if start is None or ln.time - start >= window:
            start = ln.time
        out.append((ln, start + window))
    return out


def check_waits(lines, window):
    """Each 429 is followed by the same request no earlier than the wait the hub advertised
    (Retry-After, and RateLimit t=: ceil of the seconds left in the window, at least 1); the log
    has milliseconds, and its times are request ends (the 5 ms). Returns the 429 lines."""
    counted = rate_windows(lines, window)
    refused = [(ln, end) for ln, end in counted if ln.status == 429]
    for ln, window_end in refused:
        advertised = max(1, math.ceil(window_end - ln.time - 0.005))
        retry = next((o for o, _ in counted if o.uri == ln.uri and o.time > ln.time), None)
        assert retry is not None, f"{ln} was never retried"
        assert retry.time - ln.time >= advertised - 0.01, \
            (f"retried {retry.time - ln.time:.3f}s after a 429 that said {advertised}s: "
             f"{[str(o) for o, _ in counted]}")
    # waiting as told, a request is refused once at most
    uris = [ln.uri for ln, _ in refused]
    assert len(uris) == len(set(uris)), uris
    return [ln for ln, _ in refused]


def test_rate_limited_api_waits_and_goes_on(ferry, hub_clean, tiny, log):
    # 7 requests (revision, tree, 5 resolves) against 4 per 2-second window: resolves get 429s
    hub_clean.knobs(rate_limit=4, rate_window=2)
    try:
        r = ferry("demo/tiny-model", "--token", hub_clean.tokens["demo-read"], "-q", timeout=90)
        assert r.returncode == EXIT_OK, r.describe()
        refused = check_waits(log.lines(), 2)
        assert refused, "the hub never answered 429"
        assert len(refused) <= len(tiny.entries), refused
        # 1 per 2-second window (another token, so a fresh window): the tree listing (an API
        # call, waited for in another place than the resolves) and then the resolve get a 429
        hub_clean.knobs(rate_limit=1)
        log.mark()
        one = ferry("demo/tiny-model", "config.json", "--token", hub_clean.tokens["alice"],
                    "--cache-dir", ferry.home / "other", "-q", timeout=90)
        assert one.returncode == EXIT_OK, one.describe()
        refused = check_waits(log.lines(), 2)
        assert ["/tree/" in ln.path for ln in refused] == [True, False], refused
    finally:
        hub_clean.knobs(rate_limit=0, rate_window=60)
    blob, pointer = weights_state(ferry, tiny)
    for path in tiny.by_path:
        assert sha256_bytes(read_bytes(os.path.join(os.path.dirname(pointer), path))) == \
            tiny.reference[path], path


def test_regular_file_not_matching_its_git_oid_is_refused(hub, tmp_path):
    """The CDN fault only touches LFS answers; a regular file is checked against the tree's git
    blob SHA-1 (fake hub: same size, other bytes), fetched once more, then reported (5)."""
    want, wrong = b"the bytes the tree names\n", b"the bytes the hub serves\n"
    assert len(want) == len(wrong)
    files = {"good.txt": b"good file\n", "bad.txt": want}
    with fake_hub(hub, "fault/repo", files, served={"bad.txt": wrong}) as fake:
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint})
        cache = tmp_path / "cache"
        r = run_download(["fault/repo", "--cache-dir", cache, "--cacert", hub.ca], env, timeout=30)
        assert r.returncode == EXIT_CHECKSUM, r.describe()
        assert git_blob_id(want) in r.stderr or "bad.txt" in r.stderr, r.stderr
        # fetched, refused, fetched once more, refused: two GETs, not one, not three
        assert len(fake.gets("/resolve/" + COMMIT + "/bad.txt")) == 2, fake.requests
        assert len(fake.gets("/resolve/" + COMMIT + "/good.txt")) == 1, fake.requests
        repo_dir = cache / "models--fault--repo"
        # nothing of bad.txt under blobs/ (no final blob, no leftover), no snapshot entry
        assert sorted(os.listdir(repo_dir / "blobs")) == [git_blob_id(files["good.txt"])]
        snap = repo_dir / "snapshots" / COMMIT
        assert not os.path.lexists(snap / "bad.txt")
        assert read_bytes(snap / "good.txt") == files["good.txt"]

        # the single-file form and --local-dir refuse it the same way
        r = run_download(["fault/repo", "bad.txt", "--cache-dir", cache, "--cacert", hub.ca],
                         env, timeout=30)
        assert r.returncode == EXIT_CHECKSUM, r.describe()
        assert len(fake.gets("/resolve/" + COMMIT + "/bad.txt")) == 4, fake.requests
        assert not os.path.lexists(snap / "bad.txt")
        assert sorted(os.listdir(repo_dir / "blobs")) == [git_blob_id(files["good.txt"])]
        local = tmp_path / "local"
        r = run_download(["fault/repo", "bad.txt", "--local-dir", local, "--cacert", hub.ca],
                         env, timeout=30)
        assert r.returncode == EXIT_CHECKSUM, r.describe()
        assert len(fake.gets("/resolve/" + COMMIT + "/bad.txt")) == 6, fake.requests
        assert not os.path.lexists(local / "bad.txt")
