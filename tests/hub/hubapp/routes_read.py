"""Read routes: whoami, repo info, tree, paths-info, commits, refs, resolve/raw, listings."""
import hashlib
import json
import urllib.parse

from . import access, cardmeta, gitobj, routes_write, signing
from .app_util import json_response, Response, split_rev, page_link, parse_range
from .errors import HubError, entry_not_found
from .repos import DEFAULT_BRANCH

def whoami(req):
    if req.user is None:
        raise HubError(401, None, "Invalid credentials in Authorization header")
    db, u, t = req.hub.db, req.user, req.token
    orgs = []
    for name in db.orgs_of(u["name"]):
        o = db.user(name)
        orgs.append({"type": "org", "id": fake_id(name), "name": name, "fullname": o["fullname"],
                     "email": None, "canPay": False, "avatarUrl": "/avatars/org.svg",
                     "periodEnd": None, "roleInOrg": "admin"})
    return json_response({
        "type": "user", "id": fake_id(u["name"]), "name": u["name"], "fullname": u["fullname"],
        "email": u["email"], "emailVerified": True, "isPro": False, "canPay": False,
        "avatarUrl": "/avatars/user.svg", "periodEnd": None, "billingMode": "prepaid",
        "orgs": orgs,
        "auth": {"type": "access_token", "accessToken": {
            "displayName": t["display_name"], "role": t["role"], "createdAt": t["created"]}}})


def fake_id(text):
    return hashlib.sha1(text.encode()).hexdigest()[:24]


# --- repo info ------------------------------------------------------------------------------
def repo_json(req, repo, commit=None, blobs=False, siblings=True):
    rid = "%s/%s" % (repo["namespace"], repo["name"])
    out = {"_id": fake_id("repo:%d" % repo["id"]), "id": rid, "author": repo["namespace"],
           "private": bool(repo["private"]), "gated": repo["gated"] or False, "disabled": False,
           "downloads": repo["downloads"], "likes": repo["likes"], "tags": json.loads(repo["tags"]),
           "lastModified": repo["last_modified"], "createdAt": repo["created"]}
    if repo["type"] == "model":
        out["pipeline_tag"] = repo["pipeline_tag"]
        out["library_name"] = None
    if repo["type"] == "space":
        out["sdk"] = repo["sdk"] or "static"
    oid = commit or req.hub.repos.resolve(repo, DEFAULT_BRANCH)
    out["sha"] = oid
    if siblings:
        files = req.hub.db.files(repo["id"], oid) if oid else []
        sib = []
        for f in files:
            s = {"rfilename": f["path"]}
            if blobs:
                s["blobId"] = f["blob"]
                s["size"] = f["size"]
                if f["lfs_oid"]:
                    s["lfs"] = {"sha256": f["lfs_oid"], "size": f["size"],
                                "pointerSize": len(gitobj.lfs_pointer(f["lfs_oid"], f["size"]))}
            sib.append(s)
        out["siblings"] = sib
        out["usedStorage"] = sum(f["size"] for f in files)
    card = readme_card_data(req, repo, oid)
    if card is not None:
        out["cardData"] = card
    return out


def expand_asked(req, rtype):
    """The properties `expand=` (or `expand[]=`) asks for; an unknown one is the Hub's 400."""
    expand = req.query.get("expand", []) + req.query.get("expand[]", [])
    unknown = [e for e in expand if e not in EXPANDABLE[rtype]]
    if unknown:
        raise HubError(400, None, "Invalid expand value(s) for %ss: %s" % (rtype, ", ".join(unknown)))
    return expand


def only_expanded(item, expand):
    """With expand=, the Hub sends only these properties (and the ids)."""
    return {k: v for k, v in item.items() if k in ("_id", "id") or k in expand} if expand else item


def repo_info(req, rtype, repo, commit=None):
    """GET /api/{Ts}/{repo}[/revision/{rev}]: everything, or what expand= asks for (the files,
    `siblings`, only when asked: a million of them are not built for a commit id)."""
    expand = expand_asked(req, rtype)
    out = repo_json(req, repo, commit, blobs=req.flag("blobs"),
                    siblings=not expand or "siblings" in expand)
    return only_expanded(out, expand)


def readme_card_data(req, repo, oid):
    """The metadata block of README.md at the commit, as the Hub's cardData (or None)."""
    f = req.hub.db.file(repo["id"], oid, "README.md") if oid else None
    if not f or f["lfs_oid"] or f["size"] > (1 << 20):
        return None
    return cardmeta.card_data(req.hub.store.read_blob(f["blob"]))


