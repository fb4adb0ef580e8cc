"""A tiny HTTPS client for the local hub's tests (no redirects followed, CA pinned)."""
import http.client
import json
import ssl
import urllib.parse


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


class HubClient:
    def __init__(self, env):
        self.env = env
        self.endpoint = env["HF_ENDPOINT"]
        self.ctx = ssl.create_default_context(cafile=env["LOCALHUB_CA"])

    def request(self, method, url, token=None, headers=None, body=None, json_body=None,
                timeout=60):
        if not url.startswith(("https://", "http://")):
            url = self.endpoint + url
        u = urllib.parse.urlsplit(url)
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if u.scheme == "http":
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=self.ctx, timeout=timeout)
        try:
            conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def head(self, url, **kw):
        return self.request("HEAD", url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)
