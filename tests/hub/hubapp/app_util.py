"""Small shared helpers of the route modules: response types, revision splitting, Link."""
import json
import urllib.parse

from .errors import HubError


class Response:
    def __init__(self, status=200, body=b"", headers=None, content_type=None, file=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        if content_type:
            self.headers["Content-Type"] = content_type
        self.file = file  # (path, start, length) streamed instead of body


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
