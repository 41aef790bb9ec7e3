"""Open Inference Protocol (KServe V2) REST bodies, JSON and binary tensor extension.

Decoding turns bytes into ``InferRequest``; encoding turns ``InferResponse`` into bytes
plus the ``Inference-Header-Content-Length`` value when binary outputs follow the JSON.
"""

from __future__ import annotations

import struct
from math import prod
from typing import Any

import numpy as np
import orjson

from layerserve.domain.datatypes import numpy_dtype, v2_datatype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import (
    InferInput,
    InferRequest,
    InferResponse,
    RequestedOutput,
    element_count,
)

HEADER_LENGTH = "inference-header-content-length"
MAX_RANK = 32  # NumPy's limit is 64; no ONNX model takes more
MAX_SPAN = 2**53
"""Largest product of a shape's non-zero dimensions: NumPy refuses shapes whose span
(zeros counted as one) times the element size passes 2^63, even when they hold nothing."""
_NUMPY_JSON = orjson.OPT_SERIALIZE_NUMPY
_LENGTH = struct.Struct("<I")


def parse_json(raw: bytes | memoryview) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInputError(f"malformed JSON body: {exc}") from None


def split_body(body: bytes, header_length: str | None) -> tuple[Any, memoryview]:
    """JSON header and the binary tail (empty without the binary extension)."""
    view = memoryview(body)
    if header_length is None:
        return parse_json(body), view[len(body) :]
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInputError("Inference-Header-Content-Length must be an integer") from None
    if not 0 < length <= len(body):
        raise InvalidInputError(
            f"Inference-Header-Content-Length {length} is outside the body of {len(body)} bytes"
        )
    return parse_json(view[:length]), view[length:]


def decode_infer_request(body: bytes, header_length: str | None = None) -> InferRequest:
    document, binary = split_body(body, header_length)
    if not isinstance(document, dict):
        raise InvalidInputError("the request body must be a JSON object")
    raw_inputs = document.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInputError("'inputs' must be a non-empty list")
    inputs: list[InferInput] = []
    offset = 0
    for raw in raw_inputs:
        item, offset = _decode_input(raw, binary, offset)
        inputs.append(item)
    if offset != len(binary):
        raise InvalidInputError(
            f"binary data has {len(binary) - offset} bytes no input claims (check binary_data_size)"
        )
    parameters = _object(document.get("parameters"), "parameters")
    return InferRequest(
        inputs=inputs,
        outputs=_decode_outputs(document.get("outputs")),
        id=_optional_str(document.get("id"), "id"),
        binary_outputs=bool(parameters.get("binary_data_output", False)),
        parameters=parameters,
    )


def _decode_input(raw: Any, binary: memoryview, offset: int) -> tuple[InferInput, int]:
    if not isinstance(raw, dict):
        raise InvalidInputError("each input must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("each input needs a 'name'")
    datatype = raw.get("datatype")
    if not isinstance(datatype, str):
        raise InvalidInputError(f"input '{name}' needs a 'datatype'")
    shape = _shape(raw.get("shape"), name)
    parameters = _object(raw.get("parameters"), f"input '{name}' parameters")
    size = parameters.get("binary_data_size")
    if size is not None:
        array, offset = _from_binary(name, datatype, shape, size, binary, offset)
    elif "data" in raw:
        array = array_from_json(name, datatype, shape, raw["data"])
    else:
        raise InvalidInputError(f"input '{name}' has neither 'data' nor 'binary_data_size'")
    return InferInput(name, datatype, shape, array), offset


def _shape(raw: Any, name: str) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in raw
    ):
        raise InvalidInputError(f"input '{name}' needs a 'shape' of non-negative integers")
    if len(raw) > MAX_RANK:
        raise InvalidInputError(
            f"input '{name}' has rank {len(raw)}; at most {MAX_RANK} is allowed"
        )
    if prod(dim or 1 for dim in raw) > MAX_SPAN:
        raise InvalidInputError(
            f"input '{name}' has shape {raw}: the product of its non-zero dimensions must "
            f"be at most 2^53, even for an empty tensor"
        )
    return tuple(raw)


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
    if dtype.kind in "iu" and parsed.dtype.kind == "f":
        parsed = _exact_integers(parsed, data)
    return convert_parsed(name, datatype, dtype, parsed).reshape(shape)


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


