"""Lambda handler of the batch function: S3 ``ObjectCreated`` on the input prefix, and
continuations of jobs that outlive one invocation.

Exactly once per upload, through Powertools Idempotency on a DynamoDB table, in two
steps keyed by the upload (bucket, decoded key, version id or ETag):

1. **plan** (``<upload>, "plan"``): the model version is resolved on the first
   delivery and the plan (a ``Continuation`` naming it) is stored as that record's
   result; every retry and redelivery of the event gets the stored plan back, so a
   promote in between cannot make a second result with another version;
2. **run** (``<upload>, "segment-<n>"``): each segment runs once; a duplicate returns
   the stored outcome. Continuations carry the pinned version in their payload.

Errors that retrying cannot fix end in an error object; the rest raise, so Lambda
retries and finally hands the event to the on-failure destination (a plan or run
whose invocation failed leaves no record, so the retry does the work).

Environment: ``LAYERSERVE_BATCH_*`` (``BatchSettings``), the models as for inference
(``LAYERSERVE_MODELS_DIR``, ``LAYERSERVE_SCRATCH_DIR``, ...), ``POWERTOOLS_METRICS_NAMESPACE``.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from layerserve.bootstrap import build_inference_service
from layerserve.domain.batch import created_objects
from layerserve.domain.errors import InvalidInputError
from layerserve.lambdas.batch.continuation import ContextClock, SelfInvoker
from layerserve.lambdas.batch.runtime import BatchRuntime, build_runtime
from layerserve.services.batch import Continuation, is_continuation, plan_data
from layerserve.settings import BatchSettings, InferenceSettings

warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service="batch")
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "layerserve"), service="batch"
)
_installed: list[BatchRuntime] = []


def install(runtime: BatchRuntime | None) -> None:
    """Use ``runtime`` (clients wired by the caller: tests, the local stack); ``None``
    goes back to building one from the environment."""
    _installed.clear()
    if runtime is not None:
        _installed.append(runtime)
    _from_environment.cache_clear()


@cache
def _from_environment() -> BatchRuntime:
    """Built once per execution environment; clients are created here, never at import."""
    import boto3

    session = boto3.session.Session()
    s3, dynamodb = session.client("s3"), session.client("dynamodb")
    return build_runtime(
        BatchSettings(),
        build_inference_service(InferenceSettings(), dynamodb=dynamodb, s3=s3),
        s3=s3,
        dynamodb=dynamodb,
        invoker=session.client("lambda"),
    )


def runtime() -> BatchRuntime:
    return _installed[0] if _installed else _from_environment()


def _jobs(current: BatchRuntime, event: dict[str, Any]) -> list[Continuation]:
    if is_continuation(event):
        return [Continuation.model_validate(event)]
    if "Records" not in event:
        raise InvalidInputError("the batch function takes S3 events and its own continuations")
    jobs = []
    for source in created_objects(event):
        if not current.service.accepts(source):
            logger.info("not an input object", extra={"bucket": source.bucket, "key": source.key})
            continue
        planned = current.plan_job(upload=plan_data(source))
        jobs.append(Continuation.model_validate(planned))
    return jobs


def process(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The handler without its Powertools decorators."""
    current = runtime()
    current.register_lambda_context(context)
    continuer = SelfInvoker(current.invoker, context.invoked_function_arn)
    clock = ContextClock(context)
    outcomes = []
    for job in _jobs(current, event):
        outcome = current.run_job(job=job.idempotency_data(), clock=clock, continuer=continuer)
        logger.info("batch job", extra=outcome)
        _count(outcome)
        outcomes.append(outcome)
    return {"outcomes": outcomes}


def _count(outcome: dict[str, Any]) -> None:
    if outcome.get("duplicate"):
        metrics.add_metric(name="BatchDuplicates", unit=MetricUnit.Count, value=1)
        return
    status = str(outcome.get("status", "unknown")).capitalize()
    metrics.add_metric(name=f"BatchJobs{status}", unit=MetricUnit.Count, value=1)
    if outcome.get("status") in ("succeeded", "failed"):
        metrics.add_metric(name="BatchRecords", unit=MetricUnit.Count, value=outcome["records"])
        metrics.add_metric(name="BatchRecordErrors", unit=MetricUnit.Count, value=outcome["errors"])


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process(event, context)
