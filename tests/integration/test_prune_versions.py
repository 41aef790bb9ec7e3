"""``layerserve prune-versions`` against moto's Lambda: old versions go, aliased ones stay."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from typer.testing import CliRunner

from layerserve.cli.main import app
from tests.registry_support import fake_aws

LambdaClient = Any


@pytest.fixture
def lambda_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaClient]:
    fake_aws(monkeypatch)
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        client = boto3.client("lambda")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
        client.create_function(
            FunctionName="inference",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": code.getvalue()},
        )
        for deploy in range(6):  # what six deploys with AutoPublishAlias leave behind
            client.update_function_code(
                FunctionName="inference", ZipFile=code.getvalue() + bytes(deploy)
            )
            client.publish_version(FunctionName="inference")
        client.create_alias(
            FunctionName="inference",
            Name="live",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}},  # a weighted alias
        )
        yield client


def _versions(client: LambdaClient) -> list[str]:
    found = client.list_versions_by_function(FunctionName="inference")["Versions"]
    return [item["Version"] for item in found]


def test_dry_run_deletes_nothing(lambda_client: LambdaClient) -> None:
    result = CliRunner().invoke(app, ["prune-versions", "inference", "--keep", "2", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would delete 1, 4; kept 2, 3, 5, 6" in result.output
    assert _versions(lambda_client) == ["$LATEST", "1", "2", "3", "4", "5", "6"]


def test_prune_keeps_the_newest_and_the_aliased_versions(lambda_client: LambdaClient) -> None:
    result = CliRunner().invoke(app, ["prune-versions", "inference", "--keep", "2"])
    assert result.exit_code == 0, result.output
    assert _versions(lambda_client) == ["$LATEST", "2", "3", "5", "6"]
