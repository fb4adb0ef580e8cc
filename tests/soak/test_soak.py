"""The kill -9 soaks (soak.py) with a few trials each, as CI runs them: no wrong file at a
final path and no failed run, with at least one kill per command; the figures are printed
(pytest -s, or in the failure). Trials per command: env FERRY_SOAK_TRIALS (default 3)."""
import json
import os

import pytest

import soak

TRIALS = int(os.environ.get("FERRY_SOAK_TRIALS", "3"))


@pytest.mark.parametrize("kind", ["get", "download", "upload"])
def test_kill_9_soak(ferry_bin, tmp_path, capsys, kind):
    figures = tmp_path / "figures.json"
    code = soak.main([kind, "--trials", str(TRIALS), "--json", str(figures)])
    printed = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + printed)
    with open(figures) as f:
        total = json.load(f)["soaks"][0]
    assert total["trials"] == TRIALS
    assert total["wrong_files"] == 0, printed
    assert total["failed_runs"] == 0, printed
    assert total["kills"] >= 1, f"no run was killed: the kill window misses the download\n{printed}"
    assert code == 0, printed
