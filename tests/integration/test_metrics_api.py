"""Metrics through the registry API and ``layerserve metrics``; guarded canaries from the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.adapters.dynamodb_tables import ensure_table
from layerserve.api.registry_app import create_registry_app
from layerserve.cli.registry.group import register_commands
from layerserve.domain.guardrails import CanaryPolicy
from layerserve.services.metrics.aggregation import fold_events
from layerserve.services.registry import Canary, Promote, RegisterVersion
from tests.metric_factories import T0, T0_MS, log_events, traffic
from tests.registry_support import AwsRegistry, make_manifest, moto_registry
from tests.servers import serving

ROLLUPS = "layerserve-rollups"
NOW = T0 + timedelta(minutes=30)
URL = "/registry/models/iris/metrics"
runner = CliRunner()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsRegistry]:
    """``iris`` 1 and 2; production 90/10 with a guarded canary; 20 minutes of traffic."""
    for aws in moto_registry(monkeypatch):
        ensure_table(aws.dynamodb, ROLLUPS)
        for version in ("1", "2"):
            command = RegisterVersion(
                manifest=make_manifest("iris", version), location=f"models/iris/{version}"
            )
            aws.service.versions.register("iris", command, "me")
        aws.service.aliases.promote("iris", "production", Promote(version="1"), "me")
        policy = CanaryPolicy(steps=(10, 50, 100), bake_seconds=300)
        aws.service.aliases.canary("iris", "production", Canary(version="2", weight=10,
                                   policy=policy), "me")  # fmt: skip
        # Routed by the canary's revision (2), plus requests naming version 2 directly.
        lines = traffic("1", 300, spacing_ms=4000, alias_revision=2) + traffic(
            "2", 30, start_ms=T0_MS + 600_000, spacing_ms=15_000, error_every=3, latency_ms=9,
            alias_revision=2,
        ) + traffic("2", 10, start_ms=T0_MS + 1_050_000, spacing_ms=15_000, error_kind="client",
                    error_every=1, latency_ms=9)  # fmt: skip
        fold_events(log_events(lines), DynamoDBRollups(ROLLUPS, aws.dynamodb))
        yield aws


def app(aws: AwsRegistry, *, with_rollups: bool = True) -> TestClient:
    rollups = DynamoDBRollups(ROLLUPS, aws.dynamodb) if with_rollups else None
    return TestClient(create_registry_app(aws.service, rollups=rollups, clock=lambda: NOW))


def test_an_alias_reports_each_of_its_versions(aws: AwsRegistry) -> None:
    report = app(aws).get(URL).json()  # default: the default alias over the last hour
    assert (report["alias"], report["weights"]) == ("production", {"1": 90, "2": 10})
    assert report["canary"]["policy"]["steps"] == [10, 50, 100]
    assert report["start"] == (NOW - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    stable, canary = report["versions"]
    assert (stable["version"], stable["requests"], stable["error_rate"]) == ("1", 300, 0.0)
    assert (canary["requests"], canary["errors"]) == (40, {"server": 10, "client": 10})
    assert canary["error_rate"] == pytest.approx(0.5)
    assert 7.0 <= canary["latency_ms"]["p50"] <= 11.0 and stable["latency_ms"]["p99"] <= 6.1
    assert sum(point["requests"] for point in stable["series"]) == 300
    assert len(stable["series"]) == 20 and len(canary["series"]) == 10
    assert stable["outputs"]["y"]["elements"] == 1200 and stable["outputs"]["y"]["bins"]
    assert report["judged"] == "production@2"
    assert report["routed"] == [
        {"version": "1", "requests": 300, "rejected": 0, "errors": 0},
        {"version": "2", "requests": 30, "rejected": 0, "errors": 10},
    ]


def test_one_version_and_explicit_windows(aws: AwsRegistry) -> None:
    api = app(aws)
    one = api.get(URL, params={"version": "2", "since": "15m"}).json()
    assert (one["alias"], one["weights"], one["canary"]) == (None, {}, None)
    ((summary),) = one["versions"]
    assert summary["requests"] == 20  # the canary's last 15 minutes: 12:15 to 12:30
    start = T0.isoformat()
    window = api.get(URL, params={"version": "1", "start": start, "end": "2025-03-01T12:04:59"})
    assert window.json()["versions"][0]["requests"] == 75  # minutes 12:00 to 12:04


BAD_QUERIES: list[tuple[dict[str, str], int, str]] = [
    ({"version": "1", "alias": "production"}, 400, "either 'version' or 'alias'"),
    ({"since": "1h", "start": "2025-03-01T12:00:00Z"}, 400, "either 'since' or 'start'"),
    ({"since": "an hour"}, 400, "'an hour' is not a duration"),
    ({"since": "8d"}, 400, "longer than 7 days"),
    ({"start": "2025-03-01T13:00:00Z"}, 400, "the window is empty"),
    ({"version": "9"}, 404, "version '9' of model 'iris' not found"),
    ({"alias": "staging"}, 404, "alias 'staging' of model 'iris' not found"),
]


def test_bad_queries_are_one_line_errors(aws: AwsRegistry) -> None:
    api = app(aws)
    for params, status, message in BAD_QUERIES:
        response = api.get(URL, params=params)
        assert response.status_code == status, params
        assert message in response.json()["error"]


def test_without_a_rollups_table_metrics_are_unavailable(aws: AwsRegistry) -> None:
    response = app(aws, with_rollups=False).get(URL)
    assert response.status_code == 503 and "no rollups table" in response.json()["error"]
    assert app(aws).get("/registry/models/nope/metrics").status_code == 404


@pytest.fixture
def endpoint(aws: AwsRegistry) -> Iterator[str]:
    rollups = DynamoDBRollups(ROLLUPS, aws.dynamodb)
    served = create_registry_app(aws.service, rollups=rollups, clock=lambda: NOW)
    with serving(served) as address:
        yield f"http://{address}"


def cli(*args: str) -> Any:
    app = typer.Typer()
    register_commands(app)
    return runner.invoke(app, list(args))


def test_metrics_command_prints_tables_and_sparklines(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    as_json = cli("metrics", "iris", "--since", "1h", "--endpoint", endpoint, "--json")
    assert as_json.exit_code == 0, as_json.output
    assert [v["requests"] for v in orjson.loads(as_json.stdout)["versions"]] == [300, 40]
    shown = cli("metrics", "iris", "--endpoint", endpoint)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "guarded canary 2 (stable 1): steps 10% → 50% → 100%, bake 5m" in out
    assert "50.00%" in out and "server 10" in out and "output distribution" in out
    assert "routed at production@2 (what the guardrails judge): 1: 300 requests, 0 errors, " in out
    assert "2: 30 requests, 10 errors, 0 rejected" in out
    requests_lines = [line for line in out.splitlines() if "requests │" in line]
    assert len(requests_lines) == 2 and "max 15" in requests_lines[0]
    stable_chart = requests_lines[0].split("│")[1]
    assert len(stable_chart) == 61 and stable_chart.count("█") == 20  # 12:00-12:19 of 11:30-12:30
    refused = cli("metrics", "iris", "--version", "1", "--alias", "production",
                  "--endpoint", endpoint)  # fmt: skip
    assert refused.exit_code == 1 and "choose one of --version and --alias" in refused.stderr
    bad = cli("metrics", "iris", "--since", "soon", "--endpoint", endpoint)
    assert bad.exit_code == 1 and "'soon' is not a duration" in bad.stderr
    assert bad.stderr.rstrip().endswith("(HTTP 400)")


def test_canary_command_attaches_a_policy(endpoint: str, aws: AwsRegistry) -> None:
    aws.service.aliases.promote("iris", "production", Promote(version="1"), "me")
    options = "--weight 10 --steps 10,25,50,100 --bake 10m --min-samples 200"
    options += " --max-error-increase 0.02 --max-p99-ratio 1.5 --max-psi 0.2 --json"
    done = cli("canary", "iris", "2", *options.split(), "--endpoint", endpoint)
    assert done.exit_code == 0, done.output
    plan = orjson.loads(done.stdout)["canary"]
    assert plan["version"] == "2" and plan["stable_version"] == "1"
    assert {k: plan["policy"][k] for k in ("steps", "bake_seconds", "min_samples")} == {
        "steps": [10, 25, 50, 100],
        "bake_seconds": 600,
        "min_samples": 200,
    }
    policy = plan["policy"]
    assert (policy["max_error_rate_increase"], policy["max_p99_ratio"], policy["max_psi"]) == (
        0.02,
        1.5,
        0.2,
    )
    assert policy["max_rejection_rate_increase"] is None  # off unless asked for
    rejecting = cli("canary", "iris", "2", "--weight", "15", "--max-rejection-increase", "0.05",
                    "--json", "--endpoint", endpoint)  # fmt: skip
    assert rejecting.exit_code == 0, rejecting.output
    limit = orjson.loads(rejecting.stdout)["canary"]["policy"]["max_rejection_rate_increase"]
    assert limit == 0.05
    plain = cli("canary", "iris", "2", "--weight", "20", "--endpoint", endpoint)
    assert plain.exit_code == 0 and "guarded" not in plain.stdout  # a manual move ends it
    guarded = cli("canary", "iris", "2", "--weight", "25", "--guard", "--endpoint", endpoint)
    assert "guarded canary 2 (stable 1): steps 10% → 25% → 50% → 100%" in guarded.stdout
    assert "rollback target: 1 (100%)" in guarded.stdout
    bad = cli("canary", "iris", "2", "--weight", "10", "--steps", "10,x", "--endpoint", endpoint)
    assert bad.exit_code == 1 and "must be comma-separated percentages" in bad.stderr
    down = cli("canary", "iris", "2", "--weight", "10", "--steps", "50,10", "--endpoint", endpoint)
    assert down.exit_code == 1 and "steps must increase" in down.stderr
