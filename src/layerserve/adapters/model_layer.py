"""What a model layer holds, each artifact hashed against its manifest before it counts.

Read on deploy (the model layer's custom resource) and when the local stack seeds its
registry, so both register exactly the versions that can serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerserve.adapters.artifact_files import sha256_file
from layerserve.adapters.layer_artifacts import LayerArtifacts
from layerserve.adapters.layer_catalog import LayerCatalog
from layerserve.domain.errors import ArtifactIntegrityError
from layerserve.services.catalog import VersionRecord


@dataclass(frozen=True, slots=True)
class LayerVersions:
    intact: list[VersionRecord]
    """Versions whose artifact matches its manifest, by model and version."""
    problems: list[str]
    """Manifests that cannot be read and artifacts that cannot serve, one line each."""


def read_layer_versions(models_dir: Path) -> LayerVersions:
    """Every version under ``models_dir`` (a models root), with its artifact checked."""
    layer = LayerCatalog(models_dir)
    artifacts = LayerArtifacts(models_dir)
    problems = list(layer.problems)
    intact = []
    for model in layer.model_names():
        for version in layer.versions(model):
            record = layer.resolve(model, version, None).record
            problem = _artifact_problem(artifacts, record)
            if problem is None:
                intact.append(record)
            else:
                problems.append(problem)
    return LayerVersions(intact, problems)


def _artifact_problem(artifacts: LayerArtifacts, record: VersionRecord) -> str | None:
    """Why the record's artifact in the layer cannot serve, or ``None``."""
    name = f"{record.model}/{record.version}"
    expected = record.manifest.artifact
    try:
        digest = sha256_file(artifacts.fetch(record))
    except (ArtifactIntegrityError, OSError) as exc:
        return f"{name}: artifact unreadable in the model layer ({exc})"
    if digest != expected.sha256:
        return f"{name}: the layer's artifact does not match the sha256 in its manifest"
    return None
