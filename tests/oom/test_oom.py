"""Allocation failures: one `ferry get` (nginx, HTTPS) and one `ferry download` (the local hub)
with the Nth allocation failing, for many N. Each run must end by itself, with success or a
non-zero exit and ferry's message, without a crash, a sanitizer report or a leak of ferry's
(leaks inside a library on its own out-of-memory path are suppressed by function name in
lsan.supp), and with no wrong file at a final path.

The binary is build-asan/ferry-oom (env FERRY_OOM_BIN): the command line linked with
oomshim.c, which counts ferry's allocations (-Wl,--wrap) and those of OpenSSL, libcurl,
jansson and libuv (their allocator hooks) and fails the FERRY_OOM_NTH-th.

Which N: a first run counts the allocations (T). By default the first 10 and FERRY_OOM_SAMPLES
(20) more spread over 11..T, shifted by a seed printed with the results (FERRY_OOM_SEED to
repeat one); FERRY_OOM_ALL=1 (tests/oom/run-long) sweeps every N from 1 to T.
Run:  /usr/bin/python3 -m pytest tests/oom -q
"""
import glob
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

from cachecheck import repo_etags, wrong_in_cache
from ferrytest import REPO, sha256_file
from hubtest import running_hub
from nginx import Nginx

OOM_BIN = os.environ.get("FERRY_OOM_BIN", os.path.join(REPO, "build-asan", "ferry-oom"))
SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
SAMPLES = int(os.environ.get("FERRY_OOM_SAMPLES", "20"))
SWEEP_ALL = os.environ.get("FERRY_OOM_ALL") == "1"
RUN_TIMEOUT = 45  # seconds, not scaled (ferry-oom is always ASan): a run takes 1-3 s, ferry's
# stall timeout is 20 s; a run that lasts longer hangs
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")
GET_SIZE = 3 * 1024 * 1024 + 4321


@pytest.fixture(scope="session")
def oom_bin():
    assert os.access(OOM_BIN, os.X_OK), \
        f"{OOM_BIN} not found: build the ASan tree (cmake -DFERRY_ASAN=ON), target ferry-oom"
    return OOM_BIN


@pytest.fixture(scope="session")
def nginx(tmp_path_factory):
    root = tmp_path_factory.mktemp("oom-docroot")
    with open(root / "data.bin", "wb") as f:
        f.write(os.urandom(GET_SIZE))
    server = Nginx(str(root), str(tmp_path_factory.mktemp("oom-nginx")))
    server.start()
    yield server, str(root / "data.bin")
    server.stop()


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("oom-hub"), "--seed", "--seed-size", "2M") as h:
        yield h


