"""Creating the registry table (tests, the local stack); the template declares the same keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from layerserve.adapters.dynamodb_tables import ensure_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def create_registry_table(client: DynamoDBClient, name: str) -> None:
    """Create the table (``pk``/``sk`` strings, on demand) unless it exists; wait until active."""
    ensure_table(client, name)
