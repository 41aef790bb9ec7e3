"""Lambda handler of the inference function (API Gateway HTTP API v2 or REST API v1)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from layerserve.adapters.metric_log import EmfSpec, MetricRecordObserver, stdout_line
from layerserve.adapters.powertools_metrics import PowertoolsMetricsObserver, lambda_metrics
from layerserve.api.inference_app import InferenceLimits, create_inference_app
from layerserve.lambdas.apigw import HANDLERS
from layerserve.lambdas.inference_init import begin, take_started
from layerserve.services.telemetry import FanOutObserver, RequestObserver
from layerserve.settings import MetricsFormat

# Health and metadata requests add no metrics; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="inference")
record_sink: Callable[[bytes], None] | None = None
"""Where metric record lines go; ``None`` is stdout (Lambda's log). The local stack
points it at its in-process log delivery."""
SERVICE = "inference"
metrics = lambda_metrics(os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "layerserve"), SERVICE)


@cache
def asgi_adapter() -> Mangum:
    """Built once per execution environment: settings, catalog, preloaded models.

    The init phase may already be under way (``inference_init``): then it is awaited.
    """
    init = take_started() or begin(background=False)
    init_ms = init.wait()
    settings, service = init.settings, init.service
    observer = _observer(settings.metrics_format, init_ms)
    app = create_inference_app(service, InferenceLimits(settings.max_body_bytes), observer)
    return Mangum(app, lifespan="off", custom_handlers=HANDLERS)  # type: ignore[arg-type]


def _observer(metrics_format: MetricsFormat, init_ms: float) -> RequestObserver:
    """The metric record line, and per-request CloudWatch metrics unless disabled."""
    sink = record_sink or stdout_line
    if is_metrics_disabled():  # as Powertools decides (POWERTOOLS_METRICS_DISABLED, _DEV)
        return MetricRecordObserver(init_ms, sink=sink)  # Powertools would never clear
    metrics.add_metric("InitTime", MetricUnit.Milliseconds, init_ms)
    if metrics_format == "line":
        emf = EmfSpec(metrics.namespace, SERVICE)
        return MetricRecordObserver(init_ms, sink=sink, emf=emf)
    records = MetricRecordObserver(init_ms, sink=sink)
    return FanOutObserver([records, PowertoolsMetricsObserver(metrics)])


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id (HTTP and REST APIs alike), read directly: a JMESPath
    # ``correlation_id_path`` costs ~15 µs a request for the same value.
    logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
    response: dict[str, Any] = asgi_adapter()(event, context)  # type: ignore[arg-type]
    return response
