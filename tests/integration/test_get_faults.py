"""Faults injected by tests/support/faultproxy.py in front of nginx (plain HTTP/1.1).

Each fault ends in a byte-identical file, or, when it is permanent, in the documented exit code
and no file at PATH. Rules look only at GET requests with a Range header, so they hit the
chunk requests whatever the engine does for its first (probe) request.
"""
import os

from ferrytest import TIMEOUT_SCALE, MiB, sha256_file
from helpers import (EXIT_CHANGED, EXIT_CHECKSUM, EXIT_HTTP, EXIT_NETWORK, assert_identical,
                     assert_no_final_file, check_summary, run_ferry, same_bytes)

CHUNK_OPTIONS = ["--chunk-size", "4M", "--connections", 2]


def fetch_through_proxy(proxy, served, output, *extra, timeout=120):
    return run_ferry(["get", f"{proxy.base_url()}/files/{served.name}", "-o", output,
                      "--sha256", served.sha256, "--json", *CHUNK_OPTIONS, *extra],
                     timeout=timeout)


def ranged_gets(path):
    return {"path": path, "method": "GET", "ranged": True}


def assert_success(result, served, output):
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    summary = result.json
    check_summary(summary, size=served.size, sha256=served.sha256, path=output, verified=True)
    return summary


def test_connection_reset_mid_body(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "reset.bin"
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nths=[1, 3, 4],
                          action="reset", bytes=1_500_000)])
    mark = proxy.log_size()
    summary = assert_success(fetch_through_proxy(proxy, served, output), served, output)
    assert proxy.get_rules()[0]["fired"] == 3
    assert summary["retries"] >= 3
    # a reset chunk resumes from the bytes it already has: little is fetched twice
    assert summary["bytes_received"] <= served.size + 2 * MiB
    resets = [e for e in proxy.log_entries(mark) if e["faults"]]
    assert len(resets) == 3


def test_faults_over_tls(ferry_bin, nginx, tls_proxy, files, out_dir):
    """Resets and truncations inside TLS records (HTTPS, HTTP/1.1) are resumed the same way."""
    served = files["fault.bin"]
    output = out_dir / "tls-faults.bin"
    proxy_path = f"/files/{served.name}"
    tls_proxy.set_rules([dict(ranged_gets(proxy_path), nth=1, action="reset", bytes=1_000_000),
                         dict(ranged_gets(proxy_path), nth=3, action="truncate", bytes=900_000)])
    result = run_ferry(["get", tls_proxy.base_url() + proxy_path, "-o", output,
                        "--cacert", nginx.cacert, "--sha256", served.sha256, "--json",
                        *CHUNK_OPTIONS])
    summary = assert_success(result, served, output)
    assert [rule["fired"] for rule in tls_proxy.get_rules()] == [1, 1]
    assert summary["retries"] >= 2
    assert summary["bytes_received"] <= served.size + 2 * MiB


def test_truncated_body(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "truncated.bin"
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nths=[1, 2],
                          action="truncate", bytes=1_500_000)])
    summary = assert_success(fetch_through_proxy(proxy, served, output), served, output)
    assert proxy.get_rules()[0]["fired"] == 2
    assert summary["retries"] >= 2
    # a clean close loses nothing: the retries ask only for the rest of each range
    assert summary["bytes_received"] <= served.size + 512 * 1024


def test_server_errors_500_and_503(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "5xx.bin"
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nth=1, action="status",
                          status=500),
                     dict(ranged_gets(f"/files/{served.name}"), nths=[3, 4], action="status",
                          status=503)])
    summary = assert_success(fetch_through_proxy(proxy, served, output), served, output)
    fired = [rule["fired"] for rule in proxy.get_rules()]
    assert fired == [1, 2]
    assert summary["retries"] >= 3


def test_429_retry_after_is_honoured(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "429.bin"
    wait = 3
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nth=2, action="status",
                          status=429, retry_after=wait)])
    mark = proxy.log_size()
    summary = assert_success(fetch_through_proxy(proxy, served, output), served, output)
    assert summary["retries"] >= 1
    entries = [e for e in proxy.log_entries(mark) if e["path"] == f"/files/{served.name}"]
    refused = [e for e in entries if e["status"] == 429]
    assert len(refused) == 1
    start = refused[0]["range"].split("=")[1].split("-")[0]
    retried = [e for e in entries if e["n"] > refused[0]["n"]
               and e["range"].startswith(f"bytes={start}-")]
    assert retried, f"the refused range {refused[0]['range']} was never asked again"
    waited = retried[0]["time"] - refused[0]["time"]
    assert wait - 0.3 <= waited <= wait + 5 * TIMEOUT_SCALE, \
        f"retried after {waited:.2f}s, Retry-After {wait}s"
    assert summary["seconds"] >= wait - 0.3


