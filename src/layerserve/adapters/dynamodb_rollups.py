"""Minute rollups in DynamoDB, written with revision-checked read-modify-write.

Item per (model, version, minute): ``pk = ROLLUP#<model>#<version>``, ``sk`` = the
minute in ISO form (``2025-01-31T12:34Z``), ``rev`` (revision), ``deliveries`` (string
set of delivery ids folded in), ``body`` (zlib-compressed JSON of the rollup),
``requests`` (for people reading the table) and ``expires_at`` (TTL, epoch seconds).
An alias route's share has the same shape under
``pk = ROUTE#<model>#<alias>#<alias revision>#<version>`` (``#`` cannot occur in names).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from botocore.exceptions import ClientError

from layerserve.domain.errors import ServiceUnavailableError
from layerserve.domain.rollup import AliasRoute, Rollup, RollupKey

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

SK_FORMAT = "%Y-%m-%dT%H:%MZ"
DEFAULT_RETENTION_DAYS = 35
DEFAULT_MAX_ATTEMPTS = 10


def partition_key(model: str, version: str) -> str:
    return f"ROLLUP#{model}#{version}"


def route_partition_key(model: str, route: AliasRoute, version: str) -> str:
    return f"ROUTE#{model}#{route.alias}#{route.revision}#{version}"


def key_partition(key: RollupKey) -> str:
    if key.route is None:
        return partition_key(key.model, key.version)
    return route_partition_key(key.model, key.route, key.version)


def sort_key(minute: int) -> str:
    return datetime.fromtimestamp(minute * 60, tz=UTC).strftime(SK_FORMAT)


def minute_of(sort_key_value: str) -> int:
    parsed = datetime.strptime(sort_key_value, SK_FORMAT).replace(tzinfo=UTC)
    return int(parsed.timestamp()) // 60


def encode_rollup(rollup: Rollup) -> bytes:
    return zlib.compress(orjson.dumps(rollup.to_dict()), 6)


def decode_rollup(body: bytes) -> Rollup:
    return Rollup.from_dict(orjson.loads(zlib.decompress(body)))


class DynamoDBRollups:
    """``RollupStore`` over one table with string keys ``pk`` and ``sk``."""

    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table
        self._client = client
        self._retention_s = retention_days * 86_400
        self._max_attempts = max_attempts
        self._sleep = sleep

    def apply(self, key: RollupKey, delta: Rollup, delivery_id: str) -> bool:
        item_key: dict[str, AttributeValueTypeDef] = {
            "pk": {"S": key_partition(key)},
            "sk": {"S": sort_key(key.minute)},
        }
        for attempt in range(self._max_attempts):
            current = self._get(item_key)
            if current is not None and delivery_id in current.get("deliveries", {}).get("SS", []):
                return False
            if self._put(item_key, key.minute, current, delta, delivery_id):
                return True
            self._sleep(random.uniform(0, 0.01 * 2**attempt))  # jitter, not crypto
        raise ServiceUnavailableError(
            f"rollup {key_partition(key)} {sort_key(key.minute)} "
            f"still contended after {self._max_attempts} attempts"
        )

    def read(
        self, model: str, version: str, first_minute: int, last_minute: int
    ) -> list[tuple[int, Rollup]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ProjectionExpression": "sk, #body",
            "ExpressionAttributeNames": {"#body": "body"},
            "ExpressionAttributeValues": {
                ":pk": {"S": partition_key(model, version)},
                ":first": {"S": sort_key(first_minute)},
                ":last": {"S": sort_key(last_minute)},
            },
        }
        return self._query(request)

    def read_route(self, model: str, route: AliasRoute, version: str) -> list[tuple[int, Rollup]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ProjectionExpression": "sk, #body",
            "ExpressionAttributeNames": {"#body": "body"},
            "ExpressionAttributeValues": {":pk": {"S": route_partition_key(model, route, version)}},
        }
        return self._query(request)

    def _query(self, request: dict[str, Any]) -> list[tuple[int, Rollup]]:
        found: list[tuple[int, Rollup]] = []
        while True:
            page = self._call(self._client.query, **request)
            found += [
                (minute_of(i["sk"]["S"]), decode_rollup(i["body"]["B"])) for i in page["Items"]
            ]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get(self, item_key: dict[str, AttributeValueTypeDef]) -> dict[str, Any] | None:
        response = self._call(
            self._client.get_item, TableName=self._table, Key=item_key, ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _put(
        self,
        item_key: dict[str, AttributeValueTypeDef],
        minute: int,
        current: dict[str, Any] | None,
        delta: Rollup,
        delivery_id: str,
    ) -> bool:
        """One conditional write; ``False`` when another writer got there first."""
        merged = Rollup() if current is None else decode_rollup(current["body"]["B"])
        merged.merge(delta)
        revision = 0 if current is None else int(current["rev"]["N"])
        deliveries = [*([] if current is None else current["deliveries"]["SS"]), delivery_id]
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"}
            if current is None
            else {
                "ConditionExpression": "rev = :rev",
                "ExpressionAttributeValues": {":rev": {"N": str(revision)}},
            }
        )
        item = {
            **item_key,
            "rev": {"N": str(revision + 1)},
            "deliveries": {"SS": deliveries},
            "body": {"B": encode_rollup(merged)},
            "requests": {"N": str(merged.requests)},
            "expires_at": {"N": str(minute * 60 + self._retention_s)},
        }
        try:
            self._client.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise ServiceUnavailableError(f"rollup table '{self._table}': {exc}") from exc
        return True

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = method(**kwargs)
        except ClientError as exc:
            raise ServiceUnavailableError(f"rollup table '{self._table}': {exc}") from exc
        return response
