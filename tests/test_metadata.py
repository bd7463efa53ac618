"""Dataset metadata (doi.md §5): identifiers, licenses, the validation rules, the typed record, the editor."""

from __future__ import annotations

import re

import pytest

from ndicloud.metadata import (
    PLACEHOLDER_DOI,
    DatasetMetadata,
    MetadataValidationError,
    create_cloud_metadata_struct,
    dataset_creation_body,
    editor_to_cloud_body,
    ensure_valid,
    license_url,
    must_be_valid_metadata,
    normalize_doi,
    normalize_orcid,
    parse_timestamp,
    validate_dataset_metadata,
    validate_editor_metadata,
)

from conftest import SHARED

SPEC = SHARED / "spec" / "doi.md"
# ORCID's own documentation examples (valid check characters), one of them ending in X
VALID_ORCID = "0000-0002-1825-0097"
VALID_ORCID_X = "0000-0002-1694-233X"


def fields(issues, severity="error"):
    return [i.field for i in issues if i.severity == severity]


def message_of(issues, field):
    return next(i.message for i in issues if i.field == field)


def spec_license_table() -> dict[str, str]:
    """The name -> URL table of doi.md §3.5, read from the spec itself."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index("### 3.5 License"):text.index("### 3.6")]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("http"):
            table[cells[0]] = cells[1]
            table[cells[2]] = cells[3]
    assert len(table) == 30
    return table


# ---- identifiers ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [VALID_ORCID, f"https://orcid.org/{VALID_ORCID}", f"http://orcid.org/{VALID_ORCID}",
                                   f"orcid.org/{VALID_ORCID}", f"  {VALID_ORCID} "])
def test_orcid_forms_normalise_to_the_url(value):
    assert normalize_orcid(value) == f"https://orcid.org/{VALID_ORCID}"


def test_orcid_ending_in_x_either_case_gets_an_upper_case_x():
    assert normalize_orcid(VALID_ORCID_X) == f"https://orcid.org/{VALID_ORCID_X}"
    assert normalize_orcid(VALID_ORCID_X.lower()) == f"https://orcid.org/{VALID_ORCID_X}"
    assert normalize_orcid("orcid.org/" + VALID_ORCID_X.lower()) == f"https://orcid.org/{VALID_ORCID_X}"


@pytest.mark.parametrize("value", ["0000-0002-1825-0098", "0000-0002-1694-2339"])
def test_orcid_wrong_check_character_is_refused(value):
    with pytest.raises(ValueError, match=f'check character is wrong in "{value}"; re-copy the iD from orcid.org'):
        normalize_orcid(value)


@pytest.mark.parametrize("value", ["https://orcid.org/", "0000-0002-1825", "0000000218250097",
                                   "ORCID 0000-0002-1825-0097", "https://example.org/0000-0002-1825-0097", 12])
def test_orcid_other_shapes_are_refused(value):
    with pytest.raises(ValueError, match="ORCID"):
        normalize_orcid(value)


@pytest.mark.parametrize("value", ["10.1234/abc", "doi:10.1234/abc", "https://doi.org/10.1234/abc",
                                   "http://doi.org/10.1234/abc", "https://dx.doi.org/10.1234/abc",
                                   "http://dx.doi.org/10.1234/abc", "https://doi.org://10.1234/abc", " 10.1234/abc "])
def test_doi_forms_normalise_to_the_bare_doi(value):
    assert normalize_doi(value) == "10.1234/abc"


@pytest.mark.parametrize("value", ["11.1234/abc", "10.123/abc", "10.1234/", "10.1234/a b", "https://doi.org/",
                                   "10.1234", "10.1234567890/x", "10.1234/" + "a" * 201])
def test_malformed_dois_are_refused(value):
    with pytest.raises(ValueError, match="is not a DOI"):
        normalize_doi(value)


# ---- licenses (checklist 10) ----------------------------------------------------------------------------------------

def test_every_license_name_of_the_spec_maps_to_its_url():
    for name, url in spec_license_table().items():
        assert license_url(name) == url, name
        assert license_url(name.lower()) == url, name


@pytest.mark.parametrize("value", ["CC-BY-4.0", "CC BY 4.0", "CC-BY 4.0", "cc by 4.0", "ccBy4_0",
                                   "Creative Commons Attribution 4.0",
                                   "Creative Commons Attribution 4.0 International"])
def test_creative_commons_spellings_resolve(value):
    assert license_url(value) == "https://creativecommons.org/licenses/by/4.0"


def test_matlab_alias_resolves():
    assert license_url("ccByNcSa4_0") == "https://creativecommons.org/licenses/by-nc-sa/4.0"


def test_a_license_url_passes_through():
    assert license_url("https://example.org/my-license") == "https://example.org/my-license"


def test_unknown_license_is_refused_naming_license():
    issues = validate_dataset_metadata({"name": "x", "license": "Do What You Like 1.0"})
    assert fields(issues) == ["license"]
    assert message_of(issues, "license") == ('unknown license "Do What You Like 1.0"; use a name such as CC-BY-4.0 '
                                             "or a license URL")


def test_license_without_a_web_page_asks_for_the_url():
    with pytest.raises(ValueError, match='"youtube" has no license URL; give the URL instead'):
        license_url("youtube")


# ---- validation rules -----------------------------------------------------------------------------------------------

def test_a_good_record_has_no_issue():
    record = {"name": "Visual cortex recordings", "abstract": "text", "license": "CC-BY-4.0",
              "contributors": [{"firstName": "Ada", "lastName": "Lovelace", "orcid": VALID_ORCID,
                                "contact": "ada@lab.org"}],
              "funding": [{"source": "NIH"}], "associatedPublications": [{"DOI": "10.1234/abc", "title": "Paper"}],
              "doi": "https://doi.org/10.63884/ndic.2025.jyxfer8m", "createdAt": "2025-01-02T03:04:05.678Z",
              "numberOfSubjects": 3, "neurons": 0}
    assert validate_dataset_metadata(record) == []


@pytest.mark.parametrize("name", ["", "   ", "\n\t", None, 5])
def test_empty_name_is_an_error(name):
    issues = validate_dataset_metadata({"name": name})
    assert fields(issues) == ["name"]
    assert "give the dataset a title" in message_of(issues, "name")


def test_contributor_without_last_name_is_an_error():
    issues = validate_dataset_metadata({"name": "x", "contributors": [{"lastName": "Ok"}, {"firstName": "Ada"}]})
    assert fields(issues) == ["contributors[1].lastName"]
    assert "surname" in message_of(issues, "contributors[1].lastName")


def test_bad_orcid_checksum_names_the_field_and_the_fix():
    issues = validate_dataset_metadata({"name": "x", "correspondingAuthors": [
        {"lastName": "A"}, {"lastName": "B", "orcid": "0000-0002-1825-0098"}]})
    assert [str(i) for i in issues] == ['correspondingAuthors[1].orcid: check character is wrong in '
                                        '"0000-0002-1825-0098"; re-copy the iD from orcid.org']


def test_misspelt_orchid_key_says_to_rename_it():
    issues = validate_dataset_metadata({"name": "x", "contributors": [{"lastName": "A", "orchid": VALID_ORCID}]})
    assert message_of(issues, "contributors[0].orchid") == "misspelt key; rename it to orcid"


@pytest.mark.parametrize("name", ["Ada2", "A?a", "12345", "x" * 61, "--"])
def test_contributor_names_need_letters_and_no_digits(name):
    issues = validate_dataset_metadata({"name": "x", "contributors": [{"lastName": name}]})
    assert fields(issues) == ["contributors[0].lastName"]


def test_bad_contact_is_an_error():
    issues = validate_dataset_metadata({"name": "x", "contributors": [{"lastName": "A", "contact": "not mail"}]})
    assert fields(issues) == ["contributors[0].contact"]


def test_funding_rules():
    issues = validate_dataset_metadata({"name": "x", "funding": [{"source": "NIH"}, {"source": " "}, "NSF"]})
    assert fields(issues) == ["funding[1].source", "funding[2]"]
    legacy = validate_dataset_metadata({"name": "x", "funding": {"source": "NIH, NSF"}})
    assert fields(legacy) == [] and fields(legacy, "warning") == ["funding"]
    assert "legacy form" in message_of(legacy, "funding")


def test_publication_rules():
    issues = validate_dataset_metadata({"name": "x", "associatedPublications": [
        {"title": "no id"}, {"doi": "10.1234/abc"}, {"DOI": "10.12/x"}, {"PMID": "12a"}, {"PMCID": "PM123"},
        {"PMID": 31452104}, {"PMCID": "pmc6704281"}]})
    assert fields(issues) == ["associatedPublications[0]", "associatedPublications[1].doi", "associatedPublications[1]",
                              "associatedPublications[2].DOI", "associatedPublications[3].PMID",
                              "associatedPublications[4].PMCID"]
    assert message_of(issues, "associatedPublications[1].doi") == "lower-case key; use DOI"


def test_malformed_dataset_doi_names_doi():
    issues = validate_dataset_metadata({"name": "x", "doi": "doi.org/10.63884/x"})
    assert fields(issues) == ["doi"] and "is not a DOI" in message_of(issues, "doi")


def test_placeholder_doi_is_an_error_except_for_deposit():
    for value in (PLACEHOLDER_DOI, "10.1000/123456789"):
        issues = validate_dataset_metadata({"name": "x", "doi": value})
        assert [str(i) for i in issues] == ["doi: placeholder DOI; remove it"]
        deposit = validate_dataset_metadata({"_id": "a" * 24, "name": "x", "doi": value, "license": "MIT",
                                             "contributors": [{"lastName": "A"}]}, for_deposit=True)
        assert fields(deposit) == [] and fields(deposit, "warning") == ["doi"]


def test_dates_and_counts():
    issues = validate_dataset_metadata({"name": "x", "createdAt": "yesterday", "updatedAt": "2024-02-30T00:00:00Z",
                                        "numberOfSubjects": -1, "neurons": 2.5})
    assert fields(issues) == ["createdAt", "updatedAt", "numberOfSubjects", "neurons"]


@pytest.mark.parametrize("value", ["2024-04-08T12:00:00Z", "2024-04-08T12:00:00.123Z", "2024-04-08T12:00:00.123456789Z",
                                   "2024-04-08T14:00:00+02:00", "2024-04-08T14:00:00.5+0200", "2024-04-08"])
def test_timestamps_parse_to_utc(value):
    moment = parse_timestamp(value)
    assert (moment.year, moment.month, moment.day) == (2024, 4, 8) and moment.utcoffset().total_seconds() == 0


def test_utc_calendar_date_is_taken():
    assert parse_timestamp("2024-04-08T23:30:00-02:00").day == 9


def test_xml_forbidden_characters_are_errors():
    issues = validate_dataset_metadata({"name": "bell\x07", "contributors": [{"lastName": "A\x00b"}]})
    assert {"name", "contributors[0].lastName"} <= set(fields(issues))
    assert "U+0007" in message_of(issues, "name")


def test_deposit_rules_need_an_id_and_warn_about_license_and_contributors():
    issues = validate_dataset_metadata({"name": "x"}, for_deposit=True)
    assert fields(issues) == ["_id"]
    assert fields(issues, "warning") == ["license", "contributors"]


def test_every_issue_is_collected_and_reported():
    record = {"name": "", "contributors": [{"firstName": "A"}], "license": "nope", "doi": "bad"}
    with pytest.raises(MetadataValidationError) as caught:
        ensure_valid(record)
    assert [i.field for i in caught.value.errors] == ["name", "contributors[0].lastName", "license", "doi"]
    assert str(caught.value).count("\n") == 4


# ---- typed record ---------------------------------------------------------------------------------------------------

def test_typed_record_keeps_unknown_fields_verbatim():
    record = {"_id": "a" * 24, "name": "n", "totalSize": 12, "files": [{"uid": "u"}], "custom": {"x": [1]},
              "contributors": [{"firstName": "A", "lastName": "B", "orcid": VALID_ORCID, "role": "PI"}],
              "associatedPublications": [{"DOI": "10.1/x", "journal": "J"}], "funding": [{"source": "S", "award": "1"}],
              "isPublished": True, "numberOfSubjects": 2}
    meta = DatasetMetadata.from_record(record)
    assert meta.id == "a" * 24 and meta.contributors[0].orcid == VALID_ORCID and meta.number_of_subjects == 2
    again = meta.to_record()
    for key, value in record.items():
        assert again[key] == value, key


def test_typed_record_reads_a_legacy_funding_object_as_one_funder():
    meta = DatasetMetadata.from_record({"name": "n", "funding": {"source": "A, B"}})
    assert meta.funder_names() == ["A, B"]


def test_funder_names_drop_exact_repeats_in_first_seen_order():
    meta = DatasetMetadata.from_record({"name": "n", "funding": [{"source": "B"}, {"source": "A"}, {"source": "B"}]})
    assert meta.funder_names() == ["B", "A"]


# ---- MetadataEditor structure (checklist 36, 37) --------------------------------------------------------------------

def editor(**changes):
    value = {
        "DatasetFullName": "Recordings  from V1", "DatasetShortName": "v1rec",
        "Description": ["First paragraph.", "", "Second paragraph."],
        "Author": [
            {"givenName": "Ada", "familyName": "Lovelace", "authorRole": ["Custodian", "Corresponding"],
             "digitalIdentifier": {"identifier": VALID_ORCID_X.lower(), "type": "ORCID"},
             "contactInformation": {"email": "ada@lab.org"}},
            {"givenName": " Charles ", "familyName": "Babbage", "authorRole": "1st Author",
             "digitalIdentifier": {"identifier": ""}},
            {"givenName": "Grace", "familyName": "Hopper", "authorRole": "Corresponding",
             "digitalIdentifier": {"identifier": f"https://orcid.org/{VALID_ORCID}"}},
        ],
        "Funding": [{"funder": "NIH", "awardTitle": "a"}, {"funder": "NSF"}, {"funder": "NIH"}],
        "License": "CC-BY-4.0",
        "Subjects": [{"SpeciesList": {"Name": "Mus musculus"}}, {"SpeciesList": [{"Name": "Rattus norvegicus"}]},
                     {"SpeciesList": {"Name": "Mus musculus"}}],
        "RelatedPublication": [{"DOI": "https://doi.org/10.1234/abc", "Publication": "Paper one", "PMID": "",
                                "PMCID": ""},
                               {"DOI": "", "Publication": "Paper two", "PMID": "31452104", "PMCID": "PMC6704281"}],
    }
    value.update(changes)
    return value


def test_editor_conversion_fixes_the_reference_defects():
    body = editor_to_cloud_body(editor())
    assert "doi" not in body
    assert body["name"] == "Recordings from V1" and body["branchName"] == "v1rec"
    assert body["abstract"] == "First paragraph."
    assert body["contributors"] == [
        {"firstName": "Ada", "lastName": "Lovelace", "orcid": f"https://orcid.org/{VALID_ORCID_X}",
         "contact": "ada@lab.org"},
        {"firstName": "Charles", "lastName": "Babbage"},
        {"firstName": "Grace", "lastName": "Hopper", "orcid": f"https://orcid.org/{VALID_ORCID}"}]
    assert all("orchid" not in person for person in body["contributors"])
    assert [p["lastName"] for p in body["correspondingAuthors"]] == ["Lovelace", "Hopper"]
    assert body["funding"] == [{"source": "NIH"}, {"source": "NSF"}]
    assert body["license"] == "CC-BY-4.0"
    assert body["species"] == "Mus musculus, Rattus norvegicus" and body["numberOfSubjects"] == 3
    assert body["associatedPublications"] == [{"DOI": "https://doi.org/10.1234/abc", "title": "Paper one"},
                                              {"title": "Paper two", "PMID": "31452104", "PMCID": "PMC6704281"}]
    assert validate_dataset_metadata(body) == []


def test_editor_with_one_author_as_a_bare_object_and_no_publications():
    body = editor_to_cloud_body(editor(Author=editor()["Author"][1], RelatedPublication=[], Description="Only."))
    assert body["contributors"] == [{"firstName": "Charles", "lastName": "Babbage"}]
    assert body["correspondingAuthors"] == [] and "associatedPublications" not in body
    assert body["abstract"] == "Only."


def test_editor_validation_accepts_empty_funding_and_subjects():
    issues = validate_editor_metadata(editor(Funding=[], Subjects=[]))
    assert fields(issues) == []
    body = create_cloud_metadata_struct(editor(Funding=[], Subjects=[]))
    assert body["funding"] == [] and body["numberOfSubjects"] == 0


def test_editor_validation_names_every_missing_key():
    authors = editor()["Author"]
    del authors[1]["familyName"]
    del authors[2]["digitalIdentifier"]["identifier"]
    value = editor(Author=authors, Funding=[{"awardTitle": "x"}])
    del value["License"]
    issues = validate_editor_metadata(value)
    assert fields(issues) == ["License", "Author[1].familyName", "Author[2].digitalIdentifier.identifier",
                              "Funding[0].funder"]
    assert "Author[1].familyName: missing" in [str(i) for i in issues]
    with pytest.raises(MetadataValidationError, match=re.escape("Author[1].familyName: missing")):
        must_be_valid_metadata(value)


def test_editor_validation_checks_values():
    authors = editor()["Author"]
    authors[0]["digitalIdentifier"]["identifier"] = "0000-0002-1825-0098"
    issues = validate_editor_metadata(editor(Author=authors, License="nope", DatasetFullName=" ",
                                             RelatedPublication=[{"DOI": "x", "Publication": "t"}]))
    assert fields(issues) == ["DatasetFullName", "Author[0].digitalIdentifier.identifier", "License",
                              "RelatedPublication[0].DOI"]
    assert fields(issues, "warning") == ["Description"]


def test_creation_body_from_editor_or_record():
    body, warnings = dataset_creation_body(editor(), name="Given name")
    assert body["name"] == "Given name" and [w.field for w in warnings] == ["Description"]
    body, _ = dataset_creation_body({"_id": "a" * 24, "name": "n", "isPublished": True, "abstract": "t"})
    assert body == {"name": "n", "abstract": "t"}
    body, _ = dataset_creation_body({"abstract": "t"}, default_name="fallback")
    assert body["name"] == "fallback"
    with pytest.raises(MetadataValidationError, match="doi: placeholder DOI; remove it"):
        dataset_creation_body({"name": "n", "doi": PLACEHOLDER_DOI})
