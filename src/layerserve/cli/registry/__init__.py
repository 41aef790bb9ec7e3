"""Deployer commands over the registry API (SigV4-signed); add them with ``register_commands``."""

from layerserve.cli.registry.client import RegistryCallError, RegistryClient
from layerserve.cli.registry.commands import register_commands

__all__ = ["RegistryCallError", "RegistryClient", "register_commands"]
