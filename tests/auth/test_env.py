"""`ferry env`: versions, paths, the token's presence and source (never its value), the user
when the Hub answers, offline and unreachable Hubs tolerated."""
import json
import os
import subprocess

from authhelpers import CLI_WARNING
from ferrytest import FERRY_BIN

ENV_KEYS = {"ferry_version", "versions", "platform", "endpoint", "hf_home", "cache_dir",
            "token_path", "stored_tokens_path", "stored_tokens", "token_found", "token_source",
            "offline", "user", "user_error", "variables", "settings"}


def whoami_requests(hub):
    return [line for line in hub.access_log() if "/api/whoami-v2" in line[2]]


def test_env_logged_in(ferry):
    ferry.login("demo")
    res = ferry("env", "--json", env={"HF_HUB_DISABLE_PROGRESS_BARS": "1",
                                      "HF_OIDC_ID_TOKEN": ferry.token("bob")})
    assert res.returncode == 0, res.describe()
    out = res.json
    assert set(out) == ENV_KEYS
    assert out["ferry_version"] and out["versions"].startswith("ferry/" + out["ferry_version"])
    assert out["endpoint"] == ferry.hub.endpoint
    assert out["hf_home"] == ferry.hf_home
    assert out["cache_dir"] == os.path.join(ferry.hf_home, "hub")
    assert out["token_path"] == ferry.token_path
    assert out["stored_tokens_path"] == ferry.stored_path and out["stored_tokens"] == 1
    assert out["token_found"] is True and out["token_source"] == "file"
    assert out["offline"] is False
    assert out["user"] == "demo" and out["user_error"] is None
    assert out["variables"]["HF_ENDPOINT"] == ferry.hub.endpoint
    assert out["variables"]["HF_OIDC_ID_TOKEN"] == "<hidden>"
    assert out["variables"]["SSL_CERT_FILE"] == ferry.hub.ca
    res = ferry("env")
    assert res.returncode == 0
    lines = res.stdout.splitlines()
    assert "user: demo" in lines and "token: found (token file)" in lines
    assert "token path: " + ferry.token_path in lines
    assert "endpoint: " + ferry.hub.endpoint in lines


def test_env_token_from_the_environment_is_hidden(ferry):
    res = ferry("env", "--json", env={"HF_TOKEN": ferry.token("alice")})
    assert res.json["token_source"] == "env" and res.json["user"] == "alice"
    assert res.json["variables"]["HF_TOKEN"] == "<hidden>"
    res = ferry("env", env={"HUGGING_FACE_HUB_TOKEN": ferry.token("alice")})
    assert "  HUGGING_FACE_HUB_TOKEN=<hidden>" in res.stdout.splitlines()
    res = ferry("env", "--json", "--token", ferry.token("bob"))
    assert res.json["token_source"] == "explicit" and res.json["user"] == "bob"
    assert CLI_WARNING in res.stderr


def test_env_without_token(ferry):
    res = ferry("env", "--json")
    assert res.returncode == 0
    assert res.json["token_found"] is False and res.json["token_source"] is None
    assert res.json["user"] is None and res.json["user_error"] == "not logged in"
    assert res.json["stored_tokens"] == 0


def test_env_offline_asks_nobody(ferry):
    ferry.login("demo")
    before = len(whoami_requests(ferry.hub))
    res = ferry("env", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert res.returncode == 0
    assert res.json["offline"] is True and res.json["user"] is None
    assert res.json["token_found"] is True
    res = ferry("env", "--offline")
    assert res.returncode == 0 and "offline: yes" in res.stdout
    assert len(whoami_requests(ferry.hub)) == before


def test_env_unreachable_hub(ferry):
    ferry.login("demo")
    res = ferry("env", "--json", env={"HF_ENDPOINT": "https://127.0.0.1:9"}, timeout=60)
    assert res.returncode == 0, res.describe()
    assert res.json["user"] is None and "could not connect" in res.json["user_error"]
    assert res.json["endpoint"] == "https://127.0.0.1:9"


def test_env_invalid_token_and_bad_endpoint(ferry):
    ferry.secrets.add("hf_" + "Z" * 34)
    res = ferry("env", "--json", env={"HF_TOKEN": "hf_" + "Z" * 34})
    assert res.returncode == 0 and res.json["user"] is None
    assert "refused" in res.json["user_error"]
    res = ferry("env", "--json", env={"HF_ENDPOINT": "not a url"})
    assert res.returncode == 0 and res.json["user"] is None and res.json["endpoint"] == ""


def test_env_json_with_bytes_that_are_not_utf8(ferry):
    env_b = {k.encode(): v.encode() for k, v in ferry.env.items()}
    env_b[b"HF_HOME"] = ferry.hf_home.encode() + b"/\xff\xfe"
    env_b[b"HF_HUB_WEIRD"] = b"\xff"
    done = subprocess.run([FERRY_BIN, "env", "--json", "--offline"], env=env_b,
                          capture_output=True, timeout=30)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["hf_home"] == ferry.hf_home + "/??" and out["variables"]["HF_HUB_WEIRD"] == "?"
