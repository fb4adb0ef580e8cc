"""ferry ls, ferry info and ferry search against the local hub: what they print is what the hub
holds (sizes, LFS flags, commits, card data), pages are followed, filters and limits work."""
import urllib.parse

from mghelpers import (ENTRY_KEYS, EXIT_ENTRY_NOT_FOUND, EXIT_REPO_NOT_FOUND,
                       EXIT_REVISION_NOT_FOUND, EXIT_USAGE, INFO_FILE_KEYS, INFO_KEYS, LS_KEYS,
                       RESULT_KEYS, SEARCH_KEYS, api_requests, commit_file, fails, hub_create,
                       hub_info, hub_tree, json_of, log_size, ok, unique)


def expected_entries(tree):
    return [{"type": e["type"], "path": e["path"], "size": e["size"] if e["type"] == "file" else 0,
             "lfs": "lfs" in e, "oid": e["oid"], "sha256": e["lfs"]["oid"] if "lfs" in e else None}
            for e in sorted(tree, key=lambda e: e["path"])]


# ---- ls -----------------------------------------------------------------------------------

def test_ls_top_level_sizes_and_lfs(ferry, hub):
    r = ok(ferry("ls", "demo/tiny-model", "--json"))
    obj = json_of(r, LS_KEYS)
    tree = hub_tree(hub, "demo/tiny-model", recursive=False)
    assert obj["entries"] == expected_entries(tree)
    assert all(set(e) == ENTRY_KEYS for e in obj["entries"])
    weights = next(e for e in obj["entries"] if e["path"] == "model.safetensors")
    assert weights["lfs"] is True and weights["size"] == 2 << 20 and len(weights["sha256"]) == 64
    assert obj["files"] == len(tree) and obj["directories"] == 0 and obj["lfs_files"] == 1
    assert obj["total_size"] == sum(e["size"] for e in tree)
    assert obj["commit"] == hub_info(hub, "demo/tiny-model").json()["sha"]
    assert obj["revision"] == "main" and obj["path"] == "" and obj["recursive"] is False
    # human-readable sizes by default (as hf ls -h), bytes with --bytes; --json keeps bytes
    config_size = next(e["size"] for e in tree if e["path"] == "config.json")
    assert config_size < 1000
    human = ok(ferry("ls", "demo/tiny-model")).stdout.splitlines()
    assert any(line.split() == ["2.10", "MB", "LFS", "model.safetensors"] for line in human)
    assert any(line.split() == [str(config_size), "B", "config.json"] for line in human)
    exact = ok(ferry("ls", "demo/tiny-model", "--bytes")).stdout.splitlines()
    assert any(line.split() == [str(2 << 20), "LFS", "model.safetensors"] for line in exact)
    assert any(line.split() == [str(config_size), "config.json"] for line in exact)
    quiet = ok(ferry("ls", "demo/tiny-model", "-q")).stdout.split()
    assert quiet == sorted(e["path"] for e in tree)


