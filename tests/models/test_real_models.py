"""Opt-in (``make test-models``, marker ``models``): full-size models and torch exports,
packaged in every mode, served through the real handler, compared with onnxruntime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench.models import bert_encoder, bert_inputs

from tests import zoo
from tests.conftest import Invoke
from tests.zoo_serving import MODES, compare, direct, package, packaged_onnx

pytestmark = pytest.mark.models


def full_bert() -> zoo.ZooModel:
    """MiniLM-L6's dimensions with token types: ~90 MB FP32, as a standard export is."""
    return zoo.ZooModel("bert-full", bert_encoder(), bert_inputs(2, 24, seed=3))


def torch_gru(half: bool) -> zoo.ZooModel:
    torch = pytest.importorskip("torch")

    class Recurrent(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(8, 16, batch_first=True)

        def forward(self, x: object) -> object:
            steps, last = self.gru(x)
            return steps, last.squeeze(0)

    example = torch.randn(2, 5, 8)
    return _export(torch, Recurrent(), example, "torch-gru", half, ["steps", "last"])


def torch_mlp_fp16() -> zoo.ZooModel:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layers = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    return _export(torch, layers, torch.randn(3, 16), "torch-mlp", True, ["scores"])


def _export(
    torch: object, module: object, example: object, name: str, half: bool, outputs: list[str]
) -> zoo.ZooModel:
    import io

    import onnx

    t = torch  # the module, typed loosely: torch is optional
    buffer = io.BytesIO()
    module.eval()  # type: ignore[attr-defined]
    axes = {"x": {0: "batch", 1: "sequence"} if example.dim() == 3 else {0: "batch"}}  # type: ignore[attr-defined]
    t.onnx.export(  # type: ignore[attr-defined]
        module, (example,), buffer, input_names=["x"], output_names=outputs,
        dynamic_axes=axes, dynamo=False, opset_version=17,
    )  # fmt: skip
    model = onnx.load_model_from_string(buffer.getvalue())
    request = example.numpy()  # type: ignore[attr-defined]
    if half:
        model = _to_fp16(model)
        request = request.astype(np.float16)
    return zoo.ZooModel(name + ("-fp16" if half else ""), model, {"x": request})


def _to_fp16(model: Any) -> Any:
    converter = pytest.importorskip("onnxconverter_common.float16")
    return converter.convert_float_to_float16(model, keep_io_types=False)


BUILDERS: dict[str, Callable[[], zoo.ZooModel]] = {
    "bert-full": full_bert,
    "torch-gru": lambda: torch_gru(half=False),
    "torch-gru-fp16": lambda: torch_gru(half=True),
    "torch-mlp-fp16": torch_mlp_fp16,
}
INT8_TOLERANCE = {"bert-full": 0.2}


@pytest.fixture
def models_root(tmp_path: Path) -> Path:
    root = tmp_path / "layer" / "models"
    root.mkdir(parents=True)
    return root


@pytest.mark.parametrize("name", list(BUILDERS))
def test_real_models_package_serve_exactly_or_refuse_in_one_line(
    name: str, tmp_path: Path, models_root: Path, inference_handler: Invoke
) -> None:
    model = BUILDERS[name]()
    layer = models_root.parent
    outcomes = {mode: package(model, mode, tmp_path, layer) for mode in MODES}
    for mode, outcome in outcomes.items():
        if outcome.exit_code != 0:
            assert mode == "int8", outcome.refusal
            assert outcome.refusal.startswith("error: nothing to quantise: ")
            assert "\n" not in outcome.refusal
            continue
        reference = direct(packaged_onnx(layer, model.name, "default"), model.request)
        compare(outcome, model, layer, inference_handler, reference)
        assert outcome.served_vs_direct == 0.0
        limit = {"default": 0.0, "optimize": 1e-3}.get(mode, INT8_TOLERANCE.get(name, 0.0))
        assert all(diff <= limit for diff in outcome.vs_original.values()), outcome.vs_original
