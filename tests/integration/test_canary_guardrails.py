"""Guarded canaries end to end: inference handler → log subscription → metrics handler →
rollups → scheduled guardrail handler → registry, all over moto."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from layerserve.domain.errors import RevisionConflictError
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.registry import HistoryAction
from layerserve.domain.rollup import AliasRoute
from layerserve.domain.routing import Route
from layerserve.services.canary.actions import GUARDRAILS_ACTOR, RegistryCanaryActions
from layerserve.services.canary.guardrails import GuardedCanary, run_guardrails
from layerserve.services.metrics.query import route_rollup
from layerserve.services.registry import Promote
from tests.guardrail_support import ALIAS, ME, MODEL, Stack, build_layer, moto_stack

BAKE = timedelta(seconds=60)
PAST_BAKE = BAKE + timedelta(seconds=1)
# Latency of a 4-float identity model on a shared CI machine is scheduling noise: the
# p99 limit is exercised by the unit tests of the guardrail rules, not here.
POLICY = CanaryPolicy(steps=(20, 50, 100), bake_seconds=60, min_samples=20, max_p99_ratio=None)


@pytest.fixture(scope="module")
def score_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(tmp_path_factory.mktemp("score"))


@pytest.fixture
def models_root(score_layer: Path) -> Path:
    return score_layer


@pytest.fixture
def stack(
    monkeypatch: pytest.MonkeyPatch, models_root: Path, inference_environment: None
) -> Iterator[Stack]:
    yield from moto_stack(monkeypatch, models_root)


def routes(*pairs: tuple[str, int]) -> tuple[Route, ...]:
    return tuple(Route(version=v, weight=w) for v, w in pairs)


def test_an_error_spike_is_rolled_back_and_the_history_says_why(stack: Stack) -> None:
    started = stack.canary("3", 25, POLICY)
    stack.drive(160, batches=(1, 3))  # version 3 fails every batch of 1
    result = stack.guardrails()  # no bake needed to roll back
    (outcome,) = result["outcomes"]
    assert outcome["action"] == "rollback" and outcome["error"] is None

    alias = stack.alias()
    assert alias.routes == routes(("1", 100)) and alias.canary is None
    assert alias.revision == started.revision + 1
    entry = stack.history()[0]
    assert (entry.action, entry.actor) == (HistoryAction.ROLLBACK, GUARDRAILS_ACTOR)
    assert entry.reason.startswith("guardrails: error rate ")
    assert "exceeds 2.00%" in entry.reason or "exceeds 1.00%" in entry.reason
    figures = entry.figures
    assert figures is not None and figures == outcome["figures"]
    assert figures["stable_errors"] == 0 and int(str(figures["canary_errors"])) > 0
    # Explainable from storage: the stored rollups of the judged route give the same counts.
    assert figures["judged"] == f"{ALIAS}@{started.revision}"
    route = AliasRoute(ALIAS, started.revision)
    canary = route_rollup(stack.rollups, MODEL, route, "3")
    assert (canary.requests, canary.errors_of(("server", "model"))) == (
        figures["canary_requests"],
        figures["canary_errors"],
    )
    assert canary.errors == {"model": figures["canary_errors"]}
    assert stack.guardrails()["evaluated"] == 0  # nothing left to watch


def test_a_healthy_canary_advances_through_its_steps_to_completion(stack: Stack) -> None:
    first = stack.canary("2", 20, POLICY)
    stack.drive(150)
    baking = stack.guardrails()["outcomes"][0]
    assert baking["action"] == "hold" and baking["reason"].startswith("baking: ")
    assert stack.alias().revision == first.revision

    advanced = stack.guardrails(ahead=PAST_BAKE)["outcomes"][0]
    assert advanced["action"] == "advance", advanced["reason"]
    ramped = stack.alias()
    assert ramped.routes == routes(("1", 50), ("2", 50)) and ramped.revision == first.revision + 1
    assert ramped.canary is not None and first.canary is not None
    assert ramped.canary.policy == POLICY and ramped.canary.step(50) == 2
    assert ramped.canary.step_started_at > first.canary.step_started_at

    stack.drive(60, first=1000)
    completed = stack.guardrails(ahead=PAST_BAKE)["outcomes"][0]
    assert completed["action"] == "complete", completed["reason"]
    done = stack.alias()
    assert done.routes == routes(("2", 100)) and done.canary is None

    history = stack.history()
    assert [(e.action, e.actor) for e in history[:3]] == [
        (HistoryAction.PROMOTE, GUARDRAILS_ACTOR),
        (HistoryAction.CANARY, GUARDRAILS_ACTOR),
        (HistoryAction.CANARY, ME),
    ]
    assert history[1].reason.endswith("advancing to 50 %")
    assert history[0].reason.endswith("promoting 2 to 100 %")
    assert all(e.figures and e.figures["canary_requests"] for e in history[:2])
    assert history[2].figures is None
    assert stack.guardrails(ahead=PAST_BAKE)["evaluated"] == 0


def test_too_few_samples_hold_and_change_nothing(stack: Stack) -> None:
    policy = POLICY.model_copy(update={"min_samples": 50})
    before = stack.canary("2", 10, policy)
    history = stack.history()
    stack.drive(40)
    held = stack.guardrails(ahead=PAST_BAKE * 10)["outcomes"][0]
    assert held["action"] == "hold"
    assert held["reason"].startswith("too few samples: canary ")
    assert "(need 50 each)" in held["reason"]
    assert stack.alias() == before and stack.history() == history


def test_a_canary_whose_outputs_drift_is_rolled_back(stack: Stack) -> None:
    stack.canary("4", 25, POLICY)
    stack.drive(160)
    (outcome,) = stack.guardrails()["outcomes"]
    assert outcome["action"] == "rollback"
    assert outcome["reason"].startswith("output 'y' drifted from stable: PSI ")
    assert outcome["figures"]["psi_y"] > POLICY.max_psi
    assert outcome["figures"]["canary_errors"] == 0
    entry = stack.history()[0]
    assert entry.action is HistoryAction.ROLLBACK and "drifted" in entry.reason
    assert entry.figures is not None and entry.figures["psi_y"] == outcome["figures"]["psi_y"]
    assert stack.alias().routes == routes(("1", 100))


def test_an_alias_moved_meanwhile_is_reported_not_retried(stack: Stack) -> None:
    stack.canary("2", 20, POLICY)
    stack.drive(120)
    actions = RegistryCanaryActions(stack.aws.service)
    (seen,) = actions.canaries()
    stack.aws.service.aliases.promote(MODEL, ALIAS, Promote(version="2"), ME)  # by hand
    moved = stack.alias()
    with pytest.raises(RevisionConflictError, match="moved to revision"):
        actions.rollback(seen.state, "late", {})

    class Stale(RegistryCanaryActions):
        """Hands out what was read before the alias moved."""

        def canaries(self) -> list[GuardedCanary]:
            return [seen]

    now = seen.state.step_started_at + PAST_BAKE
    (outcome,) = run_guardrails(Stale(stack.aws.service), stack.rollups, now)
    assert outcome.decision is not None and outcome.decision.action == "advance"
    assert outcome.error is not None and "left as it is" in outcome.error
    assert stack.alias() == moved
