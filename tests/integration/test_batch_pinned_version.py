"""Exactly once per upload, whatever happens to the alias: the model version resolved on
an upload's first delivery is stored (the plan) and reused by every retry, redelivery
and continuation. Versions resolve through a registry in moto; ``production`` (the
default alias) moves from version 1 to 2 in the middle of each story."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)

from layerserve.domain.errors import ServiceUnavailableError
from layerserve.domain.manifest import Manifest
from layerserve.services.batch import BatchOptions
from layerserve.services.registry import Promote, RegisterVersion, RegistryService
from tests.batch_support import BatchStack, Context, batch_stack

ME = "arn:aws:iam::123456789012:user/tester"
LINE = {"a": [1, 2, 3, 4], "b": [1, 1, 1, 1]}


def _register(registry: RegistryService, models_root: Path) -> None:
    for version in ("1", "2"):
        manifest = Manifest.from_json(
            (models_root / "addmul" / version / "manifest.json").read_bytes()
        )
        command = RegisterVersion(manifest=manifest, location=f"models/addmul/{version}")
        registry.versions.register("addmul", command, ME)
    registry.aliases.promote("addmul", "production", Promote(version="1"), ME)


def _promote_2(stack: BatchStack) -> None:
    assert stack.registry is not None
    stack.registry.aliases.promote("addmul", "production", Promote(version="2"), ME)


@pytest.fixture
def stack(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BatchStack]:
    with batch_stack(models_root, tmp_path / "scratch", monkeypatch, registry=True) as built:
        assert built.registry is not None
        _register(built.registry, models_root)
        yield built


def _jsonl(count: int) -> bytes:
    return b"".join(json.dumps(LINE).encode() + b"\n" for _ in range(count))


def _versions(stack: BatchStack, name: str) -> set[str]:
    body = stack.get(f"outputs/addmul/{name}.result.jsonl")
    return {json.loads(line)["model_version"] for line in body.decode().splitlines()}


def _only(result: dict[str, Any]) -> dict[str, Any]:
    (outcome,) = result["outcomes"]
    assert isinstance(outcome, dict)
    return outcome


def test_a_redelivery_after_a_promote_is_a_duplicate_made_with_the_first_version(
    stack: BatchStack,
) -> None:
    event = stack.upload("inputs/addmul/day 1.jsonl", _jsonl(3))
    assert _only(stack.invoke(event))["status"] == "succeeded"
    _promote_2(stack)
    record = event["Records"][0]
    record["eventTime"] = "2031-01-01T00:00:00.000Z"  # S3 redelivers with another time
    again = _only(stack.invoke(event))
    assert again["duplicate"] is True
    assert stack.counting_s3.writes_to("outputs/addmul/day 1.jsonl.result.jsonl") == 1
    assert _versions(stack, "day 1.jsonl") == {"1"}
    assert stack.get_json("outputs/addmul/day 1.jsonl.summary.json")["model_version"] == "1"
    # The promote did happen: a new upload runs the new version.
    _only(stack.invoke(stack.upload("inputs/addmul/day 2.jsonl", _jsonl(1))))
    assert _versions(stack, "day 2.jsonl") == {"2"}


def test_a_retry_after_an_outage_and_a_promote_keeps_the_first_version(
    stack: BatchStack,
) -> None:
    event = stack.upload("inputs/addmul/outage.jsonl", _jsonl(4))

    def outage(name: str, kwargs: dict[str, Any]) -> None:
        if name == "put_object":
            raise ServiceUnavailableError("injected outage")

    stack.counting_s3.fail = outage
    with pytest.raises(ServiceUnavailableError):
        stack.invoke(event)
    stack.counting_s3.fail = None
    _promote_2(stack)
    retried = _only(stack.invoke(event))  # Lambda's retry of the failed invocation
    assert (retried["status"], retried.get("duplicate")) == ("succeeded", None)
    assert _versions(stack, "outage.jsonl") == {"1"}
    assert stack.counting_s3.writes_to("outputs/addmul/outage.jsonl.result.jsonl") == 1


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", 1)


def test_a_continuation_after_a_promote_keeps_the_pinned_version(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_parts: None
) -> None:
    options = BatchOptions(batch_size=50, part_bytes=8_192, reserve_s=60)
    rows = np.arange(4 * 600, dtype=np.float32).reshape(600, 4).tolist()
    body = b"".join(json.dumps({"a": row, "b": row}).encode() + b"\n" for row in rows)
    with batch_stack(models_root, tmp_path, monkeypatch, options=options, registry=True) as stack:
        assert stack.registry is not None
        _register(stack.registry, models_root)
        stack.context.remaining_ms = 30_000  # below the reserve: stop at every part
        event = stack.upload("inputs/addmul/long.jsonl", body)
        assert _only(stack.invoke(event))["status"] == "continued"
        _promote_2(stack)
        assert _only(stack.invoke(event))["duplicate"] is True  # a redelivered S3 event
        outcomes = [_only(result) for result in stack.drain()]
        assert outcomes[-1]["status"] == "succeeded"
        assert len(outcomes) > 2
        assert _versions(stack, "long.jsonl") == {"1"}
        summary = stack.get_json("outputs/addmul/long.jsonl.summary.json")
        assert (summary["model_version"], summary["records"]) == ("1", 600)
        assert stack.counting_s3.writes_to("outputs/addmul/long.jsonl.result.jsonl") == 1


def test_concurrent_duplicates_around_a_promote_give_one_result_per_upload(
    stack: BatchStack,
) -> None:
    uploads, duplicates = 8, 4
    events = [stack.upload(f"inputs/addmul/u{i}.jsonl", _jsonl(1 + i % 3)) for i in range(uploads)]
    deliveries = deque(events * duplicates)
    random.Random(7).shuffle(deliveries)
    promote_after = len(deliveries) // 3
    delivered = 0
    outcomes: list[dict[str, Any]] = []
    guard = threading.Lock()

    def worker() -> None:
        nonlocal delivered
        while True:
            with guard:
                if not deliveries:
                    return
                event = deliveries.popleft()
                delivered += 1
                if delivered == promote_after:
                    _promote_2(stack)
            try:
                result = stack.handler.process(event, Context())
            except IdempotencyAlreadyInProgressError:
                with guard:
                    deliveries.append(event)  # Lambda retries the failed invocation
                time.sleep(0.001)
                continue
            with guard:
                outcomes.extend(result["outcomes"])

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    assert len(outcomes) == uploads * duplicates
    assert len([o for o in outcomes if not o.get("duplicate")]) == uploads
    for index in range(uploads):
        name = f"u{index}.jsonl"
        assert stack.counting_s3.writes_to(f"outputs/addmul/{name}.result.jsonl") == 1
        (version,) = _versions(stack, name)  # one version per upload, whichever was first
        assert stack.get_json(f"outputs/addmul/{name}.summary.json")["model_version"] == version
