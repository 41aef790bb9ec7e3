"""Summary statistics of each numeric output: the reference for later drift checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from layerserve.domain.manifest import OutputBaseline, Signature

QUANTILES = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}


def baselines(
    signature: Signature, outputs: Mapping[str, np.ndarray[Any, Any]]
) -> tuple[OutputBaseline, ...]:
    """One entry per numeric output with at least one finite value (BYTES are skipped)."""
    found = (
        _summary(spec.name, outputs[spec.name])
        for spec in signature.outputs
        if spec.datatype != "BYTES"
    )
    return tuple(item for item in found if item is not None)


def _summary(name: str, values: np.ndarray[Any, Any]) -> OutputBaseline | None:
    flat = np.asarray(values, dtype=np.float64).ravel()
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return None
    cuts = np.quantile(flat, list(QUANTILES.values()))
    return OutputBaseline(
        name=name,
        mean=float(flat.mean()),
        std=float(flat.std()),
        min=float(flat.min()),
        max=float(flat.max()),
        quantiles={key: float(cut) for key, cut in zip(QUANTILES, cuts, strict=True)},
    )
