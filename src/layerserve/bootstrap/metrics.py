"""Wiring of the metrics function's log handler: the inference log group's subscription
folded into per-minute rollups in DynamoDB.

``build_metrics_handler(settings, dynamodb=...)`` is what Lambda runs (built on the first
invocation by ``layerserve.lambdas.metrics``); ``make_metrics_handler`` folds into any
``RollupWriter``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from layerserve.adapters.cloudwatch_logs import decode_subscription
from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.rollups import build_rollups
from layerserve.services.metrics.aggregation import RollupWriter, fold_events
from layerserve.settings import MetricsSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = Logger(service="metrics")


def build_metrics_handler(
    settings: MetricsSettings, *, dynamodb: DynamoDBClient | None = None
) -> Handler:
    """The log handler over the rollups table; the client is created here unless injected."""
    rollups = build_rollups(
        settings.rollups_table, dynamodb=dynamodb, retention_days=settings.rollup_retention_days
    )
    return make_metrics_handler(rollups)


def make_metrics_handler(rollups: RollupWriter) -> Handler:
    """Fold each subscription delivery into ``rollups``; a redelivery of it changes nothing."""

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        del context  # used by the logger decorator
        batch = decode_subscription(event)
        report = asdict(fold_events(batch.events, rollups))
        logger.info("folded log delivery", extra={"log_group": batch.log_group, **report})
        return report

    return handler
