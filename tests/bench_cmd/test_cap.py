"""A per-connection cap (issue 15): nginx's limit_rate holds every request to 8 MiB/s, and each
request is 64 MiB (about 7 s at that rate, longer than the run: one request per connection the
whole time, so the cap binds and nginx's first-second allowance falls in the grace). A sweep
over 2 and 8 connections sees the goodput grow with the connections at the same rate each: the
goodput at 8 is within 15 % of 8 x the cap, and the verdict names the cap. 67 MB/s is far
under what one core hashes, so the CPU is not the limit."""
import os

import pytest

from nginx import Nginx

MiB = 1024 * 1024
CAP = 8 * MiB  # nginx "8m" is 8 MiB/s


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    docroot = tmp_path_factory.mktemp("cap-docroot")
    with open(docroot / "big.bin", "wb") as f:
        f.truncate(1024 * MiB)  # sparse: one wave of 8 x 64 MiB requests fits in it
    with Nginx(str(docroot), str(tmp_path_factory.mktemp("cap-nginx")), workers=2,
               limit_rate="8m") as server:
        yield server


def test_per_connection_cap_is_named(bench, capped):
    r = bench(capped.url("big.bin", prefix="/slow/"), "--to", "null", "--sweep",
              "--connections", "2,8", "--streams", "1", "--chunk-size", "64M",
              "--max-memory", "1G", "--seconds", "6", "--json",
              env={"SSL_CERT_FILE": capped.cacert}, timeout=120)
    assert r.returncode == 0, r.describe()
    sw = r.json["sweep"]
    points = {(p["connections"], p["streams"]): p for p in sw["points"] if not p["default"]}
    eight = points[(8, 1)]
    assert eight["error"] is None
    assert eight["bytes"] / eight["seconds"] == pytest.approx(8 * CAP, rel=0.15), eight
    assert sw["cap_mb_per_s_per_connection"] == pytest.approx(CAP / 1e6, rel=0.15), sw
    assert sw["limit"] == "connection_cap", sw["verdict"]
    assert sw["verdict"].startswith("per-connection cap (≈ ") and \
        "more connections would help" in sw["verdict"]
    assert sw["best"] == sw["points"].index(eight)
    assert os.listdir(bench.cache) == []
