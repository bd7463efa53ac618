"""``ndi-cloud doi ...``: build deposit XML, register a dataset's DOI with Crossref, check a submission."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..admin import (
    CrossrefClient,
    DoiError,
    DoiUsageError,
    MissingCredentials,
    RegistrationResult,
    SubmissionPending,
    SubmissionStatus,
    check_submission,
    deposit_xml,
    finish_registration,
    register_dataset_doi,
)
from ..metadata import MetadataValidationError
from .connection import DatasetArg, JsonOpt, connect
from .output import error_console, fail, print_json

app = typer.Typer(help="DOIs for published datasets, registered with Crossref.", no_args_is_help=True)

TestOpt = Annotated[bool, typer.Option("--test", help="Use Crossref's test system (test.crossref.org); test DOIs "
                                                      "never resolve and are never stored on the dataset.")]
SchemaOpt = Annotated[Path | None, typer.Option("--schema-dir", help="Folder of the Crossref 5.3.1 XSD set "
                                                                      "(default: CROSSREF_SCHEMA_DIR).")]
ReceiptsOpt = Annotated[Path | None, typer.Option("--receipts", help="Folder for registration receipts (default: "
                                                                      "ndi-cloud/doi-receipts in the user state "
                                                                      "folder).")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0, help="Seconds to wait for Crossref to finish.")]
PollOpt = Annotated[float, typer.Option("--poll-interval", min=0, help="Seconds before the first status check "
                                                                       "(then doubling, up to 60).")]
EXIT_PENDING = 2


def _warn(lines: list[str]) -> None:
    for line in lines:
        error_console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


@contextmanager
def _doi_errors() -> Iterator[None]:
    """DOI and metadata failures as a clear message and a non-zero exit (2 for options that do not go together and
    for a deposit still pending, else 1)."""
    try:
        yield
    except MissingCredentials as exc:
        raise fail(str(exc)) from None
    except (DoiUsageError, SubmissionPending) as exc:
        raise fail(str(exc), code=EXIT_PENDING) from None
    except (DoiError, MetadataValidationError) as exc:
        raise fail(str(exc)) from None


def _summary(result: RegistrationResult) -> list[str]:
    lines = [f"dataset   {result.dataset_id}",
             f"doi       {result.doi}" + ("  (not reserved: dry run)" if result.dry_run else ""),
             f"system    {result.system}", f"file      {result.file_name}", f"timestamp {result.timestamp}"]
    if result.output:
        lines.append(f"xml       {result.output}")
    if result.receipt:
        lines.append(f"receipt   {result.receipt}")
    if result.status is not None:
        lines.append(f"status    {result.status.state}: {result.status.success_count} success, "
                     f"{result.status.warning_count} warning, {result.status.failure_count} failure")
    if result.submitted and result.status is None:
        lines.append(f"status    queued; check with `ndi-cloud doi status {result.file_name}"
                     f"{' --test' if result.system == 'test' else ''} --wait`")
    if not result.dry_run:
        lines.append("stored    " + ("yes" if result.stored else "no" + (" (test system)" if result.system == "test"
                                                                           else "")))
    return lines


@app.command("deposit-xml")
def deposit_xml_command(
    dataset_id: DatasetArg,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the XML here (default: print it).")
                      ] = None,
    update: Annotated[bool, typer.Option("--update", help="Re-deposit the dataset's existing NDI Cloud DOI.")
                      ] = False,
    schema_dir: SchemaOpt = None,
    receipts: ReceiptsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build and validate a dataset's deposit XML without sending it (its DOI is not reserved)."""
    with connect() as client, _doi_errors():
        result = deposit_xml(dataset_id, client=client, update=update, output=output, schema_dir=schema_dir,
                             receipts_dir=receipts)
    _warn(result.warnings)
    if as_json:
        print_json({**result.json(), "xml": None if output else result.xml.decode("utf-8")})
    elif output:
        typer.echo("\n".join(_summary(result)))
    else:
        typer.echo(result.xml.decode("utf-8"), nl=False)


