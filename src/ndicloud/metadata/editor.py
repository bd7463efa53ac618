"""NDI-matlab's MetadataEditor structure: its checks and its conversion to a cloud dataset body (doi.md §5.2, §5.4).

The conversion follows NDI-matlab's ``createCloudMetadataStruct`` field for field, without its defects: ORCIDs go in
``orcid`` (not ``orchid``), e-mail addresses are kept, each funder is its own ``{source}``, a corresponding author is
anyone with that role among others, every related publication is kept, and no DOI is ever written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .identifiers import normalize_doi, normalize_orcid, normalize_pmcid, normalize_pmid
from .issues import Issue, MetadataValidationError, errors_of
from .licenses import license_url
from .text import collapse_whitespace
from .validation import EMAIL, check_person_name, check_value, xml_safety_issues

EDITOR_KEY = "DatasetFullName"  # the key that tells an editor structure from a cloud record
REQUIRED_KEYS = ("DatasetFullName", "DatasetShortName", "Author", "Funding", "Description", "License", "Subjects")
AUTHOR_KEYS = ("givenName", "familyName", "authorRole", "digitalIdentifier")


def is_editor_structure(value: object) -> bool:
    """True for a MetadataEditor structure (it has ``DatasetFullName``), False for a cloud record."""
    return isinstance(value, Mapping) and EDITOR_KEY in value


def _items(value: Any) -> list[Any]:
    """A list as MATLAB may write it: a one-element array can arrive as the bare element."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    return collapse_whitespace(value) if isinstance(value, str) else ""


def _roles(author: Mapping[str, Any]) -> list[str]:
    return [role.strip().lower() for role in _items(author.get("authorRole")) if isinstance(role, str)]


def _descriptions(editor: Mapping[str, Any]) -> list[str]:
    return [d.strip() for d in _items(editor.get("Description")) if isinstance(d, str) and d.strip()]


def _author_issues(i: int, author: Any) -> Iterator[Issue]:
    path = f"Author[{i}]"
    if not isinstance(author, Mapping):
        yield Issue(path, "must be an object with givenName, familyName, authorRole and digitalIdentifier")
        return
    for key in AUTHOR_KEYS:
        if key not in author:
            yield Issue(f"{path}.{key}", "missing")
    if "familyName" in author:
        yield from check_person_name(author["familyName"], f"{path}.familyName", required=True)
    if "givenName" in author:
        yield from check_person_name(author["givenName"], f"{path}.givenName", required=False)
    identifier = author.get("digitalIdentifier")
    if "digitalIdentifier" in author:
        if not isinstance(identifier, Mapping) or "identifier" not in identifier:
            yield Issue(f"{path}.digitalIdentifier.identifier", "missing")
        elif _text(identifier["identifier"]):
            yield from check_value(identifier["identifier"], f"{path}.digitalIdentifier.identifier", normalize_orcid)
    contact = author.get("contactInformation")
    email = contact.get("email") if isinstance(contact, Mapping) else None
    if _text(email) and not EMAIL.match(_text(email)):
        yield Issue(f"{path}.contactInformation.email", f"{email!r} is not an e-mail address; write it as name@host")


def _publication_issues(i: int, entry: Any) -> Iterator[Issue]:
    path = f"RelatedPublication[{i}]"
    if not isinstance(entry, Mapping):
        yield Issue(path, "must be an object with DOI, Publication, PMID and PMCID")
        return
    checks = (("DOI", normalize_doi), ("PMID", normalize_pmid), ("PMCID", normalize_pmcid))
    if not any(_text(entry.get(key)) or isinstance(entry.get(key), int) for key, _ in checks):
        yield Issue(path, "has no identifier; give its DOI, PMID or PMCID")
    for key, normalize in checks:
        value = entry.get(key)
        if _text(value) or (isinstance(value, int) and not isinstance(value, bool)):
            yield from check_value(value, f"{path}.{key}", normalize)


