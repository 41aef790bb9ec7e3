"""UINT64 at its boundaries through the inference function: the V1 ``:predict`` route and
the V2 ``infer`` route accept every value up to 2^64 - 1 and answer the same outputs, and
refuse 2^64 as the caller's 400 with a JSON error."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from tests.apigw import http_api_event, reply
from tests.conftest import Invoke

V1 = "/v1/models/id-uint64:predict"
V2 = "/v2/models/id-uint64/infer"


def _bodies(rows: list[list[int]]) -> tuple[bytes, bytes]:
    """The rows as a V1 and a V2 body (``json``: orjson writes no integer past 2^64)."""
    v2 = {"inputs": [{"name": "x", "datatype": "UINT64", "shape": [len(rows), 3], "data": rows}]}
    return json.dumps({"instances": rows}).encode(), json.dumps(v2).encode()


def _post(invoke: Invoke, path: str, body: bytes) -> tuple[int, Any]:
    answer = reply(invoke(http_api_event("POST", path, body)))
    return answer.status, orjson.loads(answer.body)


@pytest.mark.parametrize("value", [2**63 - 1, 2**63, 2**64 - 1])
def test_values_up_to_the_max_are_served_exactly_by_both_routes(
    inference_handler: Invoke, value: int
) -> None:
    rows = [[value, 0, 1], [2, value, value]]
    v1_body, v2_body = _bodies(rows)
    v1_status, v1 = _post(inference_handler, V1, v1_body)
    v2_status, v2 = _post(inference_handler, V2, v2_body)
    assert (v1_status, v2_status) == (200, 200), (v1, v2)
    assert v1["predictions"] == rows
    (output,) = v2["outputs"]
    assert (output["datatype"], output["data"]) == ("UINT64", [x for row in rows for x in row])


def test_a_value_past_the_max_is_the_callers_400_on_both_routes(inference_handler: Invoke) -> None:
    v1_body, v2_body = _bodies([[2**64, 0, 1]])
    for path, body in ((V1, v1_body), (V2, v2_body)):
        status, document = _post(inference_handler, path, body)
        assert status == 400 and "UINT64" in document["error"], (path, document)
