"""The ``layerserve`` command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from layerserve.cli.batch import batch
from layerserve.cli.dev import dev
from layerserve.cli.example import example
from layerserve.cli.failures import add_command
from layerserve.cli.flags import FlagGroup
from layerserve.cli.package import package
from layerserve.cli.registry.group import register_commands
from layerserve.cli.versions import prune_versions

app = typer.Typer(
    name="layerserve",
    help="ONNX models as a service on AWS Lambda.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=FlagGroup,
)
for command in (dev, package, example):
    add_command(app, command)
register_commands(app)
add_command(app, batch)
add_command(app, prune_versions)


@app.callback()
def main() -> None:
    """Package, serve, register and watch ONNX model versions."""


def run(args: Sequence[str] | None = None) -> None:
    """The console script: a usage error is one line too, pointing at ``--help``."""
    try:
        status = app(args=args, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        status = exc.exit_code
    except ClickException as exc:
        hint = ""
        if isinstance(exc, UsageError) and exc.ctx is not None:
            hint = f" (see: {exc.ctx.command_path} --help)"
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())}{hint}\n")
        status = exc.exit_code
    except typer.Abort:
        status = 1
    sys.exit(status if isinstance(status, int) else 0)
