"""``ndi-cloud documents ...`` and ``ndi-cloud files ...``: what a cloud dataset holds."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..api import datasets, documents, files
from .connection import DatasetArg, JsonOpt, connect
from .output import console, fail, print_json
from .queryopts import DependsOnOpt, IsaOpt, WhereOpt, query_from_options

app = typer.Typer(help="Documents in NDI Cloud: count and query.", no_args_is_help=True)
files_app = typer.Typer(help="Binary files of cloud datasets.", no_args_is_help=True)


@app.command()
def count(
    dataset_id: DatasetArg,
    include_deleted: Annotated[bool, typer.Option("--include-deleted", help="Count soft-deleted ones too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """How many documents a cloud dataset holds."""
    with connect() as client:
        n = datasets.document_count(dataset_id, include_deleted=include_deleted, client=client)
    if as_json:
        print_json({"datasetId": dataset_id, "count": n})
    else:
        console.print(str(n))


@app.command()
def query(
    scope: Annotated[str, typer.Argument(help="public, private, all, or dataset ids separated by commas.")],
    isa: IsaOpt = [],  # noqa: B006
    where: WhereOpt = [],  # noqa: B006
    depends_on: DependsOnOpt = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Find documents in NDI Cloud with NDI queries (all conditions must hold)."""
    if not (isa or where or depends_on):
        raise fail("give at least one condition (--isa, --where or --depends-on)")
    search = query_from_options(isa, where, depends_on)
    with connect() as client:
        found = list(documents.iter_ndiquery(scope, search, client=client))
    if as_json:
        print_json({"count": len(found), "query": search.to_structure(), "documents": [s.raw for s in found]})
        return
    table = Table("id", "ndi id", "class", "name", "dataset", title=f"{len(found)} documents")
    for s in found:
        table.add_row(s.id, s.ndi_id, s.class_name, s.name, s.dataset_id or "")
    console.print(table)


@files_app.command("list")
def list_files(dataset_id: DatasetArg, as_json: JsonOpt = False) -> None:
    """The binary files a cloud dataset holds."""
    with connect() as client:
        entries = files.list_files(dataset_id, client=client)
    if as_json:
        print_json([{"uid": e.uid, "uploaded": e.uploaded, "size": e.size, "sourceDatasetId": e.source_dataset_id}
                    for e in entries])
        return
    table = Table("uid", "uploaded", "size", title=f"{len(entries)} files")
    for e in entries:
        table.add_row(e.uid, "yes" if e.uploaded else "no", "" if e.size is None else str(e.size))
    console.print(table)
