"""The manifest of a packaged version, built from what packaging read and measured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from layerserve.domain.manifest import (
    ArtifactInfo,
    Manifest,
    OnnxInfo,
    PackagingOptions,
    QuantizationReport,
)
from layerserve.services.packaging.artifact import sha256
from layerserve.services.packaging.baseline import baselines
from layerserve.services.packaging.ports import ModelFacts
from layerserve.services.packaging.request import PackageRequest


def build_manifest(
    request: PackageRequest,
    onnx: bytes,
    compressed: bytes,
    facts: ModelFacts,
    outputs: Mapping[str, np.ndarray[Any, Any]],
    quantization: QuantizationReport | None,
    created_at: datetime,
) -> Manifest:
    """``onnx`` is the final model (after any transformation), ``outputs`` its sample outputs."""
    return Manifest(
        name=request.name,
        version=request.version,
        onnx=OnnxInfo(
            sha256=sha256(onnx),
            size=len(onnx),
            ir_version=facts.ir_version,
            opsets=facts.opsets,
            producer_name=facts.producer_name,
            producer_version=facts.producer_version,
        ),
        artifact=ArtifactInfo(sha256=sha256(compressed), size=len(compressed)),
        signature=facts.signature,
        packaging=PackagingOptions(
            optimize=request.optimize, quantize=request.quantize, zstd_level=request.zstd_level
        ),
        quantization=quantization,
        baseline=baselines(facts.signature, outputs),
        created_at=created_at,
    )
