"""What the registry stores: models, versions, aliases and history entries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from layerserve.domain.guardrails import CanaryState, Figure
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry.canary import CanaryPlan, canary_state
from layerserve.domain.registry.locations import same_location
from layerserve.domain.routing import VERSION_PATTERN, Route

MODEL_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
ALIAS_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
DEFAULT_ALIAS: Final = "production"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VersionStatus(StrEnum):
    """Lifecycle: ``registered`` → ``ready`` | ``failed``; ``ready`` | ``failed`` → ``archived``.

    ``registered`` means the manifest is known but the artifact is not verified yet;
    a ``registered`` or ``failed`` version may be registered again (it never served).
    """

    REGISTERED = "registered"
    READY = "ready"
    FAILED = "failed"
    ARCHIVED = "archived"

    @property
    def replaceable(self) -> bool:
        return self in (VersionStatus.REGISTERED, VersionStatus.FAILED)


class Model(_Frozen):
    name: str = Field(pattern=MODEL_PATTERN)
    default_alias: str = Field(default=DEFAULT_ALIAS, pattern=ALIAS_PATTERN)
    description: str = Field(default="", max_length=1024)
    created_at: datetime
    created_by: str


class ModelVersion(_Frozen):
    """An immutable artifact of a model plus its mutable status.

    ``location`` is a layer path relative to the layer root (``models/<name>/<version>``,
    found under ``/opt`` in Lambda) or an ``s3://bucket/key`` URI of the compressed file.
    ``aliases`` names every alias whose routes or rollback target use this version.
    """

    model: str = Field(pattern=MODEL_PATTERN)
    version: str = Field(pattern=VERSION_PATTERN)
    status: VersionStatus
    location: str
    manifest: Manifest
    created_at: datetime
    created_by: str
    updated_at: datetime
    status_reason: str = ""
    aliases: tuple[str, ...] = ()

    def same_artifact(self, manifest: Manifest, location: str) -> bool:
        return (
            same_location(self.location, location)
            and self.manifest.artifact.sha256 == manifest.artifact.sha256
            and self.manifest.onnx.sha256 == manifest.onnx.sha256
        )


class Alias(_Frozen):
    """A named pointer to weighted routes; ``previous_routes`` is the rollback target.

    ``canary`` is set while a canary runs under a guardrail policy.
    """

    model: str = Field(pattern=MODEL_PATTERN)
    name: str = Field(pattern=ALIAS_PATTERN)
    routes: tuple[Route, ...]
    revision: int = Field(ge=1)
    previous_routes: tuple[Route, ...] = ()
    updated_at: datetime
    updated_by: str
    canary: CanaryPlan | None = None

    def versions(self) -> frozenset[str]:
        return frozenset(route.version for route in self.routes)

    def referenced(self) -> frozenset[str]:
        """Versions that must stay ready: current routes and the rollback target."""
        return self.versions() | {route.version for route in self.previous_routes}

    def pairs(self) -> list[tuple[str, int]]:
        return [(route.version, route.weight) for route in self.routes]

    def canary_state(self) -> CanaryState | None:
        """The guarded canary as the guardrails see it, or ``None`` without one."""
        if self.canary is None:
            return None
        return canary_state(self.model, self.name, self.routes, self.revision, self.canary)


class HistoryAction(StrEnum):
    CREATE_MODEL = "create_model"
    REGISTER = "register"
    FAIL = "fail"
    ARCHIVE = "archive"
    SET_ALIAS = "set_alias"
    PROMOTE = "promote"
    CANARY = "canary"
    ROLLBACK = "rollback"


class HistoryEntry(_Frozen):
    """One append-only record: who did what to which target, from what, and why."""

    model: str
    id: str
    at: datetime
    actor: str
    action: HistoryAction
    target: str
    before: dict[str, JsonValue] | None = None
    after: dict[str, JsonValue] | None = None
    reason: str = ""
    figures: dict[str, Figure] | None = None
    """The measurements an automatic decision was made from."""
