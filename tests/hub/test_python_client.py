"""The local hub against the official Python client (huggingface_hub), beside the JavaScript one:
its conformance script, the agent harness registry its default environment fetches, and the
`hf` CLI. Each run has a fresh HF_HOME and the client's default environment (tests/hub/pyclient.py):
telemetry and agent detection stay on, so what they ask of the hub is answered as the Hub does."""
import json
import os
import subprocess

import pytest

from hubtest import LOCALHUB, running_hub
from pyclient import run_hf, run_python, run_script

HERE = os.path.dirname(os.path.abspath(__file__))
EMPTY = {"standardEnvVars": [], "harnesses": {}}
# a registry in the shape the Hub serves (utils/_detect_agent.py's Registry): harness ids with the
# variables that reveal them, and the standard variables any tool may set to a harness id
REGISTRY = {"standardEnvVars": ["AI_AGENT", "AGENT"],
            "harnesses": {"ferry-test-harness": {"envVars": {"FERRY_TEST_HARNESS_SESSION": "*"}},
                          "other-harness": {"envVars": {"OTHER_HARNESS": "on"}}}}
WHOAMI = "import json; from huggingface_hub import HfApi; print(json.dumps(HfApi().whoami()))"


def succeeded(done):
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def registry(hub):
    """Sets the hub's agent harness registry for one test; empty again after it."""
    yield lambda value: hub.knobs(agent_harnesses=value)
    hub.knobs(agent_harnesses=EMPTY)


def new_user_agents(hub, before, path):
    return [ua for origin, method, uri, ua in hub.user_agents()[before:] if uri.split("?")[0] == path]


def test_agent_harnesses_answers_the_registry_shape(hub, registry):
    ans = hub.get("/api/agent-harnesses")
    assert ans.status == 200 and ans.header("content-type").startswith("application/json")
    assert ans.json() == EMPTY
    registry(REGISTRY)
    assert hub.get("/api/agent-harnesses").json() == REGISTRY
    secret = {"X-Admin-Secret": hub.state["admin_secret"]}
    for bad in ([], {"harnesses": {}}, {"standardEnvVars": "AI_AGENT", "harnesses": {}},
                {"standardEnvVars": [], "harnesses": {"x": {"envVars": ["X"]}}}):
        ans = hub.post("/admin/knobs", json_body={"agent_harnesses": bad}, headers=secret)
        assert ans.status == 400, (bad, ans.body)
    assert hub.get("/api/agent-harnesses").json() == REGISTRY


def test_whoami_in_the_default_environment_with_the_empty_registry(hub, tmp_path):
    before = len(hub.user_agents())
    me = json.loads(succeeded(run_python(hub, tmp_path / "hf", WHOAMI,
                                         extra={"AI_AGENT": "ferry-test-harness"})))
    assert me["name"] == "demo" and me["auth"]["accessToken"]["role"] == "write"
    # the client fetched the registry once and keeps it for a day in HF_HOME
    assert len(new_user_agents(hub, before, "/api/agent-harnesses")) == 1
    with open(tmp_path / "hf" / ".agent_harnesses.json") as f:
        assert json.load(f) == EMPTY
    (ua,) = new_user_agents(hub, before, "/api/whoami-v2")
    assert "; hf_hub/" in ua and "; python/" in ua, ua
    assert "agent/" not in ua, ua  # an empty registry: no harness, no standard variable


@pytest.mark.parametrize("env, agent", [
    ({"AI_AGENT": "ferry-test-harness"}, "ferry-test-harness"),
    ({"AGENT": "other-harness"}, "other-harness"),
    ({"FERRY_TEST_HARNESS_SESSION": "1"}, "ferry-test-harness"),
    ({"OTHER_HARNESS": "on"}, "other-harness"),
    ({"OTHER_HARNESS": "off"}, None),
    ({"AI_AGENT": "not-registered"}, "unknown"),
    ({}, None),
])
def test_agent_detection_follows_the_hubs_registry(hub, registry, tmp_path, env, agent):
    registry(REGISTRY)
    before = len(hub.user_agents())
    me = json.loads(succeeded(run_python(hub, tmp_path / "hf", WHOAMI, extra=env)))
    assert me["name"] == "demo"
    with open(tmp_path / "hf" / ".agent_harnesses.json") as f:
        assert json.load(f) == REGISTRY
    (ua,) = new_user_agents(hub, before, "/api/whoami-v2")
    found = [part.strip()[len("agent/"):] for part in ua.split(";") if part.strip().startswith("agent/")]
    assert found == ([agent] if agent else []), ua


