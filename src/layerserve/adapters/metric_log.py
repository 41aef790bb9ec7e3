"""Per-request metric records as bare JSON log lines (what the aggregator reads).

One ``write`` per request on the hot path: no logger formatting, no extra copies.
The first request an execution environment serves is its cold start.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from layerserve.domain.metric_record import build_record, record_to_json
from layerserve.services.telemetry import RequestOutcome


def stdout_line(line: bytes) -> None:
    sys.stdout.write(line.decode() + "\n")


class MetricRecordObserver:
    def __init__(
        self,
        init_ms: float | None = None,
        sink: Callable[[bytes], None] = stdout_line,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._init_ms = init_ms
        self._sink = sink
        self._clock_ms = clock_ms
        self._cold = True

    def observe(self, outcome: RequestOutcome) -> None:
        if outcome.model is None or outcome.version is None:
            return  # nothing to attribute: the name did not resolve to a version
        cold, self._cold = self._cold, False
        record = build_record(
            time_ms=self._clock_ms(),
            request_id=outcome.request_id or "",
            model=outcome.model,
            version=outcome.version,
            alias=outcome.alias,
            status=outcome.status,
            error_kind=outcome.error_kind,
            latency_ms=outcome.latency_s * 1000.0,
            run_ms=None if outcome.run_s is None else outcome.run_s * 1000.0,
            batch_size=outcome.batch_size,
            cold=cold,
            init_ms=self._init_ms if cold else None,
            outputs=outcome.outputs,
        )
        self._sink(record_to_json(record))
