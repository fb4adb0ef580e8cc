#!/usr/bin/python3
"""kill -9 soaks of `ferry get`, `ferry download` and `ferry upload`: each trial starts the
command, kills it with SIGKILL after a random delay inside the run (a first, uninterrupted
run times the command; 1 to 3 kills, each run resuming the last), then runs the same command to completion (a run that ends before its kill is the
completion). After every run, killed or not, every file
at a final path is checked; the figures come from the servers' access logs.

  tests/soak/run [get|download|upload|all] [--trials N] [--seed S]     (default: all, 5 trials)

  get       nginx (tests/support/nginx.py), its /slow/ location capped per request
            (limit_rate), HTTPS, a 48 MiB file; the file at -o is checked against the
            source's sha256 after every run (absent, or right).
  download  the local hub (tests/hub) with demo/tiny-model of 48 MiB weights and the
            `cdn_rate` knob; every blob in the cache (named by its etag: sha256 or git blob
            id) and every snapshot entry checked after every run.
  upload    the local hub (multipart above 4 MiB, 1 MiB parts), a fresh repo per trial with a
            README and a 24 MiB binary, `ferry upload --limit-rate`; the repo's files as the
            hub serves them (LFS followed to its CDN) checked after every run: absent, or the
            bytes uploaded.
Figures per trial and in total: kills (runs that were killed before they ended), wrong files
(must be 0), failures (a run that ended by itself with an error, a final run that did not
succeed or left a file missing: must be 0), and bytes fetched (get, download: response bodies of the big file) or sent
(upload: request lengths of the part PUTs, headers included) beyond the file's size, in all
and per kill. Exit status 1 when a file was wrong or a run failed.
Binary: env FERRY_BIN (default build/ferry). Imports tests/support and tests/hub (tests/soak/run
puts them on PYTHONPATH, as tests/pytest.ini does for pytest).
"""
import argparse
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from cachecheck import repo_etags, wrong_in_cache
from ferrytest import FERRY_BIN, TIMEOUT_SCALE, MiB, sha256_file
from hubrun import AccessLog, ferry_env
from hubtest import running_hub
from nginx import Nginx, read_access_log

GET_SIZE = 48 * MiB + 777
GET_RATE = "6m"              # per request: 4 requests in flight, about 2 s for the file
DOWNLOAD_SEED = "48M"
DOWNLOAD_RATE = 12 << 20     # cdn_rate, bytes/s per request: 2 requests, about 2 s
UPLOAD_SIZE = 24 * MiB - 1000
UPLOAD_RATE = "12M"          # --limit-rate of ferry upload: about 2 s
RUN_TIMEOUT = 120


class Trial:
    def __init__(self, number):
        self.number, self.kills, self.wrong, self.extra, self.notes = number, 0, [], 0, []


