"""Two files of one snapshot with the same content share one blob: it is fetched once, the
second file is linked to it, and no "being downloaded by another process" is announced (the
other process was this one, waiting on its own lock)."""
import os
import subprocess

from ferrytest import FERRY_BIN
from hubrun import AccessLog, ferry_env, run_download

CONTENT = b"the same bytes under two names\n" * 100


def test_same_content_is_fetched_once(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = ferry_env(hub, home, {"HF_TOKEN": hub.token, "SSL_CERT_FILE": hub.ca})
    folder = tmp_path / "two"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(CONTENT)
    (folder / "sub" / "copy.txt").write_bytes(CONTENT)
    (folder / "other.txt").write_bytes(b"different\n")
    repo = "demo/same-content"
    up = subprocess.run([FERRY_BIN, "upload", repo, str(folder), "--cacert", hub.ca, "-q"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    log = AccessLog(hub.dir).mark()
    cache = tmp_path / "cache"
    r = run_download([repo, "--cache-dir", cache, "--cacert", hub.ca], env)  # notices on
    assert r.returncode == 0, r.describe()
    assert "another process" not in r.stderr, r.stderr
    snap = r.stdout.strip().splitlines()[-1]
    for name in ("a.txt", "sub/copy.txt"):
        with open(os.path.join(snap, name), "rb") as f:
            assert f.read() == CONTENT, name
    assert os.path.realpath(os.path.join(snap, "a.txt")) == \
        os.path.realpath(os.path.join(snap, "sub/copy.txt"))
    fetched = [ln.path for ln in log.lines() if "/resolve/" in ln.path and ln.method == "GET"]
    same = [p for p in fetched if p.endswith("/a.txt") or p.endswith("/sub/copy.txt")]
    assert len(same) == 1, fetched
