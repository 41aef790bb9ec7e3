"""SnapStart, simulated without AWS: the entry module primed before a "snapshot", then
several forked "restored" environments, each answering an API Gateway event."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto.server import ThreadedMotoServer

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry, create_registry_table
from layerserve.domain.metric_record import parse_record
from layerserve.domain.routing import routing_point
from layerserve.local.seed import seed_registry
from layerserve.services.registry import RegistryService
from tests import onnx_builders
from tests.apigw import http_api_event
from tests.packaged import package
from tests.registry_support import TABLE

ROOT = Path(__file__).resolve().parents[2]
ADDMUL = {
    "inputs": [
        {"name": "a", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]},
        {"name": "b", "datatype": "FP32", "shape": [1, 4], "data": [10, 20, 30, 40]},
    ]
}
MLP = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 16], "data": [0.5] * 16}]}


def _environment(models_root: Path, scratch: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LAYERSERVE_", "AWS_"))},
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LAYERSERVE_MODELS_DIR": str(models_root),
        "LAYERSERVE_SCRATCH_DIR": str(scratch),
        "LAYERSERVE_MAX_LOADED_MODELS": "64",
        "POWERTOOLS_METRICS_NAMESPACE": "layerserve-tests",
        "POWERTOOLS_METRICS_DISABLED": "false",
        "POWERTOOLS_DEV": "false",
        # Present outside SnapStart: the simulation removes them, as SnapStart lacks them.
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/inference",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123",
        **extra,
    }


def _run(scenario: dict[str, Any], env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    command = [sys.executable, "-m", "tests.snapstart_scenario", str(path)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("SCENARIO "))
    result: dict[str, Any] = json.loads(line.removeprefix("SCENARIO "))
    return result


def _body(child: dict[str, Any]) -> dict[str, Any]:
    response = child["response"]
    assert response["statusCode"] == 200, response
    body: dict[str, Any] = orjson.loads(response["body"])
    return body


def _outputs(child: dict[str, Any]) -> dict[str, list[float]]:
    return {out["name"]: out["data"] for out in _body(child)["outputs"]}


def _read_nothing_of(child: dict[str, Any], *roots: Path) -> None:
    read = [path for path in child["opened"] if any(path.startswith(str(r)) for r in roots)]
    assert read == [], "artifacts read after restore"
    assert child["sessions_created"] == 0


def test_restored_environments_answer_from_the_snapshot_alone(
    models_root: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    event = http_api_event("POST", "/v2/models/addmul/infer", ADDMUL)
    result = _run({"event": event, "children": 3}, _environment(models_root, scratch), tmp_path)

    assert result["import_s"] > 0 and result["hooks_s"] > 0
    for child in result["children"]:
        assert _outputs(child) == {"sum": [11, 22, 33, 44], "product": [10, 40, 90, 160]}
        assert _body(child)["model_version"] == "2"
        _read_nothing_of(child, models_root, scratch)
        records = [r for r in map(parse_record, child["stdout"]) if r is not None]
        assert [r.cold for r in records] == [True]  # each restored environment's cold start
        assert records[0].init_ms == pytest.approx(child["hooks_s"] * 1000, abs=50)
        names = _powertools_metric_names(child["stdout"])
        assert {"ColdStart", "InitTime"} <= names  # Powertools' cold start is the request's


def _powertools_metric_names(lines: list[str]) -> set[str]:
    documents = [orjson.loads(line) for line in lines if line.startswith("{")]
    return {
        metric["Name"]
        for document in documents
        if "_ls" not in document and "_aws" in document
        for directive in document["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }


@pytest.fixture
def two_version_layer(tmp_path: Path) -> Path:
    layer = tmp_path / "layer"
    for version in ("1", "2"):
        package(onnx_builders.add_mul(), layer, "addmul", version)
        package(onnx_builders.mlp(seed=int(version)), layer, "mlp", version)
    return layer / "models"


@pytest.fixture
def registry_endpoint(two_version_layer: Path) -> Iterator[str]:
    """A moto server on 127.0.0.1 holding both models, each a 50/50 canary of 1 and 2."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    create_registry_table(client, TABLE)
    seed_registry(RegistryService(DynamoDBRegistry(TABLE, client)), two_version_layer, 50)
    try:
        yield endpoint
    finally:
        server.stop()


def _key_routed_to_first_half() -> str:
    """A routing key whose point falls on version 1 of a 50/50 split."""
    return next(k for k in (f"user-{i}" for i in itertools.count()) if routing_point(k) < 50)


def test_restored_environments_are_unique_and_see_a_promote_made_after_the_snapshot(
    two_version_layer: Path, registry_endpoint: str, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    env = _environment(
        two_version_layer,
        scratch,
        LAYERSERVE_REGISTRY_TABLE=TABLE,
        LAYERSERVE_REGISTRY_TTL_S="300",  # a snapshot's cache entry would outlive the test
        AWS_ENDPOINT_URL=registry_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    headers = {"x-routing-key": _key_routed_to_first_half()}
    event = http_api_event("POST", "/v2/models/mlp/infer", MLP, headers)
    scenario = {
        "event": event,
        "children": 4,
        "choices_of": "addmul",
        "promote_after_snapshot": ["mlp", "2"],
    }
    result = _run(scenario, env, tmp_path)

    children = result["children"]
    for child in children:
        assert _body(child)["model_version"] == "2"  # the promote, not the snapshot's cache
        assert len(_outputs(child)["scores"]) == 4
        _read_nothing_of(child, two_version_layer, scratch)  # both versions were primed
    choices = [tuple(child["probe"]) for child in children]
    assert len(set(choices)) == len(choices), "restored environments repeat one sequence"
    assert set(itertools.chain(*choices)) == {"1", "2"}
