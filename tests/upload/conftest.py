"""Session fixtures of the `ferry upload` tests: one local hub with a small multipart threshold
(4 MiB, parts of 1 MiB, so a 6 MiB file needs 6 parts and the data stays small), always
stopped; knobs reset around every test; an isolated environment and a fresh repo name per test.

Run:  /usr/bin/python3 -m pytest tests/upload -q      (binary: env FERRY_BIN, default build/ferry)
"""
import re

import pytest

from hubrun import AccessLog
from hubtest import running_hub
from uphelpers import Uploader

THRESHOLD, CHUNK = "4M", "1M"
DEFAULT_KNOBS = {"upload_fault": None, "create_conflict": False, "url_lifetime": 3600,
                 "cdn_rate": 0, "record_commits": False,
                 "multipart_threshold": 4 << 20, "chunk_size": 1 << 20}


@pytest.fixture(scope="session")
def hub(tmp_path_factory, ferry_bin):
    with running_hub(tmp_path_factory.mktemp("upload-hub"), "--multipart-threshold", THRESHOLD, "--chunk-size", CHUNK) as h:
        yield h


@pytest.fixture
def knobs(hub):
    """Set hub knobs for one test; the defaults come back after it (faults must not leak)."""
    hub.knobs(**DEFAULT_KNOBS)
    yield hub.knobs
    hub.knobs(**DEFAULT_KNOBS)


@pytest.fixture
def log(hub):
    """The access log from this point on."""
    return AccessLog(hub.dir).mark()


@pytest.fixture
def up(hub, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return Uploader(hub, home)


@pytest.fixture
def repo_id(request):
    """A repo name of user demo unique to the test (the hub lives for the whole session)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-").lower()[:80]
    return "demo/up-" + name
