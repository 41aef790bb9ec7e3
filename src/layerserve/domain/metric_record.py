"""The per-request metric record: one compact JSON log line that the aggregator folds.

Shape (short keys keep log volume down)::

    {"_ls": "m1", "t": epoch ms, "rid": request id, "m": model, "v": version,
     "a": alias or null, "ar": alias revision or null, "st": HTTP status,
     "ek": "client"|"server"|"model" or null, "lat": request ms,
     "run": session.run ms or null, "bs": batch size or null,
     "ne": input elements or null, "cold": bool, "fu": bool, "init": init ms or null,
     "out": {output name: {"n": element count, "b": [bin numbers of a sample]}},
     "in": {input name: {...same...}}}            # "in" only when inputs are summarised

``a`` and ``ar`` are set only when an alias chose the version (a request to the model,
which goes through its default alias, or to ``/versions/{alias}``); a request that names
a version directly carries ``null`` in both. ``ar`` is the alias revision the request
was routed by, so traffic of one canary step is told apart from the steps before it.
``ne`` counts the elements of the decoded input tensors (the request's size); ``fu``
marks the first successful request for the version in its execution environment (the
one that loaded the session). Records written before ``ar``, ``ne`` and ``fu`` existed
still parse (``null``, ``null``, ``false``), and readers ignore members they do not
know, so the schema stays ``m1``.

A summary carries the ``layerserve.domain.drift`` bin number of each value in an evenly
strided sample of at most ``sample`` values: one vectorised call on the hot path, and
the aggregator counts them. Non-numeric tensors (BYTES) get no summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from layerserve.domain.drift import TOP_BIN, bin_values
from layerserve.domain.errors import MetricRecordError

SCHEMA: Final = "m1"
MARKER: Final = '{"_ls":"m1"'
DEFAULT_SAMPLE: Final = 64
ErrorKind = Literal["client", "server", "model"]


def summarize(tensors: Mapping[str, np.ndarray[Any, Any]], sample: int) -> dict[str, Any]:
    """Bin summaries of the numeric tensors (BYTES / object tensors are skipped)."""
    return {
        name: {"n": int(array.size), "b": bin_values(array, sample)}
        for name, array in tensors.items()
        if array.dtype.kind in "fiub"
    }


def build_record(
    *,
    time_ms: int,
    request_id: str,
    model: str,
    version: str,
    alias: str | None,
    status: int,
    error_kind: ErrorKind | None,
    latency_ms: float,
    run_ms: float | None,
    batch_size: int | None,
    cold: bool,
    init_ms: float | None,
    alias_revision: int | None = None,
    input_elements: int | None = None,
    first_use: bool = False,
    outputs: Mapping[str, np.ndarray[Any, Any]] | None = None,
    inputs: Mapping[str, np.ndarray[Any, Any]] | None = None,
    sample: int = DEFAULT_SAMPLE,
) -> dict[str, Any]:
    """The record as a plain dict (cheap to build; serialise with ``record_to_json``)."""
    record: dict[str, Any] = {
        "_ls": SCHEMA,
        "t": time_ms,
        "rid": request_id,
        "m": model,
        "v": version,
        "a": alias,
        "ar": alias_revision,
        "st": status,
        "ek": error_kind,
        "lat": latency_ms,
        "run": run_ms,
        "bs": batch_size,
        "ne": input_elements,
        "cold": cold,
        "fu": first_use,
        "init": init_ms,
        "out": summarize(outputs, sample) if outputs else {},
    }
    if inputs:
        record["in"] = summarize(inputs, sample)
    return record


def record_to_json(record: Mapping[str, Any]) -> bytes:
    """One compact JSON line; ``_ls`` stays first so ``MARKER`` finds it in any log line."""
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY)


# The inference function only writes records; ``defer_build`` keeps the parsing models'
# validators out of its cold start (the aggregator builds them on first use).
class TensorSummary(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    n: int = Field(ge=0)
    b: list[int] = Field(max_length=1_000_000)

    @model_validator(mode="after")
    def _bins_in_layout(self) -> TensorSummary:
        if self.b and (min(self.b) < 0 or max(self.b) > TOP_BIN):
            raise ValueError(f"bin numbers must be within 0..{TOP_BIN}")
        return self


class MetricRecord(BaseModel):
    """A validated record (field names spelled out; the wire uses the short aliases)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, defer_build=True)

    schema_tag: Literal["m1"] = Field(alias="_ls")
    time_ms: int = Field(alias="t", ge=0)
    request_id: str = Field(alias="rid", max_length=256)
    model: str = Field(alias="m", min_length=1, max_length=128)
    version: str = Field(alias="v", min_length=1, max_length=64)
    alias: str | None = Field(alias="a", default=None, max_length=128)
    alias_revision: int | None = Field(alias="ar", default=None, ge=1)
    status: int = Field(alias="st", ge=100, le=599)
    error_kind: ErrorKind | None = Field(alias="ek", default=None)
    latency_ms: float = Field(alias="lat", ge=0, allow_inf_nan=False)
    run_ms: float | None = Field(alias="run", default=None, ge=0, allow_inf_nan=False)
    batch_size: int | None = Field(alias="bs", default=None, ge=0)
    input_elements: int | None = Field(alias="ne", default=None, ge=0)
    cold: bool = False
    first_use: bool = Field(alias="fu", default=False)
    init_ms: float | None = Field(alias="init", default=None, ge=0, allow_inf_nan=False)
    outputs: dict[str, TensorSummary] = Field(alias="out", default_factory=dict)
    inputs: dict[str, TensorSummary] = Field(alias="in", default_factory=dict)


def parse_record(message: str) -> MetricRecord | None:
    """The record in a log message, ``None`` when it holds none.

    The record may be the whole message, follow a text prefix (Lambda's plain log
    format) or sit under ``"message"`` in a JSON log line. A message that carries the
    marker but no valid record raises ``MetricRecordError``.
    """
    start = message.find(MARKER)
    if start < 0:
        return None
    try:
        return MetricRecord.model_validate_json(message[start:])
    except ValidationError as exc:
        nested = _nested_record(message) if start > 0 else None
        if nested is None:
            reason = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise MetricRecordError(f"invalid metric record: {reason}") from exc
        return nested


def _nested_record(message: str) -> MetricRecord | None:
    try:
        document = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    inner = document.get("message") if isinstance(document, dict) else None
    if not isinstance(inner, dict) or inner.get("_ls") != SCHEMA:
        return None
    try:
        return MetricRecord.model_validate(inner)
    except ValidationError:
        return None
