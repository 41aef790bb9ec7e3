"""template.yaml for tests: parsed, translated by SAM, and its intrinsics resolved.

No AWS calls: the translator gets a fixed region and an empty managed-policy map, and
local code paths are swapped for S3 URIs as ``sam package`` would do. ``Resolver``
evaluates the few intrinsic functions the template uses against one fixed deployment
(``PSEUDO``), so IAM statements, bucket names and environments compare as plain strings.
Both loaders are cached per process: callers must not mutate what they return.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import yaml  # type: ignore[import-untyped]
from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
Doc = dict[str, Any]
Resources = dict[str, Doc]

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "demo"
STACK_ID_BLOCK = "0a1b2c3d"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::StackName": STACK,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/{STACK_ID_BLOCK}-4e",
    "AWS::URLSuffix": "amazonaws.com",
}


@cache
def source() -> Doc:
    """The template as written (intrinsics in their long ``Fn::`` form)."""
    parsed: Doc = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


@cache
def translated() -> Resources:
    """The CloudFormation resources the SAM translator produces from the template."""
    template = copy.deepcopy(source())
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://layerserve-artifacts/{properties[key]}.zip"
    fake = dict.fromkeys(CREDENTIALS, "testing") | {"AWS_DEFAULT_REGION": REGION}
    with mock.patch.dict(os.environ, fake):
        session = boto3.session.Session(region_name=REGION)
        translator = Translator({}, Parser(), boto_session=session)
        result: Doc = translator.translate(template, {}, get_managed_policy_map=dict)
    resources: Resources = result["Resources"]
    return resources


# What ``sam package`` puts in place of a local CodeUri/ContentUri: its managed bucket and
# an MD5 key (the longest form it writes).
PACKAGED_URI = (
    "s3://aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/"
    "layerserve/0123456789abcdef0123456789abcdef"
)


class _PackagedDumper(yaml.SafeDumper):  # type: ignore[misc]
    """PyYAML's dumper as ``sam package`` (and ``aws cloudformation package``) use it:
    no anchors, block style, keys in template order."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def packaged() -> str:
    """The template as ``sam build`` + ``sam package`` would upload it.

    ``sam build`` adds ``Metadata.SamResourceId`` to each resource; ``sam package``
    replaces local paths with S3 URIs and writes the result with PyYAML (comments gone,
    intrinsics in their long form).
    """
    template = copy.deepcopy(source())
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = PACKAGED_URI
        resource.setdefault("Metadata", {})["SamResourceId"] = name
    dumped: str = yaml.dump(
        template, Dumper=_PackagedDumper, default_flow_style=False, sort_keys=False
    )
    return dumped


def of_type(resources: Resources, kind: str) -> Resources:
    return {name: res for name, res in resources.items() if res["Type"] == kind}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(resources: Resources, role: str) -> list[Doc]:
    """Every statement that applies to ``role``: its inline policies, the template's
    managed policies it lists or that list it, and role policies attached to it."""
    props = resources[role]["Properties"]
    documents = [policy["PolicyDocument"] for policy in props.get("Policies", [])]
    attached = [arn["Ref"] for arn in props.get("ManagedPolicyArns", [])]
    for name, resource in resources.items():
        kind, other = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::IAM::ManagedPolicy" and (
            name in attached or {"Ref": role} in other.get("Roles", [])
        ):
            documents.append(other["PolicyDocument"])
        if kind == "AWS::IAM::RolePolicy" and other["RoleName"] == {"Ref": role}:
            documents.append(other["PolicyDocument"])
    return [statement for document in documents for statement in document["Statement"]]


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


class Resolver:
    """Evaluates Ref, GetAtt, Sub, Join, Select and Split for the ``PSEUDO`` deployment.

    A parameter resolves to its default; a resource to its physical name when the
    template sets one, else to its logical id.
    """

    def __init__(self, template: Doc) -> None:
        self._resources: Resources = template["Resources"]
        self._parameters: Doc = template.get("Parameters", {})

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(item) for item in node]
        if not isinstance(node, dict):
            return node if isinstance(node, str) else str(node)
        ((function, argument),) = node.items()
        functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self.ref,
            "Fn::GetAtt": lambda a: self.attribute(*(a if isinstance(a, list) else a.split("."))),
            "Fn::Sub": self._sub,
            "Fn::Join": lambda a: str(self(a[0])).join(self(a[1])),
            "Fn::Select": lambda a: self(a[1])[int(self(a[0]))],
            "Fn::Split": lambda a: str(self(a[1])).split(self(a[0])),
        }
        assert function in functions, f"cannot resolve {function}"
        return functions[function](argument)

    def ref(self, name: str) -> str:
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self._parameters:
            return str(self._parameters[name]["Default"])
        props = self._resources[name].get("Properties", {})
        named = props.get("BucketName") or props.get("FunctionName")
        return str(self(named)) if named else name

    def attribute(self, name: str, attribute: str) -> str:
        if attribute != "Arn":
            assert attribute == "QueueName", f"{name}.{attribute}"
            return name
        kind = self._resources[name]["Type"]
        props = self._resources[name].get("Properties", {})
        if kind == "AWS::Logs::LogGroup":
            group = self(props["LogGroupName"])
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
        function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.ref(name)}"
        arns = {
            "AWS::S3::Bucket": f"arn:aws:s3:::{self.ref(name)}",
            "AWS::DynamoDB::Table": table_arn(name),
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::Serverless::Function": function,
        }
        return arns[kind]

    def _sub(self, argument: str | list[Any]) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def substitute(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(self(variables[token]))
            if "." in token:
                return self.attribute(*token.split(".", 1))
            return self.ref(token)

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
