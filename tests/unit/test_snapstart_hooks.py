"""The SnapStart hooks of the inference function: registered with the runtime's module,
and warm-up inputs every model signature accepts."""

from __future__ import annotations

import numpy as np
import pytest
import snapshot_restore_py

from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.lambdas import inference_snapstart


def test_register_adds_prime_before_the_snapshot_and_restore_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapshot_restore_py, "_before_snapshot_registry", [])
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", [])
    assert inference_snapstart.register(_no_function)
    assert snapshot_restore_py.get_before_snapshot() == [
        (inference_snapstart.prime, (_no_function,), {})
    ]
    assert snapshot_restore_py.get_after_restore() == [
        (inference_snapstart.restore, (_no_function,), {})
    ]


def test_register_is_a_no_op_without_the_runtime_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "snapshot_restore_py", None)
    assert inference_snapstart.register(_no_function) is False


def _no_function() -> inference_snapstart.SnapStartFunction:
    raise AssertionError("registering must not build the function")


def test_warm_up_inputs_follow_the_signature() -> None:
    signature = Signature(
        inputs=(
            TensorSpec(name="ids", datatype="INT64", shape=("batch", "sequence")),
            TensorSpec(name="x", datatype="FP16", shape=(None, 3)),
            TensorSpec(name="text", datatype="BYTES", shape=(2,)),
        ),
        outputs=(),
    )
    feeds = inference_snapstart.warm_up_inputs(signature)
    assert feeds["ids"].shape == (1, 1) and feeds["ids"].dtype == np.int64
    assert feeds["x"].shape == (1, 3) and feeds["x"].dtype == np.float16
    assert feeds["text"].tolist() == [b"warm-up", b"warm-up"]
