"""``ndi-cloud server``: run the local NDI Cloud server and set up its accounts."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from .output import console, fail

app = typer.Typer(help="Run the local NDI Cloud server (same API as NDI Cloud, on this machine).",
                  no_args_is_help=True)

DataOpt = Annotated[Path, typer.Option("--data", help="Folder holding the server's records and files.")]
DEFAULT_DATA = Path("ndi-cloud-data")


@app.command()
def start(
    data: DataOpt = DEFAULT_DATA,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of login tokens, in seconds.")] = 3600,
    faults: Annotated[str | None, typer.Option(
        "--faults", envvar="NDI_CLOUD_FAULTS",
        help="Fault injection for testing, e.g. 'seed=3,error_rate=0.1,latency_s=0.05' (off by default).")] = None,
) -> None:
    """Serve the API at http://HOST:PORT/v1 until interrupted."""
    from ..server import ServerConfig
    from ..server.runner import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    console.print(f"NDI Cloud (local) at http://{host}:{port}/v1, data in {data}", highlight=False)
    if faults is not None:
        console.print(f"fault injection ON: {faults}", highlight=False)
    serve(ServerConfig(data_dir=data, host=host, port=port, token_ttl_s=token_ttl, faults=faults))


@app.command("add-user")
def add_user_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login name).")],
    org: Annotated[str, typer.Option("--org", help="Organization to make them a member of (created if new).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="May publish and unpublish any dataset.")] = False,
    can_upload: Annotated[bool, typer.Option(help="May create datasets in the organization.")] = True,
    existing: Annotated[bool, typer.Option("--existing", help="The user exists: add this membership only.")] = False,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Create a user (and their organization) directly in the server's records, or add a membership."""
    from ..server.accounts import AccountError, add_membership, add_user
    from ..server.records import Records

    if existing:
        try:
            seeded = add_membership(Records(data), email, org, can_upload=can_upload)
        except AccountError as exc:
            raise fail(str(exc)) from exc
        console.print(f"user {email} is now also in organization {org} ({seeded.organization_id})", highlight=False)
        return
    if not password_stdin:
        raise fail("give the password on standard input with --password-stdin (never on the command line)")
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        seeded = add_user(Records(data), email, password, org, is_admin=admin, can_upload=can_upload)
    except AccountError as exc:
        raise fail(str(exc)) from exc
    console.print(f"user {seeded.user.email} ({seeded.user.id}) in organization {org} "
                  f"({seeded.organization_id})", highlight=False)
