"""ferry repo create|delete|settings|move against the local hub: every flag, the --json keys,
and what the hub holds afterwards."""
import json
import os
import pty
import subprocess

from ferrytest import FERRY_BIN, TIMEOUT_SCALE
from mghelpers import (CREATE_KEYS, EXIT_AUTH, EXIT_BAD_REQUEST, EXIT_CONFLICT, EXIT_OTHER,
                       EXIT_REPO_NOT_FOUND, EXIT_USAGE, fails, hub_create, hub_info, json_of, ok,
                       unique)

DELETE_KEYS = {"ok", "repo_id", "repo_type", "deleted", "error"}
SETTINGS_KEYS = {"ok", "repo_id", "repo_type", "private", "gated", "error"}
MOVE_KEYS = {"ok", "from", "to", "repo_type", "url", "error"}


def test_create_model_prints_its_url(ferry, hub):
    name = "demo/" + unique()
    r = ok(ferry("repo", "create", name))
    assert r.stdout == f"{hub.endpoint}/{name}\n"
    info = hub_info(hub, name)
    assert info.status == 200 and info.json()["private"] is False
    # the initial commit holds .gitattributes, as on the Hub
    assert [s["rfilename"] for s in info.json()["siblings"]] == [".gitattributes"]


def test_create_dataset_private_json(ferry, hub):
    name = "demo/" + unique("ds")
    r = ok(ferry("repo", "create", name, "--repo-type", "dataset", "--private", "--json"))
    obj = json_of(r, CREATE_KEYS)
    assert obj == {"ok": True, "repo_id": name, "repo_type": "dataset",
                   "url": f"{hub.endpoint}/datasets/{name}", "created": True, "error": None}
    assert hub_info(hub, name, "dataset").json()["private"] is True
    assert hub.get(f"/api/datasets/{name}").status == 401  # anonymous: invisible


def test_create_space_needs_an_sdk(ferry, hub):
    name = "demo/" + unique("sp")
    fails(ferry("repo", "create", name, "--repo-type", "space"), EXIT_USAGE, "Space needs an SDK")
    fails(ferry("repo", "create", "spaces/" + name, "--space-sdk", "flask"), EXIT_USAGE, "flask")
    assert hub.get(f"/api/spaces/{name}", token=hub.token).status == 404
    r = ok(ferry("repo", "create", "spaces/" + name, "--space-sdk", "docker"))
    assert r.stdout.strip() == f"{hub.endpoint}/spaces/{name}"
    assert hub_info(hub, name, "space").json()["sdk"] == "docker"


def test_space_sdk_is_ignored_for_a_model(ferry, hub):
    name = "demo/" + unique()
    r = ok(ferry("repo", "create", name, "--space-sdk", "gradio"))
    assert "ignored" in r.stderr
    assert hub_info(hub, name).status == 200


def test_create_existing_is_a_conflict_unless_exist_ok(ferry, hub):
    name = "demo/" + unique()
    ok(ferry("repo", "create", name))
    fails(ferry("repo", "create", name), EXIT_CONFLICT, "already created", "--exist-ok")
    r = ok(ferry("repo", "create", name, "--exist-ok", "--json"))
    obj = json_of(r, CREATE_KEYS)
    assert obj["created"] is False and obj["url"] == f"{hub.endpoint}/{name}"
    q = ok(ferry("repo", "create", name, "--exist-ok", "-q"))
    assert q.stdout == f"{hub.endpoint}/{name}\n" and q.stderr == ""


def test_create_exist_ok_without_rights_when_readable(ferry, hub):
    """huggingface_hub: a 403 with exist_ok is fine when the repo exists and can be read."""
    r = ok(ferry("repo", "create", "demo/tiny-model", "--exist-ok", "--json", token="bob"))
    assert json_of(r, CREATE_KEYS)["created"] is False
    fails(ferry("repo", "create", "demo/" + unique(), "--exist-ok", token="bob"), EXIT_AUTH,
          "rights")


def test_create_bare_name_goes_to_the_user(ferry, hub):
    short = unique()
    r = ok(ferry("repo", "create", short))
    assert r.stdout.strip() == f"{hub.endpoint}/demo/{short}"
    assert hub_info(hub, "demo/" + short).status == 200


def test_create_in_an_org_and_in_someone_elses_namespace(ferry, hub):
    name = "demo-org/" + unique()
    ok(ferry("repo", "create", name))
    assert hub_info(hub, name).status == 200
    other = "alice/" + unique()
    fails(ferry("repo", "create", other), EXIT_AUTH, "forbidden", "alice")
    assert hub.get(f"/api/models/{other}", token=hub.tokens["alice"]).status == 404


def test_create_refused_by_the_hub_is_exit_18(ferry, hub):
    # a name ferry accepts (huggingface_hub's rules) but this hub refuses
    fails(ferry("repo", "create", "demo/_" + unique()), EXIT_BAD_REQUEST, "Invalid repo name")


