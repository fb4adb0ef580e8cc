"""A hostile server (tests/support/hostile.py) against `ferry get`: every answer ends in a
bounded time with a clear error, and nothing wrong is left at the output path.

Issue 13's defects tested here: a trickling body or trickling headers never trip a check
based on the last byte's time (4); a huge Retry-After makes ferry sleep for a day (5); --json
prints the URL's secrets (6); --header credentials follow a redirect to another origin (7); an
unparseable or conflicting Content-Length is taken as "no length" and a short file passes (8);
a 1 MiB header is reported as out of memory (10).

The hostile-server cases of issue 13 that `ferry get` meets, and where each is tested:
  200 to a Range                          test_get_faults.py::test_server_ignoring_range
  Content-Range shifted or missing        here: test_lying_range_answer
  a total negative, garbage or 4 EiB      here: test_lying_range_answer
  Content-Length not the range's span     here: test_lying_range_answer
  Content-Length long (body cut short)    here: test_short_body_is_never_success
  Content-Length unparseable, two of them here: test_malformed_answer_is_a_protocol_error
  a total that changes between requests   here: test_lying_range_answer ("grow");
                                          a changed ETag: test_get_faults.py (file_changed...)
  redirect loops, A-B loops, no Location  here: test_bad_redirect
  redirects to file:, ftp:, garbage       here: test_bad_redirect
  a 1 MiB header, 100,000 headers         here: test_malformed_answer_is_a_protocol_error
  garbage, non-HTTP, HTTP/0.9 answers     here: test_not_an_http_answer
  bad chunked bodies                      here: test_bad_chunked_body
  RST before any byte                     here: test_reset_before_any_byte
  RST mid-body, cut bodies, stalls, 5xx   test_get_faults.py (the fault proxy)
  trickles, Retry-After, header origins, secrets in --json: the tests below
The hub-side cases (tree listings, commits, oids, sizes, Link pages, long names):
tests/download/test_hostile_hub.py. Issue 13's other defects, each with its test elsewhere:
  1  two gets on one output        test_get_hardening.py::test_second_get_on_the_same_output_...
  2  token through a Link page     tests/download/test_token_scope.py
  3  planted symlinks              test_get_hardening.py::test_planted_symlink_is_refused,
                                   tests/download/test_planted_links.py
  9  parts journaled when accepted tests/upload/test_upload_crash.py (..._as_soon_as_...)
  11 same content in a snapshot   tests/download/test_same_content.py; a 6,000-byte name:
                                   tests/download/test_hostile_hub.py
  12 a cut request's bytes kept    test_get_crash.py::test_kill_9_loses_little_of_slow_requests"""
import os
import signal
import subprocess
import time

import pytest

from ferrytest import FERRY_BIN, TIMEOUT_SCALE
from hostile import file_bytes, hostile_server

EXIT_NETWORK, EXIT_HTTP, EXIT_IO, EXIT_DISK_FULL, EXIT_CHANGED = 3, 4, 6, 7, 8
EXIT_PROTOCOL, EXIT_INTERRUPTED = 10, 130


def get(url, out, *flags, timeout=60):
    t0 = time.monotonic()
    r = subprocess.run([FERRY_BIN, "get", url, "-o", str(out), *flags], capture_output=True,
                       text=True, timeout=timeout * TIMEOUT_SCALE)
    r.seconds = time.monotonic() - t0
    return r


def nothing_at(out):
    return not os.path.exists(out) and not os.path.exists(str(out) + ".part")


def nothing_left(folder):
    """Nothing at all in the output's folder: no file, .part, journal or lock."""
    return os.listdir(folder) == []


@pytest.mark.parametrize("path", ["/trickle-body", "/trickle-headers"])
def test_trickle_is_a_stall(tmp_path, path):
    """A byte (or a short header line) every 0.2 s keeps "the last byte" fresh, so a check of
    its time never fires; the low-speed rule (under 1 KiB/s over the stall window, headers
    count) re-issues the request, and after the retries ferry gives up."""
    with hostile_server() as srv:
        out = tmp_path / "slow.bin"
        r = get(srv.url(path), out, "--stall-timeout", "2", "--retries", "1")
        assert r.returncode == EXIT_NETWORK, (r.returncode, r.stderr)
        assert "too slow" in r.stderr, r.stderr
        assert r.seconds < 20 * TIMEOUT_SCALE, r.seconds
        assert len(srv.headers_of(path)) == 2  # re-issued once, then failed
        assert nothing_at(out)


