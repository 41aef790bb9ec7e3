"""A registry, rollups and the real inference and metrics handlers over moto, for canary tests.

Model ``score`` (input ``x`` FP32 [batch, 4], output ``y``) has four versions with one
signature: 1 and 2 are ``y = x``, 3 fails unless the batch is a multiple of 3, and
4 is ``y = x + 3``. Its ``production`` alias starts on version 1.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.adapters.dynamodb_tables import ensure_table
from layerserve.adapters.onnx_graph import OnnxToolkit
from layerserve.bootstrap.guardrails import build_guardrails_handler
from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.metrics import build_metrics_handler
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.domain.manifest import Manifest
from layerserve.domain.registry import Alias, HistoryEntry
from layerserve.domain.routing import canonical_routes, pick_version
from layerserve.local.events import FakeLambdaContext, decode_reply
from layerserve.local.logs import LogSubscription
from layerserve.services.packaging import PackageRequest, package_model
from layerserve.services.registry import Canary, Promote, RegisterVersion
from layerserve.settings import GuardrailSettings, MetricsSettings
from tests import onnx_builders
from tests.apigw import http_api_event
from tests.conftest import Invoke, invoke_on_first_use
from tests.packaged import package
from tests.registry_support import TABLE, AwsRegistry, moto_registry

ROLLUPS = "layerserve-rollups"
MODEL = "score"
ALIAS = "production"
ME = "arn:aws:iam::123456789012:user/deployer"
METRICS = MetricsSettings(rollups_table=ROLLUPS)
GUARDRAILS = GuardrailSettings(rollups_table=ROLLUPS, registry_table=TABLE)


def build_layer(layer: Path) -> Path:
    """Package the four versions of ``score`` into ``layer``; return the models root."""
    package(onnx_builders.identity(), layer, MODEL, "1")
    package(onnx_builders.identity(), layer, MODEL, "2")
    fragile = PackageRequest(
        name=MODEL, version="3", samples={"x": np.ones((3, 4), dtype=np.float32)}
    )
    package_model(
        onnx_builders.fails_unless_batch_divides().SerializeToString(),
        fragile,
        layer,
        OnnxToolkit(),
    )
    package(onnx_builders.shifted(3.0), layer, MODEL, "4")
    return layer / "models"


@dataclass
class Stack:
    aws: AwsRegistry
    invoke: Invoke
    logs: LogSubscription
    rollups: DynamoDBRollups

    def canary(self, version: str, weight: int, policy: CanaryPolicy | None) -> Alias:
        command = Canary(version=version, weight=weight, policy=policy, reason="try it")
        return self.aws.service.aliases.canary(MODEL, ALIAS, command, ME)

    def alias(self) -> Alias:
        return self.aws.service.aliases.get(MODEL, ALIAS)

    def history(self) -> list[HistoryEntry]:
        return self.aws.service.history(MODEL, limit=100).entries

    def drive(self, count: int, *, first: int = 0, batches: tuple[int, ...] = (1,)) -> None:
        """``count`` requests with distinct routing keys, then deliver their records."""
        rng = np.random.default_rng(first)
        for i in range(first, first + count):
            rows = batches[i % len(batches)]
            data = np.round(rng.normal(size=rows * 4), 4).tolist()
            body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [rows, 4], "data": data}]}
            headers = {"x-routing-key": f"user-{i}"}
            self.invoke(http_api_event("POST", f"/v2/models/{MODEL}/infer", body, headers))
        self.logs.flush()

    def send(
        self, body: dict[str, Any], *, key: str | None = None, path: str | None = None
    ) -> tuple[int, str | None]:
        """One request through the alias (or to ``path``): status and ``model_version``."""
        headers = {"x-routing-key": key} if key is not None else {}
        target = path or f"/v2/models/{MODEL}/infer"
        reply = decode_reply(self.invoke(http_api_event("POST", target, body, headers)))
        answer = orjson.loads(reply.body) if reply.body else {}
        return reply.status, answer.get("model_version")

    def keys_to(self, version: str, count: int, prefix: str = "k") -> list[str]:
        """``count`` routing keys that the alias's current routes send to ``version``."""
        routes = canonical_routes(self.alias().routes)
        found = (f"{prefix}-{i}" for i in itertools.count())
        chosen = (key for key in found if pick_version(routes, key, random.random) == version)
        return list(itertools.islice(chosen, count))

    def guardrails(self, ahead: timedelta = timedelta(0)) -> dict[str, Any]:
        """One scheduled run, with the clock ``ahead`` of now (bake time without sleeping)."""
        handler = build_guardrails_handler(
            GUARDRAILS, dynamodb=self.aws.dynamodb, clock=lambda: datetime.now(UTC) + ahead
        )
        return handler(SCHEDULE_EVENT, FakeLambdaContext())


def rows(count: int, seed: int = 0) -> dict[str, Any]:
    """A valid request body for ``score``: ``count`` rows of four floats."""
    data = np.round(np.random.default_rng(seed).normal(size=count * 4), 4).tolist()
    return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [count, 4], "data": data}]}


SCHEDULE_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2025-03-01T12:10:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/layerserve-guardrails"],
    "detail": {},
}


def deliver(metrics: Handler, payload: dict[str, Any]) -> None:
    """What the log subscription does: invoke the metrics function with the batch."""
    metrics(payload, FakeLambdaContext())


def moto_stack(monkeypatch: pytest.MonkeyPatch, models_root: Path) -> Iterator[Stack]:
    """Versions registered from ``models_root``, production on 1, records flowing to rollups.

    Needs the ``inference_environment`` fixture (the inference function's settings)."""
    for aws in moto_registry(monkeypatch):
        ensure_table(aws.dynamodb, ROLLUPS)
        for version in ("1", "2", "3", "4"):
            manifest = Manifest.from_json(
                (models_root / MODEL / version / "manifest.json").read_bytes()
            )
            command = RegisterVersion(manifest=manifest, location=f"models/{MODEL}/{version}")
            aws.service.versions.register(MODEL, command, ME)
        aws.service.aliases.promote(MODEL, ALIAS, Promote(version="1"), ME)
        monkeypatch.setenv("LAYERSERVE_REGISTRY_TABLE", TABLE)
        monkeypatch.setenv("LAYERSERVE_REGISTRY_TTL_S", "0")
        logs = LogSubscription(
            partial(deliver, build_metrics_handler(METRICS, dynamodb=aws.dynamodb))
        )
        rollups = DynamoDBRollups(ROLLUPS, aws.dynamodb)
        yield Stack(aws, invoke_on_first_use(logs.write), logs, rollups)
