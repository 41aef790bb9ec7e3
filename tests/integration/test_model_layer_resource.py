"""Deploy answers: the registry function as CloudFormation custom resource, through its handler.

Events have the shape CloudFormation sends to a Lambda-backed custom resource; the
pre-signed ResponseURL points at an HTTP server on 127.0.0.1 that records each PUT.
The registry lives in moto; the model layer is a folder of packaged versions.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from layerserve.adapters import model_layer_resource
from layerserve.bootstrap.lazy import Handler
from layerserve.bootstrap.registry import build_registry_handler, make_registry_handler
from layerserve.domain.errors import ServiceUnavailableError
from layerserve.domain.registry import VersionStatus
from layerserve.lambdas import registry as lambda_registry
from layerserve.local.events import FakeLambdaContext
from layerserve.services.registry import Promote, RegisterVersion
from layerserve.settings import RegistrySettings
from tests import onnx_builders
from tests.packaged import package
from tests.registry_support import BUCKET, TABLE, AwsRegistry, make_manifest, moto_registry

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/layerserve/"
    "5b4a7c30-9d1e-11ef-8e2a-0affd1a2b3c4"
)
SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:layerserve-RegistryFunction-AbC123"
ACTOR = "cloudformation:layerserve"


@dataclass
class Responses:
    """What CloudFormation's pre-signed URL received."""

    url: str
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def only(self) -> dict[str, Any]:
        ((path, headers, body),) = self.received
        assert path.startswith("/cloudformation-custom-resource-response-useast1/")
        assert headers.get("content-type", "") == "", "the URL is signed for no content type"
        return body


