"""The concurrency controller (engine/src/concurrency.c, decisions in control.c): requests in
flight grow while the total goodput grows, and --connections / --streams pin what they name.
The server caps each request (nginx limit_rate, 512 KB/s on /slow/), so more requests in flight
bring more goodput whatever the machine's speed: the controller must find that out by itself."""
import re

from helpers import assert_identical, check_summary, run_ferry

LEVEL = re.compile(r"concurrency (\w+): (\d+) -> (\d+) requests in flight \(([^;]+);")


def get(server, served, output, *flags):
    r = run_ferry(["get", server.url(served.name, prefix="/slow/"), "-o", output, "--cacert",
                   server.cacert, "--sha256", served.sha256, "--json", "-v", *flags],
                  timeout=120)
    assert r.returncode == 0, r.describe()
    assert_identical(output, served)
    check_summary(r.json, size=served.size, sha256=served.sha256, path=output, verified=True)
    return r


def test_requests_in_flight_grow_while_goodput_grows(crawling_nginx, files, out_dir):
    r = get(crawling_nginx, files["crash.bin"], out_dir / "grow.bin")  # 96 MiB
    assert "concurrency: adaptive: 16 requests in flight" in r.stderr, r.stderr[-3000:]
    steps = LEVEL.findall(r.stderr)
    grown = [s for s in steps if s[3] == "goodput grew: doubling"]
    # from 16 up to what the memory budget lets run (32 MiB of 1 MiB blocks: 24)
    assert grown and grown[0][1:3] == ("16", "24"), steps
    assert all(int(s[2]) <= 24 for s in steps), steps
    # the figures behind each decision are logged, and the new layout applied
    assert re.search(r"best [\d.]+ MB/s at \d+\); 16 connections x 2 streams", r.stderr), steps
    assert r.json["max_connections"] > 8, r.json  # beyond the old fixed 8 connections
    assert r.json["peak_memory"] <= 32 * 1024 * 1024, r.json


def test_the_flags_pin_the_level(crawling_nginx, files, out_dir):
    r = get(crawling_nginx, files["fault.bin"], out_dir / "pinned.bin", "--connections", "2",
            "--streams", "2")
    assert "concurrency: pinned by --connections and --streams: 4 requests in flight " \
           "(2 connections x 2 streams)" in r.stderr, r.stderr[-3000:]
    assert LEVEL.findall(r.stderr) == []  # no decision: nothing to decide
    assert r.json["max_connections"] <= 2, r.json
