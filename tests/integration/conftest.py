"""Fixtures shared by the integration tests that drive the edge-case models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.hostile_support import build_edge_layer, edge_handler_over, quiet_onnxruntime


@pytest.fixture(scope="module")
def edge_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models root with the small edge-case models (string, several inputs, FP16, BOOL...)."""
    return build_edge_layer(tmp_path_factory.mktemp("edge-layer"))


@pytest.fixture
def edge_handler(
    inference_handler: Invoke, edge_models: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Invoke]:
    """The real inference handler serving ``edge_models``."""
    with quiet_onnxruntime():
        yield edge_handler_over(inference_handler, edge_models, monkeypatch)
