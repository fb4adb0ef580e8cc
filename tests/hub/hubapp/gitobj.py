"""Git object ids, computed the way git computes them, so that blob, tree and commit ids
look and behave like the real Hub's (sha1 of "<type> <len>\\0<body>")."""
import hashlib

LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def object_id(kind: str, body: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(body)) + body).hexdigest()


def blob_id(content: bytes) -> str:
    return object_id("blob", content)


def lfs_pointer(sha256: str, size: int) -> bytes:
    return LFS_POINTER_TEMPLATE.format(oid=sha256, size=size).encode()


def tree_id(entries):
    """entries: list of (name, is_dir, oid_hex). Git sorts directories as if named 'name/'."""
    def sort_key(e):
        return e[0].encode() + (b"/" if e[1] else b"")
    body = b""
    for name, is_dir, oid in sorted(entries, key=sort_key):
        mode = b"40000" if is_dir else b"100644"
        body += mode + b" " + name.encode() + b"\0" + bytes.fromhex(oid)
    return object_id("tree", body)


def build_trees(files):
    """files: {path: blob_oid}. Returns {dir_path: tree_oid} for every directory ('' = root)."""
    children = {"": {}}
    for path in files:
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent, d = "/".join(parts[:i - 1]), "/".join(parts[:i])
            children.setdefault(d, {})
            children.setdefault(parent, {})[parts[i - 1]] = (True, d)
        children.setdefault("/".join(parts[:-1]), {})[parts[-1]] = (False, path)
    result = {}

    def visit(d):
        entries = []
        for name, (is_dir, full) in children.get(d, {}).items():
            entries.append((name, is_dir, visit(full) if is_dir else files[full]))
        result[d] = tree_id(entries)
        return result[d]
    visit("")
    return result


def commit_id(tree: str, parents, author: str, timestamp: int, message: str) -> str:
    lines = ["tree " + tree] + ["parent " + p for p in parents]
    ident = "%s <%s@users.noreply.localhub> %d +0000" % (author, author, timestamp)
    lines += ["author " + ident, "committer " + ident, "", message]
    return object_id("commit", ("\n".join(lines) + "\n").encode())
