"""Property tests: canonical form and hash invariants (spec §1.8) and the document write → read round trip.

Random JSON documents carry every kind of value MATLAB's decoder meets: nested objects, arrays of every
length, integers beyond 2**53 and 2**64, any double (subnormals, -0, NaN, ±Infinity), control characters
and non-ASCII text, keys in any order.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ndicloud.core import jsonio
from ndicloud.core.canonical import canonical_bytes, canonical_hash, reference_canonical_bytes
from ndicloud.core.dataset import Dataset
from ndicloud.core.document import Document

from conftest import same_values

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

texts = st.text(st.characters(codec="utf-8"), max_size=6)
keys = st.text(st.characters(codec="utf-8"), max_size=4)
numbers = st.one_of(st.integers(-(2**70), 2**70), st.integers(-3, 3), st.floats(),
                    st.sampled_from((0.0, -0.0, 1e16, 1e-4, 9.5e-5, 2.0**53, math.nan, math.inf, -math.inf)))
scalars = st.one_of(texts, numbers, st.booleans(), st.none())
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                            st.dictionaries(keys, inner, max_size=3)),
                           max_leaves=12)
json_objects = st.dictionaries(keys, json_values, max_size=5)


@st.composite
def documents_with_files(draw: st.DrawFn) -> dict[str, Any]:
    """A document-like object with random blocks and a ``files`` block whose locations the content profile
    trims (as a bare object or a list, as MATLAB writes one or several)."""
    doc = draw(json_objects)
    location = st.dictionaries(st.sampled_from(("uid", "location", "location_type", "ingest")), json_values,
                               min_size=1)
    info = st.fixed_dictionaries({"name": texts, "locations": st.one_of(location, st.lists(location,
                                                                                               max_size=2))})
    doc["files"] = {"file_list": draw(st.lists(texts, max_size=2)),
                    "file_info": draw(st.one_of(info, st.lists(info, max_size=2)))}
    return doc


def reversed_keys(value: Any) -> Any:
    """The same value with every object's keys in the opposite order."""
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def matlab_spelling(value: Any, wrap: Any) -> Any:
    """``value`` as MATLAB may equally write it: ``wrap(path)`` decides, at each value where §1.8 rule 2 allows
    it, whether to wrap a number, boolean, object or numeric array in a one-element array, or to write an
    integral double as an integer."""
    if isinstance(value, dict):
        value = {k: matlab_spelling(v, wrap) for k, v in value.items()}
    elif isinstance(value, list):
        value = [matlab_spelling(v, wrap) for v in value]
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53 and wrap():
        value = int(value)
    if (isinstance(value, (bool, dict)) or _is_number(value)
            or (isinstance(value, list) and all(_is_number(v) for v in value))) and wrap():
        return [value]
    return value


@SETTINGS
@given(documents_with_files())
def test_fast_canonical_form_equals_the_rule_by_rule_definition(doc: dict[str, Any]) -> None:
    for profile in ("full", "content"):
        assert canonical_bytes(doc, profile) == reference_canonical_bytes(doc, profile)


@SETTINGS
@given(json_objects)
def test_canonical_form_is_a_fixed_point(doc: dict[str, Any]) -> None:
    """Decoding the canonical text and canonicalising again gives the same bytes (it is MATLAB's own output)."""
    once = canonical_bytes(doc)
    assert canonical_bytes(jsonio.loads(once)) == once


@SETTINGS
@given(json_objects)
def test_hash_ignores_key_order(doc: dict[str, Any]) -> None:
    assert canonical_hash(reversed_keys(doc)) == canonical_hash(doc)


@SETTINGS
@given(json_objects, st.randoms(use_true_random=False))
def test_hash_ignores_matlab_single_element_arrays_and_number_spelling(doc: dict[str, Any], rnd: Any) -> None:
    """A one-element array of a number, boolean, object or numeric array is that element (§1.8 rule 2);
    ``null`` is ``[]``; ``3`` is ``3.0``; ``-0`` is ``0``."""
    respelled = matlab_spelling(doc, lambda: rnd.random() < 0.5)
    assert canonical_hash(respelled) == canonical_hash(doc)
    assert canonical_hash({**doc, "z": None}) == canonical_hash({**doc, "z": []})
    assert canonical_hash({**doc, "z": -0.0}) == canonical_hash({**doc, "z": 0})


@SETTINGS
@given(json_objects, texts)
def test_hash_keeps_one_element_string_arrays_and_array_order(doc: dict[str, Any], text: str) -> None:
    assert canonical_hash({**doc, "z": [text]}) != canonical_hash({**doc, "z": text})
    assert canonical_hash({**doc, "z": [text, 1]}) != canonical_hash({**doc, "z": [1, text]})


@SETTINGS
@given(json_objects)
def test_hash_survives_matlab_and_cloud_non_finite_spellings(doc: dict[str, Any]) -> None:
    """NaN/±Infinity written as MATLAB's literals, or as NDI Cloud's sentinel strings, decode to the same hash."""
    expected = canonical_hash(doc)
    assert canonical_hash(jsonio.loads(jsonio.dumps(doc))) == expected
    cloud_text = json.dumps(jsonio.dehydrate_sentinels(doc), allow_nan=False)  # strict JSON, as the cloud's
    assert canonical_hash(jsonio.loads(cloud_text)) == expected


@SETTINGS
@given(json_objects)
def test_matlab_style_json_round_trips_every_value(doc: dict[str, Any]) -> None:
    """``dumps`` then ``loads`` gives the same values: arrays stay arrays, "" [] {} stay distinct."""
    assert same_values(jsonio.loads(jsonio.dumps(doc)), doc)


blocks = st.dictionaries(st.sampled_from(("blk", "other", "stim")), st.dictionaries(keys, json_values, max_size=4),
                         max_size=2)


@settings(SETTINGS, max_examples=50)
@given(st.lists(st.tuples(blocks, st.sets(st.sampled_from(("base", "element", "probe")), max_size=2), texts),
                min_size=1, max_size=4))
def test_documents_read_back_as_written(specs: list[tuple[dict[str, Any], set[str], str]]) -> None:
    """Documents added to a dataset read back (by id, by search, as JSON) with the same values and hash."""
    assume(all("\x00" not in name for *_, name in specs))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ds"
        with Dataset.create(path, "prop", with_session_document=False) as ds:
            docs = [Document.new("stim", superclasses=sup, properties=props, name=name, session_id=ds.id)
                    for props, sup, name in specs]
            ds.add_documents(docs)
        with Dataset.open(path) as ds:
            for doc in docs:
                for back in (ds.get(doc.id), Document.from_json(doc.to_json())):
                    assert same_values(back.properties, doc.properties)
                    assert back.hash() == doc.hash() and back.content_hash() == doc.content_hash()
            assert sorted(d.id for d in ds.documents()) == sorted(d.id for d in docs)
