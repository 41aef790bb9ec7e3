"""Result lines: one JSON object per input line, carrying the model that produced it.

Every line names ``model_name``, ``model_version`` and ``model_sha256`` (the sha256 of
the ONNX bytes, ``manifest.onnx.sha256``), plus ``line`` (1-based input line number) and
one of ``prediction`` (a single instance), ``predictions`` (an ``instances`` line),
``outputs`` (a V2 request line, with its ``id``) or ``error``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import orjson

from layerserve.domain.datatypes import v2_datatype
from layerserve.domain.manifest import Manifest
from layerserve.services.batch.records import LineResult

_OPTIONS: Final = orjson.OPT_SERIALIZE_NUMPY
Arrays = dict[str, np.ndarray[Any, Any]]


def _fallback(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSU":
            return [_text(item) for item in value.tolist()] if value.ndim else _text(value.item())
        return np.ascontiguousarray(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class LineEncoder:
    def __init__(self, manifest: Manifest) -> None:
        meta = orjson.dumps(
            {
                "model_name": manifest.name,
                "model_version": manifest.version,
                "model_sha256": manifest.onnx.sha256,
            }
        )
        self._meta = meta[1:-1]

    def encode(self, result: LineResult) -> bytes:
        if result.fragment is not None:
            return b'{"line":%d,%s,%s}\n' % (result.line, self._meta, result.fragment)
        body = {"error": result.error} if result.error is not None else result.body
        rest = orjson.dumps(body, option=_OPTIONS, default=_fallback)
        return b'{"line":%d,%s,%s\n' % (result.line, self._meta, rest[1:])


class RowFragments:
    """``"prediction":<row>`` fragments for every row of a batch's outputs, encoded once.

    A single numeric output of rank 1 or 2 is serialised in one call and split, instead
    of once per row: the common case, and most of the encoding time otherwise.
    """

    def __init__(self, outputs: Arrays) -> None:
        self._outputs = outputs
        self._rows: list[bytes] | None = None

    def prediction(self, index: int) -> bytes:
        if self._rows is None:
            self._rows = _rows_json(self._outputs)
        return b'"prediction":' + self._rows[index]


def _rows_json(outputs: Arrays) -> list[bytes]:
    if len(outputs) == 1:
        array = next(iter(outputs.values()))
        if array.dtype.kind in "biuf" and array.ndim in (1, 2) and len(array):
            text = orjson.dumps(np.ascontiguousarray(array), option=_OPTIONS)
            if array.ndim == 1:
                return text[1:-1].split(b",")
            return [b"[" + row + b"]" for row in text[2:-2].split(b"],[")]
        return [orjson.dumps(row, option=_OPTIONS, default=_fallback) for row in array]
    return [
        orjson.dumps(
            {name: array[i] for name, array in outputs.items()}, option=_OPTIONS, default=_fallback
        )
        for i in range(len(next(iter(outputs.values()))))
    ]


def predictions(outputs: Arrays, start: int, stop: int) -> dict[str, Any]:
    """The body of an ``instances`` line: rows ``start:stop`` as V1 predictions."""
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values()))[start:stop]}
    rows = [{name: array[i] for name, array in outputs.items()} for i in range(start, stop)]
    return {"predictions": rows}


def v2_outputs(outputs: Arrays, request_id: str | None) -> dict[str, Any]:
    """The body of a V2 line, shaped like an inference response."""
    body: dict[str, Any] = {} if request_id is None else {"id": request_id}
    body["outputs"] = [
        {
            "name": name,
            "datatype": v2_datatype(array.dtype),
            "shape": list(array.shape),
            "data": array.reshape(-1),
        }
        for name, array in outputs.items()
    ]
    return body
