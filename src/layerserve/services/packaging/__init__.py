"""Packaging: turn an ONNX file into an immutable, verified version folder.

Usable without the CLI::

    report = package_model(data, PackageRequest(name="iris", version="1"), out, OnnxToolkit())
"""

from layerserve.services.packaging.agreement import OutputAgreement
from layerserve.services.packaging.budget import BudgetReport, LambdaBudget
from layerserve.services.packaging.errors import (
    LayerTooLargeError,
    QuantizationRejectedError,
    VersionExistsError,
)
from layerserve.services.packaging.ports import (
    LoadedModel,
    ModelFacts,
    ModelToolkit,
    Progress,
    SilentProgress,
)
from layerserve.services.packaging.request import PackageReport, PackageRequest
from layerserve.services.packaging.samples import generate_samples, read_npz
from layerserve.services.packaging.service import Packager, package_model

__all__ = [
    "BudgetReport",
    "LambdaBudget",
    "LayerTooLargeError",
    "LoadedModel",
    "ModelFacts",
    "ModelToolkit",
    "OutputAgreement",
    "PackageReport",
    "PackageRequest",
    "Packager",
    "Progress",
    "QuantizationRejectedError",
    "SilentProgress",
    "VersionExistsError",
    "generate_samples",
    "package_model",
    "read_npz",
]
