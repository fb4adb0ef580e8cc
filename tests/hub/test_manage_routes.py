"""The local hub's routes for repo management and search (used by ferry repo/branch/tag/ls/info/
search): repo move, settings validation, Space SDKs, listing page size and expand=, cardData."""
import uuid


def create(hub, name, rtype="model", ns="demo", token=None, **extra):
    body = {"name": name, "organization": ns, "type": rtype, **extra}
    return hub.post("/api/repos/create", token=token or hub.token, json_body=body)


def unique(prefix="m"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def all_pages(hub, url):
    items, pages = [], 0
    while url:
        ans = hub.get(url)
        assert ans.status == 200, ans.body
        items += ans.json()
        pages += 1
        link = ans.header("link")
        url = link.split(";")[0].strip("<> ") if link else None
        assert pages < 50
    return items, pages


def test_move_renames_and_keeps_content(hub):
    name = unique()
    assert create(hub, name).status == 200
    before = hub.get("/api/models/demo/%s" % name).json()["sha"]
    new = unique("moved")
    body = {"fromRepo": "demo/" + name, "toRepo": "demo-org/" + new, "type": "model"}
    ans = hub.post("/api/repos/move", token=hub.token, json_body=body)
    assert ans.status == 200, ans.body
    gone = hub.get("/api/models/demo/%s" % name)  # anonymous: 401 RepoNotFound
    assert gone.status == 401 and gone.header("x-error-code") == "RepoNotFound"
    moved = hub.get("/api/models/demo-org/%s" % new).json()
    assert moved["id"] == "demo-org/" + new and moved["sha"] == before


def test_move_errors(hub):
    a, b = unique(), unique()
    assert create(hub, a).status == 200 and create(hub, b).status == 200

    def move(src, dst, token=hub.token, rtype="model"):
        return hub.post("/api/repos/move", token=token,
                        json_body={"fromRepo": src, "toRepo": dst, "type": rtype})

    conflict = move("demo/" + a, "demo/" + b)
    assert conflict.status == 409 and conflict.json()["url"].endswith("/demo/" + b)
    missing = move("demo/" + unique("none"), "demo/" + unique())
    assert missing.status == 404 and missing.header("x-error-code") == "RepoNotFound"
    assert move("demo/" + a, "demo/" + b, rtype="dataset").status == 404  # wrong type
    assert move("demo/" + a, "alice/" + unique(), token=hub.token).status == 403  # not her ns
    assert move("demo/" + a, "demo/" + unique(), token=hub.tokens["bob"]).status == 403
    assert move("demo/" + a, "demo/" + unique(), token=hub.tokens["demo-read"]).status == 403
    assert move("demo/" + a, "demo/bad..name").status == 400
    assert move("demo/" + a, "no-namespace").status == 400
    anonymous = hub.post("/api/repos/move", json_body={"fromRepo": "demo/" + a, "toRepo": "demo/x"})
    assert anonymous.status == 401


def test_settings_are_validated(hub):
    name = unique()
    assert create(hub, name).status == 200
    url = "/api/models/demo/%s/settings" % name
    for body in ({"gated": "sometimes"}, {"gated": True}, {"visibility": "hidden"}):
        ans = hub.request("PUT", url, token=hub.token, json_body=body)
        assert ans.status == 400, body
        assert ans.header("x-error-message")
    assert hub.request("PUT", url, token=hub.token, json_body={"gated": "manual"}).status == 200
    assert hub.get("/api/models/demo/" + name).json()["gated"] == "manual"
    assert hub.request("PUT", url, token=hub.token, json_body={"gated": False}).status == 200
    assert hub.get("/api/models/demo/" + name).json()["gated"] is False


def test_space_needs_a_known_sdk(hub):
    assert create(hub, unique("sp"), rtype="space").status == 400
    assert create(hub, unique("sp"), rtype="space", sdk="flask").status == 400
    ok = create(hub, unique("sp"), rtype="space", sdk="docker")
    assert ok.status == 200 and "/spaces/demo/" in ok.json()["url"]


def test_repo_names_with_dots_or_dashes_are_refused(hub):
    for bad in ("a..b", "a--b", "x.git"):
        ans = create(hub, bad)
        assert ans.status == 400, bad


def test_listing_page_size_knob_and_link(hub):
    names = []
    for i in range(5):
        name = unique("pg")
        names.append("demo/" + name)
        assert create(hub, name).status == 200
    hub.knobs(list_page_size=2)
    try:
        query = "/api/models?search=pg-&limit=100"
        items, pages = all_pages(hub, query)
        found = [m["id"] for m in items]
        assert set(names) <= set(found) and len(found) == len(set(found))
        assert pages == (len(found) + 1) // 2
    finally:
        hub.knobs(list_page_size=1000)
    one_page, pages = all_pages(hub, "/api/models?search=pg-&limit=100")
    assert pages == 1 and {m["id"] for m in one_page} == set(found)


def test_listing_expand_selects_fields(hub):
    ans = hub.get("/api/models?search=tiny&expand=downloads&expand=lastModified")
    assert ans.status == 200
    (item,) = ans.json()
    assert set(item) == {"_id", "id", "downloads", "lastModified"}
    bad = hub.get("/api/spaces?expand=downloads")
    assert bad.status == 400 and "downloads" in bad.header("x-error-message")
    full = hub.get("/api/models?search=tiny").json()[0]
    assert {"private", "gated", "likes", "tags"} <= set(full)


def test_card_data_from_readme(hub):
    info = hub.get("/api/models/demo/tiny-model").json()
    assert info["cardData"] == {"license": "apache-2.0", "library_name": "transformers",
                                "pipeline_tag": "text-generation", "tags": ["demo", "safetensors"]}
    # a README without a metadata block gives no cardData
    assert "cardData" not in hub.get("/api/datasets/demo/many-files").json()


def test_card_data_parser_subset():
    from hubapp.cardmeta import card_data
    text = (b"---\nlicense: mit\nmodel-index:\n- name: m\n  results:\n  - task:\n"
            b"      type: text-generation\n    metrics:\n    - type: accuracy\n      value: 0.5\n"
            b"datasets: [a, 'b c']\nflag: true\nn: 3\n---\n# body\n")
    results = [{"task": {"type": "text-generation"},
                "metrics": [{"type": "accuracy", "value": 0.5}]}]
    assert card_data(text) == {
        "license": "mit", "datasets": ["a", "b c"], "flag": True, "n": 3,
        "model-index": [{"name": "m", "results": results}]}
    for bad in (b"no metadata", b"---\nunterminated: 1\n", b"---\na: &anchor 1\n---\n",
                b"---\n- a list\n---\n", b"\xff\xfe---\n", b"---\na: {b: 1}\n---\n"):
        assert card_data(bad) is None, bad
