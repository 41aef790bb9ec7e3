"""The inference Lambda handler, driven with real API Gateway event shapes."""

from __future__ import annotations

import base64
import gzip
import struct
from typing import Any

import numpy as np
import orjson
import pytest

from tests.apigw import http_api_event, reply, reply_json, rest_api_event
from tests.conftest import ALL_DATATYPES, Invoke

ADD_MUL: dict[str, Any] = {
    "id": "req-1",
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [[10, 20, 30, 40]]},
    ],
}


@pytest.mark.parametrize("make_event", [http_api_event, rest_api_event])
def test_infer_json_through_both_event_formats(inference_handler: Invoke, make_event: Any) -> None:
    body = reply_json(inference_handler(make_event("POST", "/v2/models/addmul/infer", ADD_MUL)))
    assert body["model_name"] == "addmul"
    assert body["model_version"] == "2"  # highest version is the default
    assert body["id"] == "req-1"
    outputs = {out["name"]: out for out in body["outputs"]}
    assert outputs["sum"]["data"] == [11, 22, 33, 44]
    assert outputs["product"] == {
        "name": "product",
        "datatype": "FP32",
        "shape": [1, 4],
        "data": [10, 40, 90, 160],
    }


def test_explicit_version_and_requested_outputs(inference_handler: Invoke) -> None:
    request = {**ADD_MUL, "outputs": [{"name": "product"}]}
    event = http_api_event("POST", "/v2/models/addmul/versions/1/infer", request)
    body = reply_json(inference_handler(event))
    assert body["model_version"] == "1"
    assert [out["name"] for out in body["outputs"]] == ["product"]


def test_health_and_server_metadata(inference_handler: Invoke) -> None:
    live = inference_handler(http_api_event("GET", "/v2/health/live"))
    assert (live["statusCode"], reply_json(live)) == (200, {"live": True})
    ready = inference_handler(http_api_event("GET", "/v2/health/ready"))
    assert (ready["statusCode"], reply_json(ready)) == (200, {"ready": True})
    server = reply_json(inference_handler(http_api_event("GET", "/v2")))
    assert server["name"] == "layerserve"
    assert "binary_tensor_data" in server["extensions"]


def test_model_metadata_and_readiness(inference_handler: Invoke) -> None:
    body = reply_json(inference_handler(http_api_event("GET", "/v2/models/addmul")))
    assert body["versions"] == ["1", "2"]
    assert body["platform"] == "onnxruntime_onnx"
    assert body["inputs"][0] == {"name": "a", "datatype": "FP32", "shape": [-1, 4]}
    assert body["parameters"]["version"] == "2"
    event = http_api_event("GET", "/v2/models/addmul/versions/1/ready")
    assert reply_json(inference_handler(event)) == {"name": "addmul", "version": "1", "ready": True}


@pytest.mark.parametrize("datatype", ALL_DATATYPES)
def test_every_datatype_round_trips_as_json_and_binary(
    inference_handler: Invoke, datatype: str
) -> None:
    values: list[Any]
    if datatype == "BYTES":
        values, shape = ["héllo", "", "wörld"], [3]
    elif datatype == "BOOL":
        values, shape = [True, False, True, False, False, True], [2, 3]
    elif datatype.startswith("FP"):
        values, shape = [0.5, -1.25, 3.0, 1e3, 0.0, 2.5], [2, 3]
    else:
        values, shape = [0, 1, 2, 3, 100, 7], [2, 3]
    model = f"id-{datatype.lower()}"
    name = "x"
    request = {"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": values}]}
    body = reply_json(
        inference_handler(http_api_event("POST", f"/v2/models/{model}/infer", request))
    )
    assert body["outputs"][0]["data"] == values
    assert body["outputs"][0]["datatype"] == datatype

    blob = _binary(datatype, values)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": name,
                    "datatype": datatype,
                    "shape": shape,
                    "parameters": {"binary_data_size": len(blob)},
                }
            ],
            "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
        }
    )
    event = http_api_event(
        "POST",
        f"/v2/models/{model}/infer",
        header + blob,
        {
            "content-type": "application/octet-stream",
            "inference-header-content-length": str(len(header)),
        },
        base64_body=True,
    )
    response = reply(inference_handler(event))
    assert response.status == 200, response.body
    length = int(response.headers["inference-header-content-length"])
    document = orjson.loads(response.body[:length])
    assert document["outputs"][0]["parameters"]["binary_data_size"] == len(blob)
    assert response.body[length:] == blob


