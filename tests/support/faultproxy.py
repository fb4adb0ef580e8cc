#!/usr/bin/python3
"""A small fault-injecting HTTP/1.1 proxy in front of the test nginx (asyncio, standard library).

It listens on loopback (plain HTTP, optionally TLS with the test certificate) and forwards each
request to the nginx plain-HTTP port over a fresh upstream connection. Faults are chosen by a
JSON list of rules, given at start (--rules) and replaceable at run time:
    POST /__faults   body {"rules": [...]}   replaces the rules and resets their counters
    GET  /__faults                           the rules and how often each matched / fired
    GET  /__stats                            request counts (total and per path)
Admin requests are neither counted nor logged.

A rule:
    {"path": "/files/a.bin"}  or  {"prefix": "/files/"}    which requests it looks at
    "ranged": true|false                                   only requests with / without Range
                                       (a one-byte range, bytes=0-0, a warm-up, is neither)
    "method": "GET"                                        only this method
    when it fires (default: every matching request):
      "nth": 3 | "nths": [2, 5] | "first": 2 | "after": 4 | "probability": 0.3, "seed": 7
    what it does, "action":
      "reset"        send headers and "bytes" body bytes, then reset the connection (RST)
      "truncate"     send headers (full Content-Length) and "bytes" body bytes, then close (FIN)
      "status"       answer "status" (500, 503, 429...) with "retry_after" seconds if given
      "stall"        send headers and "bytes" body bytes, then nothing for "seconds", then close
      "ignore_range" drop Range/If-Range before forwarding: upstream answers 200 with everything
      "swap"         forward to the path "to" instead (a file that changed: other bytes, ETag)
      "strip_conditionals"  drop If-Match/If-Range/If-None-Match/If-Unmodified-Since: a server
                     (or CDN) that ignores validators, so only the answer's ETag tells a change
      "delay"        wait "seconds" before forwarding
      "throttle"     send the body at "rate" bytes per second (the slowest throttle that fires
                     wins): one slow request among fast ones
Request transforms (ignore_range, swap, delay, strip_conditionals, throttle) combine; of the response faults (reset,
truncate, status, stall) the first rule that fires wins.

Every request is logged as one JSON line (method, path, range, upstream path, status, body
bytes sent, faults applied) to --log. The proxy stops on SIGTERM or SIGINT.

    /usr/bin/python3 tests/support/faultproxy.py --upstream-port P --log FILE --port-file F
        [--rules JSON] [--tls-cert C --tls-key K]
"""
import argparse
import asyncio
import json
import os
import random
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.request

MAX_HEADER_BYTES = 64 * 1024
MAX_REQUESTS_PER_CONNECTION = 100000
READ_SIZE = 256 * 1024
UPSTREAM_TIMEOUT = 30.0
IDLE_TIMEOUT = 300.0  # an idle keep-alive client connection is closed after this long
RESPONSE_FAULTS = ("reset", "truncate", "status", "stall")
REQUEST_TRANSFORMS = ("ignore_range", "swap", "delay", "strip_conditionals", "throttle")
REASONS = {200: "OK", 206: "Partial Content", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           404: "Not Found", 400: "Bad Request"}


class Rule:
    def __init__(self, spec):
        self.spec = dict(spec)
        self.action = spec["action"]
        if self.action not in RESPONSE_FAULTS + REQUEST_TRANSFORMS:
            raise ValueError(f"unknown action {self.action!r}")
        self.matched = 0
        self.fired = 0
        self.rng = random.Random(spec.get("seed", 1))

    def matches(self, method, path, has_range):
        spec = self.spec
        if "path" in spec and path != spec["path"]:
            return False
        if "prefix" in spec and not path.startswith(spec["prefix"]):
            return False
        if "ranged" in spec and bool(spec["ranged"]) != has_range:
            return False
        if "method" in spec and method != spec["method"]:
            return False
        return True

    def fires(self):
        """Called once per matching request, in order: counts it, says whether the fault applies."""
        self.matched += 1
        n, spec = self.matched, self.spec
        if "nth" in spec:
            hit = n == spec["nth"]
        elif "nths" in spec:
            hit = n in spec["nths"]
        elif "first" in spec:
            hit = n <= spec["first"]
        elif "after" in spec:
            hit = n > spec["after"]
        elif "probability" in spec:
            hit = self.rng.random() < spec["probability"]
        else:
            hit = True
        if hit:
            self.fired += 1
        return hit

    def describe(self):
        s = self.spec
        detail = {"reset": "bytes", "truncate": "bytes", "status": "status", "stall": "seconds",
                  "swap": "to", "delay": "seconds", "throttle": "rate"}.get(self.action)
        return f"{self.action}:{s.get(detail)}" if detail else self.action

    def state(self):
        return dict(self.spec, matched=self.matched, fired=self.fired)


