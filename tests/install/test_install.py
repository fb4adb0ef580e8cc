"""libferry as a user gets it: installed with `cmake --install --prefix`, found through
pkg-config (shared and --static) and find_package(ferry), and the examples built that way
downloading a verified URL from nginx and a Hub file into the cache from the local hub.
"""
import os
import subprocess

from conftest import PROGRAMS, run
from ferrytest import TIMEOUT_SCALE, sha256_file
from hubrun import ferry_env

EXIT_CHECKSUM = 5
# what libferry links (engine/CMakeLists.txt); a static link needs every one of them
PRIVATE_REQUIRES = {"libcurl", "libuv", "libxxhash", "jansson", "yaml-0.1", "libssl", "libcrypto"}


def test_pc_prefix_is_the_install_prefix(installed):
    """--prefix given to `cmake --install` (not the configure-time default /usr/local)."""
    with open(installed.pc) as f:
        assert f"prefix={installed.prefix}\n" in f.read()
    assert installed.pkg_config("--variable=prefix") == [installed.prefix]
    # (the private dependencies' own -I folders may follow)
    assert installed.pkg_config("--cflags")[0] == "-I" + os.path.join(installed.prefix, "include")
    assert installed.pkg_config("--libs") == ["-L" + installed.libdir, "-lferry"]
    assert os.path.isfile(os.path.join(installed.prefix, "include", "ferry.h"))
    assert os.path.isfile(os.path.join(installed.libdir, "libferry.a"))
    assert os.path.isfile(os.path.join(installed.libdir, "libferry.so"))


def test_pc_lists_every_private_dependency(installed):
    requires = {line.split()[0] for line in
                run(["pkg-config", "--print-requires-private", "ferry"], env=installed.env)
                .stdout.splitlines() if line.strip()}
    assert requires == PRIVATE_REQUIRES
    static_libs = installed.pkg_config("--static", "--libs")
    assert "-pthread" in static_libs  # libferry starts threads (hashing workers)
    for lib in ("-lcurl", "-luv", "-lxxhash", "-ljansson", "-lyaml", "-lssl", "-lcrypto"):
        assert lib in static_libs


def test_cmake_package_installed(installed):
    folder = os.path.join(installed.libdir, "cmake", "ferry")
    for name in ("ferryConfig.cmake", "ferryConfigVersion.cmake", "ferryTargets.cmake"):
        assert os.path.isfile(os.path.join(folder, name)), name
    with open(os.path.join(folder, "ferryTargets.cmake")) as f:
        targets = f.read()
    assert "add_library(ferry::ferry SHARED IMPORTED)" in targets
    assert "add_library(ferry::ferry_static STATIC IMPORTED)" in targets


def test_examples_link_the_installed_library(built, installed):
    for program in PROGRAMS:
        needed = built.needed(program)
        if built.static:
            assert not any(n.startswith("libferry") for n in needed), (program, needed)
        else:
            assert "libferry.so.0" in needed, (program, needed)
            # the loader finds the installed copy, not one elsewhere on the machine
            ldd = run(["ldd", built.program(program)], env=built.env).stdout
            line = next(l for l in ldd.splitlines() if "libferry.so.0" in l)
            assert f"{installed.libdir}/libferry.so.0" in line, line


def run_example(built, program, *args, env=None, timeout=60):
    return subprocess.run([built.program(program), *map(str, args)], env=env or built.env,
                          capture_output=True, text=True, timeout=timeout * TIMEOUT_SCALE)


def test_get_one_downloads_verified(built, nginx, tmp_path):
    source = os.path.join(nginx.docroot, "blob.bin")
    digest = sha256_file(source)
    env = dict(built.env, SSL_CERT_FILE=nginx.cacert)
    out = tmp_path / "blob.bin"
    done = run_example(built, "get_one", nginx.url("blob.bin"), out, digest, env=env)
    assert done.returncode == 0, done.stderr
    assert sha256_file(out) == digest
    assert done.stdout.split()[:2] == [str(out), digest]
    assert "verified=1" in done.stdout
    assert sorted(os.listdir(tmp_path)) == ["blob.bin"]  # no .part, journal or lock left


def test_get_one_refuses_a_wrong_sha256(built, nginx, tmp_path):
    env = dict(built.env, SSL_CERT_FILE=nginx.cacert)
    out = tmp_path / "blob.bin"
    done = run_example(built, "get_one", nginx.url("blob.bin"), out, "0" * 64, env=env)
    assert done.returncode == EXIT_CHECKSUM, (done.returncode, done.stderr)
    assert "CHECKSUM" in done.stderr
    assert not out.exists()


def test_hub_file_fetches_into_the_cache(built, hub, tmp_path):
    repo, name = "demo/tiny-model", "model.safetensors"
    commit = hub.get(f"/api/models/{repo}/revision/main").json()["sha"]
    tree = hub.get(f"/api/models/{repo}/tree/main").json()
    oid = next(e for e in tree if e["path"] == name)["lfs"]["oid"]
    env = dict(ferry_env(hub, tmp_path), SSL_CERT_FILE=hub.ca)
    if "LD_LIBRARY_PATH" in built.env:  # the pkg-config build's way to libferry.so
        env["LD_LIBRARY_PATH"] = built.env["LD_LIBRARY_PATH"]

    done = run_example(built, "hub_file", repo, name, env=env)
    assert done.returncode == 0, done.stderr
    # huggingface_hub's layout: the blob named by its SHA-256, the snapshot entry a relative
    # link to it, refs/main the commit
    cache = os.path.join(env["HF_HOME"], "hub", "models--demo--tiny-model")
    snapshot_file = os.path.join(cache, "snapshots", commit, name)
    assert done.stdout.strip() == snapshot_file
    assert os.readlink(snapshot_file) == f"../../blobs/{oid}"
    assert sha256_file(os.path.join(cache, "blobs", oid)) == oid
    with open(os.path.join(cache, "refs", "main")) as f:
        assert f.read() == commit
    assert os.listdir(os.path.join(cache, "snapshots", commit)) == [name]

    again = run_example(built, "hub_file", repo, name, env=env)
    assert again.returncode == 0, again.stderr
    assert "already in the cache" in again.stderr
