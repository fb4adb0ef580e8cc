"""`ferry auth whoami`, `list`, `switch` and `logout`: outputs, --json keys, exit codes, and
the files after each (as huggingface_hub's _login.py leaves them)."""
import os
import subprocess

import pytest

from ferrytest import FERRY_BIN
from authhelpers import (CLI_WARNING, EXIT_BAD_TOKEN, EXIT_IO, EXIT_OFFLINE, EXIT_USAGE,
                         INVALID_TOKEN, PtyFerry, stored_tokens_bytes)

WHOAMI_KEYS = {"ok", "user", "fullname", "type", "orgs", "token_name", "role", "token_source",
               "endpoint", "error"}
LIST_KEYS = {"ok", "tokens", "active", "env_token", "file_token", "error"}
LOGOUT_KEYS = {"ok", "token_name", "was_logged_in", "removed_active", "env_token", "error"}
SWITCH_KEYS = {"ok", "token_name", "env_token_overrides", "error"}


def masked(token):
    return token[:3] + "****" + token[-4:]


# ---- whoami ---------------------------------------------------------------------------------

def test_whoami_not_logged_in(ferry):
    res = ferry("auth", "whoami")
    assert res.returncode == EXIT_BAD_TOKEN, res.describe()
    assert "not logged in" in res.stderr and res.stdout == ""
    res = ferry("auth", "whoami", "--json")
    assert res.returncode == EXIT_BAD_TOKEN
    assert set(res.json) == WHOAMI_KEYS
    assert res.json["ok"] is False and res.json["user"] is None
    assert res.json["error"]["code"] == EXIT_BAD_TOKEN and res.json["token_source"] is None


def test_whoami_from_the_token_file(ferry):
    ferry.login("demo")
    res = ferry("auth", "whoami")
    assert res.returncode == 0, res.describe()
    assert res.stdout.splitlines() == [
        "user: demo", "orgs: demo-org",
        "token: localhub-demo (role: write; from the token file)",
        "endpoint: " + ferry.hub.endpoint]
    res = ferry("auth", "whoami", "--json")
    assert set(res.json) == WHOAMI_KEYS
    assert res.json == {"ok": True, "user": "demo", "fullname": "Demo User", "type": "user",
                        "orgs": ["demo-org"], "token_name": "localhub-demo", "role": "write",
                        "token_source": "file", "endpoint": ferry.hub.endpoint, "error": None}
    res = ferry("auth", "whoami", "-q")
    assert res.stdout == "demo\n"


def test_whoami_sources_env_and_option(ferry):
    res = ferry("auth", "whoami", "--json", env={"HF_TOKEN": ferry.token("demo-read")})
    assert res.returncode == 0, res.describe()
    assert res.json["token_source"] == "env" and res.json["role"] == "read"
    assert res.json["token_name"] == "localhub-demo-read"
    res = ferry("auth", "whoami", "--json", "--token", ferry.token("alice"))
    assert res.json["token_source"] == "explicit" and res.json["user"] == "alice"
    assert res.json["orgs"] == []
    assert CLI_WARNING in res.stderr


def test_whoami_invalid_token_names_its_source(ferry):
    res = ferry("auth", "whoami", env={"HF_TOKEN": INVALID_TOKEN})
    assert res.returncode == EXIT_BAD_TOKEN, res.describe()
    assert "the token from HF_TOKEN was refused" in res.stderr
    os.makedirs(ferry.hf_home)
    with open(ferry.token_path, "w") as f:
        f.write(INVALID_TOKEN + "\n")
    res = ferry("auth", "whoami", "--json")
    assert res.returncode == EXIT_BAD_TOKEN
    assert "the token file" in res.json["error"]["message"]


def test_whoami_offline_and_cacert(ferry):
    ferry.login("demo")
    res = ferry("auth", "whoami", env={"HF_HUB_OFFLINE": "1"})
    assert res.returncode == EXIT_OFFLINE and "offline" in res.stderr
    # the CA given with --cacert instead of SSL_CERT_FILE
    res = ferry("auth", "whoami", "-q", "--cacert", ferry.hub.ca, drop=["SSL_CERT_FILE"])
    assert res.returncode == 0 and res.stdout == "demo\n", res.describe()
    res = ferry("auth", "whoami", "-v", "-q")
    assert res.returncode == 0


