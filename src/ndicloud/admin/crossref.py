"""The Crossref 5.3.1 deposit for an NDI Cloud dataset, built with lxml (doi.md §3).

One ``database`` (NDI Cloud Open Datasets, DOI 10.63884/ndic.00000) holding one ``dataset`` record: contributors
with ORCIDs, title, dates, abstract, one funder assertion per funder, the license, related publications and the
DOI with the dataset's landing page. Optional parts without a value are left out, never written empty. Values go
in as text nodes, so nothing in a record can become markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from lxml import etree

from ..metadata import (
    DatasetMetadata,
    Issue,
    Publication,
    ensure_valid,
    license_url,
    normalize_doi,
    normalize_orcid,
)
from ..metadata.dates import utc_date
from ..metadata.identifiers import normalize_pmcid, normalize_pmid
from ..metadata.text import collapse_whitespace
from .constants import (
    DATABASE_DATE,
    DATABASE_DESCRIPTION,
    DATABASE_DOI,
    DATABASE_RESOURCE,
    DATABASE_TITLE,
    ORGANIZATION,
)
from .doi import dataset_resource_url, is_ndi_doi
from .errors import DoiUsageError
from .namespaces import ACCESS, CROSSREF, FUNDREF, NSMAP, RELATIONS, SCHEMA_LOCATION, XSI
from .settings import Depositor
from .timestamps import next_timestamp

VERSION = "5.3.1"
RELATIONSHIP = "isSupplementTo"  # the dataset supplements the article
_ATTRIBUTE_NAMES = {"relationship_type": "relationship-type", "identifier_type": "identifier-type"}


@dataclass(frozen=True)
class Deposit:
    """A built deposit: the XML, its tracking keys, and the metadata warnings met on the way."""

    xml: bytes
    doi_batch_id: str
    timestamp: int
    file_name: str
    doi: str | None = None
    dataset_id: str | None = None
    warnings: tuple[Issue, ...] = field(default=())


def _el(parent: etree._Element, tag: str, text: str | None = None, *, ns: str = CROSSREF,
        **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}",
                               {_ATTRIBUTE_NAMES.get(k, k): v for k, v in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, tag: str, day: date) -> None:
    element = _el(parent, tag, media_type="online")
    _el(element, "month", f"{day.month:02d}")
    _el(element, "day", f"{day.day:02d}")
    _el(element, "year", f"{day.year:04d}")


def _head(root: etree._Element, batch_id: str, timestamp: int, depositor: Depositor) -> None:
    head = _el(root, "head")
    _el(head, "doi_batch_id", batch_id)
    _el(head, "timestamp", str(timestamp))
    person = _el(head, "depositor")
    _el(person, "depositor_name", depositor.name)
    _el(person, "email_address", depositor.email)
    _el(head, "registrant", ORGANIZATION)


def _database_metadata(database: etree._Element) -> None:
    metadata = _el(database, "database_metadata", language="en")
    contributors = _el(metadata, "contributors")
    _el(contributors, "organization", ORGANIZATION, sequence="first", contributor_role="author")
    _el(_el(metadata, "titles"), "title", DATABASE_TITLE)
    _el(metadata, "description", DATABASE_DESCRIPTION)
    dates = _el(metadata, "database_date")
    _date(dates, "creation_date", DATABASE_DATE)
    _date(dates, "publication_date", DATABASE_DATE)
    doi_data = _el(metadata, "doi_data")
    _el(doi_data, "doi", DATABASE_DOI)
    _el(doi_data, "resource", DATABASE_RESOURCE)


def _contributors(dataset: etree._Element, meta: DatasetMetadata) -> None:
    if not meta.contributors:
        return
    contributors = _el(dataset, "contributors")
    for i, person in enumerate(meta.contributors):
        name = _el(contributors, "person_name", sequence="first" if i == 0 else "additional",
                   contributor_role="author")
        if person.given_name:
            _el(name, "given_name", person.given_name)
        _el(name, "surname", person.surname)
        if person.orcid and person.orcid.strip():
            _el(name, "ORCID", normalize_orcid(person.orcid))


def _dates(dataset: etree._Element, meta: DatasetMetadata, deposit_day: date) -> None:
    dates = _el(dataset, "database_date")
    created = utc_date(meta.created_at) if meta.created_at else None
    if created:
        _date(dates, "creation_date", created)
    _date(dates, "publication_date", created or deposit_day)
    if meta.updated_at:
        _date(dates, "update_date", utc_date(meta.updated_at))


def _funding(dataset: etree._Element, meta: DatasetMetadata) -> None:
    names = meta.funder_names()
    if names:
        program = _el(dataset, "program", ns=FUNDREF, name="fundref")
        for source in names:
            _el(program, "assertion", source, ns=FUNDREF, name="funder_name")


def _license(dataset: etree._Element, meta: DatasetMetadata) -> None:
    if meta.license and meta.license.strip():
        program = _el(dataset, "program", ns=ACCESS, name="AccessIndicators")
        _el(program, "license_ref", license_url(meta.license), ns=ACCESS)


def _relation(publication: Publication) -> tuple[str, str]:
    """The identifier of a related publication: its DOI (bare), else its PMID, else its PMCID."""
    if publication.doi and publication.doi.strip():
        return "doi", normalize_doi(publication.doi)
    if publication.pmid and publication.pmid.strip():
        return "pmid", normalize_pmid(publication.pmid)
    return "pmcid", normalize_pmcid(publication.pmcid)


def _publications(dataset: etree._Element, meta: DatasetMetadata) -> None:
    if not meta.associated_publications:
        return
    program = _el(dataset, "program", ns=RELATIONS, name="relations")
    for publication in meta.associated_publications:
        item = _el(program, "related_item", ns=RELATIONS)
        title = collapse_whitespace(publication.title or "")
        if title:
            _el(item, "description", title, ns=RELATIONS)
        kind, identifier = _relation(publication)
        _el(item, "inter_work_relation", identifier, ns=RELATIONS, relationship_type=RELATIONSHIP,
            identifier_type=kind)


def _dataset(database: etree._Element, meta: DatasetMetadata, doi: str, deposit_day: date) -> None:
    dataset = _el(database, "dataset", dataset_type="record")
    _contributors(dataset, meta)
    _el(_el(dataset, "titles"), "title", meta.title)
    _dates(dataset, meta, deposit_day)
    if meta.abstract and meta.abstract.strip():
        _el(dataset, "description", meta.abstract.strip())
    _funding(dataset, meta)
    _license(dataset, meta)
    _publications(dataset, meta)
    doi_data = _el(dataset, "doi_data")
    _el(doi_data, "doi", doi)
    _el(doi_data, "resource", dataset_resource_url(meta.id or ""))


def _root() -> etree._Element:
    root = etree.Element(f"{{{CROSSREF}}}doi_batch", nsmap=NSMAP)  # type: ignore[arg-type]
    root.set("version", VERSION)
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    return root


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_deposit(record: Mapping[str, Any] | DatasetMetadata, doi: str, *, timestamp: int | None = None,
                  depositor: Depositor | None = None, deposit_date: date | None = None) -> Deposit:
    """The deposit registering ``doi`` for a cloud dataset record.

    The record is validated for deposit first (:class:`~ndicloud.metadata.MetadataValidationError` lists every
    problem, and no XML is built). ``timestamp`` defaults to the next strictly larger UTC timestamp of this
    process; ``depositor`` to the ``CROSSREF_DEPOSITOR_*`` settings. ``deposit_date`` (default today, in UTC) is
    the publication date of a record without ``createdAt``: never the timestamp's day, which only orders
    versions and may be pushed past a receipt's from a clock that ran ahead.
    """
    values = record.to_record() if isinstance(record, DatasetMetadata) else dict(record)
    warnings = ensure_valid(values, for_deposit=True)
    if not is_ndi_doi(doi):
        raise DoiUsageError(f"{doi!r} is not an NDI Cloud dataset DOI (10.63884/ndic.<year>.<8 of a-z0-9>)")
    meta = DatasetMetadata.from_record(values)
    stamp = next_timestamp() if timestamp is None else timestamp
    batch_id = f"dataset_batch-{stamp}-{meta.id}"
    root = _root()
    _head(root, batch_id, stamp, depositor or Depositor.from_environment())
    database = _el(_el(root, "body"), "database")
    _database_metadata(database)
    _dataset(database, meta, doi, deposit_date or datetime.now(timezone.utc).date())
    return Deposit(_serialise(root), batch_id, stamp, f"{batch_id}.xml", doi, meta.id, tuple(warnings))


def build_database_deposit(*, timestamp: int | None = None, depositor: Depositor | None = None) -> Deposit:
    """A deposit of the database record alone (its DOI 10.63884/ndic.00000 and landing page)."""
    stamp = next_timestamp() if timestamp is None else timestamp
    batch_id = f"database_batch-{stamp}"
    root = _root()
    _head(root, batch_id, stamp, depositor or Depositor.from_environment())
    _database_metadata(_el(_el(root, "body"), "database"))
    return Deposit(_serialise(root), batch_id, stamp, f"{batch_id}.xml", DATABASE_DOI)
