"""Wiring of the registry function: settings and injected clients in, its handler out.

``build_registry_handler(settings, dynamodb=..., s3=...)`` is what Lambda runs (built once
per execution environment by ``layerserve.lambdas.registry``); ``make_registry_handler``
builds the same handler over a service the caller already has (the local stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.adapters.s3_artifacts import S3Artifacts
from layerserve.services.registry import RegistryService
from layerserve.settings import RegistrySettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client


def build_registry_service(
    settings: RegistrySettings,
    *,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
) -> RegistryService:
    """The service over DynamoDB (and S3 when an artifacts bucket is configured)."""
    store = DynamoDBRegistry(settings.registry_table, dynamodb or boto3.client("dynamodb"))
    if not settings.artifacts_bucket:
        return RegistryService(store)
    artifacts = S3Artifacts(s3 or boto3.client("s3"))
    return RegistryService(store, artifacts=artifacts, artifacts_bucket=settings.artifacts_bucket)


def build_rollups(
    settings: RegistrySettings, *, dynamodb: DynamoDBClient | None = None
) -> DynamoDBRollups | None:
    """The metrics rollups the API reads, when a rollups table is configured."""
    if not settings.rollups_table:
        return None
    return DynamoDBRollups(settings.rollups_table, dynamodb or boto3.client("dynamodb"))
