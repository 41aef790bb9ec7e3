"""Requests to the registry, validated at the edge and used as HTTP bodies as they are."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import ALIAS_PATTERN, DEFAULT_ALIAS, MODEL_PATTERN
from layerserve.domain.routing import TOTAL_WEIGHT, VERSION_PATTERN, Route


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(default="", max_length=1000, description="why: kept in the history")


class CreateModel(_Command):
    name: str = Field(pattern=MODEL_PATTERN)
    default_alias: str = Field(default=DEFAULT_ALIAS, pattern=ALIAS_PATTERN)
    description: str = Field(default="", max_length=1024)


class RegisterVersion(_Command):
    manifest: Manifest
    location: str = Field(
        min_length=1,
        max_length=1024,
        description="layer path like 'models/<name>/<version>' or s3://<artifacts bucket>/<key>",
    )


class SetAlias(_Command):
    """Point an alias at one ``version`` or at weighted ``routes`` (exactly one of them)."""

    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    routes: tuple[Route, ...] | None = None
    expected_revision: int = Field(ge=0, description="the revision read; 0 creates the alias")
    force: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.version is None) == (self.routes is None):
            raise ValueError("give exactly one of 'version' or 'routes'")
        return self

    def target(self) -> tuple[Route, ...]:
        if self.routes is not None:
            return self.routes
        assert self.version is not None
        return (Route(version=self.version, weight=TOTAL_WEIGHT),)


class Promote(_Command):
    version: str = Field(pattern=VERSION_PATTERN)
    expected_revision: int | None = Field(default=None, ge=0)
    force: bool = False


class Canary(_Command):
    version: str = Field(pattern=VERSION_PATTERN)
    weight: int = Field(ge=1, le=TOTAL_WEIGHT - 1)
    expected_revision: int | None = Field(default=None, ge=1)
    force: bool = False
    policy: CanaryPolicy | None = Field(
        default=None, description="guardrails that advance, complete or roll back the canary"
    )


class Rollback(_Command):
    expected_revision: int | None = Field(default=None, ge=1)


class Archive(_Command):
    pass
