"""Rollups in DynamoDB (moto): once per delivery, no lost updates, windows across minutes."""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import boto3
import orjson
import pytest
from moto import mock_aws

from layerserve.adapters.dynamodb_rollups import DynamoDBRollups, partition_key
from layerserve.adapters.dynamodb_tables import ensure_table
from layerserve.domain.errors import ServiceUnavailableError
from layerserve.domain.metric_record import parse_record
from layerserve.domain.rollup import MINUTE_MS, AliasRoute, Rollup, RollupKey, fold_records
from layerserve.domain.size_match import size_class
from layerserve.services.metrics.aggregation import fold_events
from layerserve.services.metrics.query import metrics_summary, route_rollup, window_rollup
from tests.metric_factories import T0, T0_MS, log_events, record_line, traffic
from tests.registry_support import fake_aws, serialise_calls

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "layerserve-metrics"
HOUR = timedelta(hours=1)


def create_table(client: DynamoDBClient, name: str = TABLE) -> None:
    ensure_table(client, name)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    fake_aws(monkeypatch)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


def store(client: Any, **options: Any) -> DynamoDBRollups:
    """A store over ``client`` (a real client or a wrapper around one), without backoff."""
    return DynamoDBRollups(TABLE, cast("DynamoDBClient", client), sleep=lambda _: None, **options)


def rollup_of(**record: Any) -> Rollup:
    parsed = parse_record(record_line(**record))
    assert parsed is not None
    (rollup,) = fold_records([parsed]).values()
    return rollup


def test_a_delivery_folded_twice_counts_once(dynamodb: DynamoDBClient) -> None:
    rollups = store(dynamodb)
    events = log_events(traffic("1", 90, spacing_ms=1500, error_every=9))
    first = fold_events(events, rollups)
    redelivered = fold_events(events, rollups)
    assert (first.applied, first.duplicates) == (3, 0)
    assert (redelivered.applied, redelivered.duplicates) == (0, 3)
    total = window_rollup(rollups, "iris", "1", T0, T0 + HOUR)
    assert (total.requests, total.errors) == (90, {"server": 10})
    fold_events(log_events(traffic("1", 10), prefix="next-"), rollups)
    assert window_rollup(rollups, "iris", "1", T0, T0 + HOUR).requests == 100


class FailingPut:
    """A client whose ``put_item`` fails once after ``allow`` successful calls."""

    def __init__(self, client: DynamoDBClient, allow: int) -> None:
        self._client, self._allow = client, allow

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if self._allow == 0:
            self._allow = -1
            raise dynamodb_error("InternalServerError")
        self._allow -= 1
        return self._client.put_item(**kwargs)


def dynamodb_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "injected"}}, "PutItem")


def test_a_retry_after_a_partial_failure_completes_without_double_counting(
    dynamodb: DynamoDBClient,
) -> None:
    events = log_events(traffic("1", 90, spacing_ms=1500))
    flaky = store(FailingPut(dynamodb, allow=1))
    with pytest.raises(ServiceUnavailableError, match="InternalServerError"):
        fold_events(events, flaky)
    retry = fold_events(events, store(dynamodb))
    assert (retry.applied, retry.duplicates) == (2, 1)
    assert window_rollup(store(dynamodb), "iris", "1", T0, T0 + HOUR).requests == 90


class Interleaved:
    """A client that lets another writer fold a delivery between our read and our write."""

    def __init__(
        self, client: DynamoDBClient, interloper: Callable[[], object], times: int
    ) -> None:
        self._client, self._interloper, self._times = client, interloper, times

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **kwargs: Any) -> Any:
        if self._times > 0:
            self._times -= 1
            self._interloper()
        return self._client.put_item(**kwargs)


def test_a_concurrent_write_is_retried_not_lost(dynamodb: DynamoDBClient) -> None:
    mine = rollup_of(latency_ms=1.0)
    theirs = rollup_of(latency_ms=9.0)
    key = RollupKey("iris", "1", T0_MS // MINUTE_MS)
    other = store(dynamodb)
    store(dynamodb).apply(key, mine, "existing")  # the item exists: the race is on "rev"
    racing = store(Interleaved(dynamodb, lambda: other.apply(key, theirs, "theirs"), times=1))
    assert racing.apply(key, mine, "mine") is True
    item = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": partition_key("iris", "1")}, "sk": {"S": "2025-03-01T12:00Z"}},
    )["Item"]
    assert set(item["deliveries"]["SS"]) == {"existing", "theirs", "mine"}
    assert item["rev"]["N"] == "3"
    total = window_rollup(store(dynamodb), "iris", "1", T0, T0 + HOUR)
    assert total.requests == 3
    assert total.latency.max == 9.0


