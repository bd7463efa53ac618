"""Conformance checklist of the local-format specification (§8), part 1 of 3: document JSON and ids.

Items 5-7 (list-valued paths, round trip, canonical form), 12 (minted ids and datestamps) and 24 (the layout of
written json_code), with the §1.1 and §1.3 rules for documents built from their definitions. The database items are
in test_conformance_database.py, the dataset folder items in test_conformance_dataset.py.

Every expected value here is taken from the specification text (shared/spec/local-format.md) or read from the
MATLAB-written fixture files, never from the output of the implementation under test.
"""

from __future__ import annotations

import json
import math
import re
import struct
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ndicloud.core import ids
from ndicloud.core.canonical import canonical_bytes, canonical_hash
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document
from ndicloud.core.store import DidSqliteStore

from conformance_helpers import (
    CLOUD_ORG,
    ID_RE,
    ONE_MINUTE_DAYS,
    db_path,
    fixture_json_codes,
    matlab_local_datenum_now,
    new_demo,
    query_db,
)
from conftest import CLOUD_ENTRY, MATLAB_DOCUMENTS, same_values
from fixture_facts import (
    CLOUD_DATASET,
    D1,
    D2,
    D3,
    D8,
    DATASET_ID,
    DEMO_IDS,
    DOC_IDS,
    FILE_NAME,
    UID_OF_DOC,
    UIDS,
)

DATESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


# ---------------------------------------------------------------------------------------------
# Helpers: MATLAB's pretty JSON layout (§1.7, item 24)
# ---------------------------------------------------------------------------------------------


def walk_values(value: Any, key: str | None = None):
    """Yield (key, value) for every dict entry, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk_values(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item, key)


_NUMBER_TOKEN = re.compile(
    r"(?m)(^ *|: )(-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|NaN|-?Infinity)(,?)$"
)


def _reference_layout(value: Any, indent: str = "") -> str:
    """MATLAB's pretty layout (§1.7) with every number replaced by '#'."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_reference_layout(v, inner)}"
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [inner + _reference_layout(v, inner) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "#"


def assert_matlab_layout(text: str) -> None:
    """§1.7 / item 24: 2-space indent, ': ', one element per line, LF, no trailing newline."""
    assert "\r" not in text and "\t" not in text
    assert not text.endswith("\n")
    assert text.startswith("{\n") and text.endswith("\n}")
    numbers = [m.group(2) for m in _NUMBER_TOKEN.finditer(text)]
    for token in numbers:
        number = float(token)
        if math.isfinite(number) and number.is_integer() and abs(number) < 2**53:
            assert re.fullmatch(r"-?\d+", token), f"integral number written as {token!r}"
    normalised = _NUMBER_TOKEN.sub(r"\1#\3", text)
    assert normalised == _reference_layout(json.loads(text))


# ---------------------------------------------------------------------------------------------
# 5: struct-array paths as lists
# ---------------------------------------------------------------------------------------------


def _fixture_documents_all(mock_document_paths: list[Path]) -> dict[str, Document]:
    docs = {doc_id: Document.from_json(text) for doc_id, text in fixture_json_codes().items()}
    for path in mock_document_paths:
        docs[path.name] = Document.from_file(path)
    docs["cloud"] = Document(json.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))["data"])
    return docs


def test_item_05_struct_array_paths_exposed_as_lists(mock_document_paths: list[Path]) -> None:
    docs = _fixture_documents_all(mock_document_paths)
    assert len(docs) == 15
    for key, doc in docs.items():
        assert isinstance(doc.superclass_definitions, list), key
        assert isinstance(doc.dependencies, list), key
        assert isinstance(doc.file_info, list), key
        for info in doc.file_info:
            assert isinstance(info["locations"], list), key
    # database documents: bare-object superclasses, [] or absent depends_on, bare file_info/locations
    for doc_id in DOC_IDS:
        assert docs[doc_id].superclass_definitions == ["$NDIDOCUMENTPATH/base.json"]
        assert docs[doc_id].superclass_names == ["base"]
        assert docs[doc_id].dependencies == []
    for doc_id in DEMO_IDS:
        info = docs[doc_id].file_info
        assert len(info) == 1 and info[0]["name"] == FILE_NAME
        assert len(info[0]["locations"]) == 1
        assert info[0]["locations"][0]["uid"] == UID_OF_DOC[doc_id]
        assert docs[doc_id].file_uids == [UID_OF_DOC[doc_id]]
        assert docs[doc_id].file_list == [FILE_NAME]
    for doc_id in (D1, D2, D8):
        assert docs[doc_id].file_info == []
    simple = docs["example_simple_mock.1.json"]
    assert simple.dependencies == [{"name": "document_id", "value": "412694ff44b7e58c_c0c3bf143b542c1c"}]
    assert simple.dependency_value("document_id") == "412694ff44b7e58c_c0c3bf143b542c1c"
    assert simple.superclass_names == ["app", "base"]
    tuning = docs["stimulus_tuningcurve_mock.1.json"]
    assert tuning.superclass_names == ["base", "stimulus_tuningcurve", "base"]  # duplicates kept
    assert [d["name"] for d in tuning.dependencies] == ["element_id", "stimulus_response_scalar_id"]
    cloud = docs["cloud"]
    assert cloud.dependencies == [
        {"name": "subject_id", "value": "41269430c7aec337_c0ca12e25b36c956"},
        {"name": "openminds", "value": ""},
    ]
    assert cloud.superclass_names == ["base", "openminds"]


