"""Tensors as JSON values, both ways: the rules V2 ``data`` and V1 ``instances`` share.

Decoding turns parsed JSON (nested lists of numbers, booleans or strings) into arrays of
a declared datatype, refusing anything that does not fit it as the caller's error;
encoding turns arrays into values orjson writes without a Python list copy.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import orjson

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import element_count

MAX_RANK: Final = 32  # NumPy's limit is 64; no ONNX model takes more
NUMPY_JSON: Final = orjson.OPT_SERIALIZE_NUMPY
"""orjson writes NumPy arrays (C-contiguous) and scalars itself with this option."""


def parse_json(raw: bytes | memoryview) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"malformed JSON body: {exc}") from None


# --- JSON values -> arrays ---------------------------------------------------------------
def array_from_json(
    name: str, datatype: str, shape: tuple[int, ...], data: Any
) -> np.ndarray[Any, Any]:
    """Flattened or nested JSON ``data`` as an array of ``shape`` and ``datatype``."""
    dtype = numpy_dtype(datatype)
    if not isinstance(data, list):
        data = [data]
    parsed = parse_data(name, datatype, data)
    if parsed.size != element_count(shape):
        raise InvalidInputError(
            f"input '{name}' has {parsed.size} elements, shape {list(shape)} needs "
            f"{element_count(shape)}"
        )
    return convert_parsed(name, datatype, dtype, exact_integers(dtype, parsed, data)).reshape(shape)


def parse_data(name: str, datatype: str, data: list[Any]) -> np.ndarray[Any, Any]:
    """JSON values (nested lists of numbers, booleans or strings) as a NumPy array.

    Anything NumPy cannot make a regular array of (ragged rows, nesting deeper than
    ``MAX_RANK``, values of no single type) is the caller's malformed data."""
    try:
        parsed = np.asarray(data, dtype=object if datatype == "BYTES" else None)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInputError(f"input '{name}' data is ragged or malformed: {exc}") from None
    if parsed.ndim > MAX_RANK:
        raise InvalidInputError(f"input '{name}' data is nested deeper than {MAX_RANK} levels")
    return parsed


def exact_integers(
    dtype: np.dtype[Any], parsed: np.ndarray[Any, Any], data: Any
) -> np.ndarray[Any, Any]:
    """``parsed`` (``parse_data(data)``) with integers for an integer ``dtype`` kept exact:
    values beyond int64 (UINT64 data) beside smaller ones make NumPy choose float64."""
    if dtype.kind not in "iu" or parsed.dtype.kind != "f":
        return parsed
    exact = np.asarray(data, dtype=object)
    if all(isinstance(value, int) and not isinstance(value, bool) for value in exact.flat):
        return exact
    return parsed


def convert_parsed(
    name: str, datatype: str, dtype: np.dtype[Any], parsed: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    kind = parsed.dtype.kind
    if parsed.size == 0:
        return np.empty(0, dtype=dtype)
    if datatype == "BYTES":
        if not all(isinstance(value, str) for value in parsed.flat):
            raise InvalidInputError(f"input '{name}' of datatype BYTES takes strings")
        return parsed
    if kind == "O" and dtype.kind in "iu":
        return _object_integers(name, datatype, dtype, parsed)
    allowed = "b" if datatype == "BOOL" else "iu" if dtype.kind in "iu" else "iuf"
    if kind not in allowed:
        raise InvalidInputError(f"input '{name}' data does not fit datatype {datatype}")
    if dtype.kind in "iu" and not _fits(parsed, dtype):
        raise InvalidInputError(f"input '{name}' data is out of range for {datatype}")
    return parsed.astype(dtype, copy=False)


def _object_integers(
    name: str, datatype: str, dtype: np.dtype[Any], parsed: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Python ints beyond int64, or a mix NumPy kept as objects (``null``, objects)."""
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in parsed.flat):
        raise InvalidInputError(f"input '{name}' data does not fit datatype {datatype}")
    info = np.iinfo(dtype)
    if not all(info.min <= value <= info.max for value in parsed.flat):
        raise InvalidInputError(f"input '{name}' data is out of range for {datatype}")
    return parsed.astype(dtype)


def _fits(values: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> bool:
    info = np.iinfo(dtype)
    return bool(values.min() >= info.min and values.max() <= info.max)


# --- arrays -> JSON values ---------------------------------------------------------------
def flat_json(array: np.ndarray[Any, Any]) -> Any:
    """Row-major flattened data (V2 ``data``), serialisable by orjson without a list copy."""
    flat = array.reshape(-1)
    if flat.dtype.kind in "OSU":
        return [text(value) for value in flat.tolist()]
    return np.ascontiguousarray(flat)


def nested_json(value: Any) -> Any:
    """A tensor, or one row of it, as orjson writes it: nested lists in the tensor's shape
    (V1 ``predictions``), strings as text, a rank-0 tensor as its one value."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSU":
            return np.vectorize(text, otypes=[object])(value).tolist()
        return np.ascontiguousarray(value) if value.ndim else _scalar(value[()])
    if isinstance(value, str | bytes):
        return text(value)
    return _scalar(value)


def _scalar(value: Any) -> Any:
    """One element as orjson can write it. Integers become Python ints (exact): orjson
    refuses the ``longlong``/``ulonglong`` scalars an INT64/UINT64 row yields on Linux;
    floats stay NumPy scalars, written with their own precision (``0.1``, not
    ``0.10000000149011612`` for FP32)."""
    return int(value) if isinstance(value, np.integer) else value


def text(value: Any) -> str:
    """A string element: bytes as UTF-8 (invalid sequences replaced), anything else as str."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
