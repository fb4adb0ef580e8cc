"""The three clients under test and how each is invoked on a repository.

Every tool fetches the whole snapshot of the repository. ferry and the JavaScript client
start from the repo id; aria2c gets a list prepared before timing starts: the signed CDN URL
a resolve request redirects to for each LFS file (no token: the CDN needs none), the resolve
URL with the Authorization header for the others.
"""
import json
import os
from dataclasses import dataclass

from . import verify

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPSHOT_JS = os.path.join(HERE, "snapshot.mjs")
JS_PACKAGE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "hub", "conformance",
                          "node_modules", "@huggingface", "hub", "package.json")


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    commit: str
    files: list      # tree entries (type "file")

    @property
    def bytes(self):
        return sum(e["lfs"]["size"] if "lfs" in e else e["size"] for e in self.files)


@dataclass
class Context:
    hub: object      # hub.LocalHub
    repo: Repo
    dest: str        # a fresh, empty cache folder (ferry, js) or output folder (aria2c)
    scratch: str     # for the aria2c input list
    ferry_bin: str
    case: str        # "1" or "2"


def base_env(ctx, home):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
            "HF_ENDPOINT": ctx.hub.endpoint, "HF_TOKEN": ctx.hub.token,
            "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class Ferry:
    name, label = "ferry", "ferry download"

    def prepare(self, ctx):
        pass

    def steps(self, ctx):
        return [[[ctx.ferry_bin, "download", ctx.repo.repo_id, "--repo-type", ctx.repo.repo_type,
                  "--cache-dir", ctx.dest, "--cacert", ctx.hub.ca, "-q"]]]

    def env(self, ctx):
        return {}

    def result_root(self, ctx):
        return verify.snapshot_dir(ctx.dest, ctx.repo.repo_id, ctx.repo.repo_type,
                                   ctx.repo.commit)


class JsClient(Ferry):
    name, label = "js", "JS client snapshotDownload"

    def steps(self, ctx):
        return [[["node", SNAPSHOT_JS, ctx.repo.repo_id, ctx.repo.repo_type, ctx.dest]]]

    def env(self, ctx):
        return {"NODE_EXTRA_CA_CERTS": ctx.hub.ca}


class Aria2c:
    name = "aria2c"

    def __init__(self, case):
        self.case = case
        self.label = "aria2c -x16 -s16 (CDN URLs)" if case == "1" else "aria2c -j16 -i list"

    def list_path(self, ctx):
        return os.path.join(ctx.scratch, "aria2c.list")

    def prepare(self, ctx):
        """The input list, resolved now (untimed): CDN URLs for LFS files."""
        lines = []
        for e in ctx.repo.files:
            url = ctx.hub.resolve_url(ctx.repo.repo_id, ctx.repo.repo_type, ctx.repo.commit,
                                      e["path"])
            if "lfs" in e:
                lines.append(ctx.hub.cdn_url(url))
            else:
                lines += [url, f"  header=Authorization: Bearer {ctx.hub.token}"]
            lines += [f"  dir={ctx.dest}", f"  out={e['path']}"]
        with open(self.list_path(ctx), "w") as f:
            f.write("\n".join(lines) + "\n")

    def steps(self, ctx):
        cmd = ["aria2c", "--no-conf", "--ca-certificate=" + ctx.hub.ca, "-j16",
               "--allow-overwrite=true", "--auto-file-renaming=false",
               "--console-log-level=warn", "--summary-interval=0", "--download-result=hide",
               "-q", "-i", self.list_path(ctx)]
        if self.case == "1":
            cmd[3:3] = ["-x16", "-s16"]
        return [[cmd]]

    def env(self, ctx):
        return {}

    def result_root(self, ctx):
        return ctx.dest


def js_client_version():
    try:
        with open(JS_PACKAGE) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return None


def for_case(case):
    return [Ferry(), JsClient(), Aria2c(case)]
