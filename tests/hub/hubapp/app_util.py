"""Small shared helpers of the route modules: response types, revision splitting, Link."""
import json
import urllib.parse

from .errors import HubError


class Response:
    def __init__(self, status=200, body=b"", headers=None, content_type=None, stream=None,
                 length=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        if content_type:
            self.headers["Content-Type"] = content_type
        self.stream = stream  # callable(handler) writing `length` bytes instead of body
        self.length = length


def json_response(obj, status=200, headers=None):
    return Response(status, json.dumps(obj).encode(), headers,
                    content_type="application/json; charset=utf-8")


def error_response(err: HubError):
    headers = dict(err.headers)
    if err.code:
        headers["X-Error-Code"] = err.code
    headers["X-Error-Message"] = err.message
    body = {"error": err.message}
    body.update(err.extra)
    return json_response(body, err.status, headers)


def parse_range(header, size):
    """'bytes=a-b' (first range only) -> (start, end) inclusive; None when absent or not
    understood (serve everything); raises IndexError when unsatisfiable."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    a, _, b = spec.split(",")[0].strip().partition("-")
    try:
        if unit.strip() != "bytes":
            return None
        if a == "":
            start, end = max(0, size - int(b)), size - 1
        else:
            start, end = int(a), (int(b) if b else size - 1)
    except ValueError:
        return None
    end = min(end, size - 1)
    if start > end or start >= size:
        raise IndexError(header)
    return start, end


def split_rev(segs):
    """Split raw path segments into (revision, rest). Clients send the revision percent-encoded
    (refs%2Fpr%2F1) or raw (refs/pr/1: tree and commits in the JS client)."""
    if segs and segs[0] == "refs" and len(segs) >= 3:
        return "/".join(urllib.parse.unquote(s) for s in segs[:3]), segs[3:]
    return urllib.parse.unquote(segs[0]), segs[1:]


def page_link(req, key, value):
    query = {k: v for k, v in req.query.items() if k != key}
    query[key] = [str(value)]
    url = req.url(req.raw_path + "?" + urllib.parse.urlencode(query, doseq=True, safe="[]"))
    return '<%s>; rel="next"' % url
