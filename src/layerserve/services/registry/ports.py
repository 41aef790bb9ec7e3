"""Ports of the registry: what the use cases need from storage and from artifact stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from layerserve.domain.registry import Alias, HistoryEntry, Model, ModelVersion


class RegistryReader(Protocol):
    """The read side the inference function resolves models, aliases and versions with."""

    def get_model(self, name: str) -> Model | None: ...

    def get_alias(self, model: str, alias: str) -> Alias | None: ...

    def get_version(self, model: str, version: str) -> ModelVersion | None: ...

    def list_models(self) -> list[Model]: ...


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[HistoryEntry]
    cursor: str | None
    """Pass back to read the next (older) page; ``None`` on the last page."""


class RegistryStore(RegistryReader, Protocol):
    """Reads and atomic, conditional writes; each write appends its history entry.

    Every method raises ``ConflictError`` (``RevisionConflictError`` for aliases) when
    its condition fails, and ``ServiceUnavailableError`` when storage cannot be reached.
    """

    def list_versions(self, model: str) -> list[ModelVersion]: ...

    def list_aliases(self, model: str) -> list[Alias]: ...

    def create_model(self, model: Model, entry: HistoryEntry) -> None:
        """Create ``model``; conflict if it exists."""
        ...

    def put_version(
        self, version: ModelVersion, replaces: ModelVersion | None, entry: HistoryEntry
    ) -> None:
        """Write ``version``; conflict unless the stored one is still ``replaces`` (or absent
        when ``None``) and no alias references it. The model must exist."""
        ...

    def write_alias(self, alias: Alias, current: Alias | None, entry: HistoryEntry) -> None:
        """Replace ``current`` (or create when ``None``) with ``alias``; conflict if the stored
        revision moved on, or if a version it references is missing or not ready."""
        ...

    def history(self, model: str, limit: int, cursor: str | None) -> HistoryPage:
        """History of ``model``, newest first."""
        ...


class ArtifactReader(Protocol):
    """Read access to artifacts in object storage (``s3://`` URIs)."""

    def exists(self, uri: str) -> bool: ...

    def read_bytes(self, uri: str, limit: int) -> bytes:
        """The whole object; ``InvalidInputError`` if larger than ``limit`` bytes."""
        ...

    def verify(self, uri: str, sha256: str, size: int) -> str:
        """Stream-hash the object; the URI of the object version that matched (pinned
        to it when the store keeps versions). ``ArtifactMismatchError`` if missing or
        different."""
        ...
