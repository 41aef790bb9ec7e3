"""`layerserve package` and `layerserve example` through typer, as a deployer runs them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import orjson
import pytest
import zstandard
from typer.testing import CliRunner, Result

from layerserve.cli.main import app
from layerserve.domain.layout import MANIFEST_FILE
from layerserve.domain.manifest import Manifest
from layerserve.local.events import decode_reply, http_api_event
from tests import onnx_builders
from tests.conftest import Invoke

runner = CliRunner()


def layerserve(*args: str | Path) -> Result:
    return runner.invoke(app, [str(arg) for arg in args])


def saved(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> Path:
    return onnx_builders.save(model, folder / name)


def package(model: Path, out: Path, *options: str, version: str = "1") -> Result:
    return layerserve("package", model, "--name", "m", "--version", version, "--out", out, *options)


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_package_writes_the_version_and_reports_it(tmp_path: Path) -> None:
    result = package(saved(onnx_builders.mlp(), tmp_path), tmp_path / "layer")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "layer" / "models" / "m" / "1"
    manifest = Manifest.from_json((folder / MANIFEST_FILE).read_bytes())
    assert manifest.signature.inputs[0].shape == ("batch", 16)
    assert "m/1" in result.stdout and "✓ Validating the model" in result.stdout
    assert "layer budget" in result.stdout and result.stderr == ""


def test_json_prints_only_the_manifest_on_stdout(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", x=np.full((3, 16), 0.5, np.float32))
    result = package(
        saved(onnx_builders.mlp(), tmp_path),
        tmp_path / "layer",
        "--json",
        "--sample",
        str(tmp_path / "s.npz"),
        "--zstd-level",
        "19",
    )
    assert result.exit_code == 0, result.output
    manifest = Manifest.from_json(result.stdout)
    assert manifest.packaging.zstd_level == 19
    on_disk = tmp_path / "layer" / "models" / "m" / "1" / MANIFEST_FILE
    assert manifest == Manifest.from_json(on_disk.read_bytes())
    assert "Validating the model" in result.stderr


def test_quantize_and_optimize_print_the_measured_agreement(tmp_path: Path) -> None:
    model = saved(onnx_builders.mlp(), tmp_path)
    result = package(model, tmp_path / "layer", "--quantize", "int8", "--optimize")
    assert result.exit_code == 0, result.output
    assert "int8 vs. original: accepted (worst-row cosine ≥ 0.99)" in result.stdout
    assert "optimised vs. before" in result.stdout and "scores" in result.stdout


def test_quantize_refused_prints_the_figures_and_writes_nothing(tmp_path: Path) -> None:
    model = saved(onnx_builders.mlp(), tmp_path)
    options = ("--quantize", "int8", "--min-cosine", "1.0", "--max-abs-error", "0")
    result = package(model, tmp_path / "layer", *options)
    assert_refused(result, "int8 model disagrees with the original on 16 samples")
    assert "int8 vs. original: refused" in result.stdout and "scores" in result.stdout
    assert not (tmp_path / "layer" / "models").exists()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (onnx_builders.custom_op(), "model uses custom operators"),
        (onnx_builders.broken(), "model fails the ONNX checker"),
        (onnx_builders.unknown_contrib_op(), "onnxruntime cannot load the model"),
    ],
)
def test_refused_models_exit_with_one_line(
    model: onnx.ModelProto, message: str, tmp_path: Path
) -> None:
    assert_refused(package(saved(model, tmp_path), tmp_path / "layer"), message)


def test_external_data_is_refused(tmp_path: Path) -> None:
    path = onnx_builders.save_with_external_data(onnx_builders.mlp(), tmp_path / "ext.onnx")
    assert_refused(package(path, tmp_path / "layer"), "keeps its data in an external file")


def test_unreadable_inputs_are_one_line_errors(tmp_path: Path) -> None:
    assert_refused(package(tmp_path / "missing.onnx", tmp_path), "No such file or directory")
    model = saved(onnx_builders.mlp(), tmp_path)
    bad = package(model, tmp_path, "--sample", str(tmp_path / "none.npz"))
    assert_refused(bad, "cannot read samples")
    name = layerserve("package", model, "--name", "a b", "--version", "1", "--out", tmp_path)
    assert_refused(name, "invalid model name 'a b'")


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    model = saved(onnx_builders.mlp(), tmp_path)
    assert package(model, tmp_path, "--zstd-level", "30").exit_code == 2
    assert package(model, tmp_path, "--quantize", "int4").exit_code == 2


def test_existing_versions_are_kept_unless_forced(tmp_path: Path) -> None:
    first = saved(onnx_builders.mlp(), tmp_path, "first.onnx")
    second = saved(onnx_builders.mlp(seed=3), tmp_path, "second.onnx")
    assert package(first, tmp_path / "layer").exit_code == 0
    assert_refused(package(second, tmp_path / "layer"), "already exists")
    assert package(second, tmp_path / "layer", "--force").exit_code == 0
    manifest_path = tmp_path / "layer" / "models" / "m" / "1" / MANIFEST_FILE
    digest = Manifest.from_json(manifest_path.read_bytes()).onnx.sha256
    assert (
        digest == Manifest.from_json(package(second, tmp_path / "x", "--json").stdout).onnx.sha256
    )


def test_budget_warns_refuses_and_allows_s3(tmp_path: Path) -> None:
    model = saved(onnx_builders.noisy(), tmp_path)  # ~120 KB that zstd cannot shrink
    nearly_full = ("--runtime-layer-mb", "249.86", "--function-code-mb", "0")
    tight = package(model, tmp_path / "a", *nearly_full)
    assert tight.exit_code == 0, tight.output
    assert tight.stderr.startswith("warning: model layer") and "over 80%" in tight.stderr
    full = ("--runtime-layer-mb", "249.95", "--function-code-mb", "0")
    assert_refused(package(model, tmp_path / "b", *full), "it must be stored in S3 instead")
    assert not (tmp_path / "b" / "models").exists()
    s3 = package(model, tmp_path / "b", *full, "--allow-s3")
    assert s3.exit_code == 0, s3.output
    assert "S3 (too big for a layer)" in s3.stdout and "stored in S3" in s3.stderr
    assert (tmp_path / "b" / "models" / "m" / "1" / MANIFEST_FILE).exists()


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("example")
    result = layerserve("example", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"packaged: {out / 'layer' / 'models' / 'iris' / '1'}" in result.stdout
    return out


@pytest.fixture
def models_root(example_dir: Path) -> Path:
    """Serve the example's layer with the real inference handler (see tests/conftest.py)."""
    return example_dir / "layer" / "models"


