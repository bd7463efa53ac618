"""Setting up accounts without the API (for deployments and CI, cloud-api §10.1)."""

from __future__ import annotations

from dataclasses import dataclass

from .records import Records, User
from .security import hash_password


class AccountError(ValueError):
    """An account cannot be set up as asked (duplicate e-mail, weak password)."""


@dataclass(frozen=True)
class SeededUser:
    user: User
    organization_id: str


def add_membership(records: Records, email: str, organization: str, *, can_upload: bool = True) -> SeededUser:
    """Make an existing user a member of ``organization`` too (created if new)."""
    user = records.user_by_email(email)
    if user is None:
        raise AccountError(f"no user with e-mail {email}")
    organization_id = records.organization(organization)
    records.add_membership(user.id, organization_id, can_upload=can_upload)
    refreshed = records.user_by_id(user.id)
    assert refreshed is not None
    return SeededUser(refreshed, organization_id)


def add_user(records: Records, email: str, password: str, organization: str, *, name: str | None = None,
             is_admin: bool = False, can_upload: bool = True, can_compute: bool = True,
             min_password_length: int = 8) -> SeededUser:
    """Create a user with a password and make them a member of ``organization`` (created if new)."""
    if "@" not in email:
        raise AccountError(f"{email!r} is not an e-mail address")
    if len(password) < min_password_length:
        raise AccountError(f"the password must have at least {min_password_length} characters")
    if records.user_by_email(email) is not None:
        raise AccountError(f"a user with e-mail {email} exists already; add them to an organization with "
                           "--existing")
    user = records.add_user(email, name or email.split("@")[0], hash_password(password), is_admin=is_admin,
                            can_compute=can_compute)
    organization_id = records.organization(organization)
    records.add_membership(user.id, organization_id, can_upload=can_upload)
    refreshed = records.user_by_id(user.id)
    assert refreshed is not None
    return SeededUser(refreshed, organization_id)
