"""Users, tokens and demo repos. Weights are generated fast: AES-128-CTR keystream from the
openssl CLI (deterministic key, so the same size gives the same sha256), hashed once while
written straight into the content store."""
import fcntl
import hashlib
import json
import os
import random
import secrets
import string
import struct
import subprocess

from .repos import DEFAULT_BRANCH, Repos, now_iso

USERS = [("demo", "Demo User"), ("alice", "Alice Approved"), ("bob", "Bob Outsider")]
ORGS = [("demo-org", "Demo Org", ["demo"])]
# name in state.json -> (user, role)
TOKENS = {"demo": ("demo", "write"), "demo-read": ("demo", "read"),
          "alice": ("alice", "write"), "bob": ("bob", "write")}


def new_token():
    alphabet = string.ascii_letters
    return "hf_" + "".join(secrets.choice(alphabet) for _ in range(34))


def create_users(db):
    """Returns {token name: token}."""
    created = now_iso()
    for name, full in USERS:
        db.run("INSERT OR IGNORE INTO users (name, fullname, email, created) VALUES (?,?,?,?)",
               name, full, name + "@example.invalid", created)
    for org, full, members in ORGS:
        db.run("INSERT OR IGNORE INTO users (name, fullname, is_org, created) VALUES (?,?,1,?)",
               org, full, created)
        for m in members:
            db.run("INSERT OR IGNORE INTO org_members (org, user) VALUES (?,?)", org, m)
    tokens = {}
    for label, (user, role) in TOKENS.items():
        tok = new_token()
        db.run("INSERT INTO tokens (token, user, role, display_name, created) VALUES (?,?,?,?,?)",
               tok, user, role, "localhub-" + label, created)
        tokens[label] = tok
    return tokens


def generate_lfs_object(store, size, key_hex):
    """Writes a safetensors file of `size` bytes (one F32 tensor of AES-CTR noise)."""
    data_len = size - 8
    header = b""
    for _ in range(3):  # the header length depends on the data length and back
        dtype = "F32" if data_len % 4 == 0 else "U8"
        n = data_len // (4 if dtype == "F32" else 1)
        h = json.dumps({"__metadata__": {"format": "pt"},
                        "weight": {"dtype": dtype, "shape": [n], "data_offsets": [0, data_len]}})
        header = h.encode()
        header += b" " * ((8 - (8 + len(header)) % 8) % 8)
        data_len = size - 8 - len(header)
    if data_len < 0:
        raise ValueError("--seed-size too small for a safetensors header")
    tmp = os.path.join(store.tmp_dir, "seed-%d" % os.getpid())
    sha = hashlib.sha256()
    prefix = struct.pack("<Q", len(header)) + header
    sha.update(prefix)
    proc = subprocess.Popen(
        ["openssl", "enc", "-aes-128-ctr", "-nosalt", "-K", key_hex, "-iv", "0" * 32,
         "-in", "/dev/zero"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        fcntl.fcntl(proc.stdout.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ: fewer, larger reads
    except OSError:
        pass
    left = data_len
    with open(tmp, "wb") as out:
        out.write(prefix)
        while left > 0:
            chunk = proc.stdout.read(min(left, 8 << 20))
            if not chunk:
                raise RuntimeError("openssl stopped early")
            sha.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    proc.kill()
    proc.wait()
    digest = sha.hexdigest()
    os.chmod(tmp, 0o644)
    os.replace(tmp, store.lfs_path(digest))
    return digest


def seed_repos(db, store, seed_size):
    repos = Repos(db, store)
    made = []
    if not db.repo("model", "demo", "tiny-model"):
        repo = repos.create("model", "demo", "tiny-model", "demo",
                            tags=["safetensors", "text-generation", "demo"],
                            pipeline_tag="text-generation")
        sha = generate_lfs_object(store, seed_size, "000102030405060708090a0b0c0d0e0f")
        db.run("INSERT OR REPLACE INTO lfs_objects (sha256, size) VALUES (?,?)",
               sha, os.path.getsize(store.lfs_path(sha)))
        repos.commit(repo, DEFAULT_BRANCH, "Add tiny-model weights and config", "", "demo", [
            ("file", "config.json", TINY_CONFIG.encode()),
            ("file", "tokenizer.json", tokenizer_json().encode()),
            ("file", "README.md", TINY_README.encode()),
            ("lfs", "model.safetensors", sha)])
        made.append("demo/tiny-model")
    if not db.repo("dataset", "demo", "many-files"):
        repo = repos.create("dataset", "demo", "many-files", "demo", tags=["demo"])
        rng = random.Random(20261128)
        ops = [("file", "README.md", b"# many-files\n\n2,000 small files in nested folders.\n")]
        for i in range(2000):
            path = "data/group-%02d/part-%d/item-%04d.txt" % (i // 100, (i // 20) % 5, i)
            size = rng.randint(4096, 65536)
            ops.append(("file", path, rng.randbytes(size // 2 + 1).hex()[:size].encode()))
        repos.commit(repo, DEFAULT_BRANCH, "Add 2,000 files", "", "demo", ops)
        made.append("demo/many-files")
    if not db.repo("model", "demo", "private-model"):
        repo = repos.create("model", "demo", "private-model", "demo", private=True)
        repos.commit(repo, DEFAULT_BRANCH, "Add secret", "", "demo",
                     [("file", "secret.txt", b"only demo and demo-org members see this\n")])
        made.append("demo/private-model")
    if not db.repo("model", "demo", "gated-model"):
        repo = repos.create("model", "demo", "gated-model", "demo", gated="manual")
        repos.commit(repo, DEFAULT_BRANCH, "Add weights", "", "demo",
                     [("file", "config.json", b'{"gated": true}\n')])
        db.run("INSERT OR IGNORE INTO gated_access (repo_id, user) VALUES (?,?)", repo["id"], "alice")
        made.append("demo/gated-model")
    return made


def seed_many(db, store, n):
    """demo/many-N (dataset): N files of 130-650 bytes, 500 per folder, distinct contents (one
    blob each), for the memory tests of large snapshots. Made once per hub folder."""
    name = "many-%d" % n
    if db.repo("dataset", "demo", name):
        return []
    repo = Repos(db, store).create("dataset", "demo", name, "demo", tags=["demo"])
    rng = random.Random(n)
    ops = [("file", "d%03d/f%06d.txt" % (i // 500, i),
            (b"%d\n" % i) + rng.randbytes(32).hex().encode() * rng.randint(2, 10))
           for i in range(n)]
    Repos(db, store).commit(repo, DEFAULT_BRANCH, "Add %d files" % n, "", "demo", ops)
    return ["demo/" + name]


TINY_CONFIG = json.dumps({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
    "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2,
    "vocab_size": 256, "torch_dtype": "float32"}, indent=2) + "\n"

TINY_README = """---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
tags:
- demo
- safetensors
---

# tiny-model

A demo model served by ferry's local hub. The weights are random numbers: useful to try
downloads and uploads without network, useless for inference.
"""


def tokenizer_json():
    vocab = {chr(c) if 33 <= c < 127 else "<0x%02X>" % c: c for c in range(256)}
    return json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []},
                       "added_tokens": [], "normalizer": None, "pre_tokenizer": None},
                      indent=2) + "\n"

