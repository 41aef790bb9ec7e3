"""infra/fragments/batch.yaml (and template.yaml once it holds the batch function): never
self-triggering, least privilege, failures to the DLQ, valid once merged.

What the template lacks of the fragment is merged in (Parameters, Resources, Outputs);
the result is linted with cfn-lint and transformed by the SAM translator.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from layerserve.domain.batch import BatchLayout, prefixes_overlap
from layerserve.settings import BatchSettings

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = ROOT / "infra" / "fragments" / "batch.yaml"
TEMPLATE = ROOT / "template.yaml"
Doc = dict[str, Any]


def _parse(path: Path) -> Doc:
    parsed: Doc = yaml_parse(path.read_text(encoding="utf-8"))
    return parsed


def _sources() -> list[Any]:
    # template.yaml holds the batch function with its bucket grants in a policy of their
    # own and an explicit notification: test_template_iam.py and
    # test_template_resources.py check it there.
    return [pytest.param(FRAGMENT, id="fragment")]


@pytest.fixture(scope="module", params=_sources())
def fragment(request: pytest.FixtureRequest) -> Doc:
    """The batch resources of the fragment."""
    return _parse(request.param)


@pytest.fixture(scope="module")
def merged() -> Doc:
    template = _parse(TEMPLATE)
    addition = _parse(FRAGMENT)
    for section in ("Parameters", "Resources", "Outputs"):
        for name, value in addition[section].items():
            template.setdefault(section, {}).setdefault(name, copy.deepcopy(value))
    return template


@pytest.fixture(scope="module")
def translated(merged: Doc) -> Doc:
    template = copy.deepcopy(merged)
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
        result: Doc = translator.translate(template, {}, get_managed_policy_map=dict)
    resources: Doc = result["Resources"]
    return resources


def _function(fragment: Doc) -> Doc:
    properties: Doc = fragment["Resources"]["BatchFunction"]["Properties"]
    return properties


def _event_prefix(fragment: Doc) -> str:
    (rule,) = _function(fragment)["Events"]["Upload"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rule["Name"] == "prefix"
    return str(rule["Value"])


def test_event_filter_and_output_prefix_do_not_overlap(fragment: Doc) -> None:
    env = _function(fragment)["Environment"]["Variables"]
    trigger = _event_prefix(fragment)
    assert env["LAYERSERVE_BATCH_INPUT_PREFIX"] == trigger
    output = env["LAYERSERVE_BATCH_OUTPUT_PREFIX"]
    assert not prefixes_overlap(trigger, output)
    layout = BatchLayout(env["LAYERSERVE_BATCH_INPUT_PREFIX"], output)  # refuses overlaps
    upload = layout.parse(f"{trigger}mlp/prod/any/file.jsonl")
    assert upload is not None
    assert not layout.summary_key(upload).startswith(trigger)


def test_defaults_match_the_fragment(fragment: Doc) -> None:
    env = _function(fragment)["Environment"]["Variables"]
    defaults = BatchSettings(idempotency_table="table")
    assert env["LAYERSERVE_BATCH_INPUT_PREFIX"] == defaults.input_prefix
    assert env["LAYERSERVE_BATCH_OUTPUT_PREFIX"] == defaults.output_prefix


def _statements(role: Doc) -> list[Doc]:
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _flat(value: Any) -> str:
    return json.dumps(value)


def _on_uploads(statement: Doc) -> bool:
    text = _flat(statement["Resource"])
    return "layerserve-uploads" in text or "UploadsBucket" in text


def test_role_writes_only_outputs_and_reads_only_inputs(fragment: Doc) -> None:
    statements = _statements(fragment["Resources"]["BatchFunctionRole"])
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    reads = [s for s in statements if "s3:GetObject" in s["Action"] and _on_uploads(s)]
    assert len(writes) == 1
    assert len(reads) == 1
    assert "/outputs/*" in _flat(writes[0]["Resource"])
    assert "inputs/" not in _flat(writes[0]["Resource"])
    assert "/inputs/*" in _flat(reads[0]["Resource"])
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement
        if statement["Resource"] == "*":
            assert all(action.startswith("xray:") for action in actions)


def test_role_invokes_only_itself_and_sends_to_the_dlq(fragment: Doc) -> None:
    statements = _statements(fragment["Resources"]["BatchFunctionRole"])
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    assert all("${AWS::StackName}-batch" in _flat(arn) for arn in invoke["Resource"])
    assert _function(fragment)["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-batch"}
    (send,) = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert send["Resource"] == {"Fn::GetAtt": ["BatchDeadLetterQueue", "Arn"]}


def test_failures_go_to_the_dead_letter_queue(fragment: Doc) -> None:
    config = _function(fragment)["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == {"Ref": "BatchMaxRetryAttempts"}
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["BatchDeadLetterQueue", "Arn"]},
    }


def test_bucket_is_private_encrypted_and_tls_only(fragment: Doc) -> None:
    resources = fragment["Resources"]
    bucket = resources["UploadsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (deny,) = resources["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_idempotency_table_expires_records(fragment: Doc) -> None:
    table = fragment["Resources"]["BatchIdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_translated_stack_wires_the_notification(translated: Doc) -> None:
    configurations = translated["UploadsBucket"]["Properties"]["NotificationConfiguration"]
    (notification,) = configurations["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "inputs/"}]
    invoke_configs = [
        res
        for res in translated.values()
        if res["Type"] == "AWS::Lambda::EventInvokeConfig"
        and res["Properties"]["FunctionName"] == {"Ref": "BatchFunction"}
    ]
    assert len(invoke_configs) == 1
    assert "OnFailure" in invoke_configs[0]["Properties"]["DestinationConfig"]
    assert translated["BatchFunction"]["Properties"]["Runtime"] == "python3.12"


def test_merged_template_lints_clean(merged: Doc, tmp_path: Path) -> None:
    path = tmp_path / "template.json"  # intrinsics are in their long (Fn::) form by now
    path.write_text(json.dumps(merged), encoding="utf-8")
    matches = lint_file(path, ManualArgs(regions=["us-east-1"]))
    assert [f"{m.rule.id}: {m.message}" for m in matches] == []
