"""The Open Inference Protocol's binary tensor data extension.

A body may carry tensor data after its JSON header: the request names the header's
length in ``Inference-Header-Content-Length`` and each tensor's byte count in
``parameters.binary_data_size``. Numbers travel little-endian and row-major; each BYTES
element is a 4-byte little-endian length followed by its bytes.
"""

from __future__ import annotations

import struct
from typing import Any, Final

import numpy as np

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import element_count
from layerserve.protocol.json_values import parse_json

HEADER_LENGTH: Final = "inference-header-content-length"
"""The header naming the JSON header's length (lower case, as ASGI servers give it)."""
_LENGTH = struct.Struct("<I")
_NO_TAIL: Final = memoryview(b"")


def split_body(body: bytes, header_length: str | None) -> tuple[Any, memoryview]:
    """JSON header and the binary tail (empty without the binary extension)."""
    if header_length is None:
        return parse_json(body), _NO_TAIL
    view = memoryview(body)
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInputError("Inference-Header-Content-Length must be an integer") from None
    if not 0 < length <= len(body):
        raise InvalidInputError(
            f"Inference-Header-Content-Length {length} is outside the body of {len(body)} bytes"
        )
    return parse_json(view[:length]), view[length:]


def array_from_binary(
    name: str,
    datatype: str,
    shape: tuple[int, ...],
    size: Any,
    binary: memoryview,
    offset: int,
) -> tuple[np.ndarray[Any, Any], int]:
    """The tensor whose ``size`` bytes start at ``offset`` of the tail, and where it ends."""
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
