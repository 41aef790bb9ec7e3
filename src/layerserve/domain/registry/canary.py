"""A canary under guardrails: the policy an alias's canary carries and where it stands.

The plan lives on the alias (``Alias.canary``). Its weight is the canary version's route
weight, so the step follows from the routes; the plan adds what the routes cannot say:
the policy, the stable version to compare with (and to fall back to), and when the
current step started. Any move of the alias other than a guarded canary clears it.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from layerserve.domain.guardrails import CanaryPolicy, CanaryState
from layerserve.domain.routing import VERSION_PATTERN, Route


class CanaryPlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=VERSION_PATTERN)
    stable_version: str = Field(pattern=VERSION_PATTERN)
    policy: CanaryPolicy
    step_started_at: AwareDatetime

    def weight(self, routes: tuple[Route, ...]) -> int | None:
        """The canary's share of ``routes`` (``None`` when it has no route)."""
        return next((r.weight for r in routes if r.version == self.version), None)

    def step(self, weight: int) -> int:
        """1-based position of ``weight`` among the policy's steps (0 below the first)."""
        return sum(1 for step in self.policy.steps if step <= weight)


def canary_state(
    model: str, alias: str, routes: tuple[Route, ...], revision: int, plan: CanaryPlan
) -> CanaryState | None:
    """What the guardrails evaluate; ``None`` when the plan no longer matches the routes."""
    weight = plan.weight(routes)
    if weight is None or not any(r.version == plan.stable_version for r in routes):
        return None
    return CanaryState(
        model=model,
        alias=alias,
        stable_version=plan.stable_version,
        canary_version=plan.version,
        weight=weight,
        step_started_at=plan.step_started_at,
        revision=revision,
    )
