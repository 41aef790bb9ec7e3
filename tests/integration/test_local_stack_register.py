"""``layerserve register DIR`` against ``layerserve dev``: a version folder outside the
served models root is refused with where local versions go; one inside is served."""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner

from layerserve.cli.main import app
from layerserve.local.stack import StackOptions
from tests import onnx_builders
from tests.local_stack_support import local_stack
from tests.packaged import package
from tests.servers import serving

BODY = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}


def test_register_refuses_a_folder_the_local_stack_does_not_serve(tmp_path: Path) -> None:
    layer = tmp_path / "layer"
    package(onnx_builders.identity(), layer, "m", "1")
    elsewhere = tmp_path / "elsewhere"
    package(onnx_builders.shifted(1.0), elsewhere, "m", "2")
    options = StackOptions(layer / "models", tmp_path / "scratch", registry_ttl_s=0.0)
    with local_stack(options) as stack, serving(stack.start()) as address:
        url = f"http://{address}"

        def register(folder: Path) -> tuple[int, str]:
            result = CliRunner().invoke(app, ["register", str(folder), "--endpoint", url])
            return result.exit_code, result.stderr

        code, stderr = register(elsewhere / "models" / "m" / "2")
        assert code == 1
        assert stderr.count("\n") == 1 and "Traceback" not in stderr
        root = (layer / "models").resolve()
        assert f"serves layer versions from {root} only" in stderr
        assert f"--out {root.parent}" in stderr
        versions = httpx.get(f"{url}/v2/models/m/versions/2/ready", timeout=30)
        assert versions.status_code == 404  # nothing was registered

        package(onnx_builders.shifted(1.0), layer, "m", "2")
        code, stderr = register(layer / "models" / "m" / "2")
        assert code == 0, stderr
        reply = httpx.post(f"{url}/v2/models/m/versions/2/infer", json=BODY, timeout=30)
        assert reply.status_code == 200, reply.text
        assert reply.json()["outputs"][0]["data"] == [2, 3, 4, 5]
