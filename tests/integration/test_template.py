"""template.yaml: cfn-lint clean, transformed by the SAM translator, wired as designed.

No AWS calls: the translator gets a fixed region and an empty managed-policy map, and
local code paths are swapped for S3 URIs as ``sam package`` would do.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
Resources = dict[str, dict[str, Any]]

# cfn-lint findings accepted on purpose, by rule id, with the reason. Empty: none needed.
JUSTIFIED_LINT: dict[str, str] = {}

PROTOCOL_REQUESTS = [
    ("GET", "/v2"),
    ("GET", "/v2/health/live"),
    ("GET", "/v2/health/ready"),
    ("GET", "/v2/models/iris"),
    ("GET", "/v2/models/iris/ready"),
    ("GET", "/v2/models/iris/versions/1"),
    ("GET", "/v2/models/iris/versions/1/ready"),
    ("POST", "/v2/models/iris/infer"),
    ("POST", "/v2/models/iris/versions/1/infer"),
    ("POST", "/v1/models/iris:predict"),
]


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


@pytest.fixture(scope="module")
def resources(source: dict[str, Any]) -> Iterator[Resources]:
    """The CloudFormation resources the SAM translator produces from the template."""
    template = copy.deepcopy(source)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://layerserve-artifacts/{properties[key]}.zip"
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        session = boto3.session.Session(region_name="us-east-1")
        translator = Translator({}, Parser(), boto_session=session)
        translated = translator.translate(template, {}, get_managed_policy_map=dict)
    yield translated["Resources"]


def of_type(resources: Resources, kind: str) -> Resources:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def layer_id(resources: Resources, prefix: str) -> str:
    """Logical id of a translated layer version (SAM appends a content hash)."""
    (found,) = [
        name for name in of_type(resources, "AWS::Lambda::LayerVersion") if name.startswith(prefix)
    ]
    return found


def test_cfn_lint_reports_nothing_unjustified() -> None:
    matches = lint_file(TEMPLATE, ManualArgs(include_checks=["I"], regions=["us-east-1"]))
    unjustified = [
        f"{m.rule.id} line {m.linenumber}: {m.message}"
        for m in matches
        if m.rule.id not in JUSTIFIED_LINT
    ]
    assert unjustified == []


def test_translator_yields_the_expected_resources(resources: Resources) -> None:
    assert resources["InferenceFunction"]["Type"] == "AWS::Lambda::Function"
    assert resources["InferenceFunctionRole"]["Type"] == "AWS::IAM::Role"
    assert resources["InferenceLogGroup"]["Type"] == "AWS::Logs::LogGroup"
    assert resources["HttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert resources["HttpApiApiGatewayDefaultStage"]["Type"] == "AWS::ApiGatewayV2::Stage"
    assert layer_id(resources, "RuntimeLayer") != layer_id(resources, "ModelsLayer")


def test_python312_everywhere(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    layers = of_type(resources, "AWS::Lambda::LayerVersion")
    assert {fn["Properties"]["Runtime"] for fn in functions.values()} == {"python3.12"}
    assert all(
        layer["Properties"]["CompatibleRuntimes"] == ["python3.12"] for layer in layers.values()
    )


def test_inference_function_settings(resources: Resources) -> None:
    props = resources["InferenceFunction"]["Properties"]
    assert props["Handler"] == "app.handler"
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "InferenceLogGroup"}
    assert props["MemorySize"] == {"Ref": "InferenceMemorySize"}
    assert props["Timeout"] == {"Ref": "InferenceTimeout"}
    assert props["EphemeralStorage"] == {"Size": {"Ref": "InferenceEphemeralStorage"}}
    assert props["ReservedConcurrentExecutions"]["Fn::If"][0] == "ReserveInferenceConcurrency"
    env = props["Environment"]["Variables"]
    assert env["LAYERSERVE_MODELS_DIR"] == "/opt/models"
    assert env["LAYERSERVE_SCRATCH_DIR"] == "/tmp/layerserve"
    assert env["LAYERSERVE_MAX_BODY_BYTES"] == {"Ref": "MaxBodyBytes"}
    assert env["POWERTOOLS_SERVICE_NAME"] == "inference"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    props = role["Properties"]
    assert not props.get("ManagedPolicyArns"), "managed policies cannot be checked: use inline ones"
    return [
        statement
        for policy in props.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_each_function_has_its_own_least_privilege_role(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    roles = [fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in functions.values()]
    assert len(set(roles)) == len(roles), "functions must not share a role"
    for role_id in roles:
        role = resources[role_id]
        assert role["Type"] == "AWS::IAM::Role"
        for statement in _statements(role):
            actions = _as_list(statement["Action"])
            assert statement["Effect"] == "Allow"
            assert all(action != "*" and not action.endswith(":*") for action in actions), actions
            if "*" in _as_list(statement["Resource"]):  # only where AWS has no resource-level IAM
                assert all(action.startswith("xray:") for action in actions), actions


def test_inference_role_only_logs_and_traces(resources: Resources) -> None:
    actions = {
        action
        for statement in _statements(resources["InferenceFunctionRole"])
        for action in _as_list(statement["Action"])
    }
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def _route_pattern(path: str) -> re.Pattern[str]:
    pattern = re.escape(path)
    pattern = pattern.replace(re.escape("{proxy+}"), ".+")
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern) + "$")


def _routes(resources: Resources) -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    routes = []
    for path, methods in api["Properties"]["Body"]["paths"].items():
        for method, operation in methods.items():
            verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            routes.append(
                (verb, _route_pattern(path), operation["x-amazon-apigateway-integration"])
            )
    return routes


def _route_for(resources: Resources, method: str, path: str) -> dict[str, Any] | None:
    for verb, pattern, integration in _routes(resources):
        if verb in ("ANY", method) and pattern.match(path):
            return integration
    return None


@pytest.mark.parametrize(("method", "path"), PROTOCOL_REQUESTS)
def test_http_api_routes_the_protocol_to_the_inference_function(
    resources: Resources, method: str, path: str
) -> None:
    integration = _route_for(resources, method, path)
    assert integration is not None, f"{method} {path} has no route"
    assert integration["type"] == "aws_proxy"
    assert integration["payloadFormatVersion"] == "2.0"
    assert "${InferenceFunction.Arn}" in integration["uri"]["Fn::Sub"]


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin"), ("DELETE", "/v2"), ("GET", "/v1/models/iris:predict")]
)
def test_http_api_routes_nothing_else(resources: Resources, method: str, path: str) -> None:
    assert _route_for(resources, method, path) is None


def test_layers_are_attached(resources: Resources) -> None:
    layers = resources["InferenceFunction"]["Properties"]["Layers"]
    runtime, models = layer_id(resources, "RuntimeLayer"), layer_id(resources, "ModelsLayer")
    assert layers == [{"Ref": runtime}, {"Ref": models}]
    assert resources[models]["Properties"]["Content"]["S3Key"] == "layers/models.zip"


def test_architecture_parameter_flows_to_functions_and_layers(
    source: dict[str, Any], resources: Resources
) -> None:
    parameter = source["Parameters"]["Architecture"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("x86_64", ["x86_64", "arm64"])
    arch = {"Ref": "Architecture"}
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert function["Properties"]["Architectures"] == [arch]
    runtime = resources[layer_id(resources, "RuntimeLayer")]["Properties"]
    assert runtime["CompatibleArchitectures"] == [arch]
    metadata = source["Resources"]["RuntimeLayer"]["Metadata"]
    assert metadata == {"BuildMethod": "makefile", "BuildArchitecture": arch}
    models = resources[layer_id(resources, "ModelsLayer")]["Properties"]
    assert sorted(models["CompatibleArchitectures"]) == ["arm64", "x86_64"]  # data only


def test_functions_build_without_docker(source: dict[str, Any]) -> None:
    for name, resource in source["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Metadata"]["BuildMethod"] == "makefile", name
            makefile = TEMPLATE.parent / resource["Properties"]["CodeUri"] / "Makefile"
            assert f"build-{name}:" in makefile.read_text(encoding="utf-8")
    layer_makefile = TEMPLATE.parent / "layers/runtime/Makefile"
    assert "build-RuntimeLayer:" in layer_makefile.read_text(encoding="utf-8")


def test_outputs_the_api_url(source: dict[str, Any]) -> None:
    url = source["Outputs"]["ApiUrl"]["Value"]
    assert url == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
