"""Batch inference on uploaded objects: formats, batching, results, continuation.

``BatchService.plan`` turns an upload into a job pinned to one model version;
``BatchService.run`` processes one segment of it (the whole file, unless the
invocation runs short of time, in which case a ``Continuer`` carries on).
"""

from layerserve.services.batch.ports import Clock, Continuer, ObjectReader, ObjectWriter
from layerserve.services.batch.service import BatchOptions, BatchService
from layerserve.services.batch.state import (
    IDEMPOTENCY_KEY_JMESPATH,
    Continuation,
    Job,
    Progress,
    is_continuation,
    plan_data,
    source_of_plan,
)
from layerserve.services.batch.summary import JobOutcome

__all__ = [
    "IDEMPOTENCY_KEY_JMESPATH",
    "BatchOptions",
    "BatchService",
    "Clock",
    "Continuation",
    "Continuer",
    "Job",
    "JobOutcome",
    "ObjectReader",
    "ObjectWriter",
    "Progress",
    "is_continuation",
    "plan_data",
    "source_of_plan",
]
