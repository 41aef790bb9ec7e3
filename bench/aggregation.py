"""Aggregation throughput: metric records folded per second in one invocation.

Builds one CloudWatch Logs subscription delivery of realistic records (two versions,
several minutes, 1x4 FP32 outputs, Lambda's text log prefix) and times, per delivery:
``decode`` (base64 + gunzip + JSON), ``fold`` (find, validate and fold the records,
then one write per rollup into an in-memory store) and, end to end, the handler path
against moto's DynamoDB (its latency is not DynamoDB's; the write count per delivery is
the number of (model, version, minute) keys, independent of the record count).
Records are routed by an alias revision, so each also folds into its alias route's
rollup (per-size latency included); ``fold, version rollups only`` times the same
records without the revision, the fold before alias routes existed, as the reference.
Run: ``python -m bench.aggregation``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from bench.harness import machine
from layerserve.adapters.cloudwatch_logs import decode_subscription, encode_subscription
from layerserve.domain.metric_record import build_record, record_to_json
from layerserve.domain.rollup import AliasRoute, Rollup, RollupKey
from layerserve.services.metrics.aggregation import LogEvent, fold_events

RECORDS = 10_000
"""About what one subscription delivery carries (up to 1 MB of compressed events)."""
REPEATS = 5
T0_MS = 1_740_830_400_000


class MemoryRollups:
    def __init__(self) -> None:
        self.items: dict[RollupKey, Rollup] = {}

    def apply(self, key: RollupKey, delta: Rollup, delivery_id: str) -> bool:
        del delivery_id
        self.items.setdefault(key, Rollup()).merge(delta)
        return True

    def read(self, model: str, version: str, first: int, last: int) -> list[tuple[int, Rollup]]:
        del model, version, first, last
        return []

    def read_route(self, model: str, route: AliasRoute, version: str) -> list[tuple[int, Rollup]]:
        del model, route, version
        return []


def delivery(count: int, offset: int = 0, *, routed: bool = True) -> list[LogEvent]:
    rng = np.random.default_rng(offset)
    events = []
    for i in range(count):
        record = build_record(
            time_ms=T0_MS + i * 30,
            request_id=f"req-{offset}-{i}",
            model="iris",
            version="2" if i % 10 == 0 else "1",
            alias="production",
            alias_revision=7 if routed else None,
            input_elements=4,
            status=500 if i % 97 == 0 else 200,
            error_kind="server" if i % 97 == 0 else None,
            latency_ms=float(rng.lognormal(1.0, 0.4)),
            run_ms=float(rng.lognormal(0.0, 0.3)),
            batch_size=1,
            cold=i == 0,
            init_ms=850.0 if i == 0 else None,
            outputs={"y": rng.random((1, 4), dtype=np.float32)},
        )
        line = f"2025-03-01T12:00:00.000Z\treq-{i}\tINFO\t{record_to_json(record).decode()}\n"
        events.append(LogEvent(id=f"{offset:04d}{i:012d}", timestamp=T0_MS + i * 30, message=line))
    return events


def best_of(repeats: int, call: Callable[[int], object]) -> float:
    timings = []
    for repeat in range(repeats):
        started = time.perf_counter()
        call(repeat)
        timings.append(time.perf_counter() - started)
    return min(timings)


def moto_rate(payloads: list[dict[str, object]]) -> float:
    import boto3
    from moto import mock_aws

    from layerserve.adapters.dynamodb_rollups import DynamoDBRollups
    from layerserve.adapters.dynamodb_tables import ensure_table

    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        os.environ.setdefault(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ensure_table(client, "bench")
        store = DynamoDBRollups("bench", client)
        seconds = best_of(
            len(payloads), lambda r: fold_events(decode_subscription(payloads[r]).events, store)
        )
    return RECORDS / seconds


def main() -> None:
    print(f"aggregation throughput, {RECORDS} records per delivery ({machine()})")
    batches = [delivery(RECORDS, offset) for offset in range(REPEATS)]
    payloads = [encode_subscription(batch) for batch in batches]
    size_kib = len(str(payloads[0]["awslogs"])) / 1024
    print(f"delivery: {size_kib:.0f} KiB base64+gzip, {len(batches[0][0].message)} B per line")
    decode = best_of(REPEATS, lambda r: decode_subscription(payloads[r]))
    fold = best_of(REPEATS, lambda r: fold_events(batches[r], MemoryRollups()))
    unrouted = [delivery(RECORDS, offset, routed=False) for offset in range(REPEATS)]
    reference = best_of(REPEATS, lambda r: fold_events(unrouted[r], MemoryRollups()))
    print(f"decode            {RECORDS / decode:>10,.0f} records/s")
    print(f"fold              {RECORDS / fold:>10,.0f} records/s "
          f"({fold / reference:.2f}x the time of version rollups only)")  # fmt: skip
    print(f"fold, version rollups only {RECORDS / reference:>10,.0f} records/s")
    print(f"decode + fold     {RECORDS / (decode + fold):>10,.0f} records/s")
    print(f"handler + moto    {moto_rate(payloads):>10,.0f} records/s")


if __name__ == "__main__":
    main()
