"""API errors and their wire bodies (cloud-api §3.5, §10.7).

Non-account routes answer ``{"error": text, "message": text}`` so every client's
reader finds the text; account routes answer Cognito-style ``{"errors": text, "code": name}``.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client with ``status`` and a JSON body."""

    def __init__(self, status: int, message: str, *, code: str | None = None, account: bool = False):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.account = account

    def body(self) -> dict[str, str]:
        if self.account:
            return {"errors": self.message, **({"code": self.code} if self.code else {})}
        return {"error": self.message, "message": self.message}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def unauthorized(message: str = "Authentication required") -> ApiError:
    return ApiError(401, message)


def forbidden(message: str = "Forbidden") -> ApiError:
    return ApiError(403, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")