def test_delete_with_yes(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    r = ok(ferry("repo", "delete", name, "-y", "--json"))
    assert json_of(r, DELETE_KEYS) == {"ok": True, "repo_id": name, "repo_type": "model",
                                       "deleted": True, "error": None}
    assert hub_info(hub, name).status == 404


def test_delete_refuses_without_a_terminal(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    line = fails(ferry("repo", "delete", name), EXIT_USAGE, "refusing", "-y", name)
    assert "not a terminal" in line
    assert hub_info(hub, name).status == 200


def run_on_terminal(ferry, args, answer):
    """ferry with a pseudo-terminal as stdin (and stderr, where the question goes)."""
    env = dict(ferry.env, HF_TOKEN=ferry.hub.token)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([FERRY_BIN] + args, env=env, stdin=slave, stdout=subprocess.PIPE,
                                stderr=slave, close_fds=True)
        os.close(slave)
        slave = None
        seen = b""
        while b"[y/N]" not in seen:
            chunk = os.read(master, 1024)
            assert chunk, "no question asked"
            seen += chunk
        os.write(master, answer.encode() + b"\n")
        out, _ = proc.communicate(timeout=30 * TIMEOUT_SCALE)
        try:  # the rest of the terminal output
            while True:
                chunk = os.read(master, 4096)
                if not chunk:
                    break
                seen += chunk
        except OSError:
            pass
        return proc.returncode, seen.decode(errors="replace"), out.decode()
    finally:
        if slave is not None:
            os.close(slave)
        os.close(master)


def test_delete_asks_on_a_terminal(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    code, screen, _ = run_on_terminal(ferry, ["repo", "delete", name], "n")
    assert code == EXIT_OTHER and "aborted" in screen and name in screen
    assert hub_info(hub, name).status == 200
    code, screen, out = run_on_terminal(ferry, ["repo", "delete", name, "--json"], "no")
    assert code == EXIT_OTHER and json.loads(out)["error"]["name"] == "ABORTED"
    assert hub_info(hub, name).status == 200
    code, screen, _ = run_on_terminal(ferry, ["repo", "delete", name], "y")
    assert code == 0, screen
    assert hub_info(hub, name).status == 404


def test_delete_missing(ferry, hub):
    name = "demo/" + unique("gone")
    fails(ferry("repo", "delete", name, "-y"), EXIT_REPO_NOT_FOUND, "not found", name)
    r = ok(ferry("repo", "delete", name, "-y", "--missing-ok", "--json"))
    assert json_of(r, DELETE_KEYS)["deleted"] is False


def test_delete_wrong_type_and_no_rights(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    fails(ferry("repo", "delete", name, "-y", "--repo-type", "dataset"), EXIT_REPO_NOT_FOUND)
    fails(ferry("repo", "delete", name, "-y", token="bob"), EXIT_AUTH, "forbidden")
    fails(ferry("repo", "delete", name, "-y", token="demo-read"), EXIT_AUTH, "read access")
    assert hub_info(hub, name).status == 200


def test_settings_private_public_gated(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    r = ok(ferry("repo", "settings", name, "--private", "--gated", "manual", "--json"))
    assert json_of(r, SETTINGS_KEYS) == {"ok": True, "repo_id": name, "repo_type": "model",
                                         "private": True, "gated": "manual", "error": None}
    info = hub_info(hub, name).json()
    assert info["private"] is True and info["gated"] == "manual"
    ok(ferry("repo", "settings", name, "--public"))
    info = hub_info(hub, name).json()
    assert info["private"] is False and info["gated"] == "manual"
    ok(ferry("repo", "settings", name, "--gated", "auto"))
    assert hub_info(hub, name).json()["gated"] == "auto"
    ok(ferry("repo", "settings", name, "--gated", "false", "-q"))
    assert hub_info(hub, name).json()["gated"] is False


def test_settings_errors(ferry, hub):
    name = hub_create(hub, "demo/" + unique())
    fails(ferry("repo", "settings", name), EXIT_USAGE, "nothing to change")
    fails(ferry("repo", "settings", name, "--private", "--public"), EXIT_USAGE, "not both")
    fails(ferry("repo", "settings", name, "--gated", "sometimes"), EXIT_USAGE, "sometimes")
    fails(ferry("repo", "settings", name, "--private", token="bob"), EXIT_AUTH)
    fails(ferry("repo", "settings", "demo/" + unique("none"), "--private"), EXIT_REPO_NOT_FOUND)
    fails(ferry("repo", "settings", name, "--exist-ok"), EXIT_USAGE)  # not its flag
    assert hub_info(hub, name).json()["private"] is False


def test_move(ferry, hub):
    src = hub_create(hub, "demo/" + unique())
    sha = hub_info(hub, src).json()["sha"]
    dst = "demo-org/" + unique("moved")
    r = ok(ferry("repo", "move", src, dst, "--json"))
    assert json_of(r, MOVE_KEYS) == {"ok": True, "from": src, "to": dst, "repo_type": "model",
                                     "url": f"{hub.endpoint}/{dst}", "error": None}
    assert hub_info(hub, src).status == 404
    assert hub_info(hub, dst).json()["sha"] == sha


def test_move_errors(ferry, hub):
    a = hub_create(hub, "demo/" + unique())
    b = hub_create(hub, "demo/" + unique())
    fails(ferry("repo", "move", a, b), EXIT_CONFLICT, "already exists")
    fails(ferry("repo", "move", a, "alice/" + unique()), EXIT_AUTH, "alice")
    fails(ferry("repo", "move", "demo/" + unique("none"), "demo/" + unique()), EXIT_REPO_NOT_FOUND)
    fails(ferry("repo", "move", a, unique()), EXIT_USAGE, "namespace/name")
    fails(ferry("repo", "move", a, "demo/bad name"), EXIT_USAGE, "letters")
    fails(ferry("repo", "move", a), EXIT_USAGE)
    fails(ferry("repo", "move", "datasets/" + a, "demo/x", "--repo-type", "model"), EXIT_USAGE)
    assert hub_info(hub, a).status == 200 and hub_info(hub, b).status == 200


def test_usage_errors(ferry):
    for args in (["repo"], ["repo", "frobnicate"], ["repo", "create"],
                 ["repo", "create", "a/b", "c/d"], ["repo", "delete", "a/b", "--private"],
                 ["repo", "create", "a/b", "--repo-type", "bucket"]):
        r = ferry(*args)
        assert r.returncode == EXIT_USAGE, r.describe()
    assert ok(ferry("repo", "--help")).stdout.startswith("usage: ferry repo")
