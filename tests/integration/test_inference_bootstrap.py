"""The inference handler is built from what it is given: each handler is one execution
environment, with its own settings, metric record sink and cold start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import cast

import pytest
from pydantic import ValidationError

from layerserve.bootstrap.inference import build_inference_handler, entry_point
from layerserve.bootstrap.inference_init import InitPhase
from layerserve.domain.metric_record import MetricRecord, parse_record
from layerserve.local.events import FakeLambdaContext
from layerserve.services.inference import InferenceService
from layerserve.settings import InferenceSettings
from tests.apigw import http_api_event

ADD = {
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]},
    ]
}


def _records(lines: list[bytes]) -> list[MetricRecord]:
    records = [parse_record(line.decode()) for line in lines]
    assert all(record is not None for record in records)
    return cast(list[MetricRecord], records)


def test_each_handler_writes_its_records_to_its_own_sink_with_its_own_cold_start(
    models_root: Path, tmp_path: Path
) -> None:
    settings = InferenceSettings(models_dir=models_root, scratch_dir=tmp_path / "scratch")
    first: list[bytes] = []
    second: list[bytes] = []
    one = build_inference_handler(settings, record_sink=first.append)
    other = build_inference_handler(settings, record_sink=second.append)
    event = http_api_event("POST", "/v2/models/addmul/infer", ADD)
    for handler in (one.handler, other.handler, other.handler):
        assert handler(event, FakeLambdaContext())["statusCode"] == 200
    assert [(r.model, r.cold) for r in _records(first)] == [("addmul", True)]
    cold, warm = _records(second)
    assert (cold.cold, warm.cold) == (True, False)
    assert cold.init_ms is not None and warm.init_ms is None
    assert one.service is not other.service  # nothing shared through a module


def test_the_settings_given_are_the_ones_served(models_root: Path, tmp_path: Path) -> None:
    settings = InferenceSettings(
        models_dir=models_root, scratch_dir=tmp_path / "scratch", max_body_bytes=64
    )
    function = build_inference_handler(settings, record_sink=_discard)
    event = http_api_event("POST", "/v2/models/addmul/infer", ADD)
    assert function.handler(event, FakeLambdaContext())["statusCode"] == 413
    assert function.settings is settings


def _discard(line: bytes) -> None:
    del line


class _Instant:
    """A service whose default versions load at once."""

    def server_ready(self) -> bool:
        return True


def test_loading_left_to_the_first_call_counts_the_wiring_not_the_wait_before_it() -> None:
    service = cast(InferenceService, _Instant())
    long_ago = time.perf_counter() - 3600.0  # wired an hour before the first request
    init = InitPhase(InferenceSettings(preload="default"), service, long_ago, wiring_s=0.002)
    init_ms = init.wait()
    assert 2.0 <= init_ms < 60_000.0  # the wiring and the loading, not the idle hour
    assert init.wait() == init_ms  # loaded once


def test_a_function_left_to_its_first_use_is_built_again_after_a_failure(
    inference_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an init phase (``entry_point(None)``), each call builds the function from
    the settings then, until one build succeeds: that function serves every later call."""
    entry = entry_point(None)
    event = http_api_event("POST", "/v2/models/addmul/infer", ADD)
    monkeypatch.setenv("LAYERSERVE_MAX_LOADED_MODELS", "0")
    with pytest.raises(ValidationError):
        entry.handler(event, FakeLambdaContext())
    monkeypatch.delenv("LAYERSERVE_MAX_LOADED_MODELS")
    assert entry.handler(event, FakeLambdaContext())["statusCode"] == 200
    assert entry.function() is entry.function()
    assert entry.function().settings.max_body_bytes == 256 * 1024  # the environment's
