"""Lambda handler of the registry function: HTTP API requests and artifact upload events.

One function serves three triggers: ``handler`` sends S3 ``ObjectCreated`` notifications
of the artifacts bucket to ``on_artifact_uploaded``, CloudFormation custom resource
requests (deploys: register the model layer's versions) to ``model_layer_resource``, and
everything else through Mangum.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum

from layerserve.api.registry_app import create_registry_app
from layerserve.bootstrap import sync_model_layer
from layerserve.bootstrap.registry import build_registry_service, build_rollups
from layerserve.domain.errors import LayerserveError, ServiceUnavailableError, is_retryable
from layerserve.lambdas.model_layer_resource import is_custom_resource_event, on_custom_resource
from layerserve.services.registry import (
    RegistryService,
    UploadOutcome,
    is_s3_event,
    uploaded_objects,
)
from layerserve.services.registry.layer_sync import LayerSync
from layerserve.settings import RegistrySettings

logger = Logger(service="registry")


@cache
def registry_service() -> RegistryService:
    """Built once per execution environment from ``LAYERSERVE_*`` settings."""
    return build_registry_service(RegistrySettings())


@cache
def asgi_adapter() -> Mangum:
    rollups = build_rollups(RegistrySettings())
    return Mangum(create_registry_app(registry_service(), rollups=rollups), lifespan="off")


def on_artifact_uploaded(event: dict[str, Any]) -> dict[str, Any]:
    """Register versions from uploaded objects; storage outages raise (Lambda retries)."""
    uploads = registry_service().uploads
    if uploads is None:
        raise ServiceUnavailableError("the registry has no artifacts bucket configured")
    outcomes = []
    for uploaded in uploaded_objects(event):
        try:
            outcome = uploads.handle(uploaded)
        except LayerserveError as exc:
            if is_retryable(exc):
                raise  # an outage: Lambda retries the event
            # a bad manifest, a conflicting duplicate, a broken artifact: retrying cannot help
            outcome = UploadOutcome(uploaded.bucket, uploaded.key, "rejected", exc.message)
        logger.info("artifact upload", extra=asdict(outcome))
        outcomes.append(asdict(outcome))
    return {"outcomes": outcomes}


def on_deploy(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A stack create, update or delete: sync the mounted model layer with the registry."""

    def sync(actor: str) -> LayerSync:
        models_dir = RegistrySettings().models_dir
        return sync_model_layer(registry_service(), models_dir, actor)

    return on_custom_resource(event, context, sync)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_s3_event(event):
        return on_artifact_uploaded(event)
    if is_custom_resource_event(event):
        return on_deploy(event, context)
    response: dict[str, Any] = asgi_adapter()(event, context)  # type: ignore[arg-type]
    return response
