"""JSON Lines requests decoded with the REST codecs' rules (same datatypes, same errors)."""

from __future__ import annotations

from typing import Any

import numpy as np

from layerserve.api.v2_codec import convert_parsed, decode_infer_request
from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.domain.tensors import InferInput, InferRequest


class JsonRequestCodec:
    """``RequestCodec`` for the batch service: V2 bodies and V1 instances."""

    def v2(self, body: bytes) -> InferRequest:
        return decode_infer_request(body)

    def instances(self, rows: list[Any], signature: Signature) -> InferRequest:
        if all(isinstance(row, dict) for row in rows):
            return InferRequest([_input(spec, _column(spec, rows)) for spec in signature.inputs])
        if len(signature.inputs) == 1:
            return InferRequest([_input(signature.inputs[0], rows)])
        names = ", ".join(spec.name for spec in signature.inputs)
        raise InvalidInputError(
            f"this model takes several inputs ({names}): give one object naming each"
        )


def _column(spec: TensorSpec, rows: list[dict[str, Any]]) -> list[Any]:
    try:
        return [row[spec.name] for row in rows]
    except KeyError:
        raise InvalidInputError(f"every instance needs input '{spec.name}'") from None


def _input(spec: TensorSpec, values: list[Any]) -> InferInput:
    try:
        parsed = np.asarray(values, dtype=object if spec.datatype == "BYTES" else None)
    except ValueError as exc:
        raise InvalidInputError(f"instances for '{spec.name}' are ragged: {exc}") from None
    array = convert_parsed(spec.name, spec.datatype, numpy_dtype(spec.datatype), parsed)
    return InferInput(spec.name, spec.datatype, parsed.shape, array.reshape(parsed.shape))
