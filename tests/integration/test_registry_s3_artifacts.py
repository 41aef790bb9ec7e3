"""S3 artifacts (moto): streaming verification, bounded reads, verified cached downloads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from layerserve.adapters.s3_artifacts import S3Artifacts, S3ArtifactSource
from layerserve.domain.errors import (
    ArtifactIntegrityError,
    ArtifactMismatchError,
    InvalidInputError,
)
from layerserve.services.catalog import VersionRecord
from tests.registry_support import BUCKET, AwsRegistry, make_manifest, moto_registry

DATA = bytes(range(256)) * 40  # 10 KiB: several chunks of 4 KiB
KEY = "artifacts/m/1/model.onnx.zst"
URI = f"s3://{BUCKET}/{KEY}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    for registry in moto_registry(monkeypatch):
        registry.s3.put_object(Bucket=BUCKET, Key=KEY, Body=DATA)
        yield registry


@pytest.fixture
def artifacts(aws: AwsRegistry) -> S3Artifacts:
    return S3Artifacts(aws.s3, chunk_size=4096)


def test_verify_streams_and_compares_digest_and_size(artifacts: S3Artifacts) -> None:
    artifacts.verify(URI, hashlib.sha256(DATA).hexdigest(), len(DATA))
    with pytest.raises(ArtifactMismatchError, match="does not match its manifest"):
        artifacts.verify(URI, hashlib.sha256(DATA).hexdigest(), len(DATA) + 1)
    with pytest.raises(ArtifactMismatchError, match="does not exist"):
        artifacts.verify(f"s3://{BUCKET}/nope", "0" * 64, 1)


def test_exists_and_bounded_reads(artifacts: S3Artifacts) -> None:
    assert artifacts.exists(URI) and not artifacts.exists(f"s3://{BUCKET}/nope")
    assert artifacts.read_bytes(URI, len(DATA)) == DATA
    with pytest.raises(InvalidInputError, match="larger than"):
        artifacts.read_bytes(URI, 100)
    with pytest.raises(InvalidInputError, match="does not exist"):
        artifacts.read_bytes(f"s3://{BUCKET}/nope", 100)


def test_download_is_verified_and_atomic(artifacts: S3Artifacts, tmp_path: Path) -> None:
    target = tmp_path / "a" / "model.onnx.zst"
    assert artifacts.download(URI, target, hashlib.sha256(DATA).hexdigest()).read_bytes() == DATA
    wrong = tmp_path / "b" / "model.onnx.zst"
    with pytest.raises(ArtifactIntegrityError, match="does not match"):
        artifacts.download(URI, wrong, "0" * 64)
    assert list(wrong.parent.iterdir()) == []  # no partial file left behind
    with pytest.raises(ArtifactIntegrityError, match="does not exist"):
        artifacts.download(f"s3://{BUCKET}/nope", tmp_path / "c" / "x")


def test_the_runtime_source_caches_verified_copies(
    artifacts: S3Artifacts, aws: AwsRegistry, tmp_path: Path
) -> None:
    manifest = make_manifest("m", "1", artifact=DATA)
    source = S3ArtifactSource(artifacts, tmp_path / "cache")
    first = source.fetch(VersionRecord("m", "1", manifest, URI))
    assert first.read_bytes() == DATA
    aws.s3.delete_object(Bucket=BUCKET, Key=KEY)
    assert source.fetch(VersionRecord("m", "1", manifest, URI)) == first  # served from the cache


def test_a_request_s3_refuses_as_malformed_is_the_callers_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "get_object", service_error_code="InvalidArgument", service_message="Invalid version id"
        )
        with pytest.raises(InvalidInputError, match="Invalid version id"):
            S3Artifacts(client).verify(f"{URI}?versionId=bad", "0" * 64, 1)
