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
    temporary: Annotated[bool, typer.Option(
        "--temporary", help="Keep records and files in a fresh temporary folder, removed at exit (ignores --data).")
    ] = False,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    public_url: Annotated[str | None, typer.Option(
        help="Base of presigned storage URLs when clients reach the server through a proxy.")] = None,
    token_ttl: Annotated[int, typer.Option(help="Lifetime of login tokens, in seconds.")] = 3600,
    url_ttl: Annotated[int, typer.Option(help="Lifetime of presigned storage URLs, in seconds.")] = 3600,
    password_min_length: Annotated[int, typer.Option(help="Shortest password accepted at sign-up.")] = 8,
    delay: Annotated[float | None, typer.Option(
        help="Seconds every deferred step waits (file registration, zip work, publish, undelete, compute "
             "stages); 0 makes them immediate. Default: delays like the hosted service's.")] = None,
    faults: Annotated[str | None, typer.Option(
        "--faults", envvar="NDI_CLOUD_FAULTS",
        help="Fault injection for testing, e.g. 'seed=3,error_rate=0.1,latency_s=0.05' (off by default).")] = None,
) -> None:
    """Serve the API at http://HOST:PORT/v1 until interrupted."""
    import contextlib
    import dataclasses
    import tempfile

    from ..server import ServerConfig
    from ..server.runner import serve

    for name, value in (("--token-ttl", token_ttl), ("--url-ttl", url_ttl),
                        ("--password-min-length", password_min_length)):
        if value < 1:
            raise fail(f"{name} must be at least 1, not {value}")
    if delay is not None and delay < 0:
        raise fail(f"--delay cannot be negative ({delay})")
    delay_fields = [f.name for f in dataclasses.fields(ServerConfig) if f.name.endswith("_delay_s")]
    delays = {} if delay is None else dict.fromkeys(delay_fields, delay)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="ndi-cloud-server-") if temporary else contextlib.nullcontext() as scratch:
        folder = Path(scratch) if scratch else data
        config = ServerConfig(data_dir=folder, host=host, port=port, public_url=public_url, token_ttl_s=token_ttl,
                              url_ttl_s=url_ttl, password_min_length=password_min_length, faults=faults, **delays)
        console.print(f"NDI Cloud (local) at http://{host}:{port}/v1, data in {folder}"
                      + (" (temporary)" if temporary else ""), highlight=False, soft_wrap=True)
        if faults is not None:
            console.print(f"fault injection ON: {faults}", highlight=False)
        serve(config)


@app.command("add-user")
def add_user_command(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login name).")],
    org: Annotated[str, typer.Option("--org", help="Organization to make them a member of (created if new).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    admin: Annotated[bool, typer.Option("--admin", help="May publish and unpublish any dataset.")] = False,
    can_upload: Annotated[bool, typer.Option(help="May create datasets in the organization.")] = True,
    can_compute: Annotated[bool, typer.Option(help="May start compute sessions.")] = True,
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
        seeded = add_user(Records(data), email, password, org, is_admin=admin, can_upload=can_upload,
                          can_compute=can_compute)
    except AccountError as exc:
        raise fail(str(exc)) from exc
    console.print(f"user {seeded.user.email} ({seeded.user.id}) in organization {org} "
                  f"({seeded.organization_id})", highlight=False)
