"""Fixtures of every pytest folder (pytest loads this file for any test under tests/)."""
import os

import pytest

from ferrytest import FERRY_BIN


@pytest.fixture(scope="session")
def ferry_bin():
    """The binary under test: env FERRY_BIN, default <repo>/build/ferry."""
    assert os.access(FERRY_BIN, os.X_OK), f"ferry binary not found at {FERRY_BIN} (set FERRY_BIN)"
    return FERRY_BIN
