"""Open Inference Protocol datatypes and their NumPy / ONNX counterparts."""

from __future__ import annotations

from typing import Final

import numpy as np

from layerserve.domain.errors import InvalidInputError

# V2 datatype -> NumPy dtype. BYTES tensors are object arrays of ``bytes``/``str``.
V2_TO_NUMPY: Final[dict[str, np.dtype[np.generic]]] = {
    "BOOL": np.dtype(np.bool_),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}

NUMPY_TO_V2: Final[dict[np.dtype[np.generic], str]] = {v: k for k, v in V2_TO_NUMPY.items()}

# ONNX Runtime type strings (``NodeArg.type``) -> V2 datatype.
ONNX_TO_V2: Final[dict[str, str]] = {
    "tensor(bool)": "BOOL",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}

# ONNX TensorProto.DataType enum value -> V2 datatype (used when reading a graph).
ONNX_ELEM_TO_V2: Final[dict[int, str]] = {
    9: "BOOL",
    3: "INT8",
    5: "INT16",
    6: "INT32",
    7: "INT64",
    2: "UINT8",
    4: "UINT16",
    12: "UINT32",
    13: "UINT64",
    10: "FP16",
    1: "FP32",
    11: "FP64",
    8: "BYTES",
}


def numpy_dtype(datatype: str) -> np.dtype[np.generic]:
    """The NumPy dtype for a V2 datatype, or ``InvalidInputError``."""
    try:
        return V2_TO_NUMPY[datatype]
    except KeyError:
        raise InvalidInputError(f"unsupported datatype '{datatype}'") from None


def v2_datatype(dtype: np.dtype[np.generic]) -> str:
    """The V2 datatype for a NumPy dtype (strings and bytes map to BYTES)."""
    if dtype.kind in "OSU":
        return "BYTES"
    try:
        return NUMPY_TO_V2[dtype]
    except KeyError:
        raise InvalidInputError(f"unsupported tensor dtype '{dtype}'") from None


def element_size(datatype: str) -> int:
    """Bytes per element of a fixed-size V2 datatype (BYTES has none)."""
    if datatype == "BYTES":
        raise InvalidInputError("BYTES has no fixed element size")
    return numpy_dtype(datatype).itemsize
