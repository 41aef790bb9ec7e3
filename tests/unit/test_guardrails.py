"""Canary guardrails: decisions from rollups, and the scheduled run acting on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from layerserve.domain.errors import ConflictError
from layerserve.domain.guardrails import CanaryPolicy, CanaryState, Decision, Figure, evaluate
from layerserve.domain.metric_record import ErrorKind
from layerserve.services.canary.guardrails import GuardedCanary, run_guardrails
from layerserve.services.metrics.aggregation import fold_events
from layerserve.services.metrics.query import route_rollup
from tests.metric_factories import T0, InMemoryRollups, log_events, traffic

POLICY = CanaryPolicy(steps=(10, 25, 50, 100), bake_seconds=600, min_samples=200)
BAKE = timedelta(seconds=600)


def state(weight: int = 10, started: datetime = T0, model: str = "iris") -> CanaryState:
    return CanaryState(
        model=model,
        alias="production",
        stable_version="1",
        canary_version="2",
        weight=weight,
        step_started_at=started,
        revision=3,
    )


def serve(
    store: InMemoryRollups,
    start: datetime,
    *,
    canary: int = 300,
    stable: int = 1000,
    canary_errors: int = 0,
    canary_latency: float = 5.0,
    canary_shift: float = 0.0,
    seed: int = 0,
    revision: int | None = 3,
    canary_error_kind: ErrorKind = "server",
) -> None:
    """Ten minutes of traffic from ``start`` that revision ``revision`` of the alias routed
    (``None``: requests naming the version): stable healthy, canary as configured."""
    start_ms = int(start.timestamp() * 1000)
    window_ms = int(BAKE.total_seconds() * 1000)
    stable_lines = traffic(
        "1",
        stable,
        start_ms=start_ms,
        spacing_ms=window_ms // stable,
        seed=seed,
        alias_revision=revision,
    )
    canary_lines = traffic(
        "2",
        canary,
        start_ms=start_ms,
        spacing_ms=window_ms // canary,
        error_every=canary_errors,
        error_kind=canary_error_kind,
        latency_ms=canary_latency,
        output_shift=canary_shift,
        seed=seed + 1,
        alias_revision=revision,
    )
    fold_events(log_events(stable_lines + canary_lines, prefix=f"{start_ms}-{seed}-"), store)


def decide(
    store: InMemoryRollups,
    canary_state: CanaryState,
    now: datetime,
    policy: CanaryPolicy = POLICY,
) -> Decision:
    route = canary_state.route
    return evaluate(
        policy,
        canary_state,
        route_rollup(store, "iris", route, "2"),
        route_rollup(store, "iris", route, "1"),
        now,
    )


def test_too_few_samples_means_no_decision() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary=50, canary_errors=2)
    decision = decide(store, state(), T0 + BAKE)
    assert decision.action == "hold"
    assert "too few samples: canary 50" in decision.reason


def test_error_spike_rolls_back_and_says_why() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary_errors=5)
    decision = decide(store, state(), T0 + timedelta(minutes=3))
    assert decision.action == "rollback"
    assert decision.reason.startswith("error rate 20.00% vs stable 0.00%: increase 20.00%")
    assert decision.figures["canary_error_rate"] == pytest.approx(0.2)
    assert decision.figures["stable_error_rate"] == 0
    assert decision.figures["canary_requests"] == 300


def test_latency_regression_rolls_back() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary_latency=12.0)
    decision = decide(store, state(), T0 + BAKE)
    assert decision.action == "rollback"
    assert "p99 request latency" in decision.reason
    ratio = decision.figures["p99_ratio"]
    assert isinstance(ratio, float) and 2.0 < ratio < 3.0


def test_shifted_outputs_are_detected_as_drift() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary_shift=1.0)
    decision = decide(store, state(), T0 + BAKE)
    assert decision.action == "rollback"
    assert "output 'y' drifted from stable: PSI" in decision.reason
    assert float(decision.figures["psi_y"] or 0) > 0.25


def test_healthy_canary_holds_while_baking() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary=600)
    decision = decide(store, state(), T0 + timedelta(seconds=300))
    assert decision.action == "hold"
    assert decision.reason == "baking: 300 s of 600 s at 10 %"
    assert float(decision.figures["psi_y"] or 1) < 0.1


class RegistryDouble:
    """Canary actions that move the alias like the registry would, and remember why."""

    def __init__(self, canaries: list[GuardedCanary], now: datetime) -> None:
        self.active = {c.state.model: c for c in canaries}
        self.now = now
        self.history: list[tuple[str, str, int | None, str, dict[str, Figure]]] = []
        self.conflict_on: set[str] = set()

    def canaries(self) -> Sequence[GuardedCanary]:
        return list(self.active.values())

    def advance(
        self, state: CanaryState, to_weight: int, reason: str, figures: dict[str, Figure]
    ) -> None:
        self._check(state)
        moved = state.model_copy(
            update={
                "weight": to_weight,
                "step_started_at": self.now,
                "revision": state.revision + 1,
            }
        )
        self.active[state.model] = GuardedCanary(self.active[state.model].policy, moved)
        self.history.append((state.model, "advance", to_weight, reason, figures))

    def complete(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self._check(state)
        del self.active[state.model]
        self.history.append((state.model, "complete", 100, reason, figures))

    def rollback(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self._check(state)
        del self.active[state.model]
        self.history.append((state.model, "rollback", None, reason, figures))

    def _check(self, state: CanaryState) -> None:
        if state.model in self.conflict_on:
            raise ConflictError(f"alias 'production' of model '{state.model}' moved")


def test_healthy_canary_advances_through_its_steps_to_completion() -> None:
    store = InMemoryRollups()
    registry = RegistryDouble([GuardedCanary(POLICY, state())], T0)
    start = T0
    for round_number in range(3):
        serve(store, start, seed=round_number, revision=3 + round_number)
        registry.now = start + BAKE
        outcomes = run_guardrails(registry, store, registry.now)
        assert [o.acted for o in outcomes] == [True]
        start = registry.now
    assert [(action, weight) for _, action, weight, _, _ in registry.history] == [
        ("advance", 25),
        ("advance", 50),
        ("complete", 100),
    ]
    assert registry.history[0][3] == "healthy for 600 s at 10 %: advancing to 25 %"
    assert registry.history[2][3] == "healthy for 600 s at 50 %: promoting 2 to 100 %"
    assert registry.canaries() == []


def test_scheduled_run_rolls_back_a_bad_canary_and_records_the_figures() -> None:
    store = InMemoryRollups()
    registry = RegistryDouble([GuardedCanary(POLICY, state())], T0 + BAKE)
    serve(store, T0, canary_errors=4)
    (outcome,) = run_guardrails(registry, store, T0 + BAKE)
    assert outcome.acted and outcome.decision is not None
    ((_, action, _, reason, figures),) = registry.history
    assert action == "rollback"
    assert "error rate 25.00% vs stable 0.00%" in reason
    assert figures["canary_errors"] == 75 and figures["stable_errors"] == 0


def test_one_failing_canary_does_not_stop_the_others() -> None:
    store = InMemoryRollups()
    serve(store, T0, canary_errors=4)
    canaries = [GuardedCanary(POLICY, state()), GuardedCanary(POLICY, state(model="other"))]
    registry = RegistryDouble(canaries, T0 + BAKE)
    registry.conflict_on = {"iris"}
    first, second = run_guardrails(registry, store, T0 + BAKE)
    assert first.error == "alias 'production' of model 'iris' moved" and not first.acted
    assert second.decision is not None and second.decision.action == "hold"


@pytest.mark.parametrize("steps", [(), (10, 10), (50, 25), (0, 50), (10, 150)])
def test_policy_steps_must_be_increasing_weights(steps: tuple[int, ...]) -> None:
    with pytest.raises(ValidationError):
        CanaryPolicy(steps=steps)


def test_next_step_stops_before_full_traffic() -> None:
    assert POLICY.next_step(10) == 25
    assert POLICY.next_step(50) is None
    assert CanaryPolicy(steps=(5, 20)).next_step(20) is None
