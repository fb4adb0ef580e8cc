"""Redirects and Authorization, connection pools (HTTP/2 and HTTP/1.1), `-i FILE` lists,
and --size. (--limit-rate: test_get_rate.py.)"""
import os

from ferrytest import MiB
from helpers import (assert_identical, assert_no_final_file, check_summary,
                     most_connections_open_at_once, run_ferry)

TOKEN = "Bearer secret-token-5f2b9c"


def test_cross_origin_redirect_drops_authorization(ferry_bin, nginx, files, out_dir):
    served = files["list-a.bin"]
    output = out_dir / "redirected.bin"
    mark = nginx.log_size()
    result = run_ferry(["get", f"{nginx.origin_a()}/redirect/{served.name}", "-o", output,
                        "--cacert", nginx.cacert, "--header", f"Authorization: {TOKEN}",
                        "--chunk-size", "1M", "--sha256", served.sha256, "--json", "-v"])
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    check_summary(result.json, size=served.size, sha256=served.sha256, path=output,
                  verified=True)
    logged = nginx.log_entries_since(mark)
    first = [e for e in logged if e["origin"] == "a"]
    second = [e for e in logged if e["origin"] == "b"]
    # the first origin saw only the redirecting request (with the token); no range went there
    assert first, "no request reached the first origin"
    assert {e["uri"] for e in first} == {f"/redirect/{served.name}"}
    assert {e["auth"] for e in first} == {"yes"}
    assert {e["status"] for e in first} == {302}
    # every byte came from the final URL on the second origin, none of them with the token
    assert second, "no request reached the second origin"
    assert {e["uri"] for e in second} == {f"/files/{served.name}"}
    assert {e["auth"] for e in second} == {"no"}
    assert len(second) >= 2, "a file of 8 chunks should take several ranged requests"
    # -v is a debug log, but the token never appears in it (nor in the JSON)
    secret = TOKEN.split()[1]
    assert secret not in result.stderr
    assert secret not in result.stdout
    assert result.stderr.strip(), "-v should log something on stderr"


def test_same_origin_redirect_keeps_authorization(ferry_bin, nginx, files, out_dir):
    served = files["list-b.bin"]
    output = out_dir / "same-origin.bin"
    mark = nginx.log_size()
    result = run_ferry(["get", f"{nginx.origin_a()}/redirect-same/{served.name}", "-o", output,
                        "--cacert", nginx.cacert, "--header", f"Authorization: {TOKEN}",
                        "--chunk-size", "1M", "-q"])
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    logged = [e for e in nginx.log_entries_since(mark) if e["origin"] == "a"]
    assert f"/redirect-same/{served.name}" in [e["uri"] for e in logged]
    data_requests = [e for e in logged if e["uri"] == f"/files/{served.name}"]
    assert data_requests
    assert {e["auth"] for e in data_requests} == {"yes"}


def test_http2_pool_is_bounded(ferry_bin, nginx, files, out_dir):
    served = files["pool.bin"]
    output = out_dir / "pooled.bin"
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                        "--connections", 2, "--streams", 4, "--chunk-size", "2M",
                        "--sha256", served.sha256, "--json"])
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    summary = result.json
    check_summary(summary, size=served.size, sha256=served.sha256, path=output, verified=True)
    assert 1 <= summary["connections"] <= 2
    logged = [e for e in nginx.log_entries_since(mark) if e["uri"] == f"/files/{served.name}"]
    # the file's requests, and one connection warm-up beside the probe (a one-byte range on
    # the second connection, engine/src/warmup.c): not a request of the file
    ranged = [e for e in logged if e["status"] == 206 and e["body_bytes"] > 1]
    assert len([e for e in logged if e["status"] == 206 and e["body_bytes"] == 1]) == 1
    assert len(ranged) >= served.size // (2 * MiB) - 1, "expected about one request per chunk"
    assert {e["proto"] for e in logged} == {"HTTP/2.0"}
    # nginx numbers connections: the server side agrees with --json
    assert len({e["conn"] for e in logged}) <= 2
    # several streams really ran on one connection
    assert max(e["conn_requests"] for e in logged) >= 4
    assert summary["requests"] >= len(ranged)


