"""The token stays on the hub; a corrupted CDN answer is detected; a signed URL that expires
mid-download is resolved again. Knobs are reset by the hub_clean fixture."""
import os

from dlhelpers import (EXIT_CHECKSUM, EXIT_OK, cdn_gets, read_bytes, resolve_gets,
                       sha256_bytes)


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
    # "after one re-fetch": the whole file came twice
    sent = sum(ln.bytes_sent for ln in cdn_gets(log.lines(), weights["lfs"]["oid"]))
    assert sent >= 2 * weights["size"], sent

    local = tmp_path / "local"
    r = ferry("demo/tiny-model", "model.safetensors", "--local-dir", local)
    assert r.returncode == EXIT_CHECKSUM, r.describe()
    assert not os.path.lexists(local / "model.safetensors")


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


def test_rate_limited_api_waits_and_goes_on(ferry, hub_clean, tiny, log):
    # 7 requests (revision, tree, 5 resolves) against 4 per 2-second window: 429s on the way
    hub_clean.knobs(rate_limit=4, rate_window=2)
    try:
        r = ferry("demo/tiny-model", "--token", hub_clean.tokens["demo-read"], "-q", timeout=90)
    finally:
        hub_clean.knobs(rate_limit=0, rate_window=60)
    assert r.returncode == EXIT_OK, r.describe()
    assert any(ln.status == 429 for ln in log.lines()), "the hub never answered 429"
    blob, pointer = weights_state(ferry, tiny)
    for path in tiny.by_path:
        assert sha256_bytes(read_bytes(os.path.join(os.path.dirname(pointer), path))) == \
            tiny.reference[path], path
