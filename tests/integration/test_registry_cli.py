"""The deployer CLI against a live registry API on 127.0.0.1 (moto behind it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner

from layerserve.api.registry_app import create_registry_app
from layerserve.cli.registry.group import register_commands
from tests import onnx_builders
from tests.packaged import package
from tests.registry_support import BUCKET, AwsRegistry, moto_registry
from tests.servers import serving

runner = CliRunner()


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, AwsRegistry]]:
    for aws in moto_registry(monkeypatch):
        with serving(create_registry_app(aws.service)) as address:
            yield f"http://{address}", aws


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layer")
    for version in ("1", "2"):
        package(onnx_builders.add_mul(), root, "addmul", version)
    package(onnx_builders.mlp(), root, "addmul", "3")  # another signature
    return root


def cli(url: str, *args: str) -> Any:
    app = typer.Typer()
    register_commands(app)
    result = runner.invoke(app, [*args, "--endpoint", url, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def test_register_canary_promote_rollback_status_history(
    endpoint: tuple[str, AwsRegistry], layer: Path
) -> None:
    url, aws = endpoint
    folder = layer / "models" / "addmul"
    assert cli(url, "register", str(folder / "1"))["location"] == "models/addmul/1"
    uploaded = cli(url, "register", str(folder / "2"), "--s3", "-m", "bigger")
    assert uploaded["location"] == f"s3://{BUCKET}/artifacts/addmul/2/model.onnx.zst"
    assert uploaded["status"] == "ready"
    keys = {o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"artifacts/addmul/2/model.onnx.zst", "artifacts/addmul/2/manifest.json"}

    assert cli(url, "promote", "addmul", "1")["revision"] == 1
    canary = cli(url, "canary", "addmul", "2", "--weight", "10", "--reason", "try it")
    assert canary["routes"] == [{"version": "1", "weight": 90}, {"version": "2", "weight": 10}]
    promoted = cli(url, "promote", "addmul", "2", "--revision", "2")
    assert promoted["routes"] == [{"version": "2", "weight": 100}]
    back = cli(url, "rollback", "addmul")
    assert back["routes"] == canary["routes"] and back["revision"] == 4

    status = cli(url, "status", "addmul")
    assert [(v["version"], v["status"]) for v in status["versions"]] == [
        ("1", "ready"),
        ("2", "ready"),
    ]
    assert cli(url, "status")["models"][0]["name"] == "addmul"
    page = cli(url, "history", "addmul", "--limit", "3")
    assert [e["action"] for e in page["entries"]] == ["rollback", "promote", "canary"]
    assert page["entries"][2]["reason"] == "try it"


def test_tables_and_clear_errors(
    endpoint: tuple[str, AwsRegistry], layer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = endpoint
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: table cells stay on one line
    app = typer.Typer()
    register_commands(app)
    folder = layer / "models" / "addmul"
    for version in ("1", "3"):
        assert (
            runner.invoke(app, ["register", str(folder / version), "--endpoint", url]).exit_code
            == 0
        )
    runner.invoke(app, ["promote", "addmul", "1", "--endpoint", url])
    shown = runner.invoke(app, ["status", "addmul", "--endpoint", url])
    assert shown.exit_code == 0 and "production" in shown.stdout and "1 (100%)" in shown.stdout
    refused = runner.invoke(app, ["promote", "addmul", "3", "--endpoint", url])
    assert (
        refused.exit_code == 1 and "incompatible" in refused.stderr and "HTTP 409" in refused.stderr
    )
    stale = runner.invoke(app, ["rollback", "addmul", "--revision", "5", "--endpoint", url])
    assert stale.exit_code == 1 and "current revision 1" in stale.stderr
    missing = runner.invoke(app, ["archive", "nope", "1", "--endpoint", url])
    assert missing.exit_code == 1 and "model 'nope' not found (HTTP 404)" in missing.stderr
    forced = runner.invoke(app, ["promote", "addmul", "3", "--force", "--endpoint", url])
    assert forced.exit_code == 0 and "addmul/production is at revision 2" in forced.stdout
    history = runner.invoke(app, ["history", "addmul", "--endpoint", url])
    assert history.exit_code == 0 and "1 (100%) → 3 (100%)" in history.stdout


def test_unreachable_registry_is_one_line(tmp_path: Path) -> None:
    app = typer.Typer()
    register_commands(app)
    result = runner.invoke(app, ["status", "--endpoint", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot reach")
    empty = runner.invoke(app, ["register", str(tmp_path), "--endpoint", "http://127.0.0.1:9"])
    assert empty.exit_code == 1 and "is not a packaged version" in empty.stderr
