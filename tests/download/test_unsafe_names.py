"""A file name from the server with `..`, an absolute path or a drive letter is refused (exit 10)
before anything is written. The local hub refuses such names in commits, so a small fake hub
(fakehub.py: HTTPS with the local hub's server certificate, loopback) serves a tree
that contains one."""
import os

import pytest

from fakehub import COMMIT, fake_hub
from hubrun import ferry_env, run_download

GOOD = b"good file\n"
EXIT_PROTOCOL = 10


@pytest.mark.parametrize("bad_path", ["../escape.txt", "sub/../../escape.txt", "/tmp/abs.txt",
                                      "C:/drive.txt"])
def test_unsafe_file_name_is_refused(hub, tmp_path, bad_path):
    """(test_the_fake_hub_works shows the same fake with a safe name succeeds)"""
    with fake_hub(hub, "evil/repo", {"good.txt": GOOD, bad_path: GOOD}) as fake:
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint})
        cache = tmp_path / "deep" / "er" / "cache"
        local = tmp_path / "deep" / "er" / "local"
        for where in (["--cache-dir", cache], ["--local-dir", local]):
            r = run_download(["evil/repo", *where, "--cacert", hub.ca], env, timeout=30)
            assert r.returncode == EXIT_PROTOCOL, r.describe()
            assert not any("escape" in str(p) or "abs.txt" in str(p) or "drive" in str(p)
                           for p in tmp_path.rglob("*")), sorted(tmp_path.rglob("*"))
            if bad_path == "/tmp/abs.txt":
                assert not os.path.exists(bad_path)
            assert not any("escape" in p or "abs" in p or "drive" in p
                           for p in fake.requests if "/resolve/" in p), fake.requests


def test_the_fake_hub_works(hub, tmp_path):
    """The control: the same fake hub with a safe nested name downloads fine."""
    with fake_hub(hub, "evil/repo", {"good.txt": GOOD, "sub/fine.txt": GOOD}) as fake:
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint})
        r = run_download(["evil/repo", "--cache-dir", tmp_path / "cache", "--cacert", hub.ca,
                          "-q"], env, timeout=30)
        assert r.returncode == 0, r.describe()
        snap = r.stdout.strip()
        assert snap == str(tmp_path / "cache" / "models--evil--repo" / "snapshots" / COMMIT)
        with open(os.path.join(snap, "sub", "fine.txt"), "rb") as f:
            assert f.read() == GOOD
