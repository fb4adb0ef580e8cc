"""A job's lifecycle is one state machine (engine/src/job.c): its state is assigned in one
function, which -v traces, so a user (or a maintainer) can follow one file from start to end."""
import glob
import os
import re

from ferrytest import REPO
from helpers import run_ferry

STATE_ASSIGNMENT = re.compile(r"->state\s*=[^=]")


def test_state_is_assigned_only_in_the_transition_function():
    places = []
    for path in sorted(glob.glob(os.path.join(REPO, "engine", "src", "*.c"))):
        with open(path) as f:
            function = None
            for number, line in enumerate(f, 1):
                m = re.match(r"^[a-z].*\b(\w+)\(.*\)\s*\{\s*$", line)
                if m:
                    function = m.group(1)
                if STATE_ASSIGNMENT.search(line) and "jparser" not in line and "p->state" not in line:
                    places.append((os.path.basename(path), number, function))
    assert places and all(f == "ferry__job_set_state" for _, _, f in places), places


def test_verbose_run_traces_one_job(ferry_bin, nginx, files, out_dir):
    served = files["list-a.bin"]
    output = out_dir / "traced.bin"
    r = run_ferry(["get", nginx.url(served.name), "-o", output, "--cacert", nginx.cacert,
                   "--sha256", served.sha256, "-v"])
    assert r.returncode == 0, r.describe()
    label = str(output)
    steps = re.findall(re.escape(label) + r": (\w+) -> (\w+) \(", r.stderr)
    assert steps == [("new", "probing"), ("probing", "running"), ("running", "final"),
                     ("final", "done")], r.stderr[-3000:]
