"""Register what a layer folder holds, so the local stack starts with a working registry.

The versions are registered as a deploy registers the model layer (``read_layer_versions``
then ``sync_layer_versions``: each artifact checked, new models get their default alias
on the highest version). What is the local stack's own is the example canary: with a
canary weight, a new model's highest version is held back from that first sync, so the
default alias lands on the one below it, and then becomes the alias's canary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from layerserve.adapters.model_layer import read_layer_versions
from layerserve.domain.errors import IncompatibleSignatureError, InvalidModelError, NotFoundError
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.routing import Route
from layerserve.domain.versions import latest, version_key
from layerserve.services.catalog import VersionRecord
from layerserve.services.registry import Canary, RegistryService
from layerserve.services.registry.layer_sync import sync_layer_versions

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
    guarded by ``canary_policy`` when one is given. A layer the deploy sync would refuse
    (unreadable manifests, broken artifacts, conflicts) raises ``InvalidModelError``.
    """
    layer = read_layer_versions(models_root)
    held = _canaries(service, layer.intact) if canary_weight is not None else {}
    first = [r for r in layer.intact if held.get(r.model) != r.version]
    then = [r for r in layer.intact if held.get(r.model) == r.version]
    problems = [*layer.problems]
    for records in (first, then):
        problems += sync_layer_versions(service, records, ACTOR).problems
    if problems:
        raise InvalidModelError("the layer cannot be seeded: " + "; ".join(problems))
    seeded = []
    for model, versions in sorted(_versions_by_model(layer.intact).items()):
        if model in held and canary_weight is not None:
            seeded.append(_add_canary(service, model, versions, canary_weight, canary_policy))
        else:
            seeded.append(_current(service, model, versions))
    return seeded


def _versions_by_model(records: Iterable[VersionRecord]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in records:
        found.setdefault(record.model, []).append(record.version)
    return {model: sorted(versions, key=version_key) for model, versions in found.items()}


def _canaries(service: RegistryService, records: list[VersionRecord]) -> dict[str, str]:
    """The highest version of each model that has two or more and no default alias yet."""
    held = {}
    for model, versions in _versions_by_model(records).items():
        found = service.store.get_model(model)
        if found is not None and service.store.get_alias(model, found.default_alias):
            continue  # routed already: the seed leaves existing aliases as they are
        highest = latest(versions)
        if len(versions) > 1 and highest is not None:
            held[model] = highest
    return held


def _current(service: RegistryService, model: str, versions: list[str]) -> SeededModel:
    routes = _routes(service, model)
    second = routes[1] if len(routes) > 1 else None
    return SeededModel(
        model,
        versions,
        routes[0].version if routes else None,
        second.version if second else None,
        second.weight if second else 0,
    )


def _routes(service: RegistryService, model: str) -> list[Route]:
    """The default alias's routes, heaviest first (none when it has no alias)."""
    try:
        alias = service.aliases.get(model, service.models.get(model).default_alias)
    except NotFoundError:
        return []  # no version of it could serve: the sync made no alias
    return sorted(alias.routes, key=lambda route: route.weight, reverse=True)


def _add_canary(
    service: RegistryService,
    model: str,
    versions: list[str],
    canary_weight: int,
    canary_policy: CanaryPolicy | None,
) -> SeededModel:
    routes = _routes(service, model)
    if not routes:
        return _current(service, model, versions)
    alias = service.models.get(model).default_alias
    stable, canary = routes[0].version, versions[-1]
    command = Canary(
        version=canary, weight=canary_weight, policy=canary_policy, reason="local stack seed"
    )
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
