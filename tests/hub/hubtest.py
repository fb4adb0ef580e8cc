"""Helpers of the local hub's own tests: start/stop a hub and talk to it."""
import contextlib
import json
import os
import subprocess

from hubclient import HubClient

HERE = os.path.dirname(os.path.abspath(__file__))

LOCALHUB = os.path.join(HERE, "localhub")
SEED_SIZE = 8 << 20


def start_hub(directory, *extra):
    out = subprocess.run([LOCALHUB, "start", "--dir", str(directory), *extra],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines())
    return env, out


def stop_hub(directory):
    subprocess.run([LOCALHUB, "stop", "--dir", str(directory)], timeout=60, check=True)


@contextlib.contextmanager
def running_hub(directory, *extra):
    """A local hub started in `directory` with localhub's options `extra`, stopped however the
    block ends (the session fixtures of every test folder)."""
    env, out = start_hub(directory, *extra)
    try:
        yield Hub(directory, env, out)
    finally:
        stop_hub(directory)


class Hub(HubClient):
    def __init__(self, directory, env, start_output):
        super().__init__(env)
        self.ca = env.get("LOCALHUB_CA")  # none with --http
        self.dir = str(directory)
        self.start_output = start_output
        with open(os.path.join(self.dir, "state.json")) as f:
            self.state = json.load(f)
        self.tokens = self.state["tokens"]
        self.token = env["HF_TOKEN"]

    def access_log(self):
        with open(os.path.join(self.dir, "logs", "access.log")) as f:
            return [line.split() for line in f]

    def user_agents(self):
        """(origin, method, uri, user-agent) of every request, from logs/user-agent.log."""
        with open(os.path.join(self.dir, "logs", "user-agent.log")) as f:
            return [tuple((line.rstrip("\n").split(" ", 3) + [""])[:4]) for line in f]

    def knobs(self, **changes):
        ans = self.post("/admin/knobs", json_body=changes,
                        headers={"X-Admin-Secret": self.state["admin_secret"]})
        assert ans.status == 200, ans.body
        return ans.json()
