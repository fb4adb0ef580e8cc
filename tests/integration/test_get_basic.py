"""`ferry get` against nginx: edge sizes, 1 GiB, protocols, --json, checksums, TLS trust, errors."""
import os

import pytest

from conftest import EDGE_SIZES
from ferrytest import MiB
from helpers import (EXIT_CHECKSUM, EXIT_HTTP, EXIT_TLS, assert_identical, assert_no_final_file,
                     check_summary, run_ferry)

# protocol name -> (URL scheme, extra ferry options, protocol nginx must log)
PROTOCOLS = {
    "h2": ("https", [], "HTTP/2.0"),
    "http1.1": ("https", ["--http1.1"], "HTTP/1.1"),
    "plain": ("http", [], "HTTP/1.1"),
}


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize("size", EDGE_SIZES)
def test_edge_sizes(ferry_bin, nginx, files, out_dir, protocol, size):
    scheme, options, logged_protocol = PROTOCOLS[protocol]
    served = files[f"edge-{size}.bin"]
    output = out_dir / served.name
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(served.name, scheme=scheme), "-o", output,
                        "--cacert", nginx.cacert, "--chunk-size", "1M", "--sha256", served.sha256,
                        "--json"] + options)
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    summary = result.json
    check_summary(summary, size=size, sha256=served.sha256, path=output, verified=True)
    assert summary["resumed_bytes"] == 0
    assert summary["bytes_received"] >= size
    assert summary["retries"] == 0
    assert summary["requests"] >= 1 and summary["connections"] >= 1
    logged = [e for e in nginx.log_entries_since(mark) if e["uri"] == f"/files/{served.name}"]
    assert logged, "nginx logged no request for the file"
    assert {e["proto"] for e in logged} == {logged_protocol}
    assert sum(e["body_bytes"] for e in logged if e["status"] in (200, 206)) >= size


@pytest.mark.parametrize("protocol", ["h2", "plain"])
def test_one_gib(ferry_bin, nginx, big_file, files, out_dir, protocol):
    scheme, options, logged_protocol = PROTOCOLS[protocol]
    # a 64 MiB download with the same options first: peak RSS must not grow with file size
    small = files["pool.bin"]
    baseline = run_ferry(["get", nginx.url(small.name, scheme=scheme), "-o", out_dir / "small.bin",
                          "--cacert", nginx.cacert, "--json"] + options)
    assert baseline.returncode == 0, baseline.describe()
    output = out_dir / "big.bin"
    mark = nginx.log_size()
    result = run_ferry(["get", nginx.url(big_file.name, scheme=scheme), "-o", output,
                        "--cacert", nginx.cacert, "--sha256", big_file.sha256, "--json"] + options,
                       timeout=120)
    assert result.returncode == 0, result.describe()
    assert_identical(output, big_file)
    summary = result.json
    check_summary(summary, size=big_file.size, sha256=big_file.sha256, path=output, verified=True)
    assert summary["bytes_received"] >= big_file.size
    assert summary["bytes_received"] - summary["bytes_refetched"] <= big_file.size
    # bounded memory: the budget does not grow with the file (the benchmark target is 64 MiB)
    assert summary["peak_rss"] <= 256 * MiB, summary["peak_rss"]
    assert summary["peak_rss"] <= baseline.json["peak_rss"] + 16 * MiB, \
        f"peak RSS {summary['peak_rss']} for 1 GiB vs {baseline.json['peak_rss']} for 64 MiB"
    assert summary["peak_memory"] <= baseline.json["peak_memory"] + 8 * MiB
    logged = [e for e in nginx.log_entries_since(mark) if e["uri"] == f"/files/{big_file.name}"]
    assert {e["proto"] for e in logged} == {logged_protocol}
    assert len([e for e in logged if e["status"] == 206]) >= 2, "expected parallel ranges"
    os.unlink(output)


def test_without_sha256_still_hashes(ferry_bin, nginx, files, out_dir):
    served = files["list-b.bin"]
    output = out_dir / "unverified.bin"
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                        "--json"])
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)
    check_summary(result.json, size=served.size, sha256=served.sha256, path=output,
                  verified=False)


def test_sha256_mismatch_leaves_no_file(ferry_bin, nginx, files, out_dir):
    served = files["list-b.bin"]
    output = out_dir / "mismatch.bin"
    wrong = files["list-a.bin"].sha256
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                        "--sha256", wrong, "--json"])
    assert result.returncode == EXIT_CHECKSUM, result.describe()
    assert_no_final_file(output)
    summary = result.json
    assert summary["ok"] is False
    assert summary["error"]["code"] == EXIT_CHECKSUM
    assert summary["files"][0]["verified"] is False
    assert summary["files"][0]["ok"] is False


def test_default_path_and_quiet(ferry_bin, nginx, files, out_dir):
    served = files["edge-1048577.bin"]
    result = run_ferry(["get", nginx.url(served.name), "--cacert", nginx.cacert, "-q"],
                       cwd=out_dir)
    assert result.returncode == 0, result.describe()
    assert result.stdout == ""
    assert_identical(out_dir / served.name, served)
    assert not (out_dir / f"{served.name}.part").exists()
    assert not (out_dir / f"{served.name}.part.journal").exists()


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_cacert_from_environment(ferry_bin, nginx, files, out_dir, variable):
    served = files["edge-1048575.bin"]
    output = out_dir / "env-ca.bin"
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "CURL_CA_BUNDLE")}
    env[variable] = nginx.cacert
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "-q"], env=env)
    assert result.returncode == 0, result.describe()
    assert_identical(output, served)


def test_untrusted_certificate_is_a_tls_error(ferry_bin, nginx, files, out_dir):
    served = files["edge-1.bin"]
    output = out_dir / "untrusted.bin"
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "CURL_CA_BUNDLE")}
    result = run_ferry(["get", nginx.url(served.name), "-o", output, "--json"], env=env)
    assert result.returncode == EXIT_TLS, result.describe()
    assert_no_final_file(output)
    assert result.json["error"]["code"] == EXIT_TLS


def test_not_found_is_an_http_error(ferry_bin, nginx, out_dir):
    output = out_dir / "missing.bin"
    result = run_ferry(["get", nginx.url("no-such-file.bin"), "-o", output,
                        "--cacert", nginx.cacert, "--json"])
    assert result.returncode == EXIT_HTTP, result.describe()
    assert_no_final_file(output)
    error = result.json["error"]
    assert error["code"] == EXIT_HTTP
    assert error["http_status"] == 404
    assert "no-such-file.bin" in error["message"] or "no-such-file.bin" in result.stderr
