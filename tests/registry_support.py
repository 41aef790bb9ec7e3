"""Registry test helpers: manifests built in-process, a moto-backed registry, call locks."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry, create_registry_table
from layerserve.adapters.s3_artifacts import S3Artifacts
from layerserve.domain.manifest import (
    ArtifactInfo,
    Dim,
    Manifest,
    OnnxInfo,
    Signature,
    TensorSpec,
)
from layerserve.services.registry import RegistryService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

TABLE = "layerserve-registry"
BUCKET = "layerserve-artifacts"
Tensor = tuple[str, str, Sequence[Dim]]
DEFAULT_IO: tuple[Tensor, ...] = (("x", "FP32", ("batch", 4)),)


def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def make_manifest(
    name: str,
    version: str,
    *,
    artifact: bytes | None = None,
    inputs: Sequence[Tensor] = DEFAULT_IO,
    outputs: Sequence[Tensor] = (("y", "FP32", ("batch", 4)),),
) -> Manifest:
    """A manifest whose artifact digest is that of ``artifact`` (default: bytes of the name)."""
    data = artifact if artifact is not None else f"{name}/{version}".encode()
    return Manifest(
        name=name,
        version=version,
        onnx=OnnxInfo(
            sha256=hashlib.sha256(data + b"onnx").hexdigest(),
            size=len(data) * 2,
            ir_version=8,
            opsets={"": 17},
        ),
        artifact=ArtifactInfo(sha256=hashlib.sha256(data).hexdigest(), size=len(data)),
        signature=Signature(
            inputs=tuple(TensorSpec(name=n, datatype=d, shape=tuple(s)) for n, d, s in inputs),
            outputs=tuple(TensorSpec(name=n, datatype=d, shape=tuple(s)) for n, d, s in outputs),
        ),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@dataclass
class AwsRegistry:
    service: RegistryService
    store: DynamoDBRegistry
    dynamodb: DynamoDBClient
    s3: S3Client


@cache
def _boto_session() -> boto3.session.Session:
    """One session per process: it caches service models, so clients are cheap to create."""
    return boto3.session.Session(region_name="us-east-1")


def moto_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    """A registry over moto's DynamoDB and S3 (table and artifacts bucket created)."""
    fake_aws(monkeypatch)
    with mock_aws():
        dynamodb = _boto_session().client("dynamodb")
        s3 = _boto_session().client("s3")
        create_registry_table(dynamodb, TABLE)
        s3.create_bucket(Bucket=BUCKET)
        store = DynamoDBRegistry(TABLE, dynamodb)
        service = RegistryService(store, artifacts=S3Artifacts(s3), artifacts_bucket=BUCKET)
        yield AwsRegistry(service, store, dynamodb, s3)


def serialise_calls(client: Any) -> threading.Lock:
    """Make each AWS call of ``client`` atomic (moto's in-process backend is not thread-safe).

    Only single calls are serialised: read-modify-write sequences of our code still race.
    """
    lock = threading.Lock()
    original = client._make_api_call

    def locked(operation: str, params: dict[str, Any]) -> Any:
        with lock:
            return original(operation, params)

    client._make_api_call = locked
    return lock
