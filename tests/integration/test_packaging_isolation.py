"""onnxruntime crashes during packaging are contained in a child process: one line
naming the step and the way out, or a lower session level that is verified and recorded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerserve.adapters.onnx_graph import IsolatedToolkit, OnnxToolkit
from layerserve.adapters.onnx_runtime import OrtSessionFactory
from layerserve.services.packaging import PackageReport, PackageRequest, package_model
from layerserve.services.packaging.errors import RuntimeCrashError
from tests import onnx_builders
from tests.crashing import SegfaultsAlways, SegfaultsAtLevelAll, SegfaultsQuantising

MLP = onnx_builders.mlp().SerializeToString()


def pack(tmp_path: Path, make: Callable[[], OnnxToolkit], **options: Any) -> PackageReport:
    request = PackageRequest(name="m", version="1", **options)
    with IsolatedToolkit(make) as toolkit:
        return package_model(MLP, request, tmp_path, toolkit)


def test_the_isolated_toolkit_packages_like_the_in_process_one(tmp_path: Path) -> None:
    with IsolatedToolkit() as toolkit:
        isolated = package_model(MLP, PackageRequest(name="m", version="1"), tmp_path, toolkit)
    local = package_model(MLP, PackageRequest(name="m", version="2"), tmp_path, OnnxToolkit())
    assert isolated.manifest.onnx == local.manifest.onnx
    assert isolated.manifest.baseline == local.manifest.baseline
    assert isolated.manifest.session is not None
    assert isolated.manifest.session.graph_optimization_level == "all"


def test_a_crash_at_the_highest_level_falls_back_and_records_the_level(tmp_path: Path) -> None:
    report = pack(tmp_path, SegfaultsAtLevelAll)
    manifest = report.manifest
    assert manifest.session is not None
    assert manifest.session.graph_optimization_level == "extended"
    crashed = "crashed (SIGSEGV) while loading the model at session level all"
    assert any(crashed in warning for warning in report.warnings)
    served = OrtSessionFactory(1)(MLP, manifest.session)
    x = np.ones((2, 16), np.float32)
    assert served.run({"x": x}, ["scores"])[0].shape == (2, 4)


def test_a_crash_at_a_pinned_level_names_the_step_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(RuntimeCrashError) as caught:
        pack(tmp_path, SegfaultsAtLevelAll, graph_optimization_level="all")
    assert caught.value.message == (
        "onnxruntime crashed (SIGSEGV) while loading the model at session level all; "
        "try a lower --graph-optimization-level (extended, basic, disabled)"
    )
    assert not (tmp_path / "models").exists()


def test_a_crash_at_every_level_says_onnxruntime_cannot_serve_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeCrashError, match="crashes at every session level"):
        pack(tmp_path, SegfaultsAlways)


def test_a_crash_while_quantising_says_to_package_without_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeCrashError) as caught:
        pack(tmp_path, SegfaultsQuantising, quantize="int8")
    assert caught.value.message == (
        "onnxruntime crashed (SIGSEGV) while quantising to int8; package without --quantize int8"
    )
