"""Session fixtures of the Hub management tests (ferry repo, branch, tag, ls, info, search):
one seeded local hub (always stopped) and a runner with an isolated environment.

Run:  /usr/bin/python3 -m pytest tests/manage -q      (binary: env FERRY_BIN, default build/ferry)
"""
import pytest

from hubtest import running_hub
from mghelpers import Runner


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("manage-hub"), "--seed", "--seed-size", "2M") as h:
        yield h


@pytest.fixture
def hub_clean(hub):
    """The hub with default page sizes, reset again after the test."""
    defaults = {"tree_page_size": 1000, "list_page_size": 1000}
    hub.knobs(**defaults)
    yield hub
    hub.knobs(**defaults)


@pytest.fixture
def ferry(hub, tmp_path):
    """`ferry ...` as user demo (write token in HF_TOKEN); ferry(..., token=None) sends none."""
    home = tmp_path / "home"
    home.mkdir()
    return Runner(hub, home)
