"""Local stand-in for a CloudWatch Logs subscription: lines in, gzip+base64 batches out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from layerserve.adapters.cloudwatch_logs import encode_subscription
from layerserve.services.metrics.aggregation import LogEvent

Deliver = Callable[[dict[str, Any]], Any]


class LogSubscription:
    """Buffers log lines and delivers them in batches, as CloudWatch Logs would."""

    def __init__(self, deliver: Deliver, log_group: str = "/aws/lambda/inference") -> None:
        self._deliver = deliver
        self._log_group = log_group
        self._lines: list[LogEvent] = []
        self._lock = threading.Lock()
        self._counter = 0

    def write(self, line: bytes) -> None:
        with self._lock:
            self._counter += 1
            event_id = f"{time.time_ns():020d}{self._counter:08d}"
            self._lines.append(LogEvent(event_id, time.time_ns() // 1_000_000, line.decode()))

    def flush(self) -> int:
        with self._lock:
            batch, self._lines = self._lines, []
        if batch:
            self._deliver(encode_subscription(batch, self._log_group))
        return len(batch)


class Ticker:
    """Calls ``action`` every ``interval_s`` seconds on a daemon thread until stopped."""

    def __init__(self, interval_s: float, action: Callable[[], Any]) -> None:
        self._interval_s = interval_s
        self._action = action
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._action()
            except Exception as exc:  # a failed tick must not end the local stack
                print(f"local stack: {exc}")  # noqa: T201
