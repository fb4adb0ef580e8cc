"""libferry as a user gets it: installed with `cmake --install --prefix`, found through
pkg-config and find_package(ferry).
"""
import os

from conftest import run

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
