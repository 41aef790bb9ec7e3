"""Lambda entry point of the batch function (``functions/batch/app.py``).

The handler is wired by ``layerserve.bootstrap.batch`` on the first invocation, from
``LAYERSERVE_BATCH_*`` (``BatchSettings``) and the models as for inference
(``LAYERSERVE_MODELS_DIR``, ``LAYERSERVE_SCRATCH_DIR``, ...); its metrics go to
``POWERTOOLS_METRICS_NAMESPACE``. Clients are created then, never at import.
"""

from __future__ import annotations

import boto3

from layerserve.bootstrap import build_inference_service
from layerserve.bootstrap.batch import BatchHandler, build_batch_handler
from layerserve.bootstrap.lazy import LazyHandler
from layerserve.settings import BatchSettings, InferenceSettings


def from_environment() -> BatchHandler:
    session = boto3.session.Session()
    s3, dynamodb = session.client("s3"), session.client("dynamodb")
    return build_batch_handler(
        BatchSettings(),
        build_inference_service(InferenceSettings(), dynamodb=dynamodb, s3=s3),
        s3=s3,
        dynamodb=dynamodb,
        invoker=session.client("lambda"),
    )


handler = LazyHandler(from_environment)
