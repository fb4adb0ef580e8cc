"""Faults on upload targets (hub knob upload_fault): 5xx on some parts, a connection reset mid-part,
5xx on a basic PUT, a target that always fails, signed URLs that expire during the upload.
Either the upload completes with the right content, or it fails with a clear error."""
from ferrytest import MiB
from uphelpers import (EXIT_HTTP, binary_blob, commits, completions, json_summary, ok, part_of,
                       served_files, upload_puts, write_tree)

PARTS = 6


def checkpoint(tag):
    return {"README.md": b"# faults\n",
            "model.bin": binary_blob(PARTS * MiB, "faults-" + tag),  # tag: one per test
            "small.bin": binary_blob(3000, "small-" + tag)}


def failed_then_retried(lines, statuses):
    """Every upload target that got one of statuses was PUT again and accepted."""
    puts = upload_puts(lines)
    failed = [ln for ln in puts if ln.status in statuses]
    for bad in failed:
        target = part_of(bad)
        assert any(part_of(ln) == target and 200 <= ln.status < 300 and ln.time >= bad.time
                   for ln in puts), f"{target} not retried after {bad}"
    return failed


def test_5xx_on_some_parts(hub, up, knobs, log, repo_id, tmp_path):
    files = checkpoint("5xx")
    knobs(upload_fault={"mode": "status", "status": 500, "nth": [2, 4]})
    s = json_summary(ok(up(repo_id, write_tree(tmp_path / "f", files), "--json")))
    failed = failed_then_retried(log.lines(), {500})
    assert len(failed) == 2, failed
    assert s["parts_retried"] >= 1, s
    assert served_files(hub, repo_id) == files


def test_503_on_a_basic_put(hub, up, knobs, log, repo_id, tmp_path):
    files = {"README.md": b"# basic\n", "small.bin": binary_blob(3000, "basic-503")}
    knobs(upload_fault={"mode": "status", "status": 503, "nth": [1]})
    ok(up(repo_id, write_tree(tmp_path / "f", files)))
    assert len(failed_then_retried(log.lines(), {503})) == 1
    assert served_files(hub, repo_id) == files


def test_reset_mid_part(hub, up, knobs, log, repo_id, tmp_path):
    files = checkpoint("reset")
    knobs(upload_fault={"mode": "reset", "nth": [3]})
    ok(up(repo_id, write_tree(tmp_path / "f", files)))
    lines = log.lines()
    puts = upload_puts(lines)
    # the reset request is logged by nginx with a non-2xx status (444/499/502); every part
    # still ends accepted
    accepted = {part_of(ln) for ln in puts if 200 <= ln.status < 300}
    assert len([t for t in accepted if t[1] != "basic"]) == PARTS, puts
    assert len(puts) > PARTS + 1, "no part was re-sent after the reset"
    assert served_files(hub, repo_id) == files


def test_target_that_always_fails(hub, up, knobs, repo_id, tmp_path):
    files = checkpoint("always")
    folder = write_tree(tmp_path / "f", files)
    ok(up(repo_id, write_tree(tmp_path / "card", {"README.md": b"# faults\n"})))
    history = commits(hub, repo_id)
    # Retry-After: 0 keeps the retries quick (without it the backoff takes ~40 s here)
    knobs(upload_fault={"mode": "status", "status": 500, "retry_after": 0})
    r = up(repo_id, folder, "--json", timeout=150)
    assert r.returncode == EXIT_HTTP, r.describe()
    s = json_summary(r)
    assert s["ok"] is False and s["error"]["http_status"] == 500, s
    assert s["error"]["message"], s
    assert commits(hub, repo_id) == history, "a commit was made without the data"


def test_ratelimit_reset_on_a_part_is_honoured(hub, up, knobs, log, repo_id, tmp_path):
    """A part's 429 with the Hub's RateLimit header (no Retry-After): its reset is the wait,
    as for a file's requests and API calls (one retry policy), said on stderr."""
    files = checkpoint("ratelimit")
    knobs(upload_fault={"mode": "status", "status": 429, "nth": [2], "ratelimit_reset": 2})
    r = ok(up(repo_id, write_tree(tmp_path / "f", files)))
    assert "the server asks to wait 2 s" in r.stderr, r.describe()
    assert len(failed_then_retried(log.lines(), {429})) == 1
    assert served_files(hub, repo_id) == files


def test_ratelimit_reset_over_the_cap_fails_a_part_at_once(hub, up, knobs, log, repo_id,
                                                           tmp_path):
    files = checkpoint("ratelimit-cap")
    knobs(upload_fault={"mode": "status", "status": 429, "ratelimit_reset": 99999})
    r = up(repo_id, write_tree(tmp_path / "f", files))
    assert r.returncode == EXIT_HTTP, r.describe()
    assert "99999" in r.stderr and "120" in r.stderr, r.describe()
    refused = [ln for ln in upload_puts(log.lines()) if ln.status == 429]
    assert refused and len(refused) == len({part_of(ln) for ln in refused}), refused  # none again


def test_urls_expire_during_the_upload(hub, up, knobs, log, repo_id, tmp_path):
    """Signed URLs valid 2 s, one part held 4 s: later parts and the completion meet expired
    URLs (403). ferry may get a fresh batch and finish, or stop with a clear error."""
    files = checkpoint("expire")
    folder = write_tree(tmp_path / "f", files)
    knobs(url_lifetime=2, upload_fault={"mode": "stall", "stall_seconds": 4, "nth": [2]})
    r = up(repo_id, folder, "--json", timeout=120)
    lines = log.lines()
    if r.returncode == 0:
        assert served_files(hub, repo_id) == files
    else:
        s = json_summary(r)
        assert s["error"]["http_status"] == 403 or "expire" in s["error"]["message"].lower(), s
    expired = [ln for ln in upload_puts(lines) + completions(lines) if ln.status == 403]
    assert expired or r.returncode == 0, lines
