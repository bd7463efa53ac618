"""Entry point of the ``ndi-cloud`` command."""

from __future__ import annotations

import sys

import typer

from .. import __version__
from . import account, datasets, demo, documents, doi, local, metadata, server, sync, transfers
from .connection import set_base_url
from .queryopts import WHERE_SEPARATOR

app = typer.Typer(
    name="ndi-cloud",
    help="Move NDI datasets between this disk and NDI Cloud, keep them in sync, register DOIs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(local.app, name="local")
app.add_typer(server.app, name="server")
app.command()(account.login)
app.command()(account.logout)
app.command()(account.whoami)
app.command()(transfers.upload)
app.command()(transfers.download)
app.command(name="sync")(sync.sync_command)
app.command(name="diff")(sync.diff_command)
app.command(name="validate")(sync.validate_command)
app.command(name="duplicates")(sync.duplicates_command)
app.add_typer(datasets.app, name="datasets")
app.add_typer(documents.app, name="documents")
app.add_typer(documents.files_app, name="files")
app.add_typer(metadata.app, name="metadata")
app.add_typer(doi.app, name="doi")
app.command(name="demo")(demo.demo)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ndi-cloud {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    url: str | None = typer.Option(None, "--url", help="NDI Cloud API base URL, e.g. http://127.0.0.1:8787/v1 "
                                   "(default: NDI_CLOUD_URL, else CLOUD_API_ENVIRONMENT prod|dev, else production)."),
) -> None:
    """ndi-cloud command line."""
    set_base_url(url)


def group_where_tokens(argv: list[str]) -> list[str]:
    """Join each ``--where FIELD OP VALUE`` into one token for typer.

    typer options take a fixed number of values and cannot repeat a multi-value
    option, so the three values are grouped before parsing (see ``queryopts.split_where``).
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        following = argv[i + 1 : i + 4]
        if (token == "--where" and len(following) == 3 and not following[0].split()[1:]
                and not any(t.startswith("--") for t in following)):
            out += ["--where", WHERE_SEPARATOR.join(argv[i + 1 : i + 4])]
            i += 4
            continue
        out.append(token)
        i += 1
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the command line (``argv`` defaults to the process arguments)."""
    args = sys.argv[1:] if argv is None else argv
    app(args=group_where_tokens(args), prog_name="ndi-cloud")
