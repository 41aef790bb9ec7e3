"""The deployer commands over the registry API, added to an app as one group."""

import typer

from layerserve.cli.failures import add_command
from layerserve.cli.registry.commands import COMMANDS
from layerserve.cli.registry.metrics import metrics


def register_commands(app: typer.Typer) -> None:
    """Add ``register`` ... ``history`` and ``metrics`` to ``app``."""
    for command in (*COMMANDS, metrics):
        add_command(app, command)
