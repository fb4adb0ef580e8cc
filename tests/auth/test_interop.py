"""A login shared with the rest of the world: a token stored by `ferry auth login` is used by
`ferry download` in a later process and by the official JavaScript client; files written the
way huggingface_hub writes them (Python's configparser, the reference) are read by ferry, and
ferry's files read back by configparser as huggingface_hub reads them."""
import configparser
import json
import os
import subprocess

from authhelpers import stored_tokens_bytes
from ferrytest import REPO

EXIT_REPO_NOT_FOUND = 11
JS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsauth.mjs")
JS_PACKAGE = os.path.join(REPO, "tests", "hub", "conformance", "node_modules", "@huggingface",
                          "hub", "package.json")
SECRET = b"only demo and demo-org members see this\n"


def test_ferry_download_uses_the_stored_token(ferry):
    res = ferry("download", "demo/private-model", "-q")
    assert res.returncode == EXIT_REPO_NOT_FOUND, res.describe()
    ferry.login("demo")
    res = ferry("download", "demo/private-model", "-q")  # a new process: only the files
    assert res.returncode == 0, res.describe()
    with open(os.path.join(res.stdout.strip(), "secret.txt"), "rb") as f:
        assert f.read() == SECRET
    # after logout, the private repo is out of reach again
    ferry("auth", "logout", "-q")
    res = ferry("download", "demo/private-model", "--force-download", "-q")
    assert res.returncode == EXIT_REPO_NOT_FOUND, res.describe()


def test_js_client_uses_the_token_file(ferry, tmp_path):
    assert os.path.isfile(JS_PACKAGE), "run tests/hub/setup (npm install of @huggingface/hub)"
    ferry.login("demo")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": ferry.home,
           "HF_ENDPOINT": ferry.hub.endpoint, "HF_TOKEN_PATH": ferry.token_path,
           "NODE_EXTRA_CA_CERTS": ferry.hub.ca}
    done = subprocess.run(["node", JS_SCRIPT, str(tmp_path / "js-cache")], env=env,
                          capture_output=True, text=True, timeout=120)
    ferry.check_no_secret(done.stdout + done.stderr, "the JS client's output")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["name"] == "demo" and out["tokenName"] == "localhub-demo"
    with open(out["path"], "rb") as f:
        assert f.read() == SECRET


def test_configparser_reads_ferrys_file_as_hf_does(ferry):
    ferry.login("demo")
    ferry.login("alice")
    config = configparser.ConfigParser(interpolation=None)
    config.read(ferry.stored_path)
    assert {name: dict(config.items(name)) for name in config.sections()} == {
        "localhub-alice": {"hf_token": ferry.token("alice")},
        "localhub-demo": {"hf_token": ferry.token("demo")}}
    # and what configparser itself would write for that content is the same bytes
    again = configparser.ConfigParser(interpolation=None)
    for name in sorted(config.sections()):
        again.add_section(name)
        again.set(name, "hf_token", config.get(name, "hf_token"))
    path = os.path.join(ferry.home, "rewritten")
    with open(path, "w") as f:
        again.write(f)
    assert ferry.read(path) == ferry.read(ferry.stored_path)


def test_ferry_uses_a_login_written_the_hf_way(ferry):
    """stored_tokens and token as huggingface_hub's _save_token / _set_active_token leave them
    (written here with configparser, as huggingface_hub does), with an OAuth section."""
    os.makedirs(ferry.hf_home, mode=0o700)
    config = configparser.ConfigParser(interpolation=None)
    sections = {"localhub-bob": [("hf_token", ferry.token("bob"))],
                "oauth-demo": [("hf_token", ferry.token("demo")), ("refresh_token", "hf_r%fresh"),
                               ("expires_at", "4102444800")]}
    for name in sorted(sections):
        config.add_section(name)
        for key, value in sections[name]:
            config.set(name, key, value)
    with open(ferry.stored_path, "w") as f:
        config.write(f)
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(sections)
    with open(ferry.token_path, "w") as f:
        f.write(ferry.token("demo"))
    ferry.secrets.add("hf_r%fresh")
    res = ferry("auth", "list", "--json")
    assert res.json["active"] == "oauth-demo"
    res = ferry("auth", "whoami", "-q")
    assert res.stdout == "demo\n", res.describe()
    res = ferry("auth", "switch", "--token-name", "localhub-bob", "-q")
    assert res.returncode == 0
    assert ferry.read(ferry.token_path) == ferry.token("bob").encode()
    # a logout of bob leaves the OAuth section with every field, as configparser wrote it
    ferry("auth", "logout", "--token-name", "localhub-bob", "-q")
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(
        {"oauth-demo": sections["oauth-demo"]})
