"""The token goes to the Hub's origin only, also on paths that follow a URL from an answer:
a tree page whose `Link: rel="next"` names another origin (another port on loopback) is
refused before any request goes there (as `ferry ls -R` refuses it), so the token never
reaches it. Two fake hubs (fakehub.py) stand for the Hub and the other origin."""
from hubrun import ferry_env, run_download
from fakehub import fake_hub

TOKEN = "hf_scope_test_token_0123456789"
EXIT_PROTOCOL = 10


def test_tree_page_on_another_origin_gets_no_token(hub, tmp_path):
    files = {"a.txt": b"first page\n"}
    with fake_hub(hub, "other/repo", files) as other:
        next_url = f"{other.endpoint}/api/models/other/repo/tree/{'1' * 40}?cursor=2"
        with fake_hub(hub, "scope/repo", files, tree_next=next_url) as fake:
            home = tmp_path / "home"
            home.mkdir()
            env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint, "HF_TOKEN": TOKEN})
            r = run_download(["scope/repo", "--cache-dir", tmp_path / "cache", "--cacert",
                              hub.ca], env, timeout=30)
            assert r.returncode == EXIT_PROTOCOL, r.describe()
            assert "Link" in r.stderr and fake.endpoint in r.stderr, r.stderr
            assert TOKEN not in r.stdout + r.stderr
            # The Hub itself got the token (the control: it was sent where it belongs) ...
            assert any("/tree/" in p for p in fake.authorized), fake.requests
            # ... and the other origin got nothing at all, so certainly not the token.
            assert other.requests == [] and other.authorized == [], other.requests
            assert not (tmp_path / "cache" / "models--scope--repo" / "snapshots").exists()


def test_tree_page_on_the_same_origin_is_followed_with_the_token(hub, tmp_path):
    """The control: a next page on the Hub's own origin is fetched, with the token."""
    files = {"a.txt": b"one\n"}
    with fake_hub(hub, "scope/repo", files) as fake:
        fake.tree_next = f"{fake.endpoint}/api/models/scope/repo/tree/{'1' * 40}?cursor=2"
        home = tmp_path / "home"
        home.mkdir()
        env = ferry_env(hub, home, {"HF_ENDPOINT": fake.endpoint, "HF_TOKEN": TOKEN})
        r = run_download(["scope/repo", "--cache-dir", tmp_path / "cache", "--cacert", hub.ca,
                          "-q"], env, timeout=30)
        assert r.returncode == 0, r.describe()
        pages = [p for p in fake.requests if "/tree/" in p]
        assert len(pages) == 2 and "cursor=2" in pages[1], fake.requests
        assert all(p in fake.authorized for p in pages), (fake.requests, fake.authorized)
