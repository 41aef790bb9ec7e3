"""Wiring of the metrics function's schedule: every guarded canary evaluated on the
rollups, its alias moved through the registry.

``build_guardrails_handler(settings, dynamodb=...)`` is what Lambda runs (built on the
first invocation by ``layerserve.lambdas.metrics``); ``make_guardrails_handler`` runs
over any ``CanaryActions`` and ``RollupReader``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger

from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.registry_service import build_registry_service
from layerserve.bootstrap.rollups import build_rollups
from layerserve.services.canary.actions import RegistryCanaryActions
from layerserve.services.canary.guardrails import CanaryActions, GuardrailOutcome, run_guardrails
from layerserve.services.metrics.aggregation import RollupReader
from layerserve.settings import GuardrailSettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

logger = Logger(service="metrics")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_guardrails_handler(
    settings: GuardrailSettings,
    *,
    dynamodb: DynamoDBClient | None = None,
    clock: Clock = utc_now,
) -> Handler:
    """The scheduled handler over the registry and rollups tables (one DynamoDB client)."""
    client = dynamodb or boto3.client("dynamodb")
    actions = RegistryCanaryActions(
        build_registry_service(settings.registry_table, dynamodb=client)
    )
    rollups = build_rollups(settings.rollups_table, dynamodb=client)  # read only
    return make_guardrails_handler(actions, rollups, clock)


def make_guardrails_handler(
    actions: CanaryActions, rollups: RollupReader, clock: Clock = utc_now
) -> Handler:
    """Evaluate every canary at ``clock()`` on ``rollups``, act through ``actions``."""

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        del event, context  # a schedule carries nothing the run needs
        summary = [_summary(outcome) for outcome in run_guardrails(actions, rollups, clock())]
        for line in summary:
            logger.info("canary evaluated", extra=line)
        return {"evaluated": len(summary), "outcomes": summary}

    return handler


def _summary(outcome: GuardrailOutcome) -> dict[str, Any]:
    decision = outcome.decision
    return {
        "model": outcome.state.model,
        "alias": outcome.state.alias,
        "action": decision.action if decision else None,
        "reason": decision.reason if decision else None,
        "figures": decision.figures if decision else None,
        "error": outcome.error,
    }
