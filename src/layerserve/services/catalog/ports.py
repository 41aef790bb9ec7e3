"""Which model versions exist and which one serves a request: the catalog port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from layerserve.domain.manifest import Manifest


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """An immutable, servable version and where its compressed artifact lives.

    ``location`` is either a layer path, ``models/<name>/<version>``
    (``domain.layout.layer_location``: a folder under the models root, ``/opt/models`` in
    Lambda), or an ``s3://bucket/key`` URI of the ``.onnx.zst`` file.
    """

    model: str
    version: str
    manifest: Manifest
    location: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of resolving ``{model}[/versions/{ref}]`` for one request."""

    record: VersionRecord
    alias: str | None = None
    alias_revision: int | None = None
    """The alias's revision that chose the version: one canary step of that alias."""


class ModelCatalog(Protocol):
    """Read side used by the inference function (static layers or the registry)."""

    def model_names(self) -> list[str]:
        """Every model that has at least one servable version."""
        ...

    def versions(self, model: str) -> list[str]:
        """Servable versions of ``model``; raises ``ModelNotFoundError``."""
        ...

    def resolve(self, model: str, ref: str | None, routing_key: str | None) -> Resolution:
        """Pin a request to one version; ``ref`` is a version, an alias or ``None``."""
        ...

    def default_resolutions(self, model: str) -> list[Resolution]:
        """Every version a request for ``model`` (no version named) may be pinned to."""
        ...
