"""Memory of `ferry upload` per file (issue 13): the peak RSS of an upload of 100,000 small
files (five windows of 20,000) against one of 20,000 (one window), per file. A million-file
upload fits 128 MiB only if what is kept of a file for the whole run stays small: the walk's
32-byte entry and its repository path in string blocks; the rest of its state (hashes, the
revision's oid, hashing queues) exists only while its window is uploaded, and the hash
cache's lines are spooled to disk. It was about 470 bytes a file with every file's whole
state held at once (hashes as text, two strdup'd paths), 76 here with that state shrunk to
104 bytes and 4-byte hashing queues, 18 with windows, and 0 with the commit body made while
it is sent (the walk's ~49 bytes a file then stay under a peak that does not depend on the
number of files, 34 MiB here at both sizes; bench/many_run gives the million)."""
import json
import os
import random
import subprocess

from uphelpers import EXIT_OK

PER_FILE_LIMIT = 48  # bytes of peak RSS per file, between 20,000 and 100,000 files
REUPLOAD_PER_FILE_LIMIT = 128  # the same, uploading 100,000 unchanged files again


def make_folder(root, n):
    """n files of 70-650 bytes, 500 a folder (as bench/many_run makes them)."""
    rng = random.Random(n)
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // 500))
        if i % 500 == 0:
            os.makedirs(d)
        with open(os.path.join(d, "f%06d.txt" % i), "wb") as f:
            f.write(b"%d up\n" % i + rng.randbytes(32).hex().encode() * rng.randint(2, 10))


def upload_peak_rss(up, repo, folder):
    """(peak RSS in bytes, --json summary) of one `ferry upload`, from wait4's rusage."""
    p = subprocess.Popen(up.argv([repo, folder, "--repo-type", "dataset", "--json"]),
                         env=up.env_with(None, ()), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    p.stdout.close()
    _pid, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == EXIT_OK, out[-2000:]
    return usage.ru_maxrss * 1024, json.loads(out)


def test_upload_memory_per_file(up, repo_id, tmp_path):
    rss, files = [], []
    for n in (20000, 100000):
        folder = str(tmp_path / f"up-{n}")
        make_folder(folder, n)
        peak, out = upload_peak_rss(up, f"{repo_id}-{n}", folder)
        assert out["ok"] and out["files_total"] == n and out["files_committed"] == n, out
        assert out["commits"] == n // 20000, out  # one a window
        rss.append(peak)
        files.append(n)
    per_file = (rss[1] - rss[0]) / (files[1] - files[0])
    assert per_file <= PER_FILE_LIMIT, f"{per_file:.0f} bytes per file (peak RSS {rss})"
    # The same 100,000 files again: nothing changed, nothing committed. The revision is asked
    # for its commit only (expand=sha) and the card by paths-info: the whole repo info lists
    # every file (345 bytes a file here when it did; 68 now, mostly the hash cache's lines).
    again, out = upload_peak_rss(up, f"{repo_id}-100000", str(tmp_path / "up-100000"))
    assert out["ok"] and out["files_unchanged"] == 100000 and out["commits"] == 0, out
    per_file = (again - rss[0]) / (100000 - files[0])
    assert per_file <= REUPLOAD_PER_FILE_LIMIT, \
        f"re-upload: {per_file:.0f} bytes per file (peak RSS {again}, first {rss})"
