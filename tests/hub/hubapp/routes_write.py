"""Write routes: create/delete/move repo, settings, preupload, commit (NDJSON), branches, tags."""
import base64
import json
import os
import re
import urllib.parse

from . import access, lfs
from .app_util import json_response, split_rev
from .errors import HubError
from .repos import DEFAULT_BRANCH, decode_file_op, lfs_patterns, path_is_lfs_tracked

PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
LFS_SIZE_THRESHOLD = 10 << 20
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")


def repo_url(req, rtype, ns, name):
    return "%s/%s%s/%s" % (req.endpoint, PREFIX[rtype], ns, name)


def create_repo(req):
    if req.user is None:
        raise HubError(401, None, "You must be authenticated to create a repo")
    if req.hub.knobs.get("create_conflict"):
        raise HubError(409, None, "There is another conflicting operation is in progress on "
                       "this repo, please retry later")
    body = req.json()
    name = body.get("name") or ""
    ns = body.get("organization") or req.user["name"]
    if "/" in name:
        ns, name = name.split("/", 1)
    rtype = body.get("type") or "model"
    if rtype not in PREFIX:
        raise HubError(400, None, "Invalid repo type: %s" % rtype)
    check_name(ns, name)
    if rtype == "space" and body.get("sdk") not in SPACE_SDKS:
        raise HubError(400, None, "Invalid Space SDK %r: expected one of %s"
                       % (body.get("sdk"), ", ".join(SPACE_SDKS)))
    if not access.is_member(req.hub.db, req.user, ns):
        raise HubError(403, None, "You don't have the rights to create a repo under the "
                       "namespace %s" % ns)
    if req.token["role"] != "write":
        raise HubError(403, None, "This token has read access only; a write token is required")
    url = repo_url(req, rtype, ns, name)
    if req.hub.db.repo(rtype, ns, name):
        raise HubError(409, None, "You already created this %s repo" % rtype, extra={"url": url})
    visibility = body.get("visibility")
    private = bool(body.get("private")) or visibility in ("private", "protected")
    repo = req.hub.repos.create(rtype, ns, name, req.user["name"], private=private,
                                sdk=body.get("sdk"))
    for f in body.get("files") or []:
        req.hub.repos.commit(repo, DEFAULT_BRANCH, "Add %s" % f["path"], "", req.user["name"],
                             [("file", f["path"], decode_file_op(f))])
    return json_response({"url": url, "name": "%s/%s" % (ns, name),
                          "id": "%s/%s" % (ns, name)})


def check_name(ns, name):
    if (not NAME_RE.match(name) or not NAME_RE.match(ns) or ".." in name or "--" in name
            or name.endswith(".git")):
        raise HubError(400, None, "Invalid repo name: %s/%s" % (ns, name))


def move_repo(req):
    """POST /api/repos/move {"fromRepo", "toRepo", "type"}: rename a repo or give it to
    another namespace the user belongs to."""
    if req.user is None:
        raise HubError(401, None, "You must be authenticated to move a repo")
    body = req.json()
    src, dst = str(body.get("fromRepo") or ""), str(body.get("toRepo") or "")
    rtype = body.get("type") or "model"
    if rtype not in PREFIX:
        raise HubError(400, None, "Invalid repo type: %s" % rtype)
    if src.count("/") != 1 or dst.count("/") != 1:
        raise HubError(400, None, "Repo ids must be 'namespace/name'")
    ns, name = src.split("/")
    dns, dname = dst.split("/")
    check_name(dns, dname)
    repo = access.repo_for(req, rtype, ns, name, write=True)
    if not access.is_member(req.hub.db, req.user, dns):
        raise HubError(403, None, "You don't have the rights to create a repo under the "
                       "namespace %s" % dns)
    if req.hub.db.repo(rtype, dns, dname):
        raise HubError(409, None, "A %s repo named %s already exists" % (rtype, dst),
                       extra={"url": repo_url(req, rtype, dns, dname)})
    req.hub.db.run("UPDATE repos SET namespace=?, name=? WHERE id=?", dns, dname, repo["id"])
    return json_response({})


def delete_repo(req):
    body = req.json()
    name = body.get("name") or ""
    ns = body.get("organization") or (req.user["name"] if req.user else "")
    if "/" in name:
        ns, name = name.split("/", 1)
    repo = access.repo_for(req, body.get("type") or "model", ns, name, write=True)
    req.hub.repos.delete(repo)
    return json_response({})


def dispatch(req, rtype, ns, name, action, rest):
    repo = access.repo_for(req, rtype, ns, name, write=True)
    m = req.method
    if action == "settings" and m == "PUT":
        return settings(req, repo)
    if action == "" and m == "DELETE":
        req.hub.repos.delete(repo)
        return json_response({})
    if action == "preupload" and m == "POST":
        return preupload(req, repo, rest)
    if action == "commit" and m == "POST":
        return commit(req, repo, rest)
    if action == "branch" and rest:
        return branch(req, repo, rest)
    if action == "tag" and rest:
        return tag(req, repo, rest)
    raise HubError(404, None, "Not found")


def settings(req, repo):
    body = req.json()
    sets = []
    if "gated" in body:
        gated = body["gated"]
        if gated not in ("auto", "manual", False):
            raise HubError(400, None, "Invalid gated value %r: expected \"auto\", \"manual\" or "
                           "false" % (gated,))
        sets.append(("gated", gated or ""))
    if "private" in body:
        sets.append(("private", int(bool(body["private"]))))
    if "visibility" in body:
        if body["visibility"] not in ("public", "private", "protected"):
            raise HubError(400, None, "Invalid visibility %r" % (body["visibility"],))
        sets.append(("private", int(body["visibility"] in ("private", "protected"))))
    for col, val in sets:
        req.hub.db.run("UPDATE repos SET %s=? WHERE id=?" % col, val, repo["id"])
    return json_response({})


