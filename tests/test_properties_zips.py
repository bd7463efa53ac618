"""Property tests of the document zips that carry documents between this toolkit and the cloud: random
documents (any Unicode text; integers beyond 64 bits, NaN and the infinities; nested objects and arrays)
written by the client come back equal from the client's own reader and from the server's ingest."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ndicloud.core import new_id
from ndicloud.server.ingest import read_document_zip as server_reads
from ndicloud.transfers.zips import read_document_zip, write_document_zip

from conftest import same_values

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

texts = st.text(st.characters(codec="utf-8"), max_size=6)  # lone surrogates: refused by the store and the server
numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(),
                    st.sampled_from((0.0, -0.0, 1e16, 2.0**53, math.nan, math.inf, -math.inf)))
scalars = st.one_of(texts, numbers, st.booleans(), st.none())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(texts, inner, max_size=3)), max_leaves=10)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(st.dictionaries(texts.filter(lambda k: k != "base"), values, max_size=4))
    doc["base"] = {"id": new_id(), "name": draw(texts), "datestamp": "2024-01-01T00:00:00.000Z", "extra": draw(values)}
    return doc


@SETTINGS
@given(docs=st.lists(documents(), max_size=4))
def test_a_document_zip_reads_back_equal_on_both_sides(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / f"{new_id()}.zip"
    assert write_document_zip(docs, path) == len(docs)
    assert same_values(list(read_document_zip(path)), docs)
    assert same_values(server_reads(path), docs)
