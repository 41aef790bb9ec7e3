"""Creating the stack's DynamoDB tables (local stack, tests, benchmarks).

The keys mirror template.yaml: string ``pk``/``sk`` (or one hash key), on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import KeySchemaElementTypeDef


def ensure_table(
    client: DynamoDBClient, name: str, hash_key: str = "pk", range_key: str | None = "sk"
) -> None:
    """A pay-per-request table with string keys, unless one of that name exists; waits."""
    if name not in client.list_tables()["TableNames"]:
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
    client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
