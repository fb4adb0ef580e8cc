"""A hostile hub (hostilehub.py: scripted answers, plain HTTP on loopback) against
`ferry download`: each bad revision answer or tree listing ends in a bounded time with exit 10
(protocol) and a message naming the problem, nothing is fetched for it, and nothing is left
in the cache or the local folder: no snapshot file, no blob, no tree cache of a refused
listing, and nothing at all outside the target folder.

The hub-side cases of issue 13's hostile-server list, and where each is tested:
  tree paths with `../` (also `a/../../x`), absolute, drive letter
                                 test_unsafe_names.py (fake hub over HTTPS, both targets)
  `./`, `//`, empty, NUL, backslash paths               here (test_bad_listing_is_refused)
  a 6,000-byte path, in the tree or the repo info       here
  a `Link` next page carrying `../` paths               here
  a `Link` next page on another origin (token)          test_token_scope.py
  non-hex commit (and one that is a path)               here
  non-hex oid (and one that is a path), bad LFS oid     here
  negative, fractional, beyond 64-bit and huge sizes    here (huge: test_huge_size_...)
  non-array (and non-object) bodies, garbage            here
  duplicate paths                                       here
  bytes that do not match the tree's oid                test_faults.py
The `ferry get` cases (ranges, lengths, redirects, garbage answers, chunked bodies, RST):
tests/integration/test_hostile.py."""
import json
import os
import subprocess
import time

import pytest

from ferrytest import FERRY_BIN, TIMEOUT_SCALE, read_bytes
from hostilehub import COMMIT, REPO, entry, hostile_hub

EXIT_PROTOCOL = 10
GOOD = b"good file\n"
FOLDER = "models--" + REPO.replace("/", "--")


def tree(*more):
    """One page: the good file, then the entries given."""
    return [[entry("good.txt", GOOD), *more]]


# name -> (hostile_hub arguments, what the error must say)
CASES = {
    "dot-path": (dict(pages=tree(entry("./pwned.txt", GOOD))), "'.' or '..' part"),
    "double-slash-path": (dict(pages=tree(entry("sub//pwned.txt", GOOD))), "empty part"),
    "empty-path": (dict(pages=tree(entry("", GOOD))), "empty file name"),
    "nul-path": (dict(pages=tree(entry("pwned\0.txt", GOOD))), "\\u0000 is not allowed"),
    "raw-nul-path": (dict(pages=[json.dumps(tree()[0])[:-1].encode() +
                                 b', {"type": "file", "path": "pwned\0.txt", "size": 1}]']),
                     "malformed JSON"),
    "backslash-path": (dict(pages=tree(entry("..\\pwned.txt", GOOD))), "backslash"),
    # issue 13 defect 11: said as what it is, not "has no rfilename"
    "long-path": (dict(pages=tree(entry("a" * 6000, GOOD))),
                  "has a name of 6000 bytes (ferry takes at most 4096)"),
    "long-sibling-name": (dict(info={"id": REPO, "sha": COMMIT, "siblings": [
        {"rfilename": "a" * 6000}]}), "has a name of 6000 bytes (ferry takes at most 4096)"),
    "link-page-dotdot": (dict(pages=tree() + [[entry("../pwned.txt", GOOD)]]), "'..'"),
    "link-page-deep-dotdot": (dict(pages=tree() + [[entry("a/../../../../pwned.txt", GOOD)]]),
                              "'..'"),
    "commit-not-hex": (dict(info={"id": REPO, "sha": "z" * 40, "siblings": []}), "40-hex sha"),
    "commit-a-path": (dict(info={"id": REPO, "sha": "../../../../pwned", "siblings": []}),
                      "40-hex sha"),
    "commit-short": (dict(info={"id": REPO, "sha": "1" * 39, "siblings": []}), "40-hex sha"),
    "oid-not-hex": (dict(pages=[[entry("good.txt", GOOD, oid="z" * 40)]]), "bad oid"),
    "oid-a-path": (dict(pages=[[entry("good.txt", GOOD, oid="../../../pwned")]]), "bad oid"),
    "lfs-oid-not-hex": (dict(pages=[[entry("good.txt", GOOD, lfs={
        "oid": "z" * 64, "size": len(GOOD), "pointerSize": 130})]]), "bad lfs"),
    "size-negative": (dict(pages=[[entry("good.txt", GOOD, size=-1)]]), "bad size"),
    "size-fraction": (dict(pages=[[entry("good.txt", GOOD, size=10.5)]]), "bad size"),
    "size-beyond-64-bits": (dict(pages=[[entry("good.txt", GOOD, size=2 ** 64 + 10)]]),
                            "too big integer"),
    "size-a-string": (dict(pages=[[entry("good.txt", GOOD, size="10")]]), "bad size"),
    "tree-an-object": (dict(pages=[{"path": "good.txt", "type": "file"}]), "not a JSON array"),
    "tree-a-string": (dict(pages=["good.txt"]), "malformed JSON"),
    "tree-null": (dict(pages=[None]), "malformed JSON"),
    "tree-garbage": (dict(pages=[b"\x00\xff<html>garbage"]), "malformed JSON"),
    "tree-entries-not-objects": (dict(pages=[["good.txt"]]), "not an object"),
    "info-an-array": (dict(info=[{"sha": COMMIT}]), "not a JSON object"),
    "info-garbage": (dict(info=b"<html>502</html>"), "malformed JSON"),
    "duplicate-path": (dict(pages=tree(entry("good.txt", b"other content\n"))),
                       "'good.txt' is listed twice"),
    "duplicate-path-same-file": (dict(pages=tree(entry("good.txt", GOOD))),
                                 "'good.txt' is listed twice"),
    "duplicate-path-on-the-next-page": (dict(pages=tree() + [[entry("good.txt", GOOD)]]),
                                        "'good.txt' is listed twice"),
}


