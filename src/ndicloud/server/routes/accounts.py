"""Account routes: login, logout, the caller and other users (cloud-api §5.1)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ..access import required_user
from ..errors import ApiError, not_found
from ..records import Records, User
from ..security import verify_password
from ..wire import WireJSONResponse, read_json

router = APIRouter()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "isValidated": user.is_validated,
        "isAdmin": user.is_admin,
        "bookmarkedDatasetIds": [],
        "organizations": [
            {"id": m.organization_id, "name": m.name, "canUploadDataset": m.can_upload} for m in user.organizations
        ],
    }


@router.post("/auth/login")
async def login(request: Request) -> WireJSONResponse:
    body = await read_json(request, request.app.state.config.max_json_body_bytes, account=True)
    email = body.get("email") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    records: Records = request.app.state.records
    user = records.user_by_email(email) if isinstance(email, str) else None
    if user is None or not isinstance(password, str) or not verify_password(password, user.password_hash):
        raise ApiError(401, "Unable to login", code="NotAuthorizedException", account=True)
    if not user.is_validated:
        raise ApiError(401, "Unable to login", code="UserNotConfirmedException", account=True)
    token = request.app.state.tokens.issue(user.id, user.email)
    return WireJSONResponse({"token": token, "user": user_json(user)})


@router.post("/auth/logout")
async def logout(request: Request) -> WireJSONResponse:
    required_user(request)
    claims = request.state.token_claims
    if claims.token_id:
        request.app.state.records.revoke_token(claims.token_id, claims.expires)
    return WireJSONResponse({"message": "Logged out"})


@router.get("/users/me")
async def me(request: Request) -> WireJSONResponse:
    return WireJSONResponse(user_json(required_user(request)))


@router.get("/users/{user_id}")
async def user(request: Request, user_id: str) -> WireJSONResponse:
    required_user(request)
    found = request.app.state.records.user_by_id(user_id)
    if found is None:
        raise not_found(f"user {user_id}")
    return WireJSONResponse(user_json(found))
