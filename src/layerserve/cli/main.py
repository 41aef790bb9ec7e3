"""The ``layerserve`` command line."""

from __future__ import annotations

import typer

from layerserve.cli.batch import batch
from layerserve.cli.dev import dev
from layerserve.cli.example import example
from layerserve.cli.failures import add_command
from layerserve.cli.package import package
from layerserve.cli.registry import register_commands

app = typer.Typer(
    name="layerserve",
    help="ONNX models as a service on AWS Lambda.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for command in (dev, package, example):
    add_command(app, command)
register_commands(app)
add_command(app, batch)


@app.callback()
def main() -> None:
    """Package, serve, register and watch ONNX model versions."""
