"""1,000 duplicate S3 events for 200 uploads, shuffled, from concurrent threads: exactly
200 results, each written once.

Threads call ``BatchHandler.process`` (the handler without its Powertools
Logger/Metrics decorators: Lambda never runs two invocations in one process, and those
decorators keep per-process state). moto's in-process backend is serialised by a lock
around each client call (``CountingClient``); the handler code in between interleaves
freely, so what is tested is our idempotency, not a lock. An invocation that finds its
job in progress raises, as it does in Lambda, and its event is redelivered later, as
Lambda's retry would.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from tests.batch_support import Context, batch_stack

OBJECTS = 200
DUPLICATES = 5
THREADS = 4


def test_duplicate_concurrent_events_give_one_result_per_upload(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with batch_stack(models_root, tmp_path, monkeypatch) as stack:
        events = []
        for index in range(OBJECTS):
            rows = [[float(index), 1.0, 2.0]] * (1 + index % 3)
            body = b"".join(json.dumps(row).encode() + b"\n" for row in rows)
            events.append(stack.upload(f"inputs/id-fp32/batch {index}+x.jsonl", body))
        deliveries = deque(events * DUPLICATES)
        random.Random(4).shuffle(deliveries)
        outcomes: list[dict[str, Any]] = []
        guard = threading.Lock()

        def worker() -> None:
            while True:
                with guard:
                    if not deliveries:
                        return
                    event = deliveries.popleft()
                try:
                    result = stack.handler.process(event, Context())
                except IdempotencyAlreadyInProgressError:
                    with guard:
                        deliveries.append(event)  # Lambda retries a failed async invocation
                    time.sleep(0.001)
                    continue
                with guard:
                    outcomes.extend(result["outcomes"])

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        assert len(outcomes) == OBJECTS * DUPLICATES
        fresh = [o for o in outcomes if not o.get("duplicate")]
        assert len(fresh) == OBJECTS
        assert {o["status"] for o in outcomes} == {"succeeded"}
        results = [key for key in stack.keys("outputs/") if key.endswith(".result.jsonl")]
        assert len(results) == OBJECTS
        writes = stack.counting_s3.writes
        assert sum(writes.values()) == 2 * OBJECTS  # one result and one summary each
        assert set(writes.values()) == {1}
        for index in (0, 1, 199):
            body = stack.get(f"outputs/id-fp32/batch {index}+x.jsonl.result.jsonl")
            lines = [json.loads(line) for line in body.decode().splitlines()]
            assert [line["prediction"] for line in lines] == [[index, 1, 2]] * (1 + index % 3)
