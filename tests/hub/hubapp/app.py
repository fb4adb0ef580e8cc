"""HTTP front of the hub application (behind nginx): request parsing, authentication, rate
limit, routing to the route modules, and error answers in the Hub's format."""
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import traceback
import urllib.parse

from . import admin, faults, lfs, routes_read, routes_write
from .assembler import Assembler
from .app_util import json_response, error_response
from .db import Database
from .errors import HubError, invalid_credentials
from .knobs import Knobs
from .repos import Repos
from .store import Store

TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
PREFIX_TYPES = {"datasets": "dataset", "spaces": "space"}


class Hub:
    """Everything a request handler needs: config, database, store, repos, knobs."""

    def __init__(self, state_dir):
        with open(os.path.join(state_dir, "state.json")) as f:
            self.config = json.load(f)
        self.dir = state_dir
        self.endpoint = self.config["endpoint"]
        self.cdn_endpoint = self.config["cdn_endpoint"]
        self.db = Database(os.path.join(state_dir, "hub.db"))
        self.store = Store(os.path.join(state_dir, "store"))
        self.uploads_dir = os.path.join(state_dir, "upload")
        self.repos = Repos(self.db, self.store)
        self.knobs = Knobs(self)
        self.assembler = Assembler(self)
        self.rate_lock = threading.Lock()
        self.rate_window = {}


class Request:
    def __init__(self, handler, hub):
        self.handler = handler
        self.hub = hub
        self.method = handler.command
        raw_path, _, query = handler.path.partition("?")
        self.raw_path = raw_path
        self.query_string = query
        self.query = urllib.parse.parse_qs(query, keep_blank_values=True)
        self.headers = handler.headers
        self._body = None
        self.token = None
        self.user = None

    def q(self, key, default=None):
        vals = self.query.get(key)
        return vals[0] if vals else default

    def flag(self, key):
        return (self.q(key) or "").lower() in ("1", "true", "yes")

    @property
    def body(self):
        if self._body is None:
            n = int(self.headers.get("Content-Length") or 0)
            self._body = self.handler.rfile.read(n) if n else b""
        return self._body

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            raise HubError(400, None, "Invalid JSON body")

    @property
    def plain(self):
        """True for a request on the optional plain-HTTP port: links then stay plain HTTP."""
        return self.headers.get("X-Forwarded-Proto") == "http" and "http_endpoint" in self.hub.config

    @property
    def endpoint(self):
        return self.hub.config["http_endpoint"] if self.plain else self.hub.endpoint

    @property
    def cdn_endpoint(self):
        return self.hub.config["http_cdn_endpoint"] if self.plain else self.hub.cdn_endpoint

    def url(self, path_and_query):
        return self.endpoint + path_and_query


def route(req):
    segs = req.raw_path.split("/")[1:]
    if segs and segs[0] == "admin":
        return admin.handle(req, segs)
    if segs and segs[0] == "_fault":
        return faults.handle(req, segs[1:])
    if segs[:2] == ["api", "whoami-v2"]:
        return routes_read.whoami(req)
    if segs[:2] == ["api", "repos"] and len(segs) == 3:
        if segs[2] == "create" and req.method == "POST":
            return routes_write.create_repo(req)
        if segs[2] == "delete" and req.method == "DELETE":
            return routes_write.delete_repo(req)
        if segs[2] == "move" and req.method == "POST":
            return routes_write.move_repo(req)
    if segs[:2] == ["api", "validate-yaml"]:
        return json_response({})
    if segs[:2] == ["api", "agent-harnesses"]:  # huggingface_hub's agent detection registry
        return json_response(req.hub.knobs.get("agent_harnesses"))
    if segs[:2] == ["api", "telemetry"]:
        return json_response({})
    if segs[:3] == ["api", "lfs", "complete"] and len(segs) == 4:
        return lfs.complete_multipart(req, segs[3])
    if len(segs) == 2 and segs[0] == "api" and segs[1] in TYPES:
        return routes_read.list_repos(req, TYPES[segs[1]])
    if len(segs) >= 4 and segs[0] == "api" and segs[1] in TYPES:
        rtype, ns, name, rest = TYPES[segs[1]], segs[2], segs[3], segs[4:]
        return routes_read.api_repo(req, rtype, ns, name, rest)
    # web routes: /{P}{ns}/{name}/(resolve|raw)/{rev}/{path} and /{P}{ns}/{name}.git/info/lfs/...
    rtype = "model"
    if segs and segs[0] in PREFIX_TYPES and len(segs) >= 3:
        rtype, segs = PREFIX_TYPES[segs[0]], segs[1:]
    if len(segs) >= 5 and segs[2] in ("resolve", "raw"):
        return routes_read.resolve(req, rtype, segs[0], segs[1], segs[2], segs[3:])
    if len(segs) >= 6 and segs[1].endswith(".git") and segs[2:5] == ["info", "lfs", "objects"]:
        return lfs.handle(req, rtype, segs[0], segs[1][:-4], segs[5:] or [""])
    raise HubError(404, None, "Sorry, we can't find the page you are looking for.")


