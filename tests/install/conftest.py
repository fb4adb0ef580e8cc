"""Fixtures of the installed-library tests: the build installed into a temporary prefix.

The build folder is env FERRY_BUILD_DIR, default the folder of FERRY_BIN (<repo>/build). Run:
    /usr/bin/python3 -m pytest tests/install -q
"""
import glob
import os
import shutil
import subprocess

import pytest

from ferrytest import FERRY_BIN, TIMEOUT_SCALE

BUILD_DIR = os.environ.get("FERRY_BUILD_DIR", os.path.dirname(os.path.abspath(FERRY_BIN)))


def run(args, env=None, cwd=None, timeout=120):
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout * TIMEOUT_SCALE)
    assert done.returncode == 0, (f"{' '.join(args)}: exit {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


class Installed:
    def __init__(self, prefix):
        self.prefix = prefix
        pcs = glob.glob(os.path.join(prefix, "**", "pkgconfig", "ferry.pc"), recursive=True)
        assert len(pcs) == 1, f"ferry.pc under {prefix}: {pcs}"
        self.pc = pcs[0]
        self.libdir = os.path.dirname(os.path.dirname(self.pc))
        # the prefix first, so an installed ferry elsewhere on the machine is never picked
        self.env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(self.pc))

    def pkg_config(self, *args):
        return run(["pkg-config", *args, "ferry"], env=self.env).stdout.split()


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """`cmake --install BUILD --prefix P` into a fresh P."""
    assert os.path.isfile(os.path.join(BUILD_DIR, "CMakeCache.txt")), f"no build in {BUILD_DIR}"
    prefix = str(tmp_path_factory.mktemp("prefix"))
    run(["cmake", "--install", BUILD_DIR, "--prefix", prefix])
    yield Installed(prefix)
    shutil.rmtree(prefix, ignore_errors=True)
