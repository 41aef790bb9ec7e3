"""Both metrics formats give CloudWatch exactly the same metrics: names, units,
dimensions, namespace, values and timestamps, for every shape of request outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aws_lambda_powertools import Metrics

from layerserve.adapters.metric_log import EmfSpec, MetricRecordObserver
from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver
from layerserve.services.telemetry import RequestOutcome
from tests.metric_factories import every_outcome_shape

NAMESPACE = "layerserve-tests"
SERVICE = "inference"
NOW_MS = 1_767_225_600_000

Extracted = frozenset[tuple[str, frozenset[tuple[str, str]], str, str, float, int]]


def extracted(document: dict[str, Any]) -> Extracted:
    """What CloudWatch extracts from one EMF document: one datum per metric value and
    dimension set, dimensions as an unordered set of (name, value)."""
    directives = document["_aws"]
    data = set()
    for directive in directives["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = frozenset((name, document[name]) for name in dimension_set)
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    datum = (directive["Namespace"], dimensions, metric["Name"], metric["Unit"])
                    data.add((*datum, float(value), directives["Timestamp"]))
    return frozenset(data)


@pytest.fixture
def metrics() -> Iterator[Metrics]:
    metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
    metrics.clear_metrics()  # Powertools shares its metric set between instances
    yield metrics
    metrics.clear_metrics()


def _outcomes() -> Iterator[RequestOutcome]:
    yield from every_outcome_shape()
    unresolved = RequestOutcome(route="v2", status=404, latency_s=0.001, model="nope")
    unresolved.error_kind = "client"
    yield unresolved  # a name that resolves to no version: model and version "-"
    yield RequestOutcome(route="v1", status=200, latency_s=0.002, model="m", version="3",
                         alias="production", run_s=0.001, batch_size=2)  # fmt: skip


def _powertools(metrics: Metrics, outcome: RequestOutcome) -> dict[str, Any]:
    PowertoolsMetricsObserver(metrics).observe(outcome)
    document = metrics.serialize_metric_set()
    metrics.clear_metrics()
    document["_aws"]["Timestamp"] = NOW_MS  # Powertools stamps the flush time
    written: dict[str, Any] = json.loads(json.dumps(document))  # as written to the log
    return written


def _line(outcome: RequestOutcome) -> dict[str, Any]:
    lines: list[bytes] = []
    observer = MetricRecordObserver(
        sink=lines.append, clock_ms=lambda: NOW_MS, emf=EmfSpec(NAMESPACE, SERVICE)
    )
    observer.observe(outcome)
    (line,) = lines
    document: dict[str, Any] = orjson.loads(line)
    return document


def test_the_line_format_emits_exactly_what_powertools_emits(metrics: Metrics) -> None:
    compared = 0
    for outcome in _outcomes():
        powertools, line = _powertools(metrics, outcome), _line(outcome)
        assert extracted(line) == extracted(powertools), outcome
        compared += 1
    assert compared == 18


def test_the_comparison_sees_a_difference(metrics: Metrics) -> None:
    outcome = next(every_outcome_shape())
    line = _line(outcome)
    line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Seconds"
    assert extracted(line) != extracted(_powertools(metrics, outcome))
