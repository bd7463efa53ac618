"""Crossref's submission log, ``doi_batch_diagnostic``, read into a :class:`SubmissionStatus` (doi.md §4.3).

A log is ``completed`` when its root says so, or when it carries ``batch_data`` but no ``status`` (as the
documentation's success example does); anything else (``in_process``, ``unknown_submission`` just after a
deposit, ...) is pending. A body that is not XML, or not this log, is an error, never "pending".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .errors import CrossrefSubmissionError

TIMESTAMP_CONFLICT = "less or equal to previously submitted version"


@dataclass(frozen=True)
class RecordDiagnostic:
    """Crossref's verdict on one DOI of the batch: ``Success``, ``Warning`` or ``Failure``, and why."""

    doi: str
    status: str
    message: str
    msg_id: str | None = None
    conflict_id: str | None = None
    conflicts: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("Success", "Warning")

    @property
    def timestamp_conflict(self) -> bool:
        """Refused because an earlier deposit of this DOI had an equal or larger timestamp."""
        return TIMESTAMP_CONFLICT in self.message.lower()

    def json(self) -> dict[str, Any]:
        return {"doi": self.doi, "status": self.status, "message": self.message, "msgId": self.msg_id,
                "conflictId": self.conflict_id, "conflicts": list(self.conflicts)}


@dataclass(frozen=True)
class SubmissionStatus:
    """What Crossref says about one submission: its state, per-DOI records and the batch counts."""

    state: str  # "completed" or "pending"
    root_status: str | None
    submission_id: int | None
    batch_id: str | None
    records: tuple[RecordDiagnostic, ...]
    record_count: int
    success_count: int
    warning_count: int
    failure_count: int
    raw: bytes = field(repr=False)

    @property
    def completed(self) -> bool:
        return self.state == "completed"

    @property
    def succeeded(self) -> bool:
        """Completed with no failure and every record a success or a warning."""
        return (self.completed and self.failure_count == 0
                and self.record_count == self.success_count + self.warning_count)

    def record_for(self, doi: str) -> RecordDiagnostic | None:
        """The record of ``doi`` (compared case-insensitively), or None."""
        wanted = doi.strip().lower()
        return next((r for r in self.records if r.doi.strip().lower() == wanted), None)

    def json(self) -> dict[str, Any]:
        return {"state": self.state, "status": self.root_status, "submissionId": self.submission_id,
                "batchId": self.batch_id, "records": [r.json() for r in self.records],
                "counts": {"records": self.record_count, "success": self.success_count,
                           "warning": self.warning_count, "failure": self.failure_count}}


def _child_text(element: etree._Element, name: str) -> str | None:
    child = element.find(name)
    return None if child is None else "".join(child.itertext()).strip()


def _integer(text: str | None, what: str) -> int | None:
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise CrossrefSubmissionError(f"the submission log has {what} {text!r}, not a whole number") from None


def _record(element: etree._Element) -> RecordDiagnostic:
    conflicts = tuple("".join(d.itertext()).strip() for d in element.iterfind("dois_in_conflict/doi"))
    return RecordDiagnostic(doi=_child_text(element, "doi") or "", status=element.get("status") or "",
                            message=_child_text(element, "msg") or "", msg_id=element.get("msg_id"),
                            conflict_id=_child_text(element, "conflict_id"), conflicts=conflicts)


def parse_diagnostic(xml: bytes) -> SubmissionStatus:
    """The status in a ``doi_batch_diagnostic`` log; :class:`CrossrefSubmissionError` for anything else."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        snippet = xml[:200].decode("utf-8", "replace").strip()
        raise CrossrefSubmissionError(f"Crossref answered with something that is not a submission log "
                                      f"({exc.msg}): {snippet!r}") from None
    tag = etree.QName(root).localname
    if tag != "doi_batch_diagnostic":
        raise CrossrefSubmissionError(f"Crossref answered with <{tag}>, not a doi_batch_diagnostic submission log")
    records = tuple(_record(r) for r in root.iterfind("record_diagnostic"))
    batch = root.find("batch_data")
    root_status = root.get("status")
    completed = root_status == "completed" or (root_status is None and batch is not None)

    def count(name: str, status: str | None) -> int:
        if batch is not None:
            value = _integer(_child_text(batch, name), name)
            if value is not None:
                return value
        return sum(1 for r in records if status is None or r.status == status)

    return SubmissionStatus(
        state="completed" if completed else "pending", root_status=root_status,
        submission_id=_integer(_child_text(root, "submission_id"), "submission_id"),
        batch_id=_child_text(root, "batch_id"), records=records,
        record_count=count("record_count", None), success_count=count("success_count", "Success"),
        warning_count=count("warning_count", "Warning"), failure_count=count("failure_count", "Failure"),
        raw=xml)
