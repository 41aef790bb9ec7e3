"""``RegistryStore`` on one DynamoDB table: every write is one conditional transaction."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsClientError

from layerserve.adapters.dynamodb_registry import items
from layerserve.domain.errors import (
    ConflictError,
    InvalidInputError,
    ModelNotFoundError,
    RevisionConflictError,
    ServiceUnavailableError,
    VersionNotFoundError,
)
from layerserve.domain.registry import Alias, HistoryEntry, Model, ModelVersion, VersionStatus
from layerserve.services.registry.ports import HistoryPage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        ConditionCheckTypeDef,
        PutTypeDef,
        TransactWriteItemTypeDef,
    )

_NOT_EXISTS = "attribute_not_exists(pk)"


class _Cancelled(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__(reasons)
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


@contextmanager
def _aws(table: str) -> Iterator[None]:
    """Translate AWS failures: a cancelled transaction to ``_Cancelled``, the rest to 503."""
    try:
        yield
    except AwsClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "TransactionCanceledException":
            reasons = exc.response.get("CancellationReasons", [])
            raise _Cancelled([str(r.get("Code", "None")) for r in reasons]) from exc
        raise ServiceUnavailableError(
            f"registry table '{table}' is unavailable: {error.get('Code', 'error')}"
        ) from exc
    except BotoCoreError as exc:
        raise ServiceUnavailableError(f"registry table '{table}' is unreachable: {exc}") from exc


class DynamoDBRegistry:
    """Reads (strongly consistent by default) and conditional writes of the registry."""

    def __init__(self, table: str, client: DynamoDBClient, *, consistent_reads: bool = True):
        self._table = table
        self._client = client
        self._consistent = consistent_reads

    # --- reads ----------------------------------------------------------------------
    def get_model(self, name: str) -> Model | None:
        item = self._get(items.model_key(name))
        return items.model_from(item) if item else None

    def list_models(self) -> list[Model]:
        return [items.model_from(i) for i in self._query(items.MODELS_PK, "MODEL#")]

    def get_version(self, model: str, version: str) -> ModelVersion | None:
        item = self._get(items.version_key(model, version))
        return items.version_from(item) if item else None

    def list_versions(self, model: str) -> list[ModelVersion]:
        found = self._query(items.partition(model), items.VERSION_PREFIX)
        return [items.version_from(i) for i in found]

    def get_alias(self, model: str, alias: str) -> Alias | None:
        item = self._get(items.alias_key(model, alias))
        return items.alias_from(item) if item else None

    def list_aliases(self, model: str) -> list[Alias]:
        return [
            items.alias_from(i) for i in self._query(items.partition(model), items.ALIAS_PREFIX)
        ]

    def history(self, model: str, limit: int, cursor: str | None) -> HistoryPage:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": items.partition(model)},
                ":prefix": {"S": items.HISTORY_PREFIX},
            },
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": self._consistent,
        }
        if cursor:
            request["ExclusiveStartKey"] = items.key(items.partition(model), _decode(cursor))
        with _aws(self._table):
            page = self._client.query(**request)
        last = page.get("LastEvaluatedKey")
        next_cursor = _encode(str(last["sk"]["S"])) if last else None
        return HistoryPage([items.history_from(i) for i in page.get("Items", [])], next_cursor)

    # --- writes ---------------------------------------------------------------------
    def create_model(self, model: Model, entry: HistoryEntry) -> None:
        put: PutTypeDef = {
            "TableName": self._table,
            "Item": items.model_item(model),
            "ConditionExpression": _NOT_EXISTS,
        }
        try:
            self._transact([{"Put": put}, self._log(entry)])
        except _Cancelled as exc:
            raise ConflictError(f"model '{model.name}' already exists") from exc

    def put_version(
        self, version: ModelVersion, replaces: ModelVersion | None, entry: HistoryEntry
    ) -> None:
        put: PutTypeDef = {"TableName": self._table, "Item": items.version_item(version)}
        if replaces is None:
            put["ConditionExpression"] = _NOT_EXISTS
        else:
            put["ConditionExpression"] = (
                "#status = :status AND updated_at = :updated AND attribute_not_exists(refs)"
            )
            put["ExpressionAttributeNames"] = {"#status": "status"}
            put["ExpressionAttributeValues"] = {
                ":status": {"S": replaces.status.value},
                ":updated": {"S": items.timestamp(replaces.updated_at)},
            }
        model_exists: ConditionCheckTypeDef = {
            "TableName": self._table,
            "Key": items.model_key(version.model),
            "ConditionExpression": "attribute_exists(pk)",
        }
        # Checked in the same transaction, so a concurrent alias of that name cannot slip in.
        no_alias = self._absent(items.alias_key(version.model, version.version))
        actions: list[TransactWriteItemTypeDef] = [
            {"ConditionCheck": model_exists},
            {"ConditionCheck": no_alias},
            {"Put": put},
            self._log(entry),
        ]
        try:
            self._transact(actions)
        except _Cancelled as exc:
            if exc.failed(0):
                raise ModelNotFoundError(version.model) from exc
            if exc.failed(1):
                raise InvalidInputError(
                    f"version '{version.version}' of '{version.model}' would be hidden by an alias"
                ) from exc
            raise self._version_conflict(version.model, version.version) from exc

    def write_alias(self, alias: Alias, current: Alias | None, entry: HistoryEntry) -> None:
        put: PutTypeDef = {"TableName": self._table, "Item": items.alias_item(alias)}
        if current is None:
            put["ConditionExpression"] = _NOT_EXISTS
        else:
            put["ConditionExpression"] = "revision = :revision"
            put["ExpressionAttributeValues"] = {":revision": {"N": str(current.revision)}}
        refs = sorted(alias.referenced())
        released = sorted(current.referenced() - alias.referenced()) if current else []
        # A new alias: no version may have its name, checked in the same transaction.
        no_version = self._absent(items.version_key(alias.model, alias.name))
        actions: list[TransactWriteItemTypeDef] = [{"Put": put}, {"ConditionCheck": no_version}]
        actions += [self._reference(alias, version) for version in refs]
        actions += [self._release(alias, version) for version in released]
        actions.append(self._log(entry))
        try:
            self._transact(actions)
        except _Cancelled as exc:
            if exc.failed(0):
                raise self._revision_conflict(alias.model, alias.name) from exc
            if exc.failed(1):
                raise InvalidInputError(
                    f"alias '{alias.name}' would hide version '{alias.name}' of '{alias.model}'"
                ) from exc
            failed = [v for i, v in enumerate(refs + released, start=2) if exc.failed(i)]
            raise self._version_conflict(alias.model, failed[0] if failed else refs[0]) from exc

    # --- helpers --------------------------------------------------------------------
    def _reference(self, alias: Alias, version: str) -> TransactWriteItemTypeDef:
        """Add the alias to the version's ``refs``; the version must be ready."""
        return {
            "Update": {
                "TableName": self._table,
                "Key": items.version_key(alias.model, version),
                "UpdateExpression": "ADD refs :alias",
                "ConditionExpression": "#status = :ready",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":alias": {"SS": [alias.name]},
                    ":ready": {"S": VersionStatus.READY.value},
                },
            }
        }

    def _release(self, alias: Alias, version: str) -> TransactWriteItemTypeDef:
        return {
            "Update": {
                "TableName": self._table,
                "Key": items.version_key(alias.model, version),
                "UpdateExpression": "DELETE refs :alias",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":alias": {"SS": [alias.name]}},
            }
        }

    def _absent(self, key: items.Item) -> ConditionCheckTypeDef:
        return {"TableName": self._table, "Key": key, "ConditionExpression": _NOT_EXISTS}

    def _log(self, entry: HistoryEntry) -> TransactWriteItemTypeDef:
        item = items.history_item(entry)
        return {"Put": {"TableName": self._table, "Item": item, "ConditionExpression": _NOT_EXISTS}}

    def _transact(self, actions: list[TransactWriteItemTypeDef]) -> None:
        with _aws(self._table):
            self._client.transact_write_items(TransactItems=actions)

    def _get(self, key: items.Item) -> dict[str, Any] | None:
        with _aws(self._table):
            found = self._client.get_item(
                TableName=self._table, Key=key, ConsistentRead=self._consistent
            )
        return dict(found["Item"]) if "Item" in found else None

    def _query(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
            "ConsistentRead": self._consistent,
        }
        found: list[dict[str, Any]] = []
        while True:
            with _aws(self._table):
                page = self._client.query(**request)
            found += [dict(item) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _revision_conflict(self, model: str, name: str) -> ConflictError:
        now = self.get_alias(model, name)
        revision = now.revision if now else 0
        return RevisionConflictError(
            f"alias '{name}' of model '{model}' changed concurrently; now at revision {revision}",
            revision,
        )

    def _version_conflict(self, model: str, version: str) -> ConflictError | VersionNotFoundError:
        now = self.get_version(model, version)
        if now is None:
            return VersionNotFoundError(model, version)
        if now.aliases:
            users = ", ".join(now.aliases)
            return ConflictError(
                f"version '{version}' of model '{model}' is used by alias(es) {users}"
            )
        return ConflictError(
            f"version '{version}' of model '{model}' is {now.status.value} (changed concurrently)"
        )


def _encode(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:  # binascii.Error, UnicodeDecodeError, non-ASCII text
        raise InvalidInputError("invalid history cursor") from exc
    if not sort_key.startswith(items.HISTORY_PREFIX):
        raise InvalidInputError("invalid history cursor")
    return sort_key
