"""The tools under test: how each is invoked and how its result is checked.

Each tool gets the generated CA (never --insecure). Outputs go to ctx.out; the checker either
hashes the output file after the timed part, or reads the hash the tool printed itself.
"""
import json
import re
from dataclasses import dataclass


@dataclass
class Context:
    url: str
    out: str          # output file path
    cacert: str
    sha256: str       # expected hex digest
    size: int
    ferry_bin: str
    ferry_json: bool  # ask ferry for --json (to learn requests in flight) instead of -q


@dataclass
class Tool:
    name: str          # short name for --tools
    label: str         # what the table shows
    verifies: bool     # does the tool itself verify SHA-256?
    single: bool       # a "single unverified tool" for the case-1 comparison
    printed_hash: bool  # the checker reads a hash printed on stdout instead of the file
    steps: callable     # Context -> list of pipelines (each a list of argv lists)
    env: callable = None  # Context -> extra environment
    cn_only: bool = False  # needs the listener with the CN-only certificate (see server.py)


def curl_cmd(ctx, to_file):
    cmd = ["curl", "--http2", "-sS", "-f", "--cacert", ctx.cacert]
    return cmd + (["-o", ctx.out] if to_file else []) + [ctx.url]


def ferry_steps(ctx):
    cmd = [ctx.ferry_bin, "get", ctx.url, "-o", ctx.out, "--sha256", ctx.sha256,
           "--cacert", ctx.cacert]
    return [[cmd + (["--json"] if ctx.ferry_json else ["-q"])]]


def aria2_cmd(ctx, checksum):
    d, _, name = ctx.out.rpartition("/")
    cmd = ["aria2c", "--no-conf", "-x16", "-s16", "--ca-certificate=" + ctx.cacert,
           "-d", d, "-o", name, "--allow-overwrite=true", "--auto-file-renaming=false",
           "--console-log-level=warn", "--summary-interval=0", "--download-result=hide", "-q"]
    if checksum:
        cmd.append("--checksum=sha-256=" + ctx.sha256)
    return cmd + [ctx.url]


def wget2_cmd(ctx):
    # HTTP/2 with 16 threads over chunks of 1/16 of the file: several streams in parallel
    chunk = max(1 << 20, -(-ctx.size // 16))
    return ["wget2", "--no-config", "-q", "--http2", "--ca-certificate=" + ctx.cacert,
            "--max-threads=16", f"--chunk-size={chunk}", "--no-hsts", "--no-hpkp",
            "--no-ocsp", "--no-tcp-fastopen", "--no-netrc", "-O", ctx.out, ctx.url]


TOOLS = [
    Tool("ferry", "ferry get --sha256", True, False, False, ferry_steps),
    Tool("curl", "curl -o (unverified)", False, True, False,
         lambda c: [[curl_cmd(c, True)]]),
    Tool("curl-verify", "curl -o, then openssl dgst", True, False, True,
         lambda c: [[curl_cmd(c, True)], [["openssl", "dgst", "-sha256", c.out]]]),
    Tool("curl-pipe", "curl | openssl dgst", True, False, True,
         lambda c: [[curl_cmd(c, False), ["openssl", "dgst", "-sha256"]]]),
    Tool("axel", "axel -n 16", False, True, False,
         lambda c: [[["axel", "-n", "16", "-q", "-o", c.out, c.url]]],
         # axel has no CA option; OpenSSL's default verify paths honour SSL_CERT_FILE
         env=lambda c: {"SSL_CERT_FILE": c.cacert}, cn_only=True),
    Tool("aria2c", "aria2c -x16 -s16", False, True, False,
         lambda c: [[aria2_cmd(c, False)]]),
    Tool("aria2c-sha", "aria2c -x16 -s16 --checksum", True, False, False,
         lambda c: [[aria2_cmd(c, True)]]),
    Tool("wget2", "wget2 HTTP/2 16 threads", False, True, False,
         lambda c: [[wget2_cmd(c)]]),
]

BY_NAME = {t.name: t for t in TOOLS}


def printed_sha256(stdout):
    """The hex digest in `openssl dgst` output ("SHA2-256(stdin)= <hex>")."""
    m = re.search(rb"=\s*([0-9a-f]{64})\s*$", stdout.strip())
    return m.group(1).decode() if m else None


def ferry_json(stdout):
    try:
        return json.loads(stdout.decode())
    except (ValueError, UnicodeDecodeError):
        return None
