"""Crossref deposit XML (doi.md §3, checklist items 3-19): content, order, pre-checks, the real XSD, offline."""

from __future__ import annotations

import re
import socket
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from ndicloud.admin import (
    DepositValidationError,
    SchemaUnavailable,
    build_database_deposit,
    build_deposit,
    load_schema,
    mint_doi,
    validate_deposit,
)
from ndicloud.admin import crossref as crossref_module
from ndicloud.admin.schema import MATHML_URL, compile_schema
from ndicloud.metadata import MetadataValidationError

from conftest import SHARED

SCHEMA_DIR = SHARED / "crossref-5.3.1"
CR = "http://www.crossref.org/schema/5.3.1"
FR = "http://www.crossref.org/fundref.xsd"
AI = "http://www.crossref.org/AccessIndicators.xsd"
REL = "http://www.crossref.org/relations.xsd"
NS = {"c": CR, "fr": FR, "ai": AI, "rel": REL}
DATASET_ID = "65f1a2b3c4d5e6f708192a3b"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building and validating deposits must never open a connection."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access during deposit building or validation")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("CROSSREF_SCHEMA_DIR", raising=False)
    monkeypatch.delenv("CROSSREF_DEPOSITOR_NAME", raising=False)
    monkeypatch.delenv("CROSSREF_DEPOSITOR_EMAIL", raising=False)


def full_record() -> dict:
    return {
        "_id": DATASET_ID, "name": "Orientation tuning in mouse  V1", "isPublished": True,
        "abstract": "Two-photon imaging of layer 2/3 neurons & their <tuning>.",
        "createdAt": "2024-04-08T23:30:00.123-02:00", "updatedAt": "2025-01-02T03:04:05Z",
        "contributors": [
            {"firstName": "Ada", "lastName": "Lovelace", "orcid": "0000-0002-1825-0097"},  # bare
            {"firstName": "Grace", "lastName": "Hopper", "orcid": "0000-0002-1694-233x"},  # bare, ending in x
            {"lastName": "Babbage"},  # no first name, no ORCID
            {"firstName": "Alan", "lastName": "Turing", "orcid": "http://orcid.org/0000-0001-5109-3700"},
        ],
        "funding": [{"source": "National Institutes of Health"}, {"source": "National Science Foundation"},
                    {"source": "National Institutes of Health"}],
        "license": "CC-BY-4.0",
        "associatedPublications": [
            {"DOI": "https://doi.org/10.1523/JNEUROSCI.1234-23.2024", "title": "The paper", "PMID": "38000000"},
            {"PMID": "31452104", "title": "Only a PubMed id"},
            {"PMCID": "pmc6704281"},
        ],
        "species": "Mus musculus", "numberOfSubjects": 4, "totalSize": 123,
    }


def minimal_record() -> dict:
    return {"_id": DATASET_ID, "name": "Minimal", "isPublished": True}


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def children(element: etree._Element) -> list[str]:
    names = []
    for child in element:
        uri, local = child.tag[1:].split("}")
        names.append({CR: "", FR: "fr:", AI: "ai:", REL: "rel:"}[uri] + local)
    return names


def dataset_of(xml: bytes) -> etree._Element:
    return tree(xml).find("c:body/c:database/c:dataset", NS)


def xsd_valid(xml: bytes) -> bool:
    schema = load_schema(SCHEMA_DIR)
    ok = schema.validate(etree.fromstring(xml))
    assert ok, "\n".join(str(e) for e in schema.error_log)
    return ok


# ---- 3, 4: valid deposits -------------------------------------------------------------------------------------------

def test_full_record_validates_against_the_real_xsd():
    deposit = build_deposit(full_record(), mint_doi())
    assert xsd_valid(deposit.xml)
    assert validate_deposit(deposit.xml, schema_dir=SCHEMA_DIR) == []
    assert deposit.xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_minimal_record_validates_against_the_real_xsd():
    deposit = build_deposit(minimal_record(), mint_doi())
    assert xsd_valid(deposit.xml)
    dataset = dataset_of(deposit.xml)
    assert children(dataset) == ["titles", "database_date", "doi_data"]
    assert validate_deposit(deposit.xml, schema_dir=SCHEMA_DIR) == []


def test_database_only_deposit_validates():
    deposit = build_database_deposit()
    assert deposit.doi_batch_id.startswith("database_batch-") and xsd_valid(deposit.xml)


# ---- 5: structure ---------------------------------------------------------------------------------------------------