def run(args, env_extra, nth, report=None, trace=False):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86:fast_unwind_on_malloc=0",
           "LSAN_OPTIONS": f"suppressions={SUPPRESSIONS}:print_suppressions=0",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    env.update(env_extra)
    if nth:
        env["FERRY_OOM_NTH"] = str(nth)
    if report:
        env["FERRY_OOM_REPORT"] = report
    if trace:
        env["FERRY_OOM_TRACE"] = "1"
    try:
        done = subprocess.run([OOM_BIN] + args, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stderr


# Libraries that call abort() when one of their own allocations fails, by design: libuv 1.44
# does (uv__io_start's resize of its watcher table, reached from uv_loop_init). A SIGABRT whose
# failed allocation was made in such a library's own code (the frame right after the shim's)
# is that library's behaviour, not ferry's: counted apart, as lsan.supp does for leaks.
ABORTING_LIBRARIES = ("libuv.so",)


def aborted_in_library(traced):
    frames = [line for line in traced.splitlines() if line.strip().startswith("#")]
    for i, frame in enumerate(frames[:-1]):
        if "__wrap_" in frame or "_malloc in" in frame or "_realloc in" in frame:
            continue
        if i and ("__wrap_" in frames[i - 1] or "fail_now" in frames[i - 1]):
            return any(lib in frame for lib in ABORTING_LIBRARIES)
    return False


def problems_of(code, stderr, wrong_files):
    """What is wrong with one run, or [] (success or a clean failure)."""
    found = []
    if code is None:
        found.append(f"did not end within {RUN_TIMEOUT}s")
    elif code < 0:
        found.append(f"killed by signal {-code}")
    if any(mark in stderr for mark in SANITIZER_MARKS):
        found.append("sanitizer report")
    if code not in (None, 0) and code >= 0 and "ferry" not in stderr.lower():
        found.append(f"exit {code} without ferry's message")
    found += [f"wrong file {path}" for path in wrong_files]
    return found


def choose(total, name):
    if SWEEP_ALL:
        return list(range(1, total + 1)), None
    seed = int(os.environ.get("FERRY_OOM_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(f"{seed}-{name}")
    chosen = set(range(1, min(10, total) + 1))
    span = max(total - 10, 1)
    for i in range(SAMPLES):  # one N in each of SAMPLES equal slices of 11..total
        lo = 11 + span * i // SAMPLES
        hi = 11 + span * (i + 1) // SAMPLES - 1
        if lo <= total:
            chosen.add(rng.randint(lo, max(lo, min(hi, total))))
    return sorted(chosen), seed


def sweep(name, tmp_path, attempt):
    """attempt(workdir, nth, report, trace) -> (code, stderr, wrong files). Returns the
    failures, the first three with the stack of the failed allocation (from a second run that
    prints it; the count can differ a little from run to run, so it may be a neighbour)."""
    report = str(tmp_path / "count")
    code, stderr, wrong = attempt(tmp_path / "count-run", 0, report, False)
    assert code == 0 and not wrong and not problems_of(code, stderr, wrong), \
        f"{name} without a failure: exit {code}, wrong {wrong}\n{stderr[-3000:]}"
    with open(report) as f:
        total = int(f.read())
    assert total > 100, f"only {total} allocations counted: is the shim linked?"
    ns, seed = choose(total, name)
    failures, outcomes = [], {"ok": 0, "error": 0, "library abort": 0}
    for nth in ns:
        work = tmp_path / f"n{nth}"
        code, stderr, wrong = attempt(work, nth, None, False)
        found = problems_of(code, stderr, wrong)
        if found == [f"killed by signal {signal.SIGABRT}"]:
            _, traced, _ = attempt(tmp_path / f"n{nth}-abort", nth, None, True)
            if aborted_in_library(traced):
                outcomes["library abort"] += 1
                continue
        if found:
            where = ""
            if len(failures) < 3:  # the stacks of the first three (a hang costs a timeout)
                _, traced, _ = attempt(tmp_path / f"n{nth}-trace", nth, None, True)
                where = traced[traced.find("ferry-oom: allocation"):][:2500]
            failures.append(f"N={nth}: {', '.join(found)}\n{stderr[-2500:]}\n{where}")
        else:
            outcomes["ok" if code == 0 else "error"] += 1
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{name}: {total} allocations, {len(ns)} runs (seed {seed}): "
          f"{outcomes['ok']} succeeded, {outcomes['error']} failed cleanly, "
          f"{outcomes['library abort']} aborted inside libuv on its own allocation, "
          f"{len(failures)} wrong")
    return failures


def summary(failures):
    """Every failing N on a line, then the first three in full."""
    heads = "\n".join(f.split("\n", 1)[0] for f in failures)
    return f"{len(failures)} failing N:\n{heads}\n\n" + "\n\n".join(failures[:3])


def test_get_with_each_allocation_failing(oom_bin, nginx, tmp_path):
    server, source = nginx
    expected = sha256_file(source)

    def attempt(work, nth, report, trace):
        work.mkdir()
        output = work / "data.bin"
        code, stderr = run(["get", server.url("data.bin"), "-o", str(output), "--cacert",
                            server.cacert, "--sha256", expected, "-q", "--chunk-size", "1M",
                            "--connections", "2"],
                           {"HOME": str(work)}, nth, report, trace)
        wrong = [str(output)] if output.exists() and sha256_file(output) != expected else []
        if code == 0 and not output.exists():
            wrong.append(f"{output} (missing after success)")
        return code, stderr, wrong

    failures = sweep("get", tmp_path, attempt)
    assert not failures, summary(failures)


def test_download_with_each_allocation_failing(oom_bin, hub, tmp_path):
    tree = repo_etags(hub, "demo/tiny-model")

    def attempt(work, nth, report, trace):
        work.mkdir()
        hf_home = work / "hf-home"
        code, stderr = run(["download", "demo/tiny-model", "--cacert", hub.ca, "-q"],
                           {"HOME": str(work), "HF_HOME": str(hf_home),
                            "HF_ENDPOINT": hub.endpoint, "HF_HUB_DISABLE_PROGRESS_BARS": "1"},
                           nth, report, trace)
        wrong = wrong_in_cache(str(hf_home), tree)
        snaps = glob.glob(str(hf_home / "hub" / "models--demo--tiny-model" / "snapshots" / "*"))
        if code == 0:
            missing = [p for p in tree if not snaps or not os.path.isfile(os.path.join(snaps[0], p))]
            wrong += [f"{p} (missing after success)" for p in missing]
        return code, stderr, wrong

    failures = sweep("download", tmp_path, attempt)
    assert not failures, summary(failures)
