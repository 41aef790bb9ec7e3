"""The Lambda runtime layer has no `onnx` package: packaging must only need it when used."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import layerserve.cli.package, layerserve.cli.example, layerserve.services.packaging
heavy = sorted(name for name in ("onnx", "sklearn", "skl2onnx") if name in sys.modules)
print(",".join(heavy))
"""


def test_packaging_modules_import_without_onnx_or_scikit_learn() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
