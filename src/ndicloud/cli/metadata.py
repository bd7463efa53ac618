"""``ndi-cloud metadata validate``: check a cloud dataset record or a MetadataEditor structure before use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..metadata import Issue, is_editor_structure, validate_dataset_metadata, validate_editor_metadata
from .connection import JsonOpt
from .output import fail, print_json

app = typer.Typer(help="Dataset metadata: check records and MetadataEditor structures.", no_args_is_help=True)


def read_metadata_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a clear one-line error (and exit 1) when it is missing or not an object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise fail(f"{path} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise fail(f"{path} holds a JSON {type(value).__name__}; dataset metadata is a JSON object")
    return value


def print_issues(issues: list[Issue], *, err: bool = False) -> None:
    """One ``field: message`` line per issue (warnings marked)."""
    for issue in issues:
        typer.echo(str(issue), err=err)


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A cloud dataset record, or a MetadataEditor structure (JSON).")],
    for_deposit: Annotated[bool, typer.Option("--for-deposit", help="Also apply the rules of a Crossref deposit "
                                                                     "(dataset id, license, contributors).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check dataset metadata: one `field: message` line per issue; exit 1 when any is an error."""
    value = read_metadata_file(path)
    editor = is_editor_structure(value)
    issues = validate_editor_metadata(value) if editor else validate_dataset_metadata(value,
                                                                                       for_deposit=for_deposit)
    errors = sum(1 for issue in issues if issue.is_error)
    if as_json:
        print_json({"file": str(path), "kind": "editor" if editor else "record", "valid": errors == 0,
                    "issues": [issue.json() for issue in issues]})
    else:
        print_issues(issues)
        if not errors:
            typer.echo(f"{path}: valid {'MetadataEditor structure' if editor else 'dataset record'}"
                       + (f" ({len(issues)} warning{'s' if len(issues) != 1 else ''})" if issues else ""))
    if errors:
        raise typer.Exit(1)