# ---- list -----------------------------------------------------------------------------------

def test_list_empty(ferry):
    res = ferry("auth", "list")
    assert res.returncode == 0 and res.stdout == "No access tokens stored.\n"
    res = ferry("auth", "list", "--json")
    assert res.json == {"ok": True, "tokens": [], "active": None, "env_token": False,
                        "file_token": False, "error": None}


def test_list_marks_the_active_token_and_masks_like_hf(ferry):
    ferry.login("alice")
    ferry.login("demo")
    res = ferry("auth", "ls")
    assert res.returncode == 0, res.describe()
    width = len("localhub-alice")
    assert res.stdout.splitlines() == [
        "  " + "name".ljust(width) + "  token",
        "  " + "localhub-alice".ljust(width) + "  " + masked(ferry.token("alice")),
        "* " + "localhub-demo".ljust(width) + "  " + masked(ferry.token("demo"))]
    res = ferry("auth", "list", "--json")
    assert set(res.json) == LIST_KEYS
    assert res.json["active"] == "localhub-demo"
    assert res.json["tokens"] == [
        {"name": "localhub-alice", "masked": masked(ferry.token("alice")), "active": False},
        {"name": "localhub-demo", "masked": masked(ferry.token("demo")), "active": True}]
    res = ferry("auth", "list", "-q")
    assert res.stdout == "localhub-alice\nlocalhub-demo\n"


def test_list_with_hf_token_set(ferry):
    ferry.login("alice")
    ferry.login("demo")
    res = ferry("auth", "list", "--json", env={"HF_TOKEN": ferry.token("alice")})
    assert res.json["active"] == "localhub-alice" and res.json["env_token"] is True
    res = ferry("auth", "list", env={"HF_TOKEN": ferry.token("alice")})
    assert "HF_TOKEN is set" in res.stderr


def test_list_with_an_unnamed_token_file(ferry):
    os.makedirs(ferry.hf_home)
    with open(ferry.token_path, "w") as f:
        f.write(ferry.token("demo"))
    res = ferry("auth", "list")
    assert res.stdout == "No access tokens stored.\n"
    assert "not stored by name" in res.stderr
    res = ferry("auth", "list", "--json")
    assert res.json["file_token"] is True and res.json["active"] is None


def test_list_short_token_is_fully_masked(ferry):
    os.makedirs(ferry.hf_home)
    with open(ferry.stored_path, "w") as f:
        f.write("[short]\nhf_token = hf_abc123\n\n")
    ferry.secrets.add("hf_abc123")
    res = ferry("auth", "list", "--json")
    assert res.json["tokens"] == [{"name": "short", "masked": "****", "active": False}]


def test_list_reads_what_configparser_accepts(ferry):
    """A file edited by hand but valid for configparser: comments, upper-case keys, ':' as the
    delimiter, blanks, other fields."""
    os.makedirs(ferry.hf_home)
    demo = ferry.token("demo")
    with open(ferry.stored_path, "w") as f:
        f.write(f"# my tokens\n[zz-last]\nHF_TOKEN : {demo}  \n; note\nexpires_at=5\n\n\n"
                f"[a name with spaces]\n  hf_token=hf_someOtherToken1234\n")
    ferry.secrets.add("hf_someOtherToken1234")
    with open(ferry.token_path, "w") as f:
        f.write(demo + "\n")
    res = ferry("auth", "list", "--json")
    assert res.returncode == 0, res.describe()
    assert [(t["name"], t["active"]) for t in res.json["tokens"]] == [
        ("zz-last", True), ("a name with spaces", False)]


@pytest.mark.parametrize("text,line", [
    ("hf_token = x\n", 1),
    ("[a]\nhf_token = x\n[a]\nhf_token = y\n", 3),
    ("[a]\nhf_token = x\nHF_TOKEN = y\n", 3),
    ("[a]\njust words\n", 2),
    ("[DEFAULT]\nhf_token = x\n", 1),
])
def test_list_reports_a_malformed_file(ferry, text, line):
    os.makedirs(ferry.hf_home)
    with open(ferry.stored_path, "w") as f:
        f.write(text)
    res = ferry("auth", "list")
    assert res.returncode == EXIT_IO, res.describe()
    assert f"line {line}" in res.stderr


