"""Canary guardrails: a policy, the canary's state, and one pure decision.

``evaluate`` compares the canary version with the stable version over exactly the
traffic the alias routed to each during the current step (the rollups of the alias
route at the alias revision the step began with: ``domain.rollup``), and says what to
do: ``rollback`` when a limit is crossed (``domain.guardrail_checks``), ``hold`` while
samples are too few or the step is still baking, ``advance`` to the next step, or
``complete`` when the last step before 100 % has baked. Requests that named a version
directly, traffic of earlier steps and requests rejected as the caller's fault cannot
move the decision. Every decision carries the figures it was made from.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from layerserve.domain.guardrail_checks import breaches, judged
from layerserve.domain.rollup import AliasRoute, Rollup

Action = Literal["advance", "rollback", "hold", "complete"]
Figure = float | int | str | None
ServiceErrorKind = Literal["server", "model"]
"""Error kinds that can count against a canary; the caller's (``client``) never do."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CanaryPolicy(_Frozen):
    """Steps (canary weight in %), bake time per step, minimum samples and limits.

    A limit set to ``None`` is not checked. Error rates count ``error_kinds`` only,
    over the requests not rejected as the caller's; the rejection rate (the caller's
    errors) is checked only when ``max_rejection_rate_increase`` is set.
    """

    steps: tuple[int, ...] = (10, 25, 50, 100)
    bake_seconds: int = Field(default=600, ge=0)
    min_samples: int = Field(default=200, ge=1)
    max_error_rate_increase: float | None = Field(default=0.01, ge=0)
    max_error_rate_ratio: float | None = Field(default=None, gt=0)
    max_p99_ratio: float | None = Field(default=1.5, gt=0)
    max_psi: float | None = Field(default=0.25, ge=0)
    max_rejection_rate_increase: float | None = Field(default=None, ge=0)
    error_kinds: tuple[ServiceErrorKind, ...] = ("server", "model")
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
    """The alias revision read: the step's traffic is what the alias routed at it, and the
    conditional write that acts on the decision expects it."""

    @property
    def route(self) -> AliasRoute:
        """The alias route whose rollups hold this step's traffic."""
        return AliasRoute(self.alias, self.revision)


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
    """Decide from what ``state.route`` sent to the canary and to the stable version.

    ``canary`` and ``stable`` are the merged rollups of that alias route (every minute of
    it): the step's traffic and nothing else. The figures name the route, so any
    decision can be recomputed from storage. Samples are the requests not rejected as
    the caller's fault.
    """
    baked = (now - state.step_started_at).total_seconds()
    figures = _base_figures(policy, state, canary, stable, now, baked)
    canary_n, stable_n = judged(canary), judged(stable)
    if canary_n < policy.min_samples or stable_n < policy.min_samples:
        reason = (
            f"too few samples: canary {canary_n}, stable {stable_n} "
            f"(need {policy.min_samples} each)"
        )
        return Decision(action="hold", reason=reason, figures=figures)
    found = breaches(policy, canary, stable, figures)
    if found:
        return Decision(action="rollback", reason="; ".join(found), figures=figures)
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
        "judged": str(state.route),
        "canary_requests": canary.requests,
        "stable_requests": stable.requests,
        "canary_rejected": canary.requests - judged(canary),
        "stable_rejected": stable.requests - judged(stable),
        "min_samples": policy.min_samples,
    }
