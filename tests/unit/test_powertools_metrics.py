"""The per-request Powertools metrics: every metric the dashboard may show is emitted."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Metrics

from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver
from layerserve.services.telemetry import ERROR_KINDS, METRIC_NAMES, RequestOutcome


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics(namespace="tests", service="inference")
    metrics.clear_metrics()  # Powertools shares its metric set between instances
    yield metrics
    metrics.clear_metrics()


def test_the_observer_emits_exactly_the_named_metrics(metrics: Metrics) -> None:
    observer = PowertoolsMetricsObserver(metrics)
    emitted: set[str] = set()
    for run_s, batch, kind in itertools.product((None, 0.002), (None, 4), (None, *ERROR_KINDS)):
        outcome = RequestOutcome(
            route="v2",
            status=200 if kind is None else 400,
            latency_s=0.003,
            model="m",
            version="1",
            error_kind=kind,
            run_s=run_s,
            batch_size=batch,
        )
        observer.observe(outcome)
        emitted |= set(metrics.metric_set)
        metrics.clear_metrics()
    assert emitted == METRIC_NAMES
