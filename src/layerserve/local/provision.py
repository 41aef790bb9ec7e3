"""Create the stack's tables and buckets on an AWS endpoint (the embedded emulator).

The names and keys mirror template.yaml, so handlers run locally exactly as deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerserve.adapters.dynamodb_registry.table import create_registry_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeySchemaElementTypeDef
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class StackNames:
    registry_table: str = "layerserve-registry"
    rollups_table: str = "layerserve-rollups"
    idempotency_table: str = "layerserve-batch-idempotency"
    artifacts_bucket: str = "layerserve-artifacts"
    uploads_bucket: str = "layerserve-uploads"


def ensure_table(
    client: DynamoDBClient, name: str, hash_key: str, range_key: str | None = None
) -> None:
    """A pay-per-request table with string keys, unless one of that name exists."""
    if name in client.list_tables()["TableNames"]:
        return
    schema: list[KeySchemaElementTypeDef] = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    client.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=[
            {"AttributeName": item["AttributeName"], "AttributeType": "S"} for item in schema
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def ensure_bucket(client: S3Client, name: str, versioned: bool = True) -> None:
    existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if name in existing:
        return
    client.create_bucket(Bucket=name)
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def provision(names: StackNames, dynamodb: DynamoDBClient, s3: S3Client) -> None:
    """Every table and bucket the local stack's handlers use."""
    create_registry_table(dynamodb, names.registry_table)
    ensure_table(dynamodb, names.rollups_table, "pk", "sk")
    ensure_table(dynamodb, names.idempotency_table, "id")
    ensure_bucket(s3, names.artifacts_bucket)
    ensure_bucket(s3, names.uploads_bucket)
