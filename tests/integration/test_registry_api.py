"""The registry HTTP API (FastAPI TestClient over moto): workflow and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from layerserve.api.registry_app import create_registry_app
from tests.registry_support import BUCKET, AwsRegistry, make_manifest, moto_registry

ROOT = "/registry/models"


@pytest.fixture(scope="module")
def aws() -> Iterator[AwsRegistry]:
    with pytest.MonkeyPatch.context() as patch:
        yield from moto_registry(patch)


@pytest.fixture(scope="module")
def api(aws: AwsRegistry) -> Iterator[TestClient]:
    with TestClient(create_registry_app(aws.service)) as client:
        yield client


def manifest_json(version: str, model: str = "m", **kwargs: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = make_manifest(model, version, **kwargs).model_dump(mode="json")
    return dumped


def register(api: TestClient, model: str, version: str, **kwargs: Any) -> None:
    body = {
        "manifest": manifest_json(version, model, **kwargs),
        "location": f"models/{model}/{version}",
    }
    response = api.post(f"{ROOT}/{model}/versions", json=body)
    assert response.status_code == 201, response.text


def serve(api: TestClient, model: str) -> TestClient:
    """``model`` with versions 1-3 (3 has another input datatype), production on 1."""
    register(api, model, "1")
    register(api, model, "2")
    register(api, model, "3", inputs=(("x", "INT8", ("batch", 4)),))
    response = api.post(f"{ROOT}/{model}/aliases/production/promote", json={"version": "1"})
    assert response.status_code == 200, response.text
    return api


@pytest.fixture(scope="module")
def unchanged(api: TestClient) -> TestClient:
    """Model ``m``, shared by tests whose requests must change nothing (each checks that)."""
    return serve(api, "m")


def snapshot(api: TestClient) -> tuple[Any, Any]:
    return api.get(f"{ROOT}/m").json(), api.get(f"{ROOT}/m/history?limit=100").json()


def test_the_deployer_workflow(api: TestClient) -> None:
    serve(api, "w")
    w = f"{ROOT}/w"
    promoted = api.post(f"{w}/aliases/production/promote", json={"version": "2"}).json()
    assert promoted["revision"] == 2
    assert promoted["previous_routes"] == [{"version": "1", "weight": 100}]
    canary = api.post(
        f"{w}/aliases/production/canary",
        json={"version": "3", "weight": 20, "force": True, "reason": "try int8 input"},
    )
    assert canary.json()["routes"] == [
        {"version": "2", "weight": 80},
        {"version": "3", "weight": 20},
    ]
    back = api.post(f"{w}/aliases/production/rollback").json()
    assert back["routes"] == [{"version": "2", "weight": 100}] and back["revision"] == 4
    status = api.get(w).json()
    assert [a["name"] for a in status["aliases"]] == ["production"]
    assert [v["status"] for v in status["versions"]] == ["ready"] * 3
    page = api.get(f"{w}/history", params={"limit": 2}).json()
    assert [e["action"] for e in page["entries"]] == ["rollback", "canary"]
    assert page["entries"][1]["reason"] == "try int8 input"
    older = api.get(f"{w}/history", params={"cursor": page["next_cursor"]}).json()
    assert older["entries"][0]["action"] == "promote"
    archived = api.post(f"{w}/versions/3/archive", json={"reason": "bad"}).json()
    assert archived["status"] == "archived"
    assert "w" in [m["name"] for m in api.get(ROOT).json()["models"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("get", "/m2", None, 404, "model 'm2' not found"),
        ("post", "/m2/aliases/production/promote", {"version": "1"}, 404, "model 'm2' not found"),
        ("get", "/m/versions/9", None, 404, "version '9' of model 'm' not found"),
        ("post", "/m/aliases/production/promote", {"version": "9"}, 404, "version '9'"),
        ("post", "/m/aliases/staging/rollback", None, 404, "alias 'staging' of model 'm'"),
        ("post", "/m/aliases/production/canary", {"version": "2", "weight": 100}, 400, "weight"),
        (
            "put",
            "/m/aliases/production",
            {"routes": [{"version": "1", "weight": 60}, {"version": "2", "weight": 50}],
             "expected_revision": 1},
            400,
            "sum to 100, got 110",
        ),
        ("put", "/m/aliases/production", {"version": "2", "expected_revision": 7}, 409,
         "at revision 1, not 7"),
        ("post", "/m/aliases/production/promote", {"version": "3"}, 409,
         "input 'x' datatype FP32 → INT8; pass force=true"),
        ("post", "/m/aliases/production/canary", {"version": "3", "weight": 5}, 409,
         "incompatible"),
        ("post", "/m/aliases/production/rollback", None, 409, "nothing to roll back"),
        ("post", "/m/versions/1/archive", None, 409, "used by alias(es) production"),
        ("post", "/m/aliases/production/promote", {"version": "1", "weight": 3}, 400, "weight"),
        ("get", "/m/history?limit=0", None, 400, "limit"),
    ],
)  # fmt: skip
def test_bad_requests_are_clear_4xx_and_change_nothing(
    unchanged: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    before = snapshot(unchanged)
    response = unchanged.request(method, ROOT + path, json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) <= {"error", "revision"} and message in response.json()["error"]
    assert snapshot(unchanged) == before


def test_a_stale_revision_reports_the_current_one(unchanged: TestClient) -> None:
    response = unchanged.post(
        f"{ROOT}/m/aliases/production/promote", json={"version": "2", "expected_revision": 0}
    )
    assert response.status_code == 409
    assert response.json()["revision"] == 1


@pytest.mark.parametrize(
    ("location", "status", "message"),
    [
        ("s3://elsewhere/artifacts/m/4/model.onnx.zst", 400, "outside the artifacts bucket"),
        ("../models/m/4", 400, "must be relative, without '..'"),
        ("/opt/models/m/4", 400, "must be relative"),
        (f"s3://{BUCKET}/artifacts/m/4/model.onnx.zst", 422, "does not match its manifest"),
        (f"s3://{BUCKET}/artifacts/m/4/missing.zst", 422, "does not exist"),
    ],
)
def test_bad_registrations_are_refused(
    unchanged: TestClient, aws: AwsRegistry, location: str, status: int, message: str
) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key="artifacts/m/4/model.onnx.zst", Body=b"real")
    before = snapshot(unchanged)
    body = {"manifest": manifest_json("4", artifact=b"other bytes"), "location": location}
    response = unchanged.post(f"{ROOT}/m/versions", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert snapshot(unchanged) == before


def test_registration_checks_manifest_and_idempotency(unchanged: TestClient) -> None:
    api = unchanged
    before = snapshot(api)
    body = {"manifest": manifest_json("1"), "location": "models/m/1"}
    assert api.post(f"{ROOT}/m/versions", json=body).status_code == 201  # same: harmless
    other = {"manifest": manifest_json("1", artifact=b"x"), "location": "models/m/1"}
    conflict = api.post(f"{ROOT}/m/versions", json=other)
    assert conflict.status_code == 409 and "another artifact" in conflict.json()["error"]
    wrong = api.post(f"{ROOT}/other/versions", json=body)
    assert wrong.status_code == 400 and "manifest is for model 'm'" in wrong.json()["error"]
    broken = api.post(f"{ROOT}/m/versions", json={"manifest": {"name": "m"}, "location": "x"})
    assert broken.status_code == 400 and broken.json()["error"].startswith("invalid request")
    assert snapshot(api) == before


def test_s3_registration_verifies_the_object(api: TestClient, aws: AwsRegistry) -> None:
    data = b"compressed bytes"
    aws.s3.put_object(Bucket=BUCKET, Key="artifacts/s/5/model.onnx.zst", Body=data)
    body = {
        "manifest": manifest_json("5", "s", artifact=data),
        "location": f"s3://{BUCKET}/artifacts/s/5/model.onnx.zst",
    }
    response = api.post(f"{ROOT}/s/versions", json=body)
    assert response.status_code == 201 and response.json()["status"] == "ready"
    assert api.get("/registry/info").json() == {"artifacts_bucket": BUCKET}
