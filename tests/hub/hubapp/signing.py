"""Signed, expiring URLs. CDN and upload URLs are checked by nginx `secure_link`
(md5 of "<expires><uri> <secret>", base64url); completion URLs are checked by the app (HMAC)."""
import base64
import hashlib
import hmac
import time


def nginx_secure_link(uri: str, secret: str, lifetime: int) -> str:
    expires = int(time.time()) + int(lifetime)
    digest = hashlib.md5(("%d%s %s" % (expires, uri, secret)).encode()).digest()
    token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return "%s?md5=%s&expires=%d" % (uri, token, expires)


def app_sign(path: str, secret: str, lifetime: int) -> str:
    expires = int(time.time()) + int(lifetime)
    return "%s?expires=%d&sig=%s" % (path, expires, _mac(path, expires, secret))


def app_check(path: str, expires: str, sig: str, secret: str) -> str:
    """Returns '' when valid, else the reason."""
    try:
        exp = int(expires)
    except (TypeError, ValueError):
        return "missing signature"
    if not hmac.compare_digest(_mac(path, exp, secret), sig or ""):
        return "bad signature"
    if exp < time.time():
        return "expired"
    return ""


def _mac(path, expires, secret):
    return hmac.new(secret.encode(), ("%d:%s" % (expires, path)).encode(), hashlib.sha256).hexdigest()
