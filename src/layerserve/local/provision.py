"""Create the stack's tables and buckets on an AWS endpoint (the embedded emulator).

The names and keys mirror template.yaml, so handlers run locally exactly as deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerserve.adapters.dynamodb_tables import ensure_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class StackNames:
    registry_table: str = "layerserve-registry"
    rollups_table: str = "layerserve-rollups"
    idempotency_table: str = "layerserve-batch-idempotency"
    artifacts_bucket: str = "layerserve-artifacts"
    uploads_bucket: str = "layerserve-uploads"


def ensure_bucket(client: S3Client, name: str, versioned: bool = True) -> None:
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if name in existing:
        return
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def provision(names: StackNames, dynamodb: DynamoDBClient, s3: S3Client) -> None:
    """Every table and bucket the local stack's handlers use."""
    ensure_table(dynamodb, names.registry_table)
    ensure_table(dynamodb, names.rollups_table)
    ensure_table(dynamodb, names.idempotency_table, "id", None)
    ensure_bucket(s3, names.artifacts_bucket)
    ensure_bucket(s3, names.uploads_bucket)
