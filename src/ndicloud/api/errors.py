"""What can go wrong talking to NDI Cloud, as one small exception hierarchy.

Every error names the method and route it came from and the server's own message, so a person can act on it;
none ever carries the token (it lives only in request headers, which are never formatted).
"""

from __future__ import annotations

from typing import Any


class CloudError(Exception):
    """Any failure of an NDI Cloud call. ``status`` is the HTTP status, or None when there was no answer."""

    def __init__(self, message: str, *, status: int | None = None, method: str | None = None,
                 route: str | None = None, detail: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.method = method
        self.route = route
        self.detail = detail
        self.code = code


class ConfigurationError(CloudError):
    """The client cannot be set up as asked (an unknown environment name, a bad base URL)."""


class InvalidArgument(CloudError, ValueError):
    """A value the client refuses to send (an id that is not 24 hex digits, an empty path part)."""


class AuthError(CloudError):
    """Not logged in, wrong credentials, or a token the server no longer accepts (401)."""


class PermissionDenied(CloudError):
    """Logged in but not allowed (403)."""


class NotFound(CloudError):
    """No such thing, or one this account may not see (404)."""


class ValidationError(CloudError):
    """The server refused the request as invalid (400); ``detail`` holds its message."""


class ServerError(CloudError):
    """The service failed (5xx, 429) or could not be reached, after the allowed retries."""


class OutcomeUnknown(ServerError):
    """A creating request got no clear answer (504 or a lost connection): it may or may not have happened.

    The caller must list before sending it again (cloud-api §8); the client never repeats it blindly.
    """


class TransferError(CloudError):
    """A presigned upload or download, or an asynchronous job, did not complete."""


class BulkJobsFailed(TransferError):
    """Zip-upload jobs of a dataset failed; ``job_ids`` names them."""

    def __init__(self, message: str, job_ids: list[str]):
        super().__init__(message)
        self.job_ids = job_ids


class WaitTimeout(CloudError, TimeoutError):
    """Something the service does later (ingestion, publication, a job) did not happen within the wait."""


def detail_from_body(body: Any) -> tuple[str | None, str | None]:
    """The server's message and code from an error body (cloud-api §3.5: message, error, errors, detail)."""
    if not isinstance(body, dict):
        return (body.strip() or None if isinstance(body, str) else None), None
    code = body.get("code") if isinstance(body.get("code"), str) else None
    for key in ("message", "error", "errors", "detail"):
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("error") or value.get("message")
        if isinstance(value, str) and value:
            return value, code
        if isinstance(value, list) and value:
            return "; ".join(str(item) for item in value), code
    return None, code


def error_for_status(status: int, method: str, route: str, body: Any) -> CloudError:
    """The exception for an HTTP error answer; its text is ``METHOD route -> status: message``."""
    detail, code = detail_from_body(body)
    kind: type[CloudError]
    if status == 400:
        kind = ValidationError
    elif status == 401:
        kind = AuthError
    elif status == 403:
        kind = PermissionDenied
    elif status == 404:
        kind = NotFound
    elif status == 429 or status >= 500:
        kind = ServerError
    else:
        kind = CloudError
    text = f"{method} {route} -> {status}"
    if detail:
        text += f": {detail}"
    if code and code not in (detail or ""):
        text += f" ({code})"
    return kind(text, status=status, method=method, route=route, detail=detail, code=code)
