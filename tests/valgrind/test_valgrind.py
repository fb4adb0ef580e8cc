"""valgrind (memcheck) over one `ferry get` (nginx, HTTPS, HTTP/2) and one `ferry download`
(the local hub) of the release binary: no invalid read or write, no use of uninitialised
memory, no definitely or indirectly lost block (--errors-for-leak-kinds=definite,indirect), and
the right files. The release build is what users run, and what ASan cannot see (an optimizer's
choices, the libraries' own code without instrumentation) valgrind does, at about 10x the time
of a run; that fits the suite's budget, so this is valgrind and not only the ASan+LSan runs.
Binary: env FERRY_BIN (default build/ferry). Run: /usr/bin/python3 -m pytest tests/valgrind -q
"""
import os
import shutil
import subprocess

from cachecheck import repo_etags, wrong_in_cache
from ferrytest import FERRY_BIN, TIMEOUT_SCALE, sha256_file
from hubrun import ferry_env
from hubtest import running_hub
from nginx import Nginx

VALGRIND = shutil.which("valgrind")
SIZE = 5 * 1024 * 1024 + 99


def valgrind(args, env, log):
    assert VALGRIND, "valgrind is not installed (tests/install-deps installs it)"
    argv = [VALGRIND, "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--track-origins=yes", f"--log-file={log}", FERRY_BIN] + args
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=300 * TIMEOUT_SCALE)
    with open(log) as f:
        report = f.read()
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-2000:]}\n{report[-6000:]}"
    assert "ERROR SUMMARY: 0 errors" in report, report[-6000:]
    return done


def test_get_under_valgrind(ferry_bin, tmp_path):
    root = tmp_path / "docroot"
    root.mkdir()
    source = root / "v.bin"
    source.write_bytes(os.urandom(SIZE))
    with Nginx(str(root), str(tmp_path / "nginx")) as server:
        out = tmp_path / "v.bin"
        valgrind(["get", server.url("v.bin"), "-o", str(out), "--cacert", server.cacert,
                  "--sha256", sha256_file(source), "-q", "--chunk-size", "1M"],
                 {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
                 str(tmp_path / "valgrind.log"))
    assert sha256_file(out) == sha256_file(source)


def test_download_under_valgrind(ferry_bin, tmp_path):
    with running_hub(tmp_path / "hub", "--seed", "--seed-size", "4M") as hub:
        etags = repo_etags(hub, "demo/tiny-model")
        env = ferry_env(hub, tmp_path / "home")
        valgrind(["download", "demo/tiny-model", "--cacert", hub.ca, "-q"], env,
                 str(tmp_path / "valgrind.log"))
    snaps = list((tmp_path / "home" / "hf-home" / "hub" / "models--demo--tiny-model" /
                  "snapshots").iterdir())
    assert len(snaps) == 1
    assert sorted(p for p in etags if (snaps[0] / p).is_file()) == sorted(etags)
    assert wrong_in_cache(env["HF_HOME"], etags) == []