def start(argv, env=None):
    err = tempfile.TemporaryFile()
    process = subprocess.Popen([FERRY_BIN] + [str(a) for a in argv], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    process.err = err
    return process


def stderr_of(process):
    process.err.seek(0)
    text = process.err.read().decode(errors="replace")
    process.err.close()
    return text


def run_or_kill(argv, env, delay):
    """Run the command; SIGKILL it after `delay` seconds unless it ended. Returns (killed, exit
    code, stderr)."""
    process = start(argv, env)
    try:
        process.wait(delay)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(20)
        killed = True
    return killed, process.returncode, stderr_of(process)


def run_to_end(argv, env):
    process = start(argv, env)
    try:
        process.wait(RUN_TIMEOUT * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        return None, stderr_of(process)
    return process.returncode, stderr_of(process)


def settle(read, pause=0.3, rounds=30):
    """Wait until a log stops growing (nginx logs an aborted request when it notices)."""
    previous = None
    for _ in range(rounds):
        now = len(read())
        if now == previous:
            return
        previous = now
        time.sleep(pause)


def timed(argv, env):
    """One uninterrupted run (not a trial): how long the command takes, so the kills fall
    inside a run."""
    begin = time.monotonic()
    code, err = run_to_end(argv, env)
    assert code == 0, f"ferry {' '.join(map(str, argv))}: exit {code}: {err[-2000:]}"
    return time.monotonic() - begin


def soak(trial, argv, env, rng, check, duration):
    """Kill 1 to 3 times at random moments inside what is left of the run (`duration`: a whole
    run), then run to the end; a run that ends by itself before its kill ends the trial.
    check() after every run returns the wrong final files."""
    left = duration
    for _ in range(rng.randint(1, 3)):
        delay = rng.uniform(0.0, 0.95 * left)
        killed, code, err = run_or_kill(argv, env, delay)
        trial.kills += killed
        trial.wrong += check()
        if not killed:
            if code != 0:
                trial.notes.append(f"a run ended with exit {code}: {err.strip()[-500:]}")
            return
        left = max(0.3, left - delay + 0.2)  # the next run resumes: less to do
    code, err = run_to_end(argv, env)
    if code != 0:
        trial.notes.append(f"final run: exit {code}: {err.strip()[-500:]}")
    trial.wrong += check()


# ---- ferry get ----------------------------------------------------------------------------

def soak_get(trials, rng, work):
    root = os.path.join(work, "docroot")
    os.makedirs(root)
    source = os.path.join(root, "soak.bin")
    with open(source, "wb") as f:
        for _ in range(GET_SIZE // MiB + 1):
            f.write(os.urandom(MiB))
        f.truncate(GET_SIZE)
    expected = sha256_file(source)
    results = []
    with Nginx(root, os.path.join(work, "nginx"), workers=2, limit_rate=GET_RATE,
               limit_rate_prefix="/slow/") as server:
        def argv_to(out):
            return ["get", server.url("soak.bin", prefix="/slow/"), "-o", out, "--cacert",
                    server.cacert, "--sha256", expected, "-q", "--connections", "2",
                    "--streams", "2", "--chunk-size", "8M"]
        duration = timed(argv_to(os.path.join(work, "timed.bin")), None)
        os.unlink(os.path.join(work, "timed.bin"))
        for number in range(1, trials + 1):
            trial = Trial(number)
            out = os.path.join(work, f"get-{number}", "soak.bin")
            os.makedirs(os.path.dirname(out))
            argv = argv_to(out)

            def check():
                return [out] if os.path.exists(out) and sha256_file(out) != expected else []

            settle(server.log_entries)
            mark = server.log_size()
            soak(trial, argv, None, rng, check, duration)
            settle(server.log_entries)
            served = sum(e["body_bytes"] for e in read_access_log(server.access_log, mark)
                         if e["uri"].endswith("/soak.bin"))
            trial.extra = served - GET_SIZE
            results.append(trial)
            shutil.rmtree(os.path.dirname(out), ignore_errors=True)
    return results


# ---- ferry download -----------------------------------------------------------------------

def soak_download(trials, rng, work):
    results = []
    with running_hub(os.path.join(work, "hub"), "--seed", "--seed-size", DOWNLOAD_SEED) as hub:
        hub.knobs(cdn_rate=DOWNLOAD_RATE)
        etags = repo_etags(hub, "demo/tiny-model")
        sha = etags["model.safetensors"]
        log = AccessLog(hub.dir)
        argv = ["download", "demo/tiny-model", "--cacert", hub.ca, "-q", "--connections", "2",
                "--streams", "1"]
        os.makedirs(os.path.join(work, "timed"))
        duration = timed(argv, ferry_env(hub, os.path.join(work, "timed")))
        for number in range(1, trials + 1):
            trial = Trial(number)
            home = os.path.join(work, f"download-{number}")
            os.makedirs(home)
            env = ferry_env(hub, home)
            log.mark()
            soak(trial, argv, env, rng, lambda: wrong_in_cache(env["HF_HOME"], etags), duration)
            snaps = glob.glob(os.path.join(env["HF_HOME"], "hub", "*", "snapshots", "*"))
            missing = [p for p in etags if len(snaps) != 1 or
                       not os.path.isfile(os.path.join(snaps[0], p))]
            trial.notes += [f"{p} missing after the final run" for p in missing]
            served = sum(ln.bytes_sent for ln in log.lines()
                         if ln.origin == "cdn" and ln.method == "GET" and sha in ln.path)
            weights = os.path.join(snaps[0], "model.safetensors") if snaps else None
            size = os.path.getsize(weights) if weights and os.path.isfile(weights) else 0
            trial.extra = served - size
            results.append(trial)
            shutil.rmtree(home, ignore_errors=True)
    return results


# ---- ferry upload -------------------------------------------------------------------------

def served_content(hub, repo_id, paths):
    """{path: sha256} of each path the hub serves at main (redirects to the CDN followed);
    absent paths are left out, and so is everything of a repo a kill came before ferry
    created (anonymous, the hub answers 401 RepoNotFound, as the Hub does)."""
    ctx = ssl.create_default_context(cafile=hub.ca)
    out = {}
    for path in paths:
        url = f"{hub.endpoint}/{repo_id}/resolve/main/{urllib.parse.quote(path)}"
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=60) as r:
                out[path] = hashlib.sha256(r.read()).hexdigest()
        except urllib.error.HTTPError as e:
            repo_not_created = e.code == 401 and e.headers.get("x-error-code") == "RepoNotFound"
            if e.code != 404 and not repo_not_created:
                raise
    return out


def soak_upload(trials, rng, work):
    results = []
    with running_hub(os.path.join(work, "hub"), "--multipart-threshold", "4M",
                     "--chunk-size", "1M") as hub:
        log = AccessLog(hub.dir)
        duration = None
        for number in range(0, trials + 1):  # 0: the timed run
            trial = Trial(number)
            home = os.path.join(work, f"upload-{number}")
            folder = os.path.join(home, "folder")
            os.makedirs(folder)
            files = {"README.md": b"# soak %d\n" % number,
                     "model.bin": b"\0bin" + os.urandom(UPLOAD_SIZE - 4)}
            for name, data in files.items():
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(data)
            expected = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
            repo_id = f"demo/soak-{number}-{rng.randrange(1 << 30)}"
            env = ferry_env(hub, home, {"HF_TOKEN": hub.token})
            argv = ["upload", repo_id, folder, "--cacert", hub.ca, "-q", "--limit-rate",
                    UPLOAD_RATE, "--connections", "4"]

            def check():
                served = served_content(hub, repo_id, expected)
                return [p for p, digest in served.items() if digest != expected[p]]

            if duration is None:
                duration = timed(argv, env)
                continue
            log.mark()
            soak(trial, argv, env, rng, check, duration)
            if served_content(hub, repo_id, expected) != expected:
                trial.notes.append("the repo does not hold the files after the final run")
            sent = sum(ln.bytes_received for ln in log.lines()
                       if ln.origin == "cdn" and ln.method == "PUT" and
                       ln.path.startswith("/upload/"))
            trial.extra = sent - len(files["model.bin"])
            results.append(trial)
            shutil.rmtree(home, ignore_errors=True)
    return results


# ---- figures ------------------------------------------------------------------------------

def table(kind, results):
    what = "sent" if kind == "upload" else "fetched"
    lines = [f"{kind}: trial  kills  wrong  failures  bytes {what} beyond the file  per kill"]
    for t in results:
        per = f"{t.extra / t.kills:,.0f}" if t.kills else "-"
        lines.append(f"{kind}: {t.number:5d}  {t.kills:5d}  {len(t.wrong):5d}  {len(t.notes):8d}  {t.extra:28,d}  {per:>8}")
        lines += [f"{kind}:        wrong: {w}" for w in t.wrong]
        lines += [f"{kind}:        note: {n}" for n in t.notes]
    kills = sum(t.kills for t in results)
    extra = sum(t.extra for t in results)
    wrong = sum(len(t.wrong) for t in results)
    failures = sum(len(t.notes) for t in results)
    per = f"{extra / kills:,.0f}" if kills else "-"
    worst = max((t.extra / t.kills for t in results if t.kills), default=0)
    lines.append(f"{kind}: TOTAL trials {len(results)}, kills {kills}, wrong files {wrong}, failed runs {failures}, "
                 f"bytes {what} beyond the files {extra:,} ({per} per kill, at most "
                 f"{worst:,.0f} per kill in one trial)")
    return "\n".join(lines), {"kind": kind, "trials": len(results), "kills": kills,
                              "wrong_files": wrong, "failed_runs": failures, "extra_bytes": extra,
                              "extra_per_kill": extra / kills if kills else 0,
                              "worst_per_kill": worst}


SOAKS = {"get": soak_get, "download": soak_download, "upload": soak_upload}


def main(argv=None):
    parser = argparse.ArgumentParser(description="kill -9 soaks of ferry get/download/upload")
    parser.add_argument("which", nargs="?", default="all", choices=["all", *SOAKS])
    parser.add_argument("--trials", type=int, default=5, help="trials per command (default 5)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    parser.add_argument("--json", default=None, help="also write the totals to this file")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    print(f"soak: {FERRY_BIN}, seed {seed}, {args.trials} trials each", flush=True)
    totals, failed = [], False
    for kind in (SOAKS if args.which == "all" else [args.which]):
        work = tempfile.mkdtemp(prefix=f"ferry-soak-{kind}.")
        try:
            start_time = time.monotonic()
            results = SOAKS[kind](args.trials, random.Random(f"{seed}-{kind}"), work)
            text, total = table(kind, results)
            total["seconds"] = round(time.monotonic() - start_time, 1)
            print(text + f" in {total['seconds']}s", flush=True)
            totals.append(total)
            failed |= total["wrong_files"] > 0 or total["failed_runs"] > 0
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": seed, "soaks": totals}, f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