@app.command()
def register(
    dataset_id: DatasetArg,
    test: TestOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build and validate only: nothing is sent, stored or "
                                                            "written except --output; no credentials needed.")
                       ] = False,
    force: Annotated[bool, typer.Option("--force", help="With --test only: register even if the dataset has a DOI, "
                                                        "is not published or is deleted.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Re-deposit the metadata of the dataset's NDI Cloud DOI.")
                      ] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for Crossref's verdict (then store the DOI).")
                    ] = True,
    timeout: TimeoutOpt = 900.0,
    poll_interval: PollOpt = 5.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Also write the deposit XML here.")] = None,
    schema_dir: SchemaOpt = None,
    receipts: ReceiptsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a DOI for a published dataset with Crossref and store it on the dataset."""
    if force and not test:
        raise fail("--force is accepted only together with --test", code=EXIT_PENDING)
    with connect() as client, _doi_errors():
        result = register_dataset_doi(dataset_id, client=client, test=test, dry_run=dry_run, force=force,
                                      update=update, wait=wait, timeout=timeout, output=output,
                                      schema_dir=schema_dir, receipts_dir=receipts, poll_interval=poll_interval)
    _warn(result.warnings)
    if as_json:
        print_json({**result.json(), "xml": result.xml.decode("utf-8") if dry_run and not output else None})
        return
    typer.echo("\n".join(_summary(result)))
    if dry_run and not output:
        typer.echo(result.xml.decode("utf-8"), nl=False)


def _status_lines(file_name: str, status: SubmissionStatus) -> list[str]:
    lines = [f"{file_name}: {status.state}" + (f" ({status.root_status})" if status.root_status else "")
             + (f", submission {status.submission_id}" if status.submission_id else "")]
    for record in status.records:
        lines.append(f"  {record.doi}: {record.status}: {record.message}"
                     + (f" (conflicts with {', '.join(record.conflicts)})" if record.conflicts else ""))
    if status.completed:
        lines.append(f"  {status.record_count} records: {status.success_count} success, {status.warning_count} "
                     f"warning, {status.failure_count} failure")
    return lines


@app.command()
def status(
    submission: Annotated[str, typer.Argument(help="The deposit's file_name (<doi_batch_id>.xml).")],
    test: TestOpt = False,
    wait: Annotated[bool, typer.Option("--wait", help="Poll until Crossref has finished.")] = False,
    contents: Annotated[bool, typer.Option("--contents", help="Print the XML Crossref holds instead of the log.")
                        ] = False,
    store: Annotated[str | None, typer.Option("--store", metavar="DATASET_ID",
                                              help="Once registered (production), store the DOI on this dataset.")
                     ] = None,
    timeout: TimeoutOpt = 900.0,
    poll_interval: PollOpt = 5.0,
    receipts: ReceiptsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A deposit's status at Crossref. Exit 0: completed without failure; 1: with a failure; 2: pending."""
    if store and test:
        raise fail("--store works only with the production system: test DOIs never resolve", code=EXIT_PENDING)
    with CrossrefClient(test=test) as crossref, _doi_errors():
        if contents:
            xml = crossref.fetch_contents(submission)
            if as_json:
                print_json({"fileName": submission, "contents": xml.decode("utf-8", "replace")})
            else:
                typer.echo(xml.decode("utf-8", "replace"), nl=False)
            return
        result = check_submission(submission, crossref=crossref, wait=wait, timeout=timeout,
                                  poll_interval=poll_interval)
        stored = None
        if store and result.completed and result.succeeded:
            with connect() as client:
                stored = finish_registration(submission, store, result, client=client, crossref=crossref,
                                             receipts_dir=receipts)
    if as_json:
        print_json({"fileName": submission, **result.json(), "stored": stored})
    else:
        typer.echo("\n".join(_status_lines(submission, result)))
        if stored:
            typer.echo(f"stored https://doi.org/{stored} on dataset {store}")
    if not result.completed:
        raise typer.Exit(EXIT_PENDING)
    if result.failure_count or not result.succeeded:
        raise typer.Exit(1)
