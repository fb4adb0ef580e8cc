"""Fixture of the local hub's own tests: one seeded hub per test session, always stopped."""
import pytest

from hubtest import SEED_SIZE, running_hub


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("localhub"), "--seed", "--seed-size", str(SEED_SIZE)) as h:
        yield h
