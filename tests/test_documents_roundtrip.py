"""Document JSON round trips, canonical form and MATLAB layout (spec §1.7, §1.8, §8 items 6-7).

The expected canonical text and layouts below are written by hand from the spec.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ndicloud.core import jsonio
from ndicloud.core.canonical import canonical_bytes, canonical_hash
from ndicloud.core.document import Document

from conftest import CLOUD_ENTRY, MATLAB_DATASET, MATLAB_DOCUMENTS, same_values
from fixture_facts import D1, D3, FILE_NAME, INGESTED_SESSION_ID, UID_OF_DOC

MOCK_NAMES = [
    "example_simple_mock.1.json",
    "example_simple_mock.2.json",
    "stimulus_tuningcurve_mock.1.json",
    "stimulus_tuningcurve_mock.2.json",
    "stimulus_tuningcurve_mock.3.json",
    "stimulus_tuningcurve_mock.4.json",
]
NAN_COUNTS = {"stimulus_tuningcurve_mock.1.json": 48, "stimulus_tuningcurve_mock.2.json": 40,
              "stimulus_tuningcurve_mock.3.json": 72, "stimulus_tuningcurve_mock.4.json": 96}


def _fixture_db_texts() -> dict[str, str]:
    con = sqlite3.connect(f"file:{MATLAB_DATASET / '.ndi' / 'did-sqlite.sqlite'}?mode=ro&immutable=1", uri=True)
    try:
        return {f"db:{doc_id}": text for doc_id, text in
                con.execute("SELECT doc_id, json_code FROM docs ORDER BY doc_idx")}
    finally:
        con.close()


def _all_fixture_texts() -> dict[str, str]:
    texts = _fixture_db_texts()
    assert len(texts) == 8
    for name in MOCK_NAMES:
        texts[name] = (MATLAB_DOCUMENTS / name).read_text(encoding="utf-8")
    texts["cloud:data"] = json.dumps(json.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))["data"], indent=1)
    return texts


ALL_TEXTS = _all_fixture_texts()


def reorder(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Round trip of every fixture document (§8 item 6)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(ALL_TEXTS))
def test_roundtrip_same_hash_and_values(key: str) -> None:
    text = ALL_TEXTS[key]
    first = Document.from_json(text)
    written = first.to_json()
    second = Document.from_json(written)
    assert second.canonical() == first.canonical()
    assert second.hash() == first.hash()
    assert second.hash("content") == first.hash("content")
    assert second == first
    assert same_values(json.loads(written), json.loads(text))
    assert written.count("NaN") == NAN_COUNTS.get(key, 0)
    # a second pass is stable
    assert Document.from_json(written).to_json() == written
    # to_json does not mutate and to_dict is a detached copy
    snapshot = first.to_dict()
    snapshot["base"]["name"] = "changed"
    assert first.properties["base"]["name"] != "changed"
    assert same_values(first.to_dict(), json.loads(text))


def test_fixture_document_ids_and_classes() -> None:
    classes = {}
    for key, text in ALL_TEXTS.items():
        doc = Document.from_json(text)
        assert doc.id == json.loads(text)["base"]["id"]
        classes[key] = doc.class_name
    assert sorted(classes.values()) == sorted(
        ["session", "session", "demoNDI", "demoNDI", "demoNDI", "demoNDI", "demoNDI", "dataset_session_info",
         "simple_calc", "simple_calc", "tuningcurve_calc", "tuningcurve_calc", "tuningcurve_calc",
         "tuningcurve_calc", "openminds_subject"]
    )


def test_from_file_matches_from_json() -> None:
    for name in MOCK_NAMES:
        path = MATLAB_DOCUMENTS / name
        assert Document.from_file(path).canonical() == Document.from_json(path.read_text(encoding="utf-8")).canonical()


def test_cloud_sentinels_become_literals() -> None:
    payload = {
        "base": {"id": D3, "session_id": INGESTED_SESSION_ID, "name": "", "datestamp": "2025-09-04T16:21:36.470Z"},
        "document_class": {"class_name": "x", "property_list_name": "x", "class_version": 1,
                           "definition": "$NDIDOCUMENTPATH/x.json", "validation": "$NDISCHEMAPATH/x.json",
                           "superclasses": {"definition": "$NDIDOCUMENTPATH/base.json"}},
        "x": {"a": "__NDI__NaN__", "b": "__NDI__Infinity__", "c": "__NDI__-Infinity__", "d": [1, "__NDI__NaN__"]},
    }
    from_cloud = Document.from_json(json.dumps(payload))
    literal_text = (json.dumps(payload).replace('"__NDI__NaN__"', "NaN").replace('"__NDI__Infinity__"', "Infinity")
                    .replace('"__NDI__-Infinity__"', "-Infinity"))
    literal = Document.from_json(literal_text)
    assert from_cloud.hash() == literal.hash()
    block = from_cloud.properties["x"]
    assert math.isnan(block["a"]) and block["b"] == math.inf and block["c"] == -math.inf
    written = from_cloud.to_json()
    assert "__NDI__" not in written and "null" not in written
    assert '"a": NaN' in written and '"b": Infinity' in written and '"c": -Infinity' in written
    decoded = jsonio.loads(written)
    assert math.isnan(decoded["x"]["a"]) and math.isnan(decoded["x"]["d"][1])


# ---------------------------------------------------------------------------------------------
# Canonical form (§1.8, §8 item 7)
# ---------------------------------------------------------------------------------------------

SESSION_CANONICAL = (
    '{"base":{"datestamp":"2025-12-12T12:15:04.788Z","id":"412694f69ab1ee31_40dbbe31dde03ada","name":"",'
    '"session_id":"412694f69ab1e1cf_c0db1c5ba8cf6bc8"},"depends_on":[],"document_class":{"class_name":"session",'
    '"class_version":1,"definition":"$NDIDOCUMENTPATH/session.json","property_list_name":"session",'
    '"superclasses":{"definition":"$NDIDOCUMENTPATH/base.json"},"validation":"$NDISCHEMAPATH/session.json"},'
    '"session":{"reference":"ds_demo"}}'
)

DEMO_CANONICAL = (
    '{"base":{"datestamp":"2025-12-12T12:15:04.583Z","id":"412694f69ab19eb0_40dcc7544b5b9e1c","name":"doc_1",'
    '"session_id":"412694f69aafaba3_40dbbdf6582271b2"},"demoNDI":{"value":1},"document_class":{'
    '"class_name":"demoNDI","class_version":1,"definition":"$NDIDOCUMENTPATH/demoNDI.json",'
    '"property_list_name":"demoNDI","superclasses":{"definition":"$NDIDOCUMENTPATH/base.json"},'
    '"validation":"$NDISCHEMAPATH/demoNDI_schema.json"},"files":{"file_info":{"locations":{"delete_original":1,'
    '"ingest":1,"location":"/private/var/folders/t3/hzj_8wdj4cqc4v13j0rzm4sm0000gn/T/nditemp/'
    '412694f69ab21c44_409d313eaf27ee6c/412694f69ab19f50_c0af51ee5d155587","location_type":"file",'
    '"parameters":"","uid":"412694f69ab27668_c0ce4d32f2417873"},"name":"filename1.ext"},'
    '"file_list":["filename1.ext"]}}'
)


def test_canonical_form_of_fixture_session_written_by_hand() -> None:
    doc = Document.from_json(ALL_TEXTS[f"db:{D1}"])
    assert doc.canonical() == SESSION_CANONICAL.encode("utf-8")
    assert doc.hash() == hashlib.sha256(SESSION_CANONICAL.encode("utf-8")).hexdigest()
    assert canonical_hash(json.loads(ALL_TEXTS[f"db:{D1}"])) == doc.hash()


def test_canonical_form_of_fixture_demo_written_by_hand() -> None:
    doc = Document.from_json(ALL_TEXTS[f"db:{D3}"])
    assert doc.canonical() == DEMO_CANONICAL.encode("utf-8")
    assert re.fullmatch(r"[0-9a-f]{64}", doc.hash())
    assert doc.hash() == hashlib.sha256(DEMO_CANONICAL.encode("utf-8")).hexdigest()
    # content profile keeps only uid inside every location
    content = DEMO_CANONICAL.replace(
        '"locations":{"delete_original":1,"ingest":1,"location":"/private/var/folders/t3/hzj_8wdj4cqc4v13j0rzm4sm0000gn'
        '/T/nditemp/412694f69ab21c44_409d313eaf27ee6c/412694f69ab19f50_c0af51ee5d155587","location_type":"file",'
        '"parameters":"","uid":"412694f69ab27668_c0ce4d32f2417873"}',
        '"locations":{"uid":"412694f69ab27668_c0ce4d32f2417873"}',
    )
    assert content != DEMO_CANONICAL
    assert doc.canonical("content") == content.encode("utf-8")
    assert doc.content_hash() == hashlib.sha256(content.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("key", sorted(ALL_TEXTS))
def test_hash_ignores_order_and_layout(key: str) -> None:
    text = ALL_TEXTS[key]
    reference = Document.from_json(text).hash()
    values = json.loads(text)
    variants = {
        "reordered": json.dumps(reorder(values), indent=2),
        "compact": json.dumps(values, separators=(",", ":")),
        "tabs": re.sub(r"(?m)^((?:  )+)", lambda m: "\t" * (len(m.group(1)) // 2), text),
        "crlf": text.replace("\n", "\r\n"),
        "wide": json.dumps(values, indent=8),
    }
    for name, variant in variants.items():
        assert Document.from_json(variant).hash() == reference, name
        assert canonical_hash(json.loads(variant)) == reference, name


def test_hash_ignores_number_spelling() -> None:
    assert canonical_bytes({"v": json.loads("3.85232991570949E-15")}) == canonical_bytes({"v": 3.85232991570949e-15})
    assert canonical_bytes(json.loads('{"v": 4.9024390243902491}')) == canonical_bytes({"v": 4.902439024390249})
    assert canonical_bytes({"v": 1}) == canonical_bytes({"v": 1.0}) == b'{"v":1}'
    assert canonical_bytes({"v": -0.0}) == canonical_bytes({"v": 0}) == b'{"v":0}'
    assert canonical_bytes({"v": 9007199254740991.0}) == b'{"v":9007199254740991}'
    assert canonical_bytes({"v": 0.5}) == b'{"v":0.5}'
    assert canonical_bytes({"v": 2.37931034482759}) == b'{"v":2.37931034482759}'


CANONICAL_ALIKE = [
    ({"x": [5]}, {"x": 5}),
    ({"x": [5.0]}, {"x": 5}),
    ({"x": [True]}, {"x": True}),
    ({"x": [{"a": 1}]}, {"x": {"a": 1}}),
    ({"x": [[1, 2]]}, {"x": [1, 2]}),
    ({"x": [[1]]}, {"x": 1}),
    ({"x": None}, {"x": []}),
    ({"x": [None, 1]}, {"x": [[], 1]}),
    ({"b": 1, "a": 2}, {"a": 2, "b": 1}),
    ({"superclasses": [{"definition": "d"}]}, {"superclasses": {"definition": "d"}}),
]

CANONICAL_DIFFER = [
    ({"x": ["a"]}, {"x": "a"}),
    ({"x": [["a"]]}, {"x": ["a"]}),
    ({"x": ""}, {"x": []}),
    ({"x": {}}, {"x": []}),
    ({"x": ""}, {"x": {}}),
    ({"x": 1}, {"x": True}),
    ({"x": [1, 2]}, {"x": [2, 1]}),
    ({"depends_on": []}, {}),
    ({"x": "1"}, {"x": 1}),
    ({"x": [{"d": "a"}, {"d": "b"}, {"d": "a"}]}, {"x": [{"d": "a"}, {"d": "b"}]}),
]


@pytest.mark.parametrize(("left", "right"), CANONICAL_ALIKE)
def test_canonical_alike(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert canonical_bytes(left) == canonical_bytes(right)
    assert canonical_hash(left) == canonical_hash(right)


@pytest.mark.parametrize(("left", "right"), CANONICAL_DIFFER)
def test_canonical_differ(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert canonical_bytes(left) != canonical_bytes(right)
    assert canonical_hash(left) != canonical_hash(right)


def test_canonical_serialisation_details() -> None:
    value = {"z": "é/\"\\", "a": [float("nan"), float("inf"), float("-inf")], "m": [[5]], "k": None}
    expected = '{"a":[NaN,Infinity,-Infinity],"k":[],"m":5,"z":"é/\\"\\\\"}'
    got = canonical_bytes(value)
    assert got.decode("utf-8") == expected
    assert "é".encode() in got and b"\\u00e9" not in got and b"\\/" not in got
    assert canonical_hash(value) == hashlib.sha256(got).hexdigest()


def test_canonical_control_characters_as_u00xx() -> None:
    """§1.8 rule 4: control characters are escaped as \\u00XX (not the short forms \\n, \\t)."""
    got = canonical_bytes({"s": "line1\nline2\ttab\x01"}).decode("utf-8")
    assert re.fullmatch(r'\{"s":"line1\\u000[aA]line2\\u0009tab\\u0001"\}', got), got


def test_bare_object_and_one_element_array_documents_hash_alike() -> None:
    text = ALL_TEXTS[f"db:{D3}"]
    values = json.loads(text)
    values["document_class"]["superclasses"] = [values["document_class"]["superclasses"]]
    values["files"]["file_info"] = [values["files"]["file_info"]]
    values["files"]["file_info"][0]["locations"] = [values["files"]["file_info"][0]["locations"]]
    values["demoNDI"]["value"] = [1]
    arrays = Document(values)
    bare = Document.from_json(text)
    assert arrays.hash() == bare.hash()
    assert arrays == bare
    assert arrays.superclass_definitions == bare.superclass_definitions == ["$NDIDOCUMENTPATH/base.json"]
    assert arrays.file_uids == bare.file_uids == [UID_OF_DOC[D3]]
    # an array of one string is not the string
    values2 = json.loads(text)
    values2["files"]["file_list"] = FILE_NAME
    assert Document(values2).hash() != bare.hash()


# ---------------------------------------------------------------------------------------------
# Content profile (§1.8)
# ---------------------------------------------------------------------------------------------


def test_content_profile_ignores_location_fields_except_uid() -> None:
    base = Document.from_json(ALL_TEXTS[f"db:{D3}"])
    moved = base.copy()
    loc = moved.properties["files"]["file_info"]["locations"]
    loc["location"] = "ndic://682e7772cdf3f24938176fac/412694f69ab27668_c0ce4d32f2417873"
    loc["location_type"] = "ndicloud"
    loc["ingest"] = 0
    loc["delete_original"] = 0
    loc["parameters"] = "something"
    assert moved.hash() != base.hash()
    assert moved.hash("content") == base.hash("content")
    assert moved.content_hash() == base.content_hash()
    assert canonical_hash(moved.properties, "content") == canonical_hash(base.properties, "content")

    other_uid = base.copy()
    other_uid.properties["files"]["file_info"]["locations"]["uid"] = "412694f69ab27668_c0ce4d32f2417874"
    assert other_uid.content_hash() != base.content_hash()

    other_name = base.copy()
    other_name.properties["files"]["file_info"]["name"] = "filename2.ext"
    assert other_name.content_hash() != base.content_hash()

    other_value = base.copy()
    other_value.properties["demoNDI"]["value"] = 2
    assert other_value.content_hash() != base.content_hash()


def test_content_profile_with_several_locations() -> None:
    base = Document.from_json(ALL_TEXTS[f"db:{D3}"])
    two = base.copy()
    first = two.properties["files"]["file_info"]["locations"]
    second = dict(first, uid="412694f69ab27668_c0ce4d32f2417899", location="https://example.org/x")
    two.properties["files"]["file_info"]["locations"] = [first, second]
    changed = two.copy()
    changed.properties["files"]["file_info"]["locations"][1]["location"] = "/somewhere/else"
    changed.properties["files"]["file_info"]["locations"][0]["location"] = "/another/place"
    assert changed.content_hash() == two.content_hash()
    assert changed.hash() != two.hash()
    assert two.content_hash() != base.content_hash()


# ---------------------------------------------------------------------------------------------
# to_json layout (§1.7)
# ---------------------------------------------------------------------------------------------

LAYOUT_DOC = {
    "base": {"datestamp": "2025-01-02T03:04:05.678Z", "id": D3, "name": "naïve/name ✓",
             "session_id": INGESTED_SESSION_ID},
    "depends_on": [{"name": "a_id", "value": D1}, {"name": "b_id", "value": ""}],
    "document_class": {
        "class_name": "layout",
        "class_version": 1,
        "definition": "$NDIDOCUMENTPATH/layout.json",
        "property_list_name": "layout",
        "superclasses": {"definition": "$NDIDOCUMENTPATH/base.json"},
        "validation": "$NDISCHEMAPATH/layout_schema.json",
    },
    "layout": {
        "big": 1e15,
        "empty_list": [],
        "empty_obj": {},
        "empty_text": "",
        "half": 2.5,
        "inf": math.inf,
        "label": ["contrast"],
        "matrix": [[1.0, 2.0], [3.0, 4.5]],
        "nan": math.nan,
        "neg": -3.0,
        "ninf": -math.inf,
        "whole": 1.0,
    },
}

LAYOUT_TEXT = """{
  "base": {
    "datestamp": "2025-01-02T03:04:05.678Z",
    "id": "412694f69ab19eb0_40dcc7544b5b9e1c",
    "name": "naïve/name ✓",
    "session_id": "412694f69aafaba3_40dbbdf6582271b2"
  },
  "depends_on": [
    {
      "name": "a_id",
      "value": "412694f69ab1ee31_40dbbe31dde03ada"
    },
    {
      "name": "b_id",
      "value": ""
    }
  ],
  "document_class": {
    "class_name": "layout",
    "class_version": 1,
    "definition": "$NDIDOCUMENTPATH/layout.json",
    "property_list_name": "layout",
    "superclasses": {
      "definition": "$NDIDOCUMENTPATH/base.json"
    },
    "validation": "$NDISCHEMAPATH/layout_schema.json"
  },
  "layout": {
    "big": 1000000000000000,
    "empty_list": [],
    "empty_obj": {},
    "empty_text": "",
    "half": 2.5,
    "inf": Infinity,
    "label": [
      "contrast"
    ],
    "matrix": [
      [
        1,
        2
      ],
      [
        3,
        4.5
      ]
    ],
    "nan": NaN,
    "neg": -3,
    "ninf": -Infinity,
    "whole": 1
  }
}"""


def test_to_json_layout_exact() -> None:
    doc = Document(json.loads(json.dumps(LAYOUT_DOC)))
    text = doc.to_json()
    assert text == LAYOUT_TEXT
    raw = text.encode("utf-8")
    assert b"\r" not in raw and not raw.endswith(b"\n")
    assert "naïve/name ✓".encode() in raw and b"\\u" not in raw and b"\\/" not in raw
    assert jsonio.dumps(doc.properties) == LAYOUT_TEXT


def test_to_json_single_element_struct_arrays() -> None:
    """§1.7: one-element superclasses/depends_on/file_info/locations may be bare; arrays of strings never."""
    values = json.loads(json.dumps(LAYOUT_DOC))
    values["depends_on"] = [{"name": "a_id", "value": D1}]
    values["document_class"]["superclasses"] = [{"definition": "$NDIDOCUMENTPATH/base.json"}]
    values["files"] = {"file_list": ["only.bin"], "file_info": [{"name": "only.bin", "locations": [
        {"delete_original": 0, "uid": D3, "location": "https://example.org/x", "parameters": "",
         "location_type": "url", "ingest": 0}]}]}
    doc = Document(values)
    written = doc.to_json()
    decoded = json.loads(written)
    assert decoded["files"]["file_list"] == ["only.bin"]
    assert decoded["layout"]["label"] == ["contrast"]
    again = Document.from_json(written)
    assert again.hash() == doc.hash()
    assert again.dependencies == [{"name": "a_id", "value": D1}]
    assert again.file_uids == [D3]
    assert again.locations("only.bin")[0]["location_type"] == "url"


def test_jsonio_roundtrip_preserves_distinctions() -> None:
    value = {"a": "", "b": [], "c": {}, "d": ["x"], "e": [1, 2], "f": 0.1, "g": -1.5e-12, "h": 123456789012.0}
    text = jsonio.dumps(value)
    assert same_values(jsonio.loads(text), {"a": "", "b": [], "c": {}, "d": ["x"], "e": [1, 2], "f": 0.1,
                                            "g": -1.5e-12, "h": 123456789012})
    assert '"h": 123456789012' in text


def test_reads_matlab_number_spellings_and_literals() -> None:
    text = '{"a": 3.85232991570949E-15, "b": 4.9024390243902491, "c": NaN, "d": -Infinity, "e": 1E+2}'
    value = jsonio.loads(text)
    assert value["a"] == 3.85232991570949e-15
    assert value["b"] == 4.902439024390249
    assert math.isnan(value["c"]) and value["d"] == -math.inf and value["e"] == 100


def test_booleans_accepted_for_ingest_flags() -> None:
    """§1.5: readers MUST accept JSON booleans for ingest/delete_original."""
    values = json.loads(ALL_TEXTS[f"db:{D3}"])
    values["files"]["file_info"]["locations"]["ingest"] = True
    values["files"]["file_info"]["locations"]["delete_original"] = False
    doc = Document(values)
    (loc,) = doc.locations(FILE_NAME)
    assert bool(loc["ingest"]) is True and bool(loc["delete_original"]) is False


def test_uppercase_ids_are_accepted() -> None:
    values = json.loads(ALL_TEXTS[f"db:{D3}"])
    values["base"]["id"] = D3.upper()
    assert Document(values).id.lower() == D3


def test_cloud_fixture_data_details() -> None:
    entry = jsonio.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))
    doc = Document(entry["data"])
    assert doc.id == entry["ndiId"] == "41269430c7aec5c5_409315eb01882783"
    assert doc.class_name == entry["className"] == "openminds_subject"
    assert doc.properties["openminds_subject"] == {}
    written = json.loads(doc.to_json())
    assert written["openminds_subject"] == {}
    assert written["depends_on"][1] == {"name": "openminds", "value": ""}


def test_mock_document_quirks_preserved() -> None:
    tuning = Document.from_file(MATLAB_DOCUMENTS / "stimulus_tuningcurve_mock.1.json")
    written = json.loads(tuning.to_json())
    supers = [s["definition"] for s in written["document_class"]["superclasses"]]
    assert supers == ["$NDIDOCUMENTPATH/base.json", "$NDIDOCUMENTPATH/stimulus/stimulus_tuningcurve.json",
                      "$NDIDOCUMENTPATH/base.json"]
    assert written["stimulus_tuningcurve"]["independent_variable_label"] == ["contrast"]
    assert written["stimulus_tuningcurve"]["control_stimid"] == []
    assert len(written["stimulus_tuningcurve"]["individual_responses_real"]) == 5
    assert all(len(row) == 6 for row in written["stimulus_tuningcurve"]["individual_responses_real"])
    simple = Document.from_file(MATLAB_DOCUMENTS / "example_simple_mock.1.json")
    written_simple = json.loads(simple.to_json())
    assert written_simple["depends_on"] == {"name": "document_id", "value": "412694ff44b7e58c_c0c3bf143b542c1c"}


def test_written_fixture_texts_keep_matlab_layout() -> None:
    for key, text in ALL_TEXTS.items():
        written = Document.from_json(text).to_json()
        lines = written.split("\n")
        assert lines[0] == "{" and lines[-1] == "}", key
        for line in lines:
            indent = len(line) - len(line.lstrip(" "))
            assert indent % 2 == 0, (key, line)
            assert not line.endswith(" "), (key, line)
            assert "\t" not in line
        if key.startswith("db:"):
            # MATLAB wrote these with the same layout rules: our text equals MATLAB's modulo numbers
            assert _strip_numbers(written) == _strip_numbers(text), key


def _strip_numbers(text: str) -> str:
    return re.sub(r"(?m)(^ *|: )(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|NaN|-?Infinity)(,?)$", r"\1#\3", text)


def test_write_to_file_and_read_back(tmp_path: Path) -> None:
    for name in MOCK_NAMES:
        doc = Document.from_file(MATLAB_DOCUMENTS / name)
        out = tmp_path / name
        out.write_bytes(doc.to_json().encode("utf-8"))
        assert Document.from_file(out).hash() == doc.hash()


def test_cloud_document_detail_drops_its_cloud_id():
    doc = Document.new("demoNDI", properties={"demoNDI": {"value": 1}})
    detail = json.dumps({"id": "68c05864f81ed200dc9a7e5c", **doc.properties})
    assert Document.from_json(detail).properties == doc.properties


def test_fast_canonical_form_equals_the_rule_by_rule_one(mock_document_paths):
    from ndicloud.core.canonical import canonical_bytes, reference_canonical_bytes
    from ndicloud.core.sample import generate_documents

    edge = {"a": "x\n\t\b\f\r\\n\"q\u0001\u001f\u2028 é", "b": [1], "c": [[1, 2]], "d": None, "e": [True],
            "f": 2**60, "g": -0.0, "h": float("nan"), "i": [float("inf"), -float("inf")], "j": 2**1100,
            "k": 0.1, "l": 3.0, "m": [], "n": {}, "o": [None], "p": [{"x": 1}], "r": "\\", "s": "\\\\n",
            # orjson and repr spell floats alike only between 1e-4 and 1e16: both sides of each edge
            "t": [1e-05, 1e-4, 0.00012, 9999999999999998.0, 1e16, 5e-324, 1.5e300, -2.5e-7, 123.456],
            "u": {"\u00e9": 1, "z": 2, "a": [0.5]}}
    documents = [edge, *(json.loads(p.read_text()) for p in mock_document_paths),
                 *(d.properties for d in generate_documents(300, "412694f69ab1e1cf_c0db1c5ba8cf6bc8", seed=2))]
    for document in documents:
        for profile in ("full", "content"):
            assert canonical_bytes(document, profile) == reference_canonical_bytes(document, profile)


def test_json_decoding_is_the_same_on_its_fast_and_its_general_path():
    # orjson reads plain JSON; MATLAB's NaN/Infinity literals, integers beyond 64 bits and lone surrogate
    # escapes go to json: every one decodes as json alone would have it
    texts = ['{"a": 1.5, "b": [1, 2], "c": "x\\u00e9"}', '{"a": NaN, "b": [Infinity, -Infinity]}',
             '{"big": 123456789012345678901234567890}', '{"s": "\\ud800"}', '{"n": null, "e": []}']
    for text in texts:
        expected = json.dumps(json.loads(text), allow_nan=True)
        for got in (jsonio.loads(text), jsonio.parse(text), jsonio.parse(text.encode("utf-8"))):
            assert json.dumps(got, allow_nan=True) == expected, text
