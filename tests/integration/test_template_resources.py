"""template.yaml storage, event sources and monitoring: tables, buckets, queues, the log
subscription, the guardrail schedule, the dashboard, alarms and outputs."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import pytest

from layerserve.domain.metric_record import build_record, record_to_json
from layerserve.services.telemetry import METRIC_NAMES
from tests.cfn_template import Doc, Resolver, Resources, as_list, of_type, source, translated

# The per-request metrics, through Powertools or inside the metric line (either format).
EMF_METRICS = METRIC_NAMES
EMF_SEARCH = re.compile(
    r"SEARCH\('\{\"layerserve\",alias,model,service,version\} service=inference "
    r"MetricName=(\w+|\(\w+(?: OR \w+)*\))', '(\w+)', 60\)"
)


@pytest.fixture(scope="module")
def template() -> Doc:
    return source()


@pytest.fixture(scope="module")
def resources() -> Resources:
    return translated()


# --- storage -------------------------------------------------------------------------------
def test_tables_are_on_demand_encrypted_recoverable_and_kept_deliberately(template: Doc) -> None:
    tables = of_type(template["Resources"], "AWS::DynamoDB::Table")
    for name, resource in tables.items():
        props = resource["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"] == {"SSEEnabled": True}, name
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"], name
    assert tables["RegistryTable"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("name", ["RegistryTable", "RollupsTable"])
def test_registry_and_rollups_tables_have_string_pk_sk(template: Doc, name: str) -> None:
    props = template["Resources"][name]["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]


def test_batch_job_records_expire(template: Doc) -> None:
    table = template["Resources"]["BatchIdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_rollups_expire(template: Doc) -> None:
    ttl = template["Resources"]["RollupsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}


def _tls_only(policy: Doc, resources: list[Any]) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement["Principal"] == "*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        and sorted(map(json.dumps, as_list(statement["Resource"])))
        == sorted(map(json.dumps, resources))
        for statement in policy["Statement"]
    )


def test_buckets_are_private_encrypted_versioned_and_tls_only(template: Doc) -> None:
    found = template["Resources"]
    policies = of_type(found, "AWS::S3::BucketPolicy").values()
    for name, bucket in of_type(found, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        block = props["PublicAccessBlockConfiguration"]
        assert len(block) == 4 and all(block.values()), name
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}, name
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
        assert bucket["DeletionPolicy"] == "Retain", name
        (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": name}]
        arns = [{"Fn::GetAtt": [name, "Arn"]}, {"Fn::Sub": f"${{{name}.Arn}}/*"}]
        assert _tls_only(policy["Properties"]["PolicyDocument"], arns), name


def test_dead_letter_queue_is_encrypted_and_tls_only(template: Doc) -> None:
    queue = template["Resources"]["BatchDeadLetterQueue"]["Properties"]
    assert queue["KmsMasterKeyId"] == "alias/aws/sqs"  # checkov CKV_AWS_27
    (policy,) = of_type(template["Resources"], "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": "BatchDeadLetterQueue"}]
    arn = {"Fn::GetAtt": ["BatchDeadLetterQueue", "Arn"]}
    assert _tls_only(policy["Properties"]["PolicyDocument"], [arn])


# --- event sources ------------------------------------------------------------------------
def _notification(resources: Resources, bucket: str) -> Doc:
    config = resources[bucket]["Properties"]["NotificationConfiguration"]
    (notification,) = config["LambdaConfigurations"]
    return cast(Doc, notification)


def test_artifact_uploads_notify_the_registry(resources: Resources) -> None:
    notification = _notification(resources, "ArtifactsBucket")
    assert notification["Function"] == {"Fn::GetAtt": ["RegistryFunction", "Arn"]}
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "artifacts/"}]


def test_uploads_notify_the_batch_function_which_fails_into_the_dlq(
    template: Doc, resources: Resources
) -> None:
    notification = _notification(resources, "UploadsBucket")
    assert notification["Function"] == {"Fn::GetAtt": ["BatchFunction", "Arn"]}
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "inputs/"}]
    written = template["Resources"]["BatchFunction"]["Properties"]["EventInvokeConfig"]
    assert written["MaximumRetryAttempts"] == {"Ref": "BatchMaxRetryAttempts"}
    config = resources["BatchFunctionEventInvokeConfig"]["Properties"]
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["BatchDeadLetterQueue", "Arn"]
    }


def _sample_record_line() -> bytes:
    record = build_record(
        time_ms=0,
        request_id="r",
        model="iris",
        version="1",
        alias=None,
        status=200,
        error_kind=None,
        latency_ms=1.0,
        run_ms=0.5,
        batch_size=1,
        cold=False,
        init_ms=None,
    )
    return record_to_json(record)


def test_metric_records_reach_the_metrics_function(resources: Resources) -> None:
    (subscription,) = of_type(resources, "AWS::Logs::SubscriptionFilter").values()
    props = subscription["Properties"]
    assert props["LogGroupName"] == {"Ref": "InferenceLogGroup"}
    assert props["DestinationArn"] == {"Fn::GetAtt": ["MetricsFunction", "Arn"]}
    assert subscription["DependsOn"] == "MetricsFunctionLogsPermission"
    permission = resources["MetricsFunctionLogsPermission"]["Properties"]
    assert permission["Principal"] == "logs.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["MetricsFunction", "Arn"]}
    assert permission["SourceArn"] == {"Fn::GetAtt": ["InferenceLogGroup", "Arn"]}
    assert resources["MetricsFunction"]["Properties"]["Handler"] == "app.handler"


def test_subscription_filter_matches_the_records_inference_writes(resources: Resources) -> None:
    (subscription,) = of_type(resources, "AWS::Logs::SubscriptionFilter").values()
    pattern = subscription["Properties"]["FilterPattern"]
    assert pattern == '{ $._ls = "m1" }'
    match = re.fullmatch(r'\{ \$\.(\w+) = "(\w+)" \}', pattern)
    assert match is not None
    record = json.loads(_sample_record_line())
    assert record[match.group(1)] == match.group(2)
    # Lambda's JSON logging takes a JSON object on stdout as the event itself, with its
    # "level" key or INFO: the record's keys stay top-level (README "Metric records").
    assert isinstance(record, dict) and "level" not in record
    assert b"\n" not in _sample_record_line()


def test_guardrails_run_every_minute_without_piling_up(resources: Resources) -> None:
    function = resources["GuardrailFunction"]["Properties"]
    assert function["Handler"] == "app.schedule_handler"
    (rule,) = of_type(resources, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["GuardrailFunction", "Arn"]}
    assert function["Timeout"] < 60
    config = resources["GuardrailFunctionEventInvokeConfig"]["Properties"]
    assert config["MaximumRetryAttempts"] == 0


# --- dashboard, alarms, outputs ----------------------------------------------------------------
def test_dashboard_shows_traffic_errors_and_latency_per_version(template: Doc) -> None:
    (dashboard,) = of_type(template["Resources"], "AWS::CloudWatch::Dashboard").values()
    body = json.loads(Resolver(template)(dashboard["Properties"]["DashboardBody"]))
    searches = [
        metric["expression"]
        for widget in body["widgets"]
        for row in widget["properties"].get("metrics", [])
        for metric in row
        if isinstance(metric, dict) and "expression" in metric
    ]
    shown: set[tuple[str, str]] = set()
    for search in searches:
        found = EMF_SEARCH.fullmatch(search)
        assert found is not None, search
        names, stat = found.groups()
        shown.update((name, stat) for name in names.strip("()").split(" OR "))
    assert {("Requests", "Sum"), ("Latency", "p50"), ("Latency", "p99")} <= shown
    assert {("ClientErrors", "Sum"), ("ServerErrors", "Sum"), ("ModelErrors", "Sum")} <= shown
    assert {metric for metric, _ in shown} <= EMF_METRICS


def test_alarms_notify_the_optional_topic(template: Doc) -> None:
    assert template["Parameters"]["AlarmTopicArn"]["Default"] == ""
    for alarm in of_type(template["Resources"], "AWS::CloudWatch::Alarm").values():
        for key in ("AlarmActions", "OKActions"):
            assert alarm["Properties"][key]["Fn::If"] == [
                "NotifyAlarms",
                [{"Ref": "AlarmTopicArn"}],
                [],
            ]


def test_alarms_watch_the_5xx_rate_and_p99_latency(template: Doc) -> None:
    alarms = of_type(template["Resources"], "AWS::CloudWatch::Alarm")
    rate = alarms["ApiServerErrorRateAlarm"]["Properties"]
    stats = {m["Id"]: m["MetricStat"] for m in rate["Metrics"] if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {"5xx", "Count"}
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "AWS/ApiGateway"
        assert stat["Metric"]["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    (expression,) = [m["Expression"] for m in rate["Metrics"] if m.get("ReturnData")]
    assert set(re.findall(r"\b(errors|requests)\b", expression)) == set(stats)
    assert rate["Threshold"] == {"Ref": "ServerErrorRateThreshold"}
    latency = alarms["ApiLatencyP99Alarm"]["Properties"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("Latency", "p99")
    assert latency["Threshold"] == {"Ref": "LatencyP99ThresholdMs"}


def test_outputs_name_what_deployers_and_clients_need(template: Doc) -> None:
    outputs = template["Outputs"]
    url = outputs["ApiUrl"]["Value"]
    assert url == {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    expected = {
        "RegistryTableName": {"Ref": "RegistryTable"},
        "ArtifactsBucketName": {"Ref": "ArtifactsBucket"},
        "UploadsBucketName": {"Ref": "UploadsBucket"},
        "RollupsTableName": {"Ref": "RollupsTable"},
        "BatchDeadLetterQueueUrl": {"Ref": "BatchDeadLetterQueue"},
    }
    assert {name: outputs[name]["Value"] for name in expected} == expected
