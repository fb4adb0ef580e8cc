"""Git semantics of the hub: repos with an initial .gitattributes commit, commits with parents,
branches, tags, refs/pr/N, revision resolution (branch, tag, full or short sha, HEAD)."""
import base64
import fnmatch
import json
import re
import time

from . import gitobj
from .errors import HubError

DEFAULT_BRANCH = "main"
HEX40 = re.compile(r"^[0-9a-f]{40}$")
SHORT_HEX = re.compile(r"^[0-9a-f]{4,39}$")

# The patterns a fresh repo tracks with LFS (the real Hub starts repos with a similar file).
DEFAULT_LFS_PATTERNS = [
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib",
    "*.lfs.*", "*.mlmodel", "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot",
    "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt", "*.pth", "*.rar", "*.safetensors",
    "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz", "*.zip",
    "*.zst", "*tfevents*",
]


def lfs_line(pattern):
    return "%s filter=lfs diff=lfs merge=lfs -text\n" % pattern


DEFAULT_GITATTRIBUTES = "".join(lfs_line(p) for p in DEFAULT_LFS_PATTERNS).encode()


def now_iso(ts=None):
    t = time.gmtime(ts if ts is not None else time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", t)


def lfs_patterns(gitattributes: bytes):
    pats = []
    for line in gitattributes.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and "filter=lfs" in parts[1:]:
            pats.append(parts[0].replace("[[:space:]]", " "))  # how git spells a space
    return pats


def path_is_lfs_tracked(path, patterns):
    base = path.rsplit("/", 1)[-1]
    for p in patterns:
        target = path if "/" in p else base
        if fnmatch.fnmatchcase(target, p.replace("**/", "*")):
            return True
    return False


class Repos:
    def __init__(self, db, store):
        self.db = db
        self.store = store

    # --- revisions ----------------------------------------------------------------------
    def resolve(self, repo, rev):
        """Revision (branch, tag, refs/..., HEAD, full or unique short sha) -> commit oid."""
        rid = repo["id"]
        if rev in ("HEAD", "", None):
            rev = DEFAULT_BRANCH
        if rev.startswith("refs/"):
            return self.db.ref(rid, rev)
        for ref in ("refs/heads/" + rev, "refs/tags/" + rev):
            oid = self.db.ref(rid, ref)
            if oid:
                return oid
        if HEX40.match(rev):
            return rev if self.db.commit(rid, rev) else None
        if SHORT_HEX.match(rev):
            hits = self.db.commits_by_prefix(rid, rev)
            if len(hits) == 1:
                return hits[0]["oid"]
        return None

    def resolve_or_raise(self, repo, rev):
        oid = self.resolve(repo, rev)
        if not oid:
            raise HubError(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        return oid

    # --- repo lifecycle ------------------------------------------------------------------
    def create(self, rtype, namespace, name, author, private=False, gated="", sdk=None,
               tags=None, pipeline_tag=None):
        ts = time.time()
        with self.db.transaction() as db:
            cur = db.conn.execute(
                "INSERT INTO repos (type, namespace, name, private, gated, created, last_modified,"
                " tags, pipeline_tag, sdk) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (rtype, namespace, name, int(bool(private)), gated or "", now_iso(ts), now_iso(ts),
                 json.dumps(tags or []), pipeline_tag, sdk))
            rid = cur.lastrowid
        repo = self.db.one("SELECT * FROM repos WHERE id=?", rid)
        self.commit(repo, DEFAULT_BRANCH, "initial commit", "", author,
                    [("file", ".gitattributes", DEFAULT_GITATTRIBUTES)], new_branch=True)
        return self.db.one("SELECT * FROM repos WHERE id=?", rid)

    def delete(self, repo):
        rid = repo["id"]
        with self.db.transaction() as db:
            for table in ("refs", "commits", "files", "gated_access"):
                db.conn.execute("DELETE FROM %s WHERE repo_id=?" % table, (rid,))
            db.conn.execute("DELETE FROM repos WHERE id=?", (rid,))

    # --- commits -------------------------------------------------------------------------
    def commit(self, repo, branch, title, description, author, ops, parent_commit=None,
               create_pr=False, new_branch=False):
        """ops: ("file", path, bytes) | ("lfs", path, sha256) | ("delete", path) |
        ("delete_folder", path). Returns (commit_oid, pr_number or None)."""
        rid = repo["id"]
        ts = int(time.time())
        with self.db.transaction() as db:
            if new_branch:
                base = None
            else:
                base = self.resolve(repo, branch)
                if base is None:
                    raise HubError(404, "RevisionNotFound", "Invalid rev id: %s" % branch)
            if parent_commit and base and not base.startswith(parent_commit):
                raise HubError(412, None, "A commit has happened since. Please refresh and try "
                               "again. (parentCommit %s is not the head %s)" % (parent_commit, base))
            snapshot = {}
            if base:
                for row in db.all("SELECT * FROM files WHERE repo_id=? AND commit_oid=?", rid, base):
                    snapshot[row["path"]] = dict(blob=row["blob"], size=row["size"],
                                                 lfs_oid=row["lfs_oid"], last=row["last_commit"])
            changed = set()
            lfs_paths = []
            for op in ops:
                kind, path = op[0], op[1]
                if kind == "file":
                    content = op[2]
                    oid = self.store.put_blob(content)
                    snapshot[path] = dict(blob=oid, size=len(content), lfs_oid=None, last=None)
                    changed.add(path)
                elif kind == "lfs":
                    sha = op[2]
                    size = db.lfs_size(sha)
                    if size is None:
                        raise HubError(422, None, "Your push was rejected because an LFS pointer "
                                       "pointed to a file that does not exist (%s)" % sha)
                    snapshot[path] = dict(blob=gitobj.blob_id(gitobj.lfs_pointer(sha, size)),
                                          size=size, lfs_oid=sha, last=None)
                    changed.add(path)
                    lfs_paths.append(path)
                elif kind == "delete":
                    if path not in snapshot:
                        raise HubError(404, "EntryNotFound", "A file with this name doesn't exist")
                    del snapshot[path]
                    changed.add(path)
                elif kind == "delete_folder":
                    prefix = path.rstrip("/") + "/"
                    gone = [p for p in snapshot if p.startswith(prefix)]
                    if not gone:
                        raise HubError(404, "EntryNotFound", "A folder with this name doesn't exist")
                    for p in gone:
                        del snapshot[p]
                        changed.add(p)
            self._track_lfs_paths(snapshot, lfs_paths, changed)
            trees = gitobj.build_trees({p: f["blob"] for p, f in snapshot.items()})
            parents = [base] if base else []
            message = title + ("\n\n" + description if description else "")
            oid = gitobj.commit_id(trees[""], parents, author, ts, message)
            seq = (db.one("SELECT COALESCE(MAX(seq),0) AS m FROM commits WHERE repo_id=?", rid)["m"]) + 1
            db.conn.execute(
                "INSERT OR IGNORE INTO commits (repo_id, oid, seq, parents, title, message, author,"
                " date, tree) VALUES (?,?,?,?,?,?,?,?,?)",
                (rid, oid, seq, json.dumps(parents), title, description or "", author,
                 now_iso(ts), trees[""]))
            db.conn.execute("DELETE FROM files WHERE repo_id=? AND commit_oid=?", (rid, oid))
            db.conn.executemany(
                "INSERT INTO files (repo_id, commit_oid, path, blob, size, lfs_oid, last_commit)"
                " VALUES (?,?,?,?,?,?,?)",
                [(rid, oid, p, f["blob"], f["size"], f["lfs_oid"],
                  oid if (p in changed or not f["last"]) else f["last"])
                 for p, f in snapshot.items()])
            pr = None
            if create_pr:
                pr = repo_next_pr(db, rid)
                ref = "refs/pr/%d" % pr
            else:
                ref = branch if branch.startswith("refs/") else "refs/heads/" + branch
            db.conn.execute("INSERT OR REPLACE INTO refs (repo_id, ref, commit_oid) VALUES (?,?,?)",
                            (rid, ref, oid))
            db.conn.execute("UPDATE repos SET last_modified=? WHERE id=?", (now_iso(ts), rid))
        return oid, pr

    def _track_lfs_paths(self, snapshot, lfs_paths, changed):
        """Keep .gitattributes tracking every LFS path the way `git lfs track` would."""
        attrs = snapshot.get(".gitattributes")
        current = self.store.read_blob(attrs["blob"]) if attrs else b""
        patterns = lfs_patterns(current)
        missing = [p for p in lfs_paths if not path_is_lfs_tracked(p, patterns)]
        if not missing:
            return
        if current and not current.endswith(b"\n"):
            current += b"\n"
        content = current + "".join(lfs_line(p.replace(" ", "[[:space:]]")) for p in missing).encode()
        snapshot[".gitattributes"] = dict(blob=self.store.put_blob(content), size=len(content),
                                          lfs_oid=None, last=None)
        changed.add(".gitattributes")

    # --- refs --------------------------------------------------------------------------
    def set_ref(self, repo, ref, oid):
        self.db.run("INSERT OR REPLACE INTO refs (repo_id, ref, commit_oid) VALUES (?,?,?)",
                    repo["id"], ref, oid)

    def delete_ref(self, repo, ref):
        self.db.run("DELETE FROM refs WHERE repo_id=? AND ref=?", repo["id"], ref)

    def history(self, repo, oid):
        """Commits reachable from oid, newest first (first-parent chain: the hub never merges)."""
        out = []
        while oid:
            c = self.db.commit(repo["id"], oid)
            if not c:
                break
            out.append(c)
            parents = json.loads(c["parents"])
            oid = parents[0] if parents else None
        return out


def repo_next_pr(db, rid):
    n = db.one("SELECT next_pr FROM repos WHERE id=?", rid)["next_pr"]
    db.conn.execute("UPDATE repos SET next_pr=? WHERE id=?", (n + 1, rid))
    return n


def decode_file_op(value):
    content = value.get("content", "")
    if value.get("encoding", "base64") == "base64":
        return base64.b64decode(content)
    return content.encode()