def test_stalled_response_is_reissued(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "stall.bin"
    stall_timeout, sent_before_stall = 2, 200_000
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nth=2, action="stall",
                          bytes=sent_before_stall, seconds=60)])
    mark = proxy.log_size()
    result = fetch_through_proxy(proxy, served, output, "--stall-timeout", stall_timeout)
    summary = assert_success(result, served, output)
    assert proxy.get_rules()[0]["fired"] == 1
    assert summary["retries"] >= 1
    entries = [e for e in proxy.log_entries(mark) if e["path"] == f"/files/{served.name}"]
    stalled = [e for e in entries if e["faults"]][0]
    start = int(stalled["range"].split("=")[1].split("-")[0])
    # the range is asked again from the bytes already received, once nothing came for
    # --stall-timeout seconds (the stalled request sent its bytes at once, then nothing)
    resumed_at = f"bytes={start + sent_before_stall}-"
    again = [e for e in entries if e["n"] > stalled["n"] and e["range"].startswith(resumed_at)]
    assert again, f"no request resumed the stalled range at {resumed_at}: " \
                  f"{[e['range'] for e in entries]}"
    waited = again[0]["time"] - stalled["time"]
    assert stall_timeout - 0.5 <= waited <= stall_timeout + 2.5 * TIMEOUT_SCALE, \
        f"re-issued {waited:.1f}s after the stall began (--stall-timeout {stall_timeout})"
    assert result.seconds <= 20 * TIMEOUT_SCALE, result.seconds