class HttpRequest:
    def __init__(self, method, target, version, headers):
        self.method, self.target, self.version = method, target, version
        self.headers = headers  # list of (name, value), order kept

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def without(self, *names):
        lower = {n.lower() for n in names}
        self.headers = [(k, v) for k, v in self.headers if k.lower() not in lower]

    def path(self):
        return self.target.split("?", 1)[0]


async def read_head(reader):
    """Read up to the blank line ending a header block; None on a clean EOF before any byte."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise ConnectionError("connection closed inside a header block")
    except asyncio.LimitOverrunError:
        raise ConnectionError("header block too large")
    return data


def parse_request(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return HttpRequest(method, target, version, headers)


def parse_response_head(head):
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return status, headers


def reset_connection(writer):
    """Close with RST instead of FIN: SO_LINGER on, timeout 0."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport = writer.transport
    transport.abort()


class FaultProxy:
    def __init__(self, upstream_host, upstream_port, log_path, rules=None):
        self.upstream_host, self.upstream_port = upstream_host, upstream_port
        self.log_path = log_path
        self.rules = [Rule(r) for r in (rules or [])]
        self.total = 0
        self.per_path = {}
        self.connections = 0
        self.log_file = open(log_path, "a", buffering=1)

    # ---- admin ----------------------------------------------------------------------------
    async def admin(self, request, reader, writer):
        body = b""
        length = int(request.header("Content-Length") or 0)
        if length:
            body = await reader.readexactly(length)
        if request.path() == "/__faults" and request.method == "POST":
            try:
                spec = json.loads(body or b"{}")
                self.rules = [Rule(r) for r in spec.get("rules", [])]
                answer = {"ok": True}
                status = 200
            except (ValueError, KeyError) as e:
                answer, status = {"ok": False, "error": str(e)}, 400
        elif request.path() == "/__faults":
            answer, status = {"rules": [r.state() for r in self.rules]}, 200
        elif request.path() == "/__stats":
            answer = {"total": self.total, "per_path": self.per_path,
                      "connections": self.connections}
            status = 200
        else:
            answer, status = {"error": "unknown admin path"}, 404
        await self.send_simple(writer, status, json.dumps(answer).encode(), "application/json")

    async def send_simple(self, writer, status, body, content_type="text/plain", extra=()):
        head = f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\n"
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        for name, value in extra:
            head += f"{name}: {value}\r\n"
        writer.write(head.encode("latin-1") + b"\r\n" + body)
        await writer.drain()

    # ---- one client connection ----------------------------------------------------------------
    async def handle_client(self, reader, writer):
        self.connections += 1
        conn_id = self.connections
        try:
            for _ in range(MAX_REQUESTS_PER_CONNECTION):
                head = await asyncio.wait_for(read_head(reader), IDLE_TIMEOUT)
                if head is None:
                    break
                request = parse_request(head)
                if request.path().startswith("/__"):
                    await self.admin(request, reader, writer)
                    continue
                keep_open = await self.proxy_one(request, reader, writer, conn_id)
                if not keep_open:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError,
                asyncio.TimeoutError, OSError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def choose(self, request):
        """Count the request against every rule; return (transforms, response fault)."""
        has_range = request.header("Range") is not None
        # ferry's connection warm-ups (engine/src/warmup.c) ask for one byte: they are neither
        # ranged nor unranged requests, so "ranged" rules keep counting the file's own
        warm_up = request.header("Range") == "bytes=0-0"
        transforms, fault = [], None
        for rule in self.rules:
            if warm_up and "ranged" in rule.spec:
                continue
            if rule.matches(request.method, request.path(), has_range) and rule.fires():
                if rule.action in REQUEST_TRANSFORMS:
                    transforms.append(rule)
                elif fault is None:
                    fault = rule
        return transforms, fault

    async def proxy_one(self, request, reader, writer, conn_id):
        """Forward one request; apply faults. Returns whether the client connection stays open."""
        self.total += 1
        path = request.path()
        self.per_path[path] = self.per_path.get(path, 0) + 1
        entry = {"n": self.total, "conn": conn_id, "time": round(time.time(), 3),
                 "method": request.method, "path": path,
                 "range": request.header("Range") or "", "if_range": request.header("If-Range") or "",
                 "if_match": request.header("If-Match") or "",
                 "auth": "yes" if request.header("Authorization") else "no"}
        transforms, fault = self.choose(request)
        applied = [r.describe() for r in transforms] + ([fault.describe()] if fault else [])
        entry["faults"] = applied
        entry["status"], entry["body_bytes"] = 0, 0
        try:
            return await self.forward(request, reader, writer, transforms, fault, entry)
        finally:
            if not self.log_file.closed:  # closed once the proxy is stopping
                self.log_file.write(json.dumps(entry) + "\n")

    async def forward(self, request, reader, writer, transforms, fault, entry):
        request_body = b""
        length = int(request.header("Content-Length") or 0)
        if length:
            request_body = await reader.readexactly(length)
        target = request.target
        rate = min((float(r.spec["rate"]) for r in transforms if r.action == "throttle"),
                   default=None)
        for rule in transforms:
            if rule.action == "ignore_range":
                request.without("Range", "If-Range")
            elif rule.action == "strip_conditionals":
                request.without("If-Match", "If-Range", "If-None-Match", "If-Unmodified-Since")
            elif rule.action == "swap":
                query = request.target.partition("?")[2]
                target = rule.spec["to"] + ("?" + query if query else "")
            elif rule.action == "delay":
                await asyncio.sleep(float(rule.spec.get("seconds", 1)))
        entry["upstream_path"] = target.split("?", 1)[0]

        if fault is not None and fault.action == "status":
            status = int(fault.spec.get("status", 500))
            extra = []
            if "retry_after" in fault.spec:
                extra.append(("Retry-After", str(fault.spec["retry_after"])))
            entry["status"] = status
            body = f"injected {status}\n".encode()
            await self.send_simple(writer, status, body, extra=extra)
            entry["body_bytes"] = len(body)
            return True

        up_reader, up_writer = await asyncio.wait_for(
            asyncio.open_connection(self.upstream_host, self.upstream_port), UPSTREAM_TIMEOUT)
        try:
            request.without("Connection", "Keep-Alive", "Proxy-Connection")
            head = f"{request.method} {target} HTTP/1.1\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in request.headers)
            head += "Connection: close\r\n\r\n"
            up_writer.write(head.encode("latin-1") + request_body)
            await up_writer.drain()
            response_head = await asyncio.wait_for(read_head(up_reader), UPSTREAM_TIMEOUT)
            if response_head is None:
                raise ConnectionError("upstream closed without an answer")
            status, headers = parse_response_head(response_head)
            entry["status"] = status
            content_length = None
            for k, v in headers:
                if k.lower() == "content-length":
                    content_length = int(v)
            # Re-emit the head with keep-alive towards the client (upstream got Connection: close)
            kept = [(k, v) for k, v in headers if k.lower() not in ("connection", "keep-alive")]
            keep_open = content_length is not None
            out = response_head.split(b"\r\n", 1)[0].decode("latin-1") + "\r\n"
            out += "".join(f"{k}: {v}\r\n" for k, v in kept)
            out += ("Connection: keep-alive\r\n" if keep_open else "Connection: close\r\n") + "\r\n"
            writer.write(out.encode("latin-1"))

            if request.method == "HEAD" or status in (204, 304) or content_length == 0:
                await writer.drain()
                return keep_open
            limit = None  # body bytes to pass before the fault acts
            if fault is not None:
                limit = int(fault.spec.get("bytes", 0))
            remaining = content_length  # None: until upstream closes
            sent = 0
            started = time.monotonic()
            while remaining is None or remaining > 0:
                want = READ_SIZE if remaining is None else min(READ_SIZE, remaining)
                if rate:  # paced: small pieces, each sent when the rate allows it
                    want = min(want, 16384)
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                if limit is not None:
                    want = min(want, limit - sent)
                    if want <= 0:
                        break
                data = await asyncio.wait_for(up_reader.read(want), UPSTREAM_TIMEOUT)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
                sent += len(data)
                entry["body_bytes"] = sent
                if remaining is not None:
                    remaining -= len(data)
            if fault is None:
                return keep_open and remaining == 0
            await self.act(fault, reader, writer)
            return False
        finally:
            up_writer.close()

    async def act(self, fault, reader, writer):
        if fault.action == "reset":
            await asyncio.sleep(0.05)  # let the kernel deliver the bytes sent before the RST
            reset_connection(writer)
        elif fault.action == "truncate":
            writer.close()
        elif fault.action == "stall":
            # send nothing more; end early if the client gives up and closes
            deadline = time.monotonic() + float(fault.spec.get("seconds", 30))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    data = await asyncio.wait_for(reader.read(65536), left)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
            writer.close()


