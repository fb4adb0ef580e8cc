"""Faults on the CDN origin and on upload targets (knobs cdn_fault / upload_fault). While one
is set, nginx hands those requests (after checking their signature) to this module.

cdn_fault:    {"mode": "status"|"reset"|"stall"|"ignore_range"|"corrupt",
               "nth": N or [N, ...] (which requests, counted from when the knob was set;
                      absent = every request),
               "status": 503, "after_bytes": 0, "stall_seconds": 30, "offset": byte to corrupt}
upload_fault: {"mode": "status"|"reset"|"stall", "nth": ..., "status": 500,
               "retry_after": seconds (status: sent as Retry-After),
               "ratelimit_reset": seconds (status: sent as the Hub's RateLimit header's t=),
               "stall_seconds": 30}  (part and basic PUTs; stall waits before reading the
               body, as a slow uplink would, then stores the part normally)
"""
import hmac
import os
import secrets
import socket
import struct
import time

from .app_util import Response, parse_range
from .errors import HubError

CHUNK = 1 << 20


def handle(req, segs):
    if not hmac.compare_digest(req.headers.get("X-Fault-Secret") or "", req.hub.config["cdn_secret"]):
        raise HubError(404, None, "Not found")
    if segs[0] == "lfs" and len(segs) == 2:
        return serve_object(req, segs[1])
    if segs[0] == "upload" and len(segs) == 3 and req.method == "PUT":
        return receive_upload(req, segs[1], segs[2])
    raise HubError(404, None, "Not found")


def selected(req, knob):
    fault = req.hub.knobs.get(knob)
    if not fault:
        return None
    n = req.hub.knobs.next_count(knob)
    nth = fault.get("nth")
    if nth is None or n == nth or (isinstance(nth, list) and n in nth):
        return fault
    return None


def reset_connection(handler):
    """Abort the TCP connection with a RST (SO_LINGER 0), as a crashed server would."""
    try:
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        handler.close_connection = True
        handler.connection.close()


def serve_object(req, sha):
    path = req.hub.store.lfs_path(sha)
    if len(sha) != 64 or not os.path.exists(path):
        return Response(404, b"Not Found", {"Content-Type": "text/plain"})
    fault = selected(req, "cdn_fault") or {}
    mode = fault.get("mode")
    if mode == "status":
        return Response(int(fault.get("status", 503)), b"injected fault", {"Content-Type": "text/plain"})
    size = os.path.getsize(path)
    headers = {"Accept-Ranges": "bytes", "X-Linked-Etag": '"%s"' % sha,
               "ETag": '"%s"' % sha[:16], "Content-Type": "application/octet-stream"}
    try:
        rng = None if mode == "ignore_range" else parse_range(req.headers.get("Range"), size)
    except IndexError:
        headers["Content-Range"] = "bytes */%d" % size
        return Response(416, b"", headers)
    start, end = rng if rng else (0, size - 1)
    status = 206 if rng else 200
    if rng:
        headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
    length = end - start + 1

    def stream(handler):
        after = int(fault.get("after_bytes", 0))
        corrupt_at = int(fault.get("offset", size // 2))
        action = mode
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            while sent < length:
                chunk = f.read(min(CHUNK, length - sent))
                if not chunk:
                    break
                if action in ("reset", "stall") and sent + len(chunk) > after:
                    handler.wfile.write(chunk[:max(0, after - sent)])
                    if action == "reset":
                        reset_connection(handler)
                        return
                    handler.wfile.flush()
                    time.sleep(float(fault.get("stall_seconds", 30)))
                    handler.wfile.write(chunk[max(0, after - sent):])
                    action = None  # stall once per request, then go on normally
                elif action == "corrupt" and start + sent <= corrupt_at < start + sent + len(chunk):
                    b = bytearray(chunk)
                    b[corrupt_at - start - sent] ^= 0xFF
                    handler.wfile.write(bytes(b))
                else:
                    handler.wfile.write(chunk)
                sent += len(chunk)

    return Response(status, b"", headers, stream=stream, length=length)


def receive_upload(req, uid, part):
    fault = selected(req, "upload_fault") or {}
    mode = fault.get("mode")
    if mode == "status":
        _ = req.body
        headers = {"Content-Type": "text/plain"}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        if fault.get("ratelimit_reset") is not None:
            headers["RateLimit"] = '"api";r=0;t=%d' % int(fault["ratelimit_reset"])
        return Response(int(fault.get("status", 500)), b"injected fault", headers)
    if mode == "reset":
        n = int(req.headers.get("Content-Length") or 0)
        req.handler.rfile.read(min(n, 4096))
        req._body = b""
        reset_connection(req.handler)
        return None
    if mode == "stall":
        time.sleep(float(fault.get("stall_seconds", 30)))
    folder = os.path.join(req.hub.uploads_dir, uid)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, ".%s.%s" % (part, secrets.token_hex(4)))
    n = int(req.headers.get("Content-Length") or 0)
    with open(tmp, "wb") as f:
        left = n
        while left > 0:
            chunk = req.handler.rfile.read(min(CHUNK, left))
            if not chunk:
                break
            f.write(chunk)
            left -= len(chunk)
    req._body = b""
    if left:
        os.unlink(tmp)
        return None
    os.replace(tmp, os.path.join(folder, part))
    return Response(201, b"", {"ETag": '"%s"' % secrets.token_hex(16)})
