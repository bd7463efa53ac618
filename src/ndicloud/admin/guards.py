"""Whether a dataset may get a DOI now (doi.md §1.1 step 3, §1.2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..metadata import is_placeholder_doi, normalize_doi
from .doi import is_ndi_doi
from .errors import DoiUsageError, RegistrationRefused


def existing_doi(record: Mapping[str, Any]) -> str | None:
    """The dataset's DOI in bare form; None when it has none (NDI-matlab's placeholder counts as none).
    A value that is not a DOI at all is refused, naming ``doi``."""
    value = record.get("doi")
    if value is None or (isinstance(value, str) and not value.strip()) or is_placeholder_doi(value):
        return None
    try:
        return normalize_doi(value)
    except ValueError as exc:
        raise RegistrationRefused(f"doi: {exc}; correct or clear it first", field="doi") from None


def updatable_doi(record: Mapping[str, Any]) -> str:
    """The NDI Cloud DOI an update re-deposits (lower case); refused, naming ``doi``, when there is none."""
    current = existing_doi(record)
    if current is None:
        raise RegistrationRefused("doi: the dataset has no DOI to update; register one first (without --update)",
                                  field="doi")
    if not is_ndi_doi(current.lower()):
        raise RegistrationRefused(f"doi: {current} is not an NDI Cloud DOI, so it cannot be updated here",
                                  field="doi")
    return current.lower()


def check_guards(record: Mapping[str, Any], *, update: bool = False, force: bool = False,
                 test: bool = False) -> list[str]:
    """Raise :class:`RegistrationRefused` (naming the field) when the dataset must not be registered; else the
    warnings. ``force`` lifts the refusals (published, deleted, existing DOI) and is accepted only for the test
    system; an update always needs the dataset's NDI Cloud DOI."""
    if force and not test:
        raise DoiUsageError("force (--force) is accepted only together with the test system (--test)")
    warnings: list[str] = []
    if is_placeholder_doi(record.get("doi")):
        warnings.append("doi: NDI-matlab's placeholder DOI is ignored and will be replaced")
    refusals: list[tuple[str, str]] = []
    if update:
        updatable_doi(record)
    else:
        try:
            current = existing_doi(record)
        except RegistrationRefused as exc:
            refusals.append(("doi", str(exc)))
        else:
            if current is not None:
                refusals.append(("doi", f"doi: the dataset already has DOI {current}; use --update to re-deposit "
                                        "its metadata"))
    if record.get("isPublished") is not True:
        refusals.append(("isPublished", "isPublished: the dataset is not published; DOIs are registered for "
                                        "published datasets only"))
    if record.get("isDeleted") is True:
        refusals.append(("isDeleted", "isDeleted: the dataset is deleted"))
    if refusals and force:
        warnings += [f"{message} (ignored: --force on the test system)" for _, message in refusals]
    elif refusals:
        raise RegistrationRefused("; ".join(message for _, message in refusals), field=refusals[0][0])
    return warnings
