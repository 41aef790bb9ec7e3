"""Blame at the edges, through the real inference handler: what the caller's input
causes is a 4xx recorded as ``client``; what the model or the service causes stays 5xx."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from layerserve.domain.manifest import Manifest
from layerserve.domain.metric_record import MetricRecord, parse_record
from tests.apigw import http_api_event, reply
from tests.conftest import Invoke, invoke_on_first_use
from tests.hostile_support import (
    RESPONSE_TILES,
    edge_handler_over,
    infer,
)


@pytest.fixture
def handler(edge_handler: Invoke) -> Invoke:
    return edge_handler


def tensor(name: str, datatype: str, shape: list[int], data: Any) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": data}


def error_of(response: Any) -> str:
    message: str = orjson.loads(response.body)["error"]
    return message


def records(capsys: pytest.CaptureFixture[str]) -> list[MetricRecord]:
    found = (parse_record(line) for line in capsys.readouterr().out.splitlines())
    return [record for record in found if record is not None]


# --- onnxruntime failures: the caller's side -------------------------------------------
CALLERS_RUNTIME_FAILURES = {
    "gather-index-outside-the-table": (
        "gather",
        [tensor("ids", "INT64", [2], [0, 5])],
        "Gather node: indices element out of data bounds, idx=5",
    ),
    "one-hot-unknown-category": (
        "colors",
        [tensor("color", "BYTES", [2, 1], ["red", "purple"])],
        "Unknown Category",
    ),
    "inputs-that-do-not-broadcast": (
        "unrelated",
        [tensor("a", "FP32", [2, 4], [0] * 8), tensor("b", "FP32", [3, 4], [0] * 12)],
        "Attempting to broadcast an axis by a dimension other than 1. 2 by 3",
    ),
    "a-buffer-larger-than-the-machine": (
        "expand",
        [tensor("x", "FP32", [1], [1]), tensor("shape", "INT64", [2], [2**24, 2**30])],
        "Failed to allocate memory",
    ),
}


@pytest.mark.parametrize("case", CALLERS_RUNTIME_FAILURES, ids=str)
def test_runtime_failures_the_input_caused_are_the_callers(
    handler: Invoke, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    model, inputs, words = CALLERS_RUNTIME_FAILURES[case]
    response = infer(handler, model, {"inputs": inputs})
    assert response.status == 400, response.body
    message = error_of(response)
    assert message.startswith("model rejected the input: ") and words in message
    assert "onnxruntime_src" not in message and "[ONNXRuntimeError]" not in message
    (record,) = records(capsys)
    assert (record.status, record.error_kind) == (400, "client")


def test_the_same_models_answer_valid_requests(handler: Invoke) -> None:
    gathered = infer(handler, "gather", {"inputs": [tensor("ids", "INT64", [2], [1, 0])]})
    assert orjson.loads(gathered.body)["outputs"][0]["data"] == [2, 3, 0, 1]
    colors = infer(handler, "colors", {"inputs": [tensor("color", "BYTES", [1, 1], ["red"])]})
    assert colors.status == 200


# --- onnxruntime failures: the model's side --------------------------------------------
@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        ("fragile", [tensor("x", "FP32", [2, 4], [0] * 8)]),
        ("reshape", [tensor("x", "FP32", [6], [0] * 6), tensor("shape", "INT64", [2], [4, -1])]),
    ],
    ids=["constant-reshape-of-an-admitted-batch", "reshape-to-a-given-shape"],
)
def test_a_reshape_the_graph_cannot_do_is_the_models(
    handler: Invoke, capsys: pytest.CaptureFixture[str], model: str, inputs: list[Any]
) -> None:
    """The signature admitted the shape; the graph cannot take it: it fails for anyone."""
    response = infer(handler, model, {"inputs": inputs})
    assert response.status == 500
    message = error_of(response)
    assert message.startswith("inference failed: Reshape node: The input tensor cannot be")
    (record,) = records(capsys)
    assert (record.status, record.error_kind) == (500, "model")


# --- checks before the run --------------------------------------------------------------
def test_inputs_sharing_a_batch_dimension_must_agree(
    handler: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = [tensor("a", "FP32", [2, 4], [0] * 8), tensor("b", "FP32", [3, 4], [0] * 12)]
    response = infer(handler, "addmul", {"inputs": inputs})
    assert response.status == 400
    assert error_of(response) == (
        "inputs 'a' and 'b' disagree on dimension 'batch': 'a' has 2 on axis 0, 'b' has 3 on axis 0"
    )
    assert records(capsys)[0].error_kind == "client"


def test_token_ids_and_mask_of_different_lengths_are_refused(handler: Invoke) -> None:
    inputs = [
        tensor("input_ids", "INT64", [1, 4], [101, 7, 8, 102]),
        tensor("attention_mask", "INT64", [1, 3], [1, 1, 1]),
    ]
    response = infer(handler, "tokens", {"inputs": inputs})
    assert response.status == 400
    message = error_of(response)
    assert "'input_ids' and 'attention_mask' disagree on dimension 'sequence'" in message
    assert "'input_ids' has 4 on axis 1, 'attention_mask' has 3 on axis 1" in message
    inputs[1] = tensor("attention_mask", "INT64", [1, 4], [1, 1, 1, 0])
    ok = infer(handler, "tokens", {"inputs": inputs})
    assert orjson.loads(ok.body)["outputs"][0]["data"] == [101, 7, 8, 0]


# --- section 2 of the issue: 500s that are the caller's ------------------------------------
NULL_AND_OBJECTS = {
    "null-flat": [1, None, 3],
    "object-flat": [1, {}, 3],
    "null-nested": [[1, None, 3]],
    "object-nested": [[1, {"a": 1}, 3]],
    "list-as-element": [[1, [2], 3]],
}


@pytest.mark.parametrize("case", NULL_AND_OBJECTS, ids=str)
@pytest.mark.parametrize("model", ["int64", "uint64"])
def test_null_or_object_in_integer_data(handler: Invoke, model: str, case: str) -> None:
    request = {"inputs": [tensor("x", model.upper(), [1, 3], NULL_AND_OBJECTS[case])]}
    response = infer(handler, model, request)
    assert response.status == 400, response.body
    assert "input 'x'" in error_of(response)


@pytest.mark.parametrize("shape", [[0, 2**63 - 1], [2**62, 0], [0, 2**31, 2**31, 2**31]])
def test_an_empty_tensor_with_a_huge_dimension(handler: Invoke, shape: list[int]) -> None:
    request = {"inputs": [tensor("x", "INT64", shape, [])]}
    response = infer(handler, "int64", request)
    assert response.status == 400
    assert "product of its non-zero dimensions must be at most 2^53" in error_of(response)
    header = orjson.dumps(
        {"inputs": [{**request["inputs"][0], "parameters": {"binary_data_size": 0}}]}
    )
    del_data = orjson.loads(header)
    del del_data["inputs"][0]["data"]
    body = orjson.dumps(del_data)
    binary = infer(
        handler, "int64", body, headers={"inference-header-content-length": str(len(body))}
    )
    assert binary.status == 400


def test_a_small_empty_tensor_still_works(handler: Invoke) -> None:
    response = infer(handler, "int64", {"inputs": [tensor("x", "INT64", [0, 3], [])]})
    assert response.status == 200
    assert orjson.loads(response.body)["outputs"][0]["shape"] == [0, 3]


def _nested_body(datatype: str, leaf: str, depth: int) -> bytes:
    """``data`` nested ``depth`` levels deep (as text: JSON encoders refuse deep nesting)."""
    data = "[" * depth + leaf + "]" * depth
    text = f'{{"inputs":[{{"name":"x","datatype":"{datatype}","shape":[1],"data":{data}}}]}}'
    return text.encode()


@pytest.mark.parametrize("depth", [33, 40, 64, 65, 500, 5000])
@pytest.mark.parametrize(
    ("model", "datatype", "leaf"), [("text", "BYTES", '"a"'), ("int64", "INT64", "1")]
)
def test_data_nested_too_deep(
    handler: Invoke, model: str, datatype: str, leaf: str, depth: int
) -> None:
    response = infer(handler, model, _nested_body(datatype, leaf, depth))
    assert response.status == 400, response.body
    message = error_of(response)
    assert "nested deeper than 32 levels" in message or "malformed" in message


def test_nesting_as_deep_as_the_rank_allows_is_fine(handler: Invoke) -> None:
    assert infer(handler, "text", _nested_body("BYTES", '"a"', 32)).status == 200


# --- a manifest whose signature is not the graph's ---------------------------------------
def _tampered(edge_models: Path, root: Path, change: str) -> Path:
    folder = root / "addmul" / "1"
    shutil.copytree(edge_models / "addmul" / "1", folder)
    document = json.loads((folder / "manifest.json").read_text())
    inputs = document["signature"]["inputs"]
    if change == "datatype":
        inputs[0]["datatype"] = "INT64"
    elif change == "shape":
        inputs[0]["shape"] = ["batch", 5]
    else:
        inputs[1]["name"] = "c"
    (folder / "manifest.json").write_text(Manifest.model_validate(document).to_json())
    return root


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("datatype", "input 'a' is INT64 [batch, 4] in the manifest but FP32 [batch, 4]"),
        ("shape", "input 'a' is FP32 [batch, 5] in the manifest but FP32 [batch, 4]"),
        ("name", "the graph has no input 'c'; the manifest does not list input 'b'"),
    ],
)
def test_a_manifest_that_disagrees_with_the_graph_is_refused_at_load(
    inference_handler: Invoke,
    edge_models: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
    named: str,
) -> None:
    root = _tampered(edge_models, tmp_path / "models", change)
    invoke = edge_handler_over(inference_handler, root, monkeypatch)
    ready = invoke(http_api_event("GET", "/v2/health/ready"))
    assert ready["statusCode"] == 503
    model_ready = reply(invoke(http_api_event("GET", "/v2/models/addmul/ready")))
    assert model_ready.status == 503
    assert "the manifest's signature disagrees with the graph" in error_of(model_ready)
    assert named in error_of(model_ready)
    value = [0] * 4
    request = {"inputs": [tensor("a", "FP32", [1, 4], value), tensor("b", "FP32", [1, 4], value)]}
    assert infer(invoke, "addmul", request).status == 503


# --- responses larger than Lambda returns ------------------------------------------------
def _tile_request(binary: bool) -> dict[str, Any]:
    values = np.random.default_rng(3).random(4).astype(np.float32).tolist()
    request: dict[str, Any] = {"inputs": [tensor("x", "FP32", [1, 4], values)]}
    if binary:
        request["parameters"] = {"binary_data_output": True}
    return request


def test_a_response_over_lambdas_limit_is_the_callers_400(
    handler: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    response = infer(handler, "tile", _tile_request(binary=False))
    assert response.status == 400
    message = error_of(response)
    size = int(message.split("the response would be ")[1].split(" bytes")[0])
    over = int(message.split("limit by ")[1].split(" bytes")[0])
    assert size > 6_291_556 and over == size - 6_291_556
    assert "over the 6291556-byte response limit" in message
    assert "binary outputs" in message and "fewer outputs" in message
    (record,) = records(capsys)
    assert (record.status, record.error_kind) == (400, "client")


def test_binary_outputs_fit_where_json_did_not(handler: Invoke) -> None:
    """4 MB of FP32 travel as 5.3 MB of base64: under the limit, counted as encoded."""
    event = http_api_event("POST", "/v2/models/tile/infer", _tile_request(binary=True))
    result = handler(event)
    assert result["statusCode"] == 200 and result["isBase64Encoded"]
    assert len(json.dumps(result)) < 6_291_556
    length = int(reply(result).headers["inference-header-content-length"])
    assert len(reply(result).body) - length == 4 * RESPONSE_TILES * 4


def test_the_limit_counts_the_base64_size(handler: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit between the raw (4 MB) and the encoded (5.3 MB) size refuses the answer."""
    monkeypatch.setenv("LAYERSERVE_MAX_RESPONSE_BYTES", str(5_000_000))
    response = infer(handler, "tile", _tile_request(binary=True))
    assert response.status == 400
    assert "over the 5000000-byte response limit" in error_of(response)


