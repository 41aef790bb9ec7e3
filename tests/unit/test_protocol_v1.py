"""The V1 encoder writes every datatype's rows, alone or beside other outputs."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from layerserve.domain.datatypes import numpy_dtype
from layerserve.protocol.v1 import PredictionRows, encode_predictions

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
