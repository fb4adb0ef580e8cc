"""Fixtures of the `ferry auth` / `ferry env` tests: one seeded local hub for the session
(always stopped), an isolated HOME/HF_HOME per test, and a runner that fails the test when any
output of ferry contains a token.

Run:  /usr/bin/python3 -m pytest tests/auth -q      (binary: env FERRY_BIN, default build/ferry)
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "download"))

from authhelpers import Ferry, FERRY_BIN  # noqa: E402
from hubtest import running_hub  # noqa: E402


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    assert os.access(FERRY_BIN, os.X_OK), f"ferry binary not found at {FERRY_BIN} (set FERRY_BIN)"
    with running_hub(tmp_path_factory.mktemp("auth-hub"), "--seed", "--seed-size", "1M") as h:
        yield h


@pytest.fixture
def ferry(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Ferry(hub, home)
