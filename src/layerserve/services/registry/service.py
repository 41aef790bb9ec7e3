"""The registry facade the API, the CLI's local stack and the upload handler use."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.registry import Alias, Model, ModelVersion
from layerserve.services.registry.aliases import AliasUseCases
from layerserve.services.registry.context import Context, new_id, utc_now
from layerserve.services.registry.models import ModelUseCases
from layerserve.services.registry.ports import ArtifactReader, HistoryPage, RegistryStore
from layerserve.services.registry.uploads import ArtifactUploads
from layerserve.services.registry.versions import VersionUseCases

MAX_HISTORY_PAGE = 100
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,1024}")
"""What a history cursor looks like: URL-safe base64 without padding, as pages hand out."""


@dataclass(frozen=True, slots=True)
class ModelStatus:
    model: Model
    aliases: list[Alias]
    versions: list[ModelVersion]


class RegistryService:
    """Models, versions and aliases over a ``RegistryStore``.

    ``artifacts``/``artifacts_bucket`` enable ``s3://`` locations (verified on
    registration) and upload events; without them only layer paths are accepted.
    """

    def __init__(
        self,
        store: RegistryStore,
        *,
        artifacts: ArtifactReader | None = None,
        artifacts_bucket: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        ids: Callable[[], str] = new_id,
    ) -> None:
        ctx = Context(store, clock, ids)
        self.store = store
        self.artifacts_bucket = artifacts_bucket if artifacts is not None else None
        self.models = ModelUseCases(ctx)
        self.versions = VersionUseCases(ctx, self.models, artifacts, self.artifacts_bucket)
        self.aliases = AliasUseCases(ctx, self.models)
        self.uploads = (
            ArtifactUploads(self.versions, artifacts, artifacts_bucket)
            if artifacts is not None and artifacts_bucket
            else None
        )

    def status(self, model: str) -> ModelStatus:
        return ModelStatus(
            self.models.get(model), self.aliases.all(model), self.versions.all(model)
        )

    def history(self, model: str, limit: int = 50, cursor: str | None = None) -> HistoryPage:
        if not 1 <= limit <= MAX_HISTORY_PAGE:
            raise InvalidInputError(f"limit must be from 1 to {MAX_HISTORY_PAGE}")
        if cursor is not None and not CURSOR.fullmatch(cursor):
            raise InvalidInputError(
                "invalid history cursor: pass the 'next_cursor' of an earlier page unchanged"
            )
        self.models.get(model)
        return self.store.history(model, limit, cursor)
