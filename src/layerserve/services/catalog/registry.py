"""The catalog the inference function uses when a registry is configured.

``{model}`` resolves through the model's default alias, ``{model}/versions/{ref}``
through an alias of that name or else the version itself. Registry reads are cached
for ``ttl_s`` seconds (misses too), so a promote or rollback reaches every warm
execution environment within the TTL, with no redeploy, while DynamoDB sees at most
one read per key per TTL per environment.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from layerserve.domain.errors import (
    ModelNotFoundError,
    ModelNotReadyError,
    NotFoundError,
    VersionNotFoundError,
)
from layerserve.domain.registry import (
    ALIAS_PATTERN,
    MODEL_PATTERN,
    Alias,
    Model,
    ModelVersion,
    VersionStatus,
)
from layerserve.domain.routing import VERSION_PATTERN, canonical_routes, pick_version
from layerserve.services.catalog.ports import Resolution, VersionRecord
from layerserve.services.registry.ports import RegistryReader

T = TypeVar("T")
_MODEL = re.compile(MODEL_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)


class CatalogReader(RegistryReader, Protocol):
    def list_versions(self, model: str) -> list[ModelVersion]: ...


class TtlCache:
    """Values (``None`` included) remembered for ``ttl_s`` seconds of ``clock``."""

    def __init__(
        self, ttl_s: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 4096
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], load: Callable[[], T]) -> T:
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]  # type: ignore[return-value]
        value = load()
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # bounded memory: unknown names cannot grow it forever
            self._entries[key] = (now, value)
        return value


class RegistryCatalog:
    def __init__(
        self,
        reader: CatalogReader,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] | None = None,
    ) -> None:
        self._reader = reader
        self._cache = TtlCache(ttl_s, clock)
        # Its own generator, seeded from the OS when the catalog is made: environments
        # restored from one snapshot build a new catalog, so they never share a sequence.
        self._rand = rand or random.Random().random

    def model_names(self) -> list[str]:
        models = self._cache.get(("models",), self._reader.list_models)
        return sorted(model.name for model in models)

    def versions(self, model: str) -> list[str]:
        self._model(model)
        listed = self._cache.get(("versions", model), lambda: self._reader.list_versions(model))
        return [item.version for item in listed if item.status is VersionStatus.READY]

    def resolve(self, model: str, ref: str | None, routing_key: str | None) -> Resolution:
        found = self._model(model)
        alias = self._alias(model, ref or found.default_alias)
        if alias is not None:
            chosen = pick_version(alias.routes, routing_key, self._rand)
            return Resolution(self._record(model, chosen), alias.name, alias.revision)
        if ref is None:
            raise ModelNotReadyError(
                f"model '{model}' has no '{found.default_alias}' alias yet: "
                "promote a version or name one explicitly"
            )
        return Resolution(self._record(model, ref))

    def default_resolutions(self, model: str) -> list[Resolution]:
        found = self._model(model)
        alias = self._alias(model, found.default_alias)
        if alias is None:
            return [self.resolve(model, None, None)]  # raises: no default alias yet
        return [Resolution(self._record(model, r.version), alias.name) for r in alias.routes]

    def _model(self, name: str) -> Model:
        if not _MODEL.fullmatch(name):
            raise ModelNotFoundError(name)  # never a registry read for a name that cannot exist
        found = self._cache.get(("model", name), lambda: self._reader.get_model(name))
        if found is None:
            raise ModelNotFoundError(name)
        return found

    def _alias(self, model: str, name: str) -> Alias | None:
        if not _ALIAS.fullmatch(name):
            return None

        def load() -> Alias | None:
            alias = self._reader.get_alias(model, name)
            # Canonical once per TTL, so each request only walks the routes.
            return alias and alias.model_copy(update={"routes": canonical_routes(alias.routes)})

        return self._cache.get(("alias", model, name), load)

    def _record(self, model: str, version: str) -> VersionRecord:
        if not _VERSION.fullmatch(version):
            raise VersionNotFoundError(model, version)
        found = self._cache.get(
            ("version", model, version), lambda: self._reader.get_version(model, version)
        )
        if found is None:
            raise VersionNotFoundError(model, version)
        if found.status is not VersionStatus.READY:
            raise NotFoundError(
                f"version '{version}' of model '{model}' is {found.status.value}, not served"
            )
        return VersionRecord(model, version, found.manifest, found.location)
