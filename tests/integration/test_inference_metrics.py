"""Every resolved request leaves one metric record line and EMF metrics in the log."""

from __future__ import annotations

import orjson
import pytest

from layerserve.domain.metric_record import MetricRecord, parse_record
from tests.apigw import http_api_event
from tests.conftest import Invoke

REQUEST = {
    "inputs": [
        {"name": "x", "datatype": "FP32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]},
    ]
}


def _records(output: str) -> list[MetricRecord]:
    found = (parse_record(line) for line in output.splitlines())
    return [record for record in found if record is not None]


def _emf(output: str) -> list[dict[str, object]]:
    lines = (orjson.loads(line) for line in output.splitlines() if line.startswith('{"_aws"'))
    return [line for line in lines if "Requests" in line]


def test_records_and_emf_per_request(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
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

    emf = _emf(output)
    assert len(emf) == 3
    assert emf[0]["model"] == "id-fp32" and emf[0]["version"] == "1"
    assert "Errors" not in emf[0] and emf[1]["ClientErrors"] == [1.0]
    assert emf[2]["model"] == "-" and emf[2]["version"] == "-"