def api_repo(req, rtype, ns, name, rest):
    """All /api/{Ts}/{ns}/{name}[/...] routes."""
    action = rest[0] if rest else ""
    m = req.method
    if action in ("preupload", "commit", "branch", "tag", "settings") or (
            action == "" and m in ("PUT", "DELETE")):
        return routes_write.dispatch(req, rtype, ns, name, action, rest[1:])
    repo = access.repo_for(req, rtype, ns, name)
    if action == "" and m in ("GET", "HEAD"):
        return json_response(repo_info(req, rtype, repo))
    if action == "revision" and len(rest) >= 2:
        rev, _ = split_rev(rest[1:])
        oid = req.hub.repos.resolve_or_raise(repo, rev)
        return json_response(repo_info(req, rtype, repo, oid))
    if action == "tree" and len(rest) >= 2:
        return tree(req, repo, rest[1:])
    if action == "paths-info" and len(rest) >= 2 and m == "POST":
        return paths_info(req, repo, rest[1:])
    if action == "commits" and len(rest) >= 2:
        return commits(req, repo, rest[1:])
    if action == "refs":
        return refs(req, repo)
    if action == "auth-check":
        access.require_content_access(req, repo)
        return json_response({})
    raise HubError(404, None, "Not found")


# --- tree and paths-info ----------------------------------------------------------------------
_tree_cache = {}
_listing_cache = {}


def dir_oids(req, repo, oid):
    key = (repo["id"], oid)
    if key not in _tree_cache:
        if len(_tree_cache) > 64:
            _tree_cache.clear()
        files = {f["path"]: f["blob"] for f in req.hub.db.files(repo["id"], oid)}
        _tree_cache[key] = gitobj.build_trees(files)
    return _tree_cache[key]


def file_entry(req, repo, f, expand):
    e = {"type": "file", "oid": f["blob"], "size": f["size"], "path": f["path"]}
    if f["lfs_oid"]:
        e["lfs"] = {"oid": f["lfs_oid"], "size": f["size"],
                    "pointerSize": len(gitobj.lfs_pointer(f["lfs_oid"], f["size"]))}
    if expand:
        e["lastCommit"] = last_commit(req, repo, f["last_commit"])
    return e


def dir_entry(req, repo, path, tree_oid, files_under, expand):
    e = {"type": "directory", "oid": tree_oid, "size": 0, "path": path}
    if expand and files_under:
        newest = max(files_under, key=lambda f: req.hub.db.commit(repo["id"], f["last_commit"])["seq"])
        e["lastCommit"] = last_commit(req, repo, newest["last_commit"])
    return e


def last_commit(req, repo, oid):
    c = req.hub.db.commit(repo["id"], oid)
    return {"id": c["oid"], "title": c["title"], "date": c["date"]}


def listing(req, repo, oid, prefix, recursive):
    """(sorted [(path, file row or None for a directory)], files) of one folder of a commit,
    kept for the pages that follow: a commit never changes, and rebuilding a million-entry
    listing for each page of 1,000 took hours."""
    key = (repo["id"], oid, prefix, recursive)
    hit = _listing_cache.get(key)
    if hit is None:
        files = req.hub.db.files(repo["id"], oid)
        dirs = dir_oids(req, repo, oid)
        entries = []
        for d in dirs:
            if d and d.startswith(prefix) and (recursive or "/" not in d[len(prefix):]):
                entries.append((d, None))
        for f in files:
            p = f["path"]
            if p.startswith(prefix) and (recursive or "/" not in p[len(prefix):]):
                entries.append((p, f))
        entries.sort(key=lambda e: e[0])
        if len(_listing_cache) >= 8:  # a few listings being paged at once; oldest out first
            _listing_cache.pop(next(iter(_listing_cache)), None)
        hit = _listing_cache[key] = (entries, files)
    return hit


