"""Symbolic links planted in the cache where ferry keeps a blob's partial data or journal are
refused, never followed: their targets stay as they were (engine/src/job.c refuse_links)."""
import os

import pytest

EXIT_IO = 6  # README: local file error
PRECIOUS = b"precious bytes that are not ferry's\n"


@pytest.mark.parametrize("suffix", [".incomplete", ".journal"])
def test_planted_symlink_in_blobs_is_refused(ferry, tiny, tmp_path, suffix):
    sha = tiny.by_path["model.safetensors"]["lfs"]["oid"]
    blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
    os.makedirs(blobs)
    victim = tmp_path / "victim"
    victim.write_bytes(PRECIOUS)
    link = os.path.join(blobs, sha + suffix)
    os.symlink(str(victim), link)
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_IO, r.describe()
    assert link in r.stderr and "symbolic link" in r.stderr, r.describe()
    assert victim.read_bytes() == PRECIOUS  # nothing written through the link
    assert os.path.islink(link) and os.readlink(link) == str(victim)  # left for the user
    assert not os.path.lexists(os.path.join(blobs, sha))  # no blob made of the link


def test_planted_symlink_as_blob_lock_is_refused(ferry, tiny, tmp_path):
    """A link planted as a blob's lock in .locks/ is neither read through nor broken."""
    sha = tiny.by_path["model.safetensors"]["lfs"]["oid"]
    locks = os.path.join(ferry.cache, ".locks", tiny.folder)
    os.makedirs(locks)
    victim = tmp_path / "victim"
    victim.write_bytes(PRECIOUS)
    os.utime(victim, (0, 0))  # old: a lock file this old that does not parse would be broken
    link = os.path.join(locks, sha + ".ferry-lock")
    os.symlink(str(victim), link)
    r = ferry("demo/tiny-model", "-q")
    assert r.returncode == EXIT_IO, r.describe()
    assert "model.safetensors" in r.stderr, r.describe()
    assert victim.read_bytes() == PRECIOUS
    assert os.path.islink(link) and os.readlink(link) == str(victim)
    blobs = os.path.join(ferry.cache, tiny.folder, "blobs")
    assert not os.path.lexists(os.path.join(blobs, sha))
