"""The registry function's HTTP surface (IAM-authorised routes under ``/registry``).

Routes translate HTTP to the registry use cases and back; blocking storage calls run
in the thread pool. Every error is ``{"error": "..."}`` via ``install_error_handlers``;
a stale alias revision is a 409 whose body also carries the current ``revision``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry
from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.adapters.s3_artifacts import S3Artifacts
from layerserve.api.errors import install_error_handlers
from layerserve.api.inference_app import NO_OPENTELEMETRY
from layerserve.domain.errors import ServiceUnavailableError
from layerserve.services.metrics.aggregation import RollupReader
from layerserve.services.metrics.report import metrics_window, model_metrics
from layerserve.services.registry import (
    Archive,
    Canary,
    CreateModel,
    Promote,
    RegisterVersion,
    RegistryService,
    Rollback,
    SetAlias,
)
from layerserve.services.registry.service import MAX_HISTORY_PAGE
from layerserve.settings import RegistrySettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

T = TypeVar("T")
Principal = Callable[[Request], str]
Clock = Callable[[], datetime]


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def caller_principal(request: Request) -> str:
    """The caller's IAM principal from the API Gateway event (HTTP API v2 or REST v1)."""
    event: dict[str, Any] = request.scope.get("aws.event") or {}
    context = event.get("requestContext") or {}
    iam = (context.get("authorizer") or {}).get("iam") or {}
    identity = context.get("identity") or {}
    for found in (iam.get("userArn"), iam.get("callerId"), identity.get("userArn")):
        if found:
            return str(found)
    return "anonymous"


def _json(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document), status_code=status, media_type="application/json")


def _dump(item: BaseModel) -> Any:
    return item.model_dump(mode="json")


def create_registry_app(
    service: RegistryService,
    *,
    principal: Principal = caller_principal,
    rollups: RollupReader | None = None,
    clock: Clock = _utc_now,
) -> FastAPI:
    """A FastAPI app with the registry routes; mount it or serve it through Mangum.

    With ``rollups`` it also serves ``/registry/models/{model}/metrics``.
    """
    app = FastAPI(
        title="layerserve registry",
        openapi_url="/registry/openapi.json",
        docs_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    install_error_handlers(app)
    router = APIRouter(prefix="/registry")

    async def call(fn: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(fn, *args)

    @router.get("/info")
    async def info() -> Response:
        return _json({"artifacts_bucket": service.artifacts_bucket})

    @router.post("/models")
    async def create_model(body: CreateModel, request: Request) -> Response:
        return _json(_dump(await call(service.models.create, body, principal(request))), 201)

    @router.get("/models")
    async def list_models() -> Response:
        return _json({"models": [_dump(m) for m in await call(service.models.all)]})

    @router.get("/models/{model}")
    async def get_model(model: str) -> Response:
        status = await call(service.status, model)
        return _json(
            {
                "model": _dump(status.model),
                "aliases": [_dump(alias) for alias in status.aliases],
                "versions": [_dump(version) for version in status.versions],
            }
        )

    @router.get("/models/{model}/versions")
    async def list_versions(model: str) -> Response:
        return _json({"versions": [_dump(v) for v in await call(service.versions.all, model)]})

    @router.post("/models/{model}/versions")
    async def register(model: str, body: RegisterVersion, request: Request) -> Response:
        version = await call(service.versions.register, model, body, principal(request))
        return _json(_dump(version), 201)

    @router.get("/models/{model}/versions/{version}")
    async def get_version(model: str, version: str) -> Response:
        return _json(_dump(await call(service.versions.get, model, version)))

    @router.post("/models/{model}/versions/{version}/archive")
    async def archive(
        model: str, version: str, request: Request, body: Archive | None = None
    ) -> Response:
        who = principal(request)
        done = await call(service.versions.archive, model, version, body or Archive(), who)
        return _json(_dump(done))

    @router.get("/models/{model}/aliases")
    async def list_aliases(model: str) -> Response:
        return _json({"aliases": [_dump(a) for a in await call(service.aliases.all, model)]})

    @router.get("/models/{model}/aliases/{alias}")
    async def get_alias(model: str, alias: str) -> Response:
        return _json(_dump(await call(service.aliases.get, model, alias)))

    @router.put("/models/{model}/aliases/{alias}")
    async def set_alias(model: str, alias: str, body: SetAlias, request: Request) -> Response:
        return _json(_dump(await call(service.aliases.set, model, alias, body, principal(request))))

    @router.post("/models/{model}/aliases/{alias}/promote")
    async def promote(model: str, alias: str, body: Promote, request: Request) -> Response:
        moved = await call(service.aliases.promote, model, alias, body, principal(request))
        return _json(_dump(moved))

    @router.post("/models/{model}/aliases/{alias}/canary")
    async def canary(model: str, alias: str, body: Canary, request: Request) -> Response:
        moved = await call(service.aliases.canary, model, alias, body, principal(request))
        return _json(_dump(moved))

    @router.post("/models/{model}/aliases/{alias}/rollback")
    async def rollback(
        model: str, alias: str, request: Request, body: Rollback | None = None
    ) -> Response:
        who = principal(request)
        moved = await call(service.aliases.rollback, model, alias, body or Rollback(), who)
        return _json(_dump(moved))

    @router.get("/models/{model}/history")
    async def history(
        model: str,
        limit: int = Query(default=50, ge=1, le=MAX_HISTORY_PAGE),
        cursor: str | None = None,
    ) -> Response:
        page = await call(service.history, model, limit, cursor)
        return _json({"entries": [_dump(e) for e in page.entries], "next_cursor": page.cursor})

    @router.get("/models/{model}/metrics")
    async def metrics(
        model: str,
        version: str | None = None,
        alias: str | None = None,
        since: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Response:
        if rollups is None:
            raise ServiceUnavailableError(
                "metrics are not configured: the registry has no rollups table"
            )
        window = metrics_window(clock(), since, start, end)
        report = await call(
            partial(model_metrics, version=version, alias=alias), service, rollups, model, window
        )
        return _json(_dump(report))

    app.include_router(router)
    return app
