"""A hostile-input corpus through the real inference handler: no caller-caused request
answers >= 500, the server answers a valid request afterwards, memory stays bounded.

Hand-written cases by category (``tests/hostile_corpus.py``) and a property-based
generator over models, datatypes, shapes, nesting and the binary extension.
"""

from __future__ import annotations

import json
import resource
import struct
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.apigw import http_api_event, reply
from tests.conftest import ALL_DATATYPES, Invoke
from tests.hostile_corpus import CORPUS, Case

GENERATED_EXAMPLES = 400
RSS_GROWTH_LIMIT_MB = 64

# model -> its inputs (name, datatype, shape with None for a dynamic dimension)
SIGNATURES: dict[str, list[tuple[str, str, list[int | None]]]] = {
    "classifier": [("input", "FP32", [None, 4])],
    "words": [("text", "BYTES", [None])],
    "tokens": [("input_ids", "INT64", [None, None]), ("attention_mask", "INT64", [None, None])],
    "addmul": [("a", "FP32", [None, 4]), ("b", "FP32", [None, 4])],
    "half": [("x", "FP16", [None, 3])],
    "flags": [("x", "BOOL", [None, 3])],
    "gather": [("ids", "INT64", [None])],
    "colors": [("color", "BYTES", [None, 1])],
}


@pytest.fixture
def handler(edge_handler: Invoke) -> Invoke:
    return edge_handler


def send(handler: Invoke, case: Case) -> int:
    method = "POST"
    event = http_api_event(method, case.route(), case.body, case.headers, base64_body=True)
    status: int = handler(event)["statusCode"]
    return status


def assert_still_serving(handler: Invoke) -> None:
    valid = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [5, 3, 1, 0]}]
    }
    response = reply(handler(http_api_event("POST", "/v2/models/classifier/infer", valid)))
    assert response.status == 200, response.body
    assert orjson.loads(response.body)["outputs"][0]["name"] == "label"


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("category", CORPUS, ids=str)
def test_hand_written_hostile_requests_are_the_callers(handler: Invoke, category: str) -> None:
    statuses = [(send(handler, case), case) for case in CORPUS[category]]
    wrong = [(status, case.model, case.body[:120]) for status, case in statuses]
    wrong = [entry for entry in wrong if not 400 <= entry[0] < 500]
    assert wrong == [], f"{len(wrong)} of {len(statuses)} {category} cases were not 4xx"
    assert_still_serving(handler)


# --- generated --------------------------------------------------------------------------
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
JSON_DATA = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4), max_leaves=24)
DIMS = st.one_of(
    st.integers(min_value=0, max_value=4),
    st.sampled_from([0, 1, 2**31, 2**53, 2**62, 2**63 - 1]),
)


def _values(datatype: str, count: int) -> st.SearchStrategy[list[Any]]:
    if datatype == "BYTES":
        return st.lists(st.text(max_size=6), min_size=count, max_size=count)
    if datatype == "BOOL":
        return st.lists(st.booleans(), min_size=count, max_size=count)
    if datatype.startswith("FP"):
        floats = st.floats(allow_nan=False, allow_infinity=False, width=32)
        return st.lists(floats, min_size=count, max_size=count)
    return st.lists(st.integers(-3, 5), min_size=count, max_size=count)


@st.composite
def near_valid_input(draw: st.DrawFn, name: str, datatype: str, dims: list[int | None]) -> Any:
    """The model's input with right or wrong datatype, shape, data and nesting."""
    shape = [draw(st.integers(0, 3)) if dim is None else dim for dim in dims]
    if draw(st.integers(0, 4)) == 0:
        shape = draw(st.lists(DIMS, max_size=4))
    chosen = datatype if draw(st.integers(0, 3)) else draw(st.sampled_from(ALL_DATATYPES))
    count = 1
    for dim in shape:
        count *= dim
    data: Any
    if count <= 24 and draw(st.booleans()):
        data = draw(_values(chosen, count))
        if data and draw(st.integers(0, 3)) == 0:  # one element replaced by anything
            data[draw(st.integers(0, len(data) - 1))] = draw(LEAVES)
        if draw(st.booleans()) and len(shape) > 1 and 0 < shape[0] <= count:  # nested form
            data = [data[i :: shape[0]] for i in range(shape[0])]
    else:
        data = draw(JSON_DATA)
    return {"name": name, "datatype": chosen, "shape": shape, "data": data}


@st.composite
def json_request(draw: st.DrawFn) -> Case:
    model = draw(st.sampled_from(sorted(SIGNATURES)))
    inputs = [draw(near_valid_input(*spec)) for spec in SIGNATURES[model]]
    if draw(st.integers(0, 9)) == 0:
        inputs = inputs[:-1] or inputs * 2
    document: dict[str, Any] = {"inputs": inputs}
    if draw(st.booleans()):
        document["parameters"] = {"binary_data_output": draw(st.booleans())}
    return Case(model, json.dumps(document).encode())  # any integer, unlike orjson


def _blob(datatype: str, data: Any) -> bytes:
    """``data`` in the binary layout of ``datatype`` where it fits; raw bytes otherwise."""
    from layerserve.domain.datatypes import numpy_dtype

    flat = data if isinstance(data, list) else [data]
    try:
        if datatype == "BYTES":
            parts = [str(value).encode() for value in flat]
            return b"".join(struct.pack("<I", len(p)) + p for p in parts)
        import numpy as np

        return np.asarray(flat, dtype=numpy_dtype(datatype)).tobytes()
    except (TypeError, ValueError, OverflowError):
        return json.dumps(data).encode()


@st.composite
def binary_request(draw: st.DrawFn) -> Case:
    """The binary extension: sizes right or wrong, tails short, long or garbage."""
    model = draw(st.sampled_from(sorted(SIGNATURES)))
    headers_inputs, tail = [], b""
    for spec in SIGNATURES[model]:
        tensor = draw(near_valid_input(*spec))
        blob = _blob(tensor["datatype"], tensor.pop("data"))
        if draw(st.integers(0, 4)) == 0:
            blob = draw(st.binary(max_size=40))
        size: Any = len(blob)
        if draw(st.integers(0, 5)) == 0:
            size = draw(st.one_of(st.integers(-5, 2**64), st.text(max_size=3), st.booleans()))
        tensor["parameters"] = {"binary_data_size": size}
        headers_inputs.append(tensor)
        tail += blob
    header = json.dumps({"inputs": headers_inputs}).encode()
    length = len(header)
    if draw(st.integers(0, 6)) == 0:
        length = draw(st.integers(-2, len(header) + len(tail) + 3))
    return Case(model, header + tail, {"inference-header-content-length": str(length)})


def test_generated_requests_never_answer_5xx(handler: Invoke) -> None:
    server_errors: list[tuple[int, Case]] = []
    statuses: dict[int, int] = {}

    @settings(
        max_examples=GENERATED_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.one_of(json_request(), binary_request()))
    def one_request(case: Case) -> None:
        status = send(handler, case)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            server_errors.append((status, case))

    one_request()
    assert server_errors == []
    assert sum(statuses.values()) >= GENERATED_EXAMPLES
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0  # both kinds were tried
    assert_still_serving(handler)
    # The first pass warmed every path (sessions, arenas, caches); the same requests again
    # must not raise the peak: memory a hostile request takes is given back.
    rss_before = max_rss_mb()
    one_request()
    assert server_errors == []
    growth = max_rss_mb() - rss_before
    assert growth < RSS_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"