def test_example_writes_the_model_and_a_packaged_version(example_dir: Path) -> None:
    assert onnx.load(str(example_dir / "model.onnx")).graph.input[0].name == "input"
    manifest_path = example_dir / "layer" / "models" / "iris" / "1" / MANIFEST_FILE
    manifest = Manifest.from_json(manifest_path.read_bytes())
    assert [(spec.name, spec.datatype, spec.shape) for spec in manifest.signature.inputs] == [
        ("input", "FP32", (None, 4))
    ]
    outputs = {spec.name: (spec.datatype, spec.shape) for spec in manifest.signature.outputs}
    assert outputs == {"label": ("INT64", (None,)), "probabilities": ("FP32", (None, 3))}
    probabilities = next(item for item in manifest.baseline if item.name == "probabilities")
    assert probabilities.min >= 0.0 and probabilities.max <= 1.0
    assert probabilities.mean == pytest.approx(1 / 3)


def test_example_version_is_served_by_the_inference_handler(inference_handler: Invoke) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [5.9, 3.0, 4.2, 1.5], [6.9, 3.1, 5.4, 2.1]]
    request: dict[str, Any] = {
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [3, 4], "data": rows}]
    }
    event = http_api_event(
        "POST",
        "/v2/models/iris/infer",
        orjson.dumps(request),
        headers={"content-type": "application/json"},
    )
    reply = decode_reply(inference_handler(event))
    assert reply.status == 200, reply.body
    body = orjson.loads(reply.body)
    assert body["model_version"] == "1"
    outputs = {out["name"]: out for out in body["outputs"]}
    assert outputs["label"]["data"] == [0, 1, 2]
    sums = np.asarray(outputs["probabilities"]["data"], dtype=np.float64).reshape(3, 3).sum(axis=1)
    np.testing.assert_allclose(sums, 1.0, rtol=1e-5)


