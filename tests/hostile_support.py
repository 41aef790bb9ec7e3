"""A layer of small models that hostile and unusual requests are tried against."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.cli.example import build_example_model
from layerserve.services.packaging import PackageRequest, package_model
from tests import onnx_builders
from tests.apigw import http_api_event, reply
from tests.conftest import Invoke

RESPONSE_TILES = 250_000
"""``tile`` answers [1, 4] with [1, 1,000,000] FP32: ~10 MB as JSON, 5.3 MB as base64."""


def build_edge_layer(layer: Path) -> Path:
    """Package the edge models into ``layer``; return its models root."""
    models: dict[str, onnx.ModelProto] = {
        "classifier": onnx.load_from_string(build_example_model().onnx),
        "words": onnx_builders.string_echo(),
        "tokens": onnx_builders.token_mask(),
        "addmul": onnx_builders.add_mul(),
        "half": onnx_builders.identity("FP16", ("batch", 3)),
        "flags": onnx_builders.negate_flags(),
        "int64": onnx_builders.identity("INT64", ("batch", 3)),
        "uint64": onnx_builders.identity("UINT64", ("batch", 3)),
        "text": onnx_builders.identity("BYTES", ("n",)),
        "gather": onnx_builders.gather_rows(2),
        "colors": onnx_builders.one_hot_colors(),
        "unrelated": onnx_builders.add_unrelated(),
        "reshape": onnx_builders.reshape_to(),
        "fragile": onnx_builders.fails_unless_batch_divides(),
        "expand": onnx_builders.expand_to(),
        "tile": onnx_builders.tile_columns(RESPONSE_TILES),
    }
    for name, model in models.items():
        request = PackageRequest(name=name, version="1", samples=SAMPLES.get(name))
        package_model(model.SerializeToString(), request, layer, OnnxToolkit())
    return layer / "models"


SAMPLES: dict[str, dict[str, np.ndarray[Any, Any]]] = {
    "gather": {"ids": np.array([0, 1, 1], dtype=np.int64)},
    "colors": {"color": np.array([["red"], ["blue"]], dtype=object)},
    "reshape": {"x": np.ones(6, np.float32), "shape": np.array([2, 3], dtype=np.int64)},
    "fragile": {"x": np.ones((3, 4), np.float32)},
    "expand": {"x": np.ones(1, np.float32), "shape": np.array([2, 2], dtype=np.int64)},
    "tile": {"x": np.ones((1, 4), np.float32)},
}
"""Sample inputs the packager runs (instead of generated ones) where only some work."""


def edge_handler_over(
    inference_handler: Invoke, models_root: Path, monkeypatch: pytest.MonkeyPatch
) -> Invoke:
    """The real inference handler over ``models_root`` (1 MiB request bodies)."""
    monkeypatch.setenv("LAYERSERVE_MODELS_DIR", str(models_root))
    monkeypatch.setenv("LAYERSERVE_MAX_BODY_BYTES", str(1024 * 1024))
    return inference_handler


def infer(handler: Invoke, model: str, body: bytes | dict[str, Any], **kw: Any) -> Any:
    """POST ``body`` to the V2 infer route of ``model``; the decoded reply."""
    return reply(handler(http_api_event("POST", f"/v2/models/{model}/infer", body, **kw)))


@contextmanager
def quiet_onnxruntime() -> Iterator[None]:
    """onnxruntime logs every failed kernel to stderr; the tests fail kernels on purpose."""
    import onnxruntime as ort

    ort.set_default_logger_severity(4)
    try:
        yield
    finally:
        ort.set_default_logger_severity(3)