# ---------------------------------------------------------------------------------------------
# 6-7: round trip and canonical form
# ---------------------------------------------------------------------------------------------


def test_item_06_roundtrip_every_fixture_document(mock_document_paths: list[Path]) -> None:
    originals: dict[str, str] = dict(fixture_json_codes())
    for path in mock_document_paths:
        originals[path.name] = path.read_text(encoding="utf-8")
    originals["cloud"] = json.dumps(json.loads(CLOUD_ENTRY.read_text(encoding="utf-8"))["data"])
    assert len(originals) == 15
    nan_seen = 0
    for key, text in originals.items():
        first = Document.from_json(text)
        written = first.to_json()
        second = Document.from_json(written)
        assert first.canonical() == second.canonical(), key
        assert first.hash() == second.hash(), key
        decoded = json.loads(written)
        assert same_values(decoded, json.loads(text)), key
        nan_seen += written.count("NaN")
    assert nan_seen == 48 + 40 + 72 + 96  # every NaN of the tuningcurve mocks survives as a literal


def _reorder(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def test_item_07_canonical_form_invariants(mock_document_paths: list[Path]) -> None:
    for doc_id, text in fixture_json_codes().items():
        reference = canonical_bytes(json.loads(text))
        assert Document.from_json(text).canonical() == reference
        tabbed = re.sub(r"(?m)^((?:  )+)", lambda m: "\t" * (len(m.group(1)) // 2), text)
        compact = re.sub(r"\n\s*", "", text)
        assert tabbed != text and compact != text
        for variant in (tabbed, compact, json.dumps(_reorder(json.loads(text)), indent=7)):
            assert Document.from_json(variant).canonical() == reference, doc_id
    for path in mock_document_paths:
        text = path.read_text(encoding="utf-8")
        reordered = json.dumps(_reorder(json.loads(text)))
        assert Document.from_json(reordered).hash() == Document.from_json(text).hash(), path.name
    assert canonical_bytes({"x": [5]}) == canonical_bytes({"x": 5})
    assert canonical_hash({"x": [5]}) == canonical_hash({"x": 5})
    assert canonical_bytes({"x": ["a"]}) != canonical_bytes({"x": "a"})
    assert canonical_hash({"x": ["a"]}) != canonical_hash({"x": "a"})


# ---------------------------------------------------------------------------------------------
# 12: minted ids and datestamps
# ---------------------------------------------------------------------------------------------


def test_item_12_minted_ids_and_datestamps() -> None:
    minted = [ids.new_id() for _ in range(300)]
    now = matlab_local_datenum_now()
    assert len(set(minted)) == len(minted)
    randoms = []
    for value in minted:
        assert ID_RE.match(value), value
        first = struct.unpack(">d", bytes.fromhex(value[:16]))[0]
        second = struct.unpack(">d", bytes.fromhex(value[17:]))[0]
        assert abs(first - now) < ONE_MINUTE_DAYS, (value, first, now)
        assert -32727 <= second < 32728, (value, second)
        randoms.append(second)
    assert any(r < -1 for r in randoms) and any(r > 1 for r in randoms)  # k is really random
    assert len({math.floor(r) for r in randoms}) > 250
    stamps = [ids.datestamp_now(), Document.new("base").datestamp]
    for stamp in stamps:
        assert DATESTAMP_RE.match(stamp), stamp
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        assert abs(moment.timestamp() - time.time()) < 60
    assert ID_RE.match(Document.new("base").id)


# ---------------------------------------------------------------------------------------------
# 24: the layout of written json_code
# ---------------------------------------------------------------------------------------------


def test_item_24_written_json_code_layout(matlab_dataset: Path, tmp_path: Path) -> None:
    folder = tmp_path / "written"
    folder.mkdir()
    with Dataset.create(folder, "layout_ds") as ds:
        ds.create_remote_link(CLOUD_DATASET, CLOUD_ORG)
        nonfinite = Document.new("testblock", properties={"testblock": {
            "nan": math.nan, "inf": math.inf, "ninf": -math.inf, "whole": 3.0, "half": 0.5,
            "text": "naïve/ünïcode", "list": ["one"], "nums": [1.0, 2.0], "empty": "", "none": [], "obj": {}}})
        source = tmp_path / "payload.bin"
        source.write_bytes(b"x")
        with_file = new_demo(15.0)
        with_file.add_file(FILE_NAME, str(source), ingest=True, delete_original=False)
        url_file = new_demo(16.0)
        url_file.add_file(FILE_NAME, "https://example.org/data.bin")
        ds.add_documents([nonfinite, with_file, url_file])
        with DidSqliteStore.open(db_path(matlab_dataset)) as src:
            fixture_docs = [src.get(D3), src.get(D8)]
        ds.store.add(fixture_docs, file_sources={UIDS[0]: matlab_dataset / ".ndi" / "files" / UIDS[0]})
        nonfinite_id = nonfinite.id
    codes = dict(query_db(db_path(folder), "SELECT doc_id, json_code FROM docs"))
    assert len(codes) == 1 + 1 + 3 + 2  # session, dataset_remote, 3 added, 2 fixture
    checked_flags = 0
    for doc_id, text in codes.items():
        assert_matlab_layout(text)
        for key, value in walk_values(json.loads(text)):
            if key in ("ingest", "delete_original", "is_linked"):
                assert not isinstance(value, bool) and isinstance(value, (int, float)), (doc_id, key, value)
                checked_flags += 1
    assert checked_flags >= 2 * 3 + 1  # three locations, one is_linked
    text = codes[nonfinite_id]
    assert '"nan": NaN' in text and '"inf": Infinity' in text and '"ninf": -Infinity' in text
    assert '"whole": 3' in text and '"whole": 3.0' not in text
    assert "naïve/ünïcode" in text and "\\u" not in text and "\\/" not in text
    decoded = json.loads(text)["testblock"]
    assert math.isnan(decoded["nan"]) and decoded["inf"] == math.inf and decoded["ninf"] == -math.inf
    assert decoded["list"] == ["one"] and decoded["empty"] == "" and decoded["none"] == [] and decoded["obj"] == {}


# ---------------------------------------------------------------------------------------------
# Further MUST/SHOULD rules of the spec that the checklist implies
# ---------------------------------------------------------------------------------------------


def test_section_1_3_new_document_from_definitions_the_matlab_way() -> None:
    from conftest import DEFINITIONS

    simple = Document.from_definition("simple_calc", DEFINITIONS)
    mock = json.loads((MATLAB_DOCUMENTS / "example_simple_mock.1.json").read_text(encoding="utf-8"))
    assert set(simple.properties) == set(mock)  # app, base, depends_on, document_class, simple_calc
    assert simple.superclass_definitions == ["$NDIDOCUMENTPATH/app.json", "$NDIDOCUMENTPATH/base.json"]
    assert simple.dependencies == [{"name": "document_id", "value": ""}]  # number 0 written as a string
    assert simple.properties["simple_calc"] == {"input_parameters": {"answer": 5}, "answer": 0}
    assert simple.class_name == "simple_calc"
    assert simple.properties["document_class"]["class_version"] == 1
    assert simple.session_id == ids.EMPTY_SESSION_ID
    assert ID_RE.match(simple.id) and DATESTAMP_RE.match(simple.datestamp)
    assert set(simple.properties["app"]) == set(mock["app"])
    demo = Document.from_definition("demoNDI", DEFINITIONS, session_id=DATASET_ID)
    assert demo.file_list == [FILE_NAME]
    assert demo.superclass_names == ["base"]
    assert demo.session_id == DATASET_ID
    assert demo.properties["demoNDI"] == {"value": ""}


def test_section_1_1_from_definition_without_dependencies_has_no_depends_on_key() -> None:
    """§1.1/§1.3: neither demoNDI.json nor base.json has depends_on, and the MATLAB-built demoNDI
    documents of the fixture (doc_idx 3-7) have no depends_on key; session.json has `[]` and the
    MATLAB-built session documents carry `[]`. Built the MATLAB way, the key's presence follows."""
    from conftest import DEFINITIONS

    fixture = {doc_id: json.loads(text) for doc_id, text in fixture_json_codes().items()}
    assert all("depends_on" not in fixture[d] for d in DEMO_IDS)
    assert all(fixture[d]["depends_on"] == [] for d in (D1, D2))
    session = Document.from_definition("session", DEFINITIONS)
    assert session.properties["depends_on"] == []
    demo = Document.from_definition("demoNDI", DEFINITIONS)
    assert "depends_on" not in demo.properties
