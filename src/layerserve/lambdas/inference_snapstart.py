"""SnapStart for the inference function: primed before the snapshot, unique after restore.

With SnapStart, Lambda runs the init phase once when a version is published, snapshots
the microVM and starts later execution environments from that snapshot. The runtime
calls the hooks registered here through ``snapshot_restore_py`` (part of Lambda's Python
runtime; the PyPI package ``snapshot-restore-py`` stands in for it locally):

- before the snapshot, ``prime``: waits for the default versions the init phase loads
  (verified, decompressed, sessions created), loads every version a default alias routes
  to, warms each loaded version up on inputs made from its signature at the sizes first
  requests use (``WARM_UP_LENGTHS``, each shape ``WARM_UP_RUNS`` times, so onnxruntime's
  arena, memory plans and lazy allocations land in the snapshot), sends one request
  through the FastAPI app and the Mangum adapter (built by the init phase) and exercises
  Powertools once. Nothing unique is made.
- after restore, ``restore``: reseeds the random module, builds new AWS clients and a new
  registry catalog (empty cache: a promote after publication is seen; its own random
  source for unkeyed canary choices), and restarts the metric record's cold start with
  the restore's own duration as ``InitTime``. The models stay loaded.

Nothing here reads ``AWS_LAMBDA_LOG_GROUP_NAME``/``AWS_LAMBDA_LOG_STREAM_NAME`` (SnapStart
environments lack them) or credentials: boto3 finds the container endpoint itself.
Without SnapStart the hooks are registered but never called, and the init phase is the
one ``bootstrap.inference_init`` describes. ``functions/inference/app.py`` calls
``register()`` with the function it built (``bootstrap.inference``).
"""

from __future__ import annotations

import gc
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from layerserve.adapters import lambda_invocation as inference
from layerserve.domain.datatypes import numpy_dtype
from layerserve.domain.errors import LayerserveError
from layerserve.domain.manifest import Signature
from layerserve.services.inference import InferenceService
from layerserve.services.loading import Arrays, LoadedVersion
from layerserve.settings import InferenceSettings

log = logging.getLogger(__name__)


class SnapStartFunction(Protocol):
    """What the hooks prime and restore (``bootstrap.inference.InferenceHandler``)."""

    @property
    def settings(self) -> InferenceSettings: ...
    @property
    def service(self) -> InferenceService: ...
    @property
    def adapter(self) -> inference.Handler: ...
    def ready(self) -> None: ...
    def cold_start(self, init_ms: float) -> None: ...
    def reconnect(self) -> None: ...


Function = Callable[[], SnapStartFunction]
"""The function of this environment (built on its first use if its init phase failed)."""


@dataclass(frozen=True, slots=True)
class Primed:
    """What ``prime`` left in the snapshot."""

    loaded: list[str]
    """``model/version`` of every loaded version."""
    warmed: list[str]
    """The versions whose warm-up run succeeded."""
    seconds: float