def make_tls_context(cert, key):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


async def serve(args):
    rules = json.loads(args.rules) if args.rules else []
    proxy = FaultProxy(args.upstream_host, args.upstream_port, args.log, rules)
    tls = make_tls_context(args.tls_cert, args.tls_key) if args.tls_cert else None
    server = await asyncio.start_server(proxy.handle_client, args.host, args.port, ssl=tls,
                                        limit=MAX_HEADER_BYTES)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)  # the port file appears only when the proxy listens
    await stop.wait()
    # stop listening; open connections are cancelled when asyncio.run() ends (not waited for:
    # an idle keep-alive client would hold the shutdown)
    server.close()
    proxy.log_file.close()


class FaultProxyProcess:
    """Runs the proxy as a child process (for pytest fixtures and scripts)."""

    def __init__(self, upstream_port, workdir, rules=None, tls_cert=None, tls_key=None,
                 name="faultproxy"):
        self.upstream_port = upstream_port
        self.workdir = os.path.abspath(workdir)
        self.rules = rules or []
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.log_path = os.path.join(self.workdir, f"{name}.log")
        self.port_file = os.path.join(self.workdir, f"{name}.port")
        self.stderr_path = os.path.join(self.workdir, f"{name}.stderr")
        self.process = None
        self.port = None

    def start(self, timeout=10.0):
        os.makedirs(self.workdir, exist_ok=True)
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        command = [sys.executable if sys.executable else "/usr/bin/python3",
                   os.path.abspath(__file__), "--upstream-port", str(self.upstream_port),
                   "--log", self.log_path, "--port-file", self.port_file,
                   "--rules", json.dumps(self.rules)]
        if self.tls_cert:
            command += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        with open(self.stderr_path, "a") as err:
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    self.port = int(f.read())
                self.get_stats()  # a real request proves it answers
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"fault proxy did not start; see {self.stderr_path}")

    def stop(self, timeout=10.0):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def base_url(self):
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _admin(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         method="POST" if data is not None else "GET")
        context = None
        if self.tls_cert:
            request = urllib.request.Request(f"https://127.0.0.1:{self.port}{path}", data=data,
                                             method="POST" if data is not None else "GET")
            context = ssl._create_unverified_context()  # our own cert, loopback only
        with urllib.request.urlopen(request, timeout=5, context=context) as answer:
            return json.loads(answer.read())

    def set_rules(self, rules):
        self.rules = rules
        answer = self._admin("/__faults", {"rules": rules})
        if not answer.get("ok"):
            raise ValueError(answer)

    def get_rules(self):
        return self._admin("/__faults")["rules"]

    def get_stats(self):
        return self._admin("/__stats")

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_entries(self, offset=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in data.splitlines() if line.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description="fault-injecting HTTP/1.1 proxy for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream-host", default="127.0.0.1")
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--rules", default="[]", help="JSON list of fault rules")
    parser.add_argument("--log", required=True, help="request log, one JSON object per line")
    parser.add_argument("--port-file", required=True, help="written with the port once listening")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