def preupload(req, repo, rest):
    rev, _ = split_rev(rest)
    oid = req.hub.repos.resolve_or_raise(repo, rev)
    body = req.json()
    attrs = req.hub.db.file(repo["id"], oid, ".gitattributes")
    patterns = lfs_patterns(req.hub.store.read_blob(attrs["blob"])) if attrs else []
    extra = body.get("gitAttributes")
    if extra:
        patterns += lfs_patterns(extra.encode())
    out = []
    for f in body.get("files") or []:
        path = f["path"]
        sample = base64.b64decode(f.get("sample") or "")
        lfs_mode = (int(f.get("size") or 0) >= LFS_SIZE_THRESHOLD or looks_binary(sample)
                    or path_is_lfs_tracked(path, patterns))
        item = {"path": path, "uploadMode": "lfs" if lfs_mode else "regular",
                "shouldIgnore": False}
        cur = req.hub.db.file(repo["id"], oid, path)
        if cur:
            item["oid"] = cur["lfs_oid"] or cur["blob"]
        out.append(item)
    return json_response({"files": out, "commitOid": oid})


def looks_binary(sample: bytes) -> bool:
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start < len(sample) - 3  # a cut multi-byte character at the end is fine
    return False


def commit(req, repo, rest):
    if req.hub.knobs.get("record_commits"):
        record = os.path.join(req.hub.dir, "commits")
        os.makedirs(record, exist_ok=True)
        with open(os.path.join(record, "%06d.ndjson" % len(os.listdir(record))), "wb") as f:
            f.write(req.body)
    rev, _ = split_rev(rest)
    create_pr = req.flag("create_pr")
    header, ops = None, []
    for line in req.body.decode("utf-8").splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        key, value = item.get("key"), item.get("value") or {}
        path = (value.get("path") or "").lstrip("/")
        if path.startswith("./"):
            path = path[2:]
        if key == "header":
            header = value
        elif key == "file":
            ops.append(("file", path, decode_file_op(value)))
        elif key == "lfsFile":
            sha = str(value.get("oid") or "")
            if not lfs.SHA256_RE.match(sha):
                raise HubError(400, None, "Invalid LFS oid: %r" % sha)
            lfs.ensure_object(req.hub, sha)
            ops.append(("lfs", path, sha))
        elif key == "deletedFile":
            ops.append(("delete", path))
        elif key == "deletedFolder":
            ops.append(("delete_folder", path.rstrip("/")))
        else:
            raise HubError(400, None, "Unknown commit operation: %s" % key)
    if header is None:
        raise HubError(400, None, "The commit must start with a header line")
    for op in ops:
        parts = op[1].split("/")
        if not op[1] or any(p in ("", ".", "..", ".git") for p in parts):
            raise HubError(400, None, "Invalid path in repo: %r" % op[1])
    oid, pr = req.hub.repos.commit(
        repo, rev, header.get("summary") or "Update", header.get("description") or "",
        req.user["name"], ops, parent_commit=header.get("parentCommit"), create_pr=create_pr)
    base = repo_url(req, repo["type"], repo["namespace"], repo["name"])
    out = {"success": True, "commitOid": oid, "commitUrl": "%s/commit/%s" % (base, oid),
           "hookOutput": ""}
    if pr is not None:
        out["pullRequestUrl"] = "%s/discussions/%d" % (base, pr)
    return json_response(out)


def branch(req, repo, rest):
    name = urllib.parse.unquote("/".join(rest))
    ref = "refs/heads/" + name
    exists = req.hub.db.ref(repo["id"], ref)
    if req.method == "DELETE":
        if not exists:
            raise HubError(404, "RevisionNotFound", "Invalid rev id: %s" % name)
        if name == DEFAULT_BRANCH:
            raise HubError(403, None, "Cannot delete the default branch")
        req.hub.repos.delete_ref(repo, ref)
        return json_response({})
    body = req.json() if req.body else {}
    if exists and not body.get("overwrite"):
        raise HubError(409, None, "Reference already exists")
    if body.get("emptyBranch"):
        raise HubError(400, None, "emptyBranch is not supported by the local hub")
    start = body.get("startingPoint") or DEFAULT_BRANCH
    oid = req.hub.repos.resolve_or_raise(repo, start)
    req.hub.repos.set_ref(repo, ref, oid)
    return json_response({})


def tag(req, repo, rest):
    name = urllib.parse.unquote("/".join(rest))
    if req.method == "DELETE":
        ref = "refs/tags/" + name
        if not req.hub.db.ref(repo["id"], ref):
            raise HubError(404, "RevisionNotFound", "Invalid rev id: %s" % name)
        req.hub.repos.delete_ref(repo, ref)
        return json_response({})
    body = req.json()
    tag_name = body.get("tag") or ""
    if not tag_name:
        raise HubError(400, None, "Missing tag name")
    ref = "refs/tags/" + tag_name
    if req.hub.db.ref(repo["id"], ref):
        raise HubError(409, None, "Tag %s already exists" % tag_name)
    oid = req.hub.repos.resolve_or_raise(repo, name)
    req.hub.repos.set_ref(repo, ref, oid)
    return json_response({})
