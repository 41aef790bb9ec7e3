"""The V1 convenience protocol: ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from layerserve.api.v2_codec import convert_parsed, json_data, parse_data, parse_json
from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.domain.tensors import InferInput, InferRequest, InferResponse


def decode_predict_request(body: bytes, signature: Signature) -> InferRequest:
    """Rows for a single-input model, or one object per row naming every input."""
    document = parse_json(body)
    instances = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(instances, list) or not instances:
        raise InvalidInputError("'instances' must be a non-empty list")
    return decode_instances(instances, signature)


def decode_instances(instances: list[Any], signature: Signature) -> InferRequest:
    """Instances as one request: rows of a single input, or objects naming every input."""
    if all(isinstance(row, dict) for row in instances):
        return InferRequest([_input(spec, _column(spec, instances)) for spec in signature.inputs])
    if len(signature.inputs) == 1:
        return InferRequest([_input(signature.inputs[0], instances)])
    names = ", ".join(spec.name for spec in signature.inputs)
    raise InvalidInputError(
        f"this model takes several inputs ({names}): give one object per instance naming each"
    )


def _column(spec: TensorSpec, rows: list[dict[str, Any]]) -> list[Any]:
    try:
        return [row[spec.name] for row in rows]
    except KeyError:
        raise InvalidInputError(f"every instance needs input '{spec.name}'") from None


def _input(spec: TensorSpec, values: list[Any]) -> InferInput:
    parsed = parse_data(spec.name, spec.datatype, values)
    array = convert_parsed(spec.name, spec.datatype, numpy_dtype(spec.datatype), parsed)
    return InferInput(spec.name, spec.datatype, parsed.shape, array.reshape(parsed.shape))


def encode_predict_response(response: InferResponse) -> bytes:
    outputs = response.outputs
    predictions: Any
    rows = {len(out.array) if out.array.ndim else None for out in outputs}
    if len(outputs) == 1:
        predictions = _rows(outputs[0].array)
    elif len(rows) == 1 and None not in rows:
        count = rows.pop() or 0
        predictions = [{out.name: _rows(out.array[i]) for out in outputs} for i in range(count)]
    else:  # outputs without a common batch axis: one entry per output instead of per row
        predictions = {out.name: _rows(out.array) for out in outputs}
    document = {
        "predictions": predictions,
        "model_name": response.model_name,
        "model_version": response.model_version,
    }
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def _rows(value: Any) -> Any:
    array = np.asarray(value)
    if array.dtype.kind in "OSU":
        return np.vectorize(_text, otypes=[object])(array).tolist()
    return json_data(array).reshape(array.shape) if array.ndim else array.item()


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
