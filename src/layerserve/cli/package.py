"""``layerserve package``: validate, transform, gate and write one immutable model version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from layerserve.cli.failures import fail as fail  # example.py takes it from here too
from layerserve.domain.errors import LayerserveError
from layerserve.domain.tensors import protocol_shape
from layerserve.services.packaging import (
    LambdaBudget,
    OutputAgreement,
    PackageReport,
    PackageRequest,
    QuantizationRejectedError,
    package_model,
    read_npz,
)
from layerserve.services.packaging.budget import BudgetReport, mb


class Quantize(StrEnum):
    none = "none"
    int8 = "int8"


class RichProgress:
    """``Progress`` port for the terminal: a spinner per step, then a tick and the time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        task = self._progress.add_task(description, total=1)
        try:
            yield
        except BaseException:
            self._progress.update(task, completed=1, description=f"[red]✗[/] {description}")
            raise
        self._progress.update(task, completed=1, description=f"[green]✓[/] {description}")


@contextmanager
def rich_progress(console: Console) -> Iterator[RichProgress]:
    columns = (SpinnerColumn(finished_text=""), TextColumn("{task.description}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        yield RichProgress(progress)


def agreement_table(title: str, figures: tuple[OutputAgreement, ...]) -> Table:
    table = Table("output", "cosine similarity", "max abs error", title=title)
    for item in figures:
        table.add_row(item.name, f"{item.cosine:.6f}", f"{item.max_abs_error:.6g}")
    return table


def show_report(console: Console, report: PackageReport) -> None:
    if report.optimization:
        console.print(agreement_table("optimised vs. before", report.optimization))
    gate = report.manifest.quantization
    if report.quantization and gate is not None:
        limit = gate.max_abs_error_threshold
        bound = "" if limit is None else f", max abs error ≤ {limit}"
        title = f"int8 vs. original: accepted (cosine ≥ {gate.cosine_threshold}{bound})"
        console.print(agreement_table(title, report.quantization))
    console.print(summary_table(report))
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


def summary_table(report: PackageReport) -> Table:
    manifest = report.manifest
    table = Table.grid(padding=(0, 2))
    table.add_row("version", f"{manifest.name}/{manifest.version} → {report.version_dir}")
    onnx, artifact = manifest.onnx, manifest.artifact
    table.add_row("onnx", f"{mb(onnx.size)}, sha256 {onnx.sha256[:16]}…")
    ratio = artifact.size / max(onnx.size, 1)
    table.add_row("artifact", f"{mb(artifact.size)} ({ratio:.0%}), sha256 {artifact.sha256[:16]}…")
    signature = manifest.signature
    for role, specs in (("input", signature.inputs), ("output", signature.outputs)):
        for spec in specs:
            table.add_row(role, f"{spec.name}  {spec.datatype}  {protocol_shape(spec.shape)}")
    table.add_row("layer budget", budget_text(report.budget))
    table.add_row("", report.budget.breakdown())
    table.add_row("storage", "S3 (too big for a layer)" if report.storage == "s3" else "layer")
    return table


def budget_text(fit: BudgetReport) -> str:
    """What this version takes of the room Lambda leaves for models, and what remains."""
    room = max(fit.available_bytes, 0)
    if room == 0:
        return f"this version needs {mb(fit.layer_bytes)}; the other parts leave no room"
    remaining = room - fit.layer_bytes
    rest = f"{mb(remaining)} remain" if remaining >= 0 else f"{mb(-remaining)} too much"
    return f"this version uses {mb(fit.layer_bytes)} ({fit.fraction:.1%}) of {mb(room)}; {rest}"


def package(
    model: Annotated[Path, typer.Argument(help="The .onnx file to package.", dir_okay=False)],
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[str, typer.Option(help="Version; immutable once written.")],
    out: Annotated[Path, typer.Option(help="Layer folder; writes OUT/models/NAME/VERSION/.")],
    optimize: Annotated[bool, typer.Option(help="Offline graph optimisation.")] = False,
    quantize: Annotated[
        Quantize, typer.Option(help="int8: dynamic, per channel, gated.")
    ] = Quantize.none,
    sample: Annotated[
        Path | None, typer.Option(help=".npz with arrays named like the inputs.", dir_okay=False)
    ] = None,
    min_cosine: Annotated[float, typer.Option(help="int8 gate: min cosine per output.")] = 0.99,
    max_abs_error: Annotated[
        float | None, typer.Option(help="int8 gate: max absolute error per output.")
    ] = None,
    zstd_level: Annotated[int, typer.Option(min=1, max=22, help="zstd level.")] = 3,
    runtime_layer_mb: Annotated[
        float, typer.Option(min=0, help="Unzipped runtime layer, MiB.")
    ] = 140.0,
    function_code_mb: Annotated[
        float, typer.Option(min=0, help="Unzipped function code, MiB.")
    ] = 1.0,
    allow_s3: Annotated[
        bool, typer.Option("--allow-s3", help="Write a version too big for a layer (for S3).")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing version.")] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the manifest as JSON on stdout.")
    ] = False,
) -> None:
    """Package MODEL.onnx as OUT/models/NAME/VERSION/{model.onnx.zst,manifest.json}."""
    from layerserve.adapters.onnx_graph import OnnxToolkit  # needs `onnx`: packaging only

    console = Console(stderr=json_output, highlight=False)
    try:
        request = PackageRequest(
            name=name,
            version=version,
            optimize=optimize,
            quantize=quantize.value,
            zstd_level=zstd_level,
            min_cosine=min_cosine,
            max_abs_error=max_abs_error,
            samples=None if sample is None else read_npz(sample),
            force=force,
            allow_s3=allow_s3,
            budget=LambdaBudget.from_mb(runtime_layer_mb, function_code_mb),
        )
        data = model.read_bytes()
        with rich_progress(console) as progress:
            report = package_model(data, request, out, OnnxToolkit(), progress)
    except QuantizationRejectedError as exc:
        console.print(agreement_table("int8 vs. original: refused", exc.figures))
        fail(exc.message)
    except LayerserveError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"{exc.strerror or exc}: {exc.filename}")
    show_report(console, report)
    if json_output:
        typer.echo(report.manifest.to_json())
