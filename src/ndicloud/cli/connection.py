"""How cloud commands reach NDI Cloud: one client per command, errors turned into one clear line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from ..api import CloudClient, CloudError
from .output import fail

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DatasetArg = Annotated[str, typer.Argument(help="Cloud dataset id (24 hexadecimal digits).")]

_settings: dict[str, str | None] = {"url": None}


def set_base_url(url: str | None) -> None:
    """The root ``--url`` option: overrides NDI_CLOUD_URL and CLOUD_API_ENVIRONMENT for this command."""
    _settings["url"] = url


@contextmanager
def cloud_errors() -> Iterator[None]:
    """Report an NDI Cloud failure as one line on stderr and exit 1 (no traceback)."""
    try:
        yield
    except CloudError as exc:
        raise fail(str(exc)) from None


@contextmanager
def connect() -> Iterator[CloudClient]:
    """A client set up from the environment (and ``--url``), closed afterwards; failures reported cleanly."""
    with cloud_errors():
        overrides = {"base_url": _settings["url"]} if _settings["url"] else {}
        client = CloudClient.from_environment(**overrides)
        try:
            yield client
        finally:
            client.close()
