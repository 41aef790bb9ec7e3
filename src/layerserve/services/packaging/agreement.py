"""How closely a transformed model agrees with the original, and the int8 gate."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from layerserve.domain.manifest import QuantizationReport, Signature
from layerserve.services.packaging.errors import QuantizationRejectedError


@dataclass(frozen=True, slots=True)
class OutputAgreement:
    name: str
    cosine: float
    max_abs_error: float


def compare(
    signature: Signature,
    reference: Mapping[str, np.ndarray[Any, Any]],
    candidate: Mapping[str, np.ndarray[Any, Any]],
) -> tuple[OutputAgreement, ...]:
    """Per numeric output: cosine similarity and largest absolute difference."""
    return tuple(
        _agreement(spec.name, reference[spec.name], candidate[spec.name])
        for spec in signature.outputs
        if spec.datatype != "BYTES"
    )


def _agreement(name: str, want: np.ndarray[Any, Any], got: np.ndarray[Any, Any]) -> OutputAgreement:
    a = np.asarray(want, dtype=np.float64).ravel()
    b = np.asarray(got, dtype=np.float64).ravel()
    finite = np.isfinite(a)
    if a.shape != b.shape or not np.array_equal(finite, np.isfinite(b)):
        return OutputAgreement(name, cosine=0.0, max_abs_error=math.inf)
    a, b = a[finite], b[finite]
    error = float(np.max(np.abs(a - b))) if a.size else 0.0
    return OutputAgreement(name, cosine=_cosine(a, b), max_abs_error=error)


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
    """The report for the manifest, or ``QuantizationRejectedError`` naming each failure."""
    failures = [
        f"'{item.name}' cosine {item.cosine:.6f} < {min_cosine}"
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
    )