def test_server_ignoring_range(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "norange.bin"
    proxy.set_rules([{"path": f"/files/{served.name}", "action": "ignore_range"}])
    mark = proxy.log_size()
    summary = assert_success(fetch_through_proxy(proxy, served, output), served, output)
    entries = [e for e in proxy.log_entries(mark) if e["path"] == f"/files/{served.name}"]
    assert {e["status"] for e in entries} == {200}
    # handled as one stream: one answer carried the whole file, not one per planned chunk
    assert [e["body_bytes"] for e in entries].count(served.size) >= 1
    assert served.size <= summary["bytes_received"] <= served.size + 4 * MiB


def test_file_changed_after_first_request_is_never_stitched(ferry_bin, proxy, files, out_dir):
    old, new = files["change-v1.bin"], files["change-v2.bin"]
    output = out_dir / "changed.bin"
    # the first GET sees the old file; every later one the new file (other bytes and ETag)
    proxy.set_rules([{"path": f"/files/{old.name}", "method": "GET", "after": 1,
                      "action": "swap", "to": f"/files/{new.name}"}])
    mark = proxy.log_size()
    result = run_ferry(["get", f"{proxy.base_url()}/files/{old.name}", "-o", output, "--json",
                        *CHUNK_OPTIONS])
    gets = [e for e in proxy.log_entries(mark) if e["method"] == "GET"]
    if result.returncode == 0:
        # the complete new version; the old one only if a single request carried all of it
        if same_bytes(output, new.path):
            assert result.json["sha256"] == new.sha256
        else:
            assert len(gets) == 1 and same_bytes(output, old.path), \
                "the result is neither version: stitched from both"
    else:
        assert result.returncode == EXIT_CHANGED, result.describe()
        assert_no_final_file(output)
        assert result.json["error"]["code"] == EXIT_CHANGED


def test_file_changed_behind_a_server_ignoring_validators(ferry_bin, proxy, files, out_dir):
    """The server ignores If-Match/If-Range (as some CDNs do): only the ETag of each 206 shows
    the change, and it must be checked."""
    old, new = files["change-v1.bin"], files["change-v2.bin"]
    output = out_dir / "changed-no-validators.bin"
    proxy.set_rules([{"path": f"/files/{old.name}", "method": "GET", "after": 1,
                      "action": "swap", "to": f"/files/{new.name}"},
                     {"path": f"/files/{old.name}", "action": "strip_conditionals"}])
    mark = proxy.log_size()
    result = run_ferry(["get", f"{proxy.base_url()}/files/{old.name}", "-o", output, "--json",
                        *CHUNK_OPTIONS])
    gets = [e for e in proxy.log_entries(mark) if e["method"] == "GET"]
    assert gets[1]["status"] == 206, "the proxy should have let a changed range through"
    if result.returncode == 0:
        assert same_bytes(output, new.path), "the result is not the new version: stitched"
        assert result.json["sha256"] == new.sha256
    else:
        assert result.returncode == EXIT_CHANGED, result.describe()
        assert_no_final_file(output)


def test_file_changing_on_every_request_is_an_error_or_one_version(ferry_bin, proxy, files,
                                                                    out_dir):
    old, new = files["change-v1.bin"], files["change-v2.bin"]
    output = out_dir / "flapping.bin"
    # odd-numbered GETs see the new file, even ones the old: the file never holds still
    proxy.set_rules([{"path": f"/files/{old.name}", "method": "GET",
                      "nths": list(range(1, 1000, 2)), "action": "swap",
                      "to": f"/files/{new.name}"}])
    result = run_ferry(["get", f"{proxy.base_url()}/files/{old.name}", "-o", output, "--json",
                        "--retries", 3, *CHUNK_OPTIONS], timeout=120)
    if result.returncode == 0:
        digest = sha256_file(output)
        assert digest in (old.sha256, new.sha256), "stitched from two versions"
        assert result.json["sha256"] == digest
    else:
        assert result.returncode == EXIT_CHANGED, result.describe()
        assert_no_final_file(output)


def test_changed_file_with_expected_checksum_of_new_version(ferry_bin, proxy, files, out_dir):
    """With --sha256 of the new version, a change after the first request must still end in the
    new file (restart cleanly) or a clear error, never a checksum failure from stitching."""
    old, new = files["change-v1.bin"], files["change-v2.bin"]
    output = out_dir / "changed-verified.bin"
    proxy.set_rules([{"path": f"/files/{old.name}", "method": "GET", "after": 1,
                      "action": "swap", "to": f"/files/{new.name}"}])
    mark = proxy.log_size()
    result = run_ferry(["get", f"{proxy.base_url()}/files/{old.name}", "-o", output, "--json",
                        "--sha256", new.sha256, *CHUNK_OPTIONS])
    gets = [e for e in proxy.log_entries(mark) if e["method"] == "GET"]
    if result.returncode == 0:
        assert_identical(output, new)
    elif len(gets) == 1:  # one request carried the whole old file: a true mismatch
        assert result.returncode == EXIT_CHECKSUM, result.describe()
        assert_no_final_file(output)
    else:
        assert result.returncode == EXIT_CHANGED, result.describe()
        assert_no_final_file(output)


def test_permanent_reset_exhausts_retries(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "always-reset.bin"
    proxy.set_rules([{"path": f"/files/{served.name}", "action": "reset", "bytes": 1000}])
    result = fetch_through_proxy(proxy, served, output, "--retries", 2, timeout=120)
    assert result.returncode == EXIT_NETWORK, result.describe()
    assert_no_final_file(output)
    error = result.json["error"]
    assert error["code"] == EXIT_NETWORK
    assert served.name in error["message"], "the error names the URL"


def test_permanent_503_exhausts_retries(ferry_bin, proxy, files, out_dir):
    served = files["fault.bin"]
    output = out_dir / "always-503.bin"
    proxy.set_rules([{"path": f"/files/{served.name}", "action": "status", "status": 503}])
    result = fetch_through_proxy(proxy, served, output, "--retries", 2, timeout=120)
    assert result.returncode == EXIT_HTTP, result.describe()
    assert_no_final_file(output)
    error = result.json["error"]
    assert error["code"] == EXIT_HTTP
    assert error["http_status"] == 503
    assert served.name in error["message"], "the error names the URL"
    assert "503" in error["message"], "the error names the HTTP status"
    assert not os.path.exists(output)


def test_reset_in_a_small_file_loses_no_bytes(ferry_bin, proxy, files, out_dir):
    """A file under 4 MiB has no journal, so a cut request's partly filled block is not kept:
    the retry must start where that block began, not where the bytes stopped. (It started at
    the cursor: the bytes in between were never fetched again, and ferry waited forever.)"""
    served = files["list-b.bin"]  # 3 MiB + 12345: no journal
    output = out_dir / "small-reset.bin"
    proxy.set_rules([dict(ranged_gets(f"/files/{served.name}"), nth=1, action="reset",
                          bytes=114_481)])
    result = fetch_through_proxy(proxy, served, output, "--chunk-size", "1M")
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
