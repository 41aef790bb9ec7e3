"""Wiring of the batch function: settings and injected clients in, a runnable job out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from layerserve.adapters.s3_objects import S3Objects
from layerserve.domain.batch import BatchLayout
from layerserve.lambdas.batch.codec import JsonRequestCodec
from layerserve.lambdas.batch.continuation import LambdaInvoker
from layerserve.services.batch import (
    IDEMPOTENCY_KEY_JMESPATH,
    BatchOptions,
    BatchService,
    Clock,
    Continuation,
    Continuer,
)
from layerserve.services.inference import InferenceService
from layerserve.settings import BatchSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

IDEMPOTENCY_KEY_PREFIX = "layerserve-batch"
RunJob = Callable[..., dict[str, Any]]


@dataclass(frozen=True, slots=True)
class BatchRuntime:
    service: BatchService
    config: IdempotencyConfig
    run_job: RunJob
    """``run_job(job=Continuation.idempotency_data(), clock=..., continuer=...)``."""
    invoker: LambdaInvoker


def batch_options(settings: BatchSettings) -> BatchOptions:
    return BatchOptions(
        batch_size=settings.size,
        part_bytes=settings.part_bytes,
        max_line_bytes=settings.max_line_bytes,
        max_batch_bytes=settings.max_batch_bytes,
        read_chunk_bytes=settings.read_chunk_bytes,
        reserve_s=settings.reserve_s,
    )


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    del idempotent_data
    return {**response, "duplicate": True} if isinstance(response, dict) else response


def build_runtime(
    settings: BatchSettings,
    inference: InferenceService,
    *,
    s3: S3Client,
    dynamodb: DynamoDBClient,
    invoker: LambdaInvoker,
    options: BatchOptions | None = None,
) -> BatchRuntime:
    """Everything a batch invocation needs; ``options`` overrides the settings' limits."""
    options = options or batch_options(settings)
    objects = S3Objects(s3, chunk_size=options.read_chunk_bytes)
    service = BatchService(
        inference,
        objects,
        objects,
        JsonRequestCodec(),
        BatchLayout(settings.input_prefix, settings.output_prefix),
        options,
    )
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=dynamodb
    )
    config = IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_s,
        hash_function="sha256",
        response_hook=_mark_duplicate,
    )

    def run_job(*, job: dict[str, Any], clock: Clock, continuer: Continuer) -> dict[str, Any]:
        continuation = Continuation.model_validate(job["payload"])
        return service.run(continuation, clock, continuer).as_dict()

    idempotent = idempotent_function(
        run_job,
        data_keyword_argument="job",
        persistence_store=persistence,
        config=config,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    return BatchRuntime(service, config, idempotent, invoker)
