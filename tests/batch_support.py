"""The batch tests' stack: an uploads bucket and an idempotency table in moto, the real
batch handler wired to them, a fake Lambda client that queues continuations, and a
context whose remaining time the test controls."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from layerserve.adapters.dynamodb_registry import DynamoDBRegistry, create_registry_table
from layerserve.bootstrap import build_inference_service
from layerserve.bootstrap.batch import BatchHandler, build_batch_handler
from layerserve.domain.batch import ObjectVersion
from layerserve.domain.errors import ServiceUnavailableError
from layerserve.local.events import FakeLambdaContext
from layerserve.services.batch import BatchOptions, BatchService, Continuation, JobOutcome
from layerserve.services.registry import RegistryService
from layerserve.settings import BatchSettings, InferenceSettings

BUCKET = "uploads-bucket"
TABLE = "batch-idempotency"
REGISTRY_TABLE = "batch-registry"
EVENT_TEMPLATE = Path(__file__).parent / "events" / "s3_object_created.json"
WRITES = ("put_object", "complete_multipart_upload")


def s3_event(bucket: str, key: str, size: int, etag: str, version_id: str | None) -> dict[str, Any]:
    """A real ``ObjectCreated:Put`` notification (AWS's sample) naming this object."""
    event: dict[str, Any] = json.loads(EVENT_TEMPLATE.read_text())
    s3 = event["Records"][0]["s3"]
    s3["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    s3["object"].update(key=quote_plus(key, safe="/"), size=size, eTag=etag.strip('"'))
    if version_id is None:
        del s3["object"]["versionId"]
    else:
        s3["object"]["versionId"] = version_id
    return event


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class FakeLambda:
    """Records asynchronous self-invocations instead of running them."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["InvocationType"] == "Event"
        with self._lock:
            self.payloads.append(json.loads(kwargs["Payload"]))
        return {"StatusCode": 202}


def Context() -> FakeLambdaContext:
    """A batch function's Lambda context; tests shorten ``remaining_ms``."""
    return FakeLambdaContext(
        function_name="layerserve-batch",
        memory_limit_in_mb=2048,
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:layerserve-batch",
        aws_request_id="11111111-1111-1111-1111-111111111111",
        log_group_name="/aws/lambda/layerserve-batch",
        log_stream_name="test",
    )


class CountingClient:
    """Wraps a boto3 client: counts writes per key and serialises every call.

    moto's in-process backend is not meant to be called from many threads at once;
    one lock around each call keeps moto consistent, while the handler code itself
    (idempotency checks, processing) still interleaves between calls.
    """

    def __init__(self, client: Any, lock: threading.Lock) -> None:
        self._client = client
        self._lock = lock
        self.writes: Counter[tuple[str, str]] = Counter()
        self.fail: Callable[[str, dict[str, Any]], None] | None = None

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(**kwargs: Any) -> Any:
            if self.fail is not None:
                self.fail(name, kwargs)
            with self._lock:
                if name in WRITES:
                    self.writes[(name, kwargs["Key"])] += 1
                return attribute(**kwargs)

        return call

    def writes_to(self, key: str) -> int:
        return sum(count for (_, written), count in self.writes.items() if written == key)


@dataclass
class BatchStack:
    s3: Any
    counting_s3: CountingClient
    dynamodb: Any
    lam: FakeLambda
    handler: BatchHandler
    """The batch function, wired over these clients."""
    context: FakeLambdaContext = field(default_factory=Context)
    registry: RegistryService | None = None
    """With ``registry=True``: the registry the batch function resolves versions in."""

    def upload(self, key: str, body: bytes) -> dict[str, Any]:
        """Put ``body`` under ``key`` and return the S3 event for it."""
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        return s3_event(BUCKET, key, len(body), put["ETag"], put.get("VersionId"))

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(event, self.context)

    def drain(self) -> list[dict[str, Any]]:
        """Run queued continuations (as Lambda would), until none is left."""
        outcomes = []
        while self.lam.payloads:
            outcomes.append(self.invoke(self.lam.payloads.pop(0)))
        return outcomes

    def get(self, key: str) -> bytes:
        body: bytes = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body

    def get_json(self, key: str) -> Any:
        return json.loads(self.get(key))

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def open_uploads(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.s3.list_multipart_uploads(Bucket=BUCKET).get(
            "Uploads", []
        )
        return found


@contextmanager
def batch_stack(
    models_root: Path,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    versioned: bool = True,
    options: BatchOptions | None = None,
    s3_client: Any = None,
    registry: bool = False,
) -> Iterator[BatchStack]:
    """moto first, then clients, resources and the runtime the handler uses.

    With ``registry``, versions resolve through a registry table (no version registered:
    the test registers and promotes), read with no cache so a promote shows at once."""
    fake_credentials(monkeypatch)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "layerserve-tests")
    with mock_aws():
        s3 = s3_client or boto3.client("s3", region_name="us-east-1")
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        if s3_client is None:
            s3.create_bucket(Bucket=BUCKET)
            if versioned:
                s3.put_bucket_versioning(
                    Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
                )
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        lock = threading.Lock()
        counting = CountingClient(s3, lock)
        counting_dynamodb = CountingClient(dynamodb, lock)
        lam = FakeLambda()
        registry_service = None
        settings = InferenceSettings(models_dir=models_root, scratch_dir=scratch, preload="none")
        if registry:
            create_registry_table(dynamodb, REGISTRY_TABLE)
            store = DynamoDBRegistry(REGISTRY_TABLE, counting_dynamodb)  # type: ignore[arg-type]
            registry_service = RegistryService(store)
            settings = settings.model_copy(
                update={"registry_table": REGISTRY_TABLE, "registry_ttl_s": 0.0}
            )
        inference = build_inference_service(
            settings,
            dynamodb=counting_dynamodb,  # type: ignore[arg-type]
            s3=s3,
        )
        handler = build_batch_handler(
            BatchSettings(idempotency_table=TABLE),
            inference,
            s3=counting,  # type: ignore[arg-type]
            dynamodb=counting_dynamodb,  # type: ignore[arg-type]
            invoker=lam,
            options=options,
        )
        yield BatchStack(s3, counting, dynamodb, lam, handler, registry=registry_service)


# --- in-memory ports, for the service without AWS ------------------------------------------
class MemoryObjects:
    """``ObjectReader`` and ``ObjectWriter`` over a dict; uploads keep their parts."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self.writes: Counter[str] = Counter()
        self.reads = 0
        self.fail_part: int | None = None
        """Raise ``ServiceUnavailableError`` when this part number is uploaded."""

    def add(self, key: str, body: bytes, bucket: str = BUCKET) -> ObjectVersion:
        self.objects[(bucket, key)] = body
        return ObjectVersion(bucket, key, f"etag-{len(self.objects)}", len(body), None)

    def stream(self, source: ObjectVersion, start: int, end: int | None = None) -> Iterator[bytes]:
        self.reads += 1
        body = self.objects[(source.bucket, source.key)]
        stop = len(body) if end is None else end
        for offset in range(start, stop, 7_000):
            yield body[offset : min(offset + 7_000, stop)]

    def read(self, source: ObjectVersion, start: int, end: int) -> bytes:
        return b"".join(self.stream(source, start, end))

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = body
        self.writes[key] += 1

    def create_upload(self, bucket: str, key: str, content_type: str) -> str:
        upload_id = f"upload-{len(self.uploads) + 1}"
        self.uploads[upload_id] = {}
        return upload_id

    def upload_part(self, bucket: str, key: str, upload_id: str, number: int, body: bytes) -> None:
        if number == self.fail_part:
            self.fail_part = None
            raise ServiceUnavailableError(f"injected failure at part {number}")
        self.uploads[upload_id][number] = body

    def complete_upload(self, bucket: str, key: str, upload_id: str, parts: int) -> None:
        stored = self.uploads.pop(upload_id)
        self.objects[(bucket, key)] = b"".join(stored[n] for n in range(1, parts + 1))
        self.writes[key] += 1

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        self.uploads.pop(upload_id, None)

    def get(self, key: str) -> bytes:
        return self.objects[(BUCKET, key)]


class FixedClock:
    def __init__(self, remaining_s: float = 900.0) -> None:
        self.remaining = remaining_s

    def remaining_s(self) -> float:
        return self.remaining


class QueueContinuer:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def schedule(self, payload: dict[str, Any]) -> None:
        self.payloads.append(json.loads(json.dumps(payload)))  # as it travels: JSON


def run_to_end(
    service: BatchService, source: ObjectVersion, clock: FixedClock | None = None
) -> list[JobOutcome]:
    """Plan and run a job, following its continuations (as Lambda would invoke them)."""
    planned = service.plan(source)
    assert planned is not None
    continuer = QueueContinuer()
    outcomes = [service.run(planned, clock or FixedClock(), continuer)]
    while continuer.payloads:
        following = Continuation.model_validate(continuer.payloads.pop(0))
        outcomes.append(service.run(following, clock or FixedClock(), continuer))
    return outcomes