# ---- switch ---------------------------------------------------------------------------------

def test_switch_by_name(ferry):
    ferry.login("alice")
    ferry.login("demo")
    stored = ferry.read(ferry.stored_path)
    res = ferry("auth", "switch", "--token-name", "localhub-alice")
    assert res.returncode == 0, res.describe()
    assert res.stdout == 'The active token is now "localhub-alice".\n'
    assert ferry.read(ferry.token_path) == ferry.token("alice").encode()
    assert ferry.read(ferry.stored_path) == stored
    res = ferry("auth", "whoami", "-q")
    assert res.stdout == "alice\n"
    res = ferry("auth", "switch", "--token-name", "localhub-demo", "--json")
    assert set(res.json) == SWITCH_KEYS
    assert res.json == {"ok": True, "token_name": "localhub-demo", "env_token_overrides": False,
                        "error": None}
    res = ferry("auth", "switch", "--token-name", "localhub-alice", "-q",
                env={"HF_TOKEN": ferry.token("bob")})
    assert res.stdout == "" and "HF_TOKEN is set" in res.stderr


def test_switch_to_an_unknown_name(ferry):
    ferry.login("demo")
    res = ferry("auth", "switch", "--token-name", "nobody")
    assert res.returncode == EXIT_USAGE, res.describe()
    assert 'no stored token is named "nobody"' in res.stderr
    assert ferry.read(ferry.token_path) == ferry.token("demo").encode()
    res = ferry("auth", "switch", "--token-name", "nobody", "--json")
    assert res.json["ok"] is False and res.json["error"]["code"] == EXIT_USAGE


def test_switch_without_name_and_terminal(ferry):
    ferry.login("demo")
    res = ferry("auth", "switch")
    assert res.returncode == EXIT_USAGE and "--token-name" in res.stderr


def test_switch_asks_on_a_terminal(ferry):
    ferry.login("alice")
    ferry.login("demo")
    term = PtyFerry(ferry, "auth", "switch")
    try:
        term.read_until("(or 'q' to quit): ")
        assert b"1. localhub-alice" in term.output and b"2. localhub-demo (active)" in term.output
        term.write("7\n")
        term.read_until("Not a number from 1 to 2.")
        term.write("1\n")
        assert term.finish() == 0, term.output
        assert b'The active token is now "localhub-alice".' in term.output
    finally:
        term.close()
    assert ferry.read(ferry.token_path) == ferry.token("alice").encode()
    term = PtyFerry(ferry, "auth", "switch")
    try:
        term.read_until("(or 'q' to quit): ")
        term.write("q\n")
        assert term.finish() == EXIT_USAGE
    finally:
        term.close()
    assert ferry.read(ferry.token_path) == ferry.token("alice").encode()


# ---- logout ---------------------------------------------------------------------------------

def test_logout_one_active_token(ferry):
    ferry.login("alice")
    ferry.login("demo")
    res = ferry("auth", "logout", "--token-name", "localhub-demo")
    assert res.returncode == 0, res.describe()
    assert 'Logged out from the token "localhub-demo".' in res.stdout
    assert "no token is active now" in res.stdout
    assert not os.path.exists(ferry.token_path)
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(
        {"localhub-alice": [("hf_token", ferry.token("alice"))]})


def test_logout_one_inactive_token_keeps_the_active_one(ferry):
    ferry.login("alice")
    ferry.login("demo")
    res = ferry("auth", "logout", "--token-name", "localhub-alice", "--json")
    assert set(res.json) == LOGOUT_KEYS
    assert res.json == {"ok": True, "token_name": "localhub-alice", "was_logged_in": True,
                        "removed_active": False, "env_token": False, "error": None}
    assert ferry.read(ferry.token_path) == ferry.token("demo").encode()
    assert ferry.read(ferry.stored_path) == stored_tokens_bytes(
        {"localhub-demo": [("hf_token", ferry.token("demo"))]})
    # the last one: stored_tokens stays, empty, as configparser writes no section
    ferry("auth", "logout", "--token-name", "localhub-demo", "-q")
    assert ferry.read(ferry.stored_path) == b""
    assert not os.path.exists(ferry.token_path)


