"""``ndi-cloud local``: inspect and edit NDI datasets on disk (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ..core import Dataset, Document, NdiError
from ..core.errors import InvalidDocumentError
from .output import console, fail, print_json
from .queryopts import DependsOnOpt, IsaOpt, WhereOpt, query_from_options

app = typer.Typer(help="Inspect and edit NDI datasets on this disk (no network).", no_args_is_help=True)

PathArg = Annotated[Path, typer.Argument(help="Dataset folder (the one holding .ndi/).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]


def dataset_summary(dataset: Dataset) -> dict[str, Any]:
    """What ``local info`` reports, as plain data."""
    binaries = dataset.binaries()
    link = dataset.remote_link()
    return {
        "path": str(dataset.path),
        "id": dataset.id,
        "reference": dataset.reference,
        "object_type": dataset.object_type,
        "documents": {"total": dataset.count(), "by_class": dataset.count_by_class()},
        "files": {
            "present": sum(1 for b in binaries if b.present),
            "missing": sum(1 for b in binaries if not b.present),
        },
        "sessions": [
            {"session_id": s.session_id, "reference": s.reference, "is_linked": s.is_linked}
            for s in dataset.member_sessions()
        ],
        "remote": None if link is None else {"dataset_id": link.dataset_id, "organization_id": link.organization_id},
    }


def show_summary(summary: dict[str, Any]) -> None:
    console.print(f"[bold]{summary['reference']}[/]  {summary['id']}  ({summary['object_type']})")
    console.print(f"path: {summary['path']}", highlight=False)
    remote = summary["remote"]
    console.print("cloud: " + (f"dataset {remote['dataset_id']}" if remote else "not linked"))
    table = Table("class", "documents", title=f"{summary['documents']['total']} documents")
    for name, n in summary["documents"]["by_class"].items():
        table.add_row(name, str(n))
    console.print(table)
    files = summary["files"]
    console.print(f"files: {files['present']} present, {files['missing']} missing")
    for s in summary["sessions"]:
        console.print(f"session {s['session_id']}  {s['reference']}" + ("  (linked)" if s["is_linked"] else ""))


def _open(path: Path, readonly: bool = True) -> Dataset:
    try:
        return Dataset.open(path, readonly=readonly)
    except NdiError as exc:
        raise fail(str(exc)) from exc


@app.command()
def info(path: PathArg, as_json: JsonOpt = False) -> None:
    """Show a dataset's id, reference, documents by class, and files present or missing."""
    with _open(path) as dataset:
        try:
            summary = dataset_summary(dataset)
        except NdiError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json(summary)
    else:
        show_summary(summary)


@app.command()
def find(
    path: PathArg,
    isa: IsaOpt = [],  # noqa: B006
    where: WhereOpt = [],  # noqa: B006
    depends_on: DependsOnOpt = [],  # noqa: B006
    as_json: JsonOpt = False,
) -> None:
    """Search a dataset with NDI queries (all conditions must hold)."""
    query = query_from_options(isa, where, depends_on)
    with _open(path) as dataset:
        try:
            docs = dataset.search(query)
        except NdiError as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json({"count": len(docs), "query": query.to_structure(), "documents": [d.properties for d in docs]})
        return
    table = Table("id", "class", "name", "session", title=f"{len(docs)} documents")
    for doc in docs:
        table.add_row(doc.id, doc.class_name, doc.name, doc.session_id)
    console.print(table)


def _file_sources(docs: list[Document], specs: list[str]) -> dict[str, Path]:
    """Map ``NAME=PATH`` (NAME a file name or a uid) to the uid it supplies bytes for."""
    sources: dict[str, Path] = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep or not name or not target:
            raise InvalidDocumentError(f"--file takes NAME=PATH, got {spec!r}")
        path = Path(target)
        if not path.is_file():
            raise InvalidDocumentError(f"--file {name}: {path} is not a file")
        uids = [loc["uid"] for doc in docs for info in doc.file_info for loc in info["locations"]
                if name in (info.get("name"), loc.get("uid"))]
        if len(uids) != 1:
            where = "no document being added has" if not uids else f"{len(uids)} locations have"
            raise InvalidDocumentError(f"--file {name}: {where} a file named {name!r}; name it by uid instead")
        sources[uids[0]] = path
    return sources


@app.command()
def add(
    path: PathArg,
    documents: Annotated[list[Path], typer.Argument(help="Document JSON files (e.g. exported from MATLAB).")],
    file: Annotated[
        list[str], typer.Option("--file", help="NAME=PATH: bytes for a document's file (NAME = file name or uid).")
    ] = [],  # noqa: B006
    replace: Annotated[bool, typer.Option(help="Replace documents whose id is already present.")] = False,
    allow_foreign_sessions: Annotated[
        bool, typer.Option(help="Accept documents of sessions that are not members of this dataset.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate documents written as JSON and add them in one transaction (all or nothing)."""
    try:
        docs = [Document.from_file(p) for p in documents]
        sources = _file_sources(docs, file)
    except NdiError as exc:
        raise fail(str(exc)) from exc
    with _open(path, readonly=False) as dataset:
        try:
            added = dataset.add_documents(docs, replace=replace, file_sources=sources,
                                          allow_foreign_sessions=allow_foreign_sessions)
        except NdiError as exc:
            raise fail(f"nothing was added: {exc}") from exc
    if as_json:
        print_json({"added": added, "ids": [d.id for d in docs]})
    else:
        console.print(f"added {added} document(s) to {path}", highlight=False)


@app.command()
def export(
    path: PathArg,
    outdir: Annotated[Path, typer.Argument(help="Folder to write <id>.json files into (created if needed).")],
    as_json: JsonOpt = False,
) -> None:
    """Write every document as MATLAB-style JSON, one file per document."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = 0
    with _open(path) as dataset:
        try:
            for doc in dataset.documents():
                (outdir / f"{doc.id}.json").write_text(doc.to_json(), encoding="utf-8")
                written += 1
        except NdiError as exc:
            raise fail(f"{exc} ({written} documents were exported before this)") from exc
    if as_json:
        print_json({"exported": written, "outdir": str(outdir)})
    else:
        console.print(f"exported {written} document(s) to {outdir}", highlight=False)
