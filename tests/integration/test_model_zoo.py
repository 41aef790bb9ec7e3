"""Real-shaped models of each family, packaged with the defaults, --optimize and
--quantize int8, served through the real handler and compared with onnxruntime."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests import zoo
from tests.conftest import Invoke
from tests.zoo_serving import MODES, Outcome, compare, direct, package, packaged_onnx

INT8_REFUSALS = {
    "tfidf": "it is a linear model (ai.onnx.ml:LinearClassifier)",
    "lightgbm": "it is a tree ensemble (ai.onnx.ml:TreeEnsembleClassifier)",
    "xgboost": "it is a tree ensemble (ai.onnx.ml:TreeEnsembleClassifier)",
    "gru": "it is a recurrent network (GRU)",
    "gru-fp16": "it is a recurrent network (GRU)",
    "mlp-fp16": "weights are FLOAT16 and onnxruntime's int8 quantiser takes FP32 weights only",
}
INT8_TOLERANCE = {"bert": 0.1, "columns": 0.05}
"""Largest absolute difference from the FP32 original accepted after int8."""


@pytest.fixture
def models_root(tmp_path: Path) -> Path:
    """The handler serves what each test packages into ``tmp_path/layer``."""
    root = tmp_path / "layer" / "models"
    root.mkdir(parents=True)
    return root


@pytest.mark.parametrize("build", zoo.ALL, ids=lambda build: build.__name__)
def test_every_mode_packages_serves_exactly_or_refuses_in_one_line(
    build: Callable[[], zoo.ZooModel], tmp_path: Path, models_root: Path, inference_handler: Invoke
) -> None:
    model = build()
    layer = models_root.parent
    outcomes = {mode: package(model, mode, tmp_path, layer) for mode in MODES}
    baseline = outcomes["default"]
    assert baseline.exit_code == 0, baseline.refusal
    assert baseline.manifest is not None
    # The direct reference: onnxruntime on the bytes the default version ships (the
    # original graph, made portable where it had to be).
    onnx = packaged_onnx(layer, model.name, "default")
    reference = direct(onnx, model.request)
    for mode, outcome in outcomes.items():
        if mode == "int8" and model.name in INT8_REFUSALS:
            assert_refused(outcome, INT8_REFUSALS[model.name])
            continue
        assert outcome.exit_code == 0, outcome.refusal
        compare(outcome, model, layer, inference_handler, reference)
        assert outcome.served_vs_direct == 0.0
        assert outcome.labels_equal
        limit = INT8_TOLERANCE.get(model.name, 0.0) if mode == "int8" else 1e-4
        if mode == "default":
            limit = 0.0
        assert all(diff <= limit for diff in outcome.vs_original.values()), outcome.vs_original


def assert_refused(outcome: Outcome, message: str) -> None:
    assert outcome.exit_code == 1
    assert outcome.refusal.startswith("error: nothing to quantise: "), outcome.refusal
    assert message in outcome.refusal, outcome.refusal
    assert "\n" not in outcome.refusal
