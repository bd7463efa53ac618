"""Settings of DOI registration, read from the environment (doi.md §1.4); explicit arguments always win."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .constants import DEPOSITOR_EMAIL, ORGANIZATION, PRODUCTION_URL, TEST_URL
from .errors import MissingCredentials, SchemaUnavailable

USERNAME_VAR, PASSWORD_VAR = "CROSSREF_USERNAME", "CROSSREF_PASSWORD"
BASE_URL_VAR = "CROSSREF_BASE_URL"
SCHEMA_DIR_VAR = "CROSSREF_SCHEMA_DIR"
DEPOSITOR_NAME_VAR, DEPOSITOR_EMAIL_VAR = "CROSSREF_DEPOSITOR_NAME", "CROSSREF_DEPOSITOR_EMAIL"


@dataclass(frozen=True)
class Depositor:
    """The ``<depositor>`` of a deposit: who sent it, and where Crossref mails the log."""

    name: str = ORGANIZATION
    email: str = DEPOSITOR_EMAIL

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Depositor:
        env = os.environ if environ is None else environ
        return cls(env.get(DEPOSITOR_NAME_VAR) or ORGANIZATION, env.get(DEPOSITOR_EMAIL_VAR) or DEPOSITOR_EMAIL)


def crossref_base_url(*, test: bool, base_url: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Where deposits and status requests go: the argument, else ``CROSSREF_BASE_URL``, else Crossref's
    production or test host."""
    env = os.environ if environ is None else environ
    chosen = base_url or env.get(BASE_URL_VAR) or (TEST_URL if test else PRODUCTION_URL)
    return chosen.rstrip("/")


def crossref_credentials(username: str | None = None, password: str | None = None, *,
                         environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The Crossref login, from the arguments or ``CROSSREF_USERNAME``/``CROSSREF_PASSWORD``; an error naming both
    variables when either is missing."""
    env = os.environ if environ is None else environ
    user = username or env.get(USERNAME_VAR)
    secret = password or env.get(PASSWORD_VAR)
    if not user or not secret:
        raise MissingCredentials(f"Crossref credentials are missing: set {USERNAME_VAR} and {PASSWORD_VAR} "
                                 "(or use --dry-run, which needs neither)")
    return user, secret


def schema_directory(schema_dir: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Path:
    """The folder holding ``crossref5.3.1.xsd``: the argument, else ``CROSSREF_SCHEMA_DIR``. Never downloaded."""
    env = os.environ if environ is None else environ
    chosen = schema_dir or env.get(SCHEMA_DIR_VAR)
    if not chosen:
        raise SchemaUnavailable(f"no Crossref schema folder: set {SCHEMA_DIR_VAR} to the folder holding "
                                "crossref5.3.1.xsd (the schema is never fetched from the network)")
    path = Path(chosen).expanduser()
    if not (path / "crossref5.3.1.xsd").is_file():
        raise SchemaUnavailable(f"{path} has no crossref5.3.1.xsd; point {SCHEMA_DIR_VAR} at the folder of the "
                                "Crossref 5.3.1 schema set")
    return path.resolve()


def receipts_directory(receipts_dir: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> Path:
    """Where registration receipts are kept: the argument, else ``ndi-cloud/doi-receipts`` in the user state
    folder (``XDG_STATE_HOME``, ``~/.local/state``, or ``LOCALAPPDATA`` on Windows)."""
    if receipts_dir is not None:
        return Path(receipts_dir).expanduser()
    env = os.environ if environ is None else environ
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        base = Path(env["LOCALAPPDATA"])
    else:
        base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "ndi-cloud" / "doi-receipts"
