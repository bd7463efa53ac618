"""Our own checks of deposit XML, run before the XSD (doi.md §3.9).

They catch what the XSD accepts but Crossref or readers would get wrong (a wrong ORCID check character, a month
13, a doi.org URL where a bare DOI belongs, an empty title) and say plainly what the XSD would only hint at: the
element, by path, and the expected form or order. They run on any deposit, hand-edited XML included.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator

from lxml import etree

from ..metadata import Issue
from ..metadata.identifiers import is_bare_doi, orcid_check_character
from .doi import is_ndi_doi
from .namespaces import CROSSREF, FUNDREF, short_name

# Children in XSD order; names in one tuple share a slot (either may come there).
ORDER: dict[str, list[tuple[str, ...]]] = {
    "doi_batch": [("head",), ("body",)],
    "head": [("doi_batch_id",), ("timestamp",), ("depositor",), ("registrant",)],
    "depositor": [("depositor_name",), ("email_address",)],
    "database": [("database_metadata",), ("dataset",)],
    "database_metadata": [("contributors",), ("titles",), ("description",), ("database_date",), ("publisher",),
                          ("institution",), ("publisher_item",), ("archive_locations",), ("doi_data",),
                          ("rel:program",)],
    "dataset": [("contributors",), ("titles",), ("database_date",), ("publisher_item",), ("description",),
                ("format",), ("crossmark",), ("fr:program",), ("ai:program",), ("rel:program",),
                ("archive_locations",), ("doi_data",), ("citation_list",), ("component_list",)],
    "person_name": [("given_name",), ("surname",), ("suffix",), ("affiliations",), ("ORCID",), ("alt-name",)],
    "database_date": [("creation_date",), ("publication_date",), ("update_date",)],
    "creation_date": [("month",), ("day",), ("year",)],
    "publication_date": [("month",), ("day",), ("year",)],
    "update_date": [("month",), ("day",), ("year",)],
    "doi_data": [("doi",), ("timestamp",), ("resource",), ("collection",)],
    "rel:related_item": [("rel:description",), ("rel:inter_work_relation", "rel:intra_work_relation")],
}
SEQUENCES = ("first", "additional")
_ORCID_URL = re.compile(r"^https?://orcid\.org/([0-9]{4})-([0-9]{4})-([0-9]{4})-([0-9]{3})([0-9X])$")
_PMID = re.compile(r"^[0-9]{1,9}$")
_PMCID = re.compile(r"^PMC[0-9]+$")


def element_path(element: etree._Element) -> str:
    """``/doi_batch/body/database/dataset/contributors/person_name[2]/ORCID``: 1-based positions among siblings
    of the same name, shown only where there are several."""
    parts = []
    node: etree._Element | None = element
    while node is not None:
        name = short_name(node.tag)
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _text(element: etree._Element) -> str:
    return "".join(element.itertext()).strip()


def _elements(root: etree._Element, name: str, ns: str = CROSSREF) -> Iterator[etree._Element]:
    yield from root.iter(f"{{{ns}}}{name}")


def _order(root: etree._Element) -> Iterator[Issue]:
    for element in root.iter(etree.Element):
        slots = ORDER.get(short_name(element.tag))
        if not slots:
            continue
        position = {name: i for i, names in enumerate(slots) for name in names}
        expected = ", ".join(" | ".join(names) for names in slots)
        highest, latest = -1, ""
        for child in element.iterchildren(etree.Element):
            slot = position.get(short_name(child.tag))
            if slot is None:
                continue
            if slot < highest:
                yield Issue(element_path(child), f"out of order (it comes after {latest}); "
                                                 f"{short_name(element.tag)} takes its children in this order: "
                                                 f"{expected}")
            elif slot > highest:
                highest, latest = slot, short_name(child.tag)


def _contributors(root: etree._Element) -> Iterator[Issue]:
    for tag in ("person_name", "organization"):
        for element in _elements(root, tag):
            path = element_path(element)
            if element.get("sequence") not in SEQUENCES:
                yield Issue(path, 'needs sequence="first" (the first contributor) or "additional" (the others)')
            if not element.get("contributor_role"):
                yield Issue(path, 'needs contributor_role, e.g. contributor_role="author"')
    for element in _elements(root, "person_name"):
        if element.find(f"{{{CROSSREF}}}surname") is None:
            yield Issue(element_path(element), "has no surname; every person_name needs <surname> (family name)")
    for tag in ("given_name", "surname"):
        for element in _elements(root, tag):
            name = _text(element)
            if not name:
                yield Issue(element_path(element), "is empty; give the name or leave the element out")
            elif any(ch.isdigit() or ch == "?" for ch in name):
                yield Issue(element_path(element), f"{name!r} contains digits or '?'; give the name only")
    for element in _elements(root, "contributors"):
        if len(element) == 0:
            yield Issue(element_path(element), "is empty; list the contributors or leave the element out")


def _orcids(root: etree._Element) -> Iterator[Issue]:
    for element in _elements(root, "ORCID"):
        value = _text(element)
        match = _ORCID_URL.match(value)
        if not match:
            yield Issue(element_path(element), f"{value!r} is not an ORCID URL; expected the form "
                                               "https://orcid.org/dddd-dddd-dddd-dddC (C a digit or X)")
        elif orcid_check_character("".join(match.groups()[:4])) != match.group(5):
            yield Issue(element_path(element), f'check character is wrong in "{value}"; re-copy the iD from '
                                               "orcid.org")


def _empties(root: etree._Element) -> Iterator[Issue]:
    for tag in ("title", "description"):
        for element in _elements(root, tag):
            if not _text(element):
                yield Issue(element_path(element), "is empty; give the text or leave the element out")
    for element in root.iter(etree.Element):
        if short_name(element.tag) in ("fr:program", "ai:program", "rel:program") and len(element) == 0:
            yield Issue(element_path(element), "is empty; leave the program out when it has nothing to say")


def _identifiers(root: etree._Element) -> Iterator[Issue]:
    for dataset in _elements(root, "dataset"):
        doi = dataset.find(f"{{{CROSSREF}}}doi_data/{{{CROSSREF}}}doi")
        if doi is not None and not is_ndi_doi(_text(doi)):
            yield Issue(element_path(doi), f"{_text(doi)!r} is not an NDI Cloud dataset DOI; expected "
                                           "10.63884/ndic.<year>.<8 characters from a-z0-9>")
    for relation in root.iter("{http://www.crossref.org/relations.xsd}inter_work_relation"):
        kind, value = relation.get("identifier-type"), _text(relation)
        path = element_path(relation)
        if kind == "doi" and not is_bare_doi(value):
            yield Issue(path, f"{value!r} is not a bare DOI; a doi relation takes 10.NNNN/suffix without "
                              "https://doi.org/ or doi:")
        elif kind == "pmid" and not _PMID.match(value):
            yield Issue(path, f"{value!r} is not a PubMed id; a pmid relation takes 1-9 digits")
        elif kind == "pmcid" and not _PMCID.match(value):
            yield Issue(path, f"{value!r} is not a PubMed Central id; a pmcid relation takes PMC and digits")
    for assertion in _elements(root, "assertion", FUNDREF):
        if assertion.get("name") == "funder_name" and ", " in _text(assertion):
            yield Issue(element_path(assertion), f"{_text(assertion)!r} looks like funders joined by commas; give "
                                                 "each funder its own assertion", "warning")


def _dates(root: etree._Element) -> Iterator[Issue]:
    for tag in ("creation_date", "publication_date", "update_date"):
        for element in _elements(root, tag):
            parts = {short_name(child.tag): _text(child) for child in element.iterchildren(etree.Element)}
            path = element_path(element)
            month, day, year = parts.get("month"), parts.get("day"), parts.get("year")
            if month is not None and not (month.isdigit() and 1 <= int(month) <= 12):
                yield Issue(f"{path}/month", f"{month!r} is not a month; write 01-12")
                continue
            if day is not None and month is not None and year is not None and year.isdigit():
                last = calendar.monthrange(int(year), int(month))[1]
                if not (day.isdigit() and 1 <= int(day) <= last):
                    yield Issue(f"{path}/day", f"{day!r} is not a day of {year}-{int(month):02d}; write 01-{last}")
    for element in _elements(root, "timestamp"):
        if not re.fullmatch(r"[0-9]{14}", _text(element)):
            yield Issue(element_path(element), f"{_text(element)!r} is not a 14-digit UTC yyyyMMddHHmmss timestamp")


def precheck_deposit(root: etree._Element) -> list[Issue]:
    """Every pre-check finding of a deposit (errors and warnings), each naming the element by its path."""
    return [*_order(root), *_contributors(root), *_orcids(root), *_empties(root), *_identifiers(root),
            *_dates(root)]
