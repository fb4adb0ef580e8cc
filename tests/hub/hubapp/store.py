"""Content-addressed store on disk: LFS objects by sha256 (served by nginx from store/lfs/),
regular file contents by git blob sha1 (store/git/)."""
import hashlib
import os
import shutil

from . import gitobj


class Store:
    def __init__(self, root: str):
        self.root = root
        self.lfs_dir = os.path.join(root, "lfs")
        self.git_dir = os.path.join(root, "git")
        self.tmp_dir = os.path.join(root, "tmp")
        for d in (self.lfs_dir, self.git_dir, self.tmp_dir):
            os.makedirs(d, exist_ok=True)

    def lfs_path(self, sha256: str) -> str:
        return os.path.join(self.lfs_dir, sha256)

    def has_lfs(self, sha256: str) -> bool:
        return os.path.exists(self.lfs_path(sha256))

    def blob_path(self, oid: str) -> str:
        return os.path.join(self.git_dir, oid)

    def put_blob(self, content: bytes) -> str:
        oid = gitobj.blob_id(content)
        path = self.blob_path(oid)
        if not os.path.exists(path):
            tmp = path + ".%d.tmp" % os.getpid()
            with open(tmp, "wb") as f:
                f.write(content)
            os.replace(tmp, path)
        return oid

    def read_blob(self, oid: str) -> bytes:
        with open(self.blob_path(oid), "rb") as f:
            return f.read()

    def adopt_lfs_file(self, src: str, expected_sha256: str, expected_size: int) -> bool:
        """Hash src once; if it matches, move it into the store (readable by nginx workers)."""
        if os.path.getsize(src) != expected_size:
            return False
        h = hashlib.sha256()
        with open(src, "rb") as f:
            while chunk := f.read(4 << 20):
                h.update(chunk)
        if h.hexdigest() != expected_sha256:
            return False
        os.chmod(src, 0o644)
        os.replace(src, self.lfs_path(expected_sha256))
        return True

    def assemble_parts(self, part_paths, dest: str) -> str:
        """Concatenate uploaded parts into dest, hashing while copying; returns the sha256."""
        h = hashlib.sha256()
        with open(dest, "wb") as out:
            for p in part_paths:
                with open(p, "rb") as f:
                    while chunk := f.read(4 << 20):
                        h.update(chunk)
                        out.write(chunk)
        return h.hexdigest()

    def remove_tree(self, path: str):
        shutil.rmtree(path, ignore_errors=True)
