"""The per-request Powertools metrics: every metric the dashboard may show is emitted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools import Metrics

from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver
from layerserve.services.telemetry import METRIC_NAMES
from tests.metric_factories import every_outcome_shape


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics(namespace="tests", service="inference")
    metrics.clear_metrics()  # Powertools shares its metric set between instances
    yield metrics
    metrics.clear_metrics()


def test_the_observer_emits_exactly_the_named_metrics(metrics: Metrics) -> None:
    observer = PowertoolsMetricsObserver(metrics)
    emitted: set[str] = set()
    for outcome in every_outcome_shape():
        observer.observe(outcome)
        emitted |= set(metrics.metric_set)
        metrics.clear_metrics()
    assert emitted == METRIC_NAMES