def test_dataset_children_follow_the_spec_tree():
    doi = mint_doi()
    xml = build_deposit(full_record(), doi).xml
    root = tree(xml)
    assert root.get("version") == "5.3.1" and root.tag == f"{{{CR}}}doi_batch"
    assert root.nsmap == {None: CR, "fr": FR, "ai": AI, "rel": REL, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
    assert children(root) == ["head", "body"]
    assert children(root.find("c:head", NS)) == ["doi_batch_id", "timestamp", "depositor", "registrant"]
    dataset = dataset_of(xml)
    assert dataset.get("dataset_type") == "record"
    assert children(dataset) == ["contributors", "titles", "database_date", "description", "fr:program",
                                 "ai:program", "rel:program", "doi_data"]
    assert dataset.findtext("c:titles/c:title", namespaces=NS) == "Orientation tuning in mouse V1"
    assert dataset.findtext("c:description", namespaces=NS) == full_record()["abstract"]
    assert dataset.findtext("c:doi_data/c:doi", namespaces=NS) == doi
    assert dataset.findtext("c:doi_data/c:resource", namespaces=NS) == f"https://www.ndi-cloud.com/datasets/{DATASET_ID}"
    assert root.findtext("c:head/c:registrant", namespaces=NS) == "Waltham Data Science LLC"
    assert root.findtext("c:head/c:depositor/c:email_address", namespaces=NS) == "steve@walthamdatascience.com"


def test_database_metadata_carries_the_database_record():
    metadata = tree(build_deposit(minimal_record(), mint_doi()).xml).find("c:body/c:database/c:database_metadata",
                                                                            NS)
    assert metadata.get("language") == "en"
    organization = metadata.find("c:contributors/c:organization", NS)
    assert organization.text == "Waltham Data Science LLC"
    assert (organization.get("sequence"), organization.get("contributor_role")) == ("first", "author")
    assert metadata.findtext("c:titles/c:title", namespaces=NS) == "NDI Cloud Open Datasets"
    assert metadata.findtext("c:doi_data/c:doi", namespaces=NS) == "10.63884/ndic.00000"
    assert metadata.findtext("c:doi_data/c:resource", namespaces=NS) == "https://ndi-cloud.com"
    creation = metadata.find("c:database_date/c:creation_date", NS)
    assert [c.text for c in creation] == ["04", "08", "2024"]


def test_depositor_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("CROSSREF_DEPOSITOR_NAME", "NDI Cloud curation")
    monkeypatch.setenv("CROSSREF_DEPOSITOR_EMAIL", "curators@ndi-cloud.example")
    head = tree(build_deposit(minimal_record(), mint_doi()).xml).find("c:head/c:depositor", NS)
    assert [c.text for c in head] == ["NDI Cloud curation", "curators@ndi-cloud.example"]


# ---- 6, 7: contributors, ORCIDs, dates ------------------------------------------------------------------------------

def test_person_names_have_sequence_and_role():
    people = dataset_of(build_deposit(full_record(), mint_doi()).xml).findall("c:contributors/c:person_name", NS)
    assert [p.get("sequence") for p in people] == ["first", "additional", "additional", "additional"]
    assert {p.get("contributor_role") for p in people} == {"author"}
    assert children(people[0]) == ["given_name", "surname", "ORCID"]
    assert children(people[2]) == ["surname"]


def test_orcids_are_urls_with_an_upper_case_x():
    people = dataset_of(build_deposit(full_record(), mint_doi()).xml).findall("c:contributors/c:person_name", NS)
    assert [p.findtext("c:ORCID", namespaces=NS) for p in people] == [
        "https://orcid.org/0000-0002-1825-0097", "https://orcid.org/0000-0002-1694-233X", None,
        "https://orcid.org/0000-0001-5109-3700"]
    assert all(p.find("c:ORCID", NS) is None or p.find("c:ORCID", NS).get("authenticated") is None for p in people)


def test_dates_are_online_with_two_digit_month_and_day_in_utc():
    dates = dataset_of(build_deposit(full_record(), mint_doi()).xml).find("c:database_date", NS)
    assert children(dates) == ["creation_date", "publication_date", "update_date"]
    for element in dates:
        assert element.get("media_type") == "online"
        assert children(element) == ["month", "day", "year"]
        assert re.fullmatch(r"[0-9]{2}", element[0].text) and re.fullmatch(r"[0-9]{2}", element[1].text)
    assert [c.text for c in dates[0]] == ["04", "09", "2024"]  # 23:30 at -02:00 is the next day in UTC
    assert [c.text for c in dates[2]] == ["01", "02", "2025"]


def test_publication_date_falls_back_to_the_deposit_date():
    deposit = build_deposit(minimal_record(), mint_doi(), deposit_date=date(2025, 3, 7))
    dates = dataset_of(deposit.xml).find("c:database_date", NS)
    assert children(dates) == ["publication_date"] and [c.text for c in dates[0]] == ["03", "07", "2025"]


def test_a_timestamp_pushed_past_a_future_receipt_leaves_the_publication_date_today():
    """A receipt stamped by a clock that ran ahead pushes the next timestamp to year 2999; the deposit date
    stays today's (it was the timestamp's day, and the year failed the schema's 1400-2200)."""
    before = datetime.now(timezone.utc).date()
    deposit = build_deposit(minimal_record(), mint_doi(), timestamp=29991231235960)
    after = datetime.now(timezone.utc).date()
    published = dataset_of(deposit.xml).find("c:database_date/c:publication_date", NS)
    assert date(int(published[2].text), int(published[0].text), int(published[1].text)) in (before, after)
    assert xsd_valid(deposit.xml)


# ---- 8, 12, 13, 14: refused before any XML --------------------------------------------------------------------------

@pytest.fixture
def no_xml(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("XML was built for invalid metadata")
    monkeypatch.setattr(crossref_module, "_root", fail)


def refused(record: dict) -> list[str]:
    with pytest.raises(MetadataValidationError) as caught:
        build_deposit(record, mint_doi())
    return [str(issue) for issue in caught.value.errors]


def test_wrong_orcid_check_character_is_refused_naming_the_contributor(no_xml):
    record = full_record()
    record["contributors"][3]["orcid"] = "0000-0001-5109-3701"
    assert refused(record) == ['contributors[3].orcid: check character is wrong in "0000-0001-5109-3701"; re-copy '
                               "the iD from orcid.org"]


def test_malformed_publication_doi_is_refused(no_xml):
    record = full_record()
    record["associatedPublications"][0]["DOI"] = "https://doi.org/11.1523/x"
    assert [line.split(":")[0] for line in refused(record)] == ["associatedPublications[0].DOI"]


def test_malformed_dataset_doi_is_refused(no_xml):
    assert [line.split(":")[0] for line in refused({**full_record(), "doi": "10.63884"})] == ["doi"]
    with pytest.raises(ValueError, match="not an NDI Cloud dataset DOI"):
        build_deposit(full_record(), "10.63884/NDIC.2025.ABCDEFGH")


def test_empty_name_is_refused_before_any_xml(no_xml):
    assert refused({**minimal_record(), "name": "  "}) == ["name: missing or empty; give the dataset a title"]


def test_contributor_without_last_name_is_refused(no_xml):
    record = full_record()
    del record["contributors"][1]["lastName"]
    assert [line.split(":")[0] for line in refused(record)] == ["contributors[1].lastName"]


def test_unknown_license_is_refused(no_xml):
    assert [line.split(":")[0] for line in refused({**full_record(), "license": "Free For All"})] == ["license"]


# ---- 9, 10, 11: funding, license, relations -------------------------------------------------------------------------

def test_each_funder_gets_its_own_assertion():
    program = dataset_of(build_deposit(full_record(), mint_doi()).xml).find("fr:program", NS)
    assert program.get("name") == "fundref"
    assertions = program.findall("fr:assertion", NS)
    assert [(a.get("name"), a.text) for a in assertions] == [
        ("funder_name", "National Institutes of Health"), ("funder_name", "National Science Foundation")]


def test_legacy_comma_joined_funding_is_one_funder_never_split():
    deposit = build_deposit({**minimal_record(), "funding": {"source": "NIH, NSF"}}, mint_doi())
    assert sorted(w.field for w in deposit.warnings) == ["contributors", "funding", "license"]
    assert [a.text for a in dataset_of(deposit.xml).findall("fr:program/fr:assertion", NS)] == ["NIH, NSF"]
    warnings = validate_deposit(deposit.xml, schema_dir=SCHEMA_DIR)
    assert [w.severity for w in warnings] == ["warning"] and "joined by commas" in warnings[0].message


def test_license_by_name_becomes_its_url():
    for name in ("CC-BY-4.0", "CC BY 4.0"):
        program = dataset_of(build_deposit({**minimal_record(), "license": name}, mint_doi()).xml).find("ai:program",
                                                                                                       NS)
        assert program.get("name") == "AccessIndicators"
        refs = program.findall("ai:license_ref", NS)
        assert [(r.text, dict(r.attrib)) for r in refs] == [("https://creativecommons.org/licenses/by/4.0", {})]


def test_publications_become_is_supplement_to_relations():
    program = dataset_of(build_deposit(full_record(), mint_doi()).xml).find("rel:program", NS)
    assert program.get("name") == "relations"
    items = program.findall("rel:related_item", NS)
    relations = [item.find("rel:inter_work_relation", NS) for item in items]
    assert [(r.get("relationship-type"), r.get("identifier-type"), r.text) for r in relations] == [
        ("isSupplementTo", "doi", "10.1523/JNEUROSCI.1234-23.2024"),
        ("isSupplementTo", "pmid", "31452104"),
        ("isSupplementTo", "pmcid", "PMC6704281")]
    assert [item.findtext("rel:description", namespaces=NS) for item in items] == ["The paper", "Only a PubMed id",
                                                                                   None]


# ---- 15, 16, 17: pre-checks and XSD errors on hand-edited XML -------------------------------------------------------

def edited(change) -> bytes:
    root = tree(build_deposit(full_record(), "10.63884/ndic.2025.abcdefgh").xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def errors_of(xml: bytes) -> list[str]:
    with pytest.raises(DepositValidationError) as caught:
        validate_deposit(xml, schema_dir=SCHEMA_DIR)
    assert "nothing was sent" in str(caught.value)
    return caught.value.errors


def first_person(root):
    return root.find("c:body/c:database/c:dataset/c:contributors/c:person_name", NS)


def test_missing_surname_is_caught_by_the_prechecks():
    def drop_surname(root):
        person = first_person(root)
        person.remove(person.find("c:surname", NS))
    errors = errors_of(edited(drop_surname))
    path = "/doi_batch/body/database/dataset/contributors/person_name[1]"
    assert f"{path}: has no surname; every person_name needs <surname> (family name)" in errors


def test_bare_orcid_in_xml_is_caught_by_the_prechecks():
    def bare(root):
        first_person(root).find("c:ORCID", NS).text = "0000-0002-1825-0097"
    errors = errors_of(edited(bare))
    assert ("/doi_batch/body/database/dataset/contributors/person_name[1]/ORCID: '0000-0002-1825-0097' is not an "
            "ORCID URL; expected the form https://orcid.org/dddd-dddd-dddd-dddC (C a digit or X)") in errors


def test_wrong_orcid_check_character_in_xml_is_caught():
    def wrong(root):
        first_person(root).find("c:ORCID", NS).text = "https://orcid.org/0000-0002-1825-0098"
    errors = errors_of(edited(wrong))
    assert any("person_name[1]/ORCID: check character is wrong" in e for e in errors)


def test_description_before_titles_is_caught_naming_the_order():
    def swap(root):
        dataset = root.find("c:body/c:database/c:dataset", NS)
        description = dataset.find("c:description", NS)
        dataset.remove(description)
        dataset.insert(1, description)
    errors = errors_of(edited(swap))
    order = ("dataset takes its children in this order: contributors, titles, database_date, publisher_item, "
             "description, format, crossmark, fr:program, ai:program, rel:program, archive_locations, doi_data, "
             "citation_list, component_list")
    assert f"/doi_batch/body/database/dataset/titles: out of order (it comes after description); {order}" in errors


def test_relations_after_doi_data_is_caught():
    def move(root):
        dataset = root.find("c:body/c:database/c:dataset", NS)
        program = dataset.find("rel:program", NS)
        dataset.remove(program)
        dataset.append(program)
    errors = errors_of(edited(move))
    assert any(e.startswith("/doi_batch/body/database/dataset/rel:program: out of order (it comes after doi_data)")
               for e in errors)


def test_xsd_errors_are_listed_one_per_line_with_line_numbers():
    def break_schema(root):
        person = first_person(root)
        del person.attrib["contributor_role"]
        root.find("c:head/c:depositor/c:email_address", NS).text = "a@b.c"  # 5 chars: too short for the XSD
    errors = errors_of(edited(break_schema))
    xsd = [e for e in errors if e.startswith("line ")]
    assert len(xsd) == 2
    assert re.fullmatch(r"line [0-9]+: email_address: .*", xsd[0]) and "minimum length" in xsd[0]
    assert re.fullmatch(r"line [0-9]+: person_name: .*contributor_role.*", xsd[1])
    assert "{http" not in "\n".join(errors)


def test_what_the_xsd_accepts_but_we_refuse():
    def damage(root):
        dataset = root.find("c:body/c:database/c:dataset", NS)
        dates = dataset.find("c:database_date", NS)
        dates[0].find("c:month", NS).text = "13"
        dates[2].find("c:month", NS).text = "04"
        dates[2].find("c:day", NS).text = "31"
        root.find("c:head/c:timestamp", NS).text = "20250101"
        first_person(root).find("c:given_name", NS).text = "Ada2"
        dataset.find("c:doi_data/c:doi", NS).text = "10.63884/ndic.2025.ABCDEFGH"
        dataset.find("c:titles/c:title", NS).text = " "
        relation = dataset.find("rel:program/rel:related_item/rel:inter_work_relation", NS)
        relation.text = "https://doi.org/10.1523/x"
        program = dataset.find("ai:program", NS)
        program.remove(program[0])
    errors = errors_of(edited(damage))
    assert all(not e.startswith("line ") for e in errors), errors  # all of these pass the XSD itself
    expected = ["creation_date/month: '13' is not a month", "update_date/day: '31' is not a day of 2025-04",
                "head/timestamp: '20250101' is not a 14-digit", "given_name: 'Ada2' contains digits",
                "doi_data/doi: '10.63884/ndic.2025.ABCDEFGH' is not an NDI Cloud dataset DOI",
                "titles/title: is empty", "inter_work_relation: 'https://doi.org/10.1523/x' is not a bare DOI",
                "ai:program: is empty"]
    for part in expected:
        assert any(part in e for e in errors), part


def test_xml_that_is_not_well_formed_is_refused():
    assert errors_of(b"<doi_batch><head></doi_batch>")[0].startswith("line 1: not well-formed XML")


# ---- 18: the schema, offline ----------------------------------------------------------------------------------------

def test_without_a_schema_folder_the_error_names_the_setting():
    with pytest.raises(SchemaUnavailable, match="CROSSREF_SCHEMA_DIR"):
        validate_deposit(build_deposit(minimal_record(), mint_doi()).xml)
    with pytest.raises(SchemaUnavailable, match="CROSSREF_SCHEMA_DIR"):
        load_schema()


def test_schema_folder_from_the_setting(monkeypatch):
    monkeypatch.setenv("CROSSREF_SCHEMA_DIR", str(SCHEMA_DIR))
    assert load_schema() is load_schema(SCHEMA_DIR)  # compiled once per folder


def test_a_folder_without_the_schema_is_named(tmp_path):
    with pytest.raises(SchemaUnavailable, match=r"has no crossref5\.3\.1\.xsd"):
        load_schema(tmp_path)


def test_mathml_import_is_mapped_and_other_remote_imports_are_refused(tmp_path: Path):
    # the real schema set imports MathML from the W3C: compiling it offline works (sockets are refused here)
    assert MATHML_URL in (SCHEMA_DIR / "crossref5.3.1.xsd").read_text(encoding="utf-8")
    load_schema(SCHEMA_DIR)
    # a schema importing anything else remote is refused, naming the location
    remote = "http://schemas.example.org/other.xsd"
    (tmp_path / "crossref5.3.1.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a">'
        f'<xsd:import namespace="urn:b" schemaLocation="{remote}"/></xsd:schema>', encoding="utf-8")
    with pytest.raises(SchemaUnavailable, match=re.escape(remote) + ".*not fetched from the network"):
        compile_schema(tmp_path)


# ---- 19, 21: head timestamp and batch id ----------------------------------------------------------------------------

def test_timestamps_are_14_digit_utc_and_strictly_increase():
    before = int(datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S"))
    stamps = [build_deposit(minimal_record(), mint_doi()).timestamp for _ in range(5)]
    assert all(re.fullmatch(r"[0-9]{14}", str(s)) for s in stamps)
    assert stamps == sorted(set(stamps)) and stamps[0] >= before
    assert stamps[0] - before < 100  # UTC "now", not local time hours away
    head = tree(build_deposit(minimal_record(), mint_doi()).xml).findtext("c:head/c:timestamp", namespaces=NS)
    assert int(head) > stamps[-1]


def test_batch_ids_are_unique_short_and_plain():
    deposits = [build_deposit(minimal_record(), mint_doi()) for _ in range(3)]
    ids = [d.doi_batch_id for d in deposits]
    assert len(set(ids)) == 3
    for deposit in deposits:
        assert re.fullmatch(r"[A-Za-z0-9_-]{4,100}", deposit.doi_batch_id)
        assert deposit.doi_batch_id == f"dataset_batch-{deposit.timestamp}-{DATASET_ID}"
        assert deposit.file_name == deposit.doi_batch_id + ".xml"
        assert tree(deposit.xml).findtext("c:head/c:doi_batch_id", namespaces=NS) == deposit.doi_batch_id
