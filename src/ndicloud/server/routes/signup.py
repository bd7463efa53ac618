"""Self-service account routes (cloud-api §5.1 A3-A7, U1) with Cognito-style bodies and codes.

Confirmation and reset codes go to the server log (there is no e-mail here), never in a response.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request

from ..access import required_user
from ..errors import ApiError
from ..records import Records
from ..security import hash_password, verify_password
from ..wire import WireJSONResponse, read_json
from .accounts import user_json

router = APIRouter()
log = logging.getLogger("ndicloud.server")
CODE_TTL_S = 24 * 3600


def _cognito(message: str, code: str) -> ApiError:
    return ApiError(400, message, code=code, account=True)


async def _fields(request: Request, *names: str) -> list[Any]:
    body = await read_json(request, request.app.state.config.max_json_body_bytes, account=True)
    body = body if isinstance(body, dict) else {}
    values = [body.get(name) for name in names]
    missing = [n for n, v in zip(names, values, strict=True) if not isinstance(v, str) or not v]
    if missing:
        raise _cognito(f"missing {', '.join(missing)}", "InvalidParameterException")
    return values


def _check_policy(request: Request, password: str, message: str) -> None:
    minimum = request.app.state.config.password_min_length
    if len(password) < minimum:
        raise _cognito(f"{message}: the password must have at least {minimum} characters",
                       "InvalidPasswordException")


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _issue_code(records: Records, email: str, purpose: str) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    records.save_code(email, purpose, _code_hash(code), time.time() + CODE_TTL_S)
    log.info("%s code for %s: %s", purpose, email, code)


def _reset_allowed(request: Request, email: str) -> bool:
    """At most ``reset_codes_per_hour`` reset codes per address in any hour (kept in memory, like a rate limit)."""
    issued: dict[str, list[float]] = request.app.state.reset_code_times
    now = time.monotonic()
    recent = [t for t in issued.get(email, []) if now - t < 3600]
    allowed = len(recent) < request.app.state.config.reset_codes_per_hour
    issued[email] = [*recent, now] if allowed else recent
    return allowed


def _check_code(records: Records, email: str, purpose: str, code: str) -> str | None:
    """None when the code is right, else the Cognito exception name."""
    stored = records.take_code(email, purpose)
    if stored is None:
        return "CodeMismatchException"
    code_hash, expires = stored
    if expires < time.time():
        return "ExpiredCodeException"
    if not hmac.compare_digest(code_hash, _code_hash(code)):
        records.save_code(email, purpose, code_hash, expires)  # a wrong guess does not use the code up
        return "CodeMismatchException"
    return None


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@router.post("/users")
async def create_user(request: Request) -> WireJSONResponse:
    email, name, password = await _fields(request, "email", "name", "password")
    records: Records = request.app.state.records
    if records.user_by_email(email) is not None:
        raise _cognito("Unable to create user in AWS Cognito", "UsernameExistsException")
    _check_policy(request, password, "Unable to create user in AWS Cognito")
    user = records.add_user(email, name, hash_password(password), is_validated=False)
    organization = records.organization(f"{name} ({user.id})")
    records.add_membership(user.id, organization, can_upload=request.app.state.config.users_can_create_datasets)
    _issue_code(records, email, "confirmation")
    created = records.user_by_id(user.id)
    assert created is not None
    return WireJSONResponse(user_json(created))


@router.post("/auth/verify")
async def verify(request: Request) -> WireJSONResponse:
    email, code = await _fields(request, "email", "confirmationCode")
    records: Records = request.app.state.records
    user = records.user_by_email(email)
    if user is None:
        raise _cognito("Unable to verify user", "UserNotFoundException")
    if user.is_validated:
        raise _cognito("User is already confirmed", "NotAuthorizedException")
    problem = _check_code(records, email, "confirmation", code)
    if problem:
        raise _cognito("Unable to verify user", problem)
    records.set_validated(user.id)
    return WireJSONResponse({"id": user.id, "email": user.email, "isValidated": True})


@router.post("/auth/confirmation/resend")
async def resend_confirmation(request: Request) -> WireJSONResponse:
    (email,) = await _fields(request, "email")
    records: Records = request.app.state.records
    user = records.user_by_email(email)
    if user is None:
        raise _cognito("Unable to resend the confirmation code", "UserNotFoundException")
    if user.is_validated:
        raise _cognito("User is already confirmed", "InvalidParameterException")
    _issue_code(records, user.email, "confirmation")
    return WireJSONResponse({"confirmationResent": True})


@router.post("/auth/password")
async def change_password(request: Request) -> WireJSONResponse:
    user = required_user(request)
    old, new = await _fields(request, "oldPassword", "newPassword")
    if not verify_password(old, user.password_hash):
        raise _cognito("Incorrect username or password", "NotAuthorizedException")
    _check_policy(request, new, "Unable to change password")
    request.app.state.records.set_password(user.id, hash_password(new))
    return WireJSONResponse({"message": "Password changed successfully"})


@router.post("/auth/password/forgot")
async def forgot_password(request: Request) -> WireJSONResponse:
    (email,) = await _fields(request, "email")
    records: Records = request.app.state.records
    user = records.user_by_email(email)
    if user is None:
        raise _cognito("Unable to send a reset code", "UserNotFoundException")
    if not _reset_allowed(request, user.email):
        raise _cognito("Attempt limit exceeded, please try after some time.", "LimitExceededException")
    _issue_code(records, user.email, "reset")
    return WireJSONResponse({"CodeDeliveryDetails": {"Destination": _masked(user.email), "DeliveryMedium": "EMAIL",
                                                     "AttributeName": "email"}})


@router.post("/auth/password/confirm")
async def confirm_password(request: Request) -> WireJSONResponse:
    """200 on success and on failure, as the real service answers (the body says which)."""
    email, code, new = await _fields(request, "email", "confirmationCode", "newPassword")
    records: Records = request.app.state.records
    user = records.user_by_email(email)
    minimum = request.app.state.config.password_min_length
    problem = "UserNotFoundException" if user is None else (
        "InvalidPasswordException" if len(new) < minimum else _check_code(records, email, "reset", code))
    if problem or user is None:
        return WireJSONResponse({"errors": "Unable to reset password", "code": problem})
    records.set_password(user.id, hash_password(new))
    return WireJSONResponse({"message": "Password reset", "code": "Success!"})
