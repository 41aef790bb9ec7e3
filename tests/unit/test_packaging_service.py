"""The packaging use case end to end on tiny models: bytes in, verified version folder out."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import zstandard

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.domain.errors import InvalidModelError
from layerserve.domain.layout import ARTIFACT_FILE, MANIFEST_FILE
from layerserve.domain.manifest import Manifest, TensorSpec
from layerserve.services.packaging import (
    LambdaBudget,
    LayerTooLargeError,
    Packager,
    PackageReport,
    PackageRequest,
    QuantizationRejectedError,
    VersionExistsError,
)
from layerserve.services.packaging import artifact as artifact_module
from layerserve.services.packaging.budget import LAMBDA_UNZIPPED_LIMIT
from tests import onnx_builders

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def pack(model: onnx.ModelProto, out: Path, **options: Any) -> PackageReport:
    options.setdefault("name", "m")
    options.setdefault("version", "1")
    packager = Packager(OnnxToolkit(), out, clock=lambda: NOW)
    return packager.package(model.SerializeToString(), PackageRequest(**options))


def unpack(report: PackageReport) -> bytes:
    compressed = (report.version_dir / ARTIFACT_FILE).read_bytes()
    assert hashlib.sha256(compressed).hexdigest() == report.manifest.artifact.sha256
    assert len(compressed) == report.manifest.artifact.size
    return zstandard.ZstdDecompressor().decompress(compressed)


def run(data: bytes, feeds: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


def features(rows: int = 5, width: int = 16) -> np.ndarray[Any, Any]:
    return np.random.default_rng(7).standard_normal((rows, width)).astype(np.float32)


def test_round_trip_restores_the_exact_bytes_and_outputs(tmp_path: Path) -> None:
    model = onnx_builders.mlp()
    report = pack(model, tmp_path)
    restored = unpack(report)
    assert restored == model.SerializeToString()
    assert hashlib.sha256(restored).hexdigest() == report.manifest.onnx.sha256
    assert len(restored) == report.manifest.onnx.size
    x = features()
    np.testing.assert_array_equal(
        run(restored, {"x": x})[0], run(model.SerializeToString(), {"x": x})[0]
    )
    assert report.version_dir == tmp_path / "models" / "m" / "1"


def test_manifest_records_graph_facts_signature_and_options(tmp_path: Path) -> None:
    report = pack(onnx_builders.add_mul(), tmp_path, name="addmul", version="2.1", zstd_level=9)
    manifest = Manifest.from_json((report.version_dir / MANIFEST_FILE).read_bytes())
    assert manifest == report.manifest
    assert (manifest.name, manifest.version, manifest.created_at) == ("addmul", "2.1", NOW)
    assert (manifest.onnx.ir_version, manifest.onnx.opsets) == (8, {"ai.onnx": 17})
    assert manifest.onnx.producer_name == "layerserve-tests"
    assert manifest.signature.inputs == (
        TensorSpec(name="a", datatype="FP32", shape=("batch", 4)),
        TensorSpec(name="b", datatype="FP32", shape=("batch", 4)),
    )
    assert [spec.name for spec in manifest.signature.outputs] == ["sum", "product"]
    assert manifest.packaging.model_dump() == {
        "optimize": False,
        "quantize": "none",
        "zstd_level": 9,
    }
    assert manifest.quantization is None


def test_unknown_and_fixed_dims_and_every_datatype(tmp_path: Path) -> None:
    for datatype in ("BOOL", "INT8", "UINT16", "INT64", "FP16", "FP64", "BYTES"):
        model = onnx_builders.identity(datatype, (None, 3, "seq"))
        report = pack(model, tmp_path, name=f"id-{datatype.lower()}")
        spec = TensorSpec(name="x", datatype=datatype, shape=(None, 3, "seq"))
        assert report.manifest.signature.inputs == (spec,)
        assert report.manifest.signature.outputs[0].datatype == datatype


def test_baseline_summarises_each_numeric_output_on_the_samples(tmp_path: Path) -> None:
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    report = pack(onnx_builders.identity("FP32"), tmp_path, samples={"x": x})
    (baseline,) = report.manifest.baseline
    assert baseline.name == "y"
    assert (baseline.min, baseline.max, baseline.mean) == (0.0, 39.0, 19.5)
    assert baseline.std == pytest.approx(float(np.std(x)))
    assert baseline.quantiles["p50"] == 19.5
    assert list(baseline.quantiles) == ["p01", "p05", "p25", "p50", "p75", "p95", "p99"]
    text = pack(onnx_builders.identity("BYTES", ["n"]), tmp_path, name="text")
    assert text.manifest.baseline == ()


def test_optimized_model_still_agrees_with_the_original(tmp_path: Path) -> None:
    model = onnx_builders.mlp()
    report = pack(model, tmp_path, optimize=True)
    assert report.manifest.packaging.optimize
    assert [item.name for item in report.optimization] == ["scores"]
    assert report.optimization[0].cosine > 0.99999
    x = features()
    optimized = run(unpack(report), {"x": x})[0]
    np.testing.assert_allclose(optimized, run(model.SerializeToString(), {"x": x})[0], atol=1e-5)


def test_int8_quantisation_is_accepted_on_the_mlp_and_recorded(tmp_path: Path) -> None:
    report = pack(onnx_builders.mlp(), tmp_path, quantize="int8", max_abs_error=0.1)
    gate = report.manifest.quantization
    assert gate is not None
    assert gate.samples == 16
    assert 0.99 <= gate.min_cosine_similarity < 1.0
    assert 0.0 < gate.max_abs_error <= 0.1
    assert (gate.cosine_threshold, gate.max_abs_error_threshold) == (0.99, 0.1)
    restored = onnx.load_model_from_string(unpack(report))
    ops = {node.op_type for node in restored.graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeMatMul"}
    assert report.manifest.signature == pack(onnx_builders.mlp(), tmp_path, version="2").signature


def test_optimize_after_quantize_fuses_and_still_passes_the_gate(tmp_path: Path) -> None:
    report = pack(onnx_builders.mlp(), tmp_path, quantize="int8", optimize=True)
    restored = onnx.load_model_from_string(unpack(report))
    assert "DynamicQuantizeMatMul" in {node.op_type for node in restored.graph.node}
    assert report.manifest.onnx.opsets == {"ai.onnx": 17, "com.microsoft": 1}
    assert report.manifest.quantization is not None


def test_int8_quantisation_is_refused_when_thresholds_cannot_be_met(tmp_path: Path) -> None:
    with pytest.raises(QuantizationRejectedError) as caught:
        pack(onnx_builders.mlp(), tmp_path, quantize="int8", min_cosine=1.0, max_abs_error=0.0)
    (figure,) = caught.value.figures
    assert figure.name == "scores" and figure.max_abs_error > 0
    assert "max abs error" in caught.value.message and "\n" not in caught.value.message
    assert not (tmp_path / "models").exists()


def test_versions_are_immutable_unless_forced(tmp_path: Path) -> None:
    first = pack(onnx_builders.mlp(), tmp_path)
    with pytest.raises(VersionExistsError, match="already exists"):
        pack(onnx_builders.mlp(seed=1), tmp_path)
    assert Manifest.from_json((first.version_dir / MANIFEST_FILE).read_bytes()) == first.manifest
    second = pack(onnx_builders.mlp(seed=1), tmp_path, force=True)
    assert second.manifest.onnx.sha256 != first.manifest.onnx.sha256
    assert unpack(second) == onnx_builders.mlp(seed=1).SerializeToString()


def test_files_are_complete_and_readable_by_the_lambda_user(tmp_path: Path) -> None:
    report = pack(onnx_builders.mlp(), tmp_path)
    names = sorted(path.name for path in report.version_dir.iterdir())
    assert names == [MANIFEST_FILE, ARTIFACT_FILE]
    for path in report.version_dir.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_no_version_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        pack(onnx_builders.mlp(), tmp_path)
    assert list((tmp_path / "models" / "m" / "1").iterdir()) == []
    monkeypatch.undo()
    assert pack(onnx_builders.mlp(), tmp_path).manifest.name == "m"


def budget_leaving(available: int) -> LambdaBudget:
    return LambdaBudget(
        runtime_layer_bytes=LAMBDA_UNZIPPED_LIMIT - available, function_code_bytes=0
    )


def test_layer_budget_fits_warns_and_refuses(tmp_path: Path) -> None:
    model = onnx_builders.noisy()
    roomy = pack(model, tmp_path / "a")
    size = roomy.budget.layer_bytes
    assert size > 100_000  # random weights hardly compress
    assert (roomy.budget.verdict, roomy.storage, roomy.warnings) == ("fits", "layer", ())
    tight = pack(model, tmp_path / "b", budget=budget_leaving(int(size / 0.9)))
    assert tight.budget.verdict == "tight"
    assert any("over 80%" in warning for warning in tight.warnings)
    with pytest.raises(LayerTooLargeError, match="must be stored in S3 instead"):
        pack(model, tmp_path / "c", budget=budget_leaving(size - 1))
    assert not (tmp_path / "c" / "models").exists()
    s3 = pack(model, tmp_path / "c", budget=budget_leaving(size - 1), allow_s3=True)
    assert s3.storage == "s3" and (s3.version_dir / ARTIFACT_FILE).exists()
    assert any("S3" in warning for warning in s3.warnings)


def test_other_versions_in_the_folder_count_towards_the_layer(tmp_path: Path) -> None:
    first = pack(onnx_builders.noisy(), tmp_path)
    size = first.budget.layer_bytes
    second = pack(
        onnx_builders.noisy(seed=1), tmp_path, version="2", budget=budget_leaving(size * 3 // 2)
    )
    assert second.layer_total_bytes == size + second.budget.layer_bytes
    assert any("all versions" in warning for warning in second.warnings)


def test_manifest_is_written_last_and_a_replaced_version_is_never_half_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack(onnx_builders.mlp(), tmp_path)
    original = artifact_module._write_atomically
    seen: list[tuple[str, bool]] = []

    def spy(target: Path, data: bytes) -> None:
        seen.append((target.name, (target.parent / MANIFEST_FILE).exists()))
        original(target, data)

    monkeypatch.setattr(artifact_module, "_write_atomically", spy)
    pack(onnx_builders.mlp(seed=1), tmp_path, force=True)
    assert seen == [(ARTIFACT_FILE, False), (MANIFEST_FILE, False)]
    assert not list(tmp_path.rglob("*.partial"))


class RenamingOptimizer(OnnxToolkit):
    """An optimiser that (wrongly) returns a model with other output names."""

    def optimize(self, data: bytes) -> bytes:
        swapped: bytes = onnx_builders.identity("FP32", ("batch", 16)).SerializeToString()
        return swapped


def test_a_transformation_that_changes_the_signature_is_refused(tmp_path: Path) -> None:
    packager = Packager(RenamingOptimizer(), tmp_path)
    request = PackageRequest(name="m", version="1", optimize=True)
    with pytest.raises(InvalidModelError, match="optimised model no longer has the original's"):
        packager.package(onnx_builders.mlp().SerializeToString(), request)
