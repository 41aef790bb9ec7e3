"""Shared fixtures: packaged tiny models and the inference handler over them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerserve.adapters.metric_log import stdout_line
from tests import onnx_builders
from tests.packaged import package

ALL_DATATYPES = (
    "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
    "FP16", "FP32", "FP64", "BYTES",
)  # fmt: skip


@pytest.fixture(scope="session")
def model_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer folder with several packaged versions; models root is ``<layer>/models``."""
    layer = tmp_path_factory.mktemp("layer")
    package(onnx_builders.add_mul(), layer, "addmul", "1")
    package(onnx_builders.add_mul(), layer, "addmul", "2")
    package(onnx_builders.mlp(), layer, "mlp", "1")
    package(onnx_builders.string_echo(), layer, "echo", "1")
    for datatype in ALL_DATATYPES:
        shape = ("n",) if datatype == "BYTES" else ("batch", 3)
        package(onnx_builders.identity(datatype, shape), layer, f"id-{datatype.lower()}", "1")
    return layer


@pytest.fixture
def models_root(model_layer: Path) -> Path:
    return model_layer / "models"


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def inference_environment(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The inference function's settings over ``models_root``, passed as in Lambda: in the
    environment."""
    monkeypatch.setenv("LAYERSERVE_MODELS_DIR", str(models_root))
    monkeypatch.setenv("LAYERSERVE_SCRATCH_DIR", str(tmp_path / "scratch"))
    monkeypatch.setenv("LAYERSERVE_MAX_BODY_BYTES", str(256 * 1024))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "layerserve-tests")


@pytest.fixture
def inference_handler(inference_environment: None) -> Invoke:
    """The real Lambda handler, configured through the environment like in Lambda."""
    return invoke_on_first_use()


def invoke_on_first_use(record_sink: Callable[[bytes], None] = stdout_line) -> Invoke:
    """The real handler, built on its first call (a cold start) from the settings then, so
    a test may set more first; metric records go to ``record_sink``."""
    from layerserve.bootstrap.inference import on_first_use
    from layerserve.local.events import FakeLambdaContext

    function = on_first_use(record_sink)

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        return function.handler(event, FakeLambdaContext())

    return invoke