def _exact_integers(parsed: np.ndarray[Any, Any], data: Any) -> np.ndarray[Any, Any]:
    """Integers beyond int64 (UINT64 data) make NumPy choose float64: keep them exact."""
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
    allowed = {"BOOL": "b"}.get(datatype, "iu" if dtype.kind in "iu" else "iuf")
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


def _from_binary(
    name: str,
    datatype: str,
    shape: tuple[int, ...],
    size: Any,
    binary: memoryview,
    offset: int,
) -> tuple[np.ndarray[Any, Any], int]:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInputError(f"input '{name}' binary_data_size must be a non-negative integer")
    end = offset + size
    if end > len(binary):
        raise InvalidInputError(f"input '{name}' claims {size} bytes past the end of the body")
    chunk = binary[offset:end]
    count = element_count(shape)
    if datatype == "BYTES":
        return _bytes_elements(name, chunk, count).reshape(shape), end
    dtype = numpy_dtype(datatype)
    if size != count * dtype.itemsize:
        raise InvalidInputError(
            f"input '{name}' has {size} bytes, shape {list(shape)} of {datatype} needs "
            f"{count * dtype.itemsize}"
        )
    return np.frombuffer(chunk, dtype=dtype.newbyteorder("<")).reshape(shape), end


def _bytes_elements(name: str, chunk: memoryview, count: int) -> np.ndarray[Any, Any]:
    """Decode the extension's BYTES layout: each element a 4-byte LE length + bytes."""
    values: list[str] = []
    position = 0
    while position < len(chunk):
        if position + 4 > len(chunk):
            raise InvalidInputError(f"input '{name}' BYTES data is truncated")
        (length,) = _LENGTH.unpack_from(chunk, position)
        position += 4
        if position + length > len(chunk):
            raise InvalidInputError(f"input '{name}' BYTES element overruns its data")
        try:
            values.append(bytes(chunk[position : position + length]).decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError(f"input '{name}' BYTES element is not UTF-8") from None
        position += length
    if len(values) != count:
        raise InvalidInputError(f"input '{name}' has {len(values)} BYTES elements, needs {count}")
    return np.array(values, dtype=object)


def _decode_outputs(raw: Any) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInputError("'outputs' must be a list")
    requested: list[RequestedOutput] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInputError("each requested output needs a 'name'")
        parameters = _object(item.get("parameters"), f"output '{item['name']}' parameters")
        requested.append(RequestedOutput(item["name"], bool(parameters.get("binary_data", False))))
    return requested


def _object(raw: Any, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{what} must be a JSON object")
    return raw


def _optional_str(raw: Any, what: str) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise InvalidInputError(f"'{what}' must be a string")


# --- responses -------------------------------------------------------------------------
def encode_infer_response(response: InferResponse) -> tuple[bytes, int | None]:
    """The body, and the JSON header length when binary output data follows it."""
    blobs: list[memoryview] = []
    outputs = []
    for output in response.outputs:
        array = output.array
        entry: dict[str, Any] = {
            "name": output.name,
            "datatype": v2_datatype(array.dtype),
            "shape": list(array.shape),
        }
        if output.binary:
            blob = tensor_buffer(array)
            entry["parameters"] = {"binary_data_size": blob.nbytes}
            blobs.append(blob)
        else:
            entry["data"] = json_data(array)
        outputs.append(entry)
    document: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": outputs,
    }
    if response.id is not None:
        document["id"] = response.id
    header = orjson.dumps(document, option=_NUMPY_JSON)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)


def json_data(array: np.ndarray[Any, Any]) -> Any:
    """Row-major flattened data, serialisable by orjson without a Python list copy."""
    flat = array.reshape(-1)
    if flat.dtype.kind in "OSU":
        return [_text(value) for value in flat.tolist()]
    return np.ascontiguousarray(flat)


def tensor_buffer(array: np.ndarray[Any, Any]) -> memoryview:
    """The tensor's wire bytes without a copy when its memory already is little-endian
    and contiguous: the body's one join then is the only copy of a large output."""
    if array.dtype.kind in "OSU":
        return memoryview(tensor_bytes(array))
    wire = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return wire.reshape(-1).data.cast("B")


def tensor_bytes(array: np.ndarray[Any, Any]) -> bytes:
    if array.dtype.kind in "OSU":
        parts: list[bytes] = []
        for value in array.reshape(-1).tolist():
            raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
