"""``DatasetMetadata``: a typed view of an NDI Cloud dataset record (doi.md §5.1, cloud-api §4).

``from_record`` reads leniently (it never raises: checking is :mod:`.validation`'s job) and keeps every field
it does not model, verbatim, so ``to_record`` gives back what the service would: nothing is lost on the way.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .text import collapse_whitespace


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _extra(record: Mapping[str, Any], known: Container[str]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in known}


_EntryT = TypeVar("_EntryT", bound="_Entry")


class _Entry:
    """One object of a record's list: the text fields named in ``FIELDS`` (JSON key -> attribute) typed,
    every other key kept verbatim in ``extra``."""

    FIELDS: ClassVar[dict[str, str]]
    extra: dict[str, Any]

    @classmethod
    def from_record(cls: type[_EntryT], record: Mapping[str, Any]) -> _EntryT:
        return cls(**{attr: _text(record.get(key)) for key, attr in cls.FIELDS.items()},
                   extra=_extra(record, cls.FIELDS))

    def to_record(self) -> dict[str, Any]:
        values = {key: getattr(self, attr) for key, attr in self.FIELDS.items()}
        return {**self.extra, **{k: v for k, v in values.items() if v is not None}}


@dataclass
class Person(_Entry):
    """A contributor or corresponding author: ``{firstName?, lastName, orcid?, contact?}``."""

    last_name: str | None
    first_name: str | None = None
    orcid: str | None = None
    contact: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS: ClassVar[dict[str, str]] = {"firstName": "first_name", "lastName": "last_name", "orcid": "orcid",
                                        "contact": "contact"}

    @property
    def given_name(self) -> str:
        return collapse_whitespace(self.first_name or "")

    @property
    def surname(self) -> str:
        return collapse_whitespace(self.last_name or "")


@dataclass
class Funder(_Entry):
    """One ``funding`` entry: ``{source}``."""

    source: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS: ClassVar[dict[str, str]] = {"source": "source"}


@dataclass
class Publication(_Entry):
    """One ``associatedPublications`` entry: ``{DOI?, title?, PMID?, PMCID?}``."""

    doi: str | None = None
    title: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS: ClassVar[dict[str, str]] = {"DOI": "doi", "title": "title", "PMID": "pmid", "PMCID": "pmcid"}


def _entries(kind: type[_EntryT], value: Any) -> list[_EntryT]:
    return [kind.from_record(v) for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


_STRINGS = {"name": "name", "abstract": "abstract", "description": "description", "branchName": "branch_name",
            "affiliation": "affiliation", "className": "class_name", "license": "license", "doi": "doi",
            "species": "species", "brainRegions": "brain_regions", "publishStatus": "publish_status",
            "createdAt": "created_at", "updatedAt": "updated_at", "organizationId": "organization_id"}
_LISTS = ("contributors", "correspondingAuthors", "funding", "associatedPublications")
_COUNTS = {"numberOfSubjects": "number_of_subjects", "neurons": "neurons"}
_FLAGS = {"isPublished": "is_published", "isDeleted": "is_deleted"}
_KNOWN = ("_id", "id", *_STRINGS, *_LISTS, *_COUNTS, *_FLAGS)


@dataclass
class DatasetMetadata:
    """The fields of a cloud dataset record that metadata and DOI registration use, typed; the rest in ``extra``."""

    id: str | None = None
    name: str | None = None
    abstract: str | None = None
    description: str | None = None
    branch_name: str | None = None
    affiliation: str | None = None
    class_name: str | None = None
    license: str | None = None
    doi: str | None = None
    species: str | None = None
    brain_regions: str | None = None
    publish_status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    organization_id: str | None = None
    contributors: list[Person] = field(default_factory=list)
    corresponding_authors: list[Person] = field(default_factory=list)
    funding: list[Funder] = field(default_factory=list)
    associated_publications: list[Publication] = field(default_factory=list)
    number_of_subjects: int | None = None
    neurons: int | None = None
    is_published: bool | None = None
    is_deleted: bool | None = None
    id_key: str = "_id"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> DatasetMetadata:
        """The typed view of a record (a detail with ``_id`` or a list item with ``id``)."""
        id_key = "_id" if isinstance(record.get("_id"), str) else "id"
        funding = record.get("funding")  # a single object is the legacy form (doi.md §5.5 item 3)
        values: dict[str, Any] = {attr: _text(record.get(key)) for key, attr in _STRINGS.items()}
        values.update({attr: _count(record.get(key)) for key, attr in _COUNTS.items()})
        values.update({attr: record[key] if isinstance(record.get(key), bool) else None
                       for key, attr in _FLAGS.items()})
        return cls(id=_text(record.get(id_key)), id_key=id_key,
                   contributors=_entries(Person, record.get("contributors")),
                   corresponding_authors=_entries(Person, record.get("correspondingAuthors")),
                   funding=_entries(Funder, [funding] if isinstance(funding, Mapping) else funding),
                   associated_publications=_entries(Publication, record.get("associatedPublications")),
                   extra=_extra(record, _KNOWN), **values)

    def to_record(self) -> dict[str, Any]:
        """The record again: modelled fields that are set, and every unknown field as it came."""
        record: dict[str, Any] = dict(self.extra)
        if self.id is not None:
            record[self.id_key] = self.id
        for key, attr in {**_STRINGS, **_COUNTS, **_FLAGS}.items():
            if getattr(self, attr) is not None:
                record[key] = getattr(self, attr)
        record["contributors"] = [p.to_record() for p in self.contributors]
        record["correspondingAuthors"] = [p.to_record() for p in self.corresponding_authors]
        record["funding"] = [f.to_record() for f in self.funding]
        record["associatedPublications"] = [p.to_record() for p in self.associated_publications]
        return record

    @property
    def title(self) -> str:
        """The name with runs of whitespace collapsed (what Crossref gets as the title)."""
        return collapse_whitespace(self.name or "")

    def funder_names(self) -> list[str]:
        """Funder names, trimmed, without exact repeats, in first-seen order (never joined)."""
        names: list[str] = []
        for funder in self.funding:
            source = (funder.source or "").strip()
            if source and source not in names:
                names.append(source)
        return names
