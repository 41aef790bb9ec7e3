"""Register what a layer folder holds, so the local stack starts with a working registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from layerserve.domain.errors import IncompatibleSignatureError, NotFoundError
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.layout import MANIFEST_FILE, layer_location
from layerserve.domain.manifest import Manifest
from layerserve.domain.versions import version_key
from layerserve.services.registry import Canary, Promote, RegisterVersion, RegistryService

ACTOR = "layerserve-dev"


@dataclass(frozen=True, slots=True)
class SeededModel:
    name: str
    versions: list[str]
    stable: str | None
    canary: str | None
    canary_weight: int
    warning: str | None = None
    """Why the requested canary was not set up, when it was not."""


def seed_registry(
    service: RegistryService,
    models_root: Path,
    canary_weight: int | None = None,
    canary_policy: CanaryPolicy | None = None,
) -> list[SeededModel]:
    """Register every layer version; a model without its default alias gets one.

    The highest version becomes the default alias's target, or, with ``canary_weight``
    and two versions or more, the second highest does and the highest is its canary,
    guarded by ``canary_policy`` when one is given.
    """
    seeded = []
    for model_dir in sorted(path for path in models_root.iterdir() if path.is_dir()):
        versions = _register_all(service, model_dir)
        if versions:
            seeded.append(_route(service, model_dir.name, versions, canary_weight, canary_policy))
    return seeded


def _register_all(service: RegistryService, model_dir: Path) -> list[str]:
    versions = []
    for manifest_path in sorted(model_dir.glob(f"*/{MANIFEST_FILE}")):
        manifest = Manifest.from_json(manifest_path.read_bytes())
        location = layer_location(manifest.name, manifest.version)
        command = RegisterVersion(manifest=manifest, location=location, reason="local stack seed")
        service.versions.register(manifest.name, command, ACTOR)
        versions.append(manifest.version)
    return sorted(versions, key=version_key)


def _route(
    service: RegistryService,
    model: str,
    versions: list[str],
    canary_weight: int | None,
    canary_policy: CanaryPolicy | None,
) -> SeededModel:
    alias = service.models.get(model).default_alias
    try:
        current = service.aliases.get(model, alias)
    except NotFoundError:
        return _create_alias(service, model, alias, versions, canary_weight, canary_policy)
    routes = sorted(current.routes, key=lambda route: route.weight, reverse=True)
    second = routes[1] if len(routes) > 1 else None
    return SeededModel(
        model,
        versions,
        routes[0].version,
        second.version if second else None,
        second.weight if second else 0,
    )


def _create_alias(
    service: RegistryService,
    model: str,
    alias: str,
    versions: list[str],
    canary_weight: int | None,
    canary_policy: CanaryPolicy | None,
) -> SeededModel:
    reason = "local stack seed"
    if canary_weight is None or len(versions) < 2:
        service.aliases.promote(model, alias, Promote(version=versions[-1], reason=reason), ACTOR)
        return SeededModel(model, versions, versions[-1], None, 0)
    stable, canary = versions[-2], versions[-1]
    service.aliases.promote(model, alias, Promote(version=stable, reason=reason), ACTOR)
    command = Canary(version=canary, weight=canary_weight, policy=canary_policy, reason=reason)
    try:
        service.aliases.canary(model, alias, command, ACTOR)
    except IncompatibleSignatureError:
        warning = (
            f"no canary for {model}: version {canary}'s inputs or outputs differ from "
            f"version {stable}'s, so {alias} stays on {stable} "
            f"(version {canary} answers at /v2/models/{model}/versions/{canary})"
        )
        return SeededModel(model, versions, stable, None, 0, warning)
    return SeededModel(model, versions, stable, canary, canary_weight)
