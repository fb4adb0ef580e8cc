"""The WAN lab tests need root: network namespaces and TUN devices."""
import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def as_root():
    assert os.geteuid() == 0, "the WAN lab needs root (network namespaces, TUN devices)"
