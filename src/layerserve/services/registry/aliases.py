"""Use cases on aliases: set, promote, canary, rollback — each one conditional write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from layerserve.domain.errors import (
    ConflictError,
    IncompatibleSignatureError,
    InvalidInputError,
    NotFoundError,
    RevisionConflictError,
    VersionNotFoundError,
)
from layerserve.domain.guardrails import Figure
from layerserve.domain.registry import (
    Alias,
    CanaryPlan,
    HistoryAction,
    ModelVersion,
    VersionStatus,
    canary_routes,
    describe,
    next_alias,
    promote_routes,
    rolled_back,
    signature_conflicts,
)
from layerserve.domain.routing import Route
from layerserve.services.registry.commands import Canary, Promote, Rollback, SetAlias
from layerserve.services.registry.context import Context, check_alias_name
from layerserve.services.registry.models import ModelUseCases

Figures = dict[str, Figure] | None


@dataclass(frozen=True, slots=True)
class _Change:
    """How an alias moves: the history action, who and why, and what the move carries."""

    action: HistoryAction
    reason: str
    actor: str
    force: bool = False
    canary: CanaryPlan | None = None
    figures: Figures = None
    at: datetime | None = None


class AliasNotFoundError(NotFoundError):
    def __init__(self, model: str, alias: str) -> None:
        super().__init__(f"alias '{alias}' of model '{model}' not found")


class AliasUseCases:
    def __init__(self, ctx: Context, models: ModelUseCases) -> None:
        self._ctx = ctx
        self._models = models

    def get(self, model: str, alias: str) -> Alias:
        self._models.get(model)
        found = self._ctx.store.get_alias(model, check_alias_name(alias))
        if found is None:
            raise AliasNotFoundError(model, alias)
        return found

    def all(self, model: str) -> list[Alias]:
        self._models.get(model)
        return sorted(self._ctx.store.list_aliases(model), key=lambda alias: alias.name)

    def set(self, model: str, alias: str, cmd: SetAlias, actor: str) -> Alias:
        current = self._current(model, alias, cmd.expected_revision)
        change = _Change(HistoryAction.SET_ALIAS, cmd.reason, actor, cmd.force)
        return self._move(model, alias, current, cmd.target(), change)

    def promote(
        self, model: str, alias: str, cmd: Promote, actor: str, *, figures: Figures = None
    ) -> Alias:
        current = self._current(model, alias, cmd.expected_revision)
        change = _Change(HistoryAction.PROMOTE, cmd.reason, actor, cmd.force, figures=figures)
        return self._move(model, alias, current, promote_routes(cmd.version), change)

    def canary(
        self, model: str, alias: str, cmd: Canary, actor: str, *, figures: Figures = None
    ) -> Alias:
        """Split off ``cmd.weight`` percent; with ``cmd.policy`` the guardrails take over."""
        current = self._existing(model, alias, cmd.expected_revision)
        routes = canary_routes(current, cmd.version, cmd.weight)
        at = self._ctx.clock()
        plan = None
        if cmd.policy is not None:
            stable = next(route.version for route in routes if route.version != cmd.version)
            plan = CanaryPlan(
                version=cmd.version, stable_version=stable, policy=cmd.policy, step_started_at=at
            )
        change = _Change(HistoryAction.CANARY, cmd.reason, actor, cmd.force, plan, figures, at)
        return self._move(model, alias, current, routes, change)

    def rollback(
        self, model: str, alias: str, cmd: Rollback, actor: str, *, figures: Figures = None
    ) -> Alias:
        """Back to the previous routes; a guarded canary goes back to its stable version."""
        current = self._existing(model, alias, cmd.expected_revision)
        moved = rolled_back(current, actor=actor, at=self._ctx.clock())
        change = _Change(HistoryAction.ROLLBACK, cmd.reason, actor, figures=figures)
        return self._write(current, moved, change)

    def _current(self, model: str, alias: str, expected: int | None) -> Alias | None:
        self._models.get(model)
        current = self._ctx.store.get_alias(model, check_alias_name(alias))
        actual = current.revision if current else 0
        if expected is not None and expected != actual:
            raise RevisionConflictError(
                f"alias '{alias}' of model '{model}' is at revision {actual}, not {expected}",
                actual,
            )
        return current

    def _existing(self, model: str, alias: str, expected: int | None) -> Alias:
        current = self._current(model, alias, expected)
        if current is None:
            raise AliasNotFoundError(model, alias)
        return current

    def _move(
        self,
        model: str,
        alias: str,
        current: Alias | None,
        routes: Iterable[Route],
        change: _Change,
    ) -> Alias:
        at = change.at or self._ctx.clock()
        moved = next_alias(
            current,
            model=model,
            name=alias,
            routes=routes,
            actor=change.actor,
            at=at,
            canary=change.canary,
        )
        targets = [self._ready(model, version) for version in sorted(moved.versions())]
        if current is None and self._ctx.store.get_version(model, alias) is not None:
            raise InvalidInputError(f"alias '{alias}' would hide version '{alias}' of '{model}'")
        if current is not None and not change.force:
            self._check_compatible(current, targets)
        return self._write(current, moved, change)

    def _write(self, current: Alias | None, moved: Alias, change: _Change) -> Alias:
        entry = self._ctx.entry(
            moved.model,
            change.actor,
            change.action,
            f"alias {moved.name}",
            before=describe(current),
            after=describe(moved),
            reason=change.reason,
            figures=change.figures,
        )
        self._ctx.store.write_alias(moved, current, entry)
        return moved

    def _ready(self, model: str, version: str) -> ModelVersion:
        found = self._ctx.store.get_version(model, version)
        if found is None:
            raise VersionNotFoundError(model, version)
        if found.status is not VersionStatus.READY:
            raise ConflictError(
                f"version '{version}' of model '{model}' is {found.status.value}, not ready"
            )
        return found

    def _check_compatible(self, current: Alias, targets: list[ModelVersion]) -> None:
        serving = [
            self._ctx.store.get_version(current.model, v) for v in sorted(current.versions())
        ]
        for target in targets:
            if target.version in current.versions():
                continue
            for old in (version for version in serving if version is not None):
                problems = signature_conflicts(old.manifest.signature, target.manifest.signature)
                if problems:
                    raise IncompatibleSignatureError(
                        f"version '{target.version}' of model '{current.model}' is incompatible "
                        f"with version '{old.version}' served by alias '{current.name}': "
                        f"{'; '.join(problems)}; pass force=true to move anyway"
                    )
