"""The Docker-free local stack: every function behind one HTTP server, one AWS endpoint.

By default an embedded AWS emulator (moto server) runs on 127.0.0.1 and the stack
creates its tables and buckets there; with ``embedded_aws=False`` the handlers use
whatever the environment names (``AWS_ENDPOINT_URL``, or real AWS).

Each function's handler is built by its ``layerserve.bootstrap`` factory, as in Lambda,
from a settings object (``StackSettings``: what the template's environment variables
say there) and clients pointed at the stack's endpoint.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from layerserve.domain.guardrails import CanaryPolicy
from layerserve.local.auth import (
    Authorizer,
    JwtAuthorizer,
    LocalIssuer,
    SigV4Authorizer,
)
from layerserve.local.gateway import LocalGateway, Route
from layerserve.local.guardrails import GuardrailReport
from layerserve.local.layer_registrations import only_served_layer_versions
from layerserve.local.logs import LogSubscription, Ticker
from layerserve.local.provision import StackNames, provision
from layerserve.local.seed import SeededModel, seed_registry
from layerserve.services.registry import RegistryService
from layerserve.settings import (
    BatchSettings,
    GuardrailSettings,
    InferenceSettings,
    MetricsSettings,
    RegistrySettings,
)

if TYPE_CHECKING:
    from layerserve.bootstrap.lazy import Handler

# The functions' modules (``layerserve.bootstrap.*``) are imported when the stack starts,
# as Lambda imports a function's code at its init: their Powertools loggers read
# ``POWERTOOLS_LOG_LEVEL`` then, after ``layerserve dev`` has set it.
REGION = "us-east-1"
LOCAL_CREDENTIALS = {"local": "local"}
"""The access key and secret the stack prints for signing registry calls."""
INFERENCE_AUTH = ("NONE", "AWS_IAM", "JWT")
LOCAL_ISSUER = "https://issuer.layerserve.invalid/local"
LOCAL_AUDIENCE = "layerserve"
LOG_DELIVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class StackOptions:
    models_root: Path
    scratch_dir: Path
    embedded_aws: bool = True
    aws_port: int = 0
    names: StackNames = field(default_factory=StackNames)
    canary_weight: int | None = None
    registry_ttl_s: float = 2.0
    tick_s: float = 5.0
    canary_policy: CanaryPolicy | None = None
    """The seeded canary's guardrails; ``None`` leaves it unguarded."""
    inference_auth: str = "NONE"
    """The template's InferenceAuth for the model routes: NONE, AWS_IAM or JWT."""


@dataclass(frozen=True, slots=True)
class StackSettings:
    """What each function of the stack is configured with (in Lambda: its environment)."""

    registry: RegistrySettings
    metrics: MetricsSettings
    guardrails: GuardrailSettings
    batch: BatchSettings
    inference: InferenceSettings


