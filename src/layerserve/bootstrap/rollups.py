"""The metrics rollups table, as each function that uses it wires it.

The metrics function writes rollups, so it sets how long they are kept; the guardrails and
the registry API only read them (retention concerns writes alone), and the registry API
answers metrics queries only when its settings name the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from layerserve.adapters.dynamodb_rollups import DEFAULT_RETENTION_DAYS, DynamoDBRollups

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def build_rollups(
    table: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> DynamoDBRollups:
    """The rollups in ``table``; a writer passes ``retention_days``, a reader needs not."""
    return DynamoDBRollups(table, dynamodb or boto3.client("dynamodb"), retention_days)
