"""Creating the registry table (tests, the local stack); the template declares the same keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError as AwsClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def create_registry_table(client: DynamoDBClient, name: str) -> None:
    """Create the table (``pk``/``sk`` strings, on demand) unless it exists; wait until active."""
    try:
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except AwsClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
