"""Every resolved request leaves one metric record line, and Powertools Metrics publishes
EMF for every request (cold start, latency, errors; dimensions model, version, alias)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from layerserve.adapters import lambda_invocation as inference
from layerserve.domain.metric_record import MetricRecord, parse_record
from tests.apigw import http_api_event, rest_api_event
from tests.conftest import Invoke

REQUEST = {
    "inputs": [
        {"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]},
    ]
}


def _records(output: str) -> list[MetricRecord]:
    found = (parse_record(line) for line in output.splitlines())
    return [record for record in found if record is not None]


def _emf(output: str) -> list[dict[str, Any]]:
    lines = (orjson.loads(line) for line in output.splitlines() if line.startswith('{"_aws"'))
    return [line for line in lines if "Requests" in line]


def test_records_and_emf_per_request(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSERVE_METRICS_FORMAT", "powertools")
    inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", REQUEST))
    bad = {"inputs": [{**REQUEST["inputs"][0], "datatype": "INT32"}]}
    inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", bad))
    inference_handler(http_api_event("POST", "/v2/models/unknown/infer", REQUEST))
    output = capsys.readouterr().out

    first, second = _records(output)  # the unknown model resolves to no version: no record
    assert (first.model, first.version, first.status, first.error_kind) == (
        "id-fp32",
        "1",
        200,
        None,
    )
    assert first.cold and first.init_ms is not None
    assert first.batch_size == 2
    assert first.run_ms is not None and first.latency_ms >= first.run_ms
    assert first.outputs["y"].n == 6
    assert (second.status, second.error_kind, second.cold) == (400, "client", False)

    ok, bad_request, unknown = _emf(output)
    assert (ok["model"], ok["version"], ok["alias"], ok["service"]) == (
        "id-fp32",
        "1",
        "-",
        "inference",
    )
    assert ok["Requests"] == [1.0] and ok["BatchSize"] == [2.0]
    assert ok["Latency"][0] >= ok["RunLatency"][0]
    assert "Errors" not in ok and bad_request["ClientErrors"] == [1.0] == bad_request["Errors"]
    assert (unknown["model"], unknown["version"], unknown["ClientErrors"]) == ("-", "-", [1.0])
    for line in (ok, bad_request, unknown):
        _assert_valid_emf(line)


def test_the_line_format_puts_the_same_metrics_into_the_record_line(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYERSERVE_METRICS_FORMAT", "line")
    inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", REQUEST))
    bad = {"inputs": [{**REQUEST["inputs"][0], "datatype": "INT32"}]}
    inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", bad))
    inference_handler(http_api_event("POST", "/v2/models/unknown/infer", REQUEST))
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    ok, bad_request, unknown = [line for line in lines if "Requests" in line]
    assert [ok["_ls"], bad_request["_ls"], "_ls" in unknown] == ["m1", "m1", False]
    assert (ok["model"], ok["version"], ok["alias"], ok["service"]) == (
        "id-fp32",
        "1",
        "-",
        "inference",
    )
    assert ok["Requests"] == 1 and ok["BatchSize"] == 2 and ok["Latency"] >= ok["RunLatency"]
    assert "Errors" not in ok and bad_request["ClientErrors"] == 1 == bad_request["Errors"]
    assert (unknown["model"], unknown["version"], unknown["ClientErrors"]) == ("-", "-", 1)
    for line in (ok, bad_request, unknown):
        _assert_valid_emf(line)
    assert parse_record(orjson.dumps(ok).decode()) is not None  # still the aggregator's record


def test_cold_start_and_init_time_still_come_from_powertools(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cold_start, "is_cold_start", True)  # a fresh execution environment
    inference_handler(http_api_event("POST", "/v2/models/id-fp32/infer", REQUEST))
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    powertools = [line for line in lines if "_aws" in line]
    names = {
        m["Name"]
        for line in powertools
        for d in line["_aws"]["CloudWatchMetrics"]
        for m in d["Metrics"]
    }
    assert {"ColdStart", "InitTime"} <= names


def _assert_valid_emf(line: dict[str, Any]) -> None:
    """What CloudWatch requires to extract metrics from a log line."""
    directives = line["_aws"]["CloudWatchMetrics"]
    assert isinstance(line["_aws"]["Timestamp"], int)
    for directive in directives:
        assert directive["Namespace"] == inference.metrics.namespace
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(line[name], str) for name in dimension_set)
        for metric in directive["Metrics"]:
            values = line[metric["Name"]]  # Powertools writes a list, the line format a number
            values = values if isinstance(values, list) else [values]
            assert all(isinstance(v, int | float) for v in values), metric
            assert metric["Unit"] in {"Count", "Milliseconds"}


@pytest.mark.parametrize("make_event", [http_api_event, rest_api_event])
def test_log_lines_carry_the_api_gateway_request_id_as_correlation_id(
    inference_handler: Invoke,
    make_event: Callable[..., dict[str, Any]],
) -> None:
    for request_id in ("first-request", "second-request"):
        event = make_event("POST", "/v2/models/id-fp32/infer", REQUEST)
        event["requestContext"]["requestId"] = request_id
        inference_handler(event)
        assert inference.logger.get_correlation_id() == request_id