def test_threads_folding_the_same_minute_lose_nothing(dynamodb: DynamoDBClient) -> None:
    serialise_calls(dynamodb)
    rollups = store(dynamodb, max_attempts=50)
    batches = [log_events(traffic("1", 20, spacing_ms=1), prefix=f"b{i}-") for i in range(12)]
    failures: list[BaseException] = []

    def fold(batch_range: range) -> None:
        try:
            for i in batch_range:
                fold_events(batches[i], rollups)
        except BaseException as exc:  # reported below, on the main thread
            failures.append(exc)

    threads = [threading.Thread(target=fold, args=(range(i, 12, 4),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert window_rollup(rollups, "iris", "1", T0, T0 + HOUR).requests == 240


def test_contention_that_never_ends_is_reported(dynamodb: DynamoDBClient) -> None:
    delta = rollup_of()
    key = RollupKey("iris", "1", T0_MS // MINUTE_MS)
    other, counter = store(dynamodb), iter(range(1000))
    always = Interleaved(dynamodb, lambda: other.apply(key, delta, f"o{next(counter)}"), times=99)
    racing = store(always, max_attempts=3)
    with pytest.raises(ServiceUnavailableError, match="still contended after 3 attempts"):
        racing.apply(key, delta, "mine")


def test_items_are_compact_expire_and_answer_any_window(dynamodb: DynamoDBClient) -> None:
    rollups = store(dynamodb, retention_days=2)
    lines = traffic("1", 600, spacing_ms=1000, error_every=20, output_shift=1.0)
    fold_events(log_events(lines), rollups)
    items = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition_key("iris", "1")}},
    )["Items"]
    assert [item["sk"]["S"] for item in items[:2]] == ["2025-03-01T12:00Z", "2025-03-01T12:01Z"]
    assert len(items) == 10
    assert all(len(item["body"]["B"]) < 4000 for item in items)
    assert int(items[0]["expires_at"]["N"]) == T0_MS // 1000 + 2 * 86_400
    assert orjson.loads(zlib.decompress(items[0]["body"]["B"]))["req"] == 60
    middle = metrics_summary(
        rollups, "iris", "1", T0 + timedelta(minutes=3), T0 + timedelta(minutes=5, seconds=59)
    )
    assert middle.requests == 180
    assert [p.minute.minute for p in middle.series] == [3, 4, 5]


def test_storage_failures_become_service_unavailable(dynamodb: DynamoDBClient) -> None:
    missing = DynamoDBRollups("no-such-table", dynamodb)
    with pytest.raises(ServiceUnavailableError, match="rollup table 'no-such-table'"):
        missing.read("iris", "1", 0, 10)
    with pytest.raises(ServiceUnavailableError, match="rollup table 'no-such-table'"):
        fold_events(log_events([record_line()]), missing)


def test_alias_routed_records_also_fold_into_their_route(dynamodb: DynamoDBClient) -> None:
    rollups = store(dynamodb)
    lines = [
        record_line(alias_revision=4, request_id="routed-4", input_elements=4),
        record_line(alias_revision=5, request_id="routed-5", input_elements=400),
        record_line(alias=None, request_id="direct"),
        record_line(alias_revision=5, error_kind="client", request_id="rejected"),
    ]
    report = fold_events(log_events(lines), rollups)
    assert report.applied == 3  # the version's minute, and the minute of each route
    assert window_rollup(rollups, "iris", "1", T0, T0 + HOUR).requests == 4
    four = route_rollup(rollups, "iris", AliasRoute("production", 4), "1")
    five = route_rollup(rollups, "iris", AliasRoute("production", 5), "1")
    assert (four.requests, five.requests, five.errors) == (1, 2, {"client": 1})
    # Latency by size counts successful requests only; the version's rollup has none.
    assert {size: s.count for size, s in five.sized_latency.items()} == {size_class(400): 1}
    assert list(four.sized_latency) == [size_class(4)]
    pks = {item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]}
    assert pks == {
        partition_key("iris", "1"),
        "ROUTE#iris#production#4#1",
        "ROUTE#iris#production#5#1",
    }
    assert route_rollup(rollups, "iris", AliasRoute("production", 6), "1").requests == 0


def test_rollups_stored_before_size_classes_still_read() -> None:
    (rollup,) = fold_records([r for r in map(parse_record, traffic("1", 5)) if r]).values()
    stored = rollup.to_dict()
    assert "slat" not in stored and "srun" not in stored
    assert Rollup.from_dict(stored).sized_latency == {}
