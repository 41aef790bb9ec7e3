"""The V1 encoder writes every datatype's rows, alone or beside other outputs; the V1
decoder reads numbers as the V2 decoder does."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.protocol.v1 import PredictionRows, decode_predict_request, encode_predictions
from layerserve.protocol.v2 import decode_infer_request

NUMERIC = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"]
NUMERIC += ["FP16", "FP32", "FP64"]


@pytest.mark.parametrize("datatype", NUMERIC)
@pytest.mark.parametrize("rank", [1, 2])
def test_rows_of_every_datatype_are_written_beside_another_output(datatype: str, rank: int) -> None:
    shape = (3,) if rank == 1 else (3, 2)
    values = np.arange(6)[: int(np.prod(shape))].reshape(shape) % 2 + 0.5 * (datatype[0] == "F")
    # ``longlong``-style dtypes as onnxruntime hands INT64/UINT64 outputs over on Linux
    dtype = {"INT64": np.longlong, "UINT64": np.ulonglong}.get(datatype, numpy_dtype(datatype))
    outputs = {"value": values.astype(dtype), "score": np.array([0.1, 0.2, 0.3], np.float32)}

    document = orjson.loads(encode_predictions(outputs))

    expected = values.astype(dtype).tolist()
    assert [row["value"] for row in document] == expected  # halves: exact in every float type
    rows = PredictionRows(outputs)
    assert [orjson.loads(rows.row(index)) for index in range(3)] == document
    assert orjson.loads(rows.rows(0, 3)) == document


UINT64_MODEL = Signature(
    inputs=(TensorSpec(name="x", datatype="UINT64", shape=("batch", 3)),),
    outputs=(TensorSpec(name="y", datatype="UINT64", shape=("batch", 3)),),
)


def _v1_and_v2(rows: list[list[int]]) -> tuple[bytes, bytes]:
    """The same rows as a V1 and a V2 body (``json``: orjson writes no integer past 2^64)."""
    v2 = {"inputs": [{"name": "x", "datatype": "UINT64", "shape": [len(rows), 3], "data": rows}]}
    return json.dumps({"instances": rows}).encode(), json.dumps(v2).encode()


@pytest.mark.parametrize("value", [2**63 - 1, 2**63, 2**64 - 1])
def test_uint64_values_up_to_its_max_decode_exactly_in_v1_as_in_v2(value: int) -> None:
    rows = [[value, 0, 1], [1, value, 2]]  # beside small values: NumPy alone picks float64
    v1_body, v2_body = _v1_and_v2(rows)
    v1 = decode_predict_request(v1_body, UINT64_MODEL).inputs[0].array
    v2 = decode_infer_request(v2_body).inputs[0].array
    assert v1.dtype == v2.dtype == np.uint64
    assert v1.tolist() == v2.tolist() == rows


def test_a_value_past_uint64_is_refused_by_v1_and_v2() -> None:
    v1_body, v2_body = _v1_and_v2([[2**64, 0, 1]])
    with pytest.raises(InvalidInputError, match="UINT64"):
        decode_predict_request(v1_body, UINT64_MODEL)
    with pytest.raises(InvalidInputError, match="UINT64"):
        decode_infer_request(v2_body)
