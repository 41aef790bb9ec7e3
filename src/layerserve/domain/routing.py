"""Routes of an alias and the weighted choice of one version per request.

An alias resolves to ``(version, weight)`` routes whose integer weights sum to 100.
With a routing key the choice is sticky: the key's blake2b hash (stable across
processes, unlike ``hash()``) is mapped to a point in ``[0, 100)`` and walked along
the cumulative weights in canonical (natural version) order. Without a key the
point comes from ``rand()``. Raising a canary's weight only moves keys onto it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from layerserve.domain.errors import InvalidInputError
from layerserve.domain.versions import version_key

TOTAL_WEIGHT: Final = 100
MAX_ROUTES: Final = 10
VERSION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_HASH_SPAN: Final = float(1 << 64)


class Route(BaseModel):
    """One target of an alias: a version and its share of traffic in percent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=VERSION_PATTERN)
    weight: int = Field(ge=1, le=TOTAL_WEIGHT)


RouteLike = Route | tuple[str, int]


def _pairs(routes: Iterable[RouteLike]) -> list[tuple[str, int]]:
    return [(r.version, r.weight) if isinstance(r, Route) else (r[0], r[1]) for r in routes]


def canonical_routes(routes: Iterable[RouteLike]) -> tuple[Route, ...]:
    """Validated routes in natural version order: unique versions, weights summing to 100."""
    pairs = sorted(_pairs(routes), key=lambda pair: version_key(pair[0]))
    if not 1 <= len(pairs) <= MAX_ROUTES:
        raise InvalidInputError(f"an alias needs from 1 to {MAX_ROUTES} routes")
    versions = [version for version, _ in pairs]
    if len(set(versions)) != len(versions):
        raise InvalidInputError(f"each version may appear once in the routes, got {versions}")
    if any(not 1 <= weight <= TOTAL_WEIGHT for _, weight in pairs):
        raise InvalidInputError(f"route weights must be integers from 1 to {TOTAL_WEIGHT}")
    total = sum(weight for _, weight in pairs)
    if total != TOTAL_WEIGHT:
        raise InvalidInputError(f"route weights must sum to {TOTAL_WEIGHT}, got {total}")
    return tuple(Route(version=v, weight=w) for v, w in pairs)


def routing_point(routing_key: str) -> float:
    """A stable point in ``[0, 100)`` for a routing key."""
    digest = hashlib.blake2b(routing_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _HASH_SPAN * TOTAL_WEIGHT


def choose_version(
    routes: Iterable[RouteLike], routing_key: str | None, rand: Callable[[], float]
) -> str:
    """Pick one version: sticky per ``routing_key`` when given, else by ``rand()`` in [0, 1)."""
    return pick_version(canonical_routes(routes), routing_key, rand)


def pick_version(
    ordered: Sequence[Route], routing_key: str | None, rand: Callable[[], float]
) -> str:
    """``choose_version`` over routes already in canonical form (validated once, cached)."""
    if routing_key is None:
        point = min(max(rand(), 0.0), 1.0) * TOTAL_WEIGHT
    else:
        point = routing_point(routing_key)
    cumulative = 0
    for route in ordered:
        cumulative += route.weight
        if point < cumulative:
            return route.version
    return ordered[-1].version
