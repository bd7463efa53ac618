"""``register_dataset_doi``: from a published cloud dataset to a registered DOI stored on it (doi.md §1.1).

Settings, fetch, guards, metadata validation, mint, build, local validation, receipt, deposit, poll, store. The
DOI is written to the dataset only when Crossref reports success (or a warning) for the dataset's own DOI, only on
the production system, and never in a dry run. Every step that can fail leaves a receipt that says how to resume.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..api import CloudClient, CloudError
from ..api import datasets as cloud_datasets
from ..api.client import resolve
from ..metadata import ensure_valid, normalize_doi
from ..metadata.identifiers import DOI_URL
from .crossref import build_deposit
from .deposit import CrossrefClient
from .diagnostic import SubmissionStatus
from .doi import is_ndi_doi, mint_doi
from .errors import (
    CrossrefSubmissionError,
    DatasetUnavailable,
    DoiError,
    DoiStoreError,
    DoiUsageError,
    RegistrationRefused,
    SubmissionFailed,
    SubmissionPending,
)
from .guards import check_guards, existing_doi, updatable_doi
from .handles import doi_exists
from .receipts import ReceiptStore
from .timestamps import next_timestamp
from .validation import validate_deposit

MINT_ATTEMPTS = 5


@dataclass
class RegistrationResult:
    """What a registration did. Unpacks as ``doi, status`` (NDI-matlab's two outputs)."""

    dataset_id: str
    doi: str
    file_name: str
    doi_batch_id: str
    timestamp: int
    system: str
    xml: bytes = field(repr=False)
    status: SubmissionStatus | None = None
    stored: bool = False
    receipt: Path | None = None
    output: Path | None = None
    dry_run: bool = False
    submitted: bool = False
    warnings: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        yield self.doi
        yield self.status

    @property
    def reserved(self) -> bool:
        """False in a dry run: the DOI shown was not deposited and may be drawn by nobody, or anybody."""
        return not self.dry_run

    def json(self) -> dict[str, Any]:
        return {"datasetId": self.dataset_id, "doi": self.doi, "reserved": self.reserved,
                "fileName": self.file_name, "doiBatchId": self.doi_batch_id, "timestamp": self.timestamp,
                "system": self.system, "dryRun": self.dry_run, "submitted": self.submitted,
                "status": self.status.json() if self.status else None, "stored": self.stored,
                "receipt": str(self.receipt) if self.receipt else None,
                "output": str(self.output) if self.output else None, "warnings": self.warnings}


def _fetch(cloud: CloudClient, dataset_id: str) -> dict[str, Any]:
    try:
        return dict(cloud_datasets.get_dataset(dataset_id, client=cloud).raw)
    except CloudError as exc:
        raise DatasetUnavailable(f"cannot read dataset {dataset_id}: {exc}") from None


def _fresh_doi(check: bool, resolver: str | None, warnings: list[str]) -> str:
    for _ in range(MINT_ATTEMPTS):
        doi = mint_doi()
        if not check:
            return doi
        known = doi_exists(doi, resolver=resolver)
        if known is None:
            warnings.append(f"could not ask the DOI resolver whether {doi} exists; depositing it (a clash among "
                            "36^8 suffixes a year is very unlikely)")
            return doi
        if not known:
            return doi
    raise DoiError(f"{MINT_ATTEMPTS} freshly minted DOIs were all registered already; check the DOI resolver")


def store_dataset_doi(cloud: CloudClient | None, dataset_id: str, doi: str, *, file_name: str | None = None) -> None:
    """Write ``https://doi.org/<doi>`` to the dataset (the update endpoint) and read it back (doi.md §4.5).

    :class:`DoiStoreError` carries the DOI, which exists at Crossref already, and the command that finishes the job.
    """
    client = resolve(cloud)
    bare = normalize_doi(doi)
    resume = f"`ndi-cloud doi status {file_name} --store {dataset_id}`" if file_name else "storing it again"
    try:
        cloud_datasets.update_dataset(dataset_id, {"doi": DOI_URL + bare}, client=client)
        stored = cloud_datasets.get_dataset(dataset_id, client=client).raw.get("doi")
    except CloudError as exc:
        raise DoiStoreError(f"DOI {bare} is registered at Crossref but could not be stored on dataset {dataset_id} "
                            f"({exc}); finish with {resume}", doi=bare, dataset_id=dataset_id) from None
    try:
        same = isinstance(stored, str) and normalize_doi(stored).lower() == bare.lower()
    except ValueError:
        same = False
    if not same:
        raise DoiStoreError(f"DOI {bare} is registered at Crossref but dataset {dataset_id} reads back doi "
                            f"{stored!r}; finish with {resume}", doi=bare, dataset_id=dataset_id)


def _outcome(status: SubmissionStatus, doi: str, file_name: str) -> None:
    """Raise :class:`SubmissionFailed` unless Crossref reports success or a warning for the dataset DOI."""
    record = status.record_for(doi)
    if record is not None and record.ok:
        return
    messages = [f"{r.doi or '(no doi)'}: {r.status}: {r.message}" for r in status.records if not r.ok]
    if record is None:
        messages.append(f"{doi}: the submission log has no record for this DOI")
    hint = ""
    if record is not None and record.timestamp_conflict:
        hint = " A re-deposit of this DOI needs a larger timestamp than the one Crossref holds."
    raise SubmissionFailed(f"Crossref refused {file_name}: " + "; ".join(messages) + "." + hint,
                           file_name=file_name, messages=messages)


def _resume_command(file_name: str, dataset_id: str, test: bool) -> str:
    if test:
        return f"`ndi-cloud doi status {file_name} --test --wait`"
    return f"`ndi-cloud doi status {file_name} --wait --store {dataset_id}`"


def register_dataset_doi(
    dataset_id: str, *, client: CloudClient | None = None, cloud: CloudClient | None = None,
    crossref: CrossrefClient | None = None, test: bool = False, use_test_system: bool | None = None,
    dry_run: bool = False, force: bool = False, update: bool = False, wait: bool = True, timeout: float = 900.0,
    output: str | Path | None = None, schema_dir: str | Path | None = None, receipts_dir: str | Path | None = None,
    poll_interval: float = 5.0, max_poll_interval: float = 60.0, check_resolver: bool = True,
    resolver_url: str | None = None,
) -> RegistrationResult:
    """Register a DOI for a published NDI Cloud dataset with Crossref and store it on the dataset.

    ``test``/``use_test_system`` deposit to Crossref's test system (nothing is stored); ``dry_run`` builds and
    validates the XML only (no Crossref call, no receipt, no credentials needed); ``update`` re-deposits the
    metadata of a dataset that has an NDI Cloud DOI; ``force`` (test system only) lifts the guards; ``wait=False``
    returns once Crossref has queued the deposit. ``output`` receives the XML.
    """
    test = bool(test or use_test_system or (crossref is not None and crossref.test))
    if crossref is not None and crossref.test != test:
        raise DoiUsageError("the Crossref client given is for the production system, but test=True was asked")
    if force and not test:
        raise DoiUsageError("force (--force) is accepted only together with the test system (--test)")
    owned = crossref is None
    crossref = crossref or CrossrefClient(test=test)
    try:
        if not dry_run:
            crossref.credentials()  # before any network call; names both variables when missing
        return _register(dataset_id, resolve(cloud or client), crossref, test=test, dry_run=dry_run, force=force,
                         update=update, wait=wait, timeout=timeout, output=output, schema_dir=schema_dir,
                         receipts=ReceiptStore(receipts_dir), poll_interval=poll_interval,
                         max_poll_interval=max_poll_interval, check_resolver=check_resolver,
                         resolver_url=resolver_url)
    finally:
        if owned:
            crossref.close()


def _prepare(dataset_id: str, cloud: CloudClient, *, system: str, test: bool, dry_run: bool, force: bool,
             update: bool, enforce_guards: bool, output: str | Path | None, schema_dir: str | Path | None,
             receipts: ReceiptStore, check_resolver: bool, resolver_url: str | None
             ) -> tuple[dict[str, Any], RegistrationResult]:
    """Steps 2-7: fetch, guards, metadata, DOI, build, validate (and write ``output``); nothing is sent."""
    record = _fetch(cloud, dataset_id)
    try:
        warnings = check_guards(record, update=update, force=force, test=test)
    except RegistrationRefused as exc:
        if enforce_guards:
            raise
        warnings = [f"registration would be refused: {exc}"]
    doi = updatable_doi(record) if update else None
    deposit_record = {k: v for k, v in record.items() if k != "doi"}
    warnings += [str(issue) for issue in ensure_valid(deposit_record, for_deposit=True)]
    if doi is None:
        doi = _fresh_doi(check_resolver and not dry_run, resolver_url, warnings)
    deposit = build_deposit(deposit_record, doi, timestamp=next_timestamp(above=receipts.latest_timestamp(dataset_id)))
    warnings += [str(issue) for issue in validate_deposit(deposit.xml, schema_dir=schema_dir)]
    written = None
    if output is not None:
        written = Path(output)
        written.write_bytes(deposit.xml)
    result = RegistrationResult(dataset_id, doi, deposit.file_name, deposit.doi_batch_id, deposit.timestamp,
                                system, deposit.xml, output=written, dry_run=dry_run, warnings=warnings)
    return record, result


def deposit_xml(dataset_id: str, *, client: CloudClient | None = None, update: bool = False,
                output: str | Path | None = None, schema_dir: str | Path | None = None,
                receipts_dir: str | Path | None = None) -> RegistrationResult:
    """The validated deposit XML a registration would send (``ndi-cloud doi deposit-xml``), with a DOI that is
    not reserved. Guard failures become warnings; nothing is sent and no receipt is written."""
    _, result = _prepare(dataset_id, resolve(client), system="production", test=False, dry_run=True, force=False,
                         update=update, enforce_guards=False, output=output, schema_dir=schema_dir,
                         receipts=ReceiptStore(receipts_dir), check_resolver=False, resolver_url=None)
    return result


def _register(dataset_id: str, cloud: CloudClient, crossref: CrossrefClient, *, test: bool, dry_run: bool,
              force: bool, update: bool, wait: bool, timeout: float, output: str | Path | None,
              schema_dir: str | Path | None, receipts: ReceiptStore, poll_interval: float, max_poll_interval: float,
              check_resolver: bool, resolver_url: str | None) -> RegistrationResult:
    record, result = _prepare(dataset_id, cloud, system=crossref.system, test=test, dry_run=dry_run, force=force,
                              update=update, enforce_guards=True, output=output, schema_dir=schema_dir,
                              receipts=receipts, check_resolver=check_resolver, resolver_url=resolver_url)
    if dry_run:
        return result
    doi, file_name = result.doi, result.file_name
    result.receipt = receipts.create(dataset_id=dataset_id, doi=doi, doi_batch_id=result.doi_batch_id,
                                     file_name=file_name, timestamp=result.timestamp, system=crossref.system,
                                     base_url=crossref.base_url, xml=result.xml)
    try:
        confirmation = crossref.deposit(result.xml, file_name)
    except CrossrefSubmissionError as exc:
        receipts.record(result.receipt, "submit-failed", str(exc))
        raise
    result.submitted = True
    receipts.record(result.receipt, "submitted", confirmation)
    if not wait:
        return result

    try:
        result.status = crossref.wait(file_name, timeout=timeout, initial_interval=poll_interval,
                                      max_interval=max_poll_interval)
    except SubmissionPending as exc:
        receipts.record(result.receipt, "pending", str(exc))
        raise SubmissionPending(f"Crossref has not finished {file_name} (DOI {doi}) after {timeout:g} s; "
                                f"resume with {_resume_command(file_name, dataset_id, test)}",
                                file_name=file_name) from None
    try:
        _outcome(result.status, doi, file_name)
    except SubmissionFailed as exc:
        receipts.record(result.receipt, "failed", str(exc))
        raise
    receipts.record(result.receipt, "registered", f"{result.status.success_count} success, "
                                                  f"{result.status.warning_count} warning")
    if not test:
        result.stored = _store(cloud, dataset_id, doi, record, file_name, receipts, result.receipt)
    return result


def _store(cloud: CloudClient, dataset_id: str, doi: str, record: dict[str, Any], file_name: str,
           receipts: ReceiptStore, receipt: Path | None) -> bool:
    if record.get("doi") == DOI_URL + doi:  # an update whose stored form is canonical already
        return True
    try:
        store_dataset_doi(cloud, dataset_id, doi, file_name=file_name)
    except DoiStoreError as exc:
        if receipt is not None:
            receipts.record(receipt, "store-failed", str(exc))
        raise
    if receipt is not None:
        receipts.record(receipt, "stored", DOI_URL + doi)
    return True


def _doi_of_submission(status: SubmissionStatus, receipt: dict[str, Any] | None) -> str | None:
    if receipt and isinstance(receipt.get("doi"), str):
        return receipt["doi"]
    dataset_dois = [r.doi.lower() for r in status.records if is_ndi_doi(r.doi.strip().lower())]
    return dataset_dois[0] if len(dataset_dois) == 1 else None


def check_submission(file_name: str, *, crossref: CrossrefClient | None = None, test: bool = False,
                     base_url: str | None = None, wait: bool = False, timeout: float = 900.0,
                     poll_interval: float = 5.0, max_poll_interval: float = 60.0) -> SubmissionStatus:
    """The status of a deposit by its ``file_name`` (waiting for completion when ``wait``)."""
    owned = crossref is None
    crossref = crossref or CrossrefClient(test=test, base_url=base_url)
    try:
        if wait:
            return crossref.wait(file_name, timeout=timeout, initial_interval=poll_interval,
                                 max_interval=max_poll_interval)
        return crossref.fetch_result(file_name)
    finally:
        if owned:
            crossref.close()


def finish_registration(file_name: str, dataset_id: str, status: SubmissionStatus, *,
                        client: CloudClient | None = None, crossref: CrossrefClient,
                        receipts_dir: str | Path | None = None) -> str:
    """Store the DOI of a completed production deposit on its dataset (``doi status --store``); the DOI.

    The dataset DOI comes from the receipt, else from the log's only NDI Cloud DOI. The guards are checked again:
    the dataset must be published and not deleted, and carry no other DOI.
    """
    if crossref.test:
        raise DoiUsageError("--store works only for the production system: test DOIs never resolve")
    if not status.completed:
        raise SubmissionPending(f"Crossref has not finished {file_name}; nothing stored yet", file_name=file_name)
    receipts = ReceiptStore(receipts_dir)
    found = receipts.find(file_name)
    receipt_path, receipt = found if found else (None, None)
    if receipt and receipt.get("datasetId") not in (None, dataset_id):
        raise DoiUsageError(f"{file_name} registered dataset {receipt['datasetId']}, not {dataset_id}")
    doi = _doi_of_submission(status, receipt)
    if doi is None:
        raise DoiError(f"cannot tell which DOI of {file_name} is the dataset's; no receipt names it")
    _outcome(status, doi, file_name)
    cloud = resolve(client)
    record = _fetch(cloud, dataset_id)
    current = existing_doi(record)
    if current is not None and current.lower() == doi.lower():
        guard_record = {k: v for k, v in record.items() if k != "doi"}
    else:
        guard_record = record
    check_guards(guard_record)
    _store(cloud, dataset_id, doi, record, file_name, receipts, receipt_path)
    return doi
