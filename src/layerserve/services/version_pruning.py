"""Pruning a function's old published versions (each SnapStart version has a cached
snapshot, billed while the version is active).

The plan is pure: keep the ``keep_latest`` newest versions and every version an alias
routes to (its canary too); delete the others, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class FunctionVersions(Protocol):
    def published(self, function: str) -> list[int]:
        """The function's published version numbers (not ``$LATEST``)."""
        ...

    def aliased(self, function: str) -> set[int]:
        """Every version an alias of the function routes to."""
        ...

    def delete(self, function: str, version: int) -> None: ...


@dataclass(frozen=True, slots=True)
class PrunePlan:
    function: str
    delete: tuple[int, ...]
    keep: tuple[int, ...]


def plan_pruning(
    function: str, published: Iterable[int], aliased: Iterable[int], keep_latest: int
) -> PrunePlan:
    if keep_latest < 1:
        raise ValueError("keep at least the newest version")
    versions = sorted(set(published))
    kept = set(versions[-keep_latest:]) | (set(aliased) & set(versions))
    return PrunePlan(
        function,
        delete=tuple(v for v in versions if v not in kept),
        keep=tuple(sorted(kept)),
    )


def prune(
    versions: FunctionVersions, function: str, keep_latest: int, dry_run: bool = False
) -> PrunePlan:
    """Plan from what the function has now, then delete (unless ``dry_run``)."""
    plan = plan_pruning(
        function, versions.published(function), versions.aliased(function), keep_latest
    )
    if not dry_run:
        for version in plan.delete:
            versions.delete(function, version)
    return plan
