"""Admin endpoint for knobs: GET/POST /admin/knobs with header X-Admin-Secret."""
import hmac

from .app_util import json_response
from .errors import HubError


def handle(req, segs):
    secret = req.headers.get("X-Admin-Secret") or ""
    if not hmac.compare_digest(secret, req.hub.config["admin_secret"]):
        raise HubError(403, None, "Admin secret required")
    if segs[1:] == ["knobs"]:
        if req.method == "POST":
            try:
                req.hub.knobs.update(req.json())
            except KeyError as e:
                raise HubError(400, None, "Unknown knob(s): %s" % e.args[0])
            except ValueError as e:
                raise HubError(400, None, str(e))
        return json_response(req.hub.knobs.values)
    raise HubError(404, None, "Not found")
