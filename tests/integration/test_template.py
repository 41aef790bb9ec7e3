"""template.yaml: cfn-lint clean, transformed by the SAM translator, wired as designed.

Functions, their environments, layers and builds, and the HTTP API's routes. IAM is in
test_template_iam.py; storage, event sources and monitoring in test_template_resources.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any, cast

import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]
from pydantic_settings import BaseSettings

from layerserve.api.openapi import openapi_document
from layerserve.api.registry_app import create_registry_app
from layerserve.settings import (
    BatchSettings,
    GuardrailSettings,
    InferenceSettings,
    MetricsSettings,
    RegistrySettings,
)
from tests.cfn_template import (
    ACCOUNT,
    STACK_ID_BLOCK,
    TEMPLATE,
    Doc,
    Resolver,
    Resources,
    of_type,
    source,
    translated,
)

# cfn-lint findings accepted on purpose, by rule id, with the reason. Empty: none needed.
JUSTIFIED_LINT: dict[str, str] = {}

# The settings classes each function's entry point builds from its environment.
SETTINGS: dict[str, list[type[BaseSettings]]] = {
    "InferenceFunction": [InferenceSettings],
    "RegistryFunction": [RegistrySettings],
    "BatchFunction": [BatchSettings, InferenceSettings],
    "MetricsFunction": [MetricsSettings],
    "GuardrailFunction": [GuardrailSettings],
}

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
def template() -> Doc:
    return source()


@pytest.fixture(scope="module")
def resources() -> Resources:
    return translated()


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
    assert set(of_type(resources, "AWS::Lambda::Function")) == set(SETTINGS)
    assert resources["HttpApi"]["Type"] == "AWS::ApiGatewayV2::Api"
    assert resources["HttpApiApiGatewayDefaultStage"]["Type"] == "AWS::ApiGatewayV2::Stage"
    assert set(of_type(resources, "AWS::DynamoDB::Table")) == {
        "RegistryTable",
        "RollupsTable",
        "BatchIdempotencyTable",
    }
    assert set(of_type(resources, "AWS::S3::Bucket")) == {"ArtifactsBucket", "UploadsBucket"}
    assert len(of_type(resources, "AWS::CloudWatch::Dashboard")) == 1
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
    assert props["MemorySize"] == {"Ref": "InferenceMemorySize"}
    assert props["Timeout"] == {"Ref": "InferenceTimeout"}
    storage = {"Fn::If": ["SnapStartOn", 512, {"Ref": "InferenceEphemeralStorage"}]}
    assert props["EphemeralStorage"] == {"Size": storage}  # SnapStart: at most 512 MB
    assert props["ReservedConcurrentExecutions"]["Fn::If"][0] == "ReserveInferenceConcurrency"
    env = props["Environment"]["Variables"]
    assert env["LAYERSERVE_MODELS_DIR"] == "/opt/models"
    assert env["LAYERSERVE_SCRATCH_DIR"] == "/tmp/layerserve"
    assert env["LAYERSERVE_MAX_BODY_BYTES"] == {"Ref": "MaxBodyBytes"}
    assert env["LAYERSERVE_REGISTRY_TABLE"] == {"Ref": "RegistryTable"}
    assert env["LAYERSERVE_REGISTRY_TTL_S"] == {"Ref": "RegistryCacheSeconds"}


def test_log_level_never_drops_metric_lines(template: Doc) -> None:
    """EMF and metric record lines carry no level: Lambda's filter treats them as INFO."""
    assert template["Parameters"]["LogLevel"]["AllowedValues"] == ["DEBUG", "INFO"]
    logging = template["Globals"]["Function"]["LoggingConfig"]
    assert logging["ApplicationLogLevel"] == {"Ref": "LogLevel"}


