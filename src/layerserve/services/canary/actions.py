"""The guardrails' ``CanaryActions`` (``canary.guardrails``) over the registry service.

Every move is a conditional write at the revision the guardrails evaluated
(``state.revision``) and records the decision's reason and figures in the history. When
the alias moved meanwhile, the move raises ``RevisionConflictError`` and the run reports
it; the next scheduled run evaluates the alias as it is then.
"""

from __future__ import annotations

from typing import Final

from layerserve.domain.errors import RevisionConflictError
from layerserve.domain.guardrails import CanaryState, Figure
from layerserve.domain.registry import Alias, CanaryPlan
from layerserve.services.canary.guardrails import GuardedCanary
from layerserve.services.registry import Canary, Promote, RegistryService, Rollback

GUARDRAILS_ACTOR: Final = "layerserve-guardrails"
MAX_REASON: Final = 1000


class RegistryCanaryActions:
    """``CanaryActions`` that move aliases through ``RegistryService`` as ``actor``."""

    def __init__(self, service: RegistryService, actor: str = GUARDRAILS_ACTOR) -> None:
        self._service = service
        self._actor = actor

    def canaries(self) -> list[GuardedCanary]:
        """Every alias of every model whose canary carries a policy."""
        found = []
        for model in self._service.models.all():
            for alias in self._service.aliases.all(model.name):
                state = alias.canary_state()
                if state is not None and alias.canary is not None:
                    found.append(GuardedCanary(alias.canary.policy, state))
        return found

    def advance(
        self, state: CanaryState, to_weight: int, reason: str, figures: dict[str, Figure]
    ) -> None:
        plan = self._plan(state)
        command = Canary(
            version=state.canary_version,
            weight=to_weight,
            expected_revision=state.revision,
            policy=plan.policy,
            reason=_reason(reason),
        )
        self._service.aliases.canary(
            state.model, state.alias, command, self._actor, figures=figures
        )

    def complete(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self._plan(state)
        command = Promote(
            version=state.canary_version, expected_revision=state.revision, reason=_reason(reason)
        )
        self._service.aliases.promote(
            state.model, state.alias, command, self._actor, figures=figures
        )

    def rollback(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self._plan(state)
        command = Rollback(expected_revision=state.revision, reason=_reason(reason))
        self._service.aliases.rollback(
            state.model, state.alias, command, self._actor, figures=figures
        )

    def _plan(self, state: CanaryState) -> CanaryPlan:
        """The alias's plan, if the alias is still where the guardrails saw it."""
        alias = self._service.aliases.get(state.model, state.alias)
        if alias.revision != state.revision or alias.canary_state() != state:
            raise _moved(state, alias)
        assert alias.canary is not None  # a canary state implies a plan
        return alias.canary


def _moved(state: CanaryState, alias: Alias) -> RevisionConflictError:
    return RevisionConflictError(
        f"alias '{state.alias}' of model '{state.model}' moved to revision {alias.revision} "
        f"since revision {state.revision} was evaluated; left as it is",
        alias.revision,
    )


def _reason(reason: str) -> str:
    text = f"guardrails: {reason}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
