"""kill -9, Ctrl-C and SIGTERM in the middle of a multipart upload, then the same command again:
parts the server accepted before the crash are not sent again (counted per part number in the
hub's access log), and the result is right. The hub's upload_fault `stall` holds every part
after the first few (as a slow uplink would), so the signal lands mid-upload for sure."""
import json
import os
import signal
import time

from ferrytest import TIMEOUT_SCALE, MiB, sha256_bytes
from hubrun import stop_process, wait_until
from uphelpers import (EXIT_CONFLICT, EXIT_INTERRUPTED, accepted_parts, binary_blob, commits,
                       json_summary, lfs_batches, ok, part_of, served_files, tree, upload_puts,
                       write_tree)

PARTS = 12
FAST = 3       # parts the hub accepts before it starts stalling


def checkpoint(tag):
    return {"README.md": b"# crash test\n", "config.json": b"{}\n",
            "model.bin": binary_blob(PARTS * MiB - 1000, "crash" + tag)}


def start_stalled(up, knobs, log, repo_id, folder, fast=FAST, **extra_knobs):
    """Start ferry upload with every part after the first `fast` ones held by the hub; return
    the process once `fast` parts were accepted (and a moment for ferry to record them)."""
    knobs(upload_fault={"mode": "stall", "nth": list(range(fast + 1, fast + 500)),
                        "stall_seconds": 30}, **extra_knobs)
    process = up.start(repo_id, folder)
    wait_until(lambda: len(accepted_parts(log.lines(settle=False))) >= fast,
               f"{fast} parts accepted", timeout=30, process=process)
    time.sleep(0.5)
    return process


