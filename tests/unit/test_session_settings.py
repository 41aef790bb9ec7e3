"""The runtime opens each version with the session settings its manifest records."""

from __future__ import annotations

import onnxruntime as ort
import pytest

from layerserve.adapters.onnx_runtime import OrtSessionFactory
from layerserve.domain.manifest import GraphOptimizationLevel, Manifest, SessionSettings
from tests import onnx_builders

LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def level_of(settings: SessionSettings | None) -> ort.GraphOptimizationLevel:
    model = OrtSessionFactory(intra_op_threads=1)(onnx_builders.mlp().SerializeToString(), settings)
    return model._session.get_session_options().graph_optimization_level


@pytest.mark.parametrize("level", list(LEVELS))
def test_sessions_use_the_recorded_level(level: GraphOptimizationLevel) -> None:
    assert level_of(SessionSettings(graph_optimization_level=level)) == LEVELS[level]


def test_manifests_without_settings_keep_the_highest_level() -> None:
    assert level_of(None) == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    old = Manifest.model_json_schema()["properties"]["session"]
    assert old.get("default") is None  # an older manifest (no field) reads as None
