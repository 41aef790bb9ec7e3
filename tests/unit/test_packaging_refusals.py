"""Every model the packager refuses, each with a clear one-line reason and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx
import pytest

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.domain.errors import InvalidModelError
from layerserve.services.packaging import PackageRequest, package_model
from tests import onnx_builders

REFUSED: dict[str, tuple[Callable[[], onnx.ModelProto], str]] = {
    "custom domain": (onnx_builders.custom_op, "custom operators (com.example.custom:Frobnicate)"),
    "custom domain in a subgraph": (
        onnx_builders.custom_op_in_subgraph,
        "com.example.custom:Frobnicate in subgraph 'then_branch' of If node",
    ),
    "custom domain in a local function": (
        onnx_builders.custom_op_in_function,
        "com.example.custom:Frobnicate in function 'local.fns:Body'",
    ),
    "external data in a subgraph": (
        onnx_builders.external_data_in_subgraph,
        "attribute 'value' of Constant node in subgraph 'then_branch' of If node keeps its data "
        "in an external file",
    ),
    "fails the checker": (onnx_builders.broken, "model fails the ONNX checker: "),
    "onnxruntime cannot load": (
        onnx_builders.unknown_contrib_op,
        "onnxruntime cannot load the model: ",
    ),
    "sequence output": (onnx_builders.sequence_output, "output 'seq' is a sequence, not a tensor"),
}


def refusal(data: bytes, out: Path) -> str:
    with pytest.raises(InvalidModelError) as caught:
        package_model(data, PackageRequest(name="m", version="1"), out, OnnxToolkit())
    assert not (out / "models").exists()
    message = caught.value.message
    assert "\n" not in message
    return message


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_models(case: str, tmp_path: Path) -> None:
    build, expected = REFUSED[case]
    assert expected in refusal(build().SerializeToString(), tmp_path)


def test_external_initializers_saved_beside_the_file_are_refused(tmp_path: Path) -> None:
    path = onnx_builders.save_with_external_data(onnx_builders.mlp(), tmp_path / "m.onnx")
    message = refusal(path.read_bytes(), tmp_path / "out")
    assert message.startswith("initializer 'w1' keeps its data in an external file")


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", "the file is empty"), (b"\x00\xffnot protobuf", "not an ONNX model: ")],
)
def test_bytes_that_are_not_onnx_are_refused(data: bytes, expected: str, tmp_path: Path) -> None:
    assert expected in refusal(data, tmp_path)


def test_standard_local_functions_and_contrib_domain_are_accepted(tmp_path: Path) -> None:
    toolkit = OnnxToolkit()
    report = package_model(
        onnx_builders.local_function().SerializeToString(),
        PackageRequest(name="fn", version="1"),
        tmp_path,
        toolkit,
    )
    assert report.manifest.signature.inputs[0].shape == ("n",)
