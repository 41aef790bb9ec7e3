"""How closely a transformed model agrees with the original, sample row by sample row,
and the int8 gate that judges the worst row of each output."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerserve.domain.manifest import (
    OutputQuantization,
    QuantizationReport,
    Signature,
    TensorSpec,
)
from layerserve.services.packaging.errors import QuantizationRejectedError


@dataclass(frozen=True, slots=True)
class OutputAgreement:
    """``cosine`` and ``max_abs_error`` are the worst sample row's; the distribution of
    the rows' cosines and the cosine over the whole output are for information."""

    name: str
    cosine: float
    max_abs_error: float
    rows: int = 1
    p5_cosine: float | None = None
    median_cosine: float | None = None
    aggregate_cosine: float | None = None

    def record(self) -> OutputQuantization:
        return OutputQuantization(
            name=self.name,
            rows=self.rows,
            min_cosine_similarity=self.cosine,
            p5_cosine_similarity=_or(self.p5_cosine, self.cosine),
            median_cosine_similarity=_or(self.median_cosine, self.cosine),
            max_abs_error=self.max_abs_error,
            aggregate_cosine_similarity=_or(self.aggregate_cosine, self.cosine),
        )


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def compare(
    signature: Signature,
    reference: Mapping[str, np.ndarray[Any, Any]],
    candidate: Mapping[str, np.ndarray[Any, Any]],
    rows: int = 1,
) -> tuple[OutputAgreement, ...]:
    """Per numeric output and per sample row (``rows`` samples along the batch axis)."""
    batch = _batch_name(signature)
    return tuple(
        _agreement(
            spec.name, *_split(spec, batch, rows, reference[spec.name], candidate[spec.name])
        )
        for spec in signature.outputs
        if spec.datatype != "BYTES"
    )


def _batch_name(signature: Signature) -> str | None:
    first = signature.inputs[0].shape if signature.inputs else ()
    return first[0] if first and isinstance(first[0], str) else None


def _batch_axis(spec: TensorSpec, batch: str | None, array: np.ndarray[Any, Any], rows: int) -> int:
    if batch is not None and batch in spec.shape:
        return spec.shape.index(batch)
    return 0 if array.ndim and array.shape[0] == rows else -1


def _split(
    spec: TensorSpec,
    batch: str | None,
    rows: int,
    want: np.ndarray[Any, Any],
    got: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Both outputs as ``[rows, -1]`` float64 (one row when there is no batch axis)."""
    a, b = np.asarray(want, dtype=np.float64), np.asarray(got, dtype=np.float64)
    axis = _batch_axis(spec, batch, a, rows)
    if a.shape != b.shape or axis < 0 or axis >= a.ndim or a.shape[axis] == 0:
        return a.reshape(1, -1), b.reshape(1, -1)
    count = a.shape[axis]
    return np.moveaxis(a, axis, 0).reshape(count, -1), np.moveaxis(b, axis, 0).reshape(count, -1)


def _agreement(name: str, want: np.ndarray[Any, Any], got: np.ndarray[Any, Any]) -> OutputAgreement:
    if want.shape != got.shape:
        return OutputAgreement(name, cosine=0.0, max_abs_error=math.inf)
    cosines, errors = zip(*(_row(a, b) for a, b in zip(want, got, strict=True)), strict=True)
    whole = _row(want.ravel(), got.ravel())[0]
    return OutputAgreement(
        name,
        cosine=min(cosines),
        max_abs_error=max(errors),
        rows=len(cosines),
        p5_cosine=float(np.quantile(cosines, 0.05)),
        median_cosine=float(np.median(cosines)),
        aggregate_cosine=whole,
    )


def _row(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> tuple[float, float]:
    finite = np.isfinite(a)
    if not np.array_equal(finite, np.isfinite(b)):
        return 0.0, math.inf
    a, b = a[finite], b[finite]
    error = float(np.max(np.abs(a - b))) if a.size else 0.0
    return _cosine(a, b), error


def _cosine(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    norm_a, norm_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if norm_a == 0.0 or norm_b == 0.0:
        return 1.0 if norm_a == norm_b else 0.0
    return max(-1.0, min(1.0, float(np.dot(a, b)) / (norm_a * norm_b)))


def gate(
    figures: tuple[OutputAgreement, ...],
    samples: int,
    min_cosine: float,
    max_abs_error: float | None,
) -> QuantizationReport:
    """The report for the manifest, or ``QuantizationRejectedError`` naming each failure.

    Each output's worst sample row must meet the thresholds: a few bad rows are not
    hidden by many good ones."""
    failures = [
        f"'{item.name}' worst-row cosine {item.cosine:.6f} < {min_cosine}"
        for item in figures
        if not item.cosine >= min_cosine
    ]
    if max_abs_error is not None:
        failures += [
            f"'{item.name}' max abs error {item.max_abs_error:.6g} > {max_abs_error}"
            for item in figures
            if not item.max_abs_error <= max_abs_error
        ]
    if failures:
        raise QuantizationRejectedError(
            f"int8 model disagrees with the original on {samples} samples: " + "; ".join(failures),
            figures,
        )
    return QuantizationReport(
        samples=samples,
        min_cosine_similarity=min((item.cosine for item in figures), default=1.0),
        max_abs_error=max((item.max_abs_error for item in figures), default=0.0),
        cosine_threshold=min_cosine,
        max_abs_error_threshold=max_abs_error,
        outputs=tuple(item.record() for item in figures),
    )
