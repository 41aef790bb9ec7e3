"""The batch handler with real S3 event shapes under moto: formats, keys, errors, retries,
continuation across invocations."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from layerserve.domain.errors import ServiceUnavailableError
from layerserve.services.batch import BatchOptions
from tests.batch_support import BUCKET, BatchStack, batch_stack, s3_event


@pytest.fixture
def stack(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BatchStack]:
    with batch_stack(models_root, tmp_path / "scratch", monkeypatch) as built:
        yield built


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


def _jsonl(rows: list[Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def _only(outcome: dict[str, Any]) -> dict[str, Any]:
    (single,) = outcome["outcomes"]
    assert isinstance(single, dict)
    return single


def test_jsonl_good_and_bad_lines(stack: BatchStack) -> None:
    rows: list[Any] = [[0.5] * 16, "oops", [1.0] * 15, {"instances": [[0.0] * 16] * 3}]
    body = _jsonl(rows) + b"{broken json\n"
    outcome = _only(stack.invoke(stack.upload("inputs/mlp/mixed.jsonl", body)))
    assert (outcome["status"], outcome["records"], outcome["errors"]) == ("succeeded", 5, 3)
    results = _lines(stack.get("outputs/mlp/mixed.jsonl.result.jsonl"))
    assert [("error" in r) for r in results] == [False, True, True, False, True]
    assert len(results[0]["prediction"]) == 4
    assert len(results[3]["predictions"]) == 3
    summary = stack.get_json("outputs/mlp/mixed.jsonl.summary.json")
    assert summary["source"]["version_id"] is not None
    assert (summary["model_name"], summary["model_version"]) == ("mlp", "1")


@pytest.mark.parametrize(
    "name", ["my file.jsonl", "a+b=c.jsonl", "données é ü 中文 🙂.jsonl", "100% & more?.jsonl"]
)
def test_keys_with_spaces_plus_and_unicode(stack: BatchStack, name: str) -> None:
    key = f"inputs/addmul/1/sub dir/{name}"
    event = stack.upload(key, _jsonl([{"a": [1, 2, 3, 4], "b": [1, 1, 1, 1]}]))
    encoded = event["Records"][0]["s3"]["object"]["key"]
    assert " " not in encoded
    assert encoded != key  # S3 form-encodes keys in notifications
    outcome = _only(stack.invoke(event))
    assert outcome["status"] == "succeeded"
    assert outcome["key"] == key
    (result,) = _lines(stack.get(f"outputs/addmul/1/sub dir/{name}.result.jsonl"))
    assert result["prediction"]["sum"] == [2, 3, 4, 5]
    assert result["model_version"] == "1"


def test_csv_through_the_handler(stack: BatchStack) -> None:
    body = b"f0,f1,f2\n1,2,3\n4,5,6\n7,8\n"
    outcome = _only(stack.invoke(stack.upload("inputs/id-fp32/table.csv", body)))
    assert outcome["errors"] == 1
    results = _lines(stack.get("outputs/id-fp32/table.csv.result.jsonl"))
    assert [r.get("prediction") for r in results[:2]] == [[1, 2, 3], [4, 5, 6]]
    assert "2 columns, expected 3" in results[2]["error"]


def _saved(save: Any, **arrays: Any) -> bytes:
    buffer = io.BytesIO()
    save(buffer, **arrays)
    return buffer.getvalue()


def test_npy_and_npz_through_the_handler(stack: BatchStack) -> None:
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    buffer = io.BytesIO()
    np.save(buffer, x)
    _only(stack.invoke(stack.upload("inputs/id-fp32/x.npy", buffer.getvalue())))
    result = np.load(io.BytesIO(stack.get("outputs/id-fp32/x.npy.result.npz")))
    np.testing.assert_array_equal(result["y"], x)
    pair = _saved(np.savez_compressed, a=x[:, :2].repeat(2, axis=1), b=np.ones((20, 4)))
    _only(stack.invoke(stack.upload("inputs/addmul/pair.npz", pair)))
    result = np.load(io.BytesIO(stack.get("outputs/addmul/pair.npz.result.npz")))
    assert set(result.files) == {"_layerserve.json", "sum", "product"}
    np.testing.assert_array_equal(result["product"], x[:, :2].repeat(2, axis=1))


def test_unversioned_bucket_pins_the_etag(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with batch_stack(models_root, tmp_path, monkeypatch, versioned=False) as stack:
        event = stack.upload("inputs/mlp/v.jsonl", _jsonl([[0.0] * 16]))
        assert "versionId" not in event["Records"][0]["s3"]["object"]
        stack.s3.put_object(Bucket=BUCKET, Key="inputs/mlp/v.jsonl", Body=b"[1.0]\n")
        outcome = _only(stack.invoke(event))  # the event's upload was overwritten meanwhile
        assert outcome["status"] == "failed"
        error = stack.get_json("outputs/mlp/v.jsonl.error.json")
        assert "replaced while it was processed" in error["error"]


def test_unknown_model_writes_one_error_object(stack: BatchStack) -> None:
    event = stack.upload("inputs/nosuch/x.jsonl", b"[1]\n")
    first = _only(stack.invoke(event))
    second = _only(stack.invoke(event))
    assert first["status"] == second["status"] == "failed"
    assert second.get("duplicate") is True
    error = stack.get_json("outputs/nosuch/x.jsonl.error.json")
    assert error["error"] == "model 'nosuch' not found"
    assert stack.counting_s3.writes_to("outputs/nosuch/x.jsonl.error.json") == 1


def test_objects_outside_the_input_prefix_are_ignored(stack: BatchStack) -> None:
    event = s3_event(BUCKET, "outputs/mlp/x.jsonl.result.jsonl", 10, "abc", None)
    assert stack.invoke(event) == {"outcomes": []}
    assert stack.keys("outputs/") == []
    assert not stack.counting_s3.writes


def test_storage_outage_raises_for_a_retry_then_succeeds(stack: BatchStack) -> None:
    event = stack.upload("inputs/mlp/outage.jsonl", _jsonl([[0.0] * 16] * 3))

    def outage(name: str, kwargs: dict[str, Any]) -> None:
        if name == "put_object":
            raise ServiceUnavailableError("injected outage")

    stack.counting_s3.fail = outage
    with pytest.raises(ServiceUnavailableError):
        stack.invoke(event)
    stack.counting_s3.fail = None
    outcome = _only(stack.invoke(event))  # Lambda's retry: the record was released
    assert (outcome["status"], outcome.get("duplicate")) == ("succeeded", None)
    assert stack.counting_s3.writes_to("outputs/mlp/outage.jsonl.result.jsonl") == 1


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto refuses parts under 5 MB like S3; these tests use kilobyte parts."""
    monkeypatch.setattr("moto.s3.models.S3_UPLOAD_PART_MIN_SIZE", 1)


