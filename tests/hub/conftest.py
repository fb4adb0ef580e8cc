"""Fixture of the local hub's own tests: one seeded hub per test session, always stopped."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from hubtest import SEED_SIZE, Hub, start_hub, stop_hub  # noqa: E402


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    directory = tmp_path_factory.mktemp("localhub")
    env, out = start_hub(directory, "--seed", "--seed-size", str(SEED_SIZE))
    try:
        yield Hub(directory, env, out)
    finally:
        stop_hub(directory)
