"""What callers cannot steer: direct version calls, earlier steps, their own rejected
requests and request sizes. Decisions from exact records folded like in production."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from layerserve.domain.guardrails import CanaryPolicy, CanaryState, Decision, evaluate
from layerserve.domain.metric_record import ErrorKind
from layerserve.services.metrics.aggregation import fold_events
from layerserve.services.metrics.query import route_rollup, window_rollup
from tests.metric_factories import T0, T0_MS, InMemoryRollups, log_events, record_line

POLICY = CanaryPolicy(steps=(10, 50, 100), bake_seconds=600, min_samples=200)
LATER = T0 + timedelta(seconds=601)
STATE = CanaryState(
    model="iris",
    alias="production",
    stable_version="1",
    canary_version="2",
    weight=10,
    step_started_at=T0,
    revision=3,
)


def lines(
    version: str,
    count: int,
    *,
    revision: int | None = 3,
    kind: ErrorKind | None = None,
    latency_ms: float = 5.0,
    elements: int = 4,
    tag: str = "",
    first_use: bool = False,
) -> list[str]:
    alias = "production" if revision is not None else None
    return [
        record_line(
            t_ms=T0_MS + i * 100,
            version=version,
            alias=alias,
            alias_revision=revision,
            error_kind=kind,
            latency_ms=latency_ms,
            run_ms=latency_ms / 2,
            input_elements=elements,
            first_use=first_use,
            request_id=f"{version}-{tag}-{i}",
        )
        for i in range(count)
    ]


def healthy() -> list[str]:
    """What the alias routed at revision 3: 1000 requests to stable, 300 to the canary."""
    return lines("1", 1000, tag="ok") + lines("2", 300, tag="ok")


def judge(traffic: list[str], policy: CanaryPolicy = POLICY) -> tuple[Decision, InMemoryRollups]:
    store = InMemoryRollups()
    fold_events(log_events(traffic), store)
    route = STATE.route
    canary = route_rollup(store, "iris", route, "2")
    stable = route_rollup(store, "iris", route, "1")
    return evaluate(policy, STATE, canary, stable, LATER), store


def test_direct_version_requests_do_not_count() -> None:
    direct = lines("2", 150, revision=None, kind="server", tag="direct")
    decision, store = judge(healthy() + direct)
    assert decision.action == "advance", decision.reason
    figures = decision.figures
    assert (figures["canary_requests"], figures["canary_errors"]) == (300, 0)
    assert figures["judged"] == "production@3"
    whole = window_rollup(store, "iris", "2", T0, LATER)  # what `metrics --version 2` shows
    assert (whole.requests, whole.errors) == (450, {"server": 150})


def test_traffic_of_an_earlier_step_does_not_count() -> None:
    earlier = lines("2", 300, revision=2, kind="model", tag="before")
    decision, _ = judge(healthy() + earlier)
    assert decision.action == "advance", decision.reason
    assert decision.figures["canary_requests"] == 300


def test_the_callers_errors_neither_count_nor_dilute() -> None:
    rejected = lines("2", 400, kind="client", tag="bad")
    decision, _ = judge(healthy() + rejected)
    assert decision.action == "advance", decision.reason
    assert decision.figures["canary_rejected"] == 400
    assert decision.figures["canary_rejection_rate"] == pytest.approx(400 / 700, abs=1e-6)

    # 3 % real errors on the canary stay 3 % however many rejected requests are added.
    failing = lines("2", 9, kind="server", tag="fail")
    decision, _ = judge(lines("1", 1000) + lines("2", 291) + failing + rejected)
    assert decision.action == "rollback"
    assert decision.reason.startswith("error rate 3.00% vs stable 0.00%")


def test_too_few_samples_are_counted_without_rejected_requests() -> None:
    decision, _ = judge(lines("1", 1000) + lines("2", 150) + lines("2", 400, kind="client"))
    assert decision.action == "hold"
    assert decision.reason == "too few samples: canary 150, stable 1000 (need 200 each)"


def test_the_rejection_limit_is_optional() -> None:
    policy = POLICY.model_copy(update={"max_rejection_rate_increase": 0.1})
    rejected = lines("2", 100, kind="client", tag="bad")
    decision, _ = judge(healthy() + rejected, policy)
    assert decision.action == "rollback"
    assert decision.reason == (
        "rejection rate 25.00% vs stable 0.00%: increase 25.00% exceeds 10.00%"
    )
    assert judge(healthy() + rejected)[0].action == "advance"


def test_a_policy_cannot_count_the_callers_errors() -> None:
    with pytest.raises(ValidationError):
        CanaryPolicy.model_validate({"error_kinds": ["server", "client"]})


def test_large_requests_sent_to_the_canary_are_not_compared_with_small_ones() -> None:
    attack = lines("2", 30, latency_ms=400.0, elements=400_000, tag="large")
    decision, _ = judge(healthy() + attack)
    assert decision.action == "advance", decision.reason
    figures = decision.figures
    assert float(figures["canary_p99_ms"] or 0) > 300  # per request, 80x stable's p99
    assert figures["p99_size_classes"] == "4" and figures["p99_ratio"] == pytest.approx(1.0)
    assert (figures["canary_p99_requests"], figures["canary_requests"]) == (300, 330)


def test_large_requests_on_both_sides_are_compared_with_each_other() -> None:
    attack = lines("2", 30, latency_ms=400.0, elements=400_000, tag="large")
    genuine = lines("1", 100, latency_ms=400.0, elements=400_000, tag="large")
    decision, _ = judge(healthy() + genuine + attack)
    assert decision.action == "advance", decision.reason
    assert decision.figures["p99_size_classes"] == "4,370728-440871"
    assert decision.figures["p99_ratio"] == pytest.approx(1.0)


def test_sizes_chosen_within_a_class_move_the_ratio_by_less_than_the_limit() -> None:
    """Latency grows with size; the canary gets the top of each class, stable the bottom."""
    low, high = 91, 107  # one class: 91-107 elements
    stable = lines("1", 1000, latency_ms=low * 0.1, elements=low)
    canary = lines("2", 300, latency_ms=high * 0.1, elements=high)
    decision, _ = judge(stable + canary)
    ratio = decision.figures["p99_ratio"]
    assert isinstance(ratio, float) and 1.1 < ratio < 2**0.25 * 1.02 < 1.5
    assert decision.action == "advance"


def test_a_canary_slower_on_the_same_sizes_is_still_rolled_back() -> None:
    slow = lines("1", 1000) + lines("2", 300, latency_ms=9.0)
    decision, _ = judge(slow)
    assert decision.action == "rollback"
    assert decision.reason.startswith("p99 request latency 9.0 ms is 1.80x stable 5.0 ms")
    assert "on requests of the same sizes" in decision.reason


def test_requests_that_loaded_the_session_are_not_compared() -> None:
    """Bursts routed to the canary make new environments, each loading it once."""
    loads = lines("2", 30, latency_ms=2000.0, first_use=True, tag="load")
    decision, _ = judge(healthy() + loads)
    assert decision.action == "advance", decision.reason
    figures = decision.figures
    assert (figures["canary_p99_requests"], figures["canary_requests"]) == (300, 330)
    assert figures["p99_ratio"] == pytest.approx(1.0)
