"""The engine core's shape, kept: a job's lifecycle is one state machine (engine/src/job.c)
whose state is assigned in one function, which -v traces; the memory budget's counters change
in its own module only (engine/src/budget.c)."""
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


BUDGET_CHANGE = re.compile(r"\b(budget|b)(\.|->)(charged|allocated|peak|retained|spares|nspares|limit"
                           r"|held_ns|wait_since_ns)"
                           r"\s*([-+]?=[^=]|\+\+|--)")


def test_budget_counters_change_only_in_the_budget_module():
    outside = []
    for path in sorted(glob.glob(os.path.join(REPO, "engine", "src", "*.c")) +
                       glob.glob(os.path.join(REPO, "engine", "hub", "*.c"))):
        if os.path.basename(path) == "budget.c":
            continue
        with open(path) as f:
            outside += [(os.path.basename(path), n, line.strip()) for n, line in enumerate(f, 1)
                        if BUDGET_CHANGE.search(line) or re.search(r"\bmem_(charged|alloc)", line)]
    assert outside == [], outside
    with open(os.path.join(REPO, "engine", "src", "budget.c")) as f:
        assert BUDGET_CHANGE.search(f.read())  # the check sees the module's own changes


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
