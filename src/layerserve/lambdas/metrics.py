"""Metrics function entry points: fold log deliveries; evaluate canaries on a schedule.

``handler`` receives the CloudWatch Logs subscription of the inference log group.
``schedule_handler`` (an EventBridge schedule) evaluates every guarded canary and moves
its alias through the registry; ``make_schedule_handler(actions)`` builds such a handler
over any ``CanaryActions``. Both read settings once per execution environment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from layerserve.adapters.cloudwatch_logs import decode_subscription
from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.services.canary.actions import RegistryCanaryActions
from layerserve.services.canary.guardrails import CanaryActions, run_guardrails
from layerserve.services.metrics.aggregation import fold_events
from layerserve.services.registry import RegistryService
from layerserve.settings import GuardrailSettings, MetricsSettings

logger = Logger(service="metrics")
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@cache
def rollups() -> DynamoDBRollups:
    settings = MetricsSettings()
    client = boto3.client("dynamodb")
    return DynamoDBRollups(settings.rollups_table, client, settings.rollup_retention_days)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Fold one subscription delivery; a redelivery of it changes nothing."""
    del context  # used by the logger decorator
    batch = decode_subscription(event)
    report = asdict(fold_events(batch.events, rollups()))
    logger.info("folded log delivery", extra={"log_group": batch.log_group, **report})
    return report


@cache
def registry_actions() -> CanaryActions:
    """The registry's aliases, moved by the guardrails (``LAYERSERVE_REGISTRY_TABLE``)."""
    settings = GuardrailSettings()
    store = DynamoDBRegistry(settings.registry_table, boto3.client("dynamodb"))
    return RegistryCanaryActions(RegistryService(store))


def make_schedule_handler(actions: Callable[[], CanaryActions], clock: Clock = utc_now) -> Handler:
    """The scheduled handler: evaluate every canary at ``clock()``, act through ``actions()``."""

    @logger.inject_lambda_context
    def schedule_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        del event, context  # a schedule carries nothing the run needs
        outcomes = run_guardrails(actions(), rollups(), clock())
        summary = [
            {
                "model": o.state.model,
                "alias": o.state.alias,
                "action": o.decision.action if o.decision else None,
                "reason": o.decision.reason if o.decision else None,
                "figures": o.decision.figures if o.decision else None,
                "error": o.error,
            }
            for o in outcomes
        ]
        for line in summary:
            logger.info("canary evaluated", extra=line)
        return {"evaluated": len(summary), "outcomes": summary}

    return schedule_handler


schedule_handler = make_schedule_handler(registry_actions)
