"""An error answer of the Hub API: status, X-Error-Code, X-Error-Message and JSON body."""


class HubError(Exception):
    def __init__(self, status, code, message, extra=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def repo_not_found():
    return HubError(404, "RepoNotFound", "Repository not found")


def entry_not_found(commit=None):
    return HubError(404, "EntryNotFound", "Entry not found",
                    headers={"X-Repo-Commit": commit} if commit else None)


def invalid_credentials():
    return HubError(401, None, "Invalid credentials in Authorization header")
