"""Guarded canaries on the alias, durations, policy options, sparklines, the local report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from layerserve.adapters.dynamodb_registry import items
from layerserve.cli.registry.charts import minute_columns, p99_line, requests_line, sparkline
from layerserve.cli.registry.policy import policy_body
from layerserve.domain.durations import format_duration, parse_duration
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.registry import (
    Alias,
    CanaryPlan,
    HistoryAction,
    HistoryEntry,
    describe,
    next_alias,
    promote_routes,
    rolled_back,
)
from layerserve.domain.routing import Route
from layerserve.local.guardrails import GuardrailReport

NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = CanaryPolicy(steps=(10, 25, 50, 100), bake_seconds=600)


def guarded(*pairs: tuple[str, int], previous: tuple[tuple[str, int], ...] = ()) -> Alias:
    plan = CanaryPlan(version="3", stable_version="2", policy=POLICY, step_started_at=NOW)
    return Alias(
        model="m",
        name="production",
        routes=tuple(Route(version=v, weight=w) for v, w in pairs),
        previous_routes=tuple(Route(version=v, weight=w) for v, w in previous),
        revision=7,
        updated_at=NOW,
        updated_by="me",
        canary=plan,
    )


def test_the_plan_gives_the_guardrails_their_state() -> None:
    alias = guarded(("2", 75), ("3", 25), previous=(("2", 90), ("3", 10)))
    state = alias.canary_state()
    assert state is not None
    assert (state.stable_version, state.canary_version, state.weight, state.revision) == (
        "2",
        "3",
        25,
        7,
    )
    assert state.step_started_at == NOW
    assert alias.canary is not None and alias.canary.step(25) == 2 and alias.canary.step(5) == 0
    assert guarded(("2", 100)).canary_state() is None  # routes no longer hold the canary


def test_a_guarded_canary_rolls_back_to_its_stable_version_and_any_move_ends_it() -> None:
    alias = guarded(("2", 50), ("3", 50), previous=(("2", 75), ("3", 25)))
    back = rolled_back(alias, actor="guardrails", at=NOW)
    assert back.pairs() == [("2", 100)] and back.canary is None and back.previous_routes == ()
    moved = next_alias(alias, model="m", name="production", routes=promote_routes("3"),
                       actor="you", at=NOW)  # fmt: skip
    assert moved.canary is None and describe(moved) == {
        "revision": 8,
        "routes": [["3", 100]],
        "previous_routes": [["2", 50], ["3", 50]],
    }
    described = describe(alias)
    assert described is not None and described["canary"] == {
        "version": "3",
        "stable_version": "2",
        "policy": POLICY.model_dump(mode="json"),
        "step_started_at": "2026-01-01T00:00:00Z",
    }


def test_dynamodb_items_keep_the_plan_and_figures_and_read_old_items() -> None:
    alias = guarded(("2", 90), ("3", 10))
    assert items.alias_from(items.alias_item(alias)) == alias
    unguarded = alias.model_copy(update={"canary": None})
    item = items.alias_item(unguarded)
    assert "canary" not in item and items.alias_from(item) == unguarded
    figures = {"psi_y": 0.4, "p99_ratio": None, "error_rate_ratio": "inf"}
    entry = HistoryEntry(model="m", id="1", at=NOW, actor="a", action=HistoryAction.ROLLBACK,
                         target="alias production", reason="r", figures=figures)  # fmt: skip
    assert items.history_from(items.history_item(entry)) == entry
    old = items.history_item(entry.model_copy(update={"figures": None}))
    assert "figures" not in old and items.history_from(old).figures is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172_800), ("1H", 3600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(seconds)) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "m", "1.5h", "10 minutes", "-1m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInputError, match="is not a duration"):
        parse_duration(text)


def test_policy_options_become_a_policy_only_when_asked() -> None:
    assert policy_body(guard=False) is None
    assert policy_body(guard=True) == {}
    body = policy_body(guard=False, steps="10, 50,100", bake="30s", max_psi=0.2)
    assert body == {"steps": [10, 50, 100], "bake_seconds": 30, "max_psi": 0.2}
    assert CanaryPolicy.model_validate(body).min_samples == 200
    with pytest.raises(InvalidInputError, match="comma-separated"):
        policy_body(guard=False, steps="10;50")


def test_sparklines_scale_to_the_peak_and_leave_gaps() -> None:
    assert sparkline([0, 1, 2, 4, 8, None]) == "▁▂▃▅█ "
    assert sparkline([None, 0]) == " ▁"
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    end = start + timedelta(minutes=4, seconds=30)
    assert minute_columns(start, end) == (int(start.timestamp()) // 60, 1, 5)
    points: list[dict[str, Any]] = [
        {"minute": "2026-01-01T12:01:00Z", "requests": 10, "p99_ms": 4.0},
        {"minute": "2026-01-01T12:03:00Z", "requests": 20, "p99_ms": 8.0},
    ]
    assert requests_line(points, start, end) == "▁▅▁█▁"
    assert p99_line(points, start, end) == " ▅ █ "
    day = minute_columns(start, start + timedelta(days=1))
    assert day[1:] == (24, 61)


def test_the_local_report_prints_moves_and_changes_of_hold() -> None:
    said: list[str] = []
    report = GuardrailReport(said.append)

    def outcome(action: str, reason: str, error: str | None = None) -> dict[str, Any]:
        return {"outcomes": [{"model": "m", "alias": "production", "action": action,
                              "reason": reason, "error": error}]}  # fmt: skip

    report.show(outcome("hold", "too few samples: canary 3, stable 30 (need 100 each)"))
    report.show(outcome("hold", "too few samples: canary 9, stable 90 (need 100 each)"))
    report.show(outcome("hold", "baking: 10 s of 30 s at 10 %"))
    report.show(outcome("advance", "healthy for 31 s at 10 %: advancing to 50 %"))
    report.show(outcome("rollback", "error rate 5.00% vs stable 0.00%", error="alias moved"))
    assert said == [
        "guardrails m/production hold: too few samples: canary 3, stable 30 (need 100 each)",
        "guardrails m/production hold: baking: 10 s of 30 s at 10 %",
        "guardrails m/production advance: healthy for 31 s at 10 %: advancing to 50 %",
        "guardrails m/production rollback, not applied: alias moved",
    ]