def test_the_v1_route_is_limited_too(handler: Invoke) -> None:
    values = np.random.default_rng(3).random(4).astype(np.float32).tolist()
    event = http_api_event("POST", "/v1/models/tile:predict", {"instances": [values]})
    response = reply(handler(event))
    assert response.status == 400
    assert "send fewer instances" in error_of(response)


def test_the_size_counted_is_the_payload_lambda_returns(
    handler: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Quotes, backslashes and non-ASCII grow inside Lambda's JSON payload: the limit
    refuses an answer one byte over it, and passes one with a little room."""
    words = ['say "hé"', "back\\slash", "naïve ☃"] * 200
    request = {"inputs": [tensor("text", "BYTES", [len(words)], words)]}
    result = handler(http_api_event("POST", "/v2/models/words/infer", request))
    assert result["statusCode"] == 200
    actual = len(json.dumps(result))
    assert actual > len(reply(result).body) * 1.2  # escaping mattered
    for limit, status in ((actual - 1, 400), (actual + 512, 200)):
        monkeypatch.setenv("LAYERSERVE_MAX_RESPONSE_BYTES", str(limit))
        cold = invoke_on_first_use()  # settings are read at a cold start
        event = http_api_event("POST", "/v2/models/words/infer", request)
        assert cold(event)["statusCode"] == status
