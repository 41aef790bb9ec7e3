"""template.yaml: SnapStart on the inference function's live alias, and the combinations
SnapStart excludes (provisioned concurrency, more than 512 MB of /tmp)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cfn_template import Doc, Resources, of_type, source, translated

ALIAS = "InferenceFunctionAliaslive"


@pytest.fixture(scope="module")
def template() -> Doc:
    return source()


@pytest.fixture(scope="module")
def resources() -> Resources:
    return translated()


def _value(node: Any, parameters: dict[str, str], template: Doc) -> Any:
    """Evaluates the condition functions the template uses, for one set of parameters."""
    if not isinstance(node, dict):
        return str(node)
    ((function, argument),) = node.items()
    if function == "Ref":
        return parameters.get(argument, str(template["Parameters"][argument]["Default"]))
    if function == "Condition":
        return _value(template["Conditions"][argument], parameters, template)
    if function == "Fn::Not":
        return not _value(argument[0], parameters, template)
    if function == "Fn::And":
        return all(_value(item, parameters, template) for item in argument)
    assert function == "Fn::Equals", function
    left, right = (_value(item, parameters, template) for item in argument)
    return left == right


def _refused(template: Doc, parameters: dict[str, str]) -> list[str]:
    """The rules whose assertions fail for ``parameters`` (CloudFormation refuses those)."""
    refused = []
    for name, rule in template["Rules"].items():
        if not _value(rule["RuleCondition"], parameters, template):
            continue
        if not all(_value(a["Assert"], parameters, template) for a in rule["Assertions"]):
            refused.append(name)
    return refused


def _condition(template: Doc, name: str, parameters: dict[str, str]) -> bool:
    return bool(_value(template["Conditions"][name], parameters, template))


def test_snapstart_is_on_by_default_for_published_versions(template: Doc) -> None:
    assert template["Parameters"]["InferenceSnapStart"]["Default"] == "true"
    props = template["Resources"]["InferenceFunction"]["Properties"]
    assert props["AutoPublishAlias"] == "live"
    assert props["SnapStart"] == {
        "ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}
    }
    assert _condition(template, "SnapStartOn", {})
    assert not _condition(template, "SnapStartOn", {"InferenceSnapStart": "false"})


def test_every_deploy_publishes_a_version_behind_the_live_alias(resources: Resources) -> None:
    (version,) = of_type(resources, "AWS::Lambda::Version").values()
    assert version["Properties"]["FunctionName"] == {"Ref": "InferenceFunction"}
    alias = resources[ALIAS]["Properties"]
    assert alias["Name"] == "live"
    assert alias["FunctionVersion"]["Fn::GetAtt"][1] == "Version"


def test_the_http_api_may_invoke_only_the_alias(resources: Resources) -> None:
    permissions = [
        res["Properties"]
        for name, res in of_type(resources, "AWS::Lambda::Permission").items()
        if name.startswith("InferenceFunction")
    ]
    events = source()["Resources"]["InferenceFunction"]["Properties"]["Events"]
    assert len(permissions) == len(events) >= 4  # one per route
    for permission in permissions:
        assert permission["FunctionName"] == {"Ref": ALIAS}
        assert permission["Principal"] == "apigateway.amazonaws.com"


def test_snapstart_refuses_provisioned_concurrency(template: Doc) -> None:
    assert _refused(template, {}) == []
    provisioned = {"InferenceProvisionedConcurrency": "2"}
    assert _refused(template, provisioned) == ["SnapStartWithoutProvisioning"]
    without = {**provisioned, "InferenceSnapStart": "false"}
    assert _refused(template, without) == []
    assert _condition(template, "ProvisionInference", without)
    assert not _condition(template, "ProvisionInference", {})


def test_provisioned_concurrency_lands_on_the_alias(resources: Resources) -> None:
    config = resources[ALIAS]["Properties"]["ProvisionedConcurrencyConfig"]
    wanted = {"ProvisionedConcurrentExecutions": {"Ref": "InferenceProvisionedConcurrency"}}
    assert config == {"Fn::If": ["ProvisionInference", wanted, {"Ref": "AWS::NoValue"}]}


def test_snapstart_caps_tmp_at_512_mb(template: Doc) -> None:
    props = template["Resources"]["InferenceFunction"]["Properties"]
    size = props["EphemeralStorage"]["Size"]["Fn::If"]
    assert size[0] == "SnapStartOn" and size[1] == 512  # SnapStart's limit
    assert size[2] == {"Ref": "InferenceEphemeralStorage"}  # the parameter, without it


def test_logs_dashboard_and_alarms_follow_the_alias(template: Doc) -> None:
    resources = template["Resources"]
    function = resources["InferenceFunction"]["Properties"]
    subscription = resources["InferenceMetricRecordsSubscription"]["Properties"]
    # Every version logs to the function's group: the records of the alias reach the rollups.
    assert function["LoggingConfig"]["LogGroup"] == subscription["LogGroupName"]
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    expected = '"FunctionName","${InferenceFunction}","Resource","${InferenceFunction}:live"'
    assert expected in body.replace(" ", "")  # compact or spaced JSON
    # The alarms watch the HTTP API, whose every inference route invokes the alias.
    for alarm in ("ApiServerErrorRateAlarm", "ApiLatencyP99Alarm"):
        assert "HttpApi" in str(resources[alarm]["Properties"])