@pytest.fixture
def responses() -> Iterator[Responses]:
    received: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            received.append((self.path, headers, orjson.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    path = "/cloudformation-custom-resource-response-useast1/arn%3Aaws%3Acloudformation"
    try:
        yield Responses(f"http://{host!s}:{port}{path}?X-Amz-Signature=abc", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Packaged versions to assemble layers from: addmul 1, 2, 3 and iris 1."""
    root = tmp_path_factory.mktemp("built")
    package(onnx_builders.add_mul(), root, "addmul", "1")
    package(onnx_builders.add_mul(), root, "addmul", "2")
    package(onnx_builders.add_mul(), root, "addmul", "3")
    package(onnx_builders.identity(), root, "iris", "1")
    return root / "models"


def layer(built: Path, target: Path, *versions: str) -> Path:
    """A model layer mount holding ``versions`` (``model/version``)."""
    for name in versions:
        shutil.copytree(built / name, target / name)
    return target


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


@pytest.fixture
def handler(aws: AwsRegistry, tmp_path: Path) -> Handler:
    """The registry function as Lambda wires it, with the model layer mounted in tmp_path."""
    settings = RegistrySettings(
        registry_table=TABLE, artifacts_bucket=BUCKET, models_dir=mount(tmp_path)
    )
    return build_registry_handler(settings, dynamodb=aws.dynamodb, s3=aws.s3)


def mount(tmp_path: Path) -> Path:
    return tmp_path / "opt" / "models"


def cfn_event(
    request: str, url: str, layer_arn: str, old_layer_arn: str | None = None
) -> dict[str, Any]:
    """A custom resource request as CloudFormation sends it to the ServiceToken function."""
    event: dict[str, Any] = {
        "RequestType": request,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": url,
        "StackId": STACK_ID,
        "RequestId": f"{request.lower()}-3f5e-4c1a-9b7d-0c2e1f4a6b8d",
        "LogicalResourceId": "ModelLayerVersions",
        "ResourceType": "Custom::ModelLayerVersions",
        "ResourceProperties": {"ServiceToken": SERVICE_TOKEN, "ModelsLayer": layer_arn},
    }
    if request != "Create":
        event["PhysicalResourceId"] = "layerserve-model-layer-versions"
    if old_layer_arn is not None:
        event["OldResourceProperties"] = {
            "ServiceToken": SERVICE_TOKEN,
            "ModelsLayer": old_layer_arn,
        }
    return event


def layer_arn(version: int) -> str:
    return f"arn:aws:lambda:us-east-1:123456789012:layer:layerserve-models:{version}"


def invoke(handler: Handler, event: dict[str, Any], remaining_ms: int = 120_000) -> dict[str, Any]:
    context = FakeLambdaContext()
    context.remaining_ms = remaining_ms
    return handler(event, context)


def routes(aws: AwsRegistry, model: str) -> list[tuple[str, int]]:
    alias = aws.store.get_alias(model, "production")
    assert alias is not None
    return [(route.version, route.weight) for route in alias.routes]


def test_create_registers_the_layer_and_gives_each_model_a_default_alias(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    layer(built, mount(tmp_path), "addmul/1", "addmul/2", "iris/1")
    answer = invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body == answer
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert (body["StackId"], body["LogicalResourceId"]) == (STACK_ID, "ModelLayerVersions")
    assert body["RequestId"] == "create-3f5e-4c1a-9b7d-0c2e1f4a6b8d"
    assert body["PhysicalResourceId"] == "layerserve-model-layer-versions"
    assert body["Data"]["Registered"] == "addmul/1, addmul/2, iris/1"
    assert body["Data"]["Aliases"] == "addmul:production=2, iris:production=1"
    for model, version in [("addmul", "1"), ("addmul", "2"), ("iris", "1")]:
        found = aws.store.get_version(model, version)
        assert found is not None and found.status is VersionStatus.READY
        assert found.location == f"models/{model}/{version}"
    assert routes(aws, "addmul") == [("2", 100)]
    assert routes(aws, "iris") == [("1", 100)]
    assert {entry.actor for entry in aws.service.history("addmul").entries} == {ACTOR}


def test_update_registers_new_versions_and_never_moves_an_alias(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    layer(built, mount(tmp_path), "addmul/1", "addmul/2")
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    rollback_target = Promote(version="1", reason="2 misbehaves")
    aws.service.aliases.promote("addmul", "production", rollback_target, "ops")
    layer(built, mount(tmp_path), "addmul/3", "iris/1")
    responses.received.clear()
    invoke(handler, cfn_event("Update", responses.url, layer_arn(2), layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["Data"]["Registered"] == "addmul/3, iris/1"
    assert body["Data"]["Unchanged"] == "addmul/1, addmul/2"
    assert body["Data"]["Aliases"] == "iris:production=1"
    assert routes(aws, "addmul") == [("1", 100)], "an existing alias stays where it is"
    ready = aws.store.get_version("addmul", "3")
    assert ready is not None and ready.status is VersionStatus.READY
    history = len(aws.service.history("addmul").entries)
    responses.received.clear()
    invoke(
        handler, cfn_event("Update", responses.url, layer_arn(2), layer_arn(1))
    )  # again: no change
    assert responses.only()["Data"]["Registered"] == ""
    assert len(aws.service.history("addmul").entries) == history


def test_a_layer_version_that_differs_from_the_registered_one_fails_the_deploy(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    layer(built, mount(tmp_path), "addmul/1", "iris/1")
    command = RegisterVersion(manifest=make_manifest("addmul", "1"), location="models/addmul/1")
    aws.service.versions.register("addmul", command, "someone")  # other bytes, same name
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert "addmul/1 in the model layer differs from the registered version" in body["Reason"]
    assert "new version" in body["Reason"]
    assert routes(aws, "iris") == [("1", 100)], "the other models are still synced"


def test_delete_succeeds_even_when_the_registry_is_gone(
    handler: Handler, aws: AwsRegistry, responses: Responses
) -> None:
    aws.dynamodb.delete_table(TableName=TABLE)
    invoke(handler, cfn_event("Delete", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "layerserve-model-layer-versions"


def test_an_unreachable_registry_fails_the_create_with_its_reason(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    layer(built, mount(tmp_path), "iris/1")
    aws.dynamodb.delete_table(TableName=TABLE)
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert body["Reason"], "CloudFormation shows the reason in the stack events"
    assert body["PhysicalResourceId"] == "layerserve-model-layer-versions"


def test_missing_settings_still_answer(
    aws: AwsRegistry, responses: Responses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Lambda entry point reads the environment; without a registry table it cannot
    wire the function, yet CloudFormation hears the reason, and a Delete succeeds."""
    monkeypatch.delenv("LAYERSERVE_REGISTRY_TABLE", raising=False)
    entry = lambda_registry.entry_point(lambda: build_registry_handler(RegistrySettings()))
    invoke(entry, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert "registry_table" in body["Reason"]
    responses.received.clear()
    invoke(entry, cfn_event("Delete", responses.url, layer_arn(1)))
    assert responses.only()["Status"] == "SUCCESS"
    with pytest.raises(ValidationError, match="registry_table"):  # any other event: Lambda's error
        entry({"rawPath": "/registry/info"}, FakeLambdaContext())


def test_an_unreadable_manifest_in_the_layer_fails_the_deploy(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    models = layer(built, mount(tmp_path), "iris/1")
    (models / "iris" / "1" / "manifest.json").write_text("{not json", encoding="utf-8")
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert "unreadable manifest" in body["Reason"]


def test_a_broken_artifact_in_the_layer_is_not_registered_and_fails_the_deploy(
    handler: Handler, aws: AwsRegistry, responses: Responses, built: Path, tmp_path: Path
) -> None:
    models = layer(built, mount(tmp_path), "addmul/1", "iris/1")
    artifact = models / "iris" / "1" / "model.onnx.zst"
    data = artifact.read_bytes()
    artifact.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one bit pattern changed
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)))
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert "iris/1: the layer's artifact does not match the sha256" in body["Reason"]
    assert aws.store.get_version("iris", "1") is None
    assert routes(aws, "addmul") == [("1", 100)], "the intact model is still served"


def test_a_sync_that_outlasts_the_function_answers_failed_in_time(
    aws: AwsRegistry, responses: Responses
) -> None:
    release = threading.Event()

    def stuck(*args: Any) -> Any:
        release.wait(30)
        raise ServiceUnavailableError("too late")

    handler = make_registry_handler(aws.service, sync=stuck)
    started = time.monotonic()
    remaining = model_layer_resource.RESPONSE_RESERVE_MS + 1000
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)), remaining_ms=remaining)
    release.set()
    assert time.monotonic() - started < 5
    body = responses.only()
    assert body["Status"] == "FAILED"
    assert "not synced within" in body["Reason"]


def test_other_resource_types_and_request_types_fail_cleanly(
    handler: Handler, aws: AwsRegistry, responses: Responses
) -> None:
    wrong = cfn_event("Create", responses.url, layer_arn(1)) | {"ResourceType": "Custom::Other"}
    invoke(handler, wrong)
    assert responses.only()["Status"] == "FAILED"
    responses.received.clear()
    invoke(handler, cfn_event("Create", responses.url, layer_arn(1)) | {"RequestType": "Rename"})
    assert "unknown RequestType" in responses.only()["Reason"]
