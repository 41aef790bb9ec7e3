"""Edge cases a caller or a bad manifest can cause: clear errors, bounded work."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from layerserve.api.v1_codec import encode_predict_response
from layerserve.domain.durations import parse_duration
from layerserve.domain.errors import InvalidInputError, ModelNotFoundError
from layerserve.domain.manifest import ArtifactInfo, TensorSpec
from layerserve.domain.tensors import InferOutput, InferResponse
from layerserve.services.catalog.registry import RegistryCatalog
from layerserve.services.metrics.report import metrics_window


def test_v1_outputs_without_a_common_batch_axis_are_returned_per_output() -> None:
    response = InferResponse(
        "m",
        "1",
        [
            InferOutput("y", np.ones((2, 3), dtype=np.float32)),
            InferOutput("total", np.array(6.0, dtype=np.float32)),
        ],
    )
    body = encode_predict_response(response)
    assert b'"predictions":{"y":[[1.0,1.0,1.0],[1.0,1.0,1.0]],"total":6.0}' in body


def test_durations_and_windows_never_overflow() -> None:
    with pytest.raises(InvalidInputError, match="longer than"):
        parse_duration("99999999999d")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInputError):
        metrics_window(now, end=datetime(1, 1, 1, tzinfo=UTC))


def test_manifests_name_no_paths_and_only_v2_datatypes() -> None:
    with pytest.raises(ValidationError):
        ArtifactInfo(file="/etc/passwd", sha256="0" * 64, size=1)
    with pytest.raises(ValidationError):
        ArtifactInfo(file="../model.onnx.zst", sha256="0" * 64, size=1)
    with pytest.raises(ValidationError):
        TensorSpec(name="x", datatype="WHATEVER", shape=(1,))
    with pytest.raises(ValidationError):
        TensorSpec(name="x", datatype="FP32", shape=(1,) * 33)


class _CountingReader:
    def __init__(self) -> None:
        self.reads = 0

    def get_model(self, name: str) -> None:
        self.reads += 1

    def get_alias(self, model: str, alias: str) -> None:
        self.reads += 1

    def get_version(self, model: str, version: str) -> None:
        self.reads += 1

    def list_models(self) -> list[object]:
        return []

    def list_versions(self, model: str) -> list[object]:
        return []


def test_impossible_names_cost_no_registry_read() -> None:
    reader = _CountingReader()
    catalog = RegistryCatalog(reader)  # type: ignore[arg-type]
    for name in ("x" * 2000, "../etc", "a b", ""):
        with pytest.raises(ModelNotFoundError):
            catalog.resolve(name, None, None)
    assert reader.reads == 0
    with pytest.raises(ModelNotFoundError):
        catalog.resolve("fine", None, None)
    assert reader.reads == 1


def test_registry_cache_is_bounded() -> None:
    reader = _CountingReader()
    catalog = RegistryCatalog(reader)  # type: ignore[arg-type]
    for number in range(10_000):
        with pytest.raises(ModelNotFoundError):
            catalog.resolve(f"model-{number}", None, None)
    assert len(catalog._cache._entries) <= 4096