def test_every_function_logs_json_to_its_own_group_with_traces(resources: Resources) -> None:
    groups = []
    for name, function in of_type(resources, "AWS::Lambda::Function").items():
        props = function["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["LoggingConfig"]["LogFormat"] == "JSON", name
        group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        groups.append(group)
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}, name
        assert env["LOG_LEVEL"] == {"Ref": "LogLevel"}, name
        assert env["POWERTOOLS_SERVICE_NAME"], name
    assert len(set(groups)) == len(groups), "functions must not share a log group"


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_environment_satisfies_the_function_settings(
    template: Doc, function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each LAYERSERVE_* variable is a setting the code reads; the settings validate."""
    env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    classes = SETTINGS[function]
    known = {
        f"{cls.model_config.get('env_prefix', '')}{field}".upper()
        for cls in classes
        for field in cls.model_fields
    }
    ours = {name for name in env if name.startswith("LAYERSERVE_")}
    assert ours - known == set(), "variables no settings class reads"
    resolve = Resolver(template)
    for name, value in env.items():
        monkeypatch.setenv(name, str(resolve(value)))
    for cls in classes:
        cls()


def test_registry_and_batch_name_the_buckets_they_use(template: Doc) -> None:
    resolve = Resolver(template)
    registry_env = template["Resources"]["RegistryFunction"]["Properties"]["Environment"]
    artifacts = resolve(registry_env["Variables"]["LAYERSERVE_ARTIFACTS_BUCKET"])
    assert artifacts == resolve({"Ref": "ArtifactsBucket"})
    assert artifacts == f"layerserve-artifacts-{ACCOUNT}-{STACK_ID_BLOCK}"
    assert resolve({"Ref": "UploadsBucket"}) == f"layerserve-uploads-{ACCOUNT}-{STACK_ID_BLOCK}"


# --- HTTP API ------------------------------------------------------------------------------
def _route_pattern(path: str) -> re.Pattern[str]:
    pattern = re.escape(path)
    pattern = pattern.replace(re.escape("{proxy+}"), ".+")
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern) + "$")


def _api_body(resources: Resources) -> Doc:
    (api,) = of_type(resources, "AWS::ApiGatewayV2::Api").values()
    return cast(Doc, api["Properties"]["Body"])


def _route_for(resources: Resources, method: str, path: str) -> Doc | None:
    """The OpenAPI operation API Gateway picks for ``method path``, if any."""
    for route, methods in _api_body(resources)["paths"].items():
        for verb, operation in methods.items():
            verb = "ANY" if verb == "x-amazon-apigateway-any-method" else verb.upper()
            if verb in ("ANY", method) and _route_pattern(route).match(path):
                return cast(Doc, operation)
    return None


def _integration_target(operation: Doc) -> str:
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert integration["payloadFormatVersion"] == "2.0"
    uri = integration["uri"]["Fn::Sub"]
    alias = re.search(r"/functions/\$\{(\w+)Alias(\w+)\}/", uri)  # SAM's AutoPublishAlias
    if alias is not None:
        return f"{alias.group(1)}:{alias.group(2)}"
    found = re.search(r"\$\{(\w+)\.Arn\}", uri)
    assert found is not None
    return found.group(1)


def _app_requests(paths: dict[str, Any]) -> list[tuple[str, str]]:
    """One concrete request per operation of an app's OpenAPI document."""
    return [
        (verb.upper(), re.sub(r"\{[^}]+\}", "x1", path))
        for path, verbs in paths.items()
        for verb in verbs
    ]


@pytest.mark.parametrize(("method", "path"), PROTOCOL_REQUESTS)
def test_http_api_routes_the_protocol_to_the_inference_function(
    resources: Resources, method: str, path: str
) -> None:
    operation = _route_for(resources, method, path)
    assert operation is not None, f"{method} {path} has no route"
    assert _integration_target(operation) == "InferenceFunction:live"


def _when(node: Any, mode: str) -> Any:
    """``node`` with the auth conditions evaluated for ``InferenceAuth=mode``."""
    conditions = {"JwtAuth": mode == "JWT", "IamAuth": mode == "AWS_IAM"}
    if isinstance(node, list):
        return [_when(item, mode) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"} and node["Fn::If"][0] in conditions:
        condition, then, otherwise = node["Fn::If"]
        return _when(then if conditions[condition] else otherwise, mode)
    return {key: _when(value, mode) for key, value in node.items()}


AUTH_MODES: dict[str, list[dict[str, list[str]]]] = {
    "NONE": [],
    "AWS_IAM": [{"AWS_IAM": []}],
    "JWT": [{"InferenceJwt": []}],
}


def test_inference_auth_choices_are_the_modes_the_routes_know(template: Doc) -> None:
    parameter = template["Parameters"]["InferenceAuth"]
    assert parameter["Default"] == "NONE"
    assert parameter["AllowedValues"] == list(AUTH_MODES)


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
@pytest.mark.parametrize(("method", "path"), PROTOCOL_REQUESTS)
def test_model_routes_follow_inference_auth_and_health_stays_open(
    resources: Resources, mode: str, method: str, path: str
) -> None:
    operation = _route_for(resources, method, path)
    assert operation is not None
    security = _when(operation.get("security", []), mode)
    if path.startswith(("/v2/models/", "/v1/models/")):
        assert security == AUTH_MODES[mode], f"{method} {path}"
    else:
        assert security == [], f"{method} {path}: probes and server metadata stay open"


@pytest.mark.parametrize("mode", sorted(AUTH_MODES))
def test_the_jwt_authorizer_exists_only_with_jwt(resources: Resources, mode: str) -> None:
    schemes = _when(_api_body(resources)["components"]["securitySchemes"], mode)
    jwt = schemes["InferenceJwt"]
    if mode != "JWT":
        assert jwt == {"Ref": "AWS::NoValue"}
        return
    authorizer = jwt["x-amazon-apigateway-authorizer"]
    assert authorizer["type"] == "jwt"
    assert authorizer["identitySource"] == "$request.header.Authorization"
    assert authorizer["jwtConfiguration"] == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": [{"Ref": "JwtAudience"}],
    }


def test_jwt_cannot_be_chosen_without_issuer_and_audience(template: Doc) -> None:
    rule = template["Rules"]["JwtNeedsIssuerAndAudience"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "InferenceAuth"}, "JWT"]}
    (assertion,) = rule["Assertions"]
    text = str(assertion["Assert"])
    assert "JwtIssuer" in text and "JwtAudience" in text


