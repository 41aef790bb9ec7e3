"""Deployer commands over the registry API (SigV4-signed); ``group.register_commands``
adds them to an app."""

from layerserve.cli.registry.client import RegistryCallError, RegistryClient

__all__ = ["RegistryCallError", "RegistryClient"]
