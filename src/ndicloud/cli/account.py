"""``ndi-cloud login | logout | whoami``: the account this machine uses for NDI Cloud."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import Annotated, Any

import typer
from rich.table import Table

from ..api import AuthError, users
from ..api.tokens import get_token_expiration
from .connection import JsonOpt, cloud_errors, connect
from .output import console, fail, print_json


def _organizations(user: Any) -> list[dict[str, Any]]:
    return [{"id": o.id, "name": o.name, "canUploadDataset": o.can_upload_dataset} for o in user.organizations]


def login(
    email: Annotated[str | None, typer.Option("--email", help="Your NDI Cloud e-mail (default: NDI_CLOUD_USERNAME, "
                                                               "else asked).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Log in and keep the token (in a file only you can read) for the commands that follow."""
    email = email or os.environ.get("NDI_CLOUD_USERNAME") or typer.prompt("E-mail")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("NDI_CLOUD_PASSWORD") or typer.prompt("Password", hide_input=True)
    if not password:
        raise fail("no password given")
    with connect() as client:
        client.login(email, password)
        user = users.me(client=client)
        organization = client.organization_id
        result = {"url": client.base_url, "email": user.email, "userId": user.id, "organizationId": organization,
                  "organizations": _organizations(user)}
    if as_json:
        print_json(result)
        return
    names = {o["id"]: o["name"] for o in result["organizations"]}
    console.print(f"logged in to {result['url']} as {user.email}; organization {names.get(organization, '?')} "
                  f"({organization})", highlight=False, soft_wrap=True)


def logout(as_json: JsonOpt = False) -> None:
    """Log out and forget the kept token."""
    with connect() as client:
        client.logout()
        url = client.base_url
    if as_json:
        print_json({"url": url, "loggedOut": True})
    else:
        console.print(f"logged out of {url}", highlight=False, soft_wrap=True)


def whoami(as_json: JsonOpt = False) -> None:
    """Who this machine is logged in as, and until when."""
    with connect() as client:
        try:
            user = users.me(client=client)
        except AuthError as exc:
            raise fail(f"not logged in to {client.base_url} ({exc}); run `ndi-cloud login`") from None
        with cloud_errors():
            expires = get_token_expiration(client.token() or "")
        result = {"url": client.base_url, "email": user.email, "userId": user.id, "name": user.name,
                  "isAdmin": user.is_admin, "organizations": _organizations(user),
                  "tokenExpires": (datetime.fromtimestamp(expires, timezone.utc).isoformat() if expires else None)}
    if as_json:
        print_json(result)
        return
    console.print(f"{user.email} ({user.name}) on {result['url']}" + ("  [admin]" if user.is_admin else ""),
                  highlight=False, soft_wrap=True, markup=False)
    table = Table("organization", "id", "can upload")
    for org in result["organizations"]:
        table.add_row(org["name"], org["id"], "yes" if org["canUploadDataset"] else "no")
    console.print(table)
    if result["tokenExpires"]:
        console.print(f"token valid until {result['tokenExpires']}", highlight=False)
