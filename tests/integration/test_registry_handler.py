"""The registry Lambda handler: API Gateway events (IAM caller recorded) and S3 upload events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import orjson
import pytest

from layerserve.adapters.dynamodb_tables import ensure_table
from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.registry import build_registry_handler
from layerserve.domain.layout import ARTIFACT_FILE, MANIFEST_FILE
from layerserve.local.events import FakeLambdaContext, decode_reply, http_api_event
from layerserve.settings import RegistrySettings
from tests import onnx_builders
from tests.apigw import rest_api_event
from tests.packaged import package
from tests.registry_support import BUCKET, TABLE, AwsRegistry, moto_registry

DEPLOYER = "arn:aws:iam::123456789012:user/deployer"
UPLOADER = "AWS:AIDAEXAMPLEUPLOADER"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


@pytest.fixture
def handler(aws: AwsRegistry) -> Handler:
    """The registry function as Lambda wires it, over moto's clients."""
    settings = RegistrySettings(registry_table=TABLE, artifacts_bucket=BUCKET)
    return build_registry_handler(settings, dynamodb=aws.dynamodb, s3=aws.s3)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layer")
    package(onnx_builders.add_mul(), root, "addmul", "1")
    package(onnx_builders.add_mul(features=8), root, "addmul", "2")
    return root / "models" / "addmul"


def invoke(handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    return handler(event, FakeLambdaContext())  # duck-typed like Lambda's own


def s3_event(key: str, bucket: str = BUCKET) -> dict[str, Any]:
    """An S3 ObjectCreated notification as Lambda receives it (keys URL-encoded)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-22T06:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": UPLOADER},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5Jg",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "artifact-uploads",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }


def upload(handler: Handler, aws: AwsRegistry, folder: Path, name: str) -> dict[str, Any]:
    """Put one file of a packaged version and deliver its event; the handler's outcome."""
    key = f"artifacts/addmul/{folder.name}/{name}"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=(folder / name).read_bytes())
    outcomes: list[dict[str, Any]] = invoke(handler, s3_event(key))["outcomes"]
    assert len(outcomes) == 1
    return outcomes[0]


def test_http_api_calls_record_the_iam_caller(
    handler: Handler, aws: AwsRegistry, packaged: Path
) -> None:
    manifest = orjson.loads((packaged / "1" / MANIFEST_FILE).read_bytes())
    body = orjson.dumps({"manifest": manifest, "location": "models/addmul/1"})
    headers = {"content-type": "application/json"}
    event = http_api_event("POST", "/registry/models/addmul/versions", body, headers, "", DEPLOYER)
    created = decode_reply(invoke(handler, event))
    assert created.status == 201, created.body
    promote = orjson.dumps({"version": "1", "reason": "launch"})
    rest = rest_api_event(
        "POST", "/registry/models/addmul/aliases/production/promote", promote, headers
    )
    rest["requestContext"]["identity"]["userArn"] = "arn:aws:iam::123456789012:user/ops"
    assert decode_reply(invoke(handler, rest)).status == 200
    reply = decode_reply(invoke(handler, http_api_event("GET", "/registry/models/addmul/history")))
    entries = orjson.loads(reply.body)["entries"]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("promote", "arn:aws:iam::123456789012:user/ops"),
        ("register", DEPLOYER),
        ("create_model", DEPLOYER),
    ]
    missing = decode_reply(invoke(handler, http_api_event("GET", "/registry/models/nope")))
    assert (missing.status, orjson.loads(missing.body)) == (
        404,
        {"error": "model 'nope' not found"},
    )


def test_manifest_then_artifact_registers_once(
    handler: Handler, aws: AwsRegistry, packaged: Path
) -> None:
    folder = packaged / "1"
    assert upload(handler, aws, folder, MANIFEST_FILE)["result"] == "registered"
    assert aws.store.get_version("addmul", "1").status == "registered"  # type: ignore[union-attr]
    ready = upload(handler, aws, folder, ARTIFACT_FILE)
    assert ready["result"] == "ready"
    assert ready["detail"] == f"s3://{BUCKET}/artifacts/addmul/1/{ARTIFACT_FILE}"
    history = aws.service.history("addmul").entries
    assert upload(handler, aws, folder, ARTIFACT_FILE)["result"] == "ready"  # duplicate: harmless
    assert aws.service.history("addmul").entries == history
    assert history[0].actor == f"s3-upload:{UPLOADER}"