def test_example_again_keeps_the_identical_version(example_dir: Path) -> None:
    assert layerserve("example", "--out", example_dir, "--version", "1").exit_code == 0


def offset_embedding() -> onnx.ModelProto:
    """``ids + 100`` indexes a 4-row table: no generated id can be valid."""
    from onnx import TensorProto, helper, numpy_helper

    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, 2])
    inits = [
        numpy_helper.from_array(np.ones((4, 2), np.float32), "table"),
        numpy_helper.from_array(np.array(100, np.int64), "offset"),
    ]
    nodes = [
        helper.make_node("Add", ["ids", "offset"], ["shifted"], name="shift/Add"),
        helper.make_node("Gather", ["table", "shifted"], ["y"], name="emb/Gather"),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "offset", [ids], [y], initializer=inits),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    return model


def test_samples_that_still_fail_name_the_input_and_show_the_sample_form(tmp_path: Path) -> None:
    result = package(saved(offset_embedding(), tmp_path), tmp_path / "layer")
    assert_refused(result, "the model fails on the generated sample inputs: ")
    assert "Name:'emb/Gather'" in result.stderr
    assert (
        "the failing node reads input 'ids'; tried 'ids' INT64 [16, 3] values 0..3" in result.stderr
    )
    assert (
        "give inputs it accepts with --sample FILE.npz (numpy.savez) with arrays " in result.stderr
    )
    assert "ids=int64['batch', 3]" in result.stderr
    np.savez(tmp_path / "ok.npz", ids=np.full((2, 3), -100, np.int64))
    fixed = package(
        saved(offset_embedding(), tmp_path),
        tmp_path / "layer",
        "--sample",
        str(tmp_path / "ok.npz"),
    )
    assert fixed.exit_code == 0, fixed.output


def test_int8_on_the_example_model_says_there_is_nothing_to_quantise(tmp_path: Path) -> None:
    from layerserve.cli.example import build_example_model

    path = tmp_path / "iris.onnx"
    path.write_bytes(build_example_model().onnx)
    result = package(path, tmp_path / "layer", "--quantize", "int8")
    assert_refused(
        result,
        "nothing to quantise: the model has no MatMul/Gemm/Conv weights; it is a linear model "
        "(ai.onnx.ml:LinearClassifier)",
    )
    assert not (tmp_path / "layer" / "models").exists()


def test_gemm_weights_are_quantised_too(tmp_path: Path) -> None:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (8, 16)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1, alpha=0.5)
    graph = helper.make_graph([node], "gemm", [x], [y], initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    result = package(saved(model, tmp_path), tmp_path / "layer", "--quantize", "int8", "--json")
    assert result.exit_code == 0, result.output
    manifest = Manifest.from_json(result.stdout)
    assert manifest.quantization is not None and manifest.quantization.min_cosine_similarity > 0.99
    compressed = tmp_path / "layer" / "models" / "m" / "1" / "model.onnx.zst"
    quantised = onnx.load_model_from_string(
        zstandard.ZstdDecompressor().decompress(compressed.read_bytes())
    )
    assert "MatMulInteger" in {node.op_type for node in quantised.graph.node}
    kinds = {(t.data_type, tuple(t.dims)) for t in quantised.graph.initializer}
    assert (TensorProto.INT8, (16, 8)) in kinds and (TensorProto.FLOAT, (16, 8)) not in kinds


def test_a_pinned_session_level_is_verified_and_recorded(tmp_path: Path) -> None:
    model = saved(onnx_builders.mlp(), tmp_path)
    result = package(model, tmp_path / "layer", "--graph-optimization-level", "basic", "--json")
    assert result.exit_code == 0, result.output
    manifest = Manifest.from_json(result.stdout)
    assert manifest.session is not None and manifest.session.graph_optimization_level == "basic"
    assert "session level basic" in result.stderr
    default = Manifest.from_json(package(model, tmp_path / "l2", "--json").stdout)
    assert default.session is not None and default.session.graph_optimization_level == "all"
