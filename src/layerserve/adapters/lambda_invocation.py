"""The inference function's Lambda handler over its ASGI adapter (API Gateway HTTP API v2 or
REST API v1): Powertools' logging context and metrics around each invocation.

``make_inference_handler`` builds it; ``bootstrap.inference`` wires what it serves with.
The Powertools ``logger`` and ``metrics`` are module-level, as Powertools intends.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics.provider import cold_start
from aws_lambda_powertools.shared.constants import LAMBDA_INITIALIZATION_TYPE
from aws_lambda_powertools.utilities.typing import LambdaContext

from layerserve.adapters.lambda_handler import Handler as Handler  # re-exported
from layerserve.adapters.powertools_metrics import lambda_metrics

# Health and metadata requests add no metrics; that is expected, not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="inference")
SERVICE = "inference"
metrics = lambda_metrics(os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "layerserve"), SERVICE)


def make_inference_handler(adapter: Handler, await_init: Callable[[], None]) -> Handler:
    """The handler: ``adapter`` (Mangum over the app) with the logging context and metrics.

    ``await_init`` runs before each invocation is served: it waits for the init phase the
    first time and returns at once after that (``InferenceHandler.ready``). The first
    invocation is the environment's cold start, as Powertools Logger decides it: unless
    provisioned concurrency initialised it (a SnapStart snapshot is taken before any
    invocation, so each restored environment's first invocation is its cold start).
    """
    first = [os.environ.get(LAMBDA_INITIALIZATION_TYPE) != "provisioned-concurrency"]

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        await_init()
        cold, first[0] = first[0], False
        log_context(event, context, cold)
        try:
            response: dict[str, Any] = adapter(event, context)
        finally:
            flush_metrics(context)
        return response

    return handler


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


def log_context(event: dict[str, Any], context: LambdaContext, cold: bool) -> None:
    """The keys ``Logger.inject_lambda_context`` adds to every log line (cold start,
    function name, memory, ARN, request id) and API Gateway's request id as correlation
    id, in one ``append_keys`` (the decorator rebuilt a context model on each request)."""
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
