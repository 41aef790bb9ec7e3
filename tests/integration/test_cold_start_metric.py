"""The cold-start metric follows POWERTOOLS_METRICS_DISABLED, as every other metric does."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from tests.apigw import http_api_event
from tests.conftest import Invoke


def _cold_invocation_output(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str], disabled: str
) -> str:
    cold_start.is_cold_start = True
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("POWERTOOLS_METRICS_DISABLED", disabled)
            capsys.readouterr()
            assert inference_handler(http_api_event("GET", "/v2/health/live"))["statusCode"] == 200
            return capsys.readouterr().out
    finally:
        cold_start.is_cold_start = False


def test_disabled_metrics_print_no_cold_start_line(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    assert '"ColdStart"' not in _cold_invocation_output(inference_handler, capsys, "true")


def test_enabled_metrics_still_count_the_cold_start(
    inference_handler: Invoke, capsys: pytest.CaptureFixture[str]
) -> None:
    assert '"ColdStart"' in _cold_invocation_output(inference_handler, capsys, "false")
