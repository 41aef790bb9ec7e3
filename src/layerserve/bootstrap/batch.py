"""Wiring of the batch function: settings and injected clients in, its handler out.

The handler takes S3 ``ObjectCreated`` events on the input prefix and continuations of
jobs that outlive one invocation. Exactly once per upload, through Powertools
Idempotency on a DynamoDB table, in two steps keyed by the upload (bucket, decoded key,
version id or ETag):

1. **plan** (``<upload>, "plan"``): the model version is resolved on the first
   delivery and the plan (a ``Continuation`` naming it) is stored as that record's
   result; every retry and redelivery of the event gets the stored plan back, so a
   promote in between cannot make a second result with another version;
2. **run** (``<upload>, "segment-<n>"``): each segment runs once; a duplicate returns
   the stored outcome. Continuations carry the pinned version in their payload.

Errors that retrying cannot fix end in an error object; the rest raise, so Lambda
retries and finally hands the event to the on-failure destination (a plan or run
whose invocation failed leaves no record, so the retry does the work).

``build_batch_handler(settings, inference, s3=..., dynamodb=..., invoker=...)`` is what
Lambda runs (``layerserve.lambdas.batch.handler`` builds it on the first invocation).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from layerserve.adapters.lambda_continuation import ContextClock, LambdaInvoker, SelfInvoker
from layerserve.adapters.s3_objects import S3Objects
from layerserve.domain.batch import BatchLayout, created_objects
from layerserve.domain.errors import InvalidInputError
from layerserve.services.batch import (
    IDEMPOTENCY_KEY_JMESPATH,
    BatchOptions,
    BatchService,
    Clock,
    Continuation,
    Continuer,
    is_continuation,
    plan_data,
    source_of_plan,
)
from layerserve.services.inference import InferenceService
from layerserve.settings import BatchSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client

warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="batch")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "layerserve"), service="batch"
)
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


class BatchHandler:
    """The batch function's handler over a ``BatchRuntime``."""

    def __init__(self, runtime: BatchRuntime) -> None:
        self.runtime = runtime
        self._decorated = logger.inject_lambda_context(metrics.log_metrics(self.process))

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._decorated(event, context)
        return result

    def process(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The handler without its Powertools decorators (threads may share it)."""
        runtime = self.runtime
        runtime.register_lambda_context(context)
        continuer = SelfInvoker(runtime.invoker, context.invoked_function_arn)
        clock = ContextClock(context)
        outcomes = []
        for job in _jobs(runtime, event):
            outcome = runtime.run_job(job=job.idempotency_data(), clock=clock, continuer=continuer)
            logger.info("batch job", extra=outcome)
            _count(outcome)
            outcomes.append(outcome)
        return {"outcomes": outcomes}


def build_batch_handler(
    settings: BatchSettings,
    inference: InferenceService,
    *,
    s3: S3Client,
    dynamodb: DynamoDBClient,
    invoker: LambdaInvoker,
    options: BatchOptions | None = None,
) -> BatchHandler:
    """The handler over ``inference``; ``options`` overrides the settings' limits."""
    runtime = build_runtime(
        settings, inference, s3=s3, dynamodb=dynamodb, invoker=invoker, options=options
    )
    return BatchHandler(runtime)


def _jobs(runtime: BatchRuntime, event: dict[str, Any]) -> list[Continuation]:
    if is_continuation(event):
        return [Continuation.model_validate(event)]
    if "Records" not in event:
        raise InvalidInputError("the batch function takes S3 events and its own continuations")
    jobs = []
    for source in created_objects(event):
        if not runtime.service.accepts(source):
            logger.info("not an input object", extra={"bucket": source.bucket, "key": source.key})
            continue
        planned = runtime.plan_job(upload=plan_data(source))
        jobs.append(Continuation.model_validate(planned))
    return jobs


def _count(outcome: dict[str, Any]) -> None:
    if outcome.get("duplicate"):
        metrics.add_metric(name="BatchDuplicates", unit=MetricUnit.Count, value=1)
        return
    status = str(outcome.get("status", "unknown")).capitalize()
    metrics.add_metric(name=f"BatchJobs{status}", unit=MetricUnit.Count, value=1)
    if outcome.get("status") in ("succeeded", "failed"):
        metrics.add_metric(name="BatchRecords", unit=MetricUnit.Count, value=outcome["records"])
        metrics.add_metric(name="BatchRecordErrors", unit=MetricUnit.Count, value=outcome["errors"])


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
