"""Deployer commands over the registry API (SigV4-signed); add them with ``register_commands``."""

import typer

from layerserve.cli.failures import add_command
from layerserve.cli.registry import commands
from layerserve.cli.registry.client import RegistryCallError, RegistryClient
from layerserve.cli.registry.metrics import metrics


def register_commands(app: typer.Typer) -> None:
    """Add the deployer commands and ``metrics`` to the ``layerserve`` app."""
    commands.register_commands(app)
    add_command(app, metrics)


__all__ = ["RegistryCallError", "RegistryClient", "register_commands"]
