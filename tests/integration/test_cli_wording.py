"""What the CLI prints reads right: units, shapes, flags, headers and states."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from layerserve.api.registry_app import create_registry_app
from layerserve.cli.main import app
from layerserve.cli.package import budget_text
from layerserve.cli.registry.group import register_commands
from layerserve.cli.registry.metrics_view import show_metrics
from layerserve.domain.tensors import protocol_shape
from layerserve.services.packaging.budget import MB, BudgetReport, LambdaBudget
from tests import onnx_builders
from tests.packaged import package
from tests.registry_support import moto_registry
from tests.servers import serving

runner = CliRunner()


@pytest.fixture
def registry_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for aws in moto_registry(monkeypatch):
        with serving(create_registry_app(aws.service)) as address:
            yield f"http://{address}"


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layer")
    package(onnx_builders.add_mul(), root, "addmul", "1")
    package(onnx_builders.add_mul(), root, "addmul", "2")
    package(onnx_builders.mlp(), root, "addmul", "3")  # another signature
    return root


def registry_cli(url: str, *args: str) -> tuple[int, str, str]:
    cli = typer.Typer()
    register_commands(cli)
    result = runner.invoke(cli, [*args, "--endpoint", url])
    return result.exit_code, result.stdout, result.stderr


def test_no_help_shows_a_value_type_on_a_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    commands = ["dev", "package", "example", "register", "promote", "canary", "rollback",
                "archive", "status", "history", "metrics", "batch"]  # fmt: skip
    assert "<bool>" not in runner.invoke(app, ["--help"]).stdout
    for command in commands:
        shown = runner.invoke(app, [command, "--help"])
        assert shown.exit_code == 0, shown.output
        assert "<bool>" not in shown.stdout, command
        assert "--json" in shown.stdout or command in ("dev", "example", "batch")


def test_package_summary_speaks_mib_protocol_shapes_and_what_remains(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(onnx_builders.mlp().SerializeToString())
    out = tmp_path / "layer"
    args = ["package", str(model), "--name", "m", "--version", "1", "--out", str(out)]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "[-1, 16]" in result.stdout and "'batch'" not in result.stdout
    assert re.search(r"this version uses [\d.]+ KiB \(0\.0%\) of [\d.]+ MiB; [\d.]+ MiB remain",
                     result.stdout), result.stdout  # fmt: skip
    assert not re.search(r"\d (KB|MB)\b", result.stdout)


def test_budget_and_shape_wording() -> None:
    fit = BudgetReport(30 * MB, LambdaBudget(runtime_layer_bytes=200 * MB, function_code_bytes=0))
    assert budget_text(fit) == "this version uses 30.0 MiB (60.0%) of 50.0 MiB; 20.0 MiB remain"
    over = BudgetReport(60 * MB, LambdaBudget(runtime_layer_bytes=200 * MB, function_code_bytes=0))
    assert budget_text(over).endswith("; 10.0 MiB too much")
    assert protocol_shape(("batch", 4, None)) == "[-1, 4, -1]"


def test_refusals_name_cli_flags_and_archived_versions_say_so(
    registry_url: str, layer: Path
) -> None:
    folder = layer / "models" / "addmul"
    for version in ("1", "2", "3"):
        assert registry_cli(registry_url, "register", str(folder / version))[0] == 0
    assert registry_cli(registry_url, "promote", "addmul", "1")[0] == 0
    code, _, err = registry_cli(registry_url, "promote", "addmul", "3")
    assert code == 1 and "pass --force" in err and "force=true" not in err
    code, out, _ = registry_cli(registry_url, "archive", "addmul", "2")
    assert code == 0 and "addmul version 2 is archived" in out, out
    code, out, _ = registry_cli(registry_url, "status", "addmul")
    assert code == 0 and re.search(r"2\s+│\s+archived", out), out
    assert re.search(r"│\s+\d+ B\s+│", out), out  # artifact sizes carry their unit


def test_canary_without_a_default_alias_says_to_promote_first(
    registry_url: str, layer: Path
) -> None:
    assert registry_cli(registry_url, "register", str(layer / "models" / "addmul" / "1"))[0] == 0
    code, _, err = registry_cli(registry_url, "canary", "addmul", "1", "--weight", "10")
    assert code == 1 and err.count("\n") == 1
    assert "has no alias 'production' yet" in err and "layerserve promote addmul" in err
    assert registry_cli(registry_url, "promote", "addmul", "1")[0] == 0


def test_metrics_header_names_the_version() -> None:
    report = {
        "model": "iris",
        "alias": None,
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T01:00:00+00:00",
        "versions": [
            {"version": "2", "requests": 0, "errors": {}, "error_rate": 0.0, "cold_starts": 0,
             "latency_ms": {"p50": None, "p95": None, "p99": None}, "outputs": {}, "series": []}
        ],
    }  # fmt: skip
    console = Console(record=True, width=160)
    show_metrics(console, report)
    assert console.export_text().splitlines()[0] == "iris version 2"


def test_api_field_names_become_cli_flags(registry_url: str, layer: Path) -> None:
    folder = layer / "models" / "addmul"
    for version in ("1", "2"):
        assert registry_cli(registry_url, "register", str(folder / version))[0] == 0
    assert registry_cli(registry_url, "promote", "addmul", "1")[0] == 0
    code, _, err = registry_cli(
        registry_url, "canary", "addmul", "2", "-w", "10", "--steps", "50,10"
    )
    assert code == 1 and "--steps" in err and "body." not in err, err
    assert err.count("\n") == 1
