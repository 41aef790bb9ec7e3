"""The scheduled guardrail run: evaluate every canary and act through the registry port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from layerserve.domain.errors import LayerserveError
from layerserve.domain.guardrails import CanaryPolicy, CanaryState, Decision, Figure, evaluate
from layerserve.services.metrics.aggregation import RollupReader
from layerserve.services.metrics.query import route_rollup


@dataclass(frozen=True, slots=True)
class GuardedCanary:
    policy: CanaryPolicy
    state: CanaryState


class CanaryActions(Protocol):
    """What the guardrails need from the registry.

    Each move is a conditional write against ``state.revision`` and records ``reason``
    and ``figures`` in the alias history; a moved alias raises ``ConflictError``.
    """

    def canaries(self) -> Sequence[GuardedCanary]:
        """Every alias that has a canary with a policy."""
        ...

    def advance(
        self, state: CanaryState, to_weight: int, reason: str, figures: dict[str, Figure]
    ) -> None:
        """Give the canary ``to_weight`` percent (below 100) of the alias's traffic."""
        ...

    def complete(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        """Send all of the alias's traffic to the canary version."""
        ...

    def rollback(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        """Send all of the alias's traffic back to the stable version."""
        ...


@dataclass(frozen=True, slots=True)
class GuardrailOutcome:
    state: CanaryState
    decision: Decision | None
    error: str | None = None

    @property
    def acted(self) -> bool:
        return self.error is None and self.decision is not None and self.decision.action != "hold"


def run_guardrails(
    actions: CanaryActions, rollups: RollupReader, now: datetime
) -> list[GuardrailOutcome]:
    """Evaluate each canary on what its alias routed since its step started, then act.

    One canary failing (storage, a concurrent alias move) does not stop the others.
    """
    return [_guard(actions, rollups, canary, now) for canary in actions.canaries()]


def _guard(
    actions: CanaryActions, rollups: RollupReader, canary: GuardedCanary, now: datetime
) -> GuardrailOutcome:
    state = canary.state
    decision: Decision | None = None
    try:
        canary_step = route_rollup(rollups, state.model, state.route, state.canary_version)
        stable_step = route_rollup(rollups, state.model, state.route, state.stable_version)
        decision = evaluate(canary.policy, state, canary_step, stable_step, now)
        _act(actions, state, decision)
    except LayerserveError as exc:
        return GuardrailOutcome(state=state, decision=decision, error=exc.message)
    return GuardrailOutcome(state=state, decision=decision)


def _act(actions: CanaryActions, state: CanaryState, decision: Decision) -> None:
    if decision.action == "rollback":
        actions.rollback(state, decision.reason, decision.figures)
    elif decision.action == "complete":
        actions.complete(state, decision.reason, decision.figures)
    elif decision.action == "advance" and decision.to_weight is not None:
        actions.advance(state, decision.to_weight, decision.reason, decision.figures)
