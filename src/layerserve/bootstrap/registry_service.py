"""The registry service over its adapters: one builder for every function that uses it.

The registry function registers versions and moves aliases; the guardrails run of the
metrics function only moves aliases, and wires the service from its own settings (no
artifacts bucket) through this module without importing the registry's web stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
from layerserve.adapters.s3_artifacts import S3Artifacts
from layerserve.services.registry import RegistryService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client


def build_registry_service(
    table: str,
    *,
    dynamodb: DynamoDBClient | None = None,
    artifacts_bucket: str | None = None,
    s3: S3Client | None = None,
) -> RegistryService:
    """The service over the registry ``table``; with ``artifacts_bucket`` it also registers
    the versions uploaded there (S3). Clients are created here unless injected."""
    store = DynamoDBRegistry(table, dynamodb or boto3.client("dynamodb"))
    if not artifacts_bucket:
        return RegistryService(store)
    artifacts = S3Artifacts(s3 or boto3.client("s3"))
    return RegistryService(store, artifacts=artifacts, artifacts_bucket=artifacts_bucket)
