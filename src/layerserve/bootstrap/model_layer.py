"""Registering what a deployed model layer holds: the registry function's deploy step."""

from __future__ import annotations

from pathlib import Path

from layerserve.adapters.model_layer import read_layer_versions
from layerserve.services.registry import RegistryService
from layerserve.services.registry.layer_sync import LayerSync, sync_layer_versions


def sync_model_layer(service: RegistryService, models_dir: Path, actor: str) -> LayerSync:
    """Register what the model layer mounted at ``models_dir`` holds (on deploy).

    Each artifact is hashed against its manifest first: a broken one is not registered.
    Manifests that cannot be read and broken artifacts count as problems, like conflicts.
    """
    layer = read_layer_versions(models_dir)
    outcome = sync_layer_versions(service, layer.intact, actor)
    outcome.problems[:0] = layer.problems
    return outcome
