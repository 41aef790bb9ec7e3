"""Registry entities ⇄ DynamoDB items (one table, generic ``pk``/``sk`` string keys).

=================  ==================================  ==========================================
item               pk                                  sk
=================  ==================================  ==========================================
model              ``MODELS``                          ``MODEL#<name>``
version            ``MODEL#<name>``                    ``VERSION#<version>``
alias              ``MODEL#<name>``                    ``ALIAS#<alias>``
history entry      ``MODEL#<name>``                    ``HISTORY#<UTC timestamp, µs>#<id>``
=================  ==================================  ==========================================

All models sit in one partition so listing them is one query; everything else about a
model shares its partition. A version item carries ``refs``, the string set of aliases
that reference it, maintained in the same transaction as every alias write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import orjson

from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import (
    Alias,
    CanaryPlan,
    HistoryAction,
    HistoryEntry,
    Model,
    ModelVersion,
    VersionStatus,
)
from layerserve.domain.routing import Route

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]

MODELS_PK: Final = "MODELS"
VERSION_PREFIX: Final = "VERSION#"
ALIAS_PREFIX: Final = "ALIAS#"
HISTORY_PREFIX: Final = "HISTORY#"


def timestamp(at: datetime) -> str:
    """Fixed-width UTC, so that string order is time order."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(raw: str) -> datetime:
    return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def partition(model: str) -> str:
    return f"MODEL#{model}"


def key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def model_key(name: str) -> Item:
    return key(MODELS_PK, f"MODEL#{name}")


def version_key(model: str, version: str) -> Item:
    return key(partition(model), VERSION_PREFIX + version)


def alias_key(model: str, alias: str) -> Item:
    return key(partition(model), ALIAS_PREFIX + alias)


def _s(item: Any, name: str, default: str = "") -> str:
    value = item.get(name)
    return str(value["S"]) if value else default


def model_item(model: Model) -> Item:
    return {
        **model_key(model.name),
        "name": {"S": model.name},
        "default_alias": {"S": model.default_alias},
        "description": {"S": model.description},
        "created_at": {"S": timestamp(model.created_at)},
        "created_by": {"S": model.created_by},
    }


def model_from(item: Any) -> Model:
    return Model(
        name=_s(item, "name"),
        default_alias=_s(item, "default_alias"),
        description=_s(item, "description"),
        created_at=_time(_s(item, "created_at")),
        created_by=_s(item, "created_by"),
    )


def version_item(version: ModelVersion) -> Item:
    """The item without ``refs``: only unreferenced versions are ever (re)written whole."""
    return {
        **version_key(version.model, version.version),
        "model": {"S": version.model},
        "version": {"S": version.version},
        "status": {"S": version.status.value},
        "location": {"S": version.location},
        "manifest": {"S": version.manifest.model_dump_json()},
        "artifact_sha256": {"S": version.manifest.artifact.sha256},
        "created_at": {"S": timestamp(version.created_at)},
        "created_by": {"S": version.created_by},
        "updated_at": {"S": timestamp(version.updated_at)},
        "status_reason": {"S": version.status_reason},
    }


def version_from(item: Any) -> ModelVersion:
    return ModelVersion(
        model=_s(item, "model"),
        version=_s(item, "version"),
        status=VersionStatus(_s(item, "status")),
        location=_s(item, "location"),
        manifest=Manifest.from_json(_s(item, "manifest")),
        created_at=_time(_s(item, "created_at")),
        created_by=_s(item, "created_by"),
        updated_at=_time(_s(item, "updated_at")),
        status_reason=_s(item, "status_reason"),
        aliases=tuple(sorted(item.get("refs", {}).get("SS", ()))),
    )


def _routes_attr(routes: tuple[Route, ...]) -> AttributeValueTypeDef:
    return {
        "L": [{"M": {"version": {"S": r.version}, "weight": {"N": str(r.weight)}}} for r in routes]
    }


def _routes(attr: Any) -> tuple[Route, ...]:
    values = attr.get("L", []) if attr else []
    return tuple(
        Route(version=v["M"]["version"]["S"], weight=int(v["M"]["weight"]["N"])) for v in values
    )


def alias_item(alias: Alias) -> Item:
    """``canary`` (the guarded canary's plan as JSON) is present only while one runs."""
    item: Item = {
        **alias_key(alias.model, alias.name),
        "model": {"S": alias.model},
        "name": {"S": alias.name},
        "routes": _routes_attr(alias.routes),
        "previous_routes": _routes_attr(alias.previous_routes),
        "revision": {"N": str(alias.revision)},
        "updated_at": {"S": timestamp(alias.updated_at)},
        "updated_by": {"S": alias.updated_by},
    }
    if alias.canary is not None:
        item["canary"] = {"S": alias.canary.model_dump_json()}
    return item


def alias_from(item: Any) -> Alias:
    return Alias(
        model=_s(item, "model"),
        name=_s(item, "name"),
        routes=_routes(item.get("routes")),
        previous_routes=_routes(item.get("previous_routes")),
        revision=int(item["revision"]["N"]),
        updated_at=_time(_s(item, "updated_at")),
        updated_by=_s(item, "updated_by"),
        canary=CanaryPlan.model_validate_json(item["canary"]["S"]) if "canary" in item else None,
    )


def history_item(entry: HistoryEntry) -> Item:
    """``figures`` is present only on entries of automatic decisions."""
    item: Item = {
        **key(partition(entry.model), f"{HISTORY_PREFIX}{timestamp(entry.at)}#{entry.id}"),
        "model": {"S": entry.model},
        "id": {"S": entry.id},
        "at": {"S": timestamp(entry.at)},
        "actor": {"S": entry.actor},
        "action": {"S": entry.action.value},
        "target": {"S": entry.target},
        "before": {"S": orjson.dumps(entry.before).decode()},
        "after": {"S": orjson.dumps(entry.after).decode()},
        "reason": {"S": entry.reason},
    }
    if entry.figures is not None:
        item["figures"] = {"S": orjson.dumps(entry.figures).decode()}
    return item


def history_from(item: Any) -> HistoryEntry:
    return HistoryEntry(
        model=_s(item, "model"),
        id=_s(item, "id"),
        at=_time(_s(item, "at")),
        actor=_s(item, "actor"),
        action=HistoryAction(_s(item, "action")),
        target=_s(item, "target"),
        before=orjson.loads(_s(item, "before", "null")),
        after=orjson.loads(_s(item, "after", "null")),
        reason=_s(item, "reason"),
        figures=orjson.loads(_s(item, "figures", "null")),
    )
