"""Package tiny models into layer folders for tests, through the real packager."""

from __future__ import annotations

from pathlib import Path

import onnx

from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.domain.manifest import Manifest
from layerserve.services.packaging import PackageRequest, package_model


def package(model: onnx.ModelProto, layer: Path, name: str, version: str) -> Manifest:
    """Write ``layer/models/<name>/<version>/`` and return its manifest."""
    request = PackageRequest(name=name, version=version)
    report = package_model(model.SerializeToString(), request, layer, OnnxToolkit())
    return report.manifest
