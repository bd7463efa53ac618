"""Who the caller is (Bearer token) and what they may see and change (cloud-api §10.3)."""

from __future__ import annotations

import jwt
from fastapi import Request

from .errors import forbidden, not_found, unauthorized
from .ids import is_object_id
from .records import DatasetRecord, Records, User
from .security import TokenService


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization must be 'Bearer <token>'")
    return token.strip()


def optional_user(request: Request) -> User | None:
    """The caller, None when anonymous; a bad, expired or revoked token is a 401."""
    token = _bearer(request)
    if token is None:
        return None
    tokens: TokenService = request.app.state.tokens
    records: Records = request.app.state.records
    try:
        claims = tokens.decode(token)
    except jwt.ExpiredSignatureError:
        raise unauthorized("Token expired") from None
    except jwt.PyJWTError:
        raise unauthorized("Invalid token") from None
    if claims.token_id and records.is_revoked(claims.token_id):
        raise unauthorized("Token revoked")
    user = records.user_by_id(claims.user_id)
    if user is None:
        raise unauthorized("Unknown user")
    request.state.token_claims = claims
    return user


def required_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise unauthorized()
    return user


def can_read(user: User | None, dataset: DatasetRecord) -> bool:
    if dataset.is_deleted:
        return False
    if dataset.is_published:
        return True
    return user is not None and (user.is_admin or user.member_of(dataset.organization_id) is not None)


def readable_dataset(records: Records, user: User | None, dataset_id: str) -> DatasetRecord:
    """The dataset if the caller may see it; otherwise 404, as the real service answers."""
    dataset = records.dataset(dataset_id) if is_object_id(dataset_id) else None  # malformed ids: 404 too
    if dataset is None or not can_read(user, dataset):
        raise not_found(f"dataset {dataset_id}")
    return dataset


def organization_dataset(records: Records, user: User, organization_id: str, dataset_id: str) -> DatasetRecord:
    """A writable dataset named with an organization in the path (file upload URLs).

    Access is checked against the dataset's own organization; the path's is only
    recorded, so clients that send their own organization id work too (cloud-api §9).
    """
    del organization_id  # recorded in the request log with the path
    return writable_dataset(records, user, dataset_id)


def writable_dataset(records: Records, user: User, dataset_id: str) -> DatasetRecord:
    """Read access first (404), then write access: members of its organization only (403), admins included."""
    dataset = readable_dataset(records, user, dataset_id)
    if user.member_of(dataset.organization_id) is None:
        raise forbidden(f"dataset {dataset_id} belongs to another organization")
    return dataset
