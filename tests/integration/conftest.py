"""Session fixtures for the `ferry get` integration tests: test files, nginx, the fault proxy.

The servers are started once per session and always stopped. The binary comes from env
FERRY_BIN (default <repo>/build/ferry; fixture ferry_bin in tests/conftest.py). Run:
    /usr/bin/python3 -m pytest tests/integration
"""
import os
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from faultproxy import FaultProxyProcess
from ferrytest import GiB, MiB, sha256_file
from nginx import Nginx

SLOW_RATE = "6m"  # nginx limit_rate on /slow/: per request, so crash tests can hit exact moments

# name -> size of the small and medium test files (random bytes, made once per session)
CHUNK = MiB
EDGE_SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1]
FILES = {f"edge-{size}.bin": size for size in EDGE_SIZES}
FILES.update({
    "list-a.bin": 8 * MiB,
    "list-b.bin": 3 * MiB + 12345,
    "fault.bin": 24 * MiB + 777,
    "change-v1.bin": 24 * MiB,
    "change-v2.bin": 24 * MiB,
    "crash.bin": 96 * MiB + 4321,
    "pool.bin": 64 * MiB,
})


def write_random_file(path, size, seed):
    """Fast deterministic random bytes: the AES-CTR keystream of zeros, cut to size."""
    command = (f"openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass pass:ferry-{seed} </dev/zero "
               f"2>/dev/null | head -c {size} > '{path}'")
    subprocess.run(["bash", "-c", command], check=True, timeout=120)
    assert os.path.getsize(path) == size


@dataclass
class ServedFile:
    name: str
    path: str
    size: int
    sha256: str


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ferry-integration")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def docroot(session_dir):
    root = session_dir / "docroot"
    root.mkdir()
    files = {}
    for seed, (name, size) in enumerate(sorted(FILES.items())):
        path = root / name
        if size < 4 * MiB:
            path.write_bytes(os.urandom(size))
        else:
            write_random_file(path, size, seed)
        files[name] = ServedFile(name, str(path), size, sha256_file(path))
    # the "changed" file must differ in ETag too (nginx ETag = mtime-size): other mtime
    os.utime(files["change-v1.bin"].path, (1_600_000_000, 1_600_000_000))
    os.utime(files["change-v2.bin"].path, (1_700_000_000, 1_700_000_000))
    return {"path": str(root), "files": files}


@pytest.fixture(scope="session")
def files(docroot):
    return docroot["files"]


@pytest.fixture(scope="session")
def big_file(docroot):
    """A 1 GiB file, made once per session and deleted at the end."""
    path = os.path.join(docroot["path"], "big-1g.bin")
    write_random_file(path, GiB, 99)
    yield ServedFile("big-1g.bin", path, GiB, sha256_file(path))
    os.unlink(path)


@pytest.fixture(scope="session")
def nginx(session_dir, docroot):
    server = Nginx(docroot["path"], str(session_dir / "nginx"), workers=2,
                   limit_rate=SLOW_RATE, limit_rate_prefix="/slow/")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def crawling_nginx(session_dir, docroot):
    """nginx whose /slow/ sends 512 KB/s per request: a 1 MiB block takes two seconds to fill,
    and more requests in flight bring more goodput whatever the machine's speed."""
    server = Nginx(docroot["path"], str(session_dir / "crawl-nginx"), workers=1,
                   limit_rate="512k", limit_rate_prefix="/slow/")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy_server(session_dir, nginx):
    proxy = FaultProxyProcess(nginx.http_port, str(session_dir / "proxy"))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def tls_proxy_server(session_dir, nginx):
    """The fault proxy again, speaking TLS (HTTP/1.1 by ALPN) with the test certificate."""
    cert_dir = os.path.dirname(nginx.cacert)
    proxy = FaultProxyProcess(nginx.http_port, str(session_dir / "proxy"), name="tlsproxy",
                              tls_cert=os.path.join(cert_dir, "server.crt"),
                              tls_key=os.path.join(cert_dir, "server.key"))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def tls_proxy(tls_proxy_server):
    tls_proxy_server.set_rules([])
    yield tls_proxy_server
    tls_proxy_server.set_rules([])


@pytest.fixture
def proxy(proxy_server):
    """The fault proxy with no rules; rules set by a test are cleared afterwards."""
    proxy_server.set_rules([])
    yield proxy_server
    proxy_server.set_rules([])


@pytest.fixture
def out_dir(tmp_path):
    """The test's output folder, emptied afterwards (outputs run to hundreds of MiB)."""
    yield tmp_path
    for entry in os.listdir(tmp_path):
        path = os.path.join(tmp_path, entry)
        if os.path.isdir(path) and not os.path.ismount(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.isfile(path):
            os.unlink(path)
