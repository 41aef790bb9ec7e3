"""``layerserve example``: train a small iris classifier, convert it to ONNX and package it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from layerserve.cli.package import fail, rich_progress, show_report
from layerserve.domain.errors import LayerserveError
from layerserve.services.packaging import (
    PackageReport,
    PackageRequest,
    Progress,
    SilentProgress,
    package_model,
)

INPUT_NAME = "input"
TARGET_OPSET = 17
SAMPLE_STRIDE = 5  # every 5th iris row (30 rows) feeds the manifest's baseline


@dataclass(frozen=True, slots=True)
class ExampleModel:
    onnx: bytes
    samples: np.ndarray[Any, np.dtype[np.float32]]
    """Real iris measurements, shape [30, 4]: the sample inputs for packaging."""


def build_example_model(regularization: float = 1.0) -> ExampleModel:
    """Logistic regression on scikit-learn's bundled iris data; outputs plain tensors.

    Input ``input`` FP32 [None, 4]; outputs ``label`` INT64 [None] and
    ``probabilities`` FP32 [None, 3] (zipmap disabled, so no sequence of maps).
    ``regularization`` is scikit-learn's ``C``: versions differ by it, not by signature.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, labels = load_iris(return_X_y=True)
    classifier = LogisticRegression(C=regularization, max_iter=500).fit(features, labels)
    converted = convert_sklearn(
        classifier,
        initial_types=[(INPUT_NAME, FloatTensorType([None, 4]))],
        options={id(classifier): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    samples = np.ascontiguousarray(features[::SAMPLE_STRIDE], dtype=np.float32)
    return ExampleModel(onnx=converted.SerializeToString(), samples=samples)


def write_example(
    out: Path,
    name: str = "iris",
    version: str = "1",
    progress: Progress | None = None,
    regularization: float = 1.0,
) -> PackageReport:
    """Save ``out/model.onnx`` and package it into ``out/layer`` (replacing an older example)."""
    from layerserve.adapters.onnx_graph import OnnxToolkit  # needs `onnx`: packaging only

    progress = progress or SilentProgress()
    with progress.step(f"Training iris classifier {version} and converting it to ONNX"):
        example_model = build_example_model(regularization)
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(example_model.onnx)
    request = PackageRequest(
        name=name, version=version, samples={INPUT_NAME: example_model.samples}, force=True
    )
    return package_model(example_model.onnx, request, out / "layer", OnnxToolkit(), progress)


def example(
    out: Annotated[Path, typer.Option(help="Folder for model.onnx and the layer/ folder.")],
    name: Annotated[str, typer.Option(help="Model name.")] = "iris",
    version: Annotated[str, typer.Option(help="Version (the first, with --versions).")] = "1",
    versions: Annotated[
        int,
        typer.Option(min=1, max=9, help="Package this many versions: 1, 2, ... (C=1, 1/4, ...)."),
    ] = 1,
) -> None:
    """Train an iris classifier, save OUT/model.onnx and package it into OUT/layer."""
    console = Console(highlight=False)
    names = [version] if versions == 1 else [str(number) for number in range(1, versions + 1)]
    try:
        with rich_progress(console) as progress:
            for index, each in enumerate(names):
                report = write_example(out, name, each, progress, regularization=0.25**index)
    except LayerserveError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}")
    show_report(console, report)
    typer.echo(f"model: {out / 'model.onnx'}")
    typer.echo(f"packaged: {report.version_dir}")
    typer.echo(f"serve it: layerserve dev --models {out / 'layer'}")
