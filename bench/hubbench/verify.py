"""Is a result right? Every file of the tree, by size and hash, checked after the timed part:
SHA-256 against the LFS oid for LFS files, the git blob SHA-1 for the others."""
import hashlib
import os


def repo_folder(cache_dir, repo_id, repo_type):
    return os.path.join(cache_dir, f"{repo_type}s--" + repo_id.replace("/", "--"))


def snapshot_dir(cache_dir, repo_id, repo_type, commit):
    return os.path.join(repo_folder(cache_dir, repo_id, repo_type), "snapshots", commit)


def _file_hash(path, lfs, size):
    h = hashlib.sha256() if lfs else hashlib.sha1(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while True:
            buf = f.read(1 << 20)
            if not buf:
                break
            h.update(buf)
    return h.hexdigest()


def check_tree(root, files):
    """(ok, note): every tree entry exists below root (symlinks followed) with the right
    size and hash."""
    missing, wrong_size, wrong_hash = [], [], []
    for e in files:
        path = os.path.join(root, e["path"])
        lfs = "lfs" in e
        want_size = e["lfs"]["size"] if lfs else e["size"]
        want_hash = e["lfs"]["oid"] if lfs else e["oid"]
        try:
            size = os.path.getsize(path)
        except OSError:
            missing.append(e["path"])
            continue
        if size != want_size:
            wrong_size.append(e["path"])
        elif _file_hash(path, lfs, size) != want_hash:
            wrong_hash.append(e["path"])
    problems = []
    for what, paths in (("missing", missing), ("wrong size", wrong_size),
                        ("wrong hash", wrong_hash)):
        if paths:
            problems.append(f"{len(paths)} {what} (e.g. {paths[0]})")
    return (not problems), "; ".join(problems)
