"""`ferry card new` and `ferry card check`: the scaffold, the checks, the exit codes, --json,
and hostile cards (invalid YAML, YAML bombs, huge files, bad bytes), each a clear error."""
import json
import os
import time

import pytest

from conftest import EXIT_CARD, EXIT_IO, EXIT_OK, EXIT_USAGE, hub_commit, run_ferry

JSON_KEYS = {"ok", "file", "has_metadata", "errors", "more_errors", "warnings", "error"}
ISSUE_KEYS = {"line", "column", "message"}


def check(path, *args, timeout=30):
    return run_ferry("card", "check", path, *args, timeout=timeout)


def check_json(path, *args, timeout=30):
    r = check(path, "--json", *args, timeout=timeout)
    out = r.json
    assert set(out) == JSON_KEYS, out
    for issue in out["errors"] + out["warnings"]:
        assert set(issue) == ISSUE_KEYS
    assert out["ok"] == (r.returncode == EXIT_OK)
    return r, out


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# ---- ferry card new --------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["model", "dataset"])
def test_scaffold_passes_check(tmp_path, kind):
    out = tmp_path / "README.md"
    r = run_ferry("card", "new", "--type", kind, "-o", out)
    assert r.returncode == EXIT_OK, r.describe()
    text = out.read_text()
    assert text.startswith("---\n")
    for section in ["Intended uses", "Limitations", "Evaluation results",
                    "Bias, risks and ethical considerations", "How to use", "Citation"]:
        assert f"## {section}" in text, section
    if kind == "model":
        for key in ["language:", "license:", "tags:", "datasets:", "metrics:", "model-index:"]:
            assert "\n" + key in text, key
        assert "## Training data" in text and "## Training procedure" in text
    else:
        for key in ["language:", "license:", "pretty_name:", "task_categories:",
                    "size_categories:"]:
            assert "\n" + key in text, key
    r, res = check_json(out, "--type", kind)
    assert r.returncode == EXIT_OK, r.describe()
    assert res["errors"] == [] and res["warnings"] == [] and res["has_metadata"] is True


def test_scaffold_to_stdout_is_the_same_text(tmp_path):
    r = run_ferry("card", "new")
    assert r.returncode == EXIT_OK
    out = tmp_path / "card.md"
    assert run_ferry("card", "new", "-o", out, "-q").returncode == EXIT_OK
    assert out.read_text() == r.stdout
    # the default is a model card; dataset differs
    assert "model-index:" in r.stdout
    assert "model-index:" not in run_ferry("card", "new", "--type", "dataset").stdout


def test_scaffold_never_overwrites_without_force(tmp_path):
    out = write(tmp_path, "README.md", "my own card\n")
    r = run_ferry("card", "new", "-o", out)
    assert r.returncode == EXIT_IO
    assert "exists" in r.stderr and "--force" in r.stderr
    assert out.read_text() == "my own card\n"
    r = run_ferry("card", "new", "-o", out, "--force")
    assert r.returncode == EXIT_OK, r.describe()
    assert out.read_text().startswith("---\n")


def test_usage_errors(tmp_path):
    assert run_ferry("card").returncode == EXIT_USAGE
    assert run_ferry("card", "new", "--type", "space").returncode == EXIT_USAGE
    assert run_ferry("card", "check").returncode == EXIT_USAGE
    assert run_ferry("card", "check", "a", "b").returncode == EXIT_USAGE
    assert run_ferry("card", "--help").returncode == EXIT_OK


# ---- ferry card check: findings ---------------------------------------------------------

def test_valid_card_human_output(tmp_path):
    path = write(tmp_path, "README.md", "---\nlicense: apache-2.0\nlanguage: en\n---\n# Hi\n")
    r = check(path)
    assert r.returncode == EXIT_OK, r.describe()
    assert r.stdout == f"{path}: ok\n"
    r = check(path, "-q")
    assert r.returncode == EXIT_OK and r.stdout == ""


def test_errors_name_line_and_column(tmp_path):
    card = ("---\n"
            "license: apache-2.0\n"
            "tags:\n"
            "- a\n"
            "- [b, c\n"
            "metrics: x\n"
            "---\n")
    path = write(tmp_path, "README.md", card)
    r, res = check_json(path)
    assert r.returncode == EXIT_CARD
    assert len(res["errors"]) == 1
    err = res["errors"][0]
    assert err["line"] == 6 and "invalid YAML" in err["message"]
    assert "started on line 5" in err["message"]
    assert res["error"]["code"] == EXIT_CARD and res["error"]["name"] == "CARD_INVALID"
    # the human form is FILE:LINE:COLUMN: error: ...
    r = check(path)
    assert r.returncode == EXIT_CARD
    assert r.stderr.startswith(f"{path}:6:{err['column']}: error: invalid YAML")


