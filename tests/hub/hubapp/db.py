"""SQLite state: users, orgs, tokens, repos, commits, per-commit file lists, refs, uploads.
One connection shared by all threads, serialised by a lock (a test hub needs no more)."""
import json
import sqlite3
import threading

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY, fullname TEXT, email TEXT, is_org INTEGER DEFAULT 0, created TEXT);
CREATE TABLE IF NOT EXISTS org_members (org TEXT, user TEXT, PRIMARY KEY (org, user));
CREATE TABLE IF NOT EXISTS tokens (
  token TEXT PRIMARY KEY, user TEXT, role TEXT, display_name TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS repos (
  id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT, namespace TEXT, name TEXT,
  private INTEGER DEFAULT 0, gated TEXT DEFAULT '', created TEXT, last_modified TEXT,
  downloads INTEGER DEFAULT 0, likes INTEGER DEFAULT 0, tags TEXT DEFAULT '[]',
  pipeline_tag TEXT, sdk TEXT, next_pr INTEGER DEFAULT 1,
  UNIQUE (type, namespace, name));
CREATE TABLE IF NOT EXISTS gated_access (repo_id INTEGER, user TEXT, PRIMARY KEY (repo_id, user));
CREATE TABLE IF NOT EXISTS refs (
  repo_id INTEGER, ref TEXT, commit_oid TEXT, PRIMARY KEY (repo_id, ref));
CREATE TABLE IF NOT EXISTS commits (
  repo_id INTEGER, oid TEXT, seq INTEGER, parents TEXT, title TEXT, message TEXT,
  author TEXT, date TEXT, tree TEXT, PRIMARY KEY (repo_id, oid));
CREATE TABLE IF NOT EXISTS files (
  repo_id INTEGER, commit_oid TEXT, path TEXT, blob TEXT, size INTEGER,
  lfs_oid TEXT, last_commit TEXT, PRIMARY KEY (repo_id, commit_oid, path));
CREATE TABLE IF NOT EXISTS lfs_objects (sha256 TEXT PRIMARY KEY, size INTEGER);
CREATE TABLE IF NOT EXISTS uploads (
  uid TEXT PRIMARY KEY, sha256 TEXT, size INTEGER, chunk_size INTEGER, parts INTEGER,
  expires INTEGER, state TEXT);
"""


class Database:
    def __init__(self, path: str):
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        with self.lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)

    def all(self, sql, *args):
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def one(self, sql, *args):
        with self.lock:
            return self.conn.execute(sql, args).fetchone()

    def run(self, sql, *args):
        with self.lock:
            return self.conn.execute(sql, args)

    def many(self, sql, rows):
        with self.lock:
            self.conn.executemany(sql, rows)

    def transaction(self):
        return _Transaction(self)

    # --- users and tokens -------------------------------------------------------------
    def user_for_token(self, token):
        row = self.one("SELECT * FROM tokens WHERE token=?", token)
        return row

    def user(self, name):
        return self.one("SELECT * FROM users WHERE name=?", name)

    def orgs_of(self, user):
        return [r["org"] for r in self.all("SELECT org FROM org_members WHERE user=?", user)]

    # --- repos ------------------------------------------------------------------------
    def repo(self, rtype, namespace, name):
        return self.one("SELECT * FROM repos WHERE type=? AND namespace=? AND name=?",
                        rtype, namespace, name)

    def ref(self, repo_id, ref):
        row = self.one("SELECT commit_oid FROM refs WHERE repo_id=? AND ref=?", repo_id, ref)
        return row["commit_oid"] if row else None

    def refs(self, repo_id):
        return self.all("SELECT ref, commit_oid FROM refs WHERE repo_id=? ORDER BY ref", repo_id)

    def commit(self, repo_id, oid):
        return self.one("SELECT * FROM commits WHERE repo_id=? AND oid=?", repo_id, oid)

    def commits_by_prefix(self, repo_id, prefix):
        return self.all("SELECT oid FROM commits WHERE repo_id=? AND oid LIKE ?",
                        repo_id, prefix + "%")

    def files(self, repo_id, commit_oid):
        return self.all("SELECT * FROM files WHERE repo_id=? AND commit_oid=? ORDER BY path",
                        repo_id, commit_oid)

    def file(self, repo_id, commit_oid, path):
        return self.one("SELECT * FROM files WHERE repo_id=? AND commit_oid=? AND path=?",
                        repo_id, commit_oid, path)

    def lfs_size(self, sha256):
        row = self.one("SELECT size FROM lfs_objects WHERE sha256=?", sha256)
        return row["size"] if row else None


class _Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.lock.acquire()
        self.db.conn.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb):
        try:
            self.db.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.db.lock.release()


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))
