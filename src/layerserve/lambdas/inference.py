"""Lambda handler of the inference function (API Gateway HTTP API v2 or REST API v1)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider import cold_start
from aws_lambda_powertools.shared.constants import LAMBDA_INITIALIZATION_TYPE
from aws_lambda_powertools.utilities.typing import LambdaContext

from layerserve.adapters.metric_log import EmfSpec, MetricRecordObserver, stdout_line
from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver, lambda_metrics
from layerserve.api.inference_app import InferenceLimits, create_inference_app
from layerserve.lambdas.apigw import ApiGatewayAdapter
from layerserve.lambdas.inference_init import begin, take_started
from layerserve.services.inference import InferenceService
from layerserve.services.telemetry import FanOutObserver, RequestObserver
from layerserve.settings import InferenceSettings, MetricsFormat

# Health and metadata requests add no metrics; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="inference")
record_sink: Callable[[bytes], None] | None = None
"""Where metric record lines go; ``None`` is stdout (Lambda's log). The local stack
points it at its in-process log delivery."""
SERVICE = "inference"
metrics = lambda_metrics(os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "layerserve"), SERVICE)


@dataclass(frozen=True, slots=True)
class Serving:
    """What this execution environment serves with, once ``asgi_adapter`` has built it."""

    settings: InferenceSettings
    service: InferenceService
    records: MetricRecordObserver


serving: Serving | None = None
"""Set by ``asgi_adapter``; the SnapStart hooks (``inference_snapstart``) use it."""


@cache
def asgi_adapter() -> ApiGatewayAdapter:
    """Built once per execution environment: settings, catalog, preloaded models.

    The init phase may already be under way (``inference_init``): then it is awaited.
    """
    global serving
    init = take_started() or begin(background=False)
    init_ms = init.wait()
    settings, service = init.settings, init.service
    records, observer = _observers(settings.metrics_format, init_ms)
    serving = Serving(settings, service, records)
    limits = InferenceLimits(settings.max_body_bytes, settings.max_response_bytes)
    app = create_inference_app(service, limits, observer)
    return ApiGatewayAdapter(app)


def record_init_time(init_ms: float) -> None:
    """The once-per-environment ``InitTime`` metric (flushed with the first request)."""
    if not is_metrics_disabled():
        metrics.add_metric("InitTime", MetricUnit.Milliseconds, init_ms)


def _observers(
    metrics_format: MetricsFormat, init_ms: float
) -> tuple[MetricRecordObserver, RequestObserver]:
    """The metric record line, and per-request CloudWatch metrics unless disabled."""
    sink = record_sink or stdout_line
    if is_metrics_disabled():  # as Powertools decides (POWERTOOLS_METRICS_DISABLED, _DEV)
        records = MetricRecordObserver(init_ms, sink=sink)  # Powertools would never clear
        return records, records
    record_init_time(init_ms)
    if metrics_format == "line":
        emf = EmfSpec(metrics.namespace, SERVICE)
        records = MetricRecordObserver(init_ms, sink=sink, emf=emf)
        return records, records
    records = MetricRecordObserver(init_ms, sink=sink)
    return records, FanOutObserver([records, PowertoolsMetricsObserver(metrics)])


def flush_metrics(context: LambdaContext) -> None:
    """What ``Metrics.log_metrics(capture_cold_start_metric=True)`` does after each
    invocation (ColdStart once, then flush), without its "no metrics" warning on every
    request that added none (all of them in the line format, where filtering the warning
    still cost a few µs a request)."""
    if cold_start.is_cold_start:  # Powertools' own flag (provisioned concurrency: False)
        metrics.provider.add_cold_start_metric(context)
        cold_start.is_cold_start = False
    if metrics.metric_set:
        metrics.flush_metrics()


_first_invocation = [os.environ.get(LAMBDA_INITIALIZATION_TYPE) != "provisioned-concurrency"]
"""Whether the next invocation is this environment's cold start, as Powertools Logger
decides it (a SnapStart snapshot is taken before any invocation: each restored
environment's first invocation is its cold start)."""


def log_context(event: dict[str, Any], context: LambdaContext) -> None:
    """The keys ``Logger.inject_lambda_context`` adds to every log line (cold start,
    function name, memory, ARN, request id) and API Gateway's request id as correlation
    id, in one ``append_keys`` (the decorator rebuilt a context model on each request)."""
    cold, _first_invocation[0] = _first_invocation[0], False
    # Read directly (HTTP and REST APIs alike): JMESPath would cost ~15 µs a request.
    correlation_id = event.get("requestContext", {}).get("requestId")
    logger.append_keys(
        cold_start=cold,
        function_name=context.function_name,
        function_memory_size=context.memory_limit_in_mb,
        function_arn=context.invoked_function_arn,
        function_request_id=context.aws_request_id,
        correlation_id=correlation_id,
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``context``: Lambda's context object (or anything with its attributes)."""
    log_context(event, context)
    try:
        response: dict[str, Any] = asgi_adapter()(event, context)
    finally:
        flush_metrics(context)
    return response
