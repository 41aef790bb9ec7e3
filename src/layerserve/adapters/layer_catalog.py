"""Static catalog: every version found under a models root (a Lambda layer mount).

Layout (``domain.layout``): ``<root>/<name>/<version>/manifest.json`` next to the
artifact it names. With no registry
the highest version of each model is its default, like a static model repository.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from layerserve.domain.errors import InvalidModelError, ModelNotFoundError, VersionNotFoundError
from layerserve.domain.layout import MANIFEST_GLOB, layer_location, version_of
from layerserve.domain.manifest import Manifest
from layerserve.domain.versions import latest
from layerserve.services.catalog import Resolution, VersionRecord


@dataclass(frozen=True, slots=True)
class _ModelVersions:
    by_version: dict[str, VersionRecord]
    default: str | None
    """The highest version, chosen once per scan rather than on every request."""


def _index(records: dict[str, dict[str, VersionRecord]]) -> dict[str, _ModelVersions]:
    return {model: _ModelVersions(found, latest(found)) for model, found in records.items()}


class LayerCatalog:
    """Scans the models root once; rescans on a miss so new local packages appear.

    Rescans are rate-limited, so requests for unknown names cannot keep the disk busy.
    """

    def __init__(self, root: Path, rescan_interval_s: float = 1.0) -> None:
        self._root = root
        self._rescan_interval_s = rescan_interval_s
        self._last_scan = 0.0
        self._lock = threading.Lock()
        self._models: dict[str, _ModelVersions] = {}
        self.problems: list[str] = []
        self.rescan()

    @property
    def root(self) -> Path:
        return self._root

    def rescan(self) -> None:
        self._last_scan = time.monotonic()
        records: dict[str, dict[str, VersionRecord]] = {}
        problems: list[str] = []
        for manifest_path in sorted(self._root.glob(MANIFEST_GLOB)):
            try:
                record = _read_record(manifest_path)
            except InvalidModelError as exc:
                problems.append(exc.message)
                continue
            records.setdefault(record.model, {})[record.version] = record
        with self._lock:
            self._models = _index(records)
            self.problems = problems

    def model_names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, model: str) -> list[str]:
        return sorted(self._versions_of(model).by_version)

    def resolve(self, model: str, ref: str | None, routing_key: str | None) -> Resolution:
        del routing_key  # a static repository has no weighted routes
        versions = self._versions_of(model)
        chosen = versions.default if ref is None else ref
        record = versions.by_version.get(chosen) if chosen is not None else None
        if record is None and self._may_rescan():
            self.rescan()
            record = self._versions_of(model).by_version.get(chosen or "")
        if record is None:
            raise VersionNotFoundError(model, chosen or "")
        return Resolution(record)

    def default_resolutions(self, model: str) -> list[Resolution]:
        return [self.resolve(model, None, None)]

    def _may_rescan(self) -> bool:
        return time.monotonic() - self._last_scan >= self._rescan_interval_s

    def _versions_of(self, model: str) -> _ModelVersions:
        versions = self._models.get(model)
        if versions is None and self._may_rescan():
            self.rescan()
            versions = self._models.get(model)
        if versions is None:
            raise ModelNotFoundError(model)
        return versions


def _read_record(manifest_path: Path) -> VersionRecord:
    try:
        manifest = Manifest.from_json(manifest_path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise InvalidModelError(f"unreadable manifest {manifest_path}: {exc}") from exc
    name, version = version_of(manifest_path)
    if (manifest.name, manifest.version) != (name, version):
        raise InvalidModelError(
            f"manifest {manifest_path} names {manifest.name}/{manifest.version}, "
            f"but lies in {name}/{version}"
        )
    location = layer_location(manifest.name, manifest.version)
    return VersionRecord(manifest.name, manifest.version, manifest, location)
