"""The rules a dataset record must meet before it is created in NDI Cloud or deposited with Crossref (doi.md §5.3).

Every problem is collected (never only the first), each as an :class:`Issue` naming the field by its JSON path
and saying how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .dates import parse_timestamp
from .identifiers import normalize_doi, normalize_orcid, normalize_pmcid, normalize_pmid, strip_doi_prefix
from .issues import Issue, MetadataValidationError, errors_of
from .licenses import license_url
from .text import collapse_whitespace, xml_forbidden_characters

# NDI-matlab's create-time placeholder (doi.md §5.5 item 2); it is not a DOI of this dataset.
PLACEHOLDER_DOI = "https://doi.org://10.1000/123456789"
_PLACEHOLDER_BARE = "10.1000/123456789"

NAME_MAX = 60
EMAIL = re.compile(r"^\S+@\S+$")  # what a contact must look like: name@host
_CLOUD_ID = re.compile(r"^[0-9a-fA-F]{24}$")
_LETTER = re.compile(r"[^\W\d_]")
_STRING_FIELDS = ("name", "abstract", "description", "branchName", "affiliation", "className", "license",
                  "species", "brainRegions", "doi", "createdAt", "updatedAt")


def is_placeholder_doi(value: object) -> bool:
    """True for NDI-matlab's placeholder DOI, in its URL or bare form."""
    return isinstance(value, str) and strip_doi_prefix(value) == _PLACEHOLDER_BARE


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def check_value(value: Any, path: str, parse: Callable[[Any], object]) -> Iterator[Issue]:
    """An issue at ``path`` when ``parse`` refuses ``value``, with the ``ValueError``'s reason as its message."""
    try:
        parse(value)
    except ValueError as exc:
        yield Issue(path, str(exc))


def check_person_name(value: Any, path: str, *, required: bool) -> list[Issue]:
    """A contributor's first or last name: 1-60 characters after whitespace collapse, a letter, no digits or ``?``."""
    if not _present(value):
        if required:
            return [Issue(path, "missing; give the family name (Crossref requires a surname)")]
        return []
    if not isinstance(value, str):
        return [Issue(path, f"must be text, not {type(value).__name__}")]
    name = collapse_whitespace(value)
    issues: list[Issue] = []
    if len(name) > NAME_MAX:
        issues.append(Issue(path, f"is {len(name)} characters; Crossref allows at most {NAME_MAX}, so shorten it"))
    if any(ch.isdigit() or ch == "?" for ch in name):
        issues.append(Issue(path, f"{value!r} contains digits or '?'; give the name only"))
    elif not _LETTER.search(name):
        issues.append(Issue(path, f"{value!r} has no letter; give the person's name"))
    return issues


def _people(record: Mapping[str, Any], key: str) -> Iterator[Issue]:
    value = record.get(key)
    if value is None:
        return
    if not isinstance(value, list):
        yield Issue(key, "must be a list of people ({firstName, lastName, orcid, contact})")
        return
    for i, person in enumerate(value):
        path = f"{key}[{i}]"
        if not isinstance(person, Mapping):
            yield Issue(path, "must be an object with lastName (and firstName, orcid, contact when known)")
            continue
        if "orchid" in person:
            yield Issue(f"{path}.orchid", "misspelt key; rename it to orcid")
        yield from check_person_name(person.get("lastName"), f"{path}.lastName", required=True)
        yield from check_person_name(person.get("firstName"), f"{path}.firstName", required=False)
        if _present(person.get("orcid")):
            yield from check_value(person["orcid"], f"{path}.orcid", normalize_orcid)
        contact = person.get("contact")
        if _present(contact) and not (isinstance(contact, str) and EMAIL.match(contact.strip())):
            yield Issue(f"{path}.contact", f"{contact!r} is not an e-mail address; write it as name@host")


def _license(record: Mapping[str, Any], for_deposit: bool) -> Iterator[Issue]:
    value = record.get("license")
    if not _present(value):
        if for_deposit:
            yield Issue("license", "no license; Crossref records should say under which license the data are "
                                   "shared (e.g. CC-BY-4.0)", "warning")
        return
    yield from check_value(value, "license", license_url)


def _funding(record: Mapping[str, Any]) -> Iterator[Issue]:
    value = record.get("funding")
    if value is None:
        return
    if isinstance(value, Mapping):
        yield Issue("funding", "legacy form (one object); store a list of {source}, one per funder", "warning")
        entries: list[tuple[str, Any]] = [("funding", value)]
    elif isinstance(value, list):
        entries = [(f"funding[{i}]", entry) for i, entry in enumerate(value)]
    else:
        yield Issue("funding", "must be a list of {source} objects, one per funder")
        return
    for path, entry in entries:
        if not isinstance(entry, Mapping):
            yield Issue(path, 'must be an object {"source": "<funder name>"}')
        elif not isinstance(entry.get("source"), str) or not entry["source"].strip():
            yield Issue(f"{path}.source", "missing or empty; give the funder's name")


