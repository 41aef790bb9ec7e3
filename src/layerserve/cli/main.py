"""The ``layerserve`` command line."""

from __future__ import annotations

import typer

from layerserve.cli.batch import batch
from layerserve.cli.dev import dev
from layerserve.cli.example import example
from layerserve.cli.package import package
from layerserve.cli.registry import register_commands
from layerserve.cli.versions import prune_versions

app = typer.Typer(
    name="layerserve",
    help="ONNX models as a service on AWS Lambda.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(dev)
app.command()(package)
app.command()(example)
register_commands(app)
app.command()(batch)
app.command()(prune_versions)


@app.callback()
def main() -> None:
    """Package, serve, register and watch ONNX model versions."""
