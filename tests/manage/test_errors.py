"""Every error class of the management commands, each a one-line message and its documented
exit code; arguments refused before any request; a token never printed."""
import json

import pytest

from mghelpers import (EXIT_AUTH, EXIT_REPO_NOT_FOUND, EXIT_USAGE, fails, hub_create, log_size,
                       ok, unique)

EXIT_NETWORK, EXIT_TLS = 3, 9


def commands(repo):
    """One invocation of each command on `repo`."""
    return [["repo", "create", repo], ["repo", "delete", repo, "-y"],
            ["repo", "settings", repo, "--private"], ["repo", "move", repo, "demo/elsewhere"],
            ["branch", "create", repo, "b"], ["branch", "delete", repo, "b"],
            ["tag", "create", repo, "t"], ["tag", "delete", repo, "t", "-y"],
            ["tag", "list", repo], ["ls", repo], ["info", repo]]


@pytest.mark.parametrize("bad", ["demo/a..b", "demo/my model", "demo/x--y", "a/b/c", "",
                                 "demo/-x", "demo/" + "n" * 97, "demo/x.git"])
def test_invalid_repo_ids_are_refused_before_any_request(ferry, hub, bad):
    before = log_size(hub)
    for args in commands(bad):
        fails(ferry(*args), EXIT_USAGE, "repo id")
    assert log_size(hub) == before, "a request went out for an invalid repo id"


def test_invalid_token(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    for args in commands(name) + [["search", "models"]]:
        fails(ferry(*args, token="hf_not_a_real_token"), EXIT_AUTH, "invalid credentials")
    ok(ferry("info", name))  # untouched


def test_no_token_for_a_write(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    before = log_size(hub)
    for args in commands(name)[:-3]:  # the writes
        fails(ferry(*args, token=None), EXIT_AUTH, "no token")
    assert log_size(hub) == before
    ok(ferry("info", name, token=None))  # reading a public repo needs none


def test_read_token_and_no_write_access(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    ok(ferry("tag", "create", name, "t"))
    ok(ferry("branch", "create", name, "b"))
    for token, words in (("demo-read", ["read access"]), ("bob", ["forbidden", "rights"])):
        for args in commands(name)[1:8]:
            fails(ferry(*args, token=token), EXIT_AUTH, *words)
    info = ok(ferry("tag", "list", name, "-q", token="bob"))
    assert info.stdout == "t\n"


def test_missing_repo_and_wrong_type(ferry, hub):
    missing = "demo/" + unique("none")
    for args in commands(missing)[1:]:
        fails(ferry(*args), EXIT_REPO_NOT_FOUND, "not found")
    for args in commands("demo/tiny-model")[2:]:
        fails(ferry(*args, "--repo-type", "dataset"), EXIT_REPO_NOT_FOUND)
    fails(ferry("ls", "spaces/demo/tiny-model"), EXIT_REPO_NOT_FOUND)


def test_private_repo_of_someone_else(ferry, hub):
    for args in (["info", "demo/private-model"], ["ls", "demo/private-model"],
                 ["tag", "list", "demo/private-model"]):
        fails(ferry(*args, token="bob"), EXIT_REPO_NOT_FOUND, "no access")


def test_unreachable_hub_and_bad_certificate(ferry, hub):
    fails(ferry("info", "demo/tiny-model", env={"HF_ENDPOINT": "https://127.0.0.1:1"}),
          EXIT_NETWORK)
    # the system CAs do not know the hub's: a TLS error, not a silent success
    system_cas = {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}
    fails(ferry("ls", "demo/tiny-model", env=system_cas), EXIT_TLS, "TLS")
    # --cacert names the CA explicitly
    r = ferry("ls", "demo/tiny-model", "--cacert", hub.ca, "-q", env=system_cas)
    assert ok(r).stdout.split()[0] == ".gitattributes"
    fails(ferry("info", "demo/tiny-model", env={"HF_ENDPOINT": "ftp://example"}), EXIT_USAGE,
          "endpoint")


def test_json_error_object(ferry, hub):
    r = ferry("info", "demo/" + unique("none"), "--json")
    assert r.returncode == EXIT_REPO_NOT_FOUND
    obj = json.loads(r.stdout)
    assert obj["ok"] is False and obj["error"]["code"] == EXIT_REPO_NOT_FOUND
    assert obj["error"]["name"] == "HUB_REPO_NOT_FOUND" and "not found" in obj["error"]["message"]


def test_token_is_never_printed(ferry, hub):
    token = hub.tokens["demo"]
    name = "demo/" + unique()
    runs = [ferry("repo", "create", name, "--token", token, "-v", "--json", token=None),
            ferry("repo", "create", name, "--token", token, "-v", token=None),
            ferry("tag", "create", name, "v1", "--token", token, "-v", token=None),
            ferry("ls", name, "--token", token, "-v", "--json", token=None),
            ferry("info", name, "--token", token, "-v", token=None),
            ferry("search", "models", "--token", token, "-v", "--json", token=None),
            ferry("repo", "delete", name, "-y", "--token", token, "-v", token=None),
            ferry("repo", "delete", name, "-y", "--token", token, "-v", "--json", token=None),
            ferry("info", name, "-v", "--json", token="bob"),
            ferry("repo", "create", name, "-v", token="hf_wrong_" + token)]
    for r in runs:
        assert token not in r.stdout and token not in r.stderr, r.describe()
        assert hub.tokens["bob"] not in r.stdout + r.stderr
    assert "visible to other users" in runs[0].stderr  # --token warns
    assert runs[0].returncode == 0 and runs[1].returncode == 17 and runs[7].returncode == 11
