"""The upload benchmark's local hub: bench/hubbench's LocalHub started without demo repos, plus
what bench/upload_run needs around the timed part (a basic upload URL for curl, the upload
traffic in the access log, the repo's tree, removing stored objects to keep the disk bounded)."""
import os
import secrets
import shutil
import subprocess
import urllib.parse

from hubbench.hub import LOCALHUB, URL_LIFETIME, LocalHub

LFS_JSON = "application/vnd.git-lfs+json"


class UploadHub(LocalHub):
    def __init__(self, directory):
        super().__init__(directory, 0)

    def start(self):
        """Default multipart knobs of the hub (threshold 16 MiB, parts of 8 MiB), like the Hub's
        order of magnitude; signed URLs valid for the whole benchmark."""
        out = subprocess.run([LOCALHUB, "start", "--dir", self.dir,
                              "--knob", f"url_lifetime={URL_LIFETIME}"],
                             capture_output=True, text=True, timeout=300,
                             stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError("localhub start failed:\n" + out.stderr[-2000:])
        self.env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
        from hubclient import HubClient
        self.client = HubClient(self.env)
        with open(os.path.join(self.dir, "state.json")) as f:
            import json
            self.state = json.load(f)
        return self

    def knobs(self, **changes):
        ans = self.client.post("/admin/knobs", json_body=changes,
                               headers={"X-Admin-Secret": self.state["admin_secret"]})
        if ans.status != 200:
            raise RuntimeError(f"knobs: {ans.status} {ans.body[:200]}")
        return ans.json()

    def create_repo(self, repo_id):
        ns, name = repo_id.split("/", 1)
        ans = self.client.post("/api/repos/create", token=self.token,
                               json_body={"name": name, "organization": ns})
        if ans.status not in (200, 409):
            raise RuntimeError(f"create {repo_id}: {ans.status}")

    def basic_upload_url(self, repo_id, size):
        """One basic (single PUT) upload location on the CDN origin for size bytes of a random
        object: the multipart threshold is raised for the one LFS batch call, then restored."""
        self.create_repo(repo_id)
        before = self.knobs()["multipart_threshold"]
        self.knobs(multipart_threshold=size + 1)
        try:
            ans = self.client.post(f"/{repo_id}.git/info/lfs/objects/batch", token=self.token,
                                   headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON},
                                   json_body={"operation": "upload", "transfers": ["basic"],
                                              "hash_algo": "sha256",
                                              "objects": [{"oid": secrets.token_hex(32),
                                                           "size": size}]})
        finally:
            self.knobs(multipart_threshold=before)
        if ans.status != 200:
            raise RuntimeError(f"LFS batch: {ans.status} {ans.body[:200]}")
        href = ans.json()["objects"][0]["actions"]["upload"]["href"]
        if "header" in ans.json()["objects"][0]["actions"]["upload"]:
            raise RuntimeError("the hub offered multipart, not one basic PUT")
        return href

    def received_by(self, href):
        """Bytes the hub stored for a basic upload URL."""
        uid = urllib.parse.urlsplit(href).path.split("/")[2]
        try:
            return os.path.getsize(os.path.join(self.dir, "upload", uid, "basic"))
        except OSError:
            return None

    def tidy(self):
        """Remove stored LFS objects and upload leftovers: every run uploads new objects, the
        disk must not fill up over the rounds."""
        for sub in ("store/lfs", "upload"):
            folder = os.path.join(self.dir, sub)
            for name in os.listdir(folder) if os.path.isdir(folder) else []:
                path = os.path.join(folder, name)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)

    def lfs_oids(self, repo_id, revision="main"):
        """{path: (lfs sha256 or None, size)} of the files at revision."""
        ans = self.client.get(f"/api/models/{repo_id}/tree/{revision}?recursive=true",
                              token=self.token)
        if ans.status != 200:
            return {}
        return {e["path"]: ((e.get("lfs") or {}).get("oid"), e["size"])
                for e in ans.json() if e["type"] == "file"}

    def head(self, repo_id):
        ans = self.client.get(f"/api/models/{repo_id}/revision/main", token=self.token)
        return ans.json()["sha"] if ans.status == 200 else None

    def upload_traffic_since(self, offset):
        """Counts from the access log after offset: all requests, API requests, upload PUTs
        (data), bytes the CDN received, commits."""
        _, lines = self.requests_since(offset)
        out = {"all": 0, "api": 0, "data": 0, "put_bytes": 0, "commits": 0}
        for line in lines:
            f = line.split()
            if len(f) < 6:
                continue
            out["all"] += 1
            origin, method, uri = f[0], f[1], f[2]
            if origin == "cdn" and method == "PUT":
                out["data"] += 1
                out["put_bytes"] += int(f[5])
            elif origin == "hub":
                out["api"] += 1
                if method == "POST" and "/commit/" in uri:
                    out["commits"] += 1
        return out