def authenticate(req):
    auth = req.headers.get("Authorization") or ""
    if not auth:
        return
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        raise invalid_credentials()
    row = req.hub.db.user_for_token(token.strip())
    if not row:
        raise invalid_credentials()
    req.token = row
    req.user = req.hub.db.user(row["user"])


def rate_limit(req):
    limit = int(req.hub.knobs.get("rate_limit") or 0)
    if limit <= 0 or req.raw_path.startswith(("/admin", "/api/lfs/complete")):
        return None
    window = max(1, int(req.hub.knobs.get("rate_window") or 60))
    key = req.token["token"] if req.token else req.handler.headers.get("X-Real-IP", "anon")
    now = time.time()
    with req.hub.rate_lock:
        start, count = req.hub.rate_window.get(key, (now, 0))
        if now - start >= window:
            start, count = now, 0
        count += 1
        req.hub.rate_window[key] = (start, count)
    reset = max(1, int(start + window - now + 0.999))
    headers = {"RateLimit": '"api";r=%d;t=%d' % (max(0, limit - count), reset),
               "RateLimit-Policy": '"fixed window";"api";q=%d;w=%d' % (limit, window)}
    if count > limit:
        headers["Retry-After"] = str(reset)
        raise HubError(429, None, "You have exceeded our hourly quotas for action: api. "
                       "Retry after %d seconds" % reset, headers=headers)
    return headers


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localhub"
    hub = None
    # Headers and body leave in two writes: with Nagle on, the body waits for nginx's delayed
    # ACK (40 ms) on every small answer, which made each API or small-file request slow.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # nginx writes the access log
        pass

    def _serve(self):
        req = Request(self, self.hub)
        extra = {}
        try:
            if not req.raw_path.startswith("/_fault/"):  # CDN traffic: no auth, no API quota
                authenticate(req)
                extra = rate_limit(req) or {}
            resp = route(req)
        except HubError as err:
            resp = error_response(err)
        except Exception as exc:  # keep serving; the traceback goes to logs/app.log
            traceback.print_exc(file=sys.stderr)
            resp = error_response(HubError(500, None, "Internal Error - %s" % exc))
        if resp is None:
            return  # the connection was reset on purpose (fault injection)
        for k, v in extra.items():
            resp.headers.setdefault(k, v)
        if req._body is None and self.command in ("POST", "PUT", "DELETE"):
            _ = req.body  # drain so the connection stays usable
        self._send(resp)

    def _send(self, resp):
        self.send_response(resp.status)
        length = resp.length if resp.stream else len(resp.body)
        resp.headers.setdefault("Content-Length", str(length))
        for k, v in resp.headers.items():
            for item in (v if isinstance(v, list) else [v]):
                # header values must be latin-1: escape anything else (e.g. a path in a message)
                self.send_header(k, str(item).encode("ascii", "backslashreplace").decode())
        self.end_headers()
        if self.command == "HEAD":
            return
        if resp.stream:
            resp.stream(self)
        else:
            self.wfile.write(resp.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _serve


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):
            return  # peers (and injected faults) break connections; nothing to report
        super().handle_error(request, client_address)


def main():
    state_dir = sys.argv[1]
    hub = Hub(state_dir)
    Handler.hub = hub
    hub.assembler.start()
    server = Server(("127.0.0.1", hub.config["app_port"]), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
