"""The local stack's S3 poller against the AWS emulator it runs (moto server on 127.0.0.1):
each new object version is delivered once, and an idle poll reads no object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.s3.models import FakeKey
from moto.server import ThreadedMotoServer

from layerserve.domain.batch import created_objects
from layerserve.local.provision import ensure_bucket
from layerserve.local.s3_events import S3EventPoller
from tests.batch_support import fake_credentials

BUCKET = "layerserve-uploads"
BIG = 8 * 1024 * 1024


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint)
    ensure_bucket(client, BUCKET)  # versioned, as ``layerserve dev`` creates it
    try:
        yield client
    finally:
        httpx.post(f"{endpoint}/moto-api/reset")  # the emulator's state is process-wide
        server.stop()


@pytest.fixture
def object_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the emulator's objects whose bytes were read (copies read them too)."""
    reads: list[str] = []
    original: property = FakeKey.__dict__["value"]

    def counted(key: FakeKey) -> bytes:
        reads.append(key.name)
        data: bytes = original.__get__(key)
        return data

    monkeypatch.setattr(FakeKey, "value", property(counted, original.fset))
    return reads


def _calls(client: Any) -> list[str]:
    calls: list[str] = []
    client.meta.events.register(
        "before-call.s3", lambda model, **_: calls.append(model.name), unique_id="count"
    )
    return calls


def test_rapid_overwrites_are_each_delivered_once(s3: Any) -> None:
    delivered: list[dict[str, Any]] = []
    poller = S3EventPoller(s3, BUCKET, "inputs/", delivered.append)
    poller.prime()
    key = "inputs/m/rows.jsonl"
    written = [
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"[{n}]\n".encode())["VersionId"]
        for n in range(20)
    ]
    assert poller.poll_once() == 20
    assert poller.poll_once() == 0
    versions = [str(found.version_id) for event in delivered for found in created_objects(event)]
    assert sorted(versions) == sorted(written)
    more = s3.put_object(Bucket=BUCKET, Key=key, Body=b"[20]\n")["VersionId"]
    assert poller.poll_once() == 1
    assert created_objects(delivered[-1])[0].version_id == more


def test_an_idle_poll_reads_no_object(s3: Any, object_reads: list[str]) -> None:
    s3.put_object(Bucket=BUCKET, Key="inputs/m/big.jsonl", Body=b"[1]\n" * (BIG // 4))
    s3.put_object(Bucket=BUCKET, Key="outputs/m/big.jsonl.result.jsonl", Body=b"x" * BIG)
    delivered: list[dict[str, Any]] = []
    poller = S3EventPoller(s3, BUCKET, "inputs/", delivered.append)
    poller.prime()
    calls = _calls(s3)
    object_reads.clear()
    for _ in range(5):
        assert poller.poll_once() == 0
    assert object_reads == []
    assert calls == ["ListObjectsV2"] * 5
    s3.put_object(Bucket=BUCKET, Key="inputs/m/new.jsonl", Body=b"[2]\n")
    calls.clear()
    assert poller.poll_once() == 1
    assert calls == ["ListObjectsV2", "ListObjectVersions"]
    assert [found.key for found in created_objects(delivered[-1])] == ["inputs/m/new.jsonl"]