def register(function: Function) -> bool:
    """Register ``prime`` and ``restore`` of ``function`` with the runtime; False without
    the hooks module."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # not a Lambda runtime, and the local package is not installed
        return False
    register_before_snapshot(prime, function)
    register_after_restore(restore, function)
    return True


def prime(function: Function) -> Primed:
    """Everything the first request would do once, done before the snapshot."""
    started = time.perf_counter()
    serving = function()
    serving.ready()  # awaits the init phase's loading
    if serving.settings.preload == "default":  # LAYERSERVE_PRELOAD=none: loads on demand
        _load_default_routes(serving.service)
    loaded = serving.service.loader.loaded()
    warmed = [_name(version) for version in loaded if _warm_up(version)]
    context: Any = _PrimingContext()  # what Mangum reads of a Lambda context
    serving.adapter(_LIVE_EVENT, context)
    _exercise_powertools()
    gc.collect()
    gc.freeze()  # what priming made is long-lived: later collections skip it
    primed = Primed([_name(v) for v in loaded], warmed, time.perf_counter() - started)
    log.info("primed for the snapshot: %s", primed)
    return primed


def restore(function: Function) -> None:
    """Make this restored environment unique and connected; the models stay loaded."""
    started = time.perf_counter()
    random.seed()  # from the OS: every restored environment draws its own sequence
    serving = function()  # built before the snapshot: priming used it
    serving.reconnect()
    serving.cold_start((time.perf_counter() - started) * 1000.0)


def _load_default_routes(service: InferenceService) -> None:
    """Every version a default alias routes to (a canary's too), not one random pick."""
    for model in service.catalog.model_names():
        try:
            for resolution in service.catalog.default_resolutions(model):
                service.ensure_ready(resolution)
        except LayerserveError as exc:  # remembered by the loader; answered as without SnapStart
            log.warning("model '%s' is not primed: %s", model, exc)


WARM_UP_LENGTHS = (1, 128)
"""Sizes given in turn to the dynamic dimensions after the first (sequence lengths, image
sides); a dynamic first (batch) dimension stays 1, as in most first requests. 128 tokens
is a typical request to a sentence encoder: onnxruntime's arena then holds chunks for
activations of that size before the snapshot. With a warm-up at length 1 alone, the
second ``[1, 128]`` request of every restored MiniLM environment still faulted in ~1,500
fresh pages (the planned memory block of a new shape is allocated on its second run);
now it faults ~10 (bench/README.md)."""
WARM_UP_RUNS = 2
"""Runs per shape: onnxruntime records a shape's allocations on its first run and
allocates that shape's planned memory block on the next one."""


def warm_up_inputs(signature: Signature, length: int = 1) -> Arrays:
    """One input per model input: a dynamic first dimension 1, other dynamic dimensions
    ``length``, numbers 1, strings short."""
    feeds: Arrays = {}
    for spec in signature.inputs:
        shape = tuple(
            dim if isinstance(dim, int) and dim >= 0 else 1 if axis == 0 else length
            for axis, dim in enumerate(spec.shape)
        )
        if spec.datatype == "BYTES":
            feeds[spec.name] = np.full(shape, b"warm-up", dtype=object)
        else:
            feeds[spec.name] = np.ones(shape, dtype=numpy_dtype(spec.datatype))
    return feeds


def warm_up_lengths(signature: Signature) -> tuple[int, ...]:
    """``WARM_UP_LENGTHS``, or only 1 when no dimension after the first is dynamic."""
    dynamic = any(
        not (isinstance(dim, int) and dim >= 0)
        for spec in signature.inputs
        for dim in spec.shape[1:]
    )
    return WARM_UP_LENGTHS if dynamic else WARM_UP_LENGTHS[:1]


def _warm_up(version: LoadedVersion) -> bool:
    """Warm-up runs from the smallest shape up; True when the smallest one ran. A size the
    model refuses (a longer sequence than it takes) ends the ladder there."""
    signature = version.record.manifest.signature
    for step, length in enumerate(warm_up_lengths(signature)):
        feeds = warm_up_inputs(signature, length)
        try:
            for _ in range(WARM_UP_RUNS):
                version.model.run(feeds, [])
        except LayerserveError as exc:  # an input the model constrains further: not an error
            log.warning("warm-up run of %s at length %d failed: %s", _name(version), length, exc)
            return step > 0
    return True


def _exercise_powertools() -> None:
    """Powertools' metric formatting and logging once, leaving no metric and no flag set:
    the ColdStart metric and the cold-start log key still belong to the first request."""
    metrics = inference.metrics
    metrics.add_metric("Requests", "Count", 0)
    metrics.serialize_metric_set()
    metrics.clear_metrics()  # also the InitTime of the snapshot: restore() adds its own
    inference.logger.debug("priming the snapshot")


def _name(version: LoadedVersion) -> str:
    return f"{version.record.model}/{version.record.version}"


class _PrimingContext:
    """The attributes the app reads from a Lambda context."""

    function_name = "inference"
    aws_request_id = "snapshot-priming"


_LIVE_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/v2/health/live",
    "rawQueryString": "",
    "headers": {"host": "snapshot.local"},
    "requestContext": {
        "http": {"method": "GET", "path": "/v2/health/live", "sourceIp": "127.0.0.1"},
        "requestId": "snapshot-priming",
        "stage": "$default",
    },
    "isBase64Encoded": False,
}
"""A liveness request through the Mangum adapter: its event loop, scope and the app's
routing are built before the snapshot."""
