"""Per-request CloudWatch metrics as EMF through Powertools Metrics."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import (
    AmazonCloudWatchEMFProvider,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from layerserve.services.telemetry import RequestOutcome, error_metric


class PowertoolsMetricsObserver:
    """Requests, errors by kind, latency and batch size; dimensions model, version, alias.

    Powertools flushes once per invocation (``log_metrics``), which in Lambda is one
    request, so the dimensions set here describe exactly that request.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def observe(self, outcome: RequestOutcome) -> None:
        metrics = self._metrics
        # An unresolved name stays "-": callers must not mint new metrics at will.
        metrics.add_dimension("model", outcome.model if outcome.model and outcome.version else "-")
        metrics.add_dimension("version", outcome.version or "-")
        metrics.add_dimension("alias", outcome.alias or "-")
        metrics.add_metric("Requests", MetricUnit.Count, 1)
        metrics.add_metric("Latency", MetricUnit.Milliseconds, outcome.latency_s * 1000.0)
        if outcome.run_s is not None:
            metrics.add_metric("RunLatency", MetricUnit.Milliseconds, outcome.run_s * 1000.0)
        if outcome.batch_size is not None:
            metrics.add_metric("BatchSize", MetricUnit.Count, outcome.batch_size)
        if outcome.error_kind is not None:
            metrics.add_metric("Errors", MetricUnit.Count, 1)
            metrics.add_metric(error_metric(outcome.error_kind), MetricUnit.Count, 1)


class _ColdStartWhenEnabled(AmazonCloudWatchEMFProvider):
    """Powertools' cold-start metric goes through ``single_metric``, which prints its EMF
    line even when metrics are disabled; this one asks first, at the cold start itself."""

    def add_cold_start_metric(self, context: LambdaContext) -> None:
        if not is_metrics_disabled():
            super().add_cold_start_metric(context)


def lambda_metrics(namespace: str, service: str) -> Metrics:
    """Powertools ``Metrics`` (one shared set per process, as Powertools keeps it) whose
    cold-start metric honours ``POWERTOOLS_METRICS_DISABLED``."""
    provider = _ColdStartWhenEnabled(
        namespace=namespace,
        service=service,
        metric_set=Metrics._metrics,
        dimension_set=Metrics._dimensions,
        metadata_set=Metrics._metadata,
        default_dimensions=Metrics._default_dimensions,
    )
    return Metrics(namespace=namespace, service=service, provider=provider)