def test_a_large_file_continues_across_invocations(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_parts: None
) -> None:
    options = BatchOptions(batch_size=100, part_bytes=16_384, reserve_s=60)
    rows = np.arange(3 * 3000, dtype=np.float32).reshape(3000, 3).tolist()
    with batch_stack(models_root, tmp_path, monkeypatch, options=options) as stack:
        stack.context.remaining_ms = 30_000  # below the reserve: stop at every part
        first = _only(stack.invoke(stack.upload("inputs/id-fp32/big.jsonl", _jsonl(rows))))
        assert first["status"] == "continued"
        duplicate = stack.lam.payloads[0]
        outcomes = [_only(o) for o in stack.drain()]
        assert [o["status"] for o in outcomes][-1] == "succeeded"
        assert len(outcomes) > 3
        assert _only(stack.invoke(duplicate))["duplicate"] is True  # a redelivered segment
        assert not stack.lam.payloads
        results = _lines(stack.get("outputs/id-fp32/big.jsonl.result.jsonl"))
        assert [r["prediction"] for r in results] == rows
        summary = stack.get_json("outputs/id-fp32/big.jsonl.summary.json")
        assert summary["invocations"] == len(outcomes) + 1
        assert summary["parts"] > 3
        assert stack.counting_s3.writes_to("outputs/id-fp32/big.jsonl.result.jsonl") == 1
        assert stack.open_uploads() == []


