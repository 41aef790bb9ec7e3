"""The SnapStart hooks of the inference function: registered with the runtime's module,
warm-up inputs every model signature accepts, and the warm-up ladder priming runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import snapshot_restore_py

from layerserve.adapters.onnx_runtime import OrtSessionFactory
from layerserve.domain.errors import ModelRejectedInputError
from layerserve.domain.manifest import Signature, TensorSpec
from layerserve.lambdas import inference_snapstart
from layerserve.services.catalog import VersionRecord
from layerserve.services.loading import Arrays, LoadedVersion, LoadTimings
from tests import onnx_builders
from tests.registry_support import make_manifest


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


class _RecordingModel:
    """Records the shapes it ran; refuses sequences longer than ``longest``."""

    def __init__(self, longest: int) -> None:
        self.longest = longest
        self.shapes: list[tuple[int, ...]] = []

    def run(self, feeds: Arrays, output_names: list[str]) -> list[np.ndarray[Any, Any]]:
        shape = next(iter(feeds.values())).shape
        if len(shape) > 1 and shape[1] > self.longest:
            raise ModelRejectedInputError(f"sequence {shape[1]} is longer than {self.longest}")
        self.shapes.append(shape)
        return [np.zeros(1)]

    @property
    def signature(self) -> Signature:
        raise NotImplementedError


def _loaded(model: _RecordingModel, shape: tuple[str | int | None, ...]) -> LoadedVersion:
    manifest = make_manifest("enc", "1", inputs=(("x", "INT64", shape),))
    record = VersionRecord("enc", "1", manifest, "models/enc/1")
    return LoadedVersion(record, model, LoadTimings(0.0, 0.0, 0.0))


def test_warm_up_runs_each_length_from_the_smallest_up() -> None:
    model = _RecordingModel(longest=512)
    assert inference_snapstart._warm_up(_loaded(model, ("batch", "sequence")))
    runs = inference_snapstart.WARM_UP_RUNS
    lengths = inference_snapstart.WARM_UP_LENGTHS
    assert lengths[0] == 1 and max(lengths) >= 128  # a typical first request is covered
    assert model.shapes == [(1, length) for length in lengths for _ in range(runs)]


def test_a_length_the_model_refuses_ends_the_ladder_and_keeps_the_smaller_ones() -> None:
    model = _RecordingModel(longest=64)
    assert inference_snapstart._warm_up(_loaded(model, ("batch", "sequence")))
    assert model.shapes and all(shape[1] <= 64 for shape in model.shapes)
    refusing = _RecordingModel(longest=0)
    assert inference_snapstart._warm_up(_loaded(refusing, ("batch", "sequence"))) is False


def test_a_model_with_only_a_dynamic_batch_warms_up_at_batch_one() -> None:
    model = _RecordingModel(longest=512)
    assert inference_snapstart._warm_up(_loaded(model, (None, 4)))
    assert model.shapes == [(1, 4)] * inference_snapstart.WARM_UP_RUNS


def test_priming_runs_a_real_session_at_every_warm_up_length() -> None:
    onnx = onnx_builders.identity("INT64", ("batch", "sequence")).SerializeToString()
    session = OrtSessionFactory(intra_op_threads=1)(onnx)
    version = _loaded(_RecordingModel(0), ("batch", "sequence"))
    version.model = session
    assert inference_snapstart._warm_up(version)
    feeds = inference_snapstart.warm_up_inputs(version.record.manifest.signature, 128)
    assert session.run(feeds, [])[0].shape == (1, 128)