def test_ls_recursive_follows_pages(ferry, hub_clean):
    hub = hub_clean
    hub.knobs(tree_page_size=300)
    mark = log_size(hub)
    r = ok(ferry("ls", "datasets/demo/many-files", "-R", "--json"))
    obj = json_of(r, LS_KEYS)
    requests = api_requests(hub, mark, "/api/datasets/demo/many-files/tree/main")
    hub.knobs(tree_page_size=1000)
    tree = hub_tree(hub, "demo/many-files", repo_type="dataset")
    assert obj["entries"] == expected_entries(tree)
    assert obj["files"] == 2002 and obj["directories"] == len(tree) - 2002
    assert obj["repo_type"] == "dataset" and obj["recursive"] is True
    assert len(requests) == -(-len(tree) // 300)  # every page, once


def test_ls_a_folder(ferry, hub):
    r = ok(ferry("ls", "demo/many-files", "data/group-01/", "--repo-type", "dataset", "--json"))
    obj = json_of(r, LS_KEYS)
    assert [e["path"] for e in obj["entries"]] == ["data/group-01/part-%d" % i for i in range(5)]
    assert all(e["type"] == "directory" for e in obj["entries"]) and obj["total_size"] == 0
    deep = json_of(ok(ferry("ls", "datasets/demo/many-files", "data/group-01/part-2", "-R",
                            "--json")), LS_KEYS)
    assert deep["files"] == 20 and all(e["path"].startswith("data/group-01/part-2/")
                                       for e in deep["entries"])


def test_ls_a_file_lists_that_file(ferry, hub):
    """The tree has nothing at a file's path (404); like hf, ls shows the file itself."""
    tree = {e["path"]: e for e in hub_tree(hub, "demo/tiny-model", recursive=False)}
    for path in ("config.json", "model.safetensors"):
        obj = json_of(ok(ferry("ls", "demo/tiny-model", path, "--json")), LS_KEYS)
        assert obj["entries"] == expected_entries([tree[path]])
        assert obj["files"] == 1 and obj["directories"] == 0
        assert obj["total_size"] == tree[path]["size"]
        assert obj["commit"] == hub_info(hub, "demo/tiny-model").json()["sha"]
    assert ok(ferry("ls", "demo/tiny-model", "config.json", "-q")).stdout == "config.json\n"
    fails(ferry("ls", "demo/tiny-model", "config.json/x"), EXIT_ENTRY_NOT_FOUND)


def test_ls_revision(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    first = hub_info(hub, name).json()["sha"]
    commit_file(hub, name, "new.txt", "new\n")
    ok(ferry("tag", "create", name, "old", "--revision", first))
    assert [e["path"] for e in json_of(ok(ferry("ls", name, "--json")), LS_KEYS)["entries"]] == [
        ".gitattributes", "new.txt"]
    for rev in (first, "old"):
        obj = json_of(ok(ferry("ls", name, "--revision", rev, "--json")), LS_KEYS)
        assert [e["path"] for e in obj["entries"]] == [".gitattributes"]
        assert obj["commit"] == first


def test_ls_errors(ferry, hub):
    fails(ferry("ls", "demo/tiny-model", "no-such-folder"), EXIT_ENTRY_NOT_FOUND)
    fails(ferry("ls", "demo/tiny-model", "--revision", "no-such-branch"), EXIT_REVISION_NOT_FOUND)
    fails(ferry("ls", "demo/" + unique("none")), EXIT_REPO_NOT_FOUND, "not found")
    fails(ferry("ls", "demo/private-model", token=None), EXIT_REPO_NOT_FOUND, "no token")
    fails(ferry("ls", "demo/private-model", token="bob"), EXIT_REPO_NOT_FOUND)
    fails(ferry("ls", "demo/tiny-model", "a/../b"), EXIT_USAGE, "path")
    fails(ferry("ls", "demo/tiny-model", "--repo-type", "dataset"), EXIT_REPO_NOT_FOUND)
    fails(ferry("ls"), EXIT_USAGE)
    fails(ferry("ls", "a/b", "c", "d"), EXIT_USAGE)


# ---- info ---------------------------------------------------------------------------------

def test_info_matches_the_hub(ferry, hub):
    r = ok(ferry("info", "demo/tiny-model", "--json"))
    obj = json_of(r, INFO_KEYS)
    hub_view = hub_info(hub, "demo/tiny-model", blobs=True).json()
    tree = {e["path"]: e for e in hub_tree(hub, "demo/tiny-model") if e["type"] == "file"}
    assert obj["sha"] == hub_view["sha"] and obj["repo_id"] == "demo/tiny-model"
    assert obj["last_modified"] == hub_view["lastModified"]
    assert obj["created_at"] == hub_view["createdAt"]
    assert obj["private"] is False and obj["gated"] == "false" and obj["disabled"] is False
    assert obj["card_data"] == {"license": "apache-2.0", "library_name": "transformers",
                                "pipeline_tag": "text-generation", "tags": ["demo", "safetensors"]}
    assert {f["path"] for f in obj["files"]} == set(tree)
    for f in obj["files"]:
        assert set(f) == INFO_FILE_KEYS
        e = tree[f["path"]]
        assert f["size"] == e["size"] and f["lfs"] == ("lfs" in e) and f["blob_id"] == e["oid"]
        assert f["sha256"] == (e["lfs"]["oid"] if "lfs" in e else None)
    assert obj["files_total"] == len(tree) and obj["lfs_files"] == 1
    assert obj["total_size"] == sum(e["size"] for e in tree.values())
    assert ok(ferry("info", "demo/tiny-model", "-q")).stdout == hub_view["sha"] + "\n"
    human = ok(ferry("info", "demo/tiny-model")).stdout
    assert f"sha:           {hub_view['sha']}" in human
    assert '"license":"apache-2.0"' in human and "(1 in LFS)" in human
    assert f"({obj['total_size']} bytes)" in human


def test_info_revision_private_gated(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    first = hub_info(hub, name).json()["sha"]
    head = commit_file(hub, name, "README.md", "---\nlicense: mit\n---\n# x\n")
    now = json_of(ok(ferry("info", name, "--json")), INFO_KEYS)
    assert now["sha"] == head and now["card_data"] == {"license": "mit"}
    old = json_of(ok(ferry("info", name, "--revision", first, "--json")), INFO_KEYS)
    assert old["sha"] == first and [f["path"] for f in old["files"]] == [".gitattributes"]
    assert old["card_data"] is None and old["revision"] == first
    gated = json_of(ok(ferry("info", "demo/gated-model", "--json", token="bob")), INFO_KEYS)
    assert gated["gated"] == "manual"
    private = json_of(ok(ferry("info", "demo/private-model", "--json")), INFO_KEYS)
    assert private["private"] is True
    fails(ferry("info", "demo/private-model", token=None), EXIT_REPO_NOT_FOUND, "no token")
    fails(ferry("info", name, "--revision", "nope"), EXIT_REVISION_NOT_FOUND)
    fails(ferry("info", name, "-R"), EXIT_USAGE, "recursive")


def test_info_dataset(ferry, hub):
    obj = json_of(ok(ferry("info", "datasets/demo/many-files", "--json")), INFO_KEYS)
    assert obj["repo_type"] == "dataset" and obj["files_total"] == 2002
    assert obj["total_size"] == sum(e["size"] for e in hub_tree(hub, "demo/many-files",
                                                                repo_type="dataset")
                                    if e["type"] == "file")


# ---- search -------------------------------------------------------------------------------

def make_family(hub, word, count, ns="demo", repo_type="model"):
    return [hub_create(hub, "%s/%s-%d-%s" % (ns, word, i, unique("r")), repo_type)
            for i in range(count)]


def test_search_query_author_and_keys(ferry, hub):
    word = unique("fam")
    mine = make_family(hub, word, 3)
    org = make_family(hub, word, 2, ns="demo-org")
    r = ok(ferry("search", "models", word, "--json"))
    obj = json_of(r, SEARCH_KEYS)
    assert sorted(x["id"] for x in obj["results"]) == sorted(mine + org)
    assert all(set(x) == RESULT_KEYS for x in obj["results"])
    assert obj["count"] == 5 and obj["limit"] == 30 and obj["query"] == word
    by_author = json_of(ok(ferry("search", "models", word, "--author", "demo-org", "--json")),
                        SEARCH_KEYS)
    assert sorted(x["id"] for x in by_author["results"]) == sorted(org)
    quiet = ok(ferry("search", "models", "--search", word, "-q")).stdout.split()
    assert sorted(quiet) == sorted(mine + org)
    human = ok(ferry("search", "models", word)).stdout.splitlines()
    assert human[0].split()[:2] == ["ID", "DOWNLOADS"] and len(human) == 6


def test_search_filter_sort_and_types(ferry, hub):
    obj = json_of(ok(ferry("search", "models", "--filter", "text-generation", "--filter", "demo",
                           "--json")), SEARCH_KEYS)
    assert [x["id"] for x in obj["results"]] == ["demo/tiny-model"]
    assert obj["results"][0]["pipeline_tag"] == "text-generation"
    none = json_of(ok(ferry("search", "models", "--filter", "no-such-tag", "--json")), SEARCH_KEYS)
    assert none["count"] == 0 and none["results"] == []
    # a download of the LFS file counts: tiny-model leads by downloads
    hub.get("/demo/tiny-model/resolve/main/model.safetensors")
    top = json_of(ok(ferry("search", "models", "--sort", "downloads", "--limit", "50", "--json")),
                  SEARCH_KEYS)
    counts = [x["downloads"] for x in top["results"]]
    assert top["results"][0]["id"] == "demo/tiny-model" and counts == sorted(counts, reverse=True)
    for sort, key in (("created", "created_at"), ("modified", "last_modified")):
        res = json_of(ok(ferry("search", "models", "--sort", sort, "--limit", "50", "--json")),
                      SEARCH_KEYS)["results"]
        values = [x[key] for x in res]
        assert values == sorted(values, reverse=True), sort
    ok(ferry("search", "models", "--sort", "trending", "-q"))
    ok(ferry("search", "models", "--sort", "likes", "-q"))
    ds = json_of(ok(ferry("search", "datasets", "many", "--json")), SEARCH_KEYS)
    assert [x["id"] for x in ds["results"]] == ["demo/many-files"]
    word = unique("spc")
    hub_create(hub, "demo/%s" % word, "space", sdk="static")
    sp = json_of(ok(ferry("search", "spaces", word, "--json")), SEARCH_KEYS)
    assert [x["id"] for x in sp["results"]] == ["demo/" + word] and sp["repo_type"] == "space"


def test_search_limit_and_pages(ferry, hub_clean):
    hub = hub_clean
    word = unique("pg")
    family = make_family(hub, word, 7)
    hub.knobs(list_page_size=2)
    mark = log_size(hub)
    obj = json_of(ok(ferry("search", "models", word, "--limit", "5", "--json")), SEARCH_KEYS)
    assert obj["count"] == 5 and obj["pages"] == 3
    assert set(x["id"] for x in obj["results"]) < set(family)
    requests = api_requests(hub, mark, "/api/models")
    assert len(requests) == 3
    assert "limit=5" in requests[0] and "search=" + word in requests[0]
    every = json_of(ok(ferry("search", "models", word, "--limit", "100", "--json")), SEARCH_KEYS)
    assert sorted(x["id"] for x in every["results"]) == sorted(family) and every["pages"] == 4
    hub.knobs(list_page_size=1000)
    mark = log_size(hub)
    ok(ferry("search", "models", word, "-q"))
    (first,) = api_requests(hub, mark, "/api/models")
    query = urllib.parse.parse_qs(first.split("?", 1)[1])
    assert query["limit"] == ["30"] and query["search"] == [word]
    assert set(query["expand"]) == {"private", "gated", "downloads", "likes", "lastModified",
                                    "createdAt", "pipeline_tag"}


def test_search_private_repos(ferry, hub):
    word = unique("priv")
    hub_create(hub, "demo/" + word, visibility="private")
    assert json_of(ok(ferry("search", "models", word, "--json")), SEARCH_KEYS)["count"] == 1
    assert json_of(ok(ferry("search", "models", word, "--json", token="bob")),
                   SEARCH_KEYS)["count"] == 0
    assert json_of(ok(ferry("search", "models", word, "--json", token=None)),
                   SEARCH_KEYS)["count"] == 0


def test_search_usage_errors(ferry):
    for args in (["search"], ["search", "buckets"], ["search", "models", "a", "b"],
                 ["search", "models", "--limit", "0"], ["search", "models", "--limit", "-3"],
                 ["search", "models", "--limit", "x"], ["search", "models", "--sort", "size"],
                 ["search", "spaces", "--sort", "downloads"],
                 ["search", "models", "q", "--search", "r"]):
        r = ferry(*args)
        assert r.returncode == EXIT_USAGE, r.describe()
        assert r.stderr.startswith("ferry: error: "), r.describe()
