"""Result lines: one JSON object per input line, carrying the model that produced it.

Every line names ``model_name``, ``model_version`` and ``model_sha256`` (the sha256 of
the ONNX bytes, ``manifest.onnx.sha256``), plus ``line`` (1-based input line number) and
one of ``prediction`` (a single instance), ``predictions`` (an ``instances`` line),
``outputs`` (a V2 request line, with its ``id``) or ``error``. Apart from ``line`` and
``model_sha256``, a line is the document the HTTP route answers for the same request:
its body is written by the protocol's encoders (``protocol.v1``, ``protocol.v2``).
"""

from __future__ import annotations

from typing import Final

import orjson

from layerserve.domain.manifest import Manifest
from layerserve.protocol import PredictionRows, encode_predictions
from layerserve.protocol.v1 import Outputs
from layerserve.services.batch.records import LineResult

_OPTIONS: Final = orjson.OPT_SERIALIZE_NUMPY


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
        rest = orjson.dumps(body, option=_OPTIONS)
        return b'{"line":%d,%s,%s\n' % (result.line, self._meta, rest[1:])


def prediction(rows: PredictionRows, index: int) -> bytes:
    """The body of a single-instance line: ``"prediction":<row>``."""
    return b'"prediction":' + rows.row(index)


def row_predictions(rows: PredictionRows, start: int, stop: int) -> bytes:
    """The body of an ``instances`` line run with others: its rows of the batch's outputs."""
    return b'"predictions":' + rows.rows(start, stop)


def all_predictions(outputs: Outputs) -> bytes:
    """The body of an ``instances`` line run alone: the V1 ``predictions`` of its outputs."""
    return b'"predictions":' + encode_predictions(outputs)