def tree(req, repo, segs):
    rev, path_segs = split_rev(segs)
    path = urllib.parse.unquote("/".join(path_segs)).strip("/")
    oid = req.hub.repos.resolve_or_raise(repo, rev)
    recursive, expand = req.flag("recursive"), req.flag("expand")
    dirs = dir_oids(req, repo, oid)
    if path and path not in dirs:
        raise HubError(404, "EntryNotFound", "Entry not found", headers={"X-Repo-Commit": oid})
    prefix = path + "/" if path else ""
    entries, files = listing(req, repo, oid, prefix, recursive)
    page_size = max(1, int(req.hub.knobs.get("tree_page_size")))
    if expand:
        page_size = min(page_size, 50)
    start = int(req.q("cursor") or 0)
    out = []
    for p, f in entries[start:start + page_size]:
        if f is not None:
            out.append(file_entry(req, repo, f, expand))
        else:
            under = [x for x in files if x["path"].startswith(p + "/")] if expand else None
            out.append(dir_entry(req, repo, p, dirs[p], under, expand))
    headers = {"X-Repo-Commit": oid}
    if start + page_size < len(entries):
        headers["Link"] = page_link(req, "cursor", start + page_size)
    return json_response(out, headers=headers)


def paths_info(req, repo, segs):
    rev, _ = split_rev(segs)
    oid = req.hub.repos.resolve_or_raise(repo, rev)
    ctype = req.headers.get("Content-Type") or ""
    if "json" in ctype:
        body = req.json()
        paths, expand = body.get("paths") or [], bool(body.get("expand"))
    else:
        form = urllib.parse.parse_qs(req.body.decode(), keep_blank_values=True)
        paths = form.get("paths", [])
        expand = (form.get("expand", ["false"])[0]).lower() in ("1", "true")
    if isinstance(paths, str):
        paths = [paths]
    dirs = dir_oids(req, repo, oid)
    out = []
    for p in paths:
        p = p.strip("/")
        f = req.hub.db.file(repo["id"], oid, p)
        if f:
            out.append(file_entry(req, repo, f, expand))
        elif p in dirs and p:
            under = [x for x in req.hub.db.files(repo["id"], oid) if x["path"].startswith(p + "/")]
            out.append(dir_entry(req, repo, p, dirs[p], under, expand))
    return json_response(out, headers={"X-Repo-Commit": oid})


# --- commits and refs ---------------------------------------------------------------------------
def commits(req, repo, segs):
    rev, _ = split_rev(segs)
    oid = req.hub.repos.resolve_or_raise(repo, rev)
    history = req.hub.repos.history(repo, oid)
    limit = max(1, min(int(req.q("limit") or 50), 1000))
    page = int(req.q("p") or 0)
    chunk = history[page * limit:(page + 1) * limit]
    formatted = "formatted" in req.query.get("expand[]", []) + req.query.get("expand", [])
    out = []
    for c in chunk:
        item = {"id": c["oid"], "title": c["title"], "message": c["message"],
                "authors": [{"user": c["author"], "avatar": "/avatars/user.svg"}],
                "date": c["date"]}
        if formatted:
            item["formatted"] = {"title": c["title"], "message": c["message"]}
        out.append(item)
    headers = {"X-Total-Count": str(len(history))}
    if (page + 1) * limit < len(history):
        headers["Link"] = page_link(req, "p", page + 1)
    return json_response(out, headers=headers)


def refs(req, repo):
    out = {"branches": [], "converts": [], "tags": []}
    prs = []
    for r in req.hub.db.refs(repo["id"]):
        ref, oid = r["ref"], r["commit_oid"]
        for prefix, key in (("refs/heads/", "branches"), ("refs/tags/", "tags"),
                            ("refs/convert/", "converts")):
            if ref.startswith(prefix):
                out[key].append({"name": ref[len(prefix):], "ref": ref, "targetCommit": oid})
        if ref.startswith("refs/pr/"):
            prs.append({"name": ref[len("refs/pr/"):], "ref": ref, "targetCommit": oid})
    if req.flag("include_prs"):
        out["pullRequests"] = prs
    return json_response(out)


