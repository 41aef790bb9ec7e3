"""Metric record lines: with LAYERSERVE_METRICS_FORMAT=line the EMF members emit every
metric the dashboard may show, each with its value; the record says which alias
revision chose the version."""

from __future__ import annotations

from dataclasses import replace

from layerserve.adapters.metric_log import EmfDirectives, EmfSpec, MetricRecordObserver
from layerserve.domain.metric_record import parse_record
from layerserve.services.telemetry import METRIC_NAMES, RequestOutcome
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


def test_a_record_names_the_alias_revision_only_when_an_alias_chose() -> None:
    written: list[bytes] = []
    observer = MetricRecordObserver(sink=written.append, clock_ms=lambda: 1)
    routed = RequestOutcome(
        route="v2", status=200, latency_s=0.002, model="m", version="1", alias="production",
        alias_revision=7, input_elements=12, batch_size=3,
    )  # fmt: skip
    observer.observe(routed)
    observer.observe(replace(routed, alias=None))
    first, second = (parse_record(line.decode()) for line in written)
    assert first is not None and second is not None
    assert (first.alias, first.alias_revision, first.input_elements) == ("production", 7, 12)
    assert (second.alias, second.alias_revision) == (None, None)


def test_records_written_before_the_revision_and_size_existed_still_parse() -> None:
    old = '{"_ls":"m1","t":1,"rid":"r","m":"m","v":"1","a":"production","st":200,"ek":null,'
    old += '"lat":2.0,"run":1.0,"bs":1,"cold":false,"init":null,"out":{}}'
    record = parse_record(old)
    assert record is not None and (record.alias_revision, record.input_elements) == (None, None)


def test_the_first_successful_request_of_each_version_is_marked_as_its_first_use() -> None:
    written: list[bytes] = []
    observer = MetricRecordObserver(sink=written.append, clock_ms=lambda: 1)
    served = RequestOutcome(route="v2", status=200, latency_s=0.2, model="m", version="1")
    failed = replace(served, status=500, error_kind="model")
    for outcome in (failed, served, served, replace(served, version="2"), served):
        observer.observe(outcome)
    records = [parse_record(line.decode()) for line in written]
    assert [r.first_use for r in records if r is not None] == [False, True, False, True, False]