def test_logout_unknown_name_changes_nothing(ferry):
    ferry.login("demo")
    before = ferry.read(ferry.stored_path)
    res = ferry("auth", "logout", "--token-name", "nobody")
    assert res.returncode == EXIT_USAGE, res.describe()
    assert 'no stored token is named "nobody"' in res.stderr
    assert ferry.read(ferry.stored_path) == before
    assert ferry.read(ferry.token_path) == ferry.token("demo").encode()


def test_logout_all(ferry):
    ferry.login("alice")
    ferry.login("demo")
    res = ferry("auth", "logout")
    assert res.returncode == 0 and res.stdout == "Logged out from every stored token.\n"
    assert os.listdir(ferry.hf_home) == []
    res = ferry("auth", "logout")
    assert res.returncode == 0 and res.stdout == "Not logged in.\n"
    res = ferry("auth", "whoami")
    assert res.returncode == EXIT_BAD_TOKEN


def test_logout_with_hf_token_still_set(ferry):
    ferry.login("demo")
    res = ferry("auth", "logout", env={"HF_TOKEN": ferry.token("demo")})
    assert res.returncode == 0
    assert "still set" in res.stderr
    assert not os.path.exists(ferry.token_path)


# ---- usage ----------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["auth"], ["auth", "nope"], ["auth", "list", "--token", "x"], ["auth", "whoami", "extra"],
    ["auth", "logout", "--token", "x"], ["auth", "login", "--token-name", "n"],
    ["auth", "switch", "--bogus"]])
def test_usage_errors(ferry, args):
    res = ferry(*args)
    assert res.returncode == EXIT_USAGE, res.describe()


def test_help(ferry):
    for args in (["auth", "--help"], ["auth", "login", "--help"], ["--help"]):
        res = ferry(*args)
        assert res.returncode == 0 and "auth" in res.stdout, res.describe()


def test_network_tls_and_verbose_errors(ferry):
    ferry.login("demo")
    res = ferry("auth", "whoami", env={"HF_ENDPOINT": "https://127.0.0.1:9"})
    assert res.returncode == 3, res.describe()  # network
    assert "could not connect" in res.stderr
    res = ferry("auth", "whoami", "--cacert", "/etc/ssl/certs/ca-certificates.crt",
                drop=["SSL_CERT_FILE"])
    assert res.returncode == 9, res.describe()  # TLS: the hub's CA is not in that bundle
    # -v: the engine's debug log, with the token sent, and still no token in it
    res = ferry("auth", "login", "-v", "--token", ferry.token("alice"))
    assert res.returncode == 0, res.describe()
    assert "token from --token" in res.stderr
    res = ferry("auth", "whoami", "-v", env={"HF_TOKEN": INVALID_TOKEN})
    assert res.returncode == EXIT_BAD_TOKEN
    assert "token from HF_TOKEN" in res.stderr


# ---- token ----------------------------------------------------------------------------------

def token_run(ferry, *args, env=None, drop=()):
    """ferry auth token outside the fixture's secret check: printing it is its one job."""
    return subprocess.run([FERRY_BIN, "auth", "token", *args], env=ferry.env_with(env, drop),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)


def test_token_prints_the_active_token_and_only_on_stdout(ferry):
    res = ferry("auth", "token")  # not logged in: nothing printed, exit 15
    assert res.returncode == EXIT_BAD_TOKEN and "not logged in" in res.stderr, res.describe()
    assert res.stdout == ""
    ferry.login("demo")
    done = token_run(ferry)
    assert done.returncode == 0, done
    assert done.stdout == ferry.token("demo") + "\n"
    assert ferry.token("demo") not in done.stderr and "the token file" in done.stderr
    env_token = ferry.token("alice")
    done = token_run(ferry, env={"HF_TOKEN": env_token})  # HF_TOKEN comes first, as for hf
    assert done.stdout == env_token + "\n" and "HF_TOKEN" in done.stderr, done
    done = token_run(ferry, "-q")
    assert done.stdout == ferry.token("demo") + "\n" and done.stderr == "", done
    res = ferry("auth", "token", "--json")  # never inside JSON that may end up in a log
    assert res.returncode == EXIT_USAGE and res.stdout == "", res.describe()
