"""``layerserve example``: train a small iris classifier, convert it to ONNX and package it.

The example is reproducible: the same version is the same bytes on every run (a fixed
training set and solver, a named graph, a fixed manifest date), so running it again
keeps what is there; a folder holding a different version of the same number is refused.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from layerserve.cli.package import fail, rich_progress, show_report
from layerserve.domain.errors import LayerserveError
from layerserve.services.packaging import (
    Packager,
    PackageReport,
    PackageRequest,
    Progress,
    SilentProgress,
    VersionExistsError,
)

INPUT_NAME = "input"
TARGET_OPSET = 17
GRAPH_NAME = "iris_logistic_regression"
SAMPLE_STRIDE = 5  # every 5th iris row (30 rows) feeds the manifest's baseline
EXAMPLE_DATE = datetime(2024, 1, 1, tzinfo=UTC)
"""The date every example manifest carries, so that each run writes the same bytes."""


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
        name=GRAPH_NAME,  # skl2onnx names the graph with a random UUID otherwise
    )
    samples = np.ascontiguousarray(features[::SAMPLE_STRIDE], dtype=np.float32)
    return ExampleModel(onnx=converted.SerializeToString(), samples=samples)


def example_versions(first: str, count: int) -> list[str]:
    """``[first]`` for one version, else ``1`` … ``count``."""
    return [first] if count == 1 else [str(number) for number in range(1, count + 1)]


def write_examples(
    layer: Path, name: str, versions: list[str], progress: Progress | None = None
) -> Iterator[tuple[ExampleModel, PackageReport]]:
    """Package each version into ``layer`` (C = 1, 1/4, 1/16, …), one at a time."""
    for index, version in enumerate(versions):
        yield package_example(layer, name, version, progress, regularization=0.25**index)


def write_example(
    out: Path,
    name: str = "iris",
    version: str = "1",
    progress: Progress | None = None,
    regularization: float = 1.0,
) -> PackageReport:
    """Save ``out/model.onnx`` and package it into ``out/layer`` (kept if the same)."""
    model, report = package_example(out / "layer", name, version, progress, regularization)
    save_onnx(out / "model.onnx", model)
    return report


def save_onnx(path: Path, model: ExampleModel) -> None:
    """Write the ONNX file unless it already holds these bytes."""
    if not path.is_file() or path.read_bytes() != model.onnx:
        path.write_bytes(model.onnx)


def package_example(
    layer: Path,
    name: str = "iris",
    version: str = "1",
    progress: Progress | None = None,
    regularization: float = 1.0,
) -> tuple[ExampleModel, PackageReport]:
    """Package one example version into ``layer``: kept if the same, refused if different."""
    from layerserve.adapters.onnx_graph import OnnxToolkit  # needs `onnx`: packaging only

    progress = progress or SilentProgress()
    with progress.step(f"Training iris classifier {version} and converting it to ONNX"):
        model = build_example_model(regularization)
    request = PackageRequest(name=name, version=version, samples={INPUT_NAME: model.samples})
    with tempfile.TemporaryDirectory(prefix="layerserve-example-") as scratch:
        packager = Packager(OnnxToolkit(), Path(scratch), progress, clock=lambda: EXAMPLE_DATE)
        built = packager.package(model.onnx, request)
        return model, _install(built, layer)


def _install(built: PackageReport, layer: Path) -> PackageReport:
    """Write a version packaged in scratch space into ``layer`` through the layer's writer,
    which keeps the same bytes as they are and refuses different ones."""
    from layerserve.domain.layout import ARTIFACT_FILE, MANIFEST_FILE
    from layerserve.services.packaging.artifact import LayerFolder

    artifact = (built.version_dir / ARTIFACT_FILE).read_bytes()
    manifest = (built.version_dir / MANIFEST_FILE).read_bytes()
    name, version = built.manifest.name, built.manifest.version
    folder = LayerFolder(layer)
    written = folder.write(name, version, artifact, manifest, force=False)
    others = folder.other_bytes(name, version)
    return dataclasses.replace(
        built, version_dir=written, layer_total_bytes=others + built.budget.layer_bytes
    )


def refusal(exc: VersionExistsError) -> str:
    return (
        f"{exc.path} holds a different packaging of this example version; versions are "
        "immutable, so remove that folder or choose another --out"
    )


def example(
    out: Annotated[Path, typer.Option(help="Folder for model.onnx and the layer/ folder.")],
    name: Annotated[str, typer.Option(help="Model name.")] = "iris",
    version: Annotated[str, typer.Option(help="Version (the first, with --versions).")] = "1",
    versions: Annotated[
        int,
        typer.Option(min=1, max=9, help="Package this many versions: 1, 2, ... (C=1, 1/4, ...)."),
    ] = 1,
) -> None:
    """Train an iris classifier, save OUT/model.onnx and package it into OUT/layer.

    Running it again keeps identical versions as they are."""
    console = Console(highlight=False)
    try:
        with rich_progress(console) as progress:
            written = list(
                write_examples(out / "layer", name, example_versions(version, versions), progress)
            )
        model, report = written[-1]
        save_onnx(out / "model.onnx", model)
    except VersionExistsError as exc:
        fail(refusal(exc))
    except LayerserveError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}")
    show_report(console, report)
    typer.echo(f"model: {out / 'model.onnx'}")
    typer.echo(f"packaged: {report.version_dir}")
    typer.echo(f"serve it: layerserve dev --models {out / 'layer'}")
