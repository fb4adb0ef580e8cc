"""A cluster through the cache tier (issue 16), in the WAN lab: the local hub as the origin
behind a 20 ms link capped at 640 Mbit/s (80 MB/s), the tier (deploy/mirror) and four nodes
on the other side. Four nodes at once: every file verified, the origin sends the snapshot
once. The tier killed mid-run: every node still finishes, from the Hub. The tier's disk gone
bad: no node keeps a wrong file, the bad entries are purged, a later node gets good ones.
Time figures are printed, not asserted (bench/cluster_run measures)."""
import glob
import os
import time

import pytest

from cluster import Cluster

NODES = 4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, ferry_bin):
    with Cluster(tmp_path_factory.mktemp("cluster"), ferry_bin, rtt_ms=20, rate_mbit=640,
                 seed_size="32M") as c:
        yield c


def test_four_nodes_at_once_origin_sends_the_snapshot_once(cluster):
    alone = cluster.run_nodes(1, via_tier=False)[0]  # the reference time, straight from the Hub
    assert alone.code == 0, alone.stderr
    cluster.log.mark()
    nodes = cluster.run_nodes(NODES)
    for n in nodes:
        assert n.code == 0, n.stderr
        assert n.weights_ok()
        assert "mirror" not in n.stderr, n.stderr  # nothing went wrong there
    lfs = cluster.lfs_bytes(nodes[0])
    origin = cluster.origin_bytes()
    print(f"\ncluster: {NODES} nodes, origin sent {origin / lfs:.2f}x the snapshot's LFS bytes; "
          f"slowest node {max(n.seconds for n in nodes):.2f} s, one node alone from the Hub "
          f"{alone.seconds:.2f} s")
    assert lfs <= origin <= 1.1 * lfs, (origin, lfs)


def test_the_tier_killed_mid_run_every_node_finishes(cluster):
    cluster.stop_tier()
    cluster.start_tier()  # empty: every node's bytes must come through the link
    procs = cluster.start_nodes(NODES, args=("--limit-rate", "4M"))  # ~8 s each
    deadline = time.monotonic() + 30
    while not all(glob.glob(os.path.join(p.home, "hub", "**", "*.incomplete"), recursive=True)
                  for p in procs):
        assert time.monotonic() < deadline, "the nodes did not start"
        time.sleep(0.05)
    time.sleep(1)
    cluster.kill_tier()
    nodes = cluster.wait_nodes(procs)
    for n in nodes:
        assert n.code == 0, n.stderr
        assert n.weights_ok()
    assert any("using the Hub for the rest of this run" in n.stderr for n in nodes)


def test_a_bad_tier_disk_never_gives_a_wrong_file(cluster):
    cluster.stop_tier()
    cluster.start_tier()
    first = cluster.run_nodes(1)[0]
    assert first.code == 0 and first.weights_ok(), first.stderr
    assert cluster.corrupt_tier_cache() > 0
    nodes = cluster.run_nodes(2)
    for n in nodes:
        assert n.code == 0, n.stderr
        assert n.weights_ok()
    said = "".join(n.stderr for n in nodes)
    assert "served a wrong copy of model.safetensors" in said, said
    assert "purged model.safetensors" in said, said
    later = cluster.run_nodes(1)[0]
    assert later.code == 0 and later.weights_ok(), later.stderr
    assert "wrong copy" not in later.stderr, later.stderr
