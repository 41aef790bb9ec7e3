"""The metrics function's handlers with real subscription payloads and a schedule event."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import orjson
import pytest
from moto import mock_aws

from layerserve.adapters.cloudwatch_logs import (
    CONTROL_MESSAGE,
    decode_subscription,
    encode_subscription,
)
from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
from layerserve.bootstrap.guardrails import make_guardrails_handler
from layerserve.bootstrap.metrics import build_metrics_handler, make_metrics_handler
from layerserve.bootstrap.rollups import build_rollups
from layerserve.domain.errors import InvalidInputError
from layerserve.domain.guardrails import CanaryPolicy, CanaryState, Figure
from layerserve.local.events import FakeLambdaContext
from layerserve.services.canary.guardrails import GuardedCanary
from layerserve.services.metrics.query import window_rollup
from layerserve.settings import MetricsSettings
from tests.guardrail_support import SCHEDULE_EVENT
from tests.integration.test_metrics_rollups import TABLE, create_table
from tests.metric_factories import T0_MS, log_events, traffic
from tests.registry_support import fake_aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


SETTINGS = MetricsSettings(rollups_table=TABLE)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    fake_aws(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


def aws_payload(messages: Sequence[str], first_id: int = 0) -> dict[str, Any]:
    """Exactly what CloudWatch Logs hands a subscribed Lambda function."""
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/aws/lambda/layerserve-inference",
        "logStream": "2025/03/01/[$LATEST]0123456789abcdef",
        "subscriptionFilters": ["layerserve-metrics"],
        "logEvents": [
            {
                "id": str(37000000000000000000000000000000000000 + first_id + i),
                "timestamp": now_ms,
                "message": m,
            }
            for i, m in enumerate(messages)
        ],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(orjson.dumps(document))).decode()}}


def test_subscription_delivery_is_folded_once(dynamodb: DynamoDBClient) -> None:
    handler = build_metrics_handler(SETTINGS, dynamodb=dynamodb)
    lines = traffic("1", 30, spacing_ms=100, error_every=10)
    messages = [f"2025-03-01T12:00:00.000Z\tabc\tINFO\t{line}\n" for line in lines]
    messages.append("END RequestId: abc")
    payload = aws_payload(messages)
    report = handler(payload, FakeLambdaContext())
    assert (report["events"], report["records"], report["ignored"], report["applied"]) == (
        31,
        30,
        1,
        1,
    )
    again = handler(payload, FakeLambdaContext())
    assert (again["applied"], again["duplicates"]) == (0, 1)
    rollups = DynamoDBRollups(TABLE, dynamodb)
    start = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    total = window_rollup(rollups, "iris", "1", start, start + timedelta(minutes=1))
    assert (total.requests, total.errors) == (30, {"server": 3})


def test_the_settings_retention_decides_when_rollups_expire(dynamodb: DynamoDBClient) -> None:
    settings = MetricsSettings(rollups_table=TABLE, rollup_retention_days=2)
    build_metrics_handler(settings, dynamodb=dynamodb)(
        aws_payload(traffic("1", 3)), FakeLambdaContext()
    )
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert {int(item["expires_at"]["N"]) for item in items} == {T0_MS // 1000 + 2 * 86_400}


def test_the_subscription_control_message_carries_nothing(dynamodb: DynamoDBClient) -> None:
    document = {
        "messageType": CONTROL_MESSAGE,
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function.",
            }
        ],
    }
    payload = {
        "awslogs": {"data": base64.b64encode(gzip.compress(orjson.dumps(document))).decode()}
    }
    report = build_metrics_handler(SETTINGS, dynamodb=dynamodb)(payload, FakeLambdaContext())
    assert (report["records"], report["applied"]) == (0, 0)


@pytest.mark.parametrize(
    "event",
    [{}, {"awslogs": {"data": "***"}}, {"awslogs": {"data": base64.b64encode(b"plain").decode()}}],
)
def test_payloads_that_are_not_subscriptions_are_refused(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="not a CloudWatch Logs subscription payload"):
        decode_subscription(event)


def test_encode_and_decode_agree() -> None:
    events = log_events(["one", "two"])
    batch = decode_subscription(encode_subscription(events, log_group="/g"))
    assert (batch.events, batch.log_group) == (events, "/g")


class Registry:
    def __init__(self, canary: GuardedCanary) -> None:
        self.watched = [canary]
        self.moves: list[tuple[str, str, dict[str, Figure]]] = []

    def canaries(self) -> Sequence[GuardedCanary]:
        return self.watched

    def advance(
        self, state: CanaryState, to_weight: int, reason: str, figures: dict[str, Figure]
    ) -> None:
        self.moves.append(("advance", reason, figures))

    def complete(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self.moves.append(("complete", reason, figures))

    def rollback(self, state: CanaryState, reason: str, figures: dict[str, Figure]) -> None:
        self.watched = []
        self.moves.append(("rollback", reason, figures))


def test_schedule_rolls_back_a_canary_with_an_error_spike(dynamodb: DynamoDBClient) -> None:
    rollups = build_rollups(TABLE, dynamodb=dynamodb)
    started = datetime.now(UTC) - timedelta(minutes=5)
    start_ms = int(started.timestamp() * 1000)
    # What revision 7 of the alias routed to each side.
    lines = traffic("1", 400, start_ms=start_ms, spacing_ms=500, alias_revision=7) + traffic(
        "2", 250, start_ms=start_ms, spacing_ms=800, error_every=3, alias_revision=7
    )
    make_metrics_handler(rollups)(aws_payload(lines), FakeLambdaContext())
    state = CanaryState(
        model="iris",
        alias="production",
        stable_version="1",
        canary_version="2",
        weight=10,
        step_started_at=started,
        revision=7,
    )
    registry = Registry(GuardedCanary(CanaryPolicy(min_samples=200), state))
    schedule_handler = make_guardrails_handler(registry, rollups)
    result = schedule_handler(SCHEDULE_EVENT, FakeLambdaContext())
    assert result["evaluated"] == 1
    ((action, reason, figures),) = registry.moves
    assert action == "rollback" and result["outcomes"][0]["action"] == "rollback"
    assert reason.startswith("error rate 33.60% vs stable 0.00%")
    assert (figures["canary_requests"], figures["stable_requests"]) == (250, 400)
    assert schedule_handler(SCHEDULE_EVENT, FakeLambdaContext()) == {"evaluated": 0, "outcomes": []}


def test_a_delivery_that_inflates_too_far_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from layerserve.adapters import cloudwatch_logs

    monkeypatch.setattr(cloudwatch_logs, "MAX_DECOMPRESSED", 1024)
    payload = encode_subscription(log_events(["x" * 4096]))
    with pytest.raises(InvalidInputError, match="inflates past 1024 bytes"):
        decode_subscription(payload)
