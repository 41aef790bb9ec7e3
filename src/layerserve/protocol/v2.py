"""Open Inference Protocol (KServe V2) REST bodies: JSON, with the binary extension.

Decoding turns bytes into ``InferRequest``; encoding turns ``InferResponse`` into bytes
plus the ``Inference-Header-Content-Length`` value when binary outputs follow the JSON.
``output_entries`` is the one place an output becomes its JSON entry: HTTP responses and
batch result lines (``json_outputs``) are written by it alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import orjson

from layerserve.domain.datatypes import v2_datatype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.tensors import (
    InferInput,
    InferOutput,
    InferRequest,
    InferResponse,
    RequestedOutput,
)
from layerserve.protocol.binary import array_from_binary, split_body, tensor_buffer
from layerserve.protocol.json_values import MAX_RANK, NUMPY_JSON, array_from_json, flat_json

MAX_SPAN: Final = 2**53
"""Largest product of a shape's non-zero dimensions: NumPy refuses shapes whose span
(zeros counted as one) times the element size passes 2^63, even when they hold nothing."""


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
        binary_outputs=_flag(parameters, "binary_data_output", "parameters"),
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
        array, offset = array_from_binary(name, datatype, shape, size, binary, offset)
    elif "data" in raw:
        array = array_from_json(name, datatype, shape, raw["data"])
    else:
        raise InvalidInputError(f"input '{name}' has neither 'data' nor 'binary_data_size'")
    return InferInput(name, datatype, shape, array), offset


def _shape(raw: Any, name: str) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise _not_a_shape(name)
    for dim in raw:
        if type(dim) is not int or dim < 0:  # JSON integers; booleans are not dimensions
            raise _not_a_shape(name)
    if len(raw) > MAX_RANK:
        raise InvalidInputError(
            f"input '{name}' has rank {len(raw)}; at most {MAX_RANK} is allowed"
        )
    span = 1
    for dim in raw:
        span *= dim or 1
    if span > MAX_SPAN:
        raise InvalidInputError(
            f"input '{name}' has shape {raw}: the product of its non-zero dimensions must "
            f"be at most 2^53, even for an empty tensor"
        )
    return tuple(raw)


def _not_a_shape(name: str) -> InvalidInputError:
    return InvalidInputError(f"input '{name}' needs a 'shape' of non-negative integers")


def _decode_outputs(raw: Any) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInputError("'outputs' must be a list")
    requested: list[RequestedOutput] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInputError("each requested output needs a 'name'")
        what = f"output '{item['name']}' parameters"
        parameters = _object(item.get("parameters"), what)
        requested.append(RequestedOutput(item["name"], _flag(parameters, "binary_data", what)))
    return requested


def _object(raw: Any, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{what} must be a JSON object")
    return raw


def _flag(parameters: dict[str, Any], key: str, what: str) -> bool:
    """A boolean parameter: JSON ``true``/``false`` (absent is false); the string
    ``"false"`` or a number is refused rather than read as truthy."""
    value = parameters.get(key, False)
    if type(value) is not bool:
        raise InvalidInputError(f"{what}: '{key}' must be true or false")
    return value


def _optional_str(raw: Any, what: str) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise InvalidInputError(f"'{what}' must be a string")


# --- responses -------------------------------------------------------------------------
def encode_infer_response(response: InferResponse) -> tuple[bytes, int | None]:
    """The body, and the JSON header length when binary output data follows it."""
    blobs: list[memoryview] = []
    document: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": output_entries(response.outputs, blobs),
    }
    if response.id is not None:
        document["id"] = response.id
    header = orjson.dumps(document, option=NUMPY_JSON)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)


def output_entries(outputs: Iterable[InferOutput], blobs: list[memoryview]) -> list[Any]:
    """Each output's JSON entry; the data of a binary output goes to ``blobs`` instead."""
    entries = []
    for output in outputs:
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
            entry["data"] = flat_json(array)
        entries.append(entry)
    return entries


def json_outputs(outputs: dict[str, np.ndarray[Any, Any]], request_id: str | None) -> Any:
    """A response's ``outputs`` and ``id`` with every tensor as JSON data (the transport
    adds the model's name and version): a batch result line of a V2 request."""
    entries = output_entries((InferOutput(name, array) for name, array in outputs.items()), [])
    document: dict[str, Any] = {"outputs": entries}
    if request_id is not None:
        document["id"] = request_id
    return document