def test_field_checks(tmp_path):
    card = ("---\n"
            "license: my-own-license\n"     # 2: unknown
            "language: [en, 42]\n"         # 3: not a string
            "tags: single\n"               # 4: not a list
            "datasets: org/ds\n"           # fine
            "base_model: [org/a, org/b]\n"  # fine
            "pipeline_tag: 3\n"            # 7: not a string
            "library_name: transformers\n"
            "thumbnail: null\n"            # fine
            "model-index:\n"
            "- name: m\n"
            "  results:\n"
            "  - task: {name: x}\n"        # 13: no type
            "    dataset: {type: d}\n"     # 14: no name
            "    metrics:\n"
            "    - type: acc\n"            # 16: no value
            "---\n")
    r, res = check_json(write(tmp_path, "README.md", card))
    assert r.returncode == EXIT_CARD
    got = [(e["line"], e["message"].split(" ")[0]) for e in res["errors"]]
    assert got == [(2, "unknown"), (3, "language[1]"), (4, "tags"), (7, "pipeline_tag"),
                   (13, "model-index[0].results[0].task"),
                   (14, "model-index[0].results[0].dataset"),
                   (16, "model-index[0].results[0].metrics[0]")], res["errors"]


def test_well_formed_model_index_and_dataset_licenses(tmp_path):
    card = ("---\nlicense: mit\nmodel-index:\n- name: m\n  results:\n"
            "  - task:\n      type: text-classification\n"
            "    dataset:\n      type: imdb\n      name: IMDB\n      split: test\n"
            "    metrics:\n    - type: accuracy\n      value: 0.93\n      verified: false\n"
            "    - type: f1\n      value: '93.1 ± 0.2'\n---\n")
    r, res = check_json(write(tmp_path, "m.md", card))
    assert r.returncode == EXIT_OK, res
    ds = "---\nlicense: [cc-by-4.0, mit]\npretty_name: Demo\n---\n"
    assert check(write(tmp_path, "d.md", ds), "--type", "dataset").returncode == EXIT_OK
    assert check(tmp_path / "d.md").returncode == EXIT_CARD  # a model card has one license


def test_no_metadata_is_a_warning(tmp_path):
    path = write(tmp_path, "README.md", "# A model\n\nNo metadata here.\n")
    r, res = check_json(path)
    assert r.returncode == EXIT_OK
    assert res["has_metadata"] is False and res["errors"] == []
    assert len(res["warnings"]) == 1 and "no metadata" in res["warnings"][0]["message"]
    r = check(path)
    assert r.returncode == EXIT_OK and "warning: no metadata" in r.stderr


def test_unreadable_file(tmp_path):
    r, res = check_json(tmp_path / "missing.md")
    assert r.returncode == EXIT_IO
    assert res["error"]["name"] == "IO" and "missing.md" in res["error"]["message"]


# ---- hostile cards ----------------------------------------------------------------------

def test_deeply_nested_yaml(tmp_path):
    flow = "---\nlicense: mit\nx: " + "[" * 200_000 + "\n---\n"
    block = "---\n" + "".join(" " * i + f"k{i}:\n" for i in range(300)) + "---\n"
    for name, text in [("flow.md", flow), ("block.md", block)]:
        start = time.monotonic()
        r, res = check_json(write(tmp_path, name, text))
        assert r.returncode == EXIT_CARD, name
        assert "nested deeper than 64" in res["errors"][0]["message"]
        assert time.monotonic() - start < 10
    assert res["errors"][0]["line"] == 2 + 64


def test_billion_laughs(tmp_path):
    text = "---\nlicense: mit\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 10):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    text += "---\n"
    start = time.monotonic()
    r, res = check_json(write(tmp_path, "lol.md", text))
    assert time.monotonic() - start < 10
    assert r.returncode == EXIT_CARD
    assert len(res["errors"]) == 1
    assert "expands to more than 100000 nodes" in res["errors"][0]["message"]
    assert res["errors"][0]["line"] == 8  # a5 is where it crosses the limit


def test_ten_megabyte_cards(tmp_path):
    # a long body is fine; ten megabytes of metadata are not; beyond 16 MiB nothing is read
    body = write(tmp_path, "body.md", "---\nlicense: mit\n---\n" + "text " * (2 << 20))
    assert os.path.getsize(body) > 10 << 20
    r = check(body)
    assert r.returncode == EXIT_OK, r.describe()
    meta = write(tmp_path, "meta.md", "---\nlicense: mit\ntags:\n" + "- a-tag-name\n" * 900_000
                 + "---\n")
    r, res = check_json(meta)
    assert r.returncode == EXIT_CARD
    assert "more than the limit of 1048576" in res["errors"][0]["message"]
    huge = write(tmp_path, "huge.md", b"x" * (17 << 20))
    r, res = check_json(huge)
    assert r.returncode == EXIT_CARD
    assert "larger than the limit" in res["errors"][0]["message"]