# --- resolve / raw -------------------------------------------------------------------------------
def resolve(req, rtype, ns, name, kind, segs):
    repo = access.repo_for(req, rtype, ns, name)
    rev, path_segs = split_rev(segs)
    path = urllib.parse.unquote("/".join(path_segs))
    oid = req.hub.repos.resolve_or_raise(repo, rev)
    access.require_content_access(req, repo)
    f = req.hub.db.file(repo["id"], oid, path)
    if f is None:
        raise entry_not_found(oid)
    headers = {"X-Repo-Commit": oid, "Accept-Ranges": "bytes", "Vary": "Origin, Range"}
    if f["lfs_oid"] and kind == "resolve":
        sha, size = f["lfs_oid"], f["size"]
        if req.method == "GET" and req.hub.config.get("count_downloads", True):
            req.hub.db.run("UPDATE repos SET downloads=downloads+1 WHERE id=?", repo["id"])
        location = req.cdn_endpoint + signing.nginx_secure_link(
            "/lfs/" + sha, req.hub.config["cdn_secret"], req.hub.knobs.get("url_lifetime"))
        headers.update({"Location": location, "X-Linked-Etag": '"%s"' % sha,
                        "X-Linked-Size": str(size), "ETag": '"%s"' % sha,
                        "Content-Type": "text/plain; charset=utf-8"})
        return Response(302, b"", headers)
    if f["lfs_oid"]:
        content = gitobj.lfs_pointer(f["lfs_oid"], f["size"])
    else:
        content = req.hub.store.read_blob(f["blob"])
    headers["ETag"] = '"%s"' % f["blob"]
    headers["Content-Type"] = content_type(path, content)
    return ranged(req, content, headers)


def content_type(path, content):
    if path.endswith(".json"):
        return "application/json; charset=utf-8"
    try:
        content[:4096].decode("utf-8")
        return "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        return "application/octet-stream"


def ranged(req, content, headers):
    size = len(content)
    try:
        rng = parse_range(req.headers.get("Range"), size)
    except IndexError:
        headers["Content-Range"] = "bytes */%d" % size
        return Response(416, b"", headers)
    if rng is None:
        return Response(200, content, headers)
    start, end = rng
    headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
    return Response(206, content[start:end + 1], headers)


# --- listings -----------------------------------------------------------------------------------
SORT_KEYS = {"downloads": "downloads", "likes": "likes", "lastModified": "last_modified",
             "last_modified": "last_modified", "createdAt": "created", "created_at": "created",
             "trendingScore": "likes", "trending_score": "likes", "id": "id"}


# What `expand=` may ask for on each listing (huggingface_hub's Expand*Property_T).
EXPANDABLE = {
    "model": {"author", "cardData", "config", "createdAt", "disabled", "downloads",
              "downloadsAllTime", "gated", "inference", "lastModified", "library_name", "likes",
              "mask_token", "model-index", "pipeline_tag", "private", "safetensors", "sha",
              "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
              "widgetData"},
    "dataset": {"author", "cardData", "citation", "createdAt", "description", "disabled",
                "downloads", "downloadsAllTime", "gated", "lastModified", "likes",
                "paperswithcode_id", "private", "sha", "siblings", "tags", "trendingScore",
                "usedStorage"},
    "space": {"author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes",
              "models", "private", "runtime", "sdk", "sha", "siblings", "subdomain", "tags",
              "trendingScore", "usedStorage"},
}


def list_repos(req, rtype):
    db = req.hub.db
    rows = db.all("SELECT * FROM repos WHERE type=?", rtype)
    visible = [r for r in rows if not r["private"] or access.is_member(db, req.user, r["namespace"])]
    searches = [s.lower() for s in req.query.get("search", []) if s]
    author = req.q("author")
    filters = req.query.get("filter", [])
    out = []
    for r in visible:
        rid = ("%s/%s" % (r["namespace"], r["name"])).lower()
        tags = set(json.loads(r["tags"]))
        if r["pipeline_tag"]:
            tags.add(r["pipeline_tag"])
        if any(s not in rid for s in searches):
            continue
        if author and r["namespace"] != author:
            continue
        if any(f not in tags for f in filters):
            continue
        if req.q("pipeline_tag") and r["pipeline_tag"] != req.q("pipeline_tag"):
            continue
        if req.q("gated") is not None and bool(r["gated"]) != req.flag("gated"):
            continue
        out.append(r)
    sort = req.q("sort")
    if sort in SORT_KEYS:
        key = SORT_KEYS[sort]
        descending = req.q("direction") != "1"
        out.sort(key=lambda r: (r[key], r["id"]), reverse=descending)
    else:
        out.sort(key=lambda r: r["id"])
    # `limit` is the page size the client asks for, capped like the Hub's (list_page_size)
    limit = max(1, min(int(req.q("limit") or 1000), int(req.hub.knobs.get("list_page_size"))))
    start = int(req.q("cursor") or 0)
    page = out[start:start + limit]
    expand = expand_asked(req, rtype)
    full = req.flag("full") or "siblings" in expand
    body = [only_expanded(repo_json(req, r, siblings=full), expand) for r in page]
    headers = {}
    if start + limit < len(out):
        headers["Link"] = page_link(req, "cursor", start + limit)
    return json_response(body, headers=headers)
