"""Rules for moving an alias: promote, canary, rollback, set; each yields the next alias."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import JsonValue

from layerserve.domain.errors import ConflictError, InvalidInputError
from layerserve.domain.registry.canary import CanaryPlan
from layerserve.domain.registry.entities import Alias
from layerserve.domain.routing import TOTAL_WEIGHT, Route, RouteLike, canonical_routes
from layerserve.domain.versions import version_key


def promote_routes(version: str) -> tuple[Route, ...]:
    """All traffic to one version."""
    return canonical_routes([(version, TOTAL_WEIGHT)])


def stable_version(alias: Alias, excluding: str | None = None) -> str | None:
    """The route with the largest weight, other than ``excluding`` (older version on a tie)."""
    others = [route for route in alias.routes if route.version != excluding]
    if not others:
        return None
    top = max(route.weight for route in others)
    return min((r.version for r in others if r.weight == top), key=version_key)


def canary_routes(alias: Alias, version: str, weight: int) -> tuple[Route, ...]:
    """``version`` gets ``weight`` percent; the rest goes to the alias's stable version.

    The stable version is the heaviest route other than ``version``, so a running canary
    can be ramped up (10 → 25 → 50 → 75 %) with the same call.
    """
    if not 1 <= weight < TOTAL_WEIGHT:
        raise InvalidInputError(f"a canary weight must be from 1 to {TOTAL_WEIGHT - 1}")
    stable = stable_version(alias, excluding=version)
    if stable is None:
        raise InvalidInputError(
            f"version '{version}' already takes all traffic of alias '{alias.name}'; "
            "canary a different version"
        )
    return canonical_routes([(stable, TOTAL_WEIGHT - weight), (version, weight)])


def rollback_routes(alias: Alias) -> tuple[Route, ...]:
    """The previous routes; for a guarded canary, all traffic back on its stable version."""
    if alias.canary is not None:
        return promote_routes(alias.canary.stable_version)
    if not alias.previous_routes:
        raise ConflictError(
            f"alias '{alias.name}' of model '{alias.model}' has nothing to roll back to"
        )
    return alias.previous_routes


def next_alias(
    current: Alias | None,
    *,
    model: str,
    name: str,
    routes: Iterable[RouteLike],
    actor: str,
    at: datetime,
    canary: CanaryPlan | None = None,
) -> Alias:
    """The alias after a move: one revision up, the old routes kept as rollback target.

    A guarded canary's plan is carried only by the move that passes it: any other
    move ends the guarded canary.
    """
    return Alias(
        model=model,
        name=name,
        routes=canonical_routes(routes),
        revision=(current.revision if current else 0) + 1,
        previous_routes=current.routes if current else (),
        updated_at=at,
        updated_by=actor,
        canary=canary,
    )


def rolled_back(current: Alias, *, actor: str, at: datetime) -> Alias:
    """The alias back on its rollback routes; the rollback target is used up."""
    return Alias(
        model=current.model,
        name=current.name,
        routes=rollback_routes(current),
        revision=current.revision + 1,
        previous_routes=(),
        updated_at=at,
        updated_by=actor,
    )


def routes_json(routes: Iterable[Route]) -> list[JsonValue]:
    return [[route.version, route.weight] for route in routes]


def describe(alias: Alias | None) -> dict[str, JsonValue] | None:
    """A compact, JSON-ready view of an alias for history rows."""
    if alias is None:
        return None
    described: dict[str, JsonValue] = {
        "revision": alias.revision,
        "routes": routes_json(alias.routes),
        "previous_routes": routes_json(alias.previous_routes),
    }
    if alias.canary is not None:
        described["canary"] = alias.canary.model_dump(mode="json")
    return described
