"""Canary guardrails: a policy, the canary's state, and one pure decision.

``evaluate`` compares the canary version with the stable version over the same window
(since the current step started) using their merged rollups, and says what to do:
``rollback`` when a limit is crossed, ``hold`` while samples are too few or the step is
still baking, ``advance`` to the next step, or ``complete`` when the last step before
100 % has baked. Every decision carries the figures it was made from.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from layerserve.domain.drift import psi
from layerserve.domain.metric_record import ErrorKind
from layerserve.domain.rollup import Rollup

Action = Literal["advance", "rollback", "hold", "complete"]
Figure = float | int | str | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CanaryPolicy(_Frozen):
    """Steps (canary weight in %), bake time per step, minimum samples and limits.

    A limit set to ``None`` is not checked. Error rates count ``error_kinds`` only.
    """

    steps: tuple[int, ...] = (10, 25, 50, 100)
    bake_seconds: int = Field(default=600, ge=0)
    min_samples: int = Field(default=200, ge=1)
    max_error_rate_increase: float | None = Field(default=0.01, ge=0)
    max_error_rate_ratio: float | None = Field(default=None, gt=0)
    max_p99_ratio: float | None = Field(default=1.5, gt=0)
    max_psi: float | None = Field(default=0.25, ge=0)
    error_kinds: tuple[ErrorKind, ...] = ("server", "model")
    latency: Literal["request", "run"] = "request"

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps or any(not 0 < s <= 100 for s in steps):
            raise ValueError("steps must be weights within 1..100")
        if any(a >= b for a, b in pairwise(steps)):
            raise ValueError("steps must increase")
        return steps

    def next_step(self, weight: int) -> int | None:
        """The next weight below 100 after ``weight``, or ``None`` when the next is 100."""
        return next((s for s in self.steps if weight < s < 100), None)


class CanaryState(_Frozen):
    """Where an alias's canary stands: versions, weight and when that weight was set."""

    model: str
    alias: str
    stable_version: str
    canary_version: str
    weight: int = Field(ge=0, le=100)
    step_started_at: AwareDatetime
    revision: int = Field(default=0, ge=0)
    """The alias revision read, for the conditional write that acts on the decision."""


class Decision(_Frozen):
    action: Action
    reason: str
    figures: dict[str, Figure]
    to_weight: int | None = None


def evaluate(
    policy: CanaryPolicy,
    state: CanaryState,
    canary: Rollup,
    stable: Rollup,
    now: datetime,
) -> Decision:
    """Decide from the canary and stable rollups of the window since the step started.

    The windows are the rollups of every minute that ``[state.step_started_at, now]``
    touches; the figures name both ends, so any decision can be recomputed from storage.
    """
    baked = (now - state.step_started_at).total_seconds()
    figures = _base_figures(policy, state, canary, stable, now, baked)
    if canary.requests < policy.min_samples or stable.requests < policy.min_samples:
        reason = (
            f"too few samples: canary {canary.requests}, stable {stable.requests} "
            f"(need {policy.min_samples} each)"
        )
        return Decision(action="hold", reason=reason, figures=figures)
    breaches = _breaches(policy, canary, stable, figures)
    if breaches:
        return Decision(action="rollback", reason="; ".join(breaches), figures=figures)
    if baked < policy.bake_seconds:
        reason = f"baking: {baked:.0f} s of {policy.bake_seconds} s at {state.weight} %"
        return Decision(action="hold", reason=reason, figures=figures)
    healthy = f"healthy for {baked:.0f} s at {state.weight} %"
    following = policy.next_step(state.weight)
    if following is None:
        reason = f"{healthy}: promoting {state.canary_version} to 100 %"
        return Decision(action="complete", reason=reason, figures=figures, to_weight=100)
    reason = f"{healthy}: advancing to {following} %"
    return Decision(action="advance", reason=reason, figures=figures, to_weight=following)


def _base_figures(
    policy: CanaryPolicy,
    state: CanaryState,
    canary: Rollup,
    stable: Rollup,
    now: datetime,
    baked: float,
) -> dict[str, Figure]:
    return {
        "step_started_at": state.step_started_at.isoformat(),
        "evaluated_at": now.isoformat(),
        "weight": state.weight,
        "canary_version": state.canary_version,
        "stable_version": state.stable_version,
        "baked_s": round(baked, 1),
        "canary_requests": canary.requests,
        "stable_requests": stable.requests,
        "min_samples": policy.min_samples,
    }


def _breaches(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: dict[str, Figure]
) -> list[str]:
    return [
        breach
        for check in (_error_rate, _latency, _drift)
        if (breach := check(policy, canary, stable, figures)) is not None
    ]


def _error_rate(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: dict[str, Figure]
) -> str | None:
    canary_errors = canary.errors_of(policy.error_kinds)
    stable_errors = stable.errors_of(policy.error_kinds)
    canary_rate, stable_rate = canary_errors / canary.requests, stable_errors / stable.requests
    increase = canary_rate - stable_rate
    ratio = canary_rate / stable_rate if stable_rate else (None if not canary_rate else "inf")
    figures.update(
        canary_errors=canary_errors,
        stable_errors=stable_errors,
        canary_error_rate=round(canary_rate, 6),
        stable_error_rate=round(stable_rate, 6),
        error_rate_increase=round(increase, 6),
        error_rate_ratio=round(ratio, 4) if isinstance(ratio, float) else ratio,
    )
    rates = f"error rate {canary_rate:.2%} vs stable {stable_rate:.2%}"
    limit = policy.max_error_rate_increase
    if limit is not None and increase > limit:
        return f"{rates}: increase {increase:.2%} exceeds {limit:.2%}"
    limit = policy.max_error_rate_ratio
    if limit is not None and canary_rate > limit * stable_rate:
        return f"{rates}: more than {limit:g}x stable"
    return None


def _latency(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: dict[str, Figure]
) -> str | None:
    canary_sketch, stable_sketch = (
        (canary.latency, stable.latency)
        if policy.latency == "request"
        else (canary.run, stable.run)
    )
    canary_p99, stable_p99 = canary_sketch.quantile(0.99), stable_sketch.quantile(0.99)
    figures.update(latency=policy.latency, canary_p99_ms=canary_p99, stable_p99_ms=stable_p99)
    if canary_p99 is None or stable_p99 is None or stable_p99 <= 0:
        return None
    ratio = canary_p99 / stable_p99
    figures["p99_ratio"] = round(ratio, 4)
    limit = policy.max_p99_ratio
    if limit is not None and ratio > limit:
        return (
            f"p99 {policy.latency} latency {canary_p99:.1f} ms is {ratio:.2f}x stable "
            f"{stable_p99:.1f} ms (limit {limit:g}x)"
        )
    return None


def _drift(
    policy: CanaryPolicy, canary: Rollup, stable: Rollup, figures: dict[str, Figure]
) -> str | None:
    scores = {
        name: score
        for name in sorted(canary.outputs.keys() & stable.outputs.keys())
        if (score := psi(stable.outputs[name], canary.outputs[name])) is not None
    }
    figures.update({f"psi_{name}": round(score, 4) for name, score in scores.items()})
    if not scores or policy.max_psi is None:
        return None
    worst = max(scores, key=scores.__getitem__)
    if scores[worst] > policy.max_psi:
        return f"output '{worst}' drifted from stable: PSI {scores[worst]:.3f} > {policy.max_psi:g}"
    return None
