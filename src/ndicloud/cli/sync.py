"""``ndi-cloud sync``, ``diff``, ``validate`` and ``duplicates``: keep a local dataset and its cloud copy in step.

Human output is a compact table (a dry run's plan, or a summary of what was verified done); ``--json`` prints
the whole report. The exit code is 1 when anything failed or a conflict is left unresolved, so scripts can
rely on it; 2 when the command line itself is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from ..api import CloudClient
from ..core import Dataset, NdiError
from ..sync import (
    CONFLICT_POLICIES,
    DocumentDifference,
    SyncMode,
    SyncOptions,
    document_difference,
    find_duplicates,
    remove_duplicates,
    sync_dataset,
    validate,
)
from ..sync.engine import DOWNLOADING
from ..sync.plan import ACTIONS
from ..transfers import StateLockedError, TransferReport
from .connection import JsonOpt, connect
from .output import console, error_console, fail, print_json
from .transfers import ChunkOpt, WorkersOpt

SHOWN_IDS = 10  # ids listed per row of a table; --json lists them all
SHOWN_FAILURES = 20

PathArg = Annotated[Path, typer.Argument(help="Dataset folder (the one holding .ndi/).")]
CloudIdOpt = Annotated[str | None, typer.Option(
    "--dataset", help="Cloud dataset id to use instead of the one PATH is linked to.")]
MODE_HELP = "download_new, upload_new, mirror_to_remote, mirror_from_remote or two_way_sync (dashes work too)."


# -- checks ------------------------------------------------------------------------------------------------


def _parse_mode(value: str) -> SyncMode:
    """The mode named on the command line, or a usage error (exit 2) listing the valid names."""
    try:
        return SyncMode.parse(value)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None


def _unused_flags(mode: SyncMode, *, files: bool, conflict: str | None, propagate_deletions: bool,
                  update_changed: bool) -> list[str]:
    """Flags given for a mode they have no effect in: refused rather than silently ignored."""
    two_way = mode is SyncMode.TWO_WAY_SYNC
    mirror = mode in (SyncMode.MIRROR_TO_REMOTE, SyncMode.MIRROR_FROM_REMOTE)
    given = {"--conflict": conflict is not None and not two_way,
             "--propagate-deletions": propagate_deletions and not two_way,
             "--no-update-changed": not update_changed and not mirror,
             "--files": files and mode not in DOWNLOADING}  # uploads always send files
    return [flag for flag, unused in given.items() if unused]


def _options(**fields: Any) -> SyncOptions:
    """SyncOptions from the flags; an out-of-range value is a usage error (exit 2) naming it."""
    try:
        return SyncOptions(**fields)
    except ValueError as exc:
        raise fail(str(exc), code=2) from None


def _check_dataset(path: Path) -> None:
    """Fail early, naming the folder, when PATH is not a dataset (before anything is written beside it)."""
    try:
        Dataset.open(path).close()
    except (NdiError, OSError) as exc:
        raise fail(str(exc)) from None


def _linked_cloud_id(path: Path | None, cloud_dataset_id: str | None) -> str:
    """The cloud dataset PATH is linked to (--dataset must agree), or --dataset's when PATH is unlinked or not
    given; a clear error when there is neither, or they disagree."""
    if path is None:
        if not cloud_dataset_id:
            raise fail("give a dataset folder PATH (linked to a cloud dataset) or --dataset ID", code=2)
        return cloud_dataset_id
    try:
        with Dataset.open(path) as dataset:
            link = dataset.remote_link()
    except (NdiError, OSError) as exc:
        raise fail(str(exc)) from None
    if link is None:
        if cloud_dataset_id:
            return cloud_dataset_id
        raise fail(f"{path} is not linked to a cloud dataset; upload it first (ndi-cloud upload) or give --dataset ID")
    if cloud_dataset_id and cloud_dataset_id != link.dataset_id:
        raise fail(f"{path} is linked to cloud dataset {link.dataset_id}, not {cloud_dataset_id}")
    return link.dataset_id


# -- tables ------------------------------------------------------------------------------------------------


def _id_lines(ids: Iterable[str], why: Mapping[str, str] | None = None, limit: int = SHOWN_IDS) -> Text:
    """Up to ``limit`` ids, one a line with the reason where there is one, then "… and N more"."""
    listed = list(ids)
    why = why or {}
    lines = [f"{i}  ({why[i]})" if why.get(i) else i for i in listed[:limit]]
    if len(listed) > limit:
        lines.append(f"… and {len(listed) - limit} more (--json lists all)")
    return Text("\n".join(lines))


def plan_table(plan: Mapping[str, Any]) -> Table:
    """A sync plan (``SyncPlan.json()``) as rows of action | count | ids; empty actions left out."""
    notes = plan.get("notes", {})
    rows: list[tuple[str, list[str], Mapping[str, str]]] = [
        (name.replace("_", " "), plan.get(name, []), notes) for name in ACTIONS]
    conflicts, missing = plan.get("conflicts", {}), plan.get("filesMissing", {})
    rows += [("conflict", sorted(conflicts), conflicts), ("upload file", plan.get("filesToUpload", []), {}),
             ("missing file", sorted(missing), missing)]
    table = Table("action", "count", "ids")
    for label, ids, why in rows:
        if ids:
            table.add_row(label, str(len(ids)), _id_lines(ids, why))
    table.add_row("in sync", str(plan.get("counts", {}).get("in_sync", 0)), "")
    return table


def summary_table(report: TransferReport) -> Table:
    """What a run verified done: one row per action, with its count of documents, of files (and of anything
    else the report names, such as a dataset whose bulk job failed)."""
    kinds = ["document", "file", *sorted({item.kind for item in report.items} - {"document", "file"})]
    counts = {kind: report.counts(kind) for kind in kinds}
    table = Table("action", *(f"{kind}s" for kind in kinds))
    for action in sorted({item.action for item in report.items}):
        table.add_row(action.replace("_", " "), *(str(counts[kind].get(action, "")) for kind in kinds))
    return table


def _print_failures(report: TransferReport) -> None:
    """Each failure and conflict on stderr, one a line (the first ``SHOWN_FAILURES``)."""
    failures = report.failures
    for item in failures[:SHOWN_FAILURES]:
        error_console.print(f"  {item.action} {item.kind} {item.key}: {item.detail or item.action}",
                            highlight=False, soft_wrap=True, markup=False)
    if len(failures) > SHOWN_FAILURES:
        error_console.print(f"  … and {len(failures) - SHOWN_FAILURES} more (--json lists all)", highlight=False)


def _print_plain(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True, markup=False)


def _print_table(heading: str, table: Table) -> None:
    """A heading on a line of its own (a table's title would wrap to the table's width), then the table."""
    _print_plain(heading)
    console.print(table)


# -- sync --------------------------------------------------------------------------------------------------


def _show_sync(report: TransferReport, mode: SyncMode, dry_run: bool, conflict: str) -> None:
    """The plan of a dry run, or the summary of a real one, with what is left unresolved."""
    where = f"{report.local_path} <-> cloud dataset {report.cloud_dataset_id}"
    if dry_run:
        _print_table(f"plan ({mode.value}, dry run): {where}", plan_table(report.plan or {}))
        _print_plain("dry run: nothing was changed")
        conflicts = report.counts("document").get("conflict", 0)
        if conflicts:
            _print_plain(f"{conflicts} conflict(s) left unresolved (--conflict {conflict}): a real run changes "
                         "neither copy of them; choose --conflict local, remote or newer to settle them")
    else:
        if report.items:
            _print_table(f"{mode.value}: {where}", summary_table(report))
        _print_plain(report.message)
    _print_failures(report)


def sync_command(
    path: PathArg,
    mode: Annotated[str, typer.Option("--mode", "-m", help=MODE_HELP)] = SyncMode.TWO_WAY_SYNC.value,
    files: Annotated[bool, typer.Option("--files", help="Download the binary files of downloaded documents too "
                                        "(else they are fetched on first use). Uploads always send files.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and change nothing (exits 1 if it holds "
                                          "conflicts a real run would leave unresolved).")] = False,
    conflict: Annotated[str | None, typer.Option(
        "--conflict", help=f"two_way_sync: who wins a document changed on both sides: {', '.join(CONFLICT_POLICIES)} "
        "(newer = later base.datestamp). Default fail: neither side is changed and the exit code is 1.")] = None,
    propagate_deletions: Annotated[bool, typer.Option(
        "--propagate-deletions", help="two_way_sync: delete on the other side what was deleted on one side since "
        "the last sync (and left unchanged on the other).")] = False,
    update_changed: Annotated[bool, typer.Option(
        "--update-changed/--no-update-changed", help="Mirrors: replace documents whose content differs.")] = True,
    cloud_dataset_id: Annotated[str | None, typer.Option(
        "--dataset", help="Cloud dataset to sync with when PATH is not linked yet (it is linked then).")] = None,
    workers: WorkersOpt = 4,
    document_chunk: ChunkOpt = 2000,
    serial_files: Annotated[bool, typer.Option("--serial-files", help="One upload per file, no zips.")] = False,
    allow_missing_files: Annotated[bool, typer.Option(
        "--allow-missing-files", help="Skip referenced files missing here instead of failing.")] = False,
    check_remote_content: Annotated[bool, typer.Option(
        "--check-remote-content", help="Fetch every document both sides hold to compare contents (finds cloud "
        "documents replaced in place by other tools; slower).")] = False,
    ingest_timeout: Annotated[float, typer.Option(
        "--ingest-timeout", min=0, help="Seconds to wait for the cloud to list uploads.")] = 120.0,
    download_timeout: Annotated[float, typer.Option(
        "--download-timeout", min=0, help="Seconds to wait for the cloud to prepare a bulk download.")] = 120.0,
    as_json: JsonOpt = False,
) -> None:
    """Sync a dataset with its cloud copy; exit 1 on any failure or unresolved conflict, 2 on bad flags.

    Modes: upload_new and download_new copy the documents new on one side since the last sync to the other;
    mirror_to_remote and mirror_from_remote make one side equal the other, deleting what the source lacks;
    two_way_sync (the default, as it deletes nothing unless --propagate-deletions) copies what is new or
    changed on one side only to the other, and reports documents changed on both sides as conflicts.
    """
    chosen = _parse_mode(mode)
    unused = _unused_flags(chosen, files=files, conflict=conflict, propagate_deletions=propagate_deletions,
                           update_changed=update_changed)
    if unused:
        raise fail(f"{', '.join(unused)} has no effect in {chosen.value}", code=2)
    policy = conflict or "fail"
    # A dry run shows its plan as a table here, so the engine's own plan lines are not printed as well.
    options = _options(sync_files=files, dry_run=dry_run, verbose=not (as_json or dry_run),
                       file_upload_strategy="serial" if serial_files else "batch", conflict=policy,
                       propagate_deletions=propagate_deletions, update_changed=update_changed, workers=workers,
                       document_chunk=document_chunk, allow_missing_files=allow_missing_files,
                       check_remote_content=check_remote_content, ingest_timeout_s=ingest_timeout,
                       download_timeout_s=download_timeout)
    _check_dataset(path)
    with connect() as client:
        try:
            report = sync_dataset(path, chosen, options, cloud_dataset_id=cloud_dataset_id, client=client)
        except (NdiError, StateLockedError, OSError) as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(report.json())
    else:
        _show_sync(report, chosen, dry_run, policy)
    if not report.success:
        raise typer.Exit(1)


# -- read-only comparisons ---------------------------------------------------------------------------------


def _counts_table(counts: Mapping[str, int]) -> Table:
    table = Table(*(name.replace("_", " ") for name in counts))
    table.add_row(*(str(n) for n in counts.values()))
    return table


_Compared = TypeVar("_Compared", bound=DocumentDifference)


def _compare(comparison: Callable[..., _Compared], path: Path, cloud_dataset_id: str | None) -> _Compared:
    """A read-only comparison of PATH with its cloud dataset; an error is a failure naming it."""
    with connect() as client:
        try:
            return comparison(path, cloud_dataset_id, client=client)
        except (NdiError, OSError) as exc:
            raise fail(str(exc)) from None


def _show_comparison(path: Path, difference: DocumentDifference,
                     first: Mapping[str, tuple[list[str], Mapping[str, str]]] | None = None) -> None:
    """The counts, then rows of where | count | ids for the non-empty groups (``first``, then each side only)."""
    _print_table(f"documents of {path} and its cloud dataset", _counts_table(difference.counts()))
    groups = {**(first or {}), "local only": (difference.local_only, {}), "remote only": (difference.remote_only, {})}
    table = Table("where", "count", "ids")
    for label, (ids, why) in groups.items():
        if ids:
            table.add_row(label, str(len(ids)), _id_lines(ids, why))
    if table.row_count:
        console.print(table)


def diff_command(path: PathArg, cloud_dataset_id: CloudIdOpt = None, as_json: JsonOpt = False) -> None:
    """Which documents (ndiIds) are here only, in the cloud only, and on both sides; contents are not compared."""
    difference = _compare(document_difference, path, cloud_dataset_id)
    if as_json:
        print_json(difference.json())
        return
    _show_comparison(path, difference)


def validate_command(path: PathArg, cloud_dataset_id: CloudIdOpt = None, as_json: JsonOpt = False) -> None:
    """Compare the contents of the documents on both sides; exit 1 unless both hold the same documents."""
    result = _compare(validate, path, cloud_dataset_id)
    if as_json:
        print_json(result.json())
    else:
        _show_comparison(path, result, {"mismatched": (sorted(result.mismatched), result.mismatched)})
        _print_plain("valid: both sides hold the same documents" if result.valid
                     else "NOT valid: the two sides differ")
    if not result.valid:
        raise typer.Exit(1)


# -- duplicates --------------------------------------------------------------------------------------------


def _duplicates_table(extra: Mapping[str, list[str]], kept: Mapping[str, str] | None = None) -> Table:
    """ndiId | copy kept (when known) | extra copies: the first ``SHOWN_IDS`` rows, then "… and N more"."""
    table = Table("ndiId", *(["kept"] if kept is not None else []), "extra copies")
    for ndi_id in list(extra)[:SHOWN_IDS]:
        table.add_row(ndi_id, *([kept.get(ndi_id, "")] if kept is not None else []),
                      _id_lines(extra[ndi_id], limit=3))
    if len(extra) > SHOWN_IDS:
        table.add_row(f"… and {len(extra) - SHOWN_IDS} more (--json lists all)")
    return table


def _list_duplicates(cloud_id: str, client: CloudClient, as_json: bool) -> None:
    duplicates = find_duplicates(cloud_id, client=client)
    extra = {ndi_id: copies[1:] for ndi_id, copies in duplicates.items()}
    counts = {"duplicated": len(extra), "copies_to_delete": sum(map(len, extra.values()))}
    if as_json:
        print_json({"cloudDatasetId": cloud_id, "counts": counts, "duplicates": duplicates})
        return
    if not duplicates:
        _print_plain(f"cloud dataset {cloud_id}: no ndiId is held by more than one copy")
        return
    kept = {ndi_id: copies[0] for ndi_id, copies in duplicates.items()}
    _print_table(f"duplicates in cloud dataset {cloud_id}", _duplicates_table(extra, kept))
    _print_plain(f"{counts['duplicated']} ndiId(s) with {counts['copies_to_delete']} extra copies; --remove deletes "
                 "the extras (the oldest copy of each is kept)")


def _remove_duplicates(cloud_id: str, client: CloudClient, dry_run: bool, as_json: bool) -> TransferReport:
    report = remove_duplicates(cloud_id, dry_run=dry_run, client=client)
    if as_json:
        print_json(report.json())
    elif dry_run:
        extra = (report.plan or {}).get("delete", {})
        _print_table(f"would delete in cloud dataset {cloud_id} (dry run)", _duplicates_table(extra))
        _print_plain(f"dry run: nothing was deleted; {sum(map(len, extra.values()))} extra copies would be")
    else:
        _print_table(f"duplicates in cloud dataset {cloud_id}", summary_table(report))
        _print_plain(report.message)
        _print_failures(report)
    return report


def duplicates_command(
    path: Annotated[Path | None, typer.Argument(help="Dataset folder linked to the cloud dataset.")] = None,
    cloud_dataset_id: CloudIdOpt = None,
    remove: Annotated[bool, typer.Option("--remove", help="Delete the extra copies, keeping the oldest of each "
                                         "(exit 1 if any is still listed afterwards).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --remove: show what would be deleted.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """ndiIds held by several copies in the cloud dataset; --remove deletes the extras."""
    cloud_id = _linked_cloud_id(path, cloud_dataset_id)
    with connect() as client:
        if not remove:
            _list_duplicates(cloud_id, client, as_json)
            return
        report = _remove_duplicates(cloud_id, client, dry_run, as_json)
    if not report.success:
        raise typer.Exit(1)
