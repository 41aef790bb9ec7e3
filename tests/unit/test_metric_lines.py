"""LAYERSERVE_METRICS_FORMAT=line: the EMF members of a metric record line emit every
metric the dashboard may show, each with its value."""

from __future__ import annotations

from layerserve.adapters.metric_log import EmfDirectives, EmfSpec
from layerserve.services.telemetry import METRIC_NAMES
from tests.metric_factories import every_outcome_shape


def test_the_lines_emit_exactly_the_named_metrics_each_with_its_value() -> None:
    emf = EmfDirectives(EmfSpec("ns", "inference"))
    emitted: set[str] = set()
    for outcome in every_outcome_shape():
        fields = emf.fields(outcome, time_ms=1)
        (directive,) = fields["_aws"]["CloudWatchMetrics"]
        names = {metric["Name"] for metric in directive["Metrics"]}
        assert all(isinstance(fields[name], int | float) for name in names)
        assert all(isinstance(fields[d], str) for d in directive["Dimensions"][0])
        emitted |= names
    assert emitted == METRIC_NAMES
