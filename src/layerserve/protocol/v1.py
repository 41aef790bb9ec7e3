"""The V1 convenience protocol: ``{"instances": [...]}`` in, ``{"predictions": [...]}`` out.

``predictions`` is the one V1 encoder: the HTTP ``:predict`` answer is written by it, and
a batch result line's ``predictions`` (or, for a single instance, ``prediction``) by
``PredictionRows``, which splits one serialisation of a whole batch into its rows and
writes each row exactly as ``predictions`` would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.domain.tensors import InferInput, InferRequest, InferResponse
from layerserve.protocol.json_values import (
    NUMPY_JSON,
    convert_parsed,
    exact_integers,
    nested_json,
    parse_data,
    parse_json,
)

Outputs = Mapping[str, np.ndarray[Any, Any]]
"""A model's outputs by name, in the order the model (or the request) named them."""


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
    """The input's rows as V2 decodes ``data`` (integers beyond int64 kept exact)."""
    dtype = numpy_dtype(spec.datatype)
    parsed = exact_integers(dtype, parse_data(spec.name, spec.datatype, values), values)
    array = convert_parsed(spec.name, spec.datatype, dtype, parsed)
    return InferInput(spec.name, spec.datatype, parsed.shape, array.reshape(parsed.shape))


# --- responses -------------------------------------------------------------------------
def encode_predict_response(response: InferResponse) -> bytes:
    outputs = {output.name: output.array for output in response.outputs}
    document = {
        "predictions": predictions(outputs),
        "model_name": response.model_name,
        "model_version": response.model_version,
    }
    return orjson.dumps(document, option=NUMPY_JSON)


def encode_predictions(outputs: Outputs) -> bytes:
    """``predictions(outputs)`` as JSON."""
    return orjson.dumps(predictions(outputs), option=NUMPY_JSON)


def predictions(outputs: Outputs) -> Any:
    """The ``predictions`` value: the rows of a single output; with several outputs that
    share the batch axis, one object per row naming each; otherwise one entry per output."""
    if len(outputs) == 1:
        return nested_json(next(iter(outputs.values())))
    count = common_rows(outputs)
    if count is not None:
        return [_row_value(outputs, index) for index in range(count)]
    return {name: nested_json(array) for name, array in outputs.items()}


def common_rows(outputs: Outputs) -> int | None:
    """The length of the batch axis every output keeps (``None``: they do not share one)."""
    rows = {len(array) if array.ndim else None for array in outputs.values()}
    return rows.pop() if len(rows) == 1 and None not in rows else None


def _row_value(outputs: Outputs, index: int) -> Any:
    if len(outputs) == 1:
        return nested_json(next(iter(outputs.values()))[index])
    return {name: nested_json(array[index]) for name, array in outputs.items()}


class PredictionRows:
    """The rows of ``predictions(outputs)``, each as its JSON text, encoded once.

    A single numeric output of rank 1 or 2 is serialised in one call and split, instead
    of once per row: the common case, and most of the encoding time otherwise. Every
    output must keep the batch axis.
    """

    def __init__(self, outputs: Outputs) -> None:
        self._outputs = outputs
        self._rows: list[bytes] | None = None

    def row(self, index: int) -> bytes:
        """``predictions(outputs)[index]`` as JSON: one instance's prediction."""
        return self._texts()[index]

    def rows(self, start: int, stop: int) -> bytes:
        """``predictions(outputs)[start:stop]`` as JSON: the predictions of those instances."""
        return b"[" + b",".join(self._texts()[start:stop]) + b"]"

    def _texts(self) -> list[bytes]:
        if self._rows is None:
            self._rows = _row_texts(self._outputs)
        return self._rows


def _row_texts(outputs: Outputs) -> list[bytes]:
    count = common_rows(outputs)
    if count is None:
        names = ", ".join(outputs)
        raise ValueError(f"the model's outputs ({names}) do not keep the batch axis")
    if len(outputs) == 1:
        array = next(iter(outputs.values()))
        if array.dtype.kind in "biuf" and array.ndim in (1, 2) and count:
            text = orjson.dumps(np.ascontiguousarray(array), option=NUMPY_JSON)
            if array.ndim == 1:
                return text[1:-1].split(b",")
            return [b"[" + row + b"]" for row in text[2:-2].split(b"],[")]
    return [orjson.dumps(_row_value(outputs, index), option=NUMPY_JSON) for index in range(count)]
