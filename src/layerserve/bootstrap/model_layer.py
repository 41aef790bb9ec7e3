"""Registering what a deployed model layer holds: the registry function's deploy step."""

from __future__ import annotations

import hashlib
from pathlib import Path

from layerserve.adapters.layer_artifacts import LayerArtifacts
from layerserve.adapters.layer_catalog import LayerCatalog
from layerserve.domain.errors import ArtifactIntegrityError
from layerserve.services.catalog import VersionRecord
from layerserve.services.registry import RegistryService
from layerserve.services.registry.layer_sync import LayerSync, sync_layer_versions


def sync_model_layer(service: RegistryService, models_dir: Path, actor: str) -> LayerSync:
    """Register what the model layer mounted at ``models_dir`` holds (on deploy).

    Each artifact is hashed against its manifest first: a broken one is not registered.
    Manifests that cannot be read and broken artifacts count as problems, like conflicts.
    """
    layer = LayerCatalog(models_dir)
    records: list[VersionRecord] = [
        layer.resolve(model, version, None).record
        for model in layer.model_names()
        for version in layer.versions(model)
    ]
    problems = list(layer.problems)
    intact = []
    for record in records:
        problem = _artifact_problem(LayerArtifacts(models_dir), record)
        if problem is None:
            intact.append(record)
        else:
            problems.append(problem)
    outcome = sync_layer_versions(service, intact, actor)
    outcome.problems[:0] = problems
    return outcome


def _artifact_problem(artifacts: LayerArtifacts, record: VersionRecord) -> str | None:
    """Why the record's artifact in the layer cannot serve, or ``None``."""
    name = f"{record.model}/{record.version}"
    expected = record.manifest.artifact
    try:
        path = artifacts.fetch(record)
        digest = hashlib.sha256()
        with path.open("rb") as artifact:
            while chunk := artifact.read(1 << 20):
                digest.update(chunk)
    except (ArtifactIntegrityError, OSError) as exc:
        return f"{name}: artifact unreadable in the model layer ({exc})"
    if digest.hexdigest() != expected.sha256:
        return f"{name}: the layer's artifact does not match the sha256 in its manifest"
    return None