def _publications(record: Mapping[str, Any]) -> Iterator[Issue]:
    value = record.get("associatedPublications")
    if value is None:
        return
    if not isinstance(value, list):
        yield Issue("associatedPublications", "must be a list of {DOI, title, PMID, PMCID} objects")
        return
    checks = (("DOI", normalize_doi), ("PMID", normalize_pmid), ("PMCID", normalize_pmcid))
    for i, entry in enumerate(value):
        path = f"associatedPublications[{i}]"
        if not isinstance(entry, Mapping):
            yield Issue(path, "must be an object with a DOI, PMID or PMCID")
            continue
        if "doi" in entry:
            yield Issue(f"{path}.doi", "lower-case key; use DOI")
        if not any(_present(entry.get(key)) for key, _ in checks):
            yield Issue(path, "has no identifier; give its DOI, PMID or PMCID")
        for key, normalize in checks:
            if _present(entry.get(key)):
                yield from check_value(entry[key], f"{path}.{key}", normalize)
        title = entry.get("title")
        if title is not None and not isinstance(title, str):
            yield Issue(f"{path}.title", "must be text")


def _doi(record: Mapping[str, Any], for_deposit: bool) -> Iterator[Issue]:
    value = record.get("doi")
    if not _present(value):
        return
    if is_placeholder_doi(value):
        if for_deposit:
            yield Issue("doi", "placeholder DOI from the NDI-matlab metadata editor; ignored and replaced",
                        "warning")
        else:
            yield Issue("doi", "placeholder DOI; remove it")
        return
    yield from check_value(value, "doi", normalize_doi)


def _dates_and_counts(record: Mapping[str, Any]) -> Iterator[Issue]:
    for key in ("createdAt", "updatedAt"):
        if _present(record.get(key)):
            yield from check_value(record[key], key, parse_timestamp)
    for key in ("numberOfSubjects", "neurons"):
        value = record.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            yield Issue(key, f"{value!r} is not a whole number >= 0; give a count such as 12")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def xml_safety_issues(record: Mapping[str, Any]) -> Iterator[Issue]:
    """An issue for every string (at any depth) holding characters that XML 1.0 forbids."""
    for path, text in _strings(record, ""):
        bad = xml_forbidden_characters(text)
        if bad:
            yield Issue(path, f"contains {', '.join(bad)}, which XML cannot hold; remove the control characters")


def validate_dataset_metadata(record: Mapping[str, Any], *, for_deposit: bool = False) -> list[Issue]:
    """Every issue of a cloud dataset record (or creation body), errors and warnings.

    ``for_deposit`` adds what a Crossref deposit needs: the dataset id, a license (warning), contributors
    (warning); NDI-matlab's placeholder DOI is then a warning, as registration ignores it.
    """
    if not isinstance(record, Mapping):
        return [Issue("(record)", "dataset metadata must be a JSON object")]
    issues: list[Issue] = []
    name = record.get("name")
    if not isinstance(name, str) or not collapse_whitespace(name):
        issues.append(Issue("name", "missing or empty; give the dataset a title"))
    for key in _STRING_FIELDS:
        if key != "name" and record.get(key) is not None and not isinstance(record[key], str):
            issues.append(Issue(key, f"must be text, not {type(record[key]).__name__}"))
    issues += _people(record, "contributors")
    issues += _people(record, "correspondingAuthors")
    issues += _license(record, for_deposit)
    issues += _funding(record)
    issues += _publications(record)
    issues += _doi(record, for_deposit)
    issues += _dates_and_counts(record)
    issues += xml_safety_issues(record)
    if for_deposit:
        dataset_id = record.get("_id") or record.get("id")
        if not (isinstance(dataset_id, str) and _CLOUD_ID.match(dataset_id)):
            issues.append(Issue("_id", "missing; a deposit needs the dataset's 24-hex cloud id (_id or id)"))
        if not record.get("contributors"):
            issues.append(Issue("contributors", "empty; Crossref recommends listing the dataset's contributors",
                                "warning"))
    return issues


def ensure_valid(record: Mapping[str, Any], *, for_deposit: bool = False) -> list[Issue]:
    """Raise :class:`MetadataValidationError` listing every issue when any is an error; else the warnings."""
    issues = validate_dataset_metadata(record, for_deposit=for_deposit)
    if errors_of(issues):
        raise MetadataValidationError(issues)
    return issues
