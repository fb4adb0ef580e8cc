"""A README.md in the upload goes through ferry's card check first: invalid metadata stops the
upload before any data request or commit, with the line and column (exit 19); a valid card
is uploaded and the no-card warning is gone."""
from ferrytest import MiB
from uphelpers import binary_blob, commits, json_summary, ok, repo_exists, upload_puts, write_tree

EXIT_CARD_INVALID = 19

BAD_CARD = b"""---
language: en
license: not-a-license
tags: [a, b]
---
# model
"""

GOOD_CARD = b"""---
language: en
license: apache-2.0
tags: [ferry-test]
---
# model
"""


def test_invalid_card_stops_the_upload(hub, up, log, repo_id, tmp_path):
    ok(up(repo_id, write_tree(tmp_path / "seed", {"a.txt": b"a\n"})))
    history = commits(hub, repo_id)
    folder = write_tree(tmp_path / "f", {"README.md": BAD_CARD,
                                          "w.bin": binary_blob(5 * MiB, "card-bad")})
    log.mark()
    r = up(repo_id, folder)
    assert r.returncode == EXIT_CARD_INVALID, r.describe()
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("ferry: error: ")]
    assert len(errors) == 1 and "README.md:3:" in errors[0] and "not-a-license" in errors[0], \
        r.describe()
    assert upload_puts(log.lines()) == []
    assert commits(hub, repo_id) == history
    s = json_summary(up(repo_id, folder, "--json"))
    assert s["ok"] is False and s["error"]["code"] == EXIT_CARD_INVALID, s


def test_valid_card_is_uploaded(hub, up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", {"README.md": GOOD_CARD, "c.json": b"{}\n"})
    r = ok(up(repo_id, folder))
    assert "no README.md" not in r.stderr, r.describe()
    assert repo_exists(hub, repo_id)
    r = ok(up(repo_id, write_tree(tmp_path / "g", {"only.txt": b"x\n"}), "--repo-type", "model"))
    assert "no README.md" not in r.stderr, "the repo has a card now: " + r.describe()


NO_CARD = "no README.md"


def test_no_card_warning_only_when_a_commit_leaves_the_repo_without_one(up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", {"a.txt": b"a\n"})
    r = ok(up(repo_id, folder))
    assert r.stderr.count(NO_CARD) == 1 and "model card" in r.stderr, r.describe()
    r = ok(up(repo_id, folder))  # nothing changed: no commit, no warning again
    assert NO_CARD not in r.stderr, r.describe()
    r = ok(up(repo_id, write_tree(tmp_path / "card", {"README.md": b"# card\n"})))
    assert NO_CARD not in r.stderr, r.describe()
    # a --delete that removes the card: the commit leaves the repo without one
    r = ok(up(repo_id, write_tree(tmp_path / "g", {"b.txt": b"b\n"}), "--delete", "*.md"))
    assert NO_CARD in r.stderr, r.describe()


def test_no_card_warning_uses_the_word_of_the_repo_type(up, repo_id, tmp_path):
    folder = write_tree(tmp_path / "f", {"a.txt": b"a\n"})
    r = ok(up(repo_id + "-ds", folder, "--repo-type", "dataset"))
    assert "dataset card" in r.stderr and "--type dataset" in r.stderr, r.describe()
    assert "model card" not in r.stderr, r.describe()
    r = ok(up(repo_id + "-sp", folder, "--repo-type", "space"))
    assert "the Space " in r.stderr and NO_CARD in r.stderr, r.describe()
    assert "model card" not in r.stderr, r.describe()
