"""LAYERSERVE_METRICS_FORMAT=line: the EMF members of a metric record line emit every
metric the dashboard may show, each with its value."""

from __future__ import annotations

import itertools

from layerserve.adapters.metric_log import EmfDirectives, EmfSpec
from layerserve.services.telemetry import ERROR_KINDS, METRIC_NAMES, RequestOutcome


def test_the_lines_emit_exactly_the_named_metrics_each_with_its_value() -> None:
    emf = EmfDirectives(EmfSpec("ns", "inference"))
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
        fields = emf.fields(outcome, time_ms=1)
        (directive,) = fields["_aws"]["CloudWatchMetrics"]
        names = {metric["Name"] for metric in directive["Metrics"]}
        assert all(isinstance(fields[name], int | float) for name in names)
        assert all(isinstance(fields[d], str) for d in directive["Dimensions"][0])
        emitted |= names
    assert emitted == METRIC_NAMES
