"""The concurrency controller (engine/src/concurrency.c, decisions in control.c): requests in
flight grow while the total goodput grows, and --connections / --streams pin what they name.
The server caps each request (nginx limit_rate, 512 KB/s on /slow/), so more requests in flight
bring more goodput whatever the machine's speed: the controller must find that out by itself."""
import re
import time

import pytest

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
    assert grown, steps
    # Each doubling stops at what the memory budget lets run at that moment: 24 while no
    # request's rate is known (32 MiB of 1 MiB blocks); once the 512 KB/s requests are seen to
    # fill 256 KiB blocks (control.c ferry__ctl_block_size), 96. Which comes first depends on
    # the machine's speed (a slow build measures the rates before its first doubling), so the
    # decisions are read in the log's order, each against the bound in force.
    events = re.findall(r"concurrency (\w+): (\d+) -> (\d+) requests in flight \(([^;]+);"
                        r"|concurrency: blocks of (\d+) KiB per request on average: at most "
                        r"(\d+) in flight", r.stderr)
    bound, bounds_seen, checked = 24, [], 0
    for phase, before, after, why, block_kib, most in events:
        if most:
            bound = int(most)
            bounds_seen.append((int(block_kib), bound))
        elif why == "goodput grew: doubling":
            assert int(after) == min(2 * int(before), bound), (events, bound)
            checked += 1
    assert checked == len(grown), events
    # the bound followed the requests' blocks, and the level grew past the start's bound
    assert (256, 96) in bounds_seen, (bounds_seen, r.stderr[-3000:])
    assert any(int(s[2]) > 24 for s in grown), steps
    assert all(int(s[2]) <= 96 for s in steps), steps
    # the figures behind each decision are logged, and the new layout applied
    # (connections first, up to 32: a lossy path needs flows, not streams on one flow)
    layout = re.search(r"-> (\d+) requests in flight \(goodput grew: doubling; [\d.]+ MB/s now, "
                       r"[\d.]+ MB/s smoothed, best [\d.]+ MB/s at \d+\); "
                       r"(\d+) connections x (\d+) streams", r.stderr)
    assert layout and layout.group(2) == layout.group(1) and layout.group(3) == "1", steps
    assert r.json["max_connections"] > 16, r.json  # beyond the old ceiling of 16
    assert r.json["peak_memory"] <= 32 * 1024 * 1024, r.json


def test_a_request_that_opens_a_connection_takes_the_last_bytes(crawling_nginx, files,
                                                                 out_dir):
    """When the level grows, the requests that open its new connections take the file's last
    bytes (plan.c ferry__plan_last): a new connection on a loaded long path takes seconds to
    reach its share, and the hash cursor reaches those bytes last. The rest are still asked for
    in file order."""
    served = files["crash.bin"]  # 96 MiB
    mark = crawling_nginx.log_size()
    r = get(crawling_nginx, served, out_dir / "fresh.bin")
    grown = [s for s in LEVEL.findall(r.stderr) if s[3] == "goodput grew: doubling"]
    assert grown, r.stderr[-3000:]
    fresh = [(int(a), int(b)) for a, b in re.findall(
        r"bytes (\d+)-(\d+) of \S+ go to a new connection: the last of the file", r.stderr)]
    assert fresh, r.stderr[-3000:]
    # from the end of the file down, each ending where the one before it starts (nothing else
    # was asked for there yet)
    assert fresh[0][1] == served.size - 1, fresh
    for (a, _), (_, b) in zip(fresh, fresh[1:]):
        assert b == a - 1, fresh
    # ... and was the first request of its connection at the server (but where a stream ended
    # between the choice of its bytes and libcurl's choice of its connection: it rode that)
    logged = {e["range"]: e for e in crawling_nginx.log_entries_since(mark)}
    opened = [logged[f"bytes={a}-{b}"]["conn_requests"] == 1 for a, b in fresh]
    assert sum(opened) >= max(1, len(fresh) - 1), [logged[f"bytes={a}-{b}"] for a, b in fresh]
    # the first requests after the probe (before any growth) went out in file order
    first = [int(a) for a in re.findall(r"request #\d+ range bytes (\d+)-", r.stderr)][:8]
    assert first == sorted(first) and first[0] < fresh[-1][0], (first, fresh)