def _binary(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        encoded = [value.encode() for value in values]
        return b"".join(struct.pack("<I", len(raw)) + raw for raw in encoded)
    from layerserve.domain.datatypes import numpy_dtype

    return np.asarray(values, dtype=numpy_dtype(datatype)).tobytes()


@pytest.mark.parametrize("line_breaks", [False, True], ids=["strict", "mime-wrapped"])
@pytest.mark.parametrize("make_event", [http_api_event, rest_api_event])
def test_large_fp32_tensor_through_binary_extension(
    inference_handler: Invoke, make_event: Any, line_breaks: bool
) -> None:
    array = np.random.default_rng(1).normal(size=(512, 3)).astype(np.float32)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": "FP32",
                    "shape": list(array.shape),
                    "parameters": {"binary_data_size": array.nbytes},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    )
    headers = {"inference-header-content-length": str(len(header))}
    event = make_event(
        "POST", "/v2/models/id-fp32/infer", header + array.tobytes(), headers, base64_body=True
    )
    if line_breaks:  # not what API Gateway sends, but still base64: decoded leniently
        event["body"] = base64.encodebytes(header + array.tobytes()).decode()
    response = reply(inference_handler(event))
    length = int(response.headers["inference-header-content-length"])
    assert response.headers["content-type"] == "application/octet-stream"
    echoed = np.frombuffer(response.body[length:], dtype=np.float32).reshape(array.shape)
    np.testing.assert_array_equal(echoed, array)


def test_v1_predict_single_and_multi_input(inference_handler: Invoke) -> None:
    rows = {"instances": [[1, 2, 3], [4, 5, 6]]}
    body = reply_json(inference_handler(http_api_event("POST", "/v1/models/id-fp32:predict", rows)))
    assert body == {
        "predictions": [[1, 2, 3], [4, 5, 6]],
        "model_name": "id-fp32",
        "model_version": "1",
    }
    named = {"instances": [{"a": [1, 1, 1, 1], "b": [2, 2, 2, 2]}]}
    body = reply_json(inference_handler(http_api_event("POST", "/v1/models/addmul:predict", named)))
    assert body["predictions"] == [{"sum": [3, 3, 3, 3], "product": [2, 2, 2, 2]}]


def test_v1_model_list_and_readiness(inference_handler: Invoke) -> None:
    listed = reply_json(inference_handler(http_api_event("GET", "/v1/models")))
    assert {"addmul", "mlp", "echo"} <= set(listed["models"])
    ready = inference_handler(http_api_event("GET", "/v1/models/addmul"))
    assert (ready["statusCode"], reply_json(ready)) == (200, {"name": "addmul", "ready": True})
    missing = inference_handler(http_api_event("GET", "/v1/models/nope"))
    assert missing["statusCode"] == 404 and "not found" in reply_json(missing)["error"]


def test_gzip_request_body(inference_handler: Invoke) -> None:
    event = http_api_event(
        "POST",
        "/v2/models/addmul/infer",
        gzip.compress(orjson.dumps(ADD_MUL)),
        {"content-encoding": "gzip", "content-type": "application/octet-stream"},
        base64_body=True,
    )
    response = inference_handler(event)
    assert response["statusCode"] == 200
    assert reply_json(response)["outputs"][0]["data"] == [11, 22, 33, 44]


