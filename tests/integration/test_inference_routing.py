"""Inference resolves names through the registry: aliases, canaries, rollbacks, S3 versions."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from layerserve.domain.manifest import Manifest
from layerserve.services.registry import Archive, Canary, Promote, RegisterVersion, Rollback
from tests.apigw import http_api_event, reply_json
from tests.conftest import Invoke
from tests.registry_support import BUCKET, TABLE, AwsRegistry, moto_registry

TTL_S = 0.3
ME = "arn:aws:iam::123456789012:user/tester"
REQUEST = {
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [1, 1, 1, 1]},
    ]
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    yield from moto_registry(monkeypatch)


def _manifest(models_root: Path, name: str, version: str) -> Manifest:
    return Manifest.from_json((models_root / name / version / "manifest.json").read_bytes())


@pytest.fixture
def routed(
    aws: AwsRegistry, models_root: Path, inference_handler: Invoke, monkeypatch: pytest.MonkeyPatch
) -> Invoke:
    """addmul 1 and 2 registered from the layer, production → 1, inference over the registry."""
    for version in ("1", "2"):
        command = RegisterVersion(
            manifest=_manifest(models_root, "addmul", version),
            location=f"models/addmul/{version}",
        )
        aws.service.versions.register("addmul", command, ME)
    aws.service.aliases.promote("addmul", "production", Promote(version="1"), ME)
    monkeypatch.setenv("LAYERSERVE_REGISTRY_TABLE", TABLE)
    monkeypatch.setenv("LAYERSERVE_REGISTRY_TTL_S", str(TTL_S))
    return inference_handler


def _infer(invoke: Invoke, path: str = "/v2/models/addmul/infer", **headers: str) -> Any:
    return reply_json(invoke(http_api_event("POST", path, REQUEST, headers)))


def _wait_for_version(invoke: Invoke, version: str, limit_s: float) -> float:
    started = time.monotonic()
    while _infer(invoke)["model_version"] != version:
        assert time.monotonic() - started < limit_s, f"version {version} never served"
        time.sleep(0.02)
    return time.monotonic() - started


def test_default_alias_named_alias_and_explicit_version(routed: Invoke) -> None:
    assert _infer(routed)["model_version"] == "1"
    assert _infer(routed, "/v2/models/addmul/versions/production/infer")["model_version"] == "1"
    assert _infer(routed, "/v2/models/addmul/versions/2/infer")["model_version"] == "2"
    missing = _infer(routed, "/v2/models/addmul/versions/nope/infer")
    assert "version 'nope' of model 'addmul' not found" in missing["error"]


def test_promote_and_rollback_reach_inference_within_the_ttl(
    routed: Invoke, aws: AwsRegistry
) -> None:
    assert _infer(routed)["model_version"] == "1"
    aws.service.aliases.promote("addmul", "production", Promote(version="2"), ME)
    assert _wait_for_version(routed, "2", limit_s=TTL_S + 0.5) <= TTL_S + 0.1
    aws.service.aliases.rollback("addmul", "production", Rollback(reason="bad"), ME)
    assert _wait_for_version(routed, "1", limit_s=TTL_S + 0.5) <= TTL_S + 0.1


def test_keyed_canary_is_sticky_and_near_its_weight(routed: Invoke, aws: AwsRegistry) -> None:
    aws.service.aliases.canary("addmul", "production", Canary(version="2", weight=10), ME)
    time.sleep(TTL_S + 0.05)
    chosen = {
        f"user-{n}": _infer(routed, **{"x-routing-key": f"user-{n}"})["model_version"]
        for n in range(1000)
    }
    share = Counter(chosen.values())["2"]
    assert 62 <= share <= 138  # 10 % of 1000 keys, ±4 sigma (sigma ≈ 9.5)
    for key in list(chosen)[:50]:
        assert _infer(routed, **{"x-routing-key": key})["model_version"] == chosen[key]


def test_model_without_default_alias_is_not_ready(
    aws: AwsRegistry, models_root: Path, routed: Invoke
) -> None:
    command = RegisterVersion(manifest=_manifest(models_root, "mlp", "1"), location="models/mlp/1")
    aws.service.versions.register("mlp", command, ME)
    response = routed(http_api_event("POST", "/v2/models/mlp/infer", REQUEST))
    assert response["statusCode"] == 503
    assert "no 'production' alias" in reply_json(response)["error"]


def _register_in_s3(aws: AwsRegistry, models_root: Path, version: str) -> tuple[str, bytes]:
    """addmul 2's artifact uploaded to the artifacts bucket and registered as ``version``."""
    artifact = (models_root / "addmul" / "2" / "model.onnx.zst").read_bytes()
    manifest = _manifest(models_root, "addmul", "2").model_copy(update={"version": version})
    key = f"artifacts/addmul/{version}/model.onnx.zst"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=artifact)
    command = RegisterVersion(manifest=manifest, location=f"s3://{BUCKET}/{key}")
    aws.service.versions.register("addmul", command, ME)
    return key, artifact


def test_versions_stored_in_s3_are_fetched_verified_and_served(
    aws: AwsRegistry, models_root: Path, routed: Invoke
) -> None:
    _register_in_s3(aws, models_root, "3")
    body = _infer(routed, "/v2/models/addmul/versions/3/infer")
    assert body["model_version"] == "3"
    assert body["outputs"][0]["data"] == [2, 3, 4, 5]


def test_tampered_s3_artifact_is_never_loaded(
    aws: AwsRegistry, models_root: Path, routed: Invoke
) -> None:
    key, artifact = _register_in_s3(aws, models_root, "4")
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=artifact[:-1] + b"\0")  # swapped afterwards
    response = routed(http_api_event("POST", "/v2/models/addmul/versions/4/infer", REQUEST))
    assert response["statusCode"] == 503
    assert "does not match" in reply_json(response)["error"]


def test_an_archived_version_says_it_is_archived(routed: Invoke, aws: AwsRegistry) -> None:
    aws.service.versions.archive("addmul", "2", Archive(reason="retired"), ME)
    response = routed(http_api_event("POST", "/v2/models/addmul/versions/2/infer", REQUEST))
    assert response["statusCode"] == 404
    assert reply_json(response)["error"] == "version '2' of model 'addmul' is archived, not served"