def test_the_flags_pin_the_level(crawling_nginx, files, out_dir):
    r = get(crawling_nginx, files["fault.bin"], out_dir / "pinned.bin", "--connections", "2",
            "--streams", "2")
    assert "concurrency: pinned by --connections and --streams: 4 requests in flight " \
           "(2 connections x 2 streams)" in r.stderr, r.stderr[-3000:]
    assert LEVEL.findall(r.stderr) == []  # no decision: nothing to decide
    assert r.json["max_connections"] <= 2, r.json


def crawl_one_request(proxy, files, output, why, *args, others=3_000_000):
    """fault.bin (24 MiB) through the proxy, its second ranged request crawling at 150 KB/s
    and the others at `others` bytes/s (None: as fast as they go); checks the file and returns
    (result, the first hand-over for `why` (a regex) as (slow MB/s, what a request gets in
    MB/s, first byte, last byte), proxy log mark)."""
    served = files["fault.bin"]
    path = f"/files/{served.name}"
    ranged = {"path": path, "method": "GET", "ranged": True}
    proxy.set_rules(([dict(ranged, action="throttle", rate=others)] if others else []) +
                    [dict(ranged, nth=2, action="throttle", rate=150_000)])
    mark = proxy.log_size()
    r = run_ferry(["get", proxy.base_url() + path, "-o", output, "--sha256", served.sha256,
                   "--json", "-v", "--connections", "4", *args], timeout=120)
    assert r.returncode == 0, r.describe()
    assert_identical(output, served)
    handed = re.findall(r"hand-over: a request of \S+ at ([\d.]+) MB/s, a request gets "
                        r"([\d.]+) MB/s \((?:" + why + r"); its rest in ([\d.]+) s, a new "
                        r"request on (?:a new|an open) connection in ([\d.]+) s\): bytes "
                        r"(\d+)-(\d+) move", r.stderr)
    assert handed, r.stderr[-3000:]
    slow, median, rest_s, fresh_s, first, last = handed[0]
    assert float(slow) < 0.5 < 1.5 < float(median), handed
    # handed over because a new request brings the rest at least twice as soon
    assert float(rest_s) >= 2 * float(fresh_s) > 0, handed
    # the crawling request's range lost its rest: a new request asked for exactly those bytes
    ranges = [e["range"] for e in proxy.log_entries(mark)]
    assert f"bytes={first}-{last}" in ranges, ranges
    assert r.json["bytes_received"] <= served.size + 1024 * 1024, r.json
    return r, (slow, median, first, last), mark


def wait_for_the_crawl_to_end(proxy, mark):
    """The crawling request ended too (cut by ferry): nothing of this test is left in the
    proxy to be logged during the next one."""
    deadline = time.time() + 30
    while not any("throttle:150000" in e["faults"] for e in proxy.log_entries(mark)):
        assert time.time() < deadline, "the crawling request never ended at the proxy"
        time.sleep(0.1)


def test_a_request_far_behind_the_others_hands_its_rest_over(proxy, files, out_dir):
    """One request of a file crawls (150 KB/s) while the others run at 3 MB/s: once nothing is
    left to ask for, it keeps the block it is filling and hands the rest of its range to a new
    request (control.c ferry__ctl_should_race, plan.c ferry__plan_handover), rather than the
    whole file waiting for it. Nothing is fetched twice."""
    _, _, mark = crawl_one_request(proxy, files, out_dir / "handover.bin", "the tail",
                                   "--chunk-size", "4M")
    wait_for_the_crawl_to_end(proxy, mark)


def test_the_last_request_running_hands_its_rest_over_when_far_behind(proxy, files, out_dir):
    """One request crawls (150 KB/s) and the others, unthrottled, are done at once: no
    running request is left to compare it with, so what the file's finished requests showed
    is the measure (job.c request_gets), and it still hands its rest over rather than the
    file waiting half a minute for it."""
    _, (slow, gets, _, _), mark = crawl_one_request(
        proxy, files, out_dir / "last.bin", "the tail|it holds the hash cursor", "--chunk-size",
        "4M", others=None)
    assert float(gets) > 20 * float(slow), (slow, gets)
    wait_for_the_crawl_to_end(proxy, mark)


