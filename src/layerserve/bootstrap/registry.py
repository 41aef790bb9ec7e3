"""Wiring of the registry function: settings and injected clients in, its handler out.

One function serves three triggers: S3 ``ObjectCreated`` notifications of the artifacts
bucket register versions (``on_artifact_uploaded``), a deploy's CloudFormation custom
resource registers the model layer's versions (``adapters/model_layer_resource.py``),
and everything else is an HTTP API request for ``api/registry_app.py`` through Mangum.

``build_registry_handler(settings, dynamodb=..., s3=...)`` is what Lambda runs
(``layerserve.lambdas.registry`` builds it on the first invocation);
``make_registry_handler`` builds the same handler over a service the caller has.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from mangum import Mangum

from layerserve.adapters.model_layer_resource import (
    Sync,
    is_custom_resource_event,
    on_custom_resource,
)
from layerserve.api.registry_app import create_registry_app
from layerserve.bootstrap import sync_model_layer
from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.registry_service import build_registry_service
from layerserve.bootstrap.rollups import build_rollups
from layerserve.domain.errors import LayerserveError, ServiceUnavailableError, is_retryable
from layerserve.services.metrics.aggregation import RollupReader
from layerserve.services.registry import (
    RegistryService,
    UploadOutcome,
    is_s3_event,
    uploaded_objects,
)
from layerserve.settings import RegistrySettings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

logger = Logger(service="registry")


def build_registry_handler(
    settings: RegistrySettings,
    *,
    dynamodb: DynamoDBClient | None = None,
    s3: S3Client | None = None,
) -> Handler:
    """The registry function's handler; clients are created here unless injected."""
    dynamodb = dynamodb or boto3.client("dynamodb")
    service = build_registry_service(
        settings.registry_table,
        dynamodb=dynamodb,
        artifacts_bucket=settings.artifacts_bucket,
        s3=s3,
    )
    table = settings.rollups_table  # optional: without it the API answers no metrics query
    return make_registry_handler(
        service,
        sync=partial(sync_model_layer, service, settings.models_dir),
        rollups=build_rollups(table, dynamodb=dynamodb) if table else None,
    )


def make_registry_handler(
    service: RegistryService, *, sync: Sync, rollups: RollupReader | None = None
) -> Handler:
    """The handler over ``service``; ``sync(actor)`` registers the mounted model layer."""
    http = Mangum(create_registry_app(service, rollups=rollups), lifespan="off")

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if is_s3_event(event):
            return on_artifact_uploaded(service, event)
        if is_custom_resource_event(event):
            return on_custom_resource(event, context, sync)
        response: dict[str, Any] = http(event, context)
        return response

    return handler


def on_artifact_uploaded(service: RegistryService, event: dict[str, Any]) -> dict[str, Any]:
    """Register versions from uploaded objects; storage outages raise (Lambda retries)."""
    if service.uploads is None:
        raise ServiceUnavailableError("the registry has no artifacts bucket configured")
    outcomes = []
    for uploaded in uploaded_objects(event):
        try:
            outcome = service.uploads.handle(uploaded)
        except LayerserveError as exc:
            if is_retryable(exc):
                raise  # an outage: Lambda retries the event
            # a bad manifest, a conflicting duplicate, a broken artifact: retrying cannot help
            outcome = UploadOutcome(uploaded.bucket, uploaded.key, "rejected", exc.message)
        logger.info("artifact upload", extra=asdict(outcome))
        outcomes.append(asdict(outcome))
    return {"outcomes": outcomes}