def test_non_utf8_bytes(tmp_path):
    r, res = check_json(write(tmp_path, "latin1.md", b"---\nlicense: mit\nauthor: Jos\xe9\n---\n"))
    assert r.returncode == EXIT_CARD
    assert res["errors"] == [{"line": 3, "column": 12, "message": "not valid UTF-8 (byte 0xe9)"}]
    r, res = check_json(write(tmp_path, "body.md", b"---\nlicense: mit\n---\n\xff\xfe\x00x\n"))
    assert r.returncode == EXIT_CARD
    assert res["errors"][0]["line"] == 4 and "UTF-8" in res["errors"][0]["message"]


def test_missing_closing_line(tmp_path):
    r, res = check_json(write(tmp_path, "open.md", "\n---\nlicense: mit\ntags: [a]\n# Title\n"))
    assert r.returncode == EXIT_CARD
    assert res["errors"] == [{"line": 2, "column": 1, "message":
                              "metadata block opened with --- is not closed by a --- line"}]


def test_other_hostile_yaml(tmp_path):
    cases = {
        "dup.md": ("---\nlicense: mit\nlicense: gpl\n---\n", 3, "duplicate key"),
        "cycle.md": ("---\nlicense: mit\na: &x [1, *x]\n---\n", 3, "contains it"),
        "noanchor.md": ("---\nlicense: mit\na: *nope\n---\n", 3, "names no anchor"),
        "tab.md": ("---\nlicense: mit\n\ttags: [a]\n---\n", 3, "invalid YAML"),
        # "--- " (a trailing blank) does not close the block: YAML sees a second document
        "twodocs.md": ("---\nlicense: mit\n--- \nfoo: 1\n---\n", 3, "more than one YAML"),
        "list.md": ("---\n- license\n---\n", 2, "must be a mapping"),
    }
    for name, (text, line, needle) in cases.items():
        r, res = check_json(write(tmp_path, name, text))
        assert r.returncode == EXIT_CARD, (name, res)
        assert res["errors"][0]["line"] == line, (name, res)
        assert needle in res["errors"][0]["message"], (name, res)


def test_wide_mappings_and_many_errors_stay_fast(tmp_path):
    wide = "---\nlicense: mit\n" + "".join(f"k{i}: 1\n" for i in range(45_000)) + "---\n"
    assert len(wide) < 1 << 20
    start = time.monotonic()
    r, res = check_json(write(tmp_path, "wide.md", wide))
    assert r.returncode == EXIT_OK, res["errors"][:3]
    dups = "---\nlicense: mit\n" + "k: 1\n" * 40_000 + "---\n"
    r, res = check_json(write(tmp_path, "dups.md", dups))
    assert time.monotonic() - start < 10
    assert r.returncode == EXIT_CARD
    assert len(res["errors"]) == 100 and res["more_errors"] == 40_000 - 1 - 100
    assert res["errors"][0] == {"line": 4, "column": 1,
                                "message": "duplicate key 'k' (first on line 3)"}
    assert all(e["message"].endswith("(first on line 3)") for e in res["errors"])
    anchors = ("---\nlicense: mit\n" + "".join(f"a{i}: &x{i} 1\n" for i in range(10_001))
               + "---\n")
    r, res = check_json(write(tmp_path, "anchors.md", anchors))
    assert r.returncode == EXIT_CARD and "more than 10000 anchors" in res["errors"][0]["message"]


# ---- ferry card get -----------------------------------------------------------------------

CARD = b"---\nlicense: mit\ntags: [a]\n---\n# Title\n\nBody text.\n"


def test_card_get_prints_the_card_of_a_repo(cache, hub, two_commits):
    """hf models card: the README.md of a repo, whole, its metadata or its text; --json has
    all three; a repo without README.md is 'not found' (exit 13)."""
    repo = two_commits["repo"]
    r = cache.ferry("card", "get", repo, "--cacert", hub.ca)
    assert r.returncode == 13 and "no README.md" in r.stderr, r.describe()
    hub_commit(hub, repo, {"README.md": CARD})
    r = cache.ferry("card", "get", repo, "--cacert", hub.ca)
    assert r.returncode == EXIT_OK and r.stdout.encode() == CARD, r.describe()
    r = cache.ferry("card", "get", repo, "--metadata", "--cacert", hub.ca)
    assert r.stdout == "license: mit\ntags: [a]\n", r.describe()
    r = cache.ferry("card", "get", repo, "--text", "--cacert", hub.ca)
    assert r.stdout == "# Title\n\nBody text.\n", r.describe()
    r = cache.ferry("card", "get", repo, "--json", "--cacert", hub.ca)
    out = r.json
    assert out["ok"] is True and out["content"] == CARD.decode(), out
    assert out["metadata"] == "license: mit\ntags: [a]" and out["text"] == "# Title\n\nBody text.\n"
    r = cache.ferry("card", "get", repo, "--revision", two_commits["first"], "--cacert", hub.ca)
    assert r.returncode == 13, r.describe()  # the card came later
    r = cache.ferry("card", "get", repo, "--metadata", "--text")
    assert r.returncode == EXIT_USAGE, r.describe()
