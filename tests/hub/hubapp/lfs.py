"""Git LFS batch API. Upload targets are signed URLs on the CDN origin that nginx receives
itself (WebDAV PUT into DIR/uploads/<uid>/); the multipart completion (signed, no auth)
assembles and verifies the sha256 before the object enters the store. A basic upload is
adopted when the object is first needed (verify, commit, or a later batch)."""
import math
import os
import re
import secrets
import time

from . import access, signing
from .app_util import json_response
from .errors import HubError

LFS_JSON = "application/vnd.git-lfs+json"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def handle(req, rtype, ns, name, rest):
    action = rest[0]
    if action == "batch" and req.method == "POST":
        return batch(req, rtype, ns, name)
    if action == "verify" and req.method == "POST":
        access.repo_for(req, rtype, ns, name)
        body = req.json()
        sha, size = body.get("oid"), body.get("size")
        if not ensure_object(req.hub, sha, required=False) or req.hub.db.lfs_size(sha) != size:
            raise HubError(404, None, "Object %s not found or of a different size" % sha)
        return lfs_json({"message": "verified"})
    raise HubError(404, None, "Not found")


def lfs_json(obj, status=200):
    resp = json_response(obj, status)
    resp.headers["Content-Type"] = LFS_JSON
    return resp


def batch(req, rtype, ns, name):
    body = req.json()
    operation = body.get("operation")
    repo = access.repo_for(req, rtype, ns, name, write=(operation == "upload"))
    hub = req.hub
    lifetime = int(hub.knobs.get("url_lifetime"))
    objects = []
    for obj in body.get("objects") or []:
        sha, size = obj.get("oid") or "", obj.get("size")
        item = {"oid": sha, "size": size}
        if not SHA256_RE.match(sha) or not isinstance(size, int) or size < 0:
            item["error"] = {"code": 422, "message": "Invalid object"}
        elif operation == "download":
            access.require_content_access(req, repo)
            if not ensure_object(hub, sha, required=False):
                item["error"] = {"code": 404, "message": "Object does not exist"}
            else:
                item["actions"] = {"download": {
                    "href": req.cdn_endpoint + signing.nginx_secure_link(
                        "/lfs/" + sha, hub.config["cdn_secret"], lifetime),
                    "expires_in": lifetime}}
        elif ensure_object(hub, sha, required=False):
            pass  # already stored: no actions, the client skips it
        else:
            item["actions"] = upload_actions(req, sha, size, lifetime)
            item["authenticated"] = True
        objects.append(item)
    return lfs_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"})


def upload_actions(req, sha, size, lifetime):
    hub = req.hub
    uid = secrets.token_hex(16)
    threshold = int(hub.knobs.get("multipart_threshold"))
    chunk = int(hub.knobs.get("chunk_size"))
    secret = hub.config["cdn_secret"]
    os.makedirs(os.path.join(hub.uploads_dir, uid), exist_ok=True)
    if size >= threshold and size > 0:
        parts = math.ceil(size / chunk)
        header = {"chunk_size": str(chunk)}
        for i in range(1, parts + 1):
            header["%05d" % i] = req.cdn_endpoint + signing.nginx_secure_link(
                "/upload/%s/%d" % (uid, i), secret, lifetime)
        hub.db.run("INSERT INTO uploads (uid, sha256, size, chunk_size, parts, expires, state)"
                   " VALUES (?,?,?,?,?,?,?)", uid, sha, size, chunk, parts,
                   int(time.time()) + lifetime, "multipart")
        href = req.endpoint + signing.app_sign("/api/lfs/complete/" + uid,
                                               hub.config["app_secret"], lifetime)
        return {"upload": {"href": href, "header": header, "expires_in": lifetime}}
    hub.db.run("INSERT INTO uploads (uid, sha256, size, chunk_size, parts, expires, state)"
               " VALUES (?,?,?,?,?,?,?)", uid, sha, size, 0, 1, int(time.time()) + lifetime, "basic")
    href = req.cdn_endpoint + signing.nginx_secure_link("/upload/%s/basic" % uid, secret, lifetime)
    verify = "%s/%s.git/info/lfs/objects/verify" % (
        req.endpoint, req.raw_path.split(".git/info/lfs/")[0].lstrip("/"))
    return {"upload": {"href": href, "expires_in": lifetime},
            "verify": {"href": verify, "expires_in": lifetime}}


def ensure_object(hub, sha, required=True):
    """True once the object is in the store; adopts a finished basic upload if one exists."""
    if hub.db.lfs_size(sha) is not None and hub.store.has_lfs(sha):
        return True
    for row in hub.db.all("SELECT * FROM uploads WHERE sha256=? AND state='basic'", sha):
        path = os.path.join(hub.uploads_dir, row["uid"], "basic")
        if os.path.exists(path) and hub.store.adopt_lfs_file(path, sha, row["size"]):
            register(hub, sha, row["size"], row["uid"])
            return True
    if required:
        raise HubError(422, None, "Your push was rejected because an LFS pointer pointed to a "
                       "file that does not exist (%s)" % sha)
    return False


def register(hub, sha, size, uid):
    hub.db.run("INSERT OR REPLACE INTO lfs_objects (sha256, size) VALUES (?,?)", sha, size)
    hub.db.run("DELETE FROM uploads WHERE uid=?", uid)
    hub.store.remove_tree(os.path.join(hub.uploads_dir, uid))


def complete_multipart(req, uid):
    hub = req.hub
    why = signing.app_check("/api/lfs/complete/" + uid, req.q("expires"), req.q("sig"),
                            hub.config["app_secret"])
    if why:
        raise HubError(403, None, "Completion URL rejected: %s" % why)
    row = hub.db.one("SELECT * FROM uploads WHERE uid=?", uid)
    if row is None:
        raise HubError(404, None, "Unknown or finished upload")
    body = req.json()
    if body.get("oid") != row["sha256"]:
        raise HubError(400, None, "oid does not match the upload")
    numbers = sorted(int(p["partNumber"]) for p in body.get("parts") or [])
    if numbers != list(range(1, row["parts"] + 1)):
        raise HubError(400, None, "Expected parts 1..%d" % row["parts"])
    folder = os.path.join(hub.uploads_dir, uid)
    paths = [os.path.join(folder, str(i)) for i in numbers]
    missing = [i for i, p in zip(numbers, paths) if not os.path.exists(p)]
    if missing:
        raise HubError(400, None, "Parts not received: %s" % missing)
    total = sum(os.path.getsize(p) for p in paths)
    if total != row["size"]:
        raise HubError(400, None, "Size mismatch: received %d bytes, expected %d" % (total, row["size"]))
    sha, dest = hub.assembler.finish(uid, row["parts"])
    if sha != row["sha256"]:  # maybe a part was sent again after it was hashed: start over
        hub.assembler.forget(uid)
        dest = os.path.join(hub.store.tmp_dir, uid)
        sha = hub.store.assemble_parts(paths, dest)
    if sha != row["sha256"]:
        os.unlink(dest)
        raise HubError(400, None, "sha256 mismatch: got %s, expected %s" % (sha, row["sha256"]))
    os.chmod(dest, 0o644)
    os.replace(dest, hub.store.lfs_path(sha))
    register(hub, sha, row["size"], uid)
    hub.assembler.forget(uid)
    return lfs_json({"message": "completed"})