def test_artifact_then_manifest_registers(
    handler: Handler, aws: AwsRegistry, packaged: Path
) -> None:
    assert upload(handler, aws, packaged / "2", ARTIFACT_FILE)["result"] == "waiting"
    assert aws.store.get_model("addmul") is None
    assert upload(handler, aws, packaged / "2", MANIFEST_FILE)["result"] == "ready"


def test_a_corrupt_upload_fails_visibly_and_a_fixed_one_recovers(
    handler: Handler, aws: AwsRegistry, packaged: Path, tmp_path: Path
) -> None:
    corrupt = tmp_path / "1"
    corrupt.mkdir()
    (corrupt / MANIFEST_FILE).write_bytes((packaged / "1" / MANIFEST_FILE).read_bytes())
    (corrupt / ARTIFACT_FILE).write_bytes(b"truncated")
    upload(handler, aws, corrupt, MANIFEST_FILE)
    failed = upload(handler, aws, corrupt, ARTIFACT_FILE)
    assert failed["result"] == "failed" and "does not match its manifest" in failed["detail"]
    stored = aws.store.get_version("addmul", "1")
    assert stored is not None and stored.status == "failed" and stored.status_reason
    assert upload(handler, aws, packaged / "1", ARTIFACT_FILE)["result"] == "ready"


def test_a_different_artifact_for_a_ready_version_is_rejected(
    handler: Handler, aws: AwsRegistry, packaged: Path
) -> None:
    upload(handler, aws, packaged / "1", ARTIFACT_FILE)
    upload(handler, aws, packaged / "1", MANIFEST_FILE)
    other = packaged / "2"  # version 2's manifest says "2": rename it to clash with version 1
    manifest = orjson.loads((other / MANIFEST_FILE).read_bytes()) | {"version": "1"}
    key = f"artifacts/addmul/1/{MANIFEST_FILE}"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=orjson.dumps(manifest))
    outcome = invoke(handler, s3_event(key))["outcomes"][0]
    assert outcome["result"] == "rejected" and "another artifact" in outcome["detail"]


@pytest.mark.parametrize(
    "key", ["uploads/addmul/1/model.onnx.zst", "artifacts/addmul/1/notes+v2.txt", "artifacts/x"]
)
def test_other_objects_are_ignored(handler: Handler, aws: AwsRegistry, key: str) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert invoke(handler, s3_event(key))["outcomes"][0]["result"] == "ignored"
    assert (
        invoke(handler, s3_event(key, bucket="another-bucket"))["outcomes"][0]["result"]
        == "ignored"
    )


@pytest.mark.parametrize(("rollups_table", "status"), [(None, 503), ("layerserve-metrics", 200)])
def test_metrics_queries_are_answered_when_the_settings_name_a_rollups_table(
    aws: AwsRegistry, packaged: Path, rollups_table: str | None, status: int
) -> None:
    ensure_table(aws.dynamodb, "layerserve-metrics")
    settings = RegistrySettings(registry_table=TABLE, rollups_table=rollups_table)
    handler = build_registry_handler(settings, dynamodb=aws.dynamodb, s3=aws.s3)
    manifest = orjson.loads((packaged / "1" / MANIFEST_FILE).read_bytes())
    body = orjson.dumps({"manifest": manifest, "location": "models/addmul/1"})
    headers = {"content-type": "application/json"}
    register = http_api_event("POST", "/registry/models/addmul/versions", body, headers)
    assert decode_reply(invoke(handler, register)).status == 201
    query = http_api_event("GET", "/registry/models/addmul/metrics", query="version=1")
    reply = decode_reply(invoke(handler, query))
    assert reply.status == status, reply.body