def test_hf_cli_auth_whoami_and_download(hub, tmp_path):
    out = succeeded(run_hf(hub, tmp_path / "hf", "auth", "whoami"))
    assert "demo" in out and "demo-org" in out, out
    out = succeeded(run_hf(hub, tmp_path / "hf", "download", "demo/tiny-model", "config.json"))
    path = [w for w in out.split() if w.endswith("/config.json")]
    assert path and path[-1].startswith(str(tmp_path / "hf" / "hub" / "models--demo--tiny-model")), out
    with open(path[-1], "rb") as f:
        got = f.read()
    assert got == hub.get("/demo/tiny-model/resolve/main/config.json").body
    with open(tmp_path / "hf" / ".agent_harnesses.json") as f:
        assert json.load(f) == EMPTY


def test_hf_cli_with_telemetry_off_still_reads_the_registry(hub, tmp_path):
    # the CLI asks is_agent() for its output mode whatever the telemetry setting
    out = succeeded(run_hf(hub, tmp_path / "hf", "auth", "whoami",
                           extra={"HF_HUB_DISABLE_TELEMETRY": "1"}))
    assert "demo" in out, out


def test_telemetry_pings_are_answered_as_the_hub_does(hub, tmp_path):
    # libraries built on the client (transformers, gradio...) ping by default: HEAD, no token
    code = ("from huggingface_hub.utils import _telemetry, send_telemetry\n"
            "send_telemetry('ferry-tests/ping', library_name='ferry-tests', library_version='1')\n"
            "_telemetry._TELEMETRY_QUEUE.join()\n")
    before, ua_before = len(hub.access_log()), len(hub.user_agents())
    succeeded(run_python(hub, tmp_path / "hf", code))
    pings = [ln for ln in hub.access_log()[before:] if ln[2].startswith("/api/telemetry/")]
    assert [(ln[1], ln[2], ln[3], ln[6]) for ln in pings] == [
        ("HEAD", "/api/telemetry/ferry-tests/ping", "200", "no")]
    (ua,) = new_user_agents(hub, ua_before, "/api/telemetry/ferry-tests/ping")
    assert ua.startswith("ferry-tests/1; hf_hub/"), ua


def test_conformance_with_the_python_client(hub, tmp_path):
    before = len(hub.access_log())
    ua_before = len(hub.user_agents())
    done = run_script(hub, tmp_path / "hf", os.path.join(HERE, "conformance", "conformance.py"),
                      hub.tokens["alice"], hub.tokens["bob"],
                      extra={"LOCALHUB_CDN": hub.env["LOCALHUB_CDN"]})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# all 11 steps passed" in done.stdout, done.stdout
    lines = hub.access_log()[before:]
    batch = [ln for ln in lines if ln[2].endswith(".git/info/lfs/objects/batch")]
    parts = [ln for ln in lines if ln[1] == "PUT" and ln[2].startswith("/upload/")]
    done_ = [ln for ln in lines if ln[1] == "POST" and ln[2].startswith("/api/lfs/complete/")]
    assert len(batch) == 1 and len(parts) == 3 and len(done_) == 1, lines
    assert all(ln[6] == "no" and ln[3].startswith("2") for ln in parts + done_)
    assert not [ln for ln in lines if "xet" in ln[2].lower()]
    assert not [ln for ln in lines if ln[3].startswith("5")], "server errors"
    # agent detection ran in the default environment: one registry fetch, then the cached copy
    assert len(new_user_agents(hub, ua_before, "/api/agent-harnesses")) == 1
    with open(tmp_path / "hf" / ".agent_harnesses.json") as f:
        assert json.load(f) == EMPTY


def test_start_option_sets_the_registry_and_refuses_other_shapes(tmp_path):
    bad = subprocess.run([LOCALHUB, "start", "--dir", str(tmp_path / "bad"), "--knob",
                          "agent_harnesses=[]"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "agent_harnesses must be" in bad.stderr, bad.stderr
    assert not os.path.exists(tmp_path / "bad" / "run" / "app.pid")
    with running_hub(tmp_path / "good", "--knob", "agent_harnesses=" + json.dumps(REGISTRY)) as h:
        assert h.get("/api/agent-harnesses").json() == REGISTRY