def test_http_api_stage_throttles_and_writes_access_logs(
    template: Doc, resources: Resources
) -> None:
    stage = resources["HttpApiApiGatewayDefaultStage"]["Properties"]
    assert stage["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
    }
    logs = stage["AccessLogSettings"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(logs["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "route", "latencyMs", "integrationError", "authError"} <= set(fields)
    group = template["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    params = template["Parameters"]
    assert params["ApiThrottlingRateLimit"]["Default"] > 0
    assert (
        params["ApiThrottlingBurstLimit"]["Default"] >= params["ApiThrottlingRateLimit"]["Default"]
    )


def test_every_inference_route_reaches_inference_and_is_open_by_default(
    resources: Resources,
) -> None:
    requests = _app_requests(openapi_document()["paths"])  # every route the function serves
    assert len(requests) > 10
    for method, path in requests:
        operation = _route_for(resources, method, path)
        assert operation is not None, f"{method} {path} has no route"
        assert _integration_target(operation) == "InferenceFunction:live", path
        assert _when(operation.get("security", []), "NONE") == [], f"{method} {path}"


def test_every_registry_route_is_iam_authorised(resources: Resources) -> None:
    app = create_registry_app(cast(Any, object()))
    requests = _app_requests(app.openapi()["paths"])
    assert len(requests) > 10
    for method, path in requests:
        operation = _route_for(resources, method, path)
        assert operation is not None, f"{method} {path} has no route"
        assert _integration_target(operation) == "RegistryFunction", path
        assert operation["security"] == [{"AWS_IAM": []}], f"{method} {path} must need SigV4"
    scheme = _api_body(resources)["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin"), ("DELETE", "/v2"), ("GET", "/v3/models")]
)
def test_http_api_routes_nothing_else(resources: Resources, method: str, path: str) -> None:
    assert _route_for(resources, method, path) is None


# --- layers and build ------------------------------------------------------------------------
def test_layers_are_attached(resources: Resources) -> None:
    runtime, models = layer_id(resources, "RuntimeLayer"), layer_id(resources, "ModelsLayer")
    for name, function in of_type(resources, "AWS::Lambda::Function").items():
        with_models = name in ("InferenceFunction", "BatchFunction", "RegistryFunction")
        expected = [{"Ref": runtime}, {"Ref": models}] if with_models else [{"Ref": runtime}]
        assert function["Properties"]["Layers"] == expected, name
    assert resources[models]["Properties"]["Content"]["S3Key"] == "layers/models.zip"


def test_architecture_parameter_flows_to_functions_and_layers(
    template: Doc, resources: Resources
) -> None:
    parameter = template["Parameters"]["Architecture"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("x86_64", ["x86_64", "arm64"])
    arch = {"Ref": "Architecture"}
    for function in of_type(resources, "AWS::Lambda::Function").values():
        assert function["Properties"]["Architectures"] == [arch]
    runtime = resources[layer_id(resources, "RuntimeLayer")]["Properties"]
    assert runtime["CompatibleArchitectures"] == [arch]
    metadata = template["Resources"]["RuntimeLayer"]["Metadata"]
    assert metadata == {"BuildMethod": "makefile", "BuildArchitecture": arch}
    models = resources[layer_id(resources, "ModelsLayer")]["Properties"]
    assert sorted(models["CompatibleArchitectures"]) == ["arm64", "x86_64"]  # data only


def test_functions_build_without_docker(template: Doc) -> None:
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Metadata"]["BuildMethod"] == "makefile", name
            code = TEMPLATE.parent / resource["Properties"]["CodeUri"]
            assert (code / "app.py").is_file(), name
            assert f"build-{name}" in (code / "Makefile").read_text(encoding="utf-8"), name
    layer_makefile = TEMPLATE.parent / "layers/runtime/Makefile"
    assert "build-RuntimeLayer:" in layer_makefile.read_text(encoding="utf-8")


@pytest.mark.parametrize("function", sorted(SETTINGS))
def test_handler_exists_in_the_function_code(template: Doc, function: str) -> None:
    props = template["Resources"][function]["Properties"]
    module_name, attribute = props["Handler"].split(".")
    path = TEMPLATE.parent / props["CodeUri"] / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"_entry_{function}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, attribute, None)), f"{path} has no {attribute}"
    init = getattr(module, "init", None)  # the inference entry module begins its init
    if init is not None:
        init.wait()


def test_every_metrics_format_the_template_allows_is_one_the_function_reads(
    template: Doc, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = template["Parameters"]["MetricsFormat"]["AllowedValues"]
    for value in allowed:
        monkeypatch.setenv("LAYERSERVE_METRICS_FORMAT", value)
        assert InferenceSettings().metrics_format == value
    assert template["Parameters"]["MetricsFormat"]["Default"] == "line"
    monkeypatch.delenv("LAYERSERVE_METRICS_FORMAT")
    assert InferenceSettings().metrics_format == "line"  # the function's default too


def test_a_deploy_registers_the_model_layer_through_the_registry(
    template: Doc, resources: Resources
) -> None:
    """Custom::ModelLayerVersions: a new ModelsLayer version changes its properties, so
    CloudFormation sends an Update; the registry function reads the layer it mounts."""
    resource = template["Resources"]["ModelLayerVersions"]
    assert resource["Type"] == "Custom::ModelLayerVersions"
    props = resource["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["RegistryFunction", "Arn"]}
    assert props["ModelsLayer"] == {"Ref": "ModelsLayer"}
    assert set(resource["DependsOn"]) == {"InferenceFunctionAliaslive", "BatchFunction"}
    alias = resources["InferenceFunctionAliaslive"]  # the live alias, on the new version
    assert alias["Type"] == "AWS::Lambda::Alias"
    translated_props = resources["ModelLayerVersions"]["Properties"]
    models = layer_id(resources, "ModelsLayer")
    assert translated_props["ModelsLayer"] == {"Ref": models}
    assert {"Ref": models} in resources["RegistryFunction"]["Properties"]["Layers"]
    assert RegistrySettings.model_fields["models_dir"].default == Path("/opt/models")
