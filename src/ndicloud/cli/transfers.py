"""``ndi-cloud upload`` and ``ndi-cloud download``: whole datasets, verified, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..core import NdiError
from ..download import download_dataset
from ..transfers import StateLockedError, TransferReport
from ..transfers.zips import UnsafeZipError
from ..upload import upload_dataset
from .connection import DatasetArg, JsonOpt, connect
from .output import console, error_console, fail, print_json

WorkersOpt = Annotated[int, typer.Option("--workers", min=1, max=16, help="Concurrent file transfers.")]
ChunkOpt = Annotated[int, typer.Option("--document-chunk", min=1, help="Documents per bulk zip or download.")]


def _finish(report: TransferReport, as_json: bool) -> None:
    if as_json:
        print_json(report.json())
    else:
        console.print(report.message, highlight=False, soft_wrap=True, markup=False)
        for item in report.failures[:20]:
            error_console.print(f"  {item.kind} {item.key}: {item.detail or item.action}", highlight=False,
                                soft_wrap=True, markup=False)
    if not report.success:
        raise typer.Exit(1)


def upload(
    path: Annotated[Path, typer.Argument(help="Dataset folder (the one holding .ndi/).")],
    new: Annotated[str | None, typer.Option("--new", help="Create a new cloud dataset with this name.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Upload into this cloud dataset id.")] = None,
    workers: WorkersOpt = 4,
    document_chunk: ChunkOpt = 2000,
    serial_files: Annotated[bool, typer.Option("--serial-files", help="One upload per file, no zips.")] = False,
    allow_missing_files: Annotated[bool, typer.Option("--allow-missing-files",
                                                      help="Skip referenced files missing here.")] = False,
    ingest_timeout: Annotated[float, typer.Option("--ingest-timeout", min=0,
                                                  help="Seconds to wait for the cloud to list uploads.")] = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Upload a dataset (documents and files); a second run resumes and sends only what is missing."""
    if new and dataset:
        raise fail("give --new NAME or --dataset ID, not both")
    with connect() as client:
        try:
            report = upload_dataset(path, dataset, name=new, workers=workers, document_chunk=document_chunk,
                                    file_upload_strategy="serial" if serial_files else "batch",
                                    allow_missing_files=allow_missing_files, ingest_timeout_s=ingest_timeout,
                                    verbose=not as_json, client=client)
        except (NdiError, StateLockedError, OSError) as exc:
            raise fail(str(exc)) from None
    _finish(report, as_json)


def download(
    dataset_id: DatasetArg,
    target: Annotated[Path, typer.Argument(help="Folder to download into (the dataset goes in TARGET/ID).")],
    files: Annotated[bool, typer.Option("--files", help="Download the binary files too (else fetched on use).")
                     ] = False,
    workers: WorkersOpt = 4,
    document_chunk: ChunkOpt = 2000,
    as_json: JsonOpt = False,
) -> None:
    """Download a cloud dataset; a second run resumes and fetches only what is missing."""
    with connect() as client:
        try:
            report = download_dataset(dataset_id, target, sync_files=files, workers=workers,
                                      document_chunk=document_chunk, verbose=not as_json, client=client)
        except (NdiError, StateLockedError, UnsafeZipError, OSError) as exc:
            raise fail(str(exc)) from None
    _finish(report, as_json)
