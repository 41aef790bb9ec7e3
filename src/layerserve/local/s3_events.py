"""S3 event delivery for the local stack, where no bucket notification exists.

``S3EventPoller`` lists the uploads bucket's input prefix every ``interval_s`` and hands
each new object version (or new ETag and time, on an unversioned bucket) to the batch
handler as a real ``ObjectCreated:Put`` notification with a URL-encoded key, once, in the
order S3 lists them (oldest first), as S3 notifies each ``PutObject``.

A poll reads no object: ``ListObjectsV2`` shows whether anything changed, and only
then ``ListObjectVersions`` names the new versions (the AWS emulator copies every stored
version of the bucket on that call, and none on ``ListObjectsV2``). Like Lambda's
asynchronous invocations, a delivery that raises is retried (twice) and then dropped
with a log line. ``LocalInvoker`` queues the handler's continuations; the poller runs
them in the same thread, one at a time, as one execution environment would.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from layerserve.adapters.dynamodb_tables import ensure_table
from layerserve.domain.batch import encode_event_key, normalise_etag
from layerserve.local.provision import ensure_bucket

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

    from layerserve.services.inference import InferenceService
    from layerserve.settings import BatchSettings

logger = logging.getLogger(__name__)
Deliver = Callable[[dict[str, Any]], object]
ATTEMPTS = 3
"""One delivery and two retries, like Lambda's asynchronous invocations."""


def object_created_event(
    bucket: str, key: str, size: int, etag: str, version_id: str | None, region: str = "us-east-1"
) -> dict[str, Any]:
    """An S3 ``ObjectCreated:Put`` notification, shaped as S3 sends it to Lambda."""
    obj: dict[str, Any] = {
        "key": encode_event_key(key),
        "size": size,
        "eTag": normalise_etag(etag),
        "sequencer": f"{time.time_ns():016X}",
    }
    if version_id:
        obj["versionId"] = version_id
    request_id = uuid.uuid4().hex[:16].upper()
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:LOCAL"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "layerserve-local-batch",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "LOCAL"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
    return {"Records": [record]}


class LocalInvoker:
    """``Invoke`` with ``InvocationType=Event``, locally: payloads wait in a queue."""

    def __init__(self) -> None:
        self.pending: queue.Queue[dict[str, Any]] = queue.Queue()

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.pending.put(orjson.loads(kwargs["Payload"]))
        return {"StatusCode": 202}


Identity = tuple[str, str]
"""An object version: its key and version id (or ETag and time, unversioned)."""


class S3EventPoller:
    def __init__(
        self,
        client: S3Client,
        bucket: str,
        prefix: str,
        deliver: Deliver,
        *,
        invoker: LocalInvoker | None = None,
        interval_s: float = 1.0,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix
        self._deliver = deliver
        self._invoker = invoker
        self._interval_s = interval_s
        self._listed: dict[str, tuple[str, str]] = {}
        """What ``ListObjectsV2`` showed last: key → (ETag, LastModified)."""
        self._seen: set[Identity] = set()
        self._pending: dict[Identity, dict[str, Any]] = {}
        self._attempts: dict[Identity, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def prime(self) -> None:
        """Treat what is in the bucket now as already delivered (S3 notifies new uploads only)."""
        self._listed = self._latest()
        self._seen.update(identity for identity, _ in self._versions(set(self._listed)))

    def poll_once(self) -> int:
        """Deliver every new object version, then queued continuations; returns deliveries."""
        listed = self._latest()
        changed = {key for key, state in listed.items() if self._listed.get(key) != state}
        for identity, event in self._versions(changed):
            if identity not in self._seen:
                self._pending.setdefault(identity, event)
        self._listed = listed
        delivered = 0
        for identity, event in list(self._pending.items()):
            delivered += 1
            if self._attempt(identity, event):
                del self._pending[identity]
                self._seen.add(identity)
        delivered += self._drain()
        return delivered

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="s3-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the local stack keeps polling whatever one poll did
                logger.exception("polling s3://%s/%s failed", self._bucket, self._prefix)
            self._stop.wait(self._interval_s)

    def _attempt(self, identity: Identity, event: dict[str, Any]) -> bool:
        """``True`` when the delivery is over (handled, or given up after ``ATTEMPTS``)."""
        try:
            self._deliver(event)
        except Exception:
            tries = self._attempts.get(identity, 0) + 1
            self._attempts[identity] = tries
            logger.exception("delivery %d/%d of %s failed", tries, ATTEMPTS, identity[0])
            return tries >= ATTEMPTS
        self._attempts.pop(identity, None)
        return True

    def _drain(self) -> int:
        count = 0
        while self._invoker is not None and not self._invoker.pending.empty():
            payload = self._invoker.pending.get_nowait()
            count += 1
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    self._deliver(payload)
                    break
                except Exception:
                    logger.exception("continuation attempt %d/%d failed", attempt, ATTEMPTS)
        return count

    def _latest(self) -> dict[str, tuple[str, str]]:
        """The latest object of each key under the prefix, without reading any object."""
        latest = {}
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    latest[item["Key"]] = (item["ETag"], item["LastModified"].isoformat())
        return latest

    def _versions(self, keys: set[str]) -> list[tuple[Identity, dict[str, Any]]]:
        """Every stored version of ``keys``, oldest first, with its notification."""
        if not keys:
            return []
        by_key: dict[str, list[Any]] = {}
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._prefix):
            for item in page.get("Versions", []):
                if item["Key"] in keys:
                    by_key.setdefault(item["Key"], []).append(item)
        # S3 lists each key's versions newest first.
        return [self._notification(item) for items in by_key.values() for item in reversed(items)]

    def _notification(self, item: Any) -> tuple[Identity, dict[str, Any]]:
        version = item.get("VersionId")
        version_id = None if version in (None, "null") else version
        etag = normalise_etag(item["ETag"])
        event = object_created_event(self._bucket, item["Key"], item["Size"], etag, version_id)
        unversioned = f"{etag}@{item['LastModified'].isoformat()}"
        return (item["Key"], version_id or unversioned), event


def ensure_uploads(
    s3: S3Client, dynamodb: DynamoDBClient, bucket: str, idempotency_table: str
) -> None:
    """Create the local uploads bucket (versioned) and idempotency table if missing."""
    ensure_bucket(s3, bucket)
    ensure_table(dynamodb, idempotency_table, "id", None)


def start_local_batch(
    s3: S3Client,
    dynamodb: DynamoDBClient,
    bucket: str,
    settings: BatchSettings,
    inference: InferenceService,
    *,
    interval_s: float = 1.0,
) -> S3EventPoller:
    """Everything ``layerserve dev`` needs for uploads: the bucket and idempotency table,
    the batch handler wired to these clients, and a running poller (``stop()`` it)."""
    from layerserve.bootstrap.batch import build_batch_handler
    from layerserve.local.events import FakeLambdaContext

    ensure_uploads(s3, dynamodb, bucket, settings.idempotency_table)
    invoker = LocalInvoker()
    handler = build_batch_handler(settings, inference, s3=s3, dynamodb=dynamodb, invoker=invoker)
    context = FakeLambdaContext(
        function_name="layerserve-batch",
        invoked_function_arn="arn:aws:lambda:us-east-1:000000000000:function:layerserve-batch",
    )
    poller = S3EventPoller(
        s3,
        bucket,
        settings.input_prefix,
        lambda event: handler(event, context),
        invoker=invoker,
        interval_s=interval_s,
    )
    poller.prime()
    poller.start()
    return poller
