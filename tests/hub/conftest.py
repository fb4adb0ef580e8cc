"""Fixture of the local hub's own tests: one seeded hub per test session, always stopped."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import SEED_SIZE, running_hub  # noqa: E402


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("localhub"), "--seed", "--seed-size", str(SEED_SIZE)) as h:
        yield h
