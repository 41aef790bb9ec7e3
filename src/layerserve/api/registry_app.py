"""The registry function's HTTP surface (IAM-authorised routes under ``/registry``).

Each route translates HTTP to one registry use case and back. Routes are plain
functions: FastAPI runs them in its thread pool, so blocking storage calls never hold
the event loop. Every error is ``{"error": "..."}`` via ``install_error_handlers``;
a stale alias revision is a 409 whose body also carries the current ``revision``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

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

Principal = Callable[[Request], str]
Clock = Callable[[], datetime]


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

    @router.get("/info")
    def info() -> Response:
        return _json({"artifacts_bucket": service.artifacts_bucket})

    @router.post("/models")
    def create_model(body: CreateModel, request: Request) -> Response:
        return _json(_dump(service.models.create(body, principal(request))), 201)

    @router.get("/models")
    def list_models() -> Response:
        return _json({"models": [_dump(m) for m in service.models.all()]})

    @router.get("/models/{model}")
    def get_model(model: str) -> Response:
        status = service.status(model)
        return _json(
            {
                "model": _dump(status.model),
                "aliases": [_dump(alias) for alias in status.aliases],
                "versions": [_dump(version) for version in status.versions],
            }
        )

    @router.get("/models/{model}/versions")
    def list_versions(model: str) -> Response:
        return _json({"versions": [_dump(v) for v in service.versions.all(model)]})

    @router.post("/models/{model}/versions")
    def register(model: str, body: RegisterVersion, request: Request) -> Response:
        return _json(_dump(service.versions.register(model, body, principal(request))), 201)

    @router.get("/models/{model}/versions/{version}")
    def get_version(model: str, version: str) -> Response:
        return _json(_dump(service.versions.get(model, version)))

    @router.post("/models/{model}/versions/{version}/archive")
    def archive(
        model: str, version: str, request: Request, body: Archive | None = None
    ) -> Response:
        done = service.versions.archive(model, version, body or Archive(), principal(request))
        return _json(_dump(done))

    @router.get("/models/{model}/aliases")
    def list_aliases(model: str) -> Response:
        return _json({"aliases": [_dump(a) for a in service.aliases.all(model)]})

    @router.get("/models/{model}/aliases/{alias}")
    def get_alias(model: str, alias: str) -> Response:
        return _json(_dump(service.aliases.get(model, alias)))

    @router.put("/models/{model}/aliases/{alias}")
    def set_alias(model: str, alias: str, body: SetAlias, request: Request) -> Response:
        return _json(_dump(service.aliases.set(model, alias, body, principal(request))))

    @router.post("/models/{model}/aliases/{alias}/promote")
    def promote(model: str, alias: str, body: Promote, request: Request) -> Response:
        return _json(_dump(service.aliases.promote(model, alias, body, principal(request))))

    @router.post("/models/{model}/aliases/{alias}/canary")
    def canary(model: str, alias: str, body: Canary, request: Request) -> Response:
        return _json(_dump(service.aliases.canary(model, alias, body, principal(request))))

    @router.post("/models/{model}/aliases/{alias}/rollback")
    def rollback(
        model: str, alias: str, request: Request, body: Rollback | None = None
    ) -> Response:
        moved = service.aliases.rollback(model, alias, body or Rollback(), principal(request))
        return _json(_dump(moved))

    @router.get("/models/{model}/history")
    def history(
        model: str,
        limit: int = Query(default=50, ge=1, le=MAX_HISTORY_PAGE),
        cursor: str | None = None,
    ) -> Response:
        page = service.history(model, limit, cursor)
        return _json({"entries": [_dump(e) for e in page.entries], "next_cursor": page.cursor})

    @router.get("/models/{model}/metrics")
    def metrics(
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
        report = model_metrics(service, rollups, model, window, version=version, alias=alias)
        return _json(_dump(report))

    app.include_router(router)
    return app
