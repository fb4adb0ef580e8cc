"""The official Python client (huggingface_hub) on a Hugging Face cache, for the interoperability
tests of `ferry download`; run by tests/hub/pyclient.py's run_python in the client's default
environment (HF_HOME, HF_ENDPOINT, the hub's CA, HF_HUB_OFFLINE as the test sets them).
Usage: python3 pyclient_ops.py snapshot REPO TYPE [--local] [REVISION]
       python3 pyclient_ops.py files REPO TYPE REVISION PATH...
       python3 pyclient_ops.py scan
Prints one JSON line: snapshot -> {"path", "sha256": {relative path: sha256}}, files ->
{path in the repo: [local path, sha256]}, scan -> scan_cache_dir() as plain data."""
import hashlib
import json
import os
import sys

from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(op, *args):
    if op == "snapshot":
        repo_id, repo_type, rest = args[0], args[1], list(args[2:])
        local = "--local" in rest
        rest = [a for a in rest if a != "--local"]
        path = snapshot_download(repo_id, repo_type=repo_type, local_files_only=local,
                                 revision=rest[0] if rest else None)
        digests = {}
        for root, _, names in os.walk(path):
            for name in names:
                full = os.path.join(root, name)
                digests[os.path.relpath(full, path)] = sha256_of(full)
        return {"path": path, "sha256": digests}
    if op == "files":
        repo_id, repo_type, revision, paths = args[0], args[1], args[2], args[3:]
        out = {}
        for p in paths:
            local = hf_hub_download(repo_id, p, repo_type=repo_type, revision=revision)
            out[p] = [local, sha256_of(local)]
        return out
    if op == "scan":
        info = scan_cache_dir()
        return {"warnings": [str(w) for w in info.warnings], "repos": [{
            "repo_id": r.repo_id, "repo_type": r.repo_type, "size_on_disk": r.size_on_disk,
            "nb_files": r.nb_files, "refs": sorted(r.refs),
            "revisions": [{"commit": v.commit_hash, "refs": sorted(v.refs), "nb_files": v.nb_files,
                           "files": {os.path.relpath(f.file_path, v.snapshot_path): f.size_on_disk
                                     for f in v.files}} for v in r.revisions]}
            for r in info.repos]}
    raise SystemExit(f"unknown operation {op}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