def test_a_crash_mid_file_then_a_retry_gives_one_complete_result(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_parts: None
) -> None:
    options = BatchOptions(batch_size=50, part_bytes=8_192)
    rows = np.arange(3 * 2000, dtype=np.float32).reshape(2000, 3).tolist()
    with batch_stack(models_root, tmp_path, monkeypatch, options=options) as stack:
        event = stack.upload("inputs/id-fp32/crash.jsonl", _jsonl(rows))
        parts = 0

        def crash_after_three_parts(name: str, kwargs: dict[str, Any]) -> None:
            nonlocal parts
            if name == "upload_part":
                parts += 1
                if parts == 4:
                    raise RuntimeError("the execution environment died")

        stack.counting_s3.fail = crash_after_three_parts
        with pytest.raises(RuntimeError):
            stack.invoke(event)
        assert stack.open_uploads() == []  # aborted: the retry starts a fresh upload
        stack.counting_s3.fail = None
        assert _only(stack.invoke(event))["status"] == "succeeded"
        results = _lines(stack.get("outputs/id-fp32/crash.jsonl.result.jsonl"))
        assert [r["prediction"] for r in results] == rows
        assert stack.counting_s3.writes_to("outputs/id-fp32/crash.jsonl.result.jsonl") == 1
        assert stack.counting_s3.writes_to("outputs/id-fp32/crash.jsonl.summary.json") == 1


class Killed(BaseException):
    """Stands for the environment dying (timeout, out of memory): no ``except Exception`` runs."""


def test_a_hard_crash_is_retried_once_the_invocation_deadline_passed(stack: BatchStack) -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    from tests.batch_support import TABLE

    event = stack.upload("inputs/mlp/killed.jsonl", _jsonl([[0.0] * 16] * 5))

    def die(name: str, kwargs: dict[str, Any]) -> None:
        if name == "put_object":
            raise Killed

    stack.counting_s3.fail = die
    with pytest.raises(Killed):
        stack.invoke(event)
    stack.counting_s3.fail = None
    with pytest.raises(IdempotencyAlreadyInProgressError):
        stack.invoke(event)  # too early: the crashed invocation might still be running
    # Time passes: the in-progress record expires with the crashed invocation's deadline.
    items = stack.dynamodb.scan(TableName=TABLE)["Items"]
    assert sorted(i["status"]["S"] for i in items) == ["COMPLETED", "INPROGRESS"]  # plan, run
    (item,) = [i for i in items if i["status"]["S"] == "INPROGRESS"]
    stack.dynamodb.update_item(
        TableName=TABLE,
        Key={"id": item["id"]},
        UpdateExpression="SET in_progress_expiration = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time() * 1000) - 1)}},
    )
    assert _only(stack.invoke(event))["status"] == "succeeded"
    assert len(_lines(stack.get("outputs/mlp/killed.jsonl.result.jsonl"))) == 5


def test_redeliveries_with_another_event_time_are_duplicates(stack: BatchStack) -> None:
    """The idempotency key is the object version and the model version, not the event."""
    event = stack.upload("inputs/mlp/again.jsonl", _jsonl([[0.0] * 16]))
    assert _only(stack.invoke(event)).get("duplicate") is None
    record = event["Records"][0]
    record["eventTime"] = "2031-01-01T00:00:00.000Z"
    record["responseElements"]["x-amz-request-id"] = "ANOTHERREQUEST00"
    stack.context.aws_request_id = "22222222-2222-2222-2222-222222222222"
    assert _only(stack.invoke(event))["duplicate"] is True
    new_version = stack.upload("inputs/mlp/again.jsonl", _jsonl([[1.0] * 16]))
    assert _only(stack.invoke(new_version)).get("duplicate") is None  # a new upload runs
    assert stack.counting_s3.writes_to("outputs/mlp/again.jsonl.result.jsonl") == 2
