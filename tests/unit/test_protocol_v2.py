"""Open Inference Protocol V2 bodies (``protocol.v2``): decoding rules and encodings."""

from __future__ import annotations

import struct

import numpy as np
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import InferOutput, InferResponse
from layerserve.protocol import decode_infer_request, encode_infer_response, tensor_bytes


def _request(**input_fields: object) -> bytes:
    base = {"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3, 4]}
    return orjson.dumps({"inputs": [{**base, **input_fields}]})


def test_flat_and_nested_data_decode_to_the_same_array() -> None:
    flat = decode_infer_request(_request()).inputs[0].array
    nested = decode_infer_request(_request(data=[[1, 2], [3, 4]])).inputs[0].array
    np.testing.assert_array_equal(flat, nested)
    assert flat.dtype == np.float32
    assert flat.shape == (2, 2)


def test_request_level_fields() -> None:
    body = orjson.dumps(
        {
            "id": "abc",
            "inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [5]}],
            "outputs": [{"name": "y", "parameters": {"binary_data": True}}, {"name": "z"}],
            "parameters": {"binary_data_output": False},
        }
    )
    request = decode_infer_request(body)
    assert request.id == "abc"
    assert [(out.name, out.binary) for out in request.outputs or []] == [("y", True), ("z", False)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"shape": [-1, 4]}, "non-negative integers"),
        ({"shape": [2, True]}, "non-negative integers"),
        ({"name": ""}, "needs a 'name'"),
        ({"datatype": None}, "needs a 'datatype'"),
        ({"data": [True, False, True, False]}, "does not fit datatype FP32"),
        ({"datatype": "BOOL", "data": [1, 0, 1, 0]}, "does not fit datatype BOOL"),
        ({"datatype": "UINT8", "data": [1, 2, 3, -1]}, "out of range for UINT8"),
        ({"datatype": "BYTES", "data": [1, 2, 3, 4]}, "BYTES takes strings"),
        ({"parameters": {"binary_data_size": "12"}}, "non-negative integer"),
        ({"parameters": []}, "must be a JSON object"),
    ],
)
def test_invalid_inputs(fields: dict[str, object], message: str) -> None:
    body = _request(**fields)
    with pytest.raises(InvalidInputError, match=message):
        decode_infer_request(body)


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None, [], {}])
@pytest.mark.parametrize(
    ("where", "message"),
    [("request", "parameters: 'binary_data_output'"), ("output", "output 'y' parameters")],
)
def test_binary_flags_must_be_json_booleans(value: object, where: str, message: str) -> None:
    document: dict[str, object] = {
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]
    }
    if where == "request":
        document["parameters"] = {"binary_data_output": value}
    else:
        document["outputs"] = [{"name": "y", "parameters": {"binary_data": value}}]
    with pytest.raises(InvalidInputError, match=f"{message}.* must be true or false"):
        decode_infer_request(orjson.dumps(document))


def test_input_without_data() -> None:
    body = orjson.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]})
    with pytest.raises(InvalidInputError, match="neither 'data' nor 'binary_data_size'"):
        decode_infer_request(body)


def test_bytes_binary_layout_is_length_prefixed() -> None:
    blob = struct.pack("<I", 2) + b"hi" + struct.pack("<I", 0)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "t",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(blob)},
                }
            ]
        }
    )
    request = decode_infer_request(header + blob, str(len(header)))
    assert request.inputs[0].array.tolist() == ["hi", ""]
    assert tensor_bytes(np.array(["hi", ""], dtype=object)) == blob
    truncated = header.replace(b'"binary_data_size":10', b'"binary_data_size":9')
    with pytest.raises(InvalidInputError):
        decode_infer_request(truncated + blob[:9], str(len(truncated)))


@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64, np.int8, np.uint16, np.int64, np.bool_]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    )
)
def test_binary_round_trip(array: np.ndarray) -> None:
    from layerserve.domain.datatypes import v2_datatype

    datatype = v2_datatype(array.dtype)
    blob = tensor_bytes(array)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "datatype": datatype,
                    "shape": list(array.shape),
                    "parameters": {"binary_data_size": len(blob)},
                }
            ]
        }
    )
    decoded = decode_infer_request(header + blob, str(len(header))).inputs[0].array
    np.testing.assert_array_equal(decoded, array)
    assert decoded.dtype == array.dtype


def test_encode_mixes_json_and_binary_outputs() -> None:
    response = InferResponse(
        "m",
        "3",
        [
            InferOutput("json", np.array([[1.5, 2.5]], dtype=np.float32)),
            InferOutput("bin", np.array([7, 8], dtype=np.int32), binary=True),
        ],
        id="r",
    )
    body, header_length = encode_infer_response(response)
    assert header_length is not None
    document = orjson.loads(body[:header_length])
    assert document["model_version"] == "3"
    assert document["id"] == "r"
    assert document["outputs"][0]["data"] == [1.5, 2.5]
    assert document["outputs"][1]["parameters"] == {"binary_data_size": 8}
    assert np.frombuffer(body[header_length:], dtype=np.int32).tolist() == [7, 8]


def test_encode_json_only_has_no_header_length() -> None:
    response = InferResponse("m", "1", [InferOutput("y", np.array(["a", b"b"], dtype=object))])
    body, header_length = encode_infer_response(response)
    assert header_length is None
    assert orjson.loads(body)["outputs"][0] == {
        "name": "y",
        "datatype": "BYTES",
        "shape": [2],
        "data": ["a", "b"],
    }


def test_uint64_beyond_int64_stays_exact() -> None:
    body = _request(datatype="UINT64", shape=[3], data=[1, 2, 2**64 - 1])
    array = decode_infer_request(body).inputs[0].array
    assert array.dtype == np.uint64
    assert array.tolist() == [1, 2, 2**64 - 1]
    with pytest.raises(InvalidInputError, match="out of range for INT64"):
        decode_infer_request(_request(datatype="INT64", shape=[2], data=[1, 2**64 - 1]))
