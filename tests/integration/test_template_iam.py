"""template.yaml IAM: one role per function, each granting exactly what its code needs.

``IAM`` is the specification: per role, every resource (resolved for a fixed deployment)
and the actions allowed on it. Anything more, or less, fails.
"""

from __future__ import annotations

import pytest

from layerserve.domain.batch import BatchLayout, prefixes_overlap
from layerserve.settings import BatchSettings
from tests.cfn_template import (
    ACCOUNT,
    REGION,
    STACK,
    STACK_ID_BLOCK,
    Doc,
    Resolver,
    Resources,
    as_list,
    of_type,
    role_statements,
    source,
    table_arn,
    translated,
)

ARTIFACTS = f"arn:aws:s3:::layerserve-artifacts-{ACCOUNT}-{STACK_ID_BLOCK}"
UPLOADS = f"arn:aws:s3:::layerserve-uploads-{ACCOUNT}-{STACK_ID_BLOCK}"
BATCH = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-batch"
REGISTRY = table_arn("RegistryTable")
ROLLUPS = table_arn("RollupsTable")


def log_group(function: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{STACK}/{function}:*"


LOGS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # no resource-level IAM: "*"
READ_ITEMS = {"dynamodb:GetItem", "dynamodb:Query"}
WRITE_REGISTRY = READ_ITEMS | {  # TransactWriteItems is authorised per contained item
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
}
READ_ARTIFACTS = {
    f"{ARTIFACTS}/artifacts/*": {"s3:GetObject", "s3:GetObjectVersion"},  # pinned versions
    ARTIFACTS: {"s3:ListBucket"},
}

IAM: dict[str, dict[str, set[str]]] = {
    "InferenceFunctionRole": {
        log_group("inference"): LOGS,
        "*": XRAY,
        REGISTRY: READ_ITEMS,
        **READ_ARTIFACTS,
    },
    "RegistryFunctionRole": {
        log_group("registry"): LOGS,
        "*": XRAY,
        REGISTRY: WRITE_REGISTRY,
        **READ_ARTIFACTS,
        ROLLUPS: READ_ITEMS,
    },
    "BatchFunctionRole": {
        log_group("batch"): LOGS,
        "*": XRAY,
        f"{UPLOADS}/inputs/*": {"s3:GetObject", "s3:GetObjectVersion"},
        UPLOADS: {"s3:ListBucket"},
        f"{UPLOADS}/outputs/*": {
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        },
        table_arn("BatchIdempotencyTable"): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        REGISTRY: READ_ITEMS,
        **READ_ARTIFACTS,
        BATCH: {"lambda:InvokeFunction"},
        f"{BATCH}:*": {"lambda:InvokeFunction"},
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:BatchDeadLetterQueue": {"sqs:SendMessage"},
    },
    "MetricsFunctionRole": {
        log_group("metrics"): LOGS,
        "*": XRAY,
        ROLLUPS: {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"},
    },
    "GuardrailFunctionRole": {
        log_group("guardrail"): LOGS,
        "*": XRAY,
        ROLLUPS: READ_ITEMS,
        REGISTRY: WRITE_REGISTRY,
    },
}


@pytest.fixture(scope="module")
def template() -> Doc:
    return source()


@pytest.fixture(scope="module")
def resources() -> Resources:
    return translated()


def _statements(resources: Resources, role: str) -> list[Doc]:
    props = resources[role]["Properties"]
    for arn in props.get("ManagedPolicyArns", []):
        assert set(arn) == {"Ref"}, "only the template's own managed policies can be checked"
        assert resources[arn["Ref"]]["Type"] == "AWS::IAM::ManagedPolicy", arn
    assert not props.get("PermissionsBoundary")
    return role_statements(resources, role)


def _role_of(function: Doc) -> str:
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def test_each_function_has_its_own_role(resources: Resources) -> None:
    roles = [_role_of(fn) for fn in of_type(resources, "AWS::Lambda::Function").values()]
    assert len(set(roles)) == len(roles), "functions must not share a role"
    assert set(roles) == set(IAM)
    for role in roles:
        (trust,) = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert trust["Action"] == "sts:AssumeRole"


def test_no_wildcard_actions_and_star_resources_only_for_xray(resources: Resources) -> None:
    for role in IAM:
        for statement in _statements(resources, role):
            assert statement["Effect"] == "Allow"
            assert not {"NotAction", "NotResource"} & set(statement), statement
            actions = as_list(statement["Action"])
            assert all("*" not in action for action in actions), actions
            if "*" in as_list(statement["Resource"]):
                assert all(action.startswith("xray:") for action in actions), actions


@pytest.mark.parametrize("role", sorted(IAM))
def test_role_grants_exactly_its_least_privilege(template: Doc, role: str) -> None:
    resolve = Resolver(template)
    granted: dict[str, set[str]] = {}
    for statement in _statements(template["Resources"], role):
        for resource in as_list(resolve(statement["Resource"])):
            granted.setdefault(resource, set()).update(as_list(statement["Action"]))
    assert granted == IAM[role]


def test_batch_role_invokes_exactly_the_batch_function(template: Doc) -> None:
    assert Resolver(template)({"Fn::GetAtt": ["BatchFunction", "Arn"]}) == BATCH


def test_functions_never_write_where_their_s3_events_fire(
    template: Doc, resources: Resources
) -> None:
    """A function's S3 notification prefix and everything its role may write are disjoint."""
    resolve = Resolver(template)
    notified = 0
    for bucket_id, bucket in of_type(resources, "AWS::S3::Bucket").items():
        bucket_arn = resolve({"Fn::GetAtt": [bucket_id, "Arn"]})
        config = bucket["Properties"].get("NotificationConfiguration", {})
        for notification in config.get("LambdaConfigurations", []):
            notified += 1
            function = notification["Function"]["Fn::GetAtt"][0]
            (rule,) = notification["Filter"]["S3Key"]["Rules"]
            assert rule["Name"] == "prefix"
            role = _role_of(resources[function])
            writes = [
                arn
                for statement in _statements(template["Resources"], role)
                if any(action.startswith("s3:Put") for action in as_list(statement["Action"]))
                for arn in as_list(resolve(statement["Resource"]))
            ]
            for arn in writes:
                if arn == bucket_arn or arn.startswith(f"{bucket_arn}/"):
                    prefix = arn.removeprefix(f"{bucket_arn}/").rstrip("*")
                    assert prefix, (function, arn)
                    assert not prefixes_overlap(rule["Value"], prefix), (function, arn)
    assert notified == 2


def test_batch_event_prefix_and_output_prefix_do_not_overlap(template: Doc) -> None:
    bucket = template["Resources"]["UploadsBucket"]["Properties"]
    (notification,) = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    (rule,) = notification["Filter"]["S3Key"]["Rules"]
    defaults = BatchSettings(idempotency_table="table")
    env = template["Resources"]["BatchFunction"]["Properties"]["Environment"]["Variables"]
    assert "LAYERSERVE_BATCH_INPUT_PREFIX" not in env or (
        env["LAYERSERVE_BATCH_INPUT_PREFIX"] == defaults.input_prefix
    )
    assert rule == {"Name": "prefix", "Value": env.get("LAYERSERVE_BATCH_INPUT_PREFIX")}
    output = env.get("LAYERSERVE_BATCH_OUTPUT_PREFIX", defaults.output_prefix)
    assert output == defaults.output_prefix
    assert not prefixes_overlap(rule["Value"], output)
    layout = BatchLayout(rule["Value"], output)  # refuses overlapping prefixes itself
    upload = layout.parse(f"{rule['Value']}mlp/prod/any/file.jsonl")
    assert upload is not None
    assert not layout.summary_key(upload).startswith(rule["Value"])


@pytest.mark.parametrize(
    ("permission", "function", "bucket"),
    [
        ("RegistryUploadPermission", "RegistryFunction", ARTIFACTS),
        ("BatchUploadPermission", "BatchFunction", UPLOADS),
    ],
)
def test_s3_invoke_permissions_name_their_bucket_and_account(
    template: Doc, permission: str, function: str, bucket: str
) -> None:
    resolve = Resolver(template)
    props = template["Resources"][permission]["Properties"]
    assert props["Principal"] == "s3.amazonaws.com"
    assert props["FunctionName"] == {"Fn::GetAtt": [function, "Arn"]}
    assert (
        resolve(props["SourceArn"]) == bucket == resolve({"Fn::GetAtt": [bucket_id(bucket), "Arn"]})
    )
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}


def bucket_id(arn: str) -> str:
    return "ArtifactsBucket" if arn == ARTIFACTS else "UploadsBucket"


def test_every_invoke_permission_names_its_source(resources: Resources) -> None:
    """No service may invoke a function on behalf of a resource in another account."""
    permissions = of_type(resources, "AWS::Lambda::Permission")
    assert len(permissions) >= 9
    for name, permission in permissions.items():
        props = permission["Properties"]
        assert props.get("SourceArn"), name
        if props["Principal"] in ("s3.amazonaws.com", "logs.amazonaws.com"):
            assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}, name


def test_list_bucket_grants_carry_no_condition(template: Doc) -> None:
    """s3:ListBucket is what turns a read of a missing object into 404 instead of 403.

    S3 evaluates it in the GetObject request's context, which has no ``s3:prefix``: a
    condition on the prefix would never match, and a deleted batch input would read as
    an outage (403, retried into the dead-letter queue) instead of the caller's 404.
    """
    found = 0
    for role in IAM:
        for statement in _statements(template["Resources"], role):
            if "s3:ListBucket" in as_list(statement["Action"]):
                found += 1
                assert "Condition" not in statement, (role, statement)
    assert found == 4
