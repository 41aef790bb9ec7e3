"""Artifacts that ship inside Lambda layers (or any local models root)."""

from __future__ import annotations

from pathlib import Path

from layerserve.domain.errors import ArtifactIntegrityError
from layerserve.domain.layout import layer_folder
from layerserve.services.catalog import VersionRecord


class LayerArtifacts:
    """Resolves a record's relative location under the models root, refusing escapes."""

    def __init__(self, models_root: Path) -> None:
        self._root = models_root.resolve()

    def fetch(self, record: VersionRecord) -> Path:
        named = layer_folder(self._root, record.location)
        if named is None:
            raise ArtifactIntegrityError(f"'{record.location}' is not a layer location")
        folder = named.resolve()
        if not folder.is_relative_to(self._root):
            raise ArtifactIntegrityError(
                f"artifact location '{record.location}' escapes the models root"
            )
        artifact = (folder / record.manifest.artifact.file).resolve()
        if not artifact.is_relative_to(folder):
            raise ArtifactIntegrityError(f"artifact file of {record.location} escapes its folder")
        return artifact
