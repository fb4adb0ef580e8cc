"""--include/--exclude (fnmatch, `*` crosses `/`, a trailing `/` is the folder) and --dry-run."""
import json
import os

import pytest

from dlhelpers import EXIT_OK, data_requests, matches, snapshot_files


def test_include_folder_and_exclude(ferry, many, log):
    include, exclude = ["data/group-01/", "README*"], ["*part-1/*"]
    expected = {p for p in many.by_path if matches(p, include, exclude)}
    assert 10 < len(expected) < len(many.by_path) // 2  # the patterns really select
    r = ferry("demo/many-files", "--repo-type", "dataset", "-q",
              "--include", include[0], "--include", include[1], "--exclude", exclude[0])
    assert r.returncode == EXIT_OK, r.describe()
    snap = os.path.join(ferry.cache, many.folder, "snapshots", many.commit)
    assert r.stdout == snap + "\n"
    assert snapshot_files(snap) == expected
    assert len(os.listdir(os.path.join(ferry.cache, many.folder, "blobs"))) == len(expected)
    fetched = {ln.path.split("/resolve/", 1)[1].split("/", 1)[1]
               for ln in data_requests(log.lines())}
    assert fetched == expected


DRY_RUN_CASES = {
    "star crosses slash": (["data/*3.txt"], []),
    "suffix everywhere": (["*5.txt"], ["data/group-0*"]),
    "folder without star": (["data/group-02/part-0/"], []),
    "question mark and class": (["data/group-0[12]/part-?/item-0[12]?0.txt"], []),
    "exclude only": ([], ["data/*"]),
}


@pytest.mark.parametrize("case", list(DRY_RUN_CASES))
def test_patterns_in_dry_run(ferry, many, case, log):
    include, exclude = DRY_RUN_CASES[case]
    expected = {p: many.by_path[p]["size"] for p in many.by_path if matches(p, include, exclude)}
    assert expected, "the case must select something"
    args = ["demo/many-files", "--repo-type", "dataset", "--dry-run"]
    for p in include:
        args += ["--include", p]
    for p in exclude:
        args += ["--exclude", p]
    r = ferry(*args)
    assert r.returncode == EXIT_OK, r.describe()
    listed = parse_dry_run(r.stdout)
    assert {p: size for p, (size, _) in listed.items()} == expected
    assert {state for _, state in listed.values()} == {"download"}
    assert data_requests(log.lines()) == []
    repo_dir = os.path.join(ferry.cache, many.folder)
    assert not os.path.isdir(os.path.join(repo_dir, "blobs")) or \
        os.listdir(os.path.join(repo_dir, "blobs")) == []
    assert not os.path.isdir(os.path.join(repo_dir, "snapshots", many.commit)) or \
        snapshot_files(os.path.join(repo_dir, "snapshots", many.commit)) == set()


def parse_dry_run(stdout):
    """`<path>\\t<size>\\t<download|cached>` per file, then a total line."""
    lines = stdout.rstrip("\n").split("\n")
    assert len(lines) >= 2, stdout
    listed = {}
    for line in lines[:-1]:
        path, size, state = line.split("\t")
        assert state in ("download", "cached"), line
        listed[path] = (int(size), state)
    assert lines[-1].count("\t") != 2 or lines[-1].split("\t")[2] not in ("download", "cached"), \
        "the last line must be the total"
    return listed


def test_dry_run_lists_cached_and_missing(ferry, tiny, log):
    r = ferry("demo/tiny-model", "config.json", "-q")
    assert r.returncode == EXIT_OK, r.describe()
    log.mark()
    r = ferry("demo/tiny-model", "--dry-run")
    assert r.returncode == EXIT_OK, r.describe()
    listed = parse_dry_run(r.stdout)
    assert listed == {p: (e["size"], "cached" if p == "config.json" else "download")
                      for p, e in tiny.by_path.items()}
    total = r.stdout.rstrip("\n").split("\n")[-1]
    assert str(tiny.size - tiny.by_path["config.json"]["size"]) in total or str(tiny.size) in total
    assert data_requests(log.lines()) == []
    assert os.listdir(os.path.join(ferry.cache, tiny.folder, "snapshots", tiny.commit)) == \
        ["config.json"]


def test_dry_run_json(ferry, tiny, log):
    r = ferry("demo/tiny-model", "--dry-run", "--json", "--include", "*.json")
    assert r.returncode == EXIT_OK, r.describe()
    summary = json.loads(r.stdout)
    assert summary["ok"] is True
    assert summary["commit"] == tiny.commit
    expected = {p for p in tiny.by_path if p.endswith(".json")}
    assert {f["path"] for f in summary["files"]} == expected
    assert {f["status"] for f in summary["files"]} == {"planned"}
    assert summary["bytes_downloaded"] == 0
    assert data_requests(log.lines()) == []