def validate_editor_metadata(editor: Mapping[str, Any]) -> list[Issue]:
    """Every issue of a MetadataEditor structure, named by its editor key (``Author[2].familyName: missing``).

    NDI-matlab's presence checks, for every author (not only the first), with empty ``Funding`` and ``Subjects``
    lists allowed; then the values: names, ORCIDs, e-mail addresses, the license and related publications.
    """
    if not isinstance(editor, Mapping):
        return [Issue("(record)", "a MetadataEditor structure must be a JSON object")]
    issues = [Issue(key, "missing") for key in REQUIRED_KEYS if key not in editor]
    if EDITOR_KEY in editor and not _text(editor[EDITOR_KEY]):
        issues.append(Issue(EDITOR_KEY, "empty; give the dataset's full name"))
    descriptions = _descriptions(editor)
    if len(descriptions) > 1:
        issues.append(Issue("Description", f"has {len(descriptions)} entries; only the first is used as the "
                                           "abstract", "warning"))
    for i, author in enumerate(_items(editor.get("Author"))):
        issues += _author_issues(i, author)
    for i, funding in enumerate(_items(editor.get("Funding"))):
        if not isinstance(funding, Mapping) or "funder" not in funding:
            issues.append(Issue(f"Funding[{i}].funder", "missing"))
    for i, subject in enumerate(_items(editor.get("Subjects"))):
        if not isinstance(subject, Mapping):
            issues.append(Issue(f"Subjects[{i}]", "must be a Subject object"))
    if _text(editor.get("License")):
        issues += check_value(editor["License"], "License", license_url)
    for i, entry in enumerate(_items(editor.get("RelatedPublication"))):
        issues += _publication_issues(i, entry)
    issues += xml_safety_issues(editor)
    return issues


def must_be_valid_metadata(editor: Mapping[str, Any]) -> list[Issue]:
    """NDI-matlab's ``mustBeValidMetadata``: raise :class:`MetadataValidationError` naming each bad field;
    else return the warnings."""
    issues = validate_editor_metadata(editor)
    if errors_of(issues):
        raise MetadataValidationError(issues, what="the MetadataEditor structure")
    return issues


def _contributor(author: Mapping[str, Any]) -> dict[str, Any]:
    person: dict[str, Any] = {}
    if _text(author.get("givenName")):
        person["firstName"] = _text(author["givenName"])
    person["lastName"] = _text(author.get("familyName"))
    identifier = author.get("digitalIdentifier")
    orcid = _text(identifier.get("identifier")) if isinstance(identifier, Mapping) else ""
    if orcid:
        try:
            person["orcid"] = normalize_orcid(orcid)
        except ValueError:
            person["orcid"] = orcid  # kept as given, so validating the body names it
    contact = author.get("contactInformation")
    email = _text(contact.get("email")) if isinstance(contact, Mapping) else ""
    if email:
        person["contact"] = email
    return person


def _species(editor: Mapping[str, Any]) -> list[str]:
    names: set[str] = set()
    for subject in _items(editor.get("Subjects")):
        if not isinstance(subject, Mapping):
            continue
        for species in _items(subject.get("SpeciesList")):
            if isinstance(species, Mapping) and _text(species.get("Name")):
                names.add(_text(species["Name"]))
    return sorted(names)


def _publication(entry: Mapping[str, Any]) -> dict[str, Any]:
    publication: dict[str, Any] = {}
    for source, target in (("DOI", "DOI"), ("Publication", "title"), ("PMID", "PMID"), ("PMCID", "PMCID")):
        value = entry.get(source)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if _text(value):
            publication[target] = value.strip()
    return publication


def editor_to_cloud_body(editor: Mapping[str, Any]) -> dict[str, Any]:
    """The cloud dataset body (``POST /organizations/{id}/datasets``) for a MetadataEditor structure."""
    authors = [a for a in _items(editor.get("Author")) if isinstance(a, Mapping)]
    contributors = [_contributor(a) for a in authors]
    funders: list[str] = []
    for funding in _items(editor.get("Funding")):
        source = _text(funding.get("funder")) if isinstance(funding, Mapping) else ""
        if source and source not in funders:
            funders.append(source)
    body: dict[str, Any] = {"name": _text(editor.get(EDITOR_KEY))}
    descriptions = _descriptions(editor)
    if descriptions:
        body["abstract"] = descriptions[0]
    if _text(editor.get("DatasetShortName")):
        body["branchName"] = _text(editor["DatasetShortName"])
    body["contributors"] = contributors
    body["correspondingAuthors"] = [dict(person) for author, person in zip(authors, contributors, strict=True)
                                    if "corresponding" in _roles(author)]
    body["funding"] = [{"source": source} for source in funders]
    if _text(editor.get("License")):
        body["license"] = editor["License"].strip()
    species = _species(editor)
    if species:
        body["species"] = ", ".join(species)
    body["numberOfSubjects"] = len(_items(editor.get("Subjects")))
    publications = [_publication(p) for p in _items(editor.get("RelatedPublication")) if isinstance(p, Mapping)]
    if publications:
        body["associatedPublications"] = publications
    return body


def create_cloud_metadata_struct(editor: Mapping[str, Any]) -> dict[str, Any]:
    """NDI-matlab's ``createCloudMetadataStruct``: check the editor structure, then convert it."""
    must_be_valid_metadata(editor)
    return editor_to_cloud_body(editor)