def test_the_request_the_hasher_waits_for_hands_its_rest_over(proxy, files, out_dir):
    """The request holding the hash cursor crawls while the file is still being asked for:
    everything after it waits (in memory or to be read back), so it hands its rest over at
    once, at the byte it has reached (control.c ferry__ctl_race_cursor), without waiting for
    the tail."""
    r, (_, _, first, last), mark = crawl_one_request(
        proxy, files, out_dir / "cursor.bin", re.escape("it holds the hash cursor"),
        "--chunk-size", "2M", "--max-memory", "8M")
    assert int(first) % (1 << 20), first  # where it was, not at the end of a block
    # ... while bytes were still to be asked for: ranges after it were requested later
    later = r.stderr[r.stderr.index("(it holds the hash cursor;"):]
    starts = [int(a) for a in re.findall(r"request #\d+ range bytes (\d+)-", later)]
    assert any(a > int(last) for a in starts), r.stderr[-3000:]
    wait_for_the_crawl_to_end(proxy, mark)


def test_the_connections_open_beside_the_probe(nginx, tls_proxy, files, out_dir):
    """While the probe is out (every answer here waits 0.6 s, a long round trip), the level's
    other connections open, each with a one-byte range of the same URL (engine/src/warmup.c):
    the file's ranges then find them ready instead of each starting its TCP and TLS handshakes
    after the probe's answer. Their answers count for nothing; the file is whole and right."""
    proxy = tls_proxy
    served = files["fault.bin"]
    path = f"/files/{served.name}"
    proxy.set_rules([{"path": path, "action": "delay", "seconds": 0.6}])
    mark = proxy.log_size()
    r = run_ferry(["get", proxy.base_url() + path, "-o", out_dir / "warm.bin", "--sha256",
                   served.sha256, "--cacert", nginx.cacert, "--json", "-v"], timeout=120)
    assert r.returncode == 0, r.describe()
    assert_identical(out_dir / "warm.bin", served)
    # the start's layout (HTTP/1.1 here: a request per connection), less the probe's own
    conns = int(re.search(r"concurrency: adaptive: \d+ requests in flight \((\d+) connections",
                          r.stderr).group(1))
    said = re.search(r"warm-up: (\d+) connections opened beside the probe", r.stderr)
    assert conns > 1 and said and int(said.group(1)) == conns - 1, r.stderr[-3000:]
    entries = sorted(proxy.log_entries(mark), key=lambda e: e["time"])
    warm = [e for e in entries if e["range"] == "bytes=0-0"]
    probe = [e for e in entries if e["range"] and e["range"] != "bytes=0-0"][0]
    assert len(warm) == conns - 1, entries
    assert probe["range"].startswith("bytes=0-"), probe
    # each on a connection of its own, asked before the probe's answer came (0.6 s)
    assert len({e["conn"] for e in warm} | {probe["conn"]}) == conns, entries
    assert all(abs(e["time"] - probe["time"]) < 0.4 for e in warm), (probe, warm)
    # ... and the file's ranges went out on them
    later = {e["conn"] for e in entries if e["time"] > probe["time"] + 0.5 and e["range"]}
    assert {e["conn"] for e in warm} <= later, (warm, later)
    assert r.json["bytes_received"] <= served.size + 1024 * 1024, r.json


@pytest.mark.parametrize("flags", [["--connections", "1"], ["--connections", "1", "--streams", "1"]])
def test_no_connection_opens_beside_the_probe_when_one_is_all_there_is(nginx, tls_proxy, files,
                                                                        out_dir, flags):
    served = files["fault.bin"]
    path = f"/files/{served.name}"
    mark = tls_proxy.log_size()
    r = run_ferry(["get", tls_proxy.base_url() + path, "-o", out_dir / "one.bin", "--sha256",
                   served.sha256, "--cacert", nginx.cacert, "--json", "-v", *flags], timeout=120)
    assert r.returncode == 0, r.describe()
    assert_identical(out_dir / "one.bin", served)
    assert "warm-up" not in r.stderr
    entries = tls_proxy.log_entries(mark)
    assert entries and not [e for e in entries if e["range"] == "bytes=0-0"], entries
    assert len({e["conn"] for e in entries}) == 1, entries


def test_no_warm_up_over_plain_http(proxy, files, out_dir):
    """What a warm-up saves is mostly TLS's handshake: a plain-HTTP origin gets none."""
    served = files["fault.bin"]
    path = f"/files/{served.name}"
    mark = proxy.log_size()
    r = run_ferry(["get", proxy.base_url() + path, "-o", out_dir / "plain.bin", "--sha256",
                   served.sha256, "--json", "-v"], timeout=120)
    assert r.returncode == 0, r.describe()
    assert "warm-up" not in r.stderr
    assert not [e for e in proxy.log_entries(mark) if e["range"] == "bytes=0-0"]