def stack_settings(options: StackOptions) -> StackSettings:
    names = options.names
    models_dir = options.models_root.resolve()
    return StackSettings(
        registry=RegistrySettings(
            registry_table=names.registry_table,
            artifacts_bucket=names.artifacts_bucket,
            rollups_table=names.rollups_table,
            models_dir=models_dir,
        ),
        metrics=MetricsSettings(rollups_table=names.rollups_table),
        guardrails=GuardrailSettings(
            rollups_table=names.rollups_table, registry_table=names.registry_table
        ),
        batch=BatchSettings(idempotency_table=names.idempotency_table),
        inference=InferenceSettings(
            models_dir=models_dir,
            scratch_dir=options.scratch_dir,
            registry_table=names.registry_table,
            registry_ttl_s=options.registry_ttl_s,
        ),
    )


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.settings = stack_settings(options)
        self.registry: RegistryService | None = None
        """The registry the stack seeded (set by ``start``)."""
        self.endpoint: str | None = None
        self.seeded: list[SeededModel] = []
        self._moto: Any = None
        self._tickers: list[Any] = []
        self._batch: Any = None
        self.issuer: LocalIssuer | None = None
        """With ``inference_auth="JWT"``: the local issuer whose tokens the stack accepts."""

    def start(self) -> LocalGateway:
        """Start AWS, provision, seed the registry; return the gateway to serve."""
        if self.options.embedded_aws:
            self._start_emulator()
        else:
            self.endpoint = os.environ.get("AWS_ENDPOINT_URL")
        if self.endpoint is not None:
            provision(self.options.names, self.client("dynamodb"), self.client("s3"))
        from layerserve.bootstrap.registry_service import build_registry_service

        registry = self.settings.registry
        self.registry = build_registry_service(
            registry.registry_table,
            dynamodb=self.client("dynamodb"),
            artifacts_bucket=registry.artifacts_bucket,
            s3=self.client("s3"),
        )
        self.seeded = seed_registry(
            self.registry,
            self.options.models_root,
            self.options.canary_weight,
            self.options.canary_policy,
        )
        gateway = LocalGateway(self._routes())
        self._start_batch()
        return gateway

    def stop(self) -> None:
        for ticker in self._tickers:
            ticker.stop()
        if self._batch is not None:
            self._batch.stop()
        if self._moto is not None:
            self._moto.stop()

    def client(self, service: str) -> Any:
        """A client of the stack's AWS: the emulator, ``AWS_ENDPOINT_URL`` or real AWS."""
        region = os.environ.get("AWS_DEFAULT_REGION", REGION)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region)  # type: ignore[call-overload]

    def _start_emulator(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
        self._moto = ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.options.aws_port, verbose=False
        )
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        for key, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
        }.items():
            os.environ[key] = value

    def _registry_handler(self) -> Handler:
        """The registry function, wired as in Lambda, over the stack's endpoint."""
        from layerserve.bootstrap.registry import build_registry_handler

        return build_registry_handler(
            self.settings.registry, dynamodb=self.client("dynamodb"), s3=self.client("s3")
        )

    def _routes(self) -> list[Route]:
        from layerserve.bootstrap.inference import build_inference_handler
        from layerserve.bootstrap.metrics import build_metrics_handler

        # The metrics function's init phase: its clients exist before its first tick, which
        # would otherwise build them while requests wait for the interpreter.
        fold = build_metrics_handler(self.settings.metrics, dynamodb=self.client("dynamodb"))
        logs = LogSubscription(lambda event: fold(event, _context("metrics")))
        inference = build_inference_handler(
            self.settings.inference,
            dynamodb=self.client("dynamodb"),
            s3=self.client("s3"),
            record_sink=logs.write,
        ).handler
        # Deliveries at most a second apart, as CloudWatch Logs streams them: many small
        # batches, not one large one per tick that holds the interpreter while requests wait.
        self._tickers.append(Ticker(min(self.options.tick_s, LOG_DELIVERY_S), logs.flush))
        self._tickers.append(self._guardrail_ticker())
        for ticker in self._tickers:
            ticker.start()
        iam = SigV4Authorizer(self.signing_secrets())
        models = self._inference_authorizer(iam)
        v2 = Route("/v2", inference)  # health and server metadata stay open
        return [
            v2,
            Route("/v2/models", inference, models, lock=v2.lock),  # the same function
            Route("/v1", inference, models, lock=v2.lock),
            Route(
                "/registry",
                only_served_layer_versions(self._registry_handler(), self.options.models_root),
                iam,
            ),
        ]

    def signing_secrets(self) -> dict[str, str]:
        """Access keys whose SigV4 signatures the stack accepts, with their secrets: the
        printed local pair, and the credentials the stack itself runs with."""
        secrets = dict(LOCAL_CREDENTIALS)
        own = boto3.session.Session().get_credentials()
        if own is not None:
            frozen = own.get_frozen_credentials()
            if frozen.access_key and frozen.secret_key:
                secrets[frozen.access_key] = frozen.secret_key
        return secrets

    def _inference_authorizer(self, iam: Authorizer) -> Authorizer | None:
        mode = self.options.inference_auth
        if mode not in INFERENCE_AUTH:
            raise ValueError(f"inference auth must be one of {', '.join(INFERENCE_AUTH)}")
        if mode == "AWS_IAM":
            return iam
        if mode == "JWT":
            self.issuer = LocalIssuer(LOCAL_ISSUER, LOCAL_AUDIENCE)
            return JwtAuthorizer(self.issuer)
        return None

    def _start_batch(self) -> None:
        """The batch function: S3 events for new uploads under the input prefix."""
        from layerserve.bootstrap import build_inference_service
        from layerserve.local.s3_events import start_local_batch

        s3, dynamodb = self.client("s3"), self.client("dynamodb")
        # The batch function's own inference service, as in its own execution environment.
        service = build_inference_service(self.settings.inference, dynamodb=dynamodb, s3=s3)
        self._batch = start_local_batch(
            s3, dynamodb, self.options.names.uploads_bucket, self.settings.batch, service
        )

    def _guardrail_ticker(self) -> Ticker:
        """The metrics function's schedule: evaluate every guarded canary each tick."""
        from layerserve.bootstrap.guardrails import build_guardrails_handler

        guardrails = build_guardrails_handler(
            self.settings.guardrails, dynamodb=self.client("dynamodb")
        )
        report = GuardrailReport(lambda line: print(line, flush=True))  # noqa: T201
        return Ticker(
            self.options.tick_s,
            lambda: report.show(guardrails({}, _context("metrics"))),
        )


def _context(function: str) -> Any:
    from layerserve.local.events import FakeLambdaContext

    return FakeLambdaContext(function_name=f"layerserve-{function}")
