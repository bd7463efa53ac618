"""``ndi-cloud datasets ...``: list, show, create, delete, submit, publish and unpublish cloud datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..api import Backoff, Dataset, datasets, waiters
from ..metadata import MetadataValidationError, dataset_creation_body
from .connection import DatasetArg, JsonOpt, connect
from .metadata import print_issues, read_metadata_file
from .output import console, fail, print_json

app = typer.Typer(help="Cloud datasets: list, show, create, delete, submit, publish.", no_args_is_help=True)


def _size(value: int | None) -> str:
    if value is None:
        return ""
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000  # type: ignore[assignment]
    return ""


def _table(items: list[Dataset], title: str) -> Table:
    table = Table("id", "name", "documents", "size", "published", title=title)
    for d in items:
        table.add_row(d.id, d.name, "" if d.document_count is None else str(d.document_count), _size(d.total_size),
                      "yes" if d.is_published else "no")
    return table


@app.command("list")
def list_command(
    published: Annotated[bool, typer.Option("--published", help="The public catalogue instead of your own.")] = False,
    org: Annotated[str | None, typer.Option("--org", help="Organization id (default: your first).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Datasets of your organization, or the published catalogue."""
    with connect() as client:
        items = list(datasets.iter_published_datasets(client=client) if published
                     else datasets.iter_datasets(organization_id=org, client=client))
    if as_json:
        print_json([d.raw for d in items])
    else:
        console.print(_table(items, f"{len(items)} {'published ' if published else ''}datasets"))


@app.command()
def show(dataset_id: DatasetArg, as_json: JsonOpt = False) -> None:
    """One dataset's record."""
    with connect() as client:
        dataset = datasets.get_dataset(dataset_id, client=client)
    if as_json:
        print_json(dataset.raw)
        return
    table = Table("field", "value", show_header=False, title=dataset.name)
    for key in ("_id", "organizationId", "branchName", "abstract", "doi", "license", "documentCount", "totalSize",
                "isSubmitted", "isPublished", "createdAt", "updatedAt", "uploadedAt"):
        if dataset.raw.get(key) not in (None, ""):
            table.add_row(key, str(dataset.raw[key]))
    files = dataset.files
    table.add_row("files", f"{len(files)} ({sum(1 for f in files if f.uploaded)} uploaded)")
    console.print(table)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="The new dataset's name.")],
    org: Annotated[str | None, typer.Option("--org", help="Organization id (default: your first).")] = None,
    abstract: Annotated[str | None, typer.Option("--abstract", help="A short description.")] = None,
    metadata_file: Annotated[Path | None, typer.Option("--metadata", help="Metadata JSON: a cloud dataset record "
                                                                          "or a MetadataEditor structure.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an empty dataset; prints its id."""
    body: dict[str, Any] = {}
    if metadata_file is not None:
        try:
            body, warnings = dataset_creation_body(read_metadata_file(metadata_file), name=name)
        except MetadataValidationError as exc:
            raise fail(str(exc)) from None
        print_issues(warnings, err=True)
    if abstract:
        body["abstract"] = abstract
    with connect() as client:
        dataset_id = datasets.create_dataset(name, organization_id=org, metadata=body or None, client=client)
    if as_json:
        print_json({"id": dataset_id, "name": name})
    else:
        console.print(dataset_id, highlight=False)


@app.command()
def delete(
    dataset_id: DatasetArg,
    when: Annotated[str, typer.Option("--when", help="When it is removed for good: now, or e.g. 7d, 24h, 30m; "
                                                     "until then it can be undeleted.")] = "7d",
    as_json: JsonOpt = False,
) -> None:
    """Delete a dataset (soft: pruned after --when)."""
    with connect() as client:
        confirmed = datasets.delete_dataset(dataset_id, when=when, client=client)
    if as_json:
        print_json({"id": dataset_id, "when": when, "confirmed": confirmed})
    elif confirmed:
        console.print(f"dataset {dataset_id} deleted" + ("" if when == "now" else f"; removed for good in {when}"),
                      highlight=False)
    else:
        console.print(f"dataset {dataset_id}: the service timed out; the deletion is probably done (check "
                      "`ndi-cloud datasets list`)", highlight=False)


WaitOpt = Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until the change shows.")]


def _publication(dataset_id: str, publish: bool, wait: bool, as_json: bool) -> None:
    with connect() as client:
        (datasets.publish_dataset if publish else datasets.unpublish_dataset)(dataset_id, client=client)
        if wait:
            waiters.wait_for_published(dataset_id, published=publish, client=client,
                                       backoff=Backoff(first_s=0.25, cap_s=1.0, timeout_s=180.0))
    state = "published" if publish else "unpublished"
    if as_json:
        print_json({"id": dataset_id, "requested": state, "confirmed": wait})
    else:
        console.print(f"dataset {dataset_id} {state}" if wait else f"dataset {dataset_id}: {state[:-2]} requested",
                      highlight=False)


@app.command()
def submit(dataset_id: DatasetArg, as_json: JsonOpt = False) -> None:
    """Submit a dataset for review before publication."""
    with connect() as client:
        datasets.submit_dataset(dataset_id, client=client)
    if as_json:
        print_json({"id": dataset_id, "submitted": True})
    else:
        console.print(f"dataset {dataset_id} submitted", highlight=False)


@app.command()
def publish(dataset_id: DatasetArg, wait: WaitOpt = True, as_json: JsonOpt = False) -> None:
    """Publish a dataset (administrators)."""
    _publication(dataset_id, True, wait, as_json)


@app.command()
def unpublish(dataset_id: DatasetArg, wait: WaitOpt = True, as_json: JsonOpt = False) -> None:
    """Withdraw a published dataset (administrators)."""
    _publication(dataset_id, False, wait, as_json)
