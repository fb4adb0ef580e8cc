"""Who may see, download from and write to a repo (private, gated, org membership, token role)."""
import urllib.parse

from .errors import HubError

KIND_WORD = {"model": "model", "dataset": "dataset", "space": "space"}


def is_member(db, user, namespace):
    if not user:
        return False
    return user["name"] == namespace or namespace in db.orgs_of(user["name"])


def repo_for(req, rtype, ns, name, write=False):
    ns, name = urllib.parse.unquote(ns), urllib.parse.unquote(name)
    db = req.hub.db
    repo = db.repo(rtype, ns, name)
    if repo is None or (repo["private"] and not is_member(db, req.user, ns)):
        raise HubError(401 if req.user is None else 404, "RepoNotFound", "Repository not found")
    if write:
        require_write(req, repo)
    return repo


def require_write(req, repo):
    if req.user is None:
        raise HubError(401, None, "You must be authenticated to write to this repo")
    if not is_member(req.hub.db, req.user, repo["namespace"]):
        raise HubError(403, None, "You don't have the rights to write to %s/%s"
                       % (repo["namespace"], repo["name"]))
    if req.token["role"] != "write":
        raise HubError(403, None, "This token has read access only; a write token is required")


def require_content_access(req, repo):
    """Gated repos: listing is public, file contents need an approved (or owning) user."""
    if not repo["gated"]:
        return
    db = req.hub.db
    if is_member(db, req.user, repo["namespace"]):
        return
    rid = "%s/%s" % (repo["namespace"], repo["name"])
    if req.user is None:
        raise HubError(401, "GatedRepo", "Access to %s %s is restricted. You must have access to "
                       "it and be authenticated to access it. Please log in."
                       % (KIND_WORD[repo["type"]], rid))
    if not db.one("SELECT 1 FROM gated_access WHERE repo_id=? AND user=?",
                  repo["id"], req.user["name"]):
        raise HubError(403, "GatedRepo", "Access to %s %s is restricted and you are not in the "
                       "authorized list. Visit %s/%s to ask for access."
                       % (KIND_WORD[repo["type"]], rid, req.endpoint, rid))
