"""Rollups: folding records, merging across minutes, the fold service and the query."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from layerserve.domain.metric_record import MetricRecord, parse_record
from layerserve.domain.rollup import MINUTE_MS, Rollup, RollupKey, fold_records
from layerserve.services.metrics.aggregation import delivery_id, fold_events
from layerserve.services.metrics.query import metrics_summary, window_rollup
from tests.metric_factories import (
    T0,
    T0_MS,
    InMemoryRollups,
    log_events,
    record_line,
    traffic,
)


def records(lines: list[str]) -> list[MetricRecord]:
    parsed = [parse_record(line) for line in lines]
    assert all(record is not None for record in parsed)
    return [record for record in parsed if record is not None]


def test_records_fold_per_model_version_and_minute() -> None:
    lines = [
        record_line(t_ms=T0_MS, version="1", latency_ms=4.0, cold=True),
        record_line(t_ms=T0_MS + 1000, version="1", error_kind="model", run_ms=None),
        record_line(t_ms=T0_MS + MINUTE_MS, version="1", error_kind="client"),
        record_line(t_ms=T0_MS, version="2", alias=None),
    ]
    folded = fold_records(records(lines))
    minute = T0_MS // MINUTE_MS
    assert sorted(folded, key=RollupKey.order) == [
        RollupKey("iris", "1", minute),
        RollupKey("iris", "1", minute + 1),
        RollupKey("iris", "2", minute),
    ]
    first = folded[RollupKey("iris", "1", minute)]
    assert (first.requests, first.cold_starts, first.batch_total) == (2, 1, 2)
    assert first.errors == {"model": 1}
    assert first.statuses == {"2xx": 1, "5xx": 1}
    assert first.aliases == {"production": 2}
    assert (first.latency.count, first.run.count, first.init.count) == (2, 1, 1)
    assert folded[RollupKey("iris", "2", minute)].aliases == {}


def test_rollups_merge_like_one_fold_of_everything() -> None:
    lines = traffic("1", 300, spacing_ms=700, error_every=7, seed=4)
    per_minute = fold_records(records(lines))
    assert len(per_minute) > 3
    merged = Rollup.merged(per_minute.values())
    whole = fold_records(r.model_copy(update={"time_ms": 0}) for r in records(lines))
    (everything,) = whole.values()
    assert merged.requests == everything.requests == 300
    assert merged.errors == everything.errors
    assert merged.latency.buckets == everything.latency.buckets
    assert merged.outputs == everything.outputs
    assert merged.output_elements == everything.output_elements


def test_rollup_serialisation_round_trips() -> None:
    (rollup,) = fold_records(records(traffic("1", 50, spacing_ms=10, error_every=5))).values()
    again = Rollup.from_dict(rollup.to_dict())
    assert again.to_dict() == rollup.to_dict()


def test_fold_counts_a_redelivered_batch_once() -> None:
    store = InMemoryRollups()
    events = log_events(traffic("1", 40, spacing_ms=2000))
    first = fold_events(events, store)
    again = fold_events(list(reversed(events)), store)
    assert first.delivery_id == again.delivery_id
    assert (first.records, first.applied, first.duplicates) == (40, 2, 0)
    assert (again.applied, again.duplicates) == (0, 2)
    assert window_rollup(store, "iris", "1", T0, T0 + timedelta(minutes=5)).requests == 40


def test_fold_skips_foreign_and_invalid_lines_and_says_which() -> None:
    store = InMemoryRollups()
    lines = [record_line(), "START RequestId: x", record_line().replace('"st":200', '"st":1')]
    report = fold_events(log_events(lines), store)
    assert (report.records, report.ignored, report.invalid) == (1, 1, 1)
    assert report.problems == ["log event e00000002: invalid metric record: " + _status_msg()]


def _status_msg() -> str:
    return "Input should be greater than or equal to 100"


def test_delivery_id_depends_on_the_event_ids_only() -> None:
    events = log_events(["a", "b"])
    assert delivery_id(events) == delivery_id(list(reversed(events)))
    assert delivery_id(events) != delivery_id(log_events(["a", "b"], prefix="f"))


def test_metrics_summary_over_a_window() -> None:
    store = InMemoryRollups()
    lines = traffic("1", 600, spacing_ms=200, error_every=10, latency_ms=20.0, output_shift=3.0)
    fold_events(log_events(lines), store)
    summary = metrics_summary(store, "iris", "1", T0, T0 + timedelta(minutes=2))
    assert summary.requests == 600
    assert summary.errors == {"server": 60}
    assert summary.error_rate == pytest.approx(0.1)
    assert summary.statuses == {"2xx": 540, "5xx": 60}
    assert summary.latency_ms.p50 == pytest.approx(20.0, rel=0.05)
    assert summary.latency_ms.p99 is not None and summary.latency_ms.p99 <= 24.0 * 1.01
    assert [point.requests for point in summary.series] == [300, 300]
    output = summary.outputs["y"]
    assert output.elements == output.sampled == 540 * 4
    assert output.mean == pytest.approx(3.0, abs=0.1)
    assert sum(b.count for b in output.bins) == output.sampled
    assert summary.model_dump(mode="json")["outputs"]["y"]["non_finite"] == 0


def test_summary_of_an_empty_window() -> None:
    summary = metrics_summary(InMemoryRollups(), "iris", "9", T0, T0 + timedelta(hours=1))
    assert (summary.requests, summary.error_rate, summary.latency_ms.p99) == (0, 0.0, None)
    assert summary.series == [] and summary.outputs == {}


def test_requests_without_outputs_add_no_output_values() -> None:
    lines = [record_line(output=np.full((1, 4), 2.0, dtype=np.float32)), record_line()]
    (rollup,) = fold_records(records(lines)).values()
    assert sum(rollup.outputs["y"].values()) == 4