def test_limit_rate_is_not_a_stall(tmp_path):
    """The control: --limit-rate 2K makes a request legitimately slower than 1 KiB/s... per
    request share; the low-speed limit scales down with it, so the file arrives."""
    with hostile_server() as srv:
        out = tmp_path / "capped.bin"
        r = get(srv.url("/ok/12000"), out, "--limit-rate", "2K", "--stall-timeout", "2",
                "--connections", "1", "--streams", "1")
        assert r.returncode == 0, r.stderr
        assert os.path.getsize(out) == 12000
        assert len(srv.headers_of("/ok/12000")) == 1  # never re-issued as "too slow"


@pytest.mark.parametrize("path,asked", [("/wait/99999999", "99999999"),
                                        ("/ratelimit/99999", "99999")])
def test_huge_retry_after_fails_at_once(tmp_path, path, asked):
    """Retry-After: 99999999 (or a RateLimit reset in 99999 s: the one retry policy,
    engine/src/retry.c) is beyond the one cap (120 s) for every request kind: the request
    fails with a clear error instead of sleeping for three years."""
    with hostile_server() as srv:
        out = tmp_path / "wait.bin"
        r = get(srv.url(path), out, "--retries", "2")
        assert r.returncode == EXIT_HTTP, (r.returncode, r.stderr)
        assert asked in r.stderr and "120" in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert len(srv.headers_of(path)) == 1
        assert nothing_at(out)


@pytest.mark.parametrize("path", ["/wait-once/2", "/ratelimit-once/2"])
def test_retry_after_wait_is_announced_and_honoured(tmp_path, path):
    """A wait within the cap (Retry-After, or a RateLimit reset) is honoured, and said on
    stderr without -v."""
    with hostile_server() as srv:
        out = tmp_path / "once.bin"
        r = get(srv.url(path), out)
        assert r.returncode == 0, r.stderr
        assert "wait 2 s" in r.stderr, r.stderr
        assert r.seconds >= 2
        assert os.path.getsize(out) == 1000


