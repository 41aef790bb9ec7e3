"""``layerserve dev --canary`` over versions whose signatures differ: a warning, no canary."""

from __future__ import annotations

from pathlib import Path

import httpx

from layerserve.local.stack import StackOptions
from tests import onnx_builders
from tests.local_stack_support import local_stack
from tests.packaged import package
from tests.servers import serving


def test_a_canary_with_another_signature_is_skipped_with_a_warning(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    package(onnx_builders.identity(), layer, "m", "1")  # x: FP32 [batch, 4]
    package(onnx_builders.mlp(), layer, "m", "2")  # x: FP32 [1, 16]
    package(onnx_builders.identity(), layer, "same", "1")
    package(onnx_builders.shifted(1.0), layer, "same", "2")
    options = StackOptions(layer / "models", tmp_path / "scratch", canary_weight=10)
    with local_stack(options) as stack, serving(stack.start()) as address:
        seeded = {model.name: model for model in stack.seeded}
        changed, same = seeded["m"], seeded["same"]
        assert (changed.stable, changed.canary, changed.canary_weight) == ("1", None, 0)
        assert changed.warning is not None
        assert "version 2's inputs or outputs differ from version 1's" in changed.warning
        assert (same.stable, same.canary, same.warning) == ("1", "2", None)
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1] * 4}]}
        reply = httpx.post(f"http://{address}/v2/models/m/infer", json=body, timeout=30)
        assert (reply.status_code, reply.json()["model_version"]) == (200, "1")
