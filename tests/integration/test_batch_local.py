"""The local stack's S3 event delivery, and ``layerserve batch`` against it end to end
(a moto server on 127.0.0.1, the poller in a thread, the real batch handler)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from moto import mock_aws
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from layerserve.bootstrap import build_inference_service
from layerserve.cli.batch import batch as batch_command
from layerserve.domain.batch import created_objects
from layerserve.local.s3_events import S3EventPoller, object_created_event, start_local_batch
from layerserve.settings import BatchSettings, InferenceSettings
from tests.batch_support import EVENT_TEMPLATE, fake_credentials

BUCKET = "layerserve-uploads"
TABLE = "layerserve-batch-idempotency"


def _shape(value: Any) -> Any:
    """The nested keys of an event, without the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


def test_synthesized_events_have_the_real_shape() -> None:
    sample = json.loads(EVENT_TEMPLATE.read_text())
    event = object_created_event("b", "inputs/m/a b+c é.jsonl", 12, '"abc"', "v1")
    assert _shape(event) == _shape(sample)
    assert event["Records"][0]["s3"]["object"]["key"] == "inputs/m/a+b%2Bc+%C3%A9.jsonl"
    (found,) = created_objects(event)
    assert (found.key, found.etag, found.version_id) == ("inputs/m/a b+c é.jsonl", "abc", "v1")


def test_poller_delivers_each_new_version_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=BUCKET, Key="inputs/m/old.jsonl", Body=b"[1]\n")
        delivered: list[dict[str, Any]] = []
        poller = S3EventPoller(s3, BUCKET, "inputs/", delivered.append)
        poller.prime()
        assert poller.poll_once() == 0
        s3.put_object(Bucket=BUCKET, Key="inputs/m/new file.jsonl", Body=b"[1]\n")
        s3.put_object(Bucket=BUCKET, Key="outputs/m/new file.jsonl.summary.json", Body=b"{}")
        assert poller.poll_once() == 1
        assert poller.poll_once() == 0
        put = s3.put_object(Bucket=BUCKET, Key="inputs/m/new file.jsonl", Body=b"[2]\n")
        assert poller.poll_once() == 1
        keys = [obj.key for event in delivered for obj in created_objects(event)]
        assert keys == ["inputs/m/new file.jsonl"] * 2
        assert created_objects(delivered[-1])[0].version_id == put["VersionId"]


def test_poller_retries_a_failing_delivery_then_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        calls: list[str] = []

        def failing(event: dict[str, Any]) -> None:
            calls.append(created_objects(event)[0].key)
            raise RuntimeError("handler failed")

        poller = S3EventPoller(s3, BUCKET, "inputs/", failing)
        s3.put_object(Bucket=BUCKET, Key="inputs/m/x.jsonl", Body=b"[1]\n")
        for _ in range(5):
            poller.poll_once()
        assert calls == ["inputs/m/x.jsonl"] * 3


@pytest.fixture
def local_stack(
    models_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """What ``layerserve dev`` wires: emulator, bucket, table, handler, poller."""
    fake_credentials(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    inference = build_inference_service(
        InferenceSettings(models_dir=models_root, scratch_dir=tmp_path / "s", preload="none")
    )
    settings = BatchSettings(idempotency_table=TABLE)
    poller = start_local_batch(s3, dynamodb, BUCKET, settings, inference, interval_s=0.05)
    try:
        yield endpoint
    finally:
        poller.stop()
        server.stop()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(batch_command)
    return app


def test_layerserve_batch_uploads_waits_and_downloads(local_stack: str, tmp_path: Path) -> None:
    source = tmp_path / "rows to score.jsonl"
    source.write_text("".join(json.dumps([i / 10] * 16) + "\n" for i in range(25)) + "nope\n")
    result = CliRunner().invoke(
        _cli(),
        [str(source), "--model", "mlp", "--version", "1", "--endpoint-url", local_stack,
         "--bucket", BUCKET, "--timeout", "60"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "rows to score.jsonl.result.jsonl").open()]
    assert len(lines) == 26
    assert lines[-1]["line"] == 26
    assert "error" in lines[-1]
    assert {line["model_version"] for line in lines} == {"1"}


def test_layerserve_batch_reports_a_failed_job(local_stack: str, tmp_path: Path) -> None:
    source = tmp_path / "x.jsonl"
    source.write_text("[1]\n")
    result = CliRunner().invoke(
        _cli(),
        [str(source), "--model", "nosuch", "--endpoint-url", local_stack, "--bucket", BUCKET,
         "--timeout", "60"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "model 'nosuch' not found" in result.output
