"""Metric records and log events for the metrics tests, built like inference builds them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import datetime

import numpy as np

from layerserve.domain.metric_record import ErrorKind, build_record, record_to_json
from layerserve.domain.rollup import AliasRoute, Rollup, RollupKey
from layerserve.services.metrics.aggregation import LogEvent
from layerserve.services.telemetry import ERROR_KINDS, RequestOutcome

T0 = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
T0_MS = int(T0.timestamp() * 1000)


def record_line(
    *,
    t_ms: int = T0_MS,
    model: str = "iris",
    version: str = "1",
    alias: str | None = "production",
    alias_revision: int | None = None,
    input_elements: int | None = 4,
    first_use: bool = False,
    error_kind: ErrorKind | None = None,
    latency_ms: float = 5.0,
    run_ms: float | None = 2.0,
    cold: bool = False,
    output: np.ndarray | None = None,
    request_id: str = "r",
) -> str:
    status = {None: 200, "client": 400, "server": 500, "model": 500}[error_kind]
    record = build_record(
        time_ms=t_ms,
        request_id=request_id,
        model=model,
        version=version,
        alias=alias,
        alias_revision=alias_revision,
        input_elements=input_elements,
        first_use=first_use,
        status=status,
        error_kind=error_kind,
        latency_ms=latency_ms,
        run_ms=run_ms,
        batch_size=1,
        cold=cold,
        init_ms=120.0 if cold else None,
        outputs={"y": output} if output is not None else None,
    )
    return record_to_json(record).decode()


def traffic(
    version: str,
    count: int,
    *,
    start_ms: int = T0_MS,
    spacing_ms: int = 100,
    error_every: int = 0,
    latency_ms: float = 5.0,
    output_shift: float = 0.0,
    seed: int = 0,
    alias_revision: int | None = None,
    error_kind: ErrorKind = "server",
    input_elements: int = 4,
) -> list[str]:
    """``count`` records of one version: every ``error_every``-th an ``error_kind`` error,
    outputs drawn from N(output_shift, 1), latencies spread +/-20 % around ``latency_ms``;
    with ``alias_revision``, routed by revision ``alias_revision`` of ``production``."""
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(count):
        failed = error_every > 0 and i % error_every == 0
        lines.append(
            record_line(
                t_ms=start_ms + i * spacing_ms,
                version=version,
                alias_revision=alias_revision,
                input_elements=input_elements,
                error_kind=error_kind if failed else None,
                latency_ms=float(latency_ms * rng.uniform(0.8, 1.2)),
                output=None
                if failed
                else (rng.normal(output_shift, 1.0, size=(1, 4)).astype(np.float32)),
                request_id=f"{version}-{i}",
            )
        )
    return lines


def log_events(lines: Sequence[str], prefix: str = "e", timestamp: int = T0_MS) -> list[LogEvent]:
    return [
        LogEvent(id=f"{prefix}{i:08d}", timestamp=timestamp, message=line)
        for i, line in enumerate(lines)
    ]


class InMemoryRollups:
    """``RollupStore`` in a dict, with the same once-per-delivery rule as DynamoDB's."""

    def __init__(self) -> None:
        self.items: dict[RollupKey, tuple[Rollup, set[str]]] = {}

    def apply(self, key: RollupKey, delta: Rollup, delivery_id: str) -> bool:
        rollup, deliveries = self.items.setdefault(key, (Rollup(), set()))
        if delivery_id in deliveries:
            return False
        rollup.merge(delta)
        deliveries.add(delivery_id)
        return True

    def read(
        self, model: str, version: str, first_minute: int, last_minute: int
    ) -> list[tuple[int, Rollup]]:
        return [
            (key.minute, rollup)
            for key, rollup in self._sorted()
            if (key.model, key.version, key.route) == (model, version, None)
            and first_minute <= key.minute <= last_minute
        ]

    def read_route(self, model: str, route: AliasRoute, version: str) -> list[tuple[int, Rollup]]:
        return [
            (key.minute, rollup)
            for key, rollup in self._sorted()
            if (key.model, key.version, key.route) == (model, version, route)
        ]

    def _sorted(self) -> list[tuple[RollupKey, Rollup]]:
        keys = sorted(self.items, key=RollupKey.order)
        return [(key, self.items[key][0]) for key in keys]


def every_outcome_shape() -> Iterator[RequestOutcome]:
    """With and without a run time and a batch size, successful or failed in each way."""
    for run_s, batch, kind in itertools.product((None, 0.002), (None, 4), (None, *ERROR_KINDS)):
        yield RequestOutcome(
            route="v2",
            status=200 if kind is None else 400,
            latency_s=0.003,
            model="m",
            version="1",
            error_kind=kind,
            run_s=run_s,
            batch_size=batch,
        )