def test_input_file_many_downloads_one_pool(ferry_bin, nginx, files, out_dir):
    names = ["edge-0.bin", "edge-1.bin", "edge-1048575.bin", "edge-1048576.bin",
             "edge-1048577.bin", "list-a.bin", "list-b.bin"]
    lines = ["# a list of downloads", ""]
    expected = {}
    for i, name in enumerate(names):
        served = files[name]
        if name == "list-b.bin":  # URL only: default path in the current folder, no checksum
            lines.append(nginx.url(name))
            expected[str(out_dir / name)] = (served, False)
            continue
        target = out_dir / "sub" / f"out-{i}.bin" if i % 2 else out_dir / f"out-{i}.bin"
        if i == 1:  # URL and path, no checksum
            lines.append(f"{nginx.url(name)}   {target}")
            expected[str(target)] = (served, False)
        else:
            lines.append(f"{nginx.url(name)}\t{target} {served.sha256}")
            expected[str(target)] = (served, True)
    os.makedirs(out_dir / "sub", exist_ok=True)
    list_file = out_dir / "list.txt"
    list_file.write_text("\n".join(lines) + "\n")
    mark = nginx.log_size()
    result = run_ferry(["get", "-i", list_file, "--cacert", nginx.cacert, "--connections", 2,
                        "--chunk-size", "1M", "--json"], cwd=out_dir)
    assert result.returncode == 0, result.describe()
    for path, (served, _) in expected.items():
        assert_identical(path, served)
    summary = result.json
    assert summary["ok"] is True and summary["error"] is None
    assert summary["bytes"] == sum(served.size for served, _ in expected.values())
    assert len(summary["files"]) == len(names)
    # a relative path in the summary is relative to ferry's working folder
    by_path = {os.path.realpath(os.path.join(out_dir, f["path"])): f for f in summary["files"]}
    for path, (served, verified) in expected.items():
        entry = by_path[os.path.realpath(path)]
        assert entry["ok"] is True and entry["error"] is None
        assert entry["size"] == served.size
        assert entry["sha256"] == served.sha256
        assert entry["verified"] is verified
        assert entry["url"] == nginx.url(served.name)
    # one pool for all downloads: at most 2 connections in total, per ferry and per nginx
    assert 1 <= summary["connections"] <= 2
    logged = [e for e in nginx.log_entries_since(mark) if e["uri"].startswith("/files/")]
    assert len({e["conn"] for e in logged}) <= 2
    assert {e["uri"] for e in logged} == {f"/files/{n}" for n in names}


def test_input_file_with_a_wrong_checksum_fails_only_that_file(ferry_bin, nginx, files, out_dir):
    good, bad = files["list-a.bin"], files["list-b.bin"]
    list_file = out_dir / "list.txt"
    list_file.write_text(f"{nginx.url(good.name)} {out_dir / 'good.bin'} {good.sha256}\n"
                         f"{nginx.url(bad.name)} {out_dir / 'bad.bin'} {good.sha256}\n")
    result = run_ferry(["get", "-i", list_file, "--cacert", nginx.cacert, "--json"])
    assert result.returncode == 5, result.describe()
    assert_identical(out_dir / "good.bin", good)
    assert not (out_dir / "bad.bin").exists()
    summary = result.json
    assert summary["ok"] is False
    by_path = {os.path.realpath(f["path"]): f for f in summary["files"]}
    assert by_path[os.path.realpath(out_dir / "good.bin")]["ok"] is True
    assert by_path[os.path.realpath(out_dir / "bad.bin")]["ok"] is False


def test_http1_pool_is_bounded(ferry_bin, nginx, files, out_dir):
    served = files["pool.bin"]
    output = out_dir / "pooled-h1.bin"
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                        "--http1.1", "--connections", 3, "--chunk-size", "4M",
                        "--sha256", served.sha256, "--json"])
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    summary = result.json
    check_summary(summary, size=served.size, sha256=served.sha256, path=output, verified=True)
    # HTTP/1.1 cannot cancel a request without closing its connection (a split hole), so
    # more than 3 may be opened in all, but never more than 3 at once
    assert 1 <= summary["max_connections"] <= 3
    assert summary["connections"] >= summary["max_connections"]
    logged = [e for e in nginx.log_entries_since(mark) if e["uri"] == f"/files/{served.name}"]
    assert {e["proto"] for e in logged} == {"HTTP/1.1"}
    assert most_connections_open_at_once(logged) <= 3
    assert len([e for e in logged if e["status"] == 206]) >= served.size // (4 * MiB) - 1
    # connections are reused (keep-alive), not opened per request
    assert max(e["conn_requests"] for e in logged) >= 3


def test_wrong_expected_size_is_a_protocol_error(ferry_bin, nginx, files, out_dir):
    served = files["list-b.bin"]
    output = out_dir / "wrong-size.bin"
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                        "--size", served.size + 1, "--json"])
    assert result.returncode == 10, result.describe()
    assert_no_final_file(output)
    assert result.json["error"]["code"] == 10
    right = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                       "--size", served.size, "-q"])
    assert right.returncode == 0, right.describe()
    assert_identical(output, served)
