"""Fixtures of the installed-library tests: the build installed into a temporary prefix, the
examples (examples/) built against that prefix four ways, nginx and the local hub to run them.

The build folder is env FERRY_BUILD_DIR, default the folder of FERRY_BIN (<repo>/build). Run:
    /usr/bin/python3 -m pytest tests/install -q
"""
import glob
import os
import shutil
import subprocess

import pytest

from ferrytest import FERRY_BIN, REPO, TIMEOUT_SCALE
from hubtest import running_hub
from nginx import Nginx

BUILD_DIR = os.environ.get("FERRY_BUILD_DIR", os.path.dirname(os.path.abspath(FERRY_BIN)))
EXAMPLES = os.path.join(REPO, "examples")
PROGRAMS = ("get_one", "hub_file")
# how a program can be built against the installed library (see examples/README.md)
METHODS = ("pkg-config", "pkg-config --static", "cmake", "cmake static")
WARNINGS = ["-Wall", "-Wextra", "-Werror"]


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


def build_with_pkg_config(inst, out, static):
    cflags = inst.pkg_config("--cflags")
    if static:
        # pkg-config names the library -lferry, which the linker resolves to libferry.so when
        # both are installed: ask for the archive by file name, the rest as pkg-config says.
        libs = ["-l:libferry.a" if f == "-lferry" else f for f in inst.pkg_config("--static", "--libs")]
    else:
        libs = inst.pkg_config("--libs")
    for program in PROGRAMS:
        run(["cc", "-std=c11", *WARNINGS, *cflags, os.path.join(EXAMPLES, program + ".c"),
             "-o", os.path.join(out, program), *libs], env=inst.env)


def build_with_cmake(inst, out, static):
    run(["cmake", "-S", EXAMPLES, "-B", out, "-DCMAKE_PREFIX_PATH=" + inst.prefix,
         "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_C_FLAGS=" + " ".join(WARNINGS),
         "-DFERRY_EXAMPLES_STATIC=" + ("ON" if static else "OFF")], env=inst.env)
    run(["cmake", "--build", out, "-j2"], env=inst.env)


class Built:
    """The examples built one way: their paths and the environment to run them in."""

    def __init__(self, method, folder, env):
        self.method, self.folder, self.env = method, folder, env
        self.static = "static" in method

    def program(self, name):
        return os.path.join(self.folder, name)

    def needed(self, name):
        """The shared libraries the program names (readelf's DT_NEEDED)."""
        out = run(["readelf", "-d", self.program(name)]).stdout
        return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


@pytest.fixture(scope="session", params=METHODS)
def built(request, installed, tmp_path_factory):
    method = request.param
    out = str(tmp_path_factory.mktemp("examples-" + method.replace(" ", "").replace("-", "")))
    static = "static" in method
    if method.startswith("pkg-config"):
        build_with_pkg_config(installed, out, static)
    else:
        build_with_cmake(installed, out, static)
    env = dict(os.environ)
    if method == "pkg-config":
        # pkg-config gives no run path: the loader finds libferry.so the way a user's would
        env["LD_LIBRARY_PATH"] = installed.libdir
    return Built(method, out, env)


@pytest.fixture(scope="session")
def nginx(tmp_path_factory):
    docroot = tmp_path_factory.mktemp("install-docroot")
    (docroot / "blob.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 4321))
    server = Nginx(str(docroot), str(tmp_path_factory.mktemp("install-nginx")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("install-hub"), "--seed", "--seed-size", "1M") as h:
        yield h
