"""Account endpoints (cloud-api §5.1 A1-A7) and the token helpers NDI-matlab keeps in ``ndi.cloud.internal``.

Pre-login routes (password reset, verification, resend) never send a token (cloud-api §5.1, decision).
"""

from __future__ import annotations

from typing import Any

from .client import CloudClient, resolve
from .errors import ValidationError
from .models import User
from .tokens import decode_jwt, get_token_expiration, is_token_expired

__all__ = [
    "change_password",
    "confirm_password_reset",
    "decode_jwt",
    "forgot_password",
    "get_active_token",
    "get_token_expiration",
    "is_token_expired",
    "login",
    "logout",
    "resend_confirmation",
    "verify_user",
]


def login(email: str, password: str, *, client: CloudClient | None = None) -> User:
    """Log in (A1); the client keeps the token (and caches it) for the calls that follow."""
    return User.from_wire(resolve(client).login(email, password))


def logout(*, client: CloudClient | None = None) -> None:
    """Log out (A2) and forget the token locally, even when the server cannot be told."""
    resolve(client).logout()


def get_active_token(*, client: CloudClient | None = None) -> str:
    """A token valid for at least the next minute, logging in again when needed."""
    token = resolve(client).token()
    assert token is not None  # token(required=True) raises instead of returning None
    return token


def change_password(old_password: str, new_password: str, *, client: CloudClient | None = None) -> None:
    """A3: change the logged-in user's password."""
    resolve(client).json("POST", "/auth/password", json={"oldPassword": old_password, "newPassword": new_password})


def forgot_password(email: str, *, client: CloudClient | None = None) -> dict[str, Any]:
    """A4: have a reset code sent; the delivery details."""
    return resolve(client).json("POST", "/auth/password/forgot", json={"email": email}, auth="none") or {}


def confirm_password_reset(email: str, code: str, new_password: str, *, client: CloudClient | None = None) -> None:
    """A5: set a new password with the code. The service answers 200 even on failure; that is detected here."""
    route = "/auth/password/confirm"
    body = resolve(client).json("POST", route, json={"email": email, "confirmationCode": code,
                                                     "newPassword": new_password}, auth="none")
    if not isinstance(body, dict) or body.get("errors") or body.get("code", "Success!") != "Success!":
        detail = (body or {}).get("errors") if isinstance(body, dict) else None
        code_name = (body or {}).get("code") if isinstance(body, dict) else None
        raise ValidationError(f"POST {route} -> 200: {detail or 'password reset failed'} ({code_name})",
                              status=200, method="POST", route=route, detail=detail, code=code_name)


def verify_user(email: str, code: str, *, client: CloudClient | None = None) -> dict[str, Any]:
    """A6: confirm a new account's e-mail address with its code."""
    return resolve(client).json("POST", "/auth/verify", json={"email": email, "confirmationCode": code},
                                auth="none") or {}


def resend_confirmation(email: str, *, client: CloudClient | None = None) -> None:
    """A7: send the confirmation code again."""
    resolve(client).json("POST", "/auth/confirmation/resend", json={"email": email}, auth="none")
