"""User endpoints (cloud-api §5.1 U1-U7): accounts and MATLAB licences for compute."""

from __future__ import annotations

from typing import Any

from .client import CloudClient, decode_json, resolve
from .models import User
from .paths import route


def create_user(email: str, name: str, password: str, *, client: CloudClient | None = None) -> User:
    """U1: sign up (no token sent); the account must be verified (A6) before it can log in."""
    body = resolve(client).json("POST", "/users", json={"email": email, "name": name, "password": password},
                                auth="none")
    return User.from_wire(body.get("user", body) if isinstance(body, dict) else {})


def me(*, client: CloudClient | None = None) -> User:
    """U2: the logged-in user, with organizations."""
    return User.from_wire(resolve(client).json("GET", "/users/me"))


def get_user(user_id: str, *, client: CloudClient | None = None) -> User:
    """U3: a user by id."""
    return User.from_wire(resolve(client).json("GET", route("users", user_id)))


LICENSE_ROUTE = "/users/me/matlab-license"


def get_matlab_license(*, client: CloudClient | None = None) -> dict[str, Any]:
    """U4: the licence status (``mode`` None or "" when nothing is registered)."""
    return resolve(client).json("GET", LICENSE_ROUTE)


def allocate_matlab_license(*, client: CloudClient | None = None) -> dict[str, Any]:
    """U5: allocate (or return) the dedicated network interface a dedicated licence is tied to."""
    return resolve(client).json("POST", LICENSE_ROUTE, content=b"", idempotent=True)


def register_matlab_license(license_text: str, *, release: str | None = None,
                            client: CloudClient | None = None) -> dict[str, Any]:
    """U6: a network licence (no release) or a dedicated one for ``release`` (e.g. R2024b)."""
    body = ({"networkLicenseFile": license_text} if release is None
            else {"dedicatedLicenseFile": license_text, "release": release})
    return resolve(client).json("PUT", LICENSE_ROUTE, json=body)


def clear_matlab_license(*, release: str | None = None, client: CloudClient | None = None) -> dict[str, Any] | None:
    """U7: remove one release's licence (the remaining status) or, without ``release``, all of them."""
    params = {"release": release} if release else None
    response = resolve(client).request("DELETE", LICENSE_ROUTE, params=params)
    if response.status_code in (204, 504) or not response.content.strip():
        return None  # all cleared (or, on 504, probably cleared)
    return decode_json(response.content)
