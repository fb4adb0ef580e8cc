"""Fixtures of the `ferry auth` / `ferry env` tests: one seeded local hub for the session
(always stopped), an isolated HOME/HF_HOME per test, and a runner that fails the test when any
output of ferry contains a token.

Run:  /usr/bin/python3 -m pytest tests/auth -q      (binary: env FERRY_BIN, default build/ferry)
"""
import pytest

from authhelpers import Ferry
from hubtest import running_hub


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("auth-hub"), "--seed", "--seed-size", "1M") as h:
        yield h


@pytest.fixture
def ferry(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Ferry(hub, home)
