"""Property tests of the Crossref deposit: every dataset record the metadata checks accept becomes a deposit
that validates against the real Crossref 5.3.1 schema, and every record they refuse is refused with a
``field: message`` problem, never with another error. Records are random: names and texts with XML's special
characters, control characters and any Unicode, contributors with and without valid ORCID iDs, funders,
licences by name or URL or unknown, publications with DOIs, PMIDs and PMCIDs, dates in several spellings."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ndicloud.admin import DepositValidationError, build_deposit, load_schema, mint_doi
from ndicloud.metadata import MetadataValidationError

from conftest import SHARED

SCHEMA_DIR = SHARED / "crossref-5.3.1"
SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during deposit building")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("CROSSREF_SCHEMA_DIR", raising=False)


def orcid_check_character(digits: str) -> str:
    """ISO 7064 MOD 11-2, as ORCID defines it."""
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@st.composite
def orcids(draw: st.DrawFn) -> str:
    digits = draw(st.text("0123456789", min_size=15, max_size=15))
    bare = f"{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:]}{orcid_check_character(digits)}"
    return draw(st.sampled_from((bare, bare.lower(), f"https://orcid.org/{bare}", f"http://orcid.org/{bare}")))


texts = st.one_of(st.text(max_size=40), st.sampled_from(("", " ", "a & b", "<b>x</b>", "\x00", "\x0b", "\ud7ff",
                                                         "naïve café", "  padded  ", "x" * 300)))
names = st.one_of(st.text(alphabet=st.characters(categories=("L", "Zs")), min_size=1, max_size=30), texts)
dates = st.one_of(st.sampled_from(("2024-04-08T23:30:00.123-02:00", "2025-01-02T03:04:05Z", "2024-02-29",
                                   "not a date", "")),
                  st.datetimes().map(lambda d: d.isoformat()))
contributors = st.fixed_dictionaries({"lastName": names}, optional={
    "firstName": names, "orcid": st.one_of(orcids(), texts)})
publications = st.fixed_dictionaries({}, optional={
    "DOI": st.one_of(st.sampled_from(("10.1523/JNEUROSCI.1234-23.2024", "https://doi.org/10.1000/xyz<1>",
                                      "10.1000/", "doi:10.1000/a b")), texts),
    "PMID": st.one_of(st.integers(1, 99_999_999).map(str), texts),
    "PMCID": st.one_of(st.integers(1, 9_999_999).map(lambda n: f"PMC{n}"), texts),
    "title": texts})


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {"_id": "65f1a2b3c4d5e6f708192a3b", "name": draw(names), "isPublished": True}
    optional = {
        "abstract": texts, "createdAt": dates, "updatedAt": dates,
        "contributors": st.lists(contributors, max_size=4),
        "funding": st.lists(st.fixed_dictionaries({"source": names}), max_size=3),
        "license": st.sampled_from(("CC-BY-4.0", "CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/",
                                    "CC0-1.0", "not a licence", "")),
        "associatedPublications": st.lists(publications, max_size=3),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            record[key] = draw(strategy)
    return record


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return load_schema(SCHEMA_DIR)


@SETTINGS
@given(record=records())
def test_an_accepted_record_is_a_valid_deposit_and_a_refused_one_names_its_field(record: dict[str, Any],
                                                                               schema: etree.XMLSchema) -> None:
    try:
        deposit = build_deposit(record, mint_doi())
    except MetadataValidationError as exc:  # each error names a field of the record
        assert exc.errors, record
        assert all(issue.field.split("[")[0].split(".")[0] in record for issue in exc.errors), exc.errors
        return
    except DepositValidationError as exc:  # found by the checks made on the XML itself
        assert str(exc).strip(), record
        return
    assert schema.validate(etree.fromstring(deposit.xml)), "\n".join(str(e) for e in schema.error_log)