def download(hub, tmp_path, *args):
    """`ferry download` of the hostile hub's repo, bounded; HOME and HF_HOME in tmp_path."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path / "home"),
           "LANG": "C.UTF-8", "HF_ENDPOINT": hub.endpoint,
           "HF_HOME": str(tmp_path / "home" / "hf"), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    for key in ("FERRY_TEST_TIMEOUT_MULTIPLIER", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    t0 = time.monotonic()
    r = subprocess.run([FERRY_BIN, "download", REPO, *map(str, args)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30 * TIMEOUT_SCALE)
    r.seconds = time.monotonic() - t0
    return r


def files_below(folder):
    """Every file and link below folder, relative."""
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, dirs, names in os.walk(folder) for name in names + [
                      d for d in dirs if os.path.islink(os.path.join(root, d))])


def assert_nothing_kept(tmp_path, cache, local):
    """No snapshot file, blob or tree cache in the cache; nothing but ferry's own metadata in
    the local folder; no name the hostile listing asked for anywhere."""
    kept = files_below(cache)
    assert all(p in ("CACHEDIR.TAG", f"{FOLDER}/refs/main") or p.startswith(f"{FOLDER}/.locks/")
               for p in kept), kept
    assert all(p.startswith(".cache/") for p in files_below(local)), files_below(local)
    everything = files_below(tmp_path)
    assert not [p for p in everything if "pwned" in p], everything


@pytest.mark.parametrize("name", CASES)
def test_bad_listing_is_refused(tmp_path, name):
    kwargs, says = CASES[name]
    with hostile_hub({"good.txt": GOOD}, **kwargs) as hub:
        cache, local = tmp_path / "in" / "cache", tmp_path / "in" / "local"
        for target in (["--cache-dir", cache], ["--local-dir", local]):
            r = download(hub, tmp_path, *target)
            assert r.returncode == EXIT_PROTOCOL, (target, r.returncode, r.stderr)
            assert says in r.stderr, r.stderr
            assert "Traceback" not in r.stderr and r.stderr.count("\n") <= 3, r.stderr
            assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        assert hub.resolves() == [], hub.requests  # refused before any file was asked for
        assert_nothing_kept(tmp_path, cache, local)


def test_huge_size_is_refused_when_the_bytes_come(tmp_path):
    """A size of 4 EiB in the tree is what the Hub says, so ferry asks for the file; the
    answer's length says otherwise: exit 10, the two sizes named, no blob, no snapshot."""
    huge = 1 << 62
    pages = [[entry("good.txt", GOOD, size=huge)]]
    with hostile_hub({"good.txt": GOOD}, pages=pages) as hub:
        cache = tmp_path / "cache"
        r = download(hub, tmp_path, "--cache-dir", cache)
        assert r.returncode == EXIT_PROTOCOL, (r.returncode, r.stderr)
        assert f"size is {len(GOOD)} bytes, expected {huge}" in r.stderr, r.stderr
        assert r.seconds < 10 * TIMEOUT_SCALE, r.seconds
        repo = cache / FOLDER
        assert not (repo / "snapshots").exists() or files_below(repo / "snapshots") == []
        assert [p for p in files_below(repo / "blobs") if not p.endswith(".lock")] == [], \
            files_below(repo / "blobs")


@pytest.mark.parametrize("pages", [1, 2])
def test_the_hostile_hub_works(tmp_path, pages):
    """The control: a truthful listing from the same hub, on one page or two (Link), is
    downloaded; so the refusals above are the hostile answers' doing."""
    other = b"second page\n"
    files = {"good.txt": GOOD, "sub/other.txt": other}
    listing = [[entry("good.txt", GOOD), entry("sub/other.txt", other)]]
    if pages == 2:
        listing = [[entry("good.txt", GOOD)], [entry("sub/other.txt", other)]]
    with hostile_hub(files, pages=listing) as hub:
        r = download(hub, tmp_path, "--cache-dir", tmp_path / "cache", "-q")
        assert r.returncode == 0, r.stderr
        snap = r.stdout.strip()
        assert snap == str(tmp_path / "cache" / FOLDER / "snapshots" / COMMIT)
        assert read_bytes(os.path.join(snap, "good.txt")) == GOOD
        assert read_bytes(os.path.join(snap, "sub", "other.txt")) == other
        assert len([q for q in hub.requests if "/tree/" in q]) == pages