def interrupt_and_resume(hub, up, knobs, log, repo_id, tmp_path, sig):
    files = checkpoint(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    sha = sha256_bytes(files["model.bin"])
    process = start_stalled(up, knobs, log, repo_id, folder)
    code, stderr = stop_process(process, sig)
    first = log.lines()
    accepted = accepted_parts(first)
    uids = {uid for uid, _ in accepted}
    assert len(accepted) >= FAST and len(uids) == 1, first
    journal = up.parts_journal(sha)
    assert os.path.isfile(journal), f"no multipart journal at {journal}"
    # the signed part URLs are credentials: readable by the owner only
    assert os.stat(journal).st_mode & 0o077 == 0, oct(os.stat(journal).st_mode)
    with open(journal) as f:   # JSON, or JSON lines (appended as parts are accepted)
        text = f.read()
    try:
        json.loads(text)
    except ValueError:
        for line in text.splitlines():
            assert not line.strip() or isinstance(json.loads(line), dict), line
    knobs(upload_fault=None)

    log.mark()
    s = json_summary(ok(up(repo_id, folder, "--json")))
    again = upload_puts(log.lines())
    resent = [ln for ln in again if part_of(ln) in accepted]
    assert resent == [], f"parts accepted before the crash were sent again: {resent}"
    assert {uid for uid, _ in map(part_of, again)} == uids, "the journal's upload was not reused"
    sent_now = sorted(int(p) for _, p in map(part_of, again))
    expected = sorted(set(range(1, PARTS + 1)) - {int(p) for _, p in accepted})
    assert sent_now == expected, (sent_now, expected)
    assert s["parts_resumed"] == len(accepted) and s["parts_sent"] == len(expected), s
    assert served_files(hub, repo_id) == files
    return code, stderr


def test_kill_9_mid_multipart_then_resume(hub, up, knobs, log, repo_id, tmp_path):
    code, _ = interrupt_and_resume(hub, up, knobs, log, repo_id, tmp_path, signal.SIGKILL)
    assert code == 128 + signal.SIGKILL


def test_ctrl_c_exits_130_and_stays_resumable(hub, up, knobs, log, repo_id, tmp_path):
    code, stderr = interrupt_and_resume(hub, up, knobs, log, repo_id, tmp_path, signal.SIGINT)
    assert code == EXIT_INTERRUPTED, stderr
    assert hub.token not in stderr


def test_sigterm_exits_130_and_stays_resumable(hub, up, knobs, log, repo_id, tmp_path):
    code, stderr = interrupt_and_resume(hub, up, knobs, log, repo_id, tmp_path, signal.SIGTERM)
    assert code == EXIT_INTERRUPTED, stderr


def test_a_part_is_journaled_as_soon_as_it_is_accepted(hub, up, knobs, log, repo_id, tmp_path):
    """Under --limit-rate libcurl 7.88 left the storage's answer to a finished part unread for
    up to a second (its rate limit stops reading too), so a kill 0.25-0.7 s after the storage
    accepted a part found it missing from the journal, and the part was sent again. Every part
    accepted a fifth of a second before a kill -9 must be in the journal."""
    files = checkpoint(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    sha = sha256_bytes(files["model.bin"])
    knobs(upload_fault=None)
    process = up.start(repo_id, folder, "--limit-rate", "8M")
    wait_until(lambda: len(accepted_parts(log.lines(settle=False))) >= 2, "2 parts accepted",
               timeout=60, process=process)
    time.sleep(0.2)
    killed_at = time.time()
    stop_process(process, signal.SIGKILL)
    early = {int(part_of(ln)[1]) for ln in upload_puts(log.lines())
             if 200 <= ln.status < 300 and ln.time <= killed_at - 0.2}
    assert early, "no part was accepted early enough before the kill"
    with open(up.parts_journal(sha)) as f:
        lines = [json.loads(line) for line in f.read().splitlines() if line.strip()]
    journaled = {o["part"] for o in lines if "part" in o and "etag" in o}
    assert early <= journaled, f"accepted but not journaled: {sorted(early - journaled)}"


def test_resume_after_the_signed_urls_expired(hub, up, knobs, log, repo_id, tmp_path):
    """The journal's part URLs and completion URL expired while ferry was down: the re-run asks
    for a fresh batch and completes (the content is what counts)."""
    files = checkpoint(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    t0 = time.monotonic()
    process = start_stalled(up, knobs, log, repo_id, folder, fast=2, url_lifetime=3)
    stop_process(process, signal.SIGKILL)
    knobs(upload_fault=None, url_lifetime=3600)
    time.sleep(max(0.0, 4.5 - (time.monotonic() - t0)))   # every URL of that batch is dead now
    log.mark()
    ok(up(repo_id, folder))
    lines = log.lines()
    assert len(lfs_batches(lines)) >= 1, "expired URLs need a fresh batch"
    fresh = [ln for ln in upload_puts(lines) if 200 <= ln.status < 300]
    assert sorted(int(p) for _, p in map(part_of, fresh)) == list(range(1, PARTS + 1))
    assert served_files(hub, repo_id) == files


def test_branch_moved_during_the_upload(hub, up, knobs, log, repo_id, tmp_path):
    """Another commit lands on main while ferry uploads: ferry's commit names its parent
    (parentCommit), the hub refuses it (412) and ferry stops with exit 17 and the server's
    word, leaving the other commit in place."""
    import base64
    ok(up(repo_id, write_tree(tmp_path / "card", {"README.md": b"# moving\n"})))
    files = checkpoint(repo_id)
    folder = write_tree(tmp_path / "ckpt", files)
    knobs(upload_fault={"mode": "stall", "nth": [1], "stall_seconds": 3})
    log.mark()
    process = up.start(repo_id, folder)
    wait_until(lambda: lfs_batches(log.lines(settle=False)), "the LFS batch", timeout=30,
               process=process)
    other = (json.dumps({"key": "header", "value": {"summary": "meanwhile"}}) + "\n" +
             json.dumps({"key": "file", "value": {
                 "path": "other.txt", "encoding": "base64",
                 "content": base64.b64encode(b"other\n").decode()}}) + "\n").encode()
    ans = hub.post(f"/api/models/{repo_id}/commit/main", token=hub.token, body=other,
                   headers={"Content-Type": "application/x-ndjson"})
    assert ans.status == 200, ans.body
    process.wait(60 * TIMEOUT_SCALE)
    process.stderr_file.seek(0)
    stderr = process.stderr_file.read().decode(errors="replace")
    assert process.returncode == EXIT_CONFLICT, (process.returncode, stderr)
    assert "412" in stderr or "parent" in stderr.lower() or "conflict" in stderr.lower(), stderr
    history = commits(hub, repo_id)
    assert history[0]["title"] == "meanwhile"
    assert "model.bin" not in tree(hub, repo_id)