BAD_REQUESTS = [
    ("/v2/models/nope/infer", ADD_MUL, 404, "model 'nope' not found"),
    ("/v2/models/addmul/versions/9/infer", ADD_MUL, 404, "version '9' of model 'addmul'"),
    ("/v2/models/addmul/infer", b"{not json", 400, "malformed JSON"),
    ("/v2/models/addmul/infer", {"inputs": []}, 400, "'inputs' must be a non-empty list"),
    ("/v2/models/addmul/infer", {"inputs": ADD_MUL["inputs"][:1]}, 400, "missing input(s): b"),
    (
        "/v2/models/addmul/infer",
        {"inputs": [{**ADD_MUL["inputs"][0], "datatype": "INT32"}, ADD_MUL["inputs"][1]]},
        400,
        "has datatype INT32, the model expects FP32",
    ),
    (
        "/v2/models/addmul/infer",
        {"inputs": [{**ADD_MUL["inputs"][0], "shape": [1, 3]}, ADD_MUL["inputs"][1]]},
        400,
        "has 4 elements, shape [1, 3] needs 3",
    ),
    (
        "/v2/models/addmul/infer",
        {"inputs": [{**ADD_MUL["inputs"][0], "shape": [2, 2]}, ADD_MUL["inputs"][1]]},
        400,
        "size 2 on axis 1, the model expects 4",
    ),
    (
        "/v2/models/addmul/infer",
        {**ADD_MUL, "outputs": [{"name": "nope"}]},
        400,
        "unknown output 'nope'",
    ),
    (
        "/v2/models/id-int8/infer",
        {"inputs": [{"name": "x", "datatype": "INT8", "shape": [1, 3], "data": [1, 2, 300]}]},
        400,
        "out of range for INT8",
    ),
    (
        "/v2/models/id-int32/infer",
        {"inputs": [{"name": "x", "datatype": "INT32", "shape": [1, 3], "data": [1, 2.5, 3]}]},
        400,
        "does not fit datatype INT32",
    ),
    (
        "/v2/models/id-fp32/infer",
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, "a", 3]}]},
        400,
        "does not fit datatype FP32",
    ),
    (
        "/v2/models/id-fp32/infer",
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [[1, 2, 3], [4]]}]},
        400,
        "ragged",
    ),
    (
        "/v2/models/id-fp32/infer",
        {"inputs": [{"name": "x", "datatype": "FP99", "shape": [1, 3], "data": [1, 2, 3]}]},
        400,
        "unsupported datatype 'FP99'",
    ),
    ("/v1/models/addmul:predict", {"instances": [[1, 2, 3, 4]]}, 400, "takes several inputs"),
    (
        "/v2/models/id-fp32/infer",
        {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1] * 70, "data": [1]}]},
        400,
        "rank 70; at most 32",
    ),
    ("/v2/models/id-fp32/infer", b"[1, 2]", 400, "must be a JSON object"),
]


@pytest.mark.parametrize(("path", "body", "status", "message"), BAD_REQUESTS)
def test_bad_requests_get_a_clear_4xx(
    inference_handler: Invoke, path: str, body: Any, status: int, message: str
) -> None:
    response = inference_handler(http_api_event("POST", path, body))
    assert response["statusCode"] == status
    assert message in reply_json(response)["error"]


def test_binary_header_errors(inference_handler: Invoke) -> None:
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": "FP32",
                    "shape": [1, 3],
                    "parameters": {"binary_data_size": 12},
                }
            ]
        }
    )
    cases = [
        (header + b"\0" * 8, str(len(header)), "past the end of the body"),
        (header + b"\0" * 16, str(len(header)), "4 bytes no input claims"),
        (header + b"\0" * 12, "abc", "must be an integer"),
        (header + b"\0" * 12, str(10**6), "outside the body"),
    ]
    for body, length, message in cases:
        event = http_api_event(
            "POST",
            "/v2/models/id-fp32/infer",
            body,
            {"inference-header-content-length": length},
            base64_body=True,
        )
        response = inference_handler(event)
        assert response["statusCode"] == 400, message
        assert message in reply_json(response)["error"]


def test_truncated_gzip_body_is_refused(inference_handler: Invoke) -> None:
    event = http_api_event(
        "POST",
        "/v2/models/addmul/infer",
        gzip.compress(orjson.dumps(ADD_MUL))[:-8],
        {"content-encoding": "gzip", "content-type": "application/octet-stream"},
        base64_body=True,
    )
    response = inference_handler(event)
    assert response["statusCode"] == 400
    assert "truncated gzip" in reply_json(response)["error"]


def test_oversized_payloads_get_413(inference_handler: Invoke) -> None:
    big = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [0.0] * 100_000}]}
    response = inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", big))
    assert response["statusCode"] == 413
    assert "exceeds" in reply_json(response)["error"]
    bomb = gzip.compress(b" " * (1024 * 1024))
    event = http_api_event(
        "POST",
        "/v2/models/id-fp32/infer",
        bomb,
        {"content-encoding": "gzip", "content-type": "application/octet-stream"},
        base64_body=True,
    )
    response = inference_handler(event)
    assert response["statusCode"] == 413


def test_unknown_route_is_json_404(inference_handler: Invoke) -> None:
    response = inference_handler(http_api_event("GET", "/v3/nothing"))
    assert response["statusCode"] == 404
    assert "error" in reply_json(response)
