"""Hashes multipart uploads while their parts arrive, so that the completion request only has
to hash what is left. nginx renames a part into place when it is complete, so a part file
that exists is whole. If a part was replaced after being hashed (a client retry), the
completion falls back to hashing everything again."""
import hashlib
import os
import threading
import time

from .store import Appender, feed

POLL_SECONDS = 0.2


class Assembler:
    def __init__(self, hub):
        self.hub = hub
        self.lock = threading.Lock()
        self.locks = {}
        self.progress = {}  # uid -> {"next": part number, "sha": hash object, "dest": path}

    def start(self):
        threading.Thread(target=self._loop, name="assembler", daemon=True).start()

    def _loop(self):
        while True:
            time.sleep(POLL_SECONDS)
            try:
                rows = self.hub.db.all("SELECT uid, parts FROM uploads WHERE state='multipart'")
                for row in rows:
                    self.advance(row["uid"], row["parts"])
            except Exception:  # noqa: BLE001  (a background helper must never die)
                time.sleep(1)

    def _lock_for(self, uid):
        with self.lock:
            return self.locks.setdefault(uid, threading.Lock())

    def advance(self, uid, parts):
        """Appends and hashes every consecutive part that has arrived; returns the next
        part number still missing (parts + 1 when all are in)."""
        folder = os.path.join(self.hub.uploads_dir, uid)
        with self._lock_for(uid):
            st = self.progress.get(uid)
            if st is None:
                if not os.path.isdir(folder):
                    return 1
                st = {"next": 1, "sha": hashlib.sha256(),
                      "dest": os.path.join(self.hub.store.tmp_dir, uid)}
                open(st["dest"], "wb").close()
                self.progress[uid] = st
            with Appender(st["dest"], fresh=False) as out:
                while st["next"] <= parts:
                    path = os.path.join(folder, str(st["next"]))
                    if not os.path.exists(path):
                        break
                    feed(path, st["sha"], out)
                    st["next"] += 1
            return st["next"]

    def finish(self, uid, parts):
        """(sha256 hex, assembled file) once every part is in, else None."""
        if self.advance(uid, parts) <= parts:
            return None
        st = self.progress[uid]
        return st["sha"].hexdigest(), st["dest"]

    def forget(self, uid):
        with self._lock_for(uid):
            st = self.progress.pop(uid, None)
            if st and os.path.exists(st["dest"]):
                os.unlink(st["dest"])
        with self.lock:
            self.locks.pop(uid, None)
