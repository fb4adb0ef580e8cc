"""The uploaders under test and how each is invoked: ferry upload, the official JavaScript client's
uploadFiles (tests/upload/jsupload.mjs), and curl -T of the same bytes to one basic upload URL
of the hub's nginx (obtained before timing starts: the raw limit of one connection)."""
import os
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
JSUPLOAD = os.path.join(REPO, "tests", "upload", "jsupload.mjs")


@dataclass
class Context:
    hub: object          # upbench.hub.UploadHub
    repo_id: str         # fresh for every run (case 1 and 2)
    folder: str          # the checkpoint folder
    big_file: str        # case 1: the one file (curl sends it)
    hf_home: str         # ferry's state (hash cache, journals); fresh unless case 3
    ferry_bin: str
    basic_url: str = ""  # curl's target, prepared untimed


def base_env(ctx, home):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8",
            "HF_ENDPOINT": ctx.hub.endpoint, "HF_TOKEN": ctx.hub.token,
            "HF_HOME": ctx.hf_home, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}


class Ferry:
    name, label = "ferry", "ferry upload"
    commits = True       # the run ends with a commit to check

    def prepare(self, ctx):
        pass

    def steps(self, ctx):
        return [[[ctx.ferry_bin, "upload", ctx.repo_id, ctx.folder, "--cacert", ctx.hub.ca,
                  "-q"]]]

    def env(self, ctx):
        return {}


class JsClient(Ferry):
    name, label = "js", "JS client uploadFiles"

    def steps(self, ctx):
        return [[["node", JSUPLOAD, ctx.repo_id, "model", ctx.folder]]]

    def env(self, ctx):
        return {"NODE_EXTRA_CA_CERTS": ctx.hub.ca}


class CurlPut:
    name, label = "curl", "curl -T (one basic PUT)"
    commits = False

    def prepare(self, ctx):
        ctx.basic_url = ctx.hub.basic_upload_url(ctx.repo_id, os.path.getsize(ctx.big_file))

    def steps(self, ctx):
        return [[["curl", "-sS", "--fail", "--cacert", ctx.hub.ca, "-T", ctx.big_file,
                  "-o", "/dev/null", ctx.basic_url]]]

    def env(self, ctx):
        return {}


def for_case(case):
    return [Ferry(), JsClient(), CurlPut()] if case == "1" else [Ferry(), JsClient()]
