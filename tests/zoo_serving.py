"""Package a zoo model with the CLI, serve it through the real inference handler and
compare with onnxruntime run directly (shared by the zoo tests and the zoo report)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import zstandard
from typer.testing import CliRunner

from layerserve.cli.main import app
from layerserve.domain.manifest import Manifest
from tests.apigw import http_api_event, reply_json
from tests.zoo import Arrays, ZooModel

MODES: dict[str, tuple[str, ...]] = {
    "default": (),
    "optimize": ("--optimize",),
    "int8": ("--quantize", "int8"),
}
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Outcome:
    model: str
    mode: str
    exit_code: int
    refusal: str = ""
    manifest: Manifest | None = None
    served_vs_direct: float | None = None
    """Largest absolute difference, served against onnxruntime on the same ONNX bytes."""
    vs_original: dict[str, float] = field(default_factory=dict)
    """Largest absolute difference per output against the original model (int8, optimise)."""
    labels_equal: bool = True


def package(zoo: ZooModel, mode: str, folder: Path, layer: Path) -> Outcome:
    path = folder / f"{zoo.name}.onnx"
    path.write_bytes(zoo.model.SerializeToString())
    version = mode
    args = ["package", str(path), "--name", zoo.name, "--version", version, "--out", str(layer)]
    result = CliRunner().invoke(app, [*args, *MODES[mode]])
    outcome = Outcome(zoo.name, mode, result.exit_code)
    if result.exit_code != 0:
        outcome.refusal = result.stderr.strip()
        return outcome
    manifest_path = layer / "models" / zoo.name / version / "manifest.json"
    outcome.manifest = Manifest.from_json(manifest_path.read_bytes())
    return outcome


def packaged_onnx(layer: Path, name: str, version: str) -> bytes:
    compressed = (layer / "models" / name / version / "model.onnx.zst").read_bytes()
    return zstandard.ZstdDecompressor().decompress(compressed)


def direct(onnx: bytes, feeds: Arrays, manifest: Manifest | None = None) -> Arrays:
    options = ort.SessionOptions()
    if manifest is not None and manifest.session is not None:
        from layerserve.adapters.onnx_runtime import GRAPH_LEVELS

        options.graph_optimization_level = GRAPH_LEVELS[manifest.session.graph_optimization_level]
    session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    names = [out.name for out in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


def v2_request(manifest: Manifest, feeds: Arrays) -> dict[str, Any]:
    inputs = []
    for spec in manifest.signature.inputs:
        array = feeds[spec.name]
        data = array.ravel().tolist()
        inputs.append(
            {"name": spec.name, "datatype": spec.datatype, "shape": list(array.shape), "data": data}
        )
    return {"inputs": inputs}


def served(invoke: Invoke, manifest: Manifest, feeds: Arrays) -> Arrays:
    path = f"/v2/models/{manifest.name}/versions/{manifest.version}/infer"
    response = invoke(http_api_event("POST", path, orjson.dumps(v2_request(manifest, feeds))))
    body = reply_json(response)
    assert response["statusCode"] == 200, body
    arrays: Arrays = {}
    for out in body["outputs"]:
        dtype = object if out["datatype"] == "BYTES" else _dtype(out["datatype"])
        arrays[out["name"]] = np.asarray(out["data"], dtype=dtype).reshape(out["shape"])
    return arrays


def _dtype(datatype: str) -> Any:
    from layerserve.domain.datatypes import numpy_dtype

    return numpy_dtype(datatype)


def max_abs(want: np.ndarray[Any, Any], got: np.ndarray[Any, Any]) -> float:
    if want.dtype.kind == "O" or got.dtype.kind == "O":
        return 0.0 if list(want.ravel()) == list(got.ravel()) else float("inf")
    a, b = want.astype(np.float64), got.astype(np.float64)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def compare(
    outcome: Outcome, zoo: ZooModel, layer: Path, invoke: Invoke, original: Arrays
) -> Outcome:
    """Fill in the differences of a packaged outcome."""
    manifest = outcome.manifest
    assert manifest is not None
    onnx = packaged_onnx(layer, manifest.name, manifest.version)
    want = direct(onnx, zoo.request, manifest)
    got = served(invoke, manifest, zoo.request)
    outcome.served_vs_direct = max(max_abs(want[name], got[name]) for name in want)
    for name, value in original.items():
        if value.dtype.kind == "O":
            outcome.labels_equal &= list(value.ravel()) == list(got[name].ravel())
        else:
            outcome.vs_original[name] = max_abs(value, got[name])
    return outcome