def test_ctrl_c_ends_a_retry_after_wait(tmp_path):
    with hostile_server() as srv:
        out = tmp_path / "interrupted.bin"
        p = subprocess.Popen([FERRY_BIN, "get", srv.url("/wait/100"), "-o", str(out)],
                             stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not srv.headers_of("/wait/100") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        assert p.returncode == EXIT_INTERRUPTED, err
        assert time.monotonic() - t0 < 3 * TIMEOUT_SCALE
        assert "wait 100 s" in err, err


@pytest.mark.parametrize("path,says", [("/huge-length", "Content-Length"),
                                       ("/two-lengths", "Content-Length"),
                                       ("/big-header", "header"), ("/many-headers", "header")])
def test_malformed_answer_is_a_protocol_error(tmp_path, path, says):
    """An unparseable or conflicting Content-Length is not "no length" (read to EOF, a short
    file, exit 0, as before); oversized headers are not "out of memory" (libcurl 7.88's
    word for them)."""
    with hostile_server() as srv:
        out = tmp_path / "answer.bin"
        r = get(srv.url(path), out, "--retries", "1")
        assert r.returncode == EXIT_PROTOCOL, (r.returncode, r.stderr)
        assert says in r.stderr and "out of memory" not in r.stderr, r.stderr
        assert nothing_at(out)


def test_short_body_is_never_success(tmp_path):
    """The control for the length checks: a parseable length with a short body is a broken
    transfer, retried, then an error; never a 1,000-byte file."""
    with hostile_server() as srv:
        out = tmp_path / "short.bin"
        r = get(srv.url("/short-body"), out, "--retries", "2")
        assert r.returncode != 0, r.stderr
        assert not os.path.exists(out)


CREDENTIALS = {"cookie": "session=s3cret", "x-api-key": "k3y", "proxy-authorization": "Basic cHJv",
               "authorization": "Bearer t0ken"}


def test_given_headers_stay_on_their_origin(tmp_path):
    """--header values go only to the origin of the URL they were given for (curl drops Cookie
    there too: CVE-2022-27776), like Authorization; ferry's own headers go everywhere."""
    with hostile_server() as a, hostile_server() as b:
        out = tmp_path / "redirected.bin"
        flags = [x for k, v in CREDENTIALS.items() for x in ("--header", f"{k}: {v}")]
        r = get(a.url("/redirect?to=" + b.url("/ok/4096")), out, *flags)
        assert r.returncode == 0, r.stderr
        sent_a = a.headers_of("/redirect")
        sent_b = b.headers_of("/ok/4096")
        assert sent_a and all(h.get(k) == v for h in sent_a for k, v in CREDENTIALS.items())
        assert sent_b and all(k not in h for h in sent_b for k in CREDENTIALS), sent_b
        assert all(h.get("user-agent", "").startswith("ferry/") and "range" in h for h in sent_b)
        for secret in CREDENTIALS.values():
            assert secret not in r.stdout + r.stderr


def test_location_trusted_sends_them_everywhere(tmp_path):
    """curl's --location-trusted: the user says the other origin may have them."""
    with hostile_server() as a, hostile_server() as b:
        out = tmp_path / "trusted.bin"
        flags = [x for k, v in CREDENTIALS.items() for x in ("--header", f"{k}: {v}")]
        r = get(a.url("/redirect?to=" + b.url("/ok/4096")), out, *flags, "--location-trusted")
        assert r.returncode == 0, r.stderr
        sent_b = b.headers_of("/ok/4096")
        assert sent_b and all(h.get(k) == v for h in sent_b for k, v in CREDENTIALS.items())


def test_json_url_holds_no_secret(tmp_path):
    """The url in --json (and every message) drops user:pass@ and every query value: signed
    CDN URLs carry their signatures there."""
    with hostile_server() as srv:
        out = tmp_path / "signed.bin"
        url = srv.url("/ok/100").replace("http://", "http://user:pa55word@") + \
            "?token=t0psecret&X-Amz-Signature=s1gnature"
        r = get(url, out, "--json")
        assert r.returncode == 0, r.stderr
        for secret in ("pa55word", "t0psecret", "s1gnature", "user:"):
            assert secret not in r.stdout + r.stderr, (secret, r.stdout)
        missing = get(url.replace("/ok/100", "/nothing"), tmp_path / "404.bin", "--json")
        assert missing.returncode == EXIT_HTTP
        for secret in ("pa55word", "t0psecret", "s1gnature"):
            assert secret not in missing.stdout + missing.stderr, (secret, missing.stdout)


SIZE = 3_000_000  # several requests at the default chunk size, and no journal (under 4 MiB)


def test_range_control(tmp_path):
    """The control of the range cases: the same server telling the truth."""
    with hostile_server() as srv:
        out = tmp_path / "ok.bin"
        r = get(srv.url(f"/range/ok/{SIZE}"), out, "--chunk-size", "1M", "--connections", "1")
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == file_bytes(SIZE)
        assert len(srv.headers_of(f"/range/ok/{SIZE}")) >= 2  # ranges, not one stream


@pytest.mark.parametrize("mode,code,says", [
    ("shift", EXIT_PROTOCOL, "Content-Range starts at 7, asked 0"),
    ("nocr", EXIT_PROTOCOL, "partial answer without a usable Content-Range"),
    # refused at the headers: read to the short length, the rest of the range would sit on
    # the connection as the next "answer"; a long one would end in a cut transfer, retried
    ("shortlen", EXIT_PROTOCOL,
     "Content-Length 524288 does not match Content-Range 1048576-2097151"),
    ("longlen", EXIT_PROTOCOL,
     "Content-Length 1049576 does not match Content-Range 1048576-2097151"),
    ("grow", EXIT_CHANGED, "the remote file changed"),
    ("negative", EXIT_PROTOCOL, "partial answer without a usable Content-Range"),
    ("garbage", EXIT_PROTOCOL, "partial answer without a usable Content-Range"),
    # 4 EiB is a size, so ferry reserves it: the file system says no (EFBIG or ENOSPC)
    ("huge", (EXIT_IO, EXIT_DISK_FULL), "cannot reserve 4611686018427387904 bytes"),
])
def test_lying_range_answer(tmp_path, mode, code, says):
    """206 answers whose Content-Range or Content-Length do not match what was asked, or
    whose total changes from one request to the next: an error, never bytes at the wrong
    offset nor a file stitched from two sizes."""
    with hostile_server() as srv:
        out = tmp_path / "lying.bin"
        r = get(srv.url(f"/range/{mode}/{SIZE}"), out, "--chunk-size", "1M", "--connections",
                "1", "--retries", "2", timeout=30)
        assert r.returncode in (code if isinstance(code, tuple) else (code,)), \
            (r.returncode, r.stderr)
        assert says in r.stderr, r.stderr
        assert r.seconds < 15 * TIMEOUT_SCALE, r.seconds
        assert nothing_left(tmp_path), os.listdir(tmp_path)


@pytest.mark.parametrize("path,code,says", [
    ("/loop", EXIT_PROTOCOL, "more than 10 redirects"),
    ("/ping", EXIT_PROTOCOL, "more than 10 redirects"),  # A -> B -> A ...
    ("/no-location", EXIT_PROTOCOL, "redirect without Location"),
    ("/redirect?to=file:///etc/passwd", EXIT_PROTOCOL,
     "redirects to file:///etc/passwd: not an http or https URL"),
    ("/redirect?to=ftp://127.0.0.1:1/x", EXIT_PROTOCOL,
     "redirects to ftp://127.0.0.1:1/x: not an http or https URL"),
    ("/redirect?to=http://[::1", EXIT_PROTOCOL,
     "redirects to (unparsable URL): not an http or https URL"),
])
def test_bad_redirect(tmp_path, path, code, says):
    """A redirect that goes round in circles, nowhere, or out of HTTP: the error says
    which (libcurl alone would say "unsupported protocol" or "bad URL" of a URL the user
    never gave); nothing is read from the other scheme."""
    with hostile_server() as a, hostile_server() as b:
        a.peer, b.peer = b, a
        out = tmp_path / "redirected.bin"
        r = get(a.url(path), out, timeout=30)
        assert r.returncode == code, (r.returncode, r.stderr)
        assert says in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert nothing_left(tmp_path), os.listdir(tmp_path)
        if path == "/ping":
            assert a.headers_of("/ping") and b.headers_of("/ping")  # it did bounce


@pytest.mark.parametrize("path", ["/garbage", "/not-http", "/http09"])
def test_not_an_http_answer(tmp_path, path):
    """Random bytes, an SSH banner, a body without a status line: not HTTP (libcurl's
    HTTP/0.9 is off), a protocol error at once."""
    with hostile_server() as srv:
        out = tmp_path / "garbage.bin"
        r = get(srv.url(path), out, "--retries", "1", timeout=30)
        assert r.returncode == EXIT_PROTOCOL, (r.returncode, r.stderr)
        assert "malformed or unexpected server answer" in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert nothing_left(tmp_path), os.listdir(tmp_path)


@pytest.mark.parametrize("mode,says", [
    ("badhex", "hexadecimal sequence in chunked-encoding"),
    ("huge", "hexadecimal number in chunked-encoding"),
    ("cut", "closed early"),
    ("noend", "closed early"),
])
def test_bad_chunked_body(tmp_path, mode, says):
    """A chunked body with a bad or huge chunk size, a chunk cut short, no last chunk: a
    broken transfer (retried, as a cut connection is), then an error; never a file."""
    with hostile_server() as srv:
        out = tmp_path / "chunked.bin"
        r = get(srv.url(f"/chunked/{mode}"), out, "--retries", "1", timeout=30)
        assert r.returncode == EXIT_NETWORK, (r.returncode, r.stderr)
        assert says in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert nothing_left(tmp_path), os.listdir(tmp_path)
        assert len(srv.headers_of(f"/chunked/{mode}")) == 2  # retried once, then failed


def test_reset_before_any_byte(tmp_path):
    """The request read, then an RST: retried, then a network error naming the reset."""
    with hostile_server() as srv:
        out = tmp_path / "reset.bin"
        r = get(srv.url("/rst"), out, "--retries", "2", timeout=30)
        assert r.returncode == EXIT_NETWORK, (r.returncode, r.stderr)
        assert "connection reset" in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert len(srv.headers_of("/rst")) == 3
        assert nothing_left(tmp_path), os.listdir(tmp_path)
