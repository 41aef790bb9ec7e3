"""Metric records: build, serialise, find and validate in any log line shape."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from layerserve.domain.errors import MetricRecordError
from layerserve.domain.metric_record import build_record, parse_record, record_to_json
from tests.metric_factories import T0_MS, record_line


def test_record_is_one_compact_line_with_the_marker_first() -> None:
    line = record_line(output=np.ones((1, 4), dtype=np.float32))
    assert line.startswith('{"_ls":"m1","t":')
    assert "\n" not in line
    assert len(line) < 300


def test_record_round_trips_through_the_parser() -> None:
    outputs: dict[str, np.ndarray] = {
        "probabilities": np.array([[0.1, 0.9]], dtype=np.float32),
        "label": np.array([1], dtype=np.int64),
        "names": np.array(["a"], dtype=object),
    }
    record = build_record(
        time_ms=T0_MS,
        request_id="req-1",
        model="iris",
        version="2",
        alias="production",
        status=200,
        error_kind=None,
        latency_ms=3.5,
        run_ms=1.25,
        batch_size=1,
        cold=True,
        init_ms=450.0,
        outputs=outputs,
        inputs={"x": np.zeros((1, 4), dtype=np.float32)},
    )
    parsed = parse_record(record_to_json(record).decode())
    assert parsed is not None
    assert (parsed.model, parsed.version, parsed.alias) == ("iris", "2", "production")
    assert (parsed.latency_ms, parsed.run_ms, parsed.init_ms, parsed.cold) == (3.5, 1.25, 450, True)
    assert set(parsed.outputs) == {"probabilities", "label"}
    assert parsed.outputs["probabilities"].n == 2
    assert len(parsed.outputs["probabilities"].b) == 2
    assert parsed.inputs["x"].n == 4


def test_big_outputs_are_sampled() -> None:
    line = record_line(output=np.zeros((512, 100), dtype=np.float32))
    parsed = parse_record(line)
    assert parsed is not None
    assert parsed.outputs["y"].n == 51_200
    assert len(parsed.outputs["y"].b) <= 64


@pytest.mark.parametrize(
    "wrap",
    [
        lambda line: line,
        lambda line: f"2025-03-01T12:00:00.000Z\tabc-123\tINFO\t{line}\n",
        lambda line: orjson.dumps(
            {"level": "INFO", "message": orjson.loads(line), "service": "inference"}
        ).decode(),
    ],
    ids=["bare", "text-prefix", "json-log"],
)
def test_record_is_found_in_any_log_line_shape(wrap: object) -> None:
    assert callable(wrap)
    parsed = parse_record(wrap(record_line(request_id="abc")))
    assert parsed is not None and parsed.request_id == "abc"


def test_lines_without_a_record_are_ignored() -> None:
    assert parse_record("START RequestId: 1 Version: $LATEST") is None
    assert parse_record('{"_aws": {"CloudWatchMetrics": []}}') is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat", -1), ("st", 42), ("ek", "cosmic"), ("m", ""), ("out", {"y": {"n": 1, "b": [9999]}})],
)
def test_invalid_records_raise_a_clear_error(field: str, value: object) -> None:
    document = orjson.loads(record_line())
    document[field] = value
    with pytest.raises(MetricRecordError, match="invalid metric record"):
        parse_record(orjson.dumps(document).decode())


def test_truncated_record_raises() -> None:
    with pytest.raises(MetricRecordError):
        parse_record(record_line()[:40])
