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
from layerserve.domain.errors import InvalidInputError
from layerserve.lambdas.batch.continuation import LambdaInvoker
from layerserve.services.batch import (
    IDEMPOTENCY_KEY_JMESPATH,
    BatchOptions,
    BatchService,
    Clock,
    Continuation,
    Continuer,
    source_of_plan,
)
from layerserve.services.inference import InferenceService
from layerserve.settings import BatchSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

IDEMPOTENCY_KEY_PREFIX = "layerserve-batch"
PLAN_KEY_PREFIX = "layerserve-batch-plan"
Step = Callable[..., dict[str, Any]]
"""A step of a job, run at most once per idempotency key (keyword arguments only)."""


@dataclass(frozen=True, slots=True)
class BatchRuntime:
    service: BatchService
    configs: tuple[IdempotencyConfig, ...]
    """Every idempotency configuration: each needs the invocation's Lambda context."""
    plan_job: Step
    """``plan_job(upload=plan_data(source))``: the upload's stored plan (a ``Continuation``
    as JSON), made on the first delivery of its event and returned to every later one."""
    run_job: Step
    """``run_job(job=Continuation.idempotency_data(), clock=..., continuer=...)``."""
    invoker: LambdaInvoker

    def register_lambda_context(self, context: Any) -> None:
        for config in self.configs:
            config.register_lambda_context(context)


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
        BatchLayout(settings.input_prefix, settings.output_prefix),
        options,
    )
    config = _config(settings, response_hook=_mark_duplicate)
    plan_config = _config(settings, response_hook=None)

    def plan_job(*, upload: dict[str, Any]) -> dict[str, Any]:
        planned = service.plan(source_of_plan(upload))
        if planned is None:
            raise InvalidInputError(f"'{upload['key']}' is not an input object")
        return planned.model_dump(mode="json")

    def run_job(*, job: dict[str, Any], clock: Clock, continuer: Continuer) -> dict[str, Any]:
        continuation = Continuation.model_validate(job["payload"])
        return service.run(continuation, clock, continuer).as_dict()

    table = settings.idempotency_table
    return BatchRuntime(
        service,
        (config, plan_config),
        _once(plan_job, "upload", PLAN_KEY_PREFIX, plan_config, table, dynamodb),
        _once(run_job, "job", IDEMPOTENCY_KEY_PREFIX, config, table, dynamodb),
        invoker,
    )


def _once(
    function: Step,
    argument: str,
    prefix: str,
    config: IdempotencyConfig,
    table: str,
    dynamodb: DynamoDBClient,
) -> Step:
    """``function`` run at most once per key. Each gets its own persistence layer: a
    layer remembers the key prefix of the function it serves, and tests share one
    runtime across threads."""
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)
    wrapped: Step = idempotent_function(
        function,
        data_keyword_argument=argument,
        persistence_store=persistence,
        config=config,
        key_prefix=prefix,
    )
    return wrapped


def _config(settings: BatchSettings, response_hook: Any) -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH,
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_s,
        hash_function="sha256",
        response_hook=response_hook,
    )
